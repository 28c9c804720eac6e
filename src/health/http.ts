// HTTP(S) probes with node:http: one GET on a fresh connection, healthy on a 2xx status, judged as soon as the status
// line and headers arrive (the body is never read). Redirects are never followed: a 3xx is unhealthy, so a health URL
// cannot send the server anywhere else.
import { Agent as HttpAgent, request as httpRequest, RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { errorDetail, Prober, ProbeResult, TIMED_OUT } from './prober';
import { ProbeTarget } from './target';

/** User-Agent of the probes. */
export const PROBE_USER_AGENT = 'zone-registry-health-check';

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
      const finish = (result: ProbeResult): void => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        req.destroy();
        resolve(result);
      };
      const onAbort = (): void => finish(TIMED_OUT);
      const req = (target.secure ? httpsRequest : httpRequest)(options, (res) => {
        const code = res.statusCode ?? 0;
        res.on('error', () => undefined);
        if (code >= 200 && code < 300) finish({ outcome: 'healthy', detail: `HTTP ${code}` });
        else finish({ outcome: 'unhealthy', detail: code >= 300 && code < 400 ? `HTTP ${code} (redirects are not followed)` : `HTTP ${code}` });
      });
      req.on('error', (e) => finish({ outcome: 'error', detail: errorDetail(e) }));
      if (signal.aborted) return finish(TIMED_OUT);
      signal.addEventListener('abort', onAbort, { once: true });
      req.end();
    });
  }
}
