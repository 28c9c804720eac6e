// TLS: with tlsCertFile/tlsKeyFile the server speaks https (same request listener), with a certificate made here by
// the openssl CLI. An https client trusting it registers and fetches; https peers replicate when peerCaFile names
// the certificate, and are refused (certificate not trusted) when it does not.
import { request as httpRequest } from 'node:http';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/observability/logger';
import { RunningServer, startServer } from '../../src/server';
import { FAST_FLAGS, freePorts, zoneName } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';
import { AUTH, authFlags, call, instanceBody, PW, selfSignedCertificate, start, TempDir } from './support';

jest.setTimeout(30_000);

let dir: TempDir;
let cert: { certFile: string; keyFile: string; cert: Buffer };
const running: RunningServer[] = [];

beforeAll(() => {
  dir = new TempDir();
  cert = selfSignedCertificate(dir);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});
afterAll(() => dir.cleanup());

const tlsFlags = (): string[] => ['--tls-cert-file', cert.certFile, '--tls-key-file', cert.keyFile];

describe('an https server', () => {
  it('serves registration and fetches to a client trusting its certificate, with auth on', async () => {
    const server = await start([...tlsFlags(), ...authFlags(dir)]);
    running.push(server);
    await server.ready;
    expect(server.eurekaUrl).toBe(`https://127.0.0.1:${server.port}/eureka/`);
    const ca = cert.cert;

    const reg = await call(server.port, 'POST', '/eureka/apps/ORDERS', { body: instanceBody('ORDERS', 'tls-1'), headers: { authorization: AUTH.orders }, ca });
    expect(reg.status).toBe(204);
    expect((await call(server.port, 'PUT', '/eureka/apps/ORDERS/tls-1', { headers: { authorization: AUTH.orders }, ca })).status).toBe(200);
    const apps = await call(server.port, 'GET', '/eureka/apps/', { ca });
    expect(apps.status).toBe(200);
    expect(apps.text).toContain('"instanceId":"tls-1"');
    expect((await call(server.port, 'GET', '/health', { ca })).status).toBe(200);
    // The 401 is the same over TLS.
    expect((await call(server.port, 'DELETE', '/eureka/apps/ORDERS/tls-1', { ca })).status).toBe(401);
  });

  it('refuses clients that do not trust the certificate, and plain http', async () => {
    const server = await start(tlsFlags());
    running.push(server);
    const other = selfSignedCertificate(dir, 'untrusted');
    await expect(call(server.port, 'GET', '/eureka/apps', { ca: other.cert })).rejects.toThrow(/self[- ]signed|certificate/i);
    const plain = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port: server.port, path: '/eureka/apps', agent: false }, (res) => {
        res.resume();
        resolve(String(res.statusCode));
      });
      req.on('error', (e) => resolve(`error: ${e.message}`));
      req.setTimeout(3000, () => req.destroy(new Error('timeout')));
      req.end();
    });
    expect(plain).not.toBe('200');
  });
});

describe('https peers', () => {
  /** Two https servers whose zones file lists each other with peer credentials. */
  async function pair(extra: readonly string[]): Promise<[RunningServer, RunningServer]> {
    const ports = await freePorts(2);
    const zones = Object.fromEntries(ports.map((p, i) => [zoneName(i), [`https://peer:${PW.peer}@127.0.0.1:${p}/eureka/`]]));
    const configFile = dir.file(`zones-${ports[0]}.json`, { region: 'us-east-1', zones, settings: {} });
    const argv = (i: number): string[] => ['--config', configFile, '--zone', zoneName(i), '--host', '127.0.0.1', '--port', String(ports[i]), ...FAST_FLAGS, ...tlsFlags(), ...authFlags(dir), ...extra];
    const servers = await Promise.all([0, 1].map((i) => startServer(loadConfig(argv(i), {}), { logger: silentLogger })));
    running.push(...servers);
    await Promise.all(servers.map((s) => s.ready));
    return servers as [RunningServer, RunningServer];
  }

  it('replicate over https when peerCaFile trusts their certificate', async () => {
    const [a, b] = await pair(['--peer-ca-file', cert.certFile, '--peer-probe-interval-ms', '200']);
    expect((await call(a.port, 'POST', '/eureka/apps/ORDERS', { body: instanceBody('ORDERS', 'tls-peer-1'), headers: { authorization: AUTH.orders }, ca: cert.cert })).status).toBe(204);
    await waitFor(() => b.registry.lease('ORDERS', 'tls-peer-1') !== undefined, 'the registration to reach the https peer');
    expect(a.peers.nodes[0].url).toBe(`https://127.0.0.1:${b.port}/eureka/`);
    // Its probes go the same way: https, the CA of peerCaFile.
    await waitFor(async () => (await peerProbe(a)).state === 'ready', "the probe to find the https peer ready");
  });

  it('do not replicate to a peer whose certificate is not trusted', async () => {
    const [a, b] = await pair(['--sync-failure-mode', 'serve', '--peer-probe-interval-ms', '200']);
    expect((await call(a.port, 'POST', '/eureka/apps/ORDERS', { body: instanceBody('ORDERS', 'tls-peer-2'), headers: { authorization: AUTH.orders }, ca: cert.cert })).status).toBe(204);
    await waitFor(() => a.peers.nodes[0].stats.consecutiveFailures > 0, 'the batch to fail');
    expect(a.peers.nodes[0].stats.lastError).toMatch(/SELF_SIGNED|self[- ]signed/i);
    expect(b.registry.lease('ORDERS', 'tls-peer-2')).toBeUndefined();
    await waitFor(async () => (await peerProbe(a)).state === 'unreachable', 'the probe to fail');
    expect((await peerProbe(a)).lastError).toMatch(/SELF_SIGNED|self[- ]signed/i);
  });

  /** What server `s` says of its peer's probe in /eureka/status. */
  async function peerProbe(s: RunningServer): Promise<{ state: string; lastError: string }> {
    const reply = await call(s.port, 'GET', '/eureka/status', { ca: cert.cert });
    return (JSON.parse(reply.text) as { peers: { probe: { state: string; lastError: string } }[] }).peers[0].probe;
  }
});
