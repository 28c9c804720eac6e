// zone-registry-admin, run in-process against real servers on 127.0.0.1 (port 0): tables, --json, status overrides,
// peers and health, Basic auth from the URL, and the errors an operator can meet (exit 1 with one clear line,
// exit 2 for a bad command line).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAdmin } from '../../src/admin/cli';
import { parseServer } from '../../src/admin/client';
import { clean, table } from '../../src/admin/format';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/observability/logger';
import { RunningServer, startServer } from '../../src/server';
import { freePorts } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';
import { registerOver, startTestServer } from '../observability/support';

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function admin(...argv: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runAdmin(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** Columns of a table line (two or more spaces apart). */
const columns = (line: string): string[] => line.trim().split(/\s{2,}/);

/** The table line whose first column is `first`. */
function line(out: string, first: string): string[] {
  const found = out.split('\n').map(columns).find((c) => c[0] === first);
  if (!found) throw new Error(`no line starting with ${first} in:\n${out}`);
  return found;
}

describe('against a standalone server', () => {
  let server: RunningServer;
  let url: string;

  beforeAll(async () => {
    server = await startTestServer();
    url = server.eurekaUrl;
    await registerOver(url, { app: 'orders', instanceId: 'orders-1', hostName: 'orders-1.internal', ipAddr: '10.0.1.11', port: 8080, metadata: { zone: 'us-east-1a' } });
    await registerOver(url, { app: 'orders', instanceId: 'orders-2', hostName: 'orders-2.internal', ipAddr: '10.0.2.12', port: 8081, metadata: { zone: 'us-east-1b' } });
    await registerOver(url, { app: 'orders', instanceId: 'orders-3', hostName: 'orders-3.internal', ipAddr: '10.0.2.13', port: 8080, metadata: { zone: 'us-east-1b' } });
    await registerOver(url, { app: 'billing', instanceId: 'billing-1', hostName: 'billing-1.internal', ipAddr: '10.0.1.21', port: 9090 });
  });
  afterAll(async () => {
    await server.close();
  });

  it('apps: a table of applications with counts by status and zone', async () => {
    const r = await admin('apps', '--server', url);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(columns(r.out.split('\n')[0])).toEqual(['APPLICATION', 'INSTANCES', 'UP', 'DOWN', 'OUT_OF_SERVICE', 'STARTING', 'UNKNOWN', 'ZONES']);
    expect(line(r.out, 'ORDERS')).toEqual(['ORDERS', '3', '3', '0', '0', '0', '0', 'us-east-1a: 1, us-east-1b: 2']);
    expect(line(r.out, 'BILLING')).toEqual(['BILLING', '1', '1', '0', '0', '0', '0', '(none): 1']);
  });

  it('apps --json', async () => {
    const r = await admin('--json', 'apps', `--server=${url}`);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual([
      { name: 'BILLING', instances: 1, statusCounts: { UP: 1 }, zones: { '(none)': 1 } },
      { name: 'ORDERS', instances: 3, statusCounts: { UP: 3 }, zones: { 'us-east-1a': 1, 'us-east-1b': 2 } },
    ]);
  });

  it('instances APP: address, status, override, zone, last renewal and lease left', async () => {
    const r = await admin('instances', 'orders', '--server', url);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('ORDERS: 3 instances');
    expect(columns(lines[1])).toEqual(['INSTANCE', 'HOST', 'ADDRESS', 'STATUS', 'OVERRIDE', 'ZONE', 'LAST RENEWAL', 'LEASE LEFT', 'HEALTH CHECK']);
    const row = line(r.out, 'orders-2');
    expect(row.slice(0, 6)).toEqual(['orders-2', 'orders-2.internal', '10.0.2.12:8081', 'UP', '-', 'us-east-1b']);
    expect(row[6]).toMatch(/ago$/);
    expect(row[7]).toMatch(/^1 min \d+ s$/);
    // Health checks are off on this server: nothing probes the instance.
    expect(row[8]).toBe('-');
  });

  it('instances APP: the last renewal is the live one, not the one in the cached application document', async () => {
    // The application document is cached at this revision; heartbeats do not make a new one.
    await admin('instances', 'ORDERS', '--json', '--server', url);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await fetch(`${url}apps/ORDERS/orders-2`, { method: 'PUT' })).status).toBe(200);
    const live = server.registry.lease('ORDERS', 'orders-2')?.lastRenewalTimestamp;
    const r = await admin('instances', 'ORDERS', '--json', '--server', url);
    const listed = (JSON.parse(r.out) as { id: string; lastRenewalTimestamp: number; leaseExpiresAt: number }[]).find((i) => i.id === 'orders-2');
    expect(listed?.lastRenewalTimestamp).toBe(live);
    expect(listed?.leaseExpiresAt).toBe(server.registry.lease('ORDERS', 'orders-2')?.expiresAt());
  });

  it('instances APP --json', async () => {
    const r = await admin('instances', 'ORDERS', '--json', '--server', url);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.out) as Record<string, unknown>[];
    expect(list.map((i) => i.id)).toEqual(['orders-1', 'orders-2', 'orders-3']);
    expect(list[0]).toMatchObject({ app: 'ORDERS', hostName: 'orders-1.internal', ipAddr: '10.0.1.11', port: 8080, status: 'UP', overriddenStatus: 'UNKNOWN', zone: 'us-east-1a', leaseDurationSecs: 90, metadata: { zone: 'us-east-1a' } });
    expect(list[0].leaseExpiresAt).toBe((list[0].lastRenewalTimestamp as number) + 90_000);
  });

  it('status: sets OUT_OF_SERVICE, sets UP, and removes the override', async () => {
    const lease = () => server.registry.lease('ORDERS', 'orders-3')!.record.instance;

    let r = await admin('status', 'orders', 'orders-3', 'OUT_OF_SERVICE', '--server', url);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toBe('ORDERS/orders-3: status override OUT_OF_SERVICE set. Now: status OUT_OF_SERVICE, override OUT_OF_SERVICE.\n');
    expect(lease()).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
    expect(line((await admin('instances', 'ORDERS', '--server', url)).out, 'orders-3').slice(3, 5)).toEqual(['OUT_OF_SERVICE', 'OUT_OF_SERVICE']);

    r = await admin('status', 'ORDERS', 'orders-3', 'up', '--server', url, '--json');
    expect(JSON.parse(r.out)).toEqual({ app: 'ORDERS', id: 'orders-3', action: 'override-set', requested: 'UP', status: 'UP', overriddenStatus: 'UP' });
    expect(server.registry.statusOverrides().get('ORDERS/orders-3')).toBe('UP');

    r = await admin('status', 'ORDERS', 'orders-3', 'UP', '--remove-override', '--server', url);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ORDERS\/orders-3: override removed; the instance's own status counts again from its next heartbeat\. Now: status UNKNOWN, override none\.\n$/);
    expect(server.registry.statusOverrides().has('ORDERS/orders-3')).toBe(false);
    // As the client does on its next heartbeat's 404: the other tests see orders-3 UP again, whatever their order.
    await registerOver(url, { app: 'orders', instanceId: 'orders-3', hostName: 'orders-3.internal', ipAddr: '10.0.2.13', port: 8080, metadata: { zone: 'us-east-1b' } });
    expect(lease().status).toBe('UP');
  });

  it('status: refuses other values and --remove-override with OUT_OF_SERVICE (exit 2), and unknown instances (exit 1)', async () => {
    let r = await admin('status', 'ORDERS', 'orders-1', 'DOWN', '--server', url);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^zone-registry-admin: status must be OUT_OF_SERVICE or UP, got "DOWN"\n/);
    r = await admin('status', 'ORDERS', 'orders-1', 'OUT_OF_SERVICE', '--remove-override', '--server', url);
    expect(r.code).toBe(2);
    r = await admin('status', 'ORDERS', 'nobody', 'OUT_OF_SERVICE', '--server', url);
    expect(r).toEqual({ code: 1, out: '', err: `zone-registry-admin: instance nobody of ORDERS is not registered on ${url}\n` });
    r = await admin('instances', 'nothing', '--server', url);
    expect(r).toEqual({ code: 1, out: '', err: `zone-registry-admin: application NOTHING is not registered on ${url}\n` });
  });

  it('deregister: removes the instance (exit 0), and says when it is not registered (exit 1)', async () => {
    await registerOver(url, { app: 'scratch', instanceId: 'scratch-1', hostName: 'scratch-1.internal', ipAddr: '10.0.9.1', port: 8080 });
    let r = await admin('deregister', 'scratch', 'scratch-1', '--server', url);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/^SCRATCH\/scratch-1: deregistered\. If its client still runs, it registers again at its next heartbeat/);
    expect(server.registry.lease('SCRATCH', 'scratch-1')).toBeUndefined();
    r = await admin('deregister', 'SCRATCH', 'scratch-1', '--server', url, '--json');
    expect(r).toEqual({ code: 1, out: '', err: `zone-registry-admin: instance scratch-1 of SCRATCH is not registered on ${url}\n` });
  });

  it('metadata: sets entries (the others stay) and shows them as clients will see them', async () => {
    let r = await admin('metadata', 'orders', 'orders-2', 'weight=3', 'release=2024 spring', '--server', url);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toBe('ORDERS/orders-2: metadata weight=3, release=2024 spring set. Now: zone=us-east-1b, weight=3, release=2024 spring.\n');
    expect(server.registry.lease('ORDERS', 'orders-2')!.record.instance.metadata).toEqual({ zone: 'us-east-1b', weight: '3', release: '2024 spring' });
    r = await admin('metadata', 'ORDERS', 'orders-2', 'weight=1', '--json', '--server', url);
    expect(JSON.parse(r.out)).toEqual({ app: 'ORDERS', id: 'orders-2', action: 'metadata-set', set: { weight: '1' }, metadata: { zone: 'us-east-1b', weight: '1', release: '2024 spring' } });
    r = await admin('metadata', 'ORDERS', 'nobody', 'a=b', '--server', url);
    expect(r).toEqual({ code: 1, out: '', err: `zone-registry-admin: instance nobody of ORDERS is not registered on ${url}\n` });
  });

  it('reads the server from ZONE_REGISTRY_URL when --server is not given; --server wins', async () => {
    const run = async (env: Record<string, string>, ...argv: string[]): Promise<Run> => {
      let out = '';
      let err = '';
      const code = await runAdmin(argv, { out: (t) => (out += t), err: (t) => (err += t), env });
      return { code, out, err };
    };
    const r = await run({ ZONE_REGISTRY_URL: `http://127.0.0.1:${server.port}` }, 'apps', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).map((a: { name: string }) => a.name)).toContain('ORDERS');
    const [dead] = await freePorts(1);
    expect((await run({ ZONE_REGISTRY_URL: `http://127.0.0.1:${dead}/eureka/` }, 'apps', '--server', url)).code).toBe(0);
    expect((await run({ ZONE_REGISTRY_URL: `http://127.0.0.1:${dead}/eureka/` }, 'apps')).err).toContain(`cannot reach http://127.0.0.1:${dead}/eureka/`);
  });

  it('peers: says the server runs standalone', async () => {
    expect(await admin('peers', '--server', url)).toEqual({ code: 0, out: 'No peers: the server runs standalone.\n', err: '' });
    expect(JSON.parse((await admin('peers', '--json', '--server', url)).out)).toEqual([]);
  });

  it('health: live, ready, registry and self-preservation', async () => {
    const r = await admin('health', '--server', url);
    expect(r).toMatchObject({ code: 0, err: '' });
    const lines = Object.fromEntries(r.out.trimEnd().split('\n').map((l) => columns(l)));
    expect(lines).toMatchObject({ Server: url, Live: 'UP (200)', Ready: 'UP (200)', Zone: 'default (region default)', Peers: 'none (standalone)' });
    expect(lines.Registry).toMatch(/^2 applications, 4 instances \(.*UP \d.*\); reads allowed$/);
    expect(lines['Self-preservation']).toBe('inactive: fewer than 10 instances are registered: expired leases are evicted');

    const json = JSON.parse((await admin('health', '--json', '--server', url)).out);
    expect(json).toMatchObject({ healthy: true, live: { code: 200, status: 'UP' }, ready: { code: 200, status: 'UP' }, registryReadsAllowed: true, registry: { instances: 4 }, selfPreservation: { active: false }, heldPastExpiry: { instances: 0, since: 0 }, peers: { total: 0, failing: [] } });
    expect(await admin('health', '--strict', '--server', url)).toMatchObject({ code: 0, err: '' });
  });

  it('accepts the server root URL and finds /eureka/ under it', async () => {
    const r = await admin('apps', '--json', '--server', `http://127.0.0.1:${server.port}`);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toHaveLength(2);
  });
});

