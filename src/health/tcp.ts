// TCP probes with node:net: healthy once a connection to the instance's port is established, which is closed at once.
import { connect } from 'node:net';
import { errorDetail, Prober, ProbeResult, TIMED_OUT } from './prober';
import { ProbeTarget } from './target';

/** Probes TCP targets; an HTTP target is a bug. */
export class TcpProber implements Prober {
  probe(target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
    if (target.kind !== 'tcp') throw new Error(`TcpProber cannot probe a ${target.kind} target`);
    return new Promise((resolve) => {
      let done = false;
      const finish = (result: ProbeResult): void => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        resolve(result);
      };
      const onAbort = (): void => finish(TIMED_OUT);
      const socket = connect({ host: target.host, port: target.port });
      socket.once('connect', () => finish({ outcome: 'healthy', detail: 'connected' }));
      socket.on('error', (e) => finish({ outcome: 'error', detail: errorDetail(e) }));
      if (signal.aborted) return finish(TIMED_OUT);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
