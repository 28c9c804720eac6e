// Replication between servers that require credentials: three zones whose zones file carries the peer's user:password
// in every URL (as Spring's defaultZone does), two servers using peerUsername/peerPassword instead, and a peer with a
// wrong password. Startup sync authenticates too (anonymous reads are off). No password shows in status, dashboard,
// metrics or logs.
import { loadConfig } from '../../src/config/config';
import { LogFields, Logger } from '../../src/observability/logger';
import { RunningServer, startServer } from '../../src/server';
import { FAST_FLAGS, freePorts, zoneName } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';
import { AUTH, authFlags, call, instanceBody, PW, TempDir } from './support';

jest.setTimeout(30_000);

interface Region {
  readonly servers: (RunningServer | undefined)[];
  readonly ports: number[];
  readonly logs: string[];
  start(i: number): Promise<RunningServer>;
  close(): Promise<void>;
}

/** Servers on 127.0.0.1 sharing a zones file whose URLs are built by `url`; not started. */
async function region(dir: TempDir, size: number, url: (port: number) => string, flags: readonly string[]): Promise<Region> {
  const ports = await freePorts(size);
  const zones = Object.fromEntries(ports.map((p, i) => [zoneName(i), [url(p)]]));
  const configFile = dir.file(`zones-${ports[0]}.json`, { region: 'us-east-1', zones, settings: {} });
  const servers: (RunningServer | undefined)[] = ports.map(() => undefined);
  const logs: string[] = [];
  const line = (message: string, fields?: LogFields): void => {
    logs.push(`${message} ${JSON.stringify(fields ?? {})}`);
  };
  const logger: Logger = { error: line, warn: line, info: line, debug: line, debugEnabled: false };
  return {
    servers,
    ports,
    logs,
    async start(i) {
      const argv = ['--config', configFile, '--zone', zoneName(i), '--host', '127.0.0.1', '--port', String(ports[i]), ...FAST_FLAGS, ...authFlags(dir, ['--auth-anonymous-reads', 'false']), ...flags];
      const server = await startServer(loadConfig(argv, {}), { logger });
      servers[i] = server;
      return server;
    },
    async close() {
      await Promise.all(servers.map((s) => s?.close()));
    },
  };
}

let dir: TempDir;
let current: Region | undefined;
beforeEach(() => {
  dir = new TempDir();
});
afterEach(async () => {
  await current?.close();
  current = undefined;
  dir.cleanup();
});

const has = (server: RunningServer | undefined, id: string): boolean => server?.registry.lease('ORDERS', id) !== undefined;

/** Everything a server shows about its peers, as text. */
async function shown(port: number): Promise<string> {
  const status = await call(port, 'GET', '/eureka/status', { headers: { authorization: AUTH.ops } });
  const overview = await call(port, 'GET', '/api/overview', { headers: { authorization: AUTH.ops } });
  const metrics = await call(port, 'GET', '/metrics', { headers: { authorization: AUTH.ops } });
  expect([status.status, overview.status, metrics.status]).toEqual([200, 200, 200]);
  return status.text + overview.text + metrics.text;
}

describe('three zones with peer credentials in the zones file URLs', () => {
  it('replicate register, override and cancel; sync a late server; show no password', async () => {
    const r = (current = await region(dir, 3, (p) => `http://peer:${PW.peer}@127.0.0.1:${p}/eureka/`, []));
    await Promise.all([r.start(0), r.start(1)]);
    await Promise.all([r.servers[0]?.ready, r.servers[1]?.ready]);

    expect((await call(r.ports[0], 'POST', '/eureka/apps/ORDERS', { body: instanceBody('ORDERS', 'o-1'), headers: { authorization: AUTH.orders } })).status).toBe(204);
    await waitFor(() => has(r.servers[1], 'o-1'), 'o-1 to reach zone b');

    // A late server copies the registry from its peers with its credentials (reads need them here).
    const late = await r.start(2);
    await late.ready;
    expect(has(late, 'o-1')).toBe(true);

    expect((await call(r.ports[1], 'PUT', '/eureka/apps/ORDERS/o-1/status?value=OUT_OF_SERVICE', { headers: { authorization: AUTH.ops } })).status).toBe(200);
    await waitFor(() => [0, 2].every((i) => r.servers[i]?.registry.lease('ORDERS', 'o-1')?.record.instance.status === 'OUT_OF_SERVICE'), 'the override to reach zones a and c');

    expect((await call(r.ports[2], 'DELETE', '/eureka/apps/ORDERS/o-1', { headers: { authorization: AUTH.orders } })).status).toBe(200);
    await waitFor(() => r.servers.every((s) => !has(s, 'o-1')), 'the cancel to reach every zone');

    for (const s of r.servers) {
      for (const node of s?.peers.nodes ?? []) {
        expect(node.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/eureka\/$/);
        // Zone c was down for a while (connection refused); nobody was ever refused for credentials.
        expect(node.stats.lastError).not.toMatch(/40[13]/);
      }
    }
    for (const port of r.ports) {
      const text = await shown(port);
      expect(text).not.toContain(PW.peer);
      expect(text).toContain(`127.0.0.1:${r.ports.find((p) => p !== port)}/eureka/`);
    }
    expect(r.logs.join('\n')).not.toContain(PW.peer);
  });
});

describe('peerUsername / peerPassword', () => {
  it('are sent to peers whose URLs carry no credentials', async () => {
    const r = (current = await region(dir, 2, (p) => `http://127.0.0.1:${p}/eureka/`, ['--peer-username', 'peer', '--peer-password', PW.peer]));
    await Promise.all([r.start(0), r.start(1)]);
    await Promise.all(r.servers.map((s) => s?.ready));
    expect((await call(r.ports[0], 'POST', '/eureka/apps/ORDERS', { body: instanceBody('ORDERS', 'o-2'), headers: { authorization: AUTH.orders } })).status).toBe(204);
    await waitFor(() => has(r.servers[1], 'o-2'), 'o-2 to reach the peer');
    expect(r.logs.join('\n')).not.toContain(PW.peer);
  });

  it('a peer without valid credentials is refused (401), says so in its status, and changes nothing there', async () => {
    const r = (current = await region(dir, 2, (p) => `http://peer:wrong-password@127.0.0.1:${p}/eureka/`, ['--sync-failure-mode', 'serve']));
    await Promise.all([r.start(0), r.start(1)]);
    await Promise.all(r.servers.map((s) => s?.ready));
    expect((await call(r.ports[0], 'POST', '/eureka/apps/ORDERS', { body: instanceBody('ORDERS', 'o-3'), headers: { authorization: AUTH.orders } })).status).toBe(204);
    const node = r.servers[0]?.peers.nodes[0];
    await waitFor(() => (node?.stats.batchFailures ?? 0) > 0, 'the batch to fail');
    expect(node?.stats.lastError).toBe('peer answered 401');
    expect(has(r.servers[1], 'o-3')).toBe(false);
    expect(await shown(r.ports[0])).not.toContain('wrong-password');
  });
});