describe('against a server that runs health checks', () => {
  let server: RunningServer;
  let url: string;
  let deadPort: number;

  beforeAll(async () => {
    server = await startTestServer(['--health-checks-enabled', 'true', '--health-check-interval-ms', '100', '--health-check-timeout-ms', '100']);
    url = server.eurekaUrl;
    [deadPort] = await freePorts(1);
    // Its health URL is on its own address, where nothing listens.
    await registerOver(url, { app: 'orders', instanceId: 'orders-1', hostName: '127.0.0.1', ipAddr: '127.0.0.1', port: deadPort });
    await registerOver(url, { app: 'orders', instanceId: 'orders-2', hostName: 'orders-2.internal', ipAddr: '10.0.2.12', port: 8080, metadata: { 'healthcheck.mode': 'off' } });
    await waitFor(() => server.registry.lease('ORDERS', 'orders-1')?.record.instance.status === 'DOWN', 'orders-1 marked DOWN', 10_000);
  });
  afterAll(async () => {
    await server.close();
  });

  it('instances APP: shows the health verdict and the last probe', async () => {
    const r = await admin('instances', 'orders', '--server', url);
    expect(r.code).toBe(0);
    expect(line(r.out, 'orders-1')[3]).toBe('DOWN');
    expect(line(r.out, 'orders-1')[8]).toMatch(/^DOWN \(ECONNREFUSED, \d+ failed in a row\)$/);
    expect(line(r.out, 'orders-2')[8]).toBe('off: healthcheck.mode=off');
    const json = JSON.parse((await admin('instances', 'orders', '--json', '--server', url)).out) as Record<string, unknown>[];
    expect(json[0]).toMatchObject({ id: 'orders-1', status: 'DOWN', statusSource: 'health', healthCheck: { mode: 'http', verdictDown: true, lastOutcome: 'error' } });
  });

  it('health: says how many instances are probed and held DOWN', async () => {
    const r = await admin('health', '--server', url);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Health checks +on: 1 probed, 1 held DOWN, 0 refused$/m);
  });
});

