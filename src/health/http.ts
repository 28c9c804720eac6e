// HTTP(S) probes with node:http: one GET on a fresh connection, healthy on a 2xx status. Redirects are never
// followed: a 3xx is unhealthy, so a health URL cannot send the server anywhere else. The verdict is the status line;
// the (small) body is read and dropped so that the instance closes the connection first and the TCP TIME_WAIT stays
// on its side, not on this server's (1,000 probes a second would otherwise hold tens of thousands of its ports).
import { Agent as HttpAgent, request as httpRequest, RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { errorDetail, Prober, ProbeResult, TIMED_OUT } from './prober';
import { ProbeTarget } from './target';

/** User-Agent of the probes. */
export const PROBE_USER_AGENT = 'zone-registry-health-check';

/** Most body bytes read before the connection is cut: a health answer is a few hundred. */
export const MAX_PROBE_BODY_BYTES = 16 * 1024;

/** Probes HTTP targets; a TCP target is a bug. */
export class HttpProber implements Prober {
  // One agent per scheme for every probe, without keep-alive: at one probe per instance per interval a kept-alive
  // socket would idle out first (and 10,000 of them would hold as many descriptors); `agent: false` would build an
  // agent per probe.
  private readonly agents = { http: new HttpAgent({ keepAlive: false, maxSockets: Infinity }), https: new HttpsAgent({ keepAlive: false, maxSockets: Infinity }) };

  probe(target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
    if (target.kind !== 'http') throw new Error(`HttpProber cannot probe a ${target.kind} target`);
    return new Promise((resolve) => {
      let done = false;
      // The verdict, once the status line arrived; the probe ends when the body has been read (or cut).
      let decided: ProbeResult | undefined;
      const options: RequestOptions & { servername?: string; rejectUnauthorized?: boolean } = {
        host: target.connectHost,
        port: target.port,
        path: target.path,
        method: 'GET',
        setHost: false,
        headers: { host: target.hostHeader, 'user-agent': PROBE_USER_AGENT, accept: '*/*', connection: 'close' },
        agent: target.secure ? this.agents.https : this.agents.http,
        // Instances often serve TLS with private CAs: a probe asks whether the instance answers, not who signed it.
        ...(target.secure && { rejectUnauthorized: false, ...(target.servername !== undefined && { servername: target.servername }) }),
      };
      const finish = (result: ProbeResult, cut: boolean): void => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        if (cut) req.destroy();
        resolve(result);
      };
      // Past the timeout the status decides, if it came; a body that never ends does not make a 200 a failure.
      const onAbort = (): void => finish(decided ?? TIMED_OUT, true);
      const req = (target.secure ? httpsRequest : httpRequest)(options, (res) => {
        const code = res.statusCode ?? 0;
        decided =
          code >= 200 && code < 300
            ? { outcome: 'healthy', detail: `HTTP ${code}` }
            : { outcome: 'unhealthy', detail: code >= 300 && code < 400 ? `HTTP ${code} (redirects are not followed)` : `HTTP ${code}` };
        const verdict = decided;
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_PROBE_BODY_BYTES) finish(verdict, true);
        });
        res.on('end', () => finish(verdict, false));
        res.on('error', () => finish(verdict, true));
        res.on('close', () => finish(verdict, true));
      });
      req.on('error', (e) => finish(decided ?? { outcome: 'error', detail: errorDetail(e) }, true));
      if (signal.aborted) return finish(TIMED_OUT, true);
      signal.addEventListener('abort', onAbort, { once: true });
      req.end();
    });
  }
}