describe('against a server with Amazon instances', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startTestServer();
    // As a Java client on EC2 registers: no instanceId, no metadata zone; the id and zone come from AmazonInfo.
    const instance = {
      hostName: 'ip-10-1-2-3.ec2.internal', app: 'EDGE', ipAddr: '10.1.2.3', status: 'UP', overriddenstatus: 'UNKNOWN',
      port: { $: 8080, '@enabled': 'true' }, securePort: { $: 443, '@enabled': 'false' }, countryId: 1,
      dataCenterInfo: { '@class': 'com.netflix.appinfo.AmazonInfo', name: 'Amazon', metadata: { 'instance-id': 'i-0abc', 'availability-zone': 'us-east-1a' } },
      leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 }, metadata: { '@class': 'java.util.Collections$EmptyMap' }, vipAddress: 'edge',
    };
    const res = await fetch(`${server.eurekaUrl}apps/EDGE`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instance }) });
    expect(res.status).toBe(204);
  });
  afterAll(async () => {
    await server.close();
  });

  it('apps: counts an instance in its Amazon availability zone when its metadata names no zone', async () => {
    const r = await admin('apps', '--server', server.eurekaUrl);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(line(r.out, 'EDGE')).toEqual(['EDGE', '1', '1', '0', '0', '0', '0', 'us-east-1a: 1']);
  });

  it('instances: shows the Amazon instance-id as the id and the availability zone as the zone', async () => {
    const r = await admin('instances', 'edge', '--server', server.eurekaUrl);
    expect(r.code).toBe(0);
    expect(line(r.out, 'i-0abc').slice(0, 6)).toEqual(['i-0abc', 'ip-10-1-2-3.ec2.internal', '10.1.2.3:8080', 'UP', '-', 'us-east-1a']);
    const [json] = JSON.parse((await admin('instances', 'edge', '--json', '--server', server.eurekaUrl)).out) as Record<string, unknown>[];
    expect(json).toMatchObject({ id: 'i-0abc', zone: 'us-east-1a', metadata: {} });
  });
});

describe('a server with a peer that is down and reads refused', () => {
  let dir: string;
  let server: RunningServer;
  let deadPeer: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'admin-'));
    const [own, dead] = await freePorts(2);
    deadPeer = `http://127.0.0.1:${dead}/eureka/`;
    const file = join(dir, 'zones.json');
    writeFileSync(file, JSON.stringify({ region: 'r', zones: { a: [`http://127.0.0.1:${own}/eureka/`], b: [deadPeer] } }));
    const flags = ['--config', file, '--zone', 'a', '--port', String(own), '--host', '127.0.0.1', '--log-level', 'error', '--sync-attempts', '1', '--sync-empty-wait-ms', '600000', '--replication-timeout-ms', '300', '--replication-retry-base-ms', '20', '--replication-retry-max-ms', '100'];
    // Not awaiting `ready`: with its only peer down and failure mode `refuse`, it is not ready for 10 minutes.
    server = await startServer(loadConfig(flags, {}), { logger: silentLogger });
    await registerOver(server.eurekaUrl, { instanceId: 'i-1' });
    await waitFor(() => server.peers.nodes[0].stats.batchFailures > 0, 'a failed batch to the dead peer');
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('peers: the dead peer is failing and unreachable, listed with its zone, queue and why', async () => {
    await waitFor(async () => line((await admin('peers', '--server', server.eurekaUrl)).out, deadPeer)[3] === 'unreachable', 'a failed probe of the dead peer');
    const r = await admin('peers', '--server', server.eurekaUrl);
    expect(r.code).toBe(0);
    expect(columns(r.out.split('\n')[0])).toEqual(['PEER', 'ZONE', 'HEALTH', 'PROBE', 'LAST SEEN', 'RTT', 'LAST BATCH', 'QUEUE', 'LAG', 'LOST CHANGES', 'DETAIL']);
    const row = line(r.out, deadPeer);
    expect(row.slice(1, 7)).toEqual(['b', 'failing', 'unreachable', 'never', '-', 'never']);
    expect(row[10]).toMatch(/^unreachable \(.*ECONNREFUSED.*\), never answered; no batch accepted yet$/);
    const json = JSON.parse((await admin('peers', '--json', '--server', server.eurekaUrl)).out);
    expect(json).toEqual([expect.objectContaining({ url: deadPeer, zone: 'b', health: 'failing', reachable: false, ready: null, lastSeenAt: 0, rttMs: null, batchesSent: 0 })]);
    expect(json[0].batchFailures).toBeGreaterThan(0);
  });

  it('health: exit 1 while the server is not ready, saying why', async () => {
    const r = await admin('health', '--server', server.eurekaUrl);
    expect(r.code).toBe(1);
    expect(r.err).toBe('zone-registry-admin: not ready (SYNCING)\n');
    expect(r.out).toMatch(/^Ready +SYNCING \(503\)$/m);
    expect(r.out).toMatch(/reads REFUSED \(403\)/);
    expect(r.out).toMatch(/^Peers +0 of 1 healthy; failing: http:\/\/127\.0\.0\.1:\d+\/eureka\/ \(unreachable .*\)$/m);
  });

  it('apps: a refused read is an error that says why', async () => {
    const r = await admin('apps', '--server', server.eurekaUrl);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot list the applications: GET .*apps\/ answered 403 \(the server refuses reads until its startup sync is over/);
  });
});

describe('a server whose peer died when there was nothing to send it', () => {
  let dir: string;
  let a: RunningServer;
  let b: RunningServer | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'admin-'));
    const ports = await freePorts(2);
    const urls = ports.map((p) => `http://127.0.0.1:${p}/eureka/`);
    const file = join(dir, 'zones.json');
    writeFileSync(file, JSON.stringify({ region: 'r', zones: { a: [urls[0]], b: [urls[1]] } }));
    // Comparisons are rare here: the probes must tell on their own.
    const flags = (zone: string, port: number) => ['--config', file, '--zone', zone, '--port', String(port), '--host', '127.0.0.1', '--log-level', 'error', '--sync-attempts', '1', '--replication-timeout-ms', '300', '--anti-entropy-interval-ms', '600000', '--peer-probe-interval-ms', '200'];
    b = await startServer(loadConfig(flags('b', ports[1]), {}), { logger: silentLogger });
    a = await startServer(loadConfig(flags('a', ports[0]), {}), { logger: silentLogger });
    await Promise.all([a.ready, b.ready]);
    await registerOver(a.eurekaUrl, { instanceId: 'i-1' });
    await waitFor(() => a.peers.nodes[0].stats.batchesSent > 0, 'a batch accepted by the peer');
  });
  afterAll(async () => {
    await a.close();
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('peers and health: the live peer is healthy, reachable and ready, with its round trip', async () => {
    await waitFor(async () => line((await admin('peers', '--server', a.eurekaUrl)).out, a.peers.nodes[0].url)[3] === 'ready', 'a probe of the peer');
    const row = line((await admin('peers', '--server', a.eurekaUrl)).out, a.peers.nodes[0].url);
    expect(row.slice(1, 4)).toEqual(['b', 'healthy', 'ready']);
    expect(row[4]).toMatch(/ ago$/);
    expect(row[5]).toMatch(/^\d+(\.\d)? ms$/);
    const r = await admin('health', '--strict', '--server', a.eurekaUrl);
    expect(r.out).toMatch(/^Peers +1 of 1 healthy$/m);
  });

  it('peers and health: the peer is failing once its probes go unanswered, though no batch failed', async () => {
    await b?.close();
    b = undefined;
    await waitFor(async () => line((await admin('peers', '--server', a.eurekaUrl)).out, a.peers.nodes[0].url)[2] !== 'healthy', 'a probe to fail', 10_000);
    const row = line((await admin('peers', '--server', a.eurekaUrl)).out, a.peers.nodes[0].url);
    expect(row.slice(2, 4)).toEqual(['failing', 'unreachable']);
    expect(row[4]).toMatch(/ ago$/);
    expect(row[8]).toBe('-');
    expect(row[10]).toMatch(/^unreachable \(.*ECONNREFUSED.*\), last seen (just now|.* ago); last batch accepted (just now|.* ago)$/);
    expect(a.peers.nodes[0].stats.consecutiveFailures).toBe(0);
    expect((await admin('health', '--server', a.eurekaUrl)).out).toMatch(/^Peers +0 of 1 healthy; failing: /m);
  });

  it('health --strict: exit 1 naming the failing peer; without --strict: exit 0', async () => {
    expect((await admin('health', '--server', a.eurekaUrl)).code).toBe(0);
    const r = await admin('health', '--strict', '--server', a.eurekaUrl);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^zone-registry-admin: strict: peer http:\/\/127\.0\.0\.1:\d+\/eureka\/ is failing: unreachable/);
    const json = JSON.parse((await admin('health', '--strict', '--json', '--server', a.eurekaUrl)).out);
    expect(json.strict).toEqual({ ok: false, problems: [expect.stringMatching(/^peer .* is failing/)] });
  });
});

describe('credentials and errors', () => {
  let stub: Server;
  let port: number;
  const seen: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    stub = createServer((req, res) => {
      seen.push(req.headers);
      if (req.headers.authorization !== `Basic ${Buffer.from('alice:s:cret').toString('base64')}`) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ applications: { application: { name: 'SOLO', instance: { instanceId: 's-1', hostName: 'h', ipAddr: '10.9.9.9', status: 'UP', port: { $: '80', '@enabled': 'true' } } } } }));
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    port = (stub.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => stub.close(() => resolve()));
  });

  it('sends the URL credentials as Basic auth (percent-decoded) and reads single-object lists', async () => {
    const r = await admin('apps', '--json', '--server', `http://alice:s%3Acret@127.0.0.1:${port}/eureka/`);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(JSON.parse(r.out)).toEqual([{ name: 'SOLO', instances: 1, statusCounts: { UP: 1 }, zones: { '(none)': 1 } }]);
    expect(seen[seen.length - 1].accept).toBe('application/json');
  });

  it('explains a 401 without printing the password', async () => {
    const r = await admin('apps', '--server', `http://alice:wrong@127.0.0.1:${port}/eureka/`);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`zone-registry-admin: cannot list the applications: GET http://alice:***@127.0.0.1:${port}/eureka/apps/ answered 401 (check the credentials in --server: http://user:password@host…)\n`);
    expect(r.err).not.toContain('wrong');
  });

  it('says when the server cannot be reached', async () => {
    const [dead] = await freePorts(1);
    const r = await admin('apps', '--server', `http://127.0.0.1:${dead}/eureka/`);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`zone-registry-admin: cannot list the applications: cannot reach http://127.0.0.1:${dead}/eureka/ (connect ECONNREFUSED 127.0.0.1:${dead})\n`);
  });

  it.each([
    [[], 'a command is needed'],
    [['nope'], 'unknown command "nope"'],
    [['instances'], 'instances needs APP'],
    [['apps', 'extra'], 'apps takes no arguments'],
    [['apps', '--bogus'], "Unknown option '--bogus'"],
    [['apps', '--server', 'ftp://x/'], '--server must be an http:// or https:// URL'],
    [['apps', '--server', 'not a url'], '--server must be a URL'],
    [['apps', '--timeout', '0'], '--timeout must be a positive number'],
    [['peers', '--remove-override'], '--remove-override belongs to the status command'],
    [['apps', '--strict'], '--strict belongs to the health command'],
    [['deregister', 'ORDERS'], 'deregister needs APP ID'],
    [['metadata', 'ORDERS', 'orders-1'], 'metadata needs APP ID KEY=VALUE'],
    [['metadata', 'ORDERS', 'orders-1', 'novalue'], 'metadata entries are KEY=VALUE, got "novalue"'],
    [['metadata', 'ORDERS', 'orders-1', '=x'], 'metadata entries are KEY=VALUE'],
  ])('exits 2 with usage for %j', async (argv, message) => {
    const r = await admin(...(argv as string[]));
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(message);
    expect(r.err).toContain('Usage: zone-registry-admin');
  });

  it('prints help on --help, every option with its default', async () => {
    const r = await admin('--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: zone-registry-admin/);
    const options = r.out.slice(r.out.indexOf('Options:')).split('\n').filter((l) => /^  --/.test(l));
    expect(options.map((l) => l.trim().split(/\s/)[0])).toEqual(['--server', '--json', '--timeout', '--strict']);
    for (const option of options) expect(option).toMatch(/\(default/);
    expect(r.out).toContain('$ZONE_REGISTRY_URL');
  });
});

describe('helpers', () => {
  it('parses --server: default path, root path for /health, masked password', () => {
    expect(parseServer('http://127.0.0.1:8761')).toMatchObject({ eurekaUrl: 'http://127.0.0.1:8761/eureka/', rootUrl: 'http://127.0.0.1:8761/', display: 'http://127.0.0.1:8761/eureka/' });
    expect(parseServer('https://u:p%40ss@reg.example/base/eureka/v2')).toEqual({
      eurekaUrl: 'https://reg.example/base/eureka/v2/',
      rootUrl: 'https://reg.example/base/',
      display: 'https://u:***@reg.example/base/eureka/v2/',
      auth: { username: 'u', password: 'p@ss' },
    });
  });

  it('never prints control characters from registry data', () => {
    expect(clean('a\u001b[31mred\u0007')).toBe('a\uFFFD[31mred\uFFFD');
    expect(table([{ header: 'ID' }, { header: 'N', right: true }], [['x\u001b]0;pwned\u0007', 7]])).toBe(`ID${' '.repeat(11)}N\nx\uFFFD]0;pwned\uFFFD  7\n`);
  });
});
