// GET /api/overview (what the dashboard renders) and the dashboard's own files, without a browser.
import { Script } from 'node:vm';
import request from 'supertest';
import { defaultSettings } from '../../src/config/settings';
import { createApp } from '../../src/http/app';
import { DASHBOARD_JS } from '../../src/http/dashboard/assets';
import { Overview, peerHealth, webUrl } from '../../src/http/dashboard/overview';
import { PeerProbeStats, PeerStatus } from '../../src/observability/server-status';
import { emptyComparisonStats } from '../../src/replication/anti-entropy';
import { PeerNode, PeerStats } from '../../src/replication/peer-node';
import { DATA_CENTER_CLASS } from '../../src/domain/model';
import { javaLegacyBody, makeTestApp, TestApp } from '../helpers/app';
import { makeInstance } from '../helpers/instances';

const T0 = 1_700_000_000_000;

async function register(t: TestApp, app: string, id: string, metadata: Record<string, string> = {}, durationInSecs = 90): Promise<void> {
  const body = javaLegacyBody({ app, instanceId: id, hostName: `${id}.local`, ipAddr: '10.1.0.1', port: 8080, metadata, durationInSecs });
  const res = await request(t.app).post(`/eureka/apps/${app}`).set('Content-Type', 'application/json').send(JSON.stringify(body));
  expect(res.status).toBe(204);
}

async function overview(t: TestApp, query = ''): Promise<Overview> {
  const res = await request(t.app).get(`/api/overview${query}`);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['cache-control']).toBe('no-store');
  return res.body as Overview;
}

describe('GET /api/overview', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = makeTestApp();
    await register(t, 'orders', 'o-1', { zone: 'us-east-1a', version: '1.4.2' });
    await register(t, 'orders', 'o-2', { zone: 'us-east-1b' });
    await register(t, 'orders', 'o-3', { zone: 'us-east-1b' }, 30);
    await register(t, 'billing', 'b-1');
  });

  it('counts instances by status and zone per application and details each instance', async () => {
    expect((await request(t.app).put('/eureka/apps/ORDERS/o-2/status?value=OUT_OF_SERVICE')).status).toBe(200);
    t.clock.advance(40_000);
    expect((await request(t.app).put('/eureka/apps/ORDERS/o-1')).status).toBe(200);
    t.clock.advance(5_000);

    const o = await overview(t);
    expect(o.now).toBe(T0 + 45_000);
    expect(o.totals).toEqual({ applications: 2, instances: 4, byStatus: { UP: 3, OUT_OF_SERVICE: 1, DOWN: 0, STARTING: 0, UNKNOWN: 0 } });
    expect(o.applications.map((a) => a.name)).toEqual(['BILLING', 'ORDERS']);
    const orders = o.applications[1];
    expect(orders.total).toBe(3);
    expect(orders.byStatus).toEqual({ UP: 2, OUT_OF_SERVICE: 1, DOWN: 0, STARTING: 0, UNKNOWN: 0 });
    expect(orders.byZone).toEqual({ 'us-east-1a': 1, 'us-east-1b': 2 });
    expect(o.applications[0].byZone).toEqual({ '(none)': 1 });

    const byId = Object.fromEntries(orders.instances.map((i) => [i.id, i]));
    expect(byId['o-1']).toMatchObject({
      hostName: 'o-1.local',
      ipAddr: '10.1.0.1',
      port: 8080,
      status: 'UP',
      overriddenStatus: 'UNKNOWN',
      zone: 'us-east-1a',
      lastRenewalTimestamp: T0 + 40_000,
      leaseExpiresAt: T0 + 130_000,
      leaseMsLeft: 85_000,
      metadata: { zone: 'us-east-1a', version: '1.4.2' },
    });
    // The override renewed o-2's lease at registration time (T0).
    expect(byId['o-2']).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE', statusSource: 'override', leaseMsLeft: 45_000 });
    // A 30 s lease without heartbeats: expired 15 s ago, awaiting eviction.
    expect(byId['o-3'].leaseMsLeft).toBe(-15_000);
  });

  it('counts an Amazon instance without a metadata zone in its availability zone, in apps and recent changes', async () => {
    t.registry.register(
      makeInstance({ app: 'CATALOG', id: 'i-0abc', dataCenterInfo: { name: 'Amazon', className: DATA_CENTER_CLASS.amazon, metadata: { 'availability-zone': 'us-east-1c', 'instance-id': 'i-0abc' } } }),
    );
    const o = await overview(t);
    expect(o.applications.find((a) => a.name === 'CATALOG')?.byZone).toEqual({ 'us-east-1c': 1 });
    expect(o.recent.registrations.find((c) => c.id === 'i-0abc')?.zone).toBe('us-east-1c');
  });

  it('reports the server, its readiness and lease expiry; settings when the server has them', async () => {
    const o = await overview(t);
    expect(o.server).toMatchObject({ version: '0.0.0-test', zone: 'default', region: 'default', uptimeMs: 0, ready: true, registryReadsAllowed: true, leaseExpirationEnabled: true, settings: null });
    expect(o.selfPreservation).toBeNull();
    expect(o.peers).toEqual([]);

    const withSettings = createApp({ ...t.deps, settings: { ...defaultSettings(), leaseDurationSecs: 45, peerPassword: 'do-not-show' }, isReady: () => false });
    const res = await request(withSettings).get('/api/overview');
    expect(res.body.server.ready).toBe(false);
    expect(res.body.server.settings.leases.leaseDurationSecs).toBe(45);
    expect(res.body.server.settings.selfPreservation).toMatchObject({ selfPreservationEnabled: true, renewalPercentThreshold: 0.85 });
    expect(res.body.server.settings.replication.replicationBatchSize).toBe(250);
    expect(res.body.server.settings.security).toMatchObject({ authEnabled: false, authAnonymousReads: true, rateLimitFullFetchesPerSec: 0 });
    expect(JSON.stringify(res.body)).not.toContain('do-not-show');
  });

  it('offers the status and home pages of an instance only as http(s) URLs', async () => {
    const body = javaLegacyBody({ app: 'pages', instanceId: 'p-1', hostName: 'p-1.local', ipAddr: '10.1.0.9', port: 8080 });
    Object.assign(body.instance, { statusPageUrl: 'javascript:alert(document.cookie)', homePageUrl: 'https://p-1.local:8443/home?a=1' });
    expect((await request(t.app).post('/eureka/apps/PAGES').set('Content-Type', 'application/json').send(JSON.stringify(body))).status).toBe(204);
    const o = await overview(t);
    const pages = o.applications.find((a) => a.name === 'PAGES')!.instances[0];
    expect(pages).toMatchObject({ statusPageUrl: null, homePageUrl: 'https://p-1.local:8443/home?a=1' });
    expect(o.applications.find((a) => a.name === 'ORDERS')!.instances[0]).toMatchObject({ homePageUrl: 'http://o-1.local:8080/', statusPageUrl: 'http://o-1.local:8080/actuator/info' });
  });

  it('counts the instances held past expiry while expiry is suspended, and since when', async () => {
    let suspended = false;
    const held = makeTestApp({ expiryGate: { isLeaseExpirationEnabled: () => !suspended } });
    await register(held, 'orders', 'o-1', {}, 30);
    await register(held, 'orders', 'o-2', {}, 90);
    held.clock.advance(60_000);
    // Expired but leases expire: awaiting eviction, not held.
    expect((await overview(held)).heldPastExpiry).toEqual({ instances: 0, since: 0 });
    suspended = true;
    // An injected expiry rule says nothing of since when.
    expect((await overview(held)).heldPastExpiry).toEqual({ instances: 1, since: 0 });
    held.clock.advance(60_000);
    expect((await overview(held)).heldPastExpiry).toEqual({ instances: 2, since: 0 });
    await held.close();
  });

  it('reports no health checks on a server that does not run them', async () => {
    const o = await overview(t);
    expect(o.healthChecks).toMatchObject({ enabled: false, instances: { probed: 0, off: 0, refused: 0 } });
    expect(o.applications[1].instances.every((i) => i.health === null)).toBe(true);
  });

  it('lists recent registrations and cancellations, newest first', async () => {
    t.clock.advance(1000);
    expect((await request(t.app).delete('/eureka/apps/ORDERS/o-3')).status).toBe(200);
    const o = await overview(t, '?recent=2');
    expect(o.recent.registrations.map((c) => c.id)).toEqual(['b-1', 'o-3']);
    expect(o.recent.removals).toEqual([expect.objectContaining({ kind: 'cancelled', app: 'ORDERS', id: 'o-3', origin: 'client', at: T0 + 1000, zone: 'us-east-1b' })]);
  });

  it('filters by application, instance, host, status or zone, and caps the detailed instances', async () => {
    const zoneB = await overview(t, '?q=US-EAST-1B');
    expect(zoneB.applications.map((a) => [a.name, a.total, a.instances.map((i) => i.id)])).toEqual([['ORDERS', 2, ['o-2', 'o-3']]]);
    expect(zoneB.filter).toMatchObject({ q: 'us-east-1b', matchedApplications: 1, matchedInstances: 2 });
    expect(zoneB.totals.instances).toBe(4);
    expect((await overview(t, '?q=billing')).applications.map((a) => a.name)).toEqual(['BILLING']);
    expect((await overview(t, '?q=nothing-matches')).applications).toEqual([]);

    const capped = await overview(t, '?limit=2');
    expect(capped.filter).toMatchObject({ limit: 2, matchedInstances: 4, detailedInstances: 2 });
    expect(capped.applications.map((a) => [a.name, a.total, a.instances.length])).toEqual([
      ['BILLING', 1, 1],
      ['ORDERS', 3, 1],
    ]);
    // Nonsense limits fall back to the default.
    expect((await overview(t, '?limit=-3')).filter.limit).toBe(500);
  });
});

describe('peer health', () => {
  const peer = (stats: Partial<PeerStats>, queueDepth = 0): PeerNode =>
    ({
      url: 'http://b:8761/eureka/',
      queueDepth,
      stats: { batchesSent: 0, batchFailures: 0, tasksSent: 0, heartbeatsDropped: 0, changesLost: 0, consecutiveFailures: 0, lastSuccessAt: 0, lastFailureAt: 0, lastError: '', lastLagMs: 0, ...stats },
    }) as unknown as PeerNode;

  it('is healthy after an accepted batch, failing after a failed one, idle before anything was sent', () => {
    expect(peerHealth(peer({ batchesSent: 3, lastSuccessAt: T0 - 4000, lastLagMs: 21 }), T0)).toEqual({ health: 'healthy', summary: 'last batch accepted 4 s ago, lag 21 ms' });
    expect(peerHealth(peer({ batchesSent: 3, lastSuccessAt: T0 - 60_000, consecutiveFailures: 2, lastError: 'connect ECONNREFUSED' }), T0)).toEqual({
      health: 'failing',
      summary: '2 failed batches in a row, last success 60 s ago',
    });
    expect(peerHealth(peer({ consecutiveFailures: 1, lastError: 'timeout' }), T0).summary).toBe('1 failed batch in a row, never reached');
    expect(peerHealth(peer({}), T0)).toEqual({ health: 'idle', summary: 'nothing replicated yet' });
  });

  it('is failing when the registry comparison cannot reach it, though no batch failed (nothing to send since)', () => {
    const comparison = { ...emptyComparisonStats(), state: 'failing' as const, lastComparisonAt: T0 - 1000, failures: 1, lastError: 'connect ECONNREFUSED' };
    const dead = { ...(peer({ batchesSent: 3, lastSuccessAt: T0 - 180_000, lastLagMs: 21 }) as unknown as PeerStatus), comparison };
    expect(peerHealth(dead, T0)).toEqual({ health: 'failing', summary: 'registry comparison failing (connect ECONNREFUSED), last batch accepted 3 min ago' });
    // A batch accepted after the failed comparison: the peer is back.
    const back = { ...(peer({ batchesSent: 4, lastSuccessAt: T0 - 500, lastLagMs: 5 }) as unknown as PeerStatus), comparison };
    expect(peerHealth(back, T0).health).toBe('healthy');
  });

  const probe = (over: Partial<PeerProbeStats>): PeerProbeStats => ({ state: 'ready', since: T0 - 60_000, lastProbeAt: T0 - 1000, lastSeenAt: T0 - 1000, rttMs: 1.5, lastStatus: 200, lastError: '', consecutiveFailures: 0, probes: 12, failures: 0, ...over });
  const probed = (stats: Partial<PeerStats>, p: Partial<PeerProbeStats>): PeerStatus => ({ ...(peer(stats) as unknown as PeerStatus), probe: probe(p) });

  it('is failing when its probes go unanswered, though its last batch was accepted (nothing to send since)', () => {
    const dead = probed({ batchesSent: 3, lastSuccessAt: T0 - 180_000, lastLagMs: 21 }, { state: 'unreachable', lastSeenAt: T0 - 100_000, lastStatus: 200, lastError: 'ECONNREFUSED', consecutiveFailures: 30 });
    expect(peerHealth(dead, T0)).toEqual({ health: 'failing', summary: 'unreachable (ECONNREFUSED), last seen 100 s ago; last batch accepted 3 min ago' });
    // A batch accepted after the failed probe is fresher evidence.
    expect(peerHealth(probed({ batchesSent: 4, lastSuccessAt: T0 - 500 }, { state: 'unreachable', lastError: 'timeout' }), T0).health).toBe('healthy');
  });

  it('is failing, not idle, when it never answered (a server whose only peer never answered its startup sync)', () => {
    expect(peerHealth(probed({}, { state: 'unreachable', lastSeenAt: 0, rttMs: -1, lastStatus: 0, lastError: 'ECONNREFUSED' }), T0)).toEqual({ health: 'failing', summary: 'unreachable (ECONNREFUSED), never answered; no batch accepted yet' });
  });

  it('is not ready while it answers 503, healthy when reachable and ready with nothing to replicate yet', () => {
    expect(peerHealth(probed({}, { state: 'not-ready', lastStatus: 503 }), T0)).toEqual({ health: 'not-ready', summary: 'reachable but not ready (its startup sync is not over), round trip 1.5 ms; no batch accepted yet' });
    expect(peerHealth(probed({}, {}), T0)).toEqual({ health: 'healthy', summary: 'reachable and ready, round trip 1.5 ms; nothing replicated yet' });
    expect(peerHealth(probed({}, { state: 'pending', lastProbeAt: 0, lastSeenAt: 0, rttMs: -1 }), T0)).toEqual({ health: 'idle', summary: 'not probed yet, nothing replicated yet' });
  });

  it('takes a Java Eureka peer that answers 404 for reachable, readiness unknown', () => {
    expect(peerHealth(probed({ batchesSent: 2, lastSuccessAt: T0 - 2000, lastLagMs: 3 }, { state: 'reachable', lastStatus: 404 }), T0)).toEqual({
      health: 'healthy',
      summary: 'last batch accepted 2 s ago, lag 3 ms; reachable, round trip 1.5 ms (readiness unknown: answered 404)',
    });
  });
});

describe('webUrl', () => {
  it.each([
    ['http://h:8080/', 'http://h:8080/'],
    ['HTTPS://H/x y', 'https://h/x%20y'],
    ['javascript:alert(1)', null],
    ['JaVaScRiPt:alert(1)', null],
    ['data:text/html,<b>x</b>', null],
    ['/relative', null],
    ['not a url', null],
    [undefined, null],
  ])('%j → %j', (raw, expected) => {
    expect(webUrl(raw)).toBe(expected);
  });
});

describe('dashboard files', () => {
  const t = makeTestApp();

  it('serves the page at / with a content security policy that allows only its own files', async () => {
    const res = await request(t.app).get('/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.text).toContain('<script src="assets/dashboard.js" defer></script>');
    expect(res.text).toContain('<link rel="stylesheet" href="assets/dashboard.css">');
    expect(res.text).not.toMatch(/https?:\/\//);
  });

  it.each([
    ['/assets/dashboard.js', 'text/javascript; charset=utf-8'],
    ['/assets/dashboard.css', 'text/css; charset=utf-8'],
  ])('serves %s as %s', async (path, type) => {
    const res = await request(t.app).get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(type);
    expect(res.text.length).toBeGreaterThan(1000);
    expect(res.text).not.toMatch(/https?:\/\//);
  });

  it('ships a script that parses and never writes HTML from data', () => {
    expect(() => new Script(DASHBOARD_JS, { filename: 'dashboard.js' })).not.toThrow();
    expect(DASHBOARD_JS).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });

  it('still answers unknown operator paths with a JSON 404', async () => {
    const res = await request(t.app).get('/assets/nope.js');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'not found', path: '/assets/nope.js' });
  });
});

describe('health checks on the operators\' surface', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = makeTestApp({ settings: { healthChecksEnabled: true } });
    await register(t, 'orders', 'o-1');
    await register(t, 'orders', 'o-2', { 'healthcheck.mode': 'off' });
    t.registry.healthVerdict('ORDERS', 'o-1', 'down');
  });
  afterEach(() => t.close());

  describe('GET /api/overview', () => {
    it("shows each instance's status source and its check here, and the server's health-check state", async () => {
      const o = await overview(t);
      const byId = Object.fromEntries(o.applications[0].instances.map((i) => [i.id, i]));
      expect(byId['o-1']).toMatchObject({ status: 'DOWN', statusSource: 'health', health: { mode: 'http', target: 'http://o-1.local:8080/actuator/health', verdictDown: true, lastProbeAt: 0 } });
      expect(byId['o-2']).toMatchObject({ status: 'UP', statusSource: 'client', health: { mode: 'off', target: 'healthcheck.mode=off', verdictDown: false } });
      expect(o.healthChecks).toMatchObject({ enabled: true, instances: { probed: 1, off: 1, refused: 0 }, markedDown: 1, valve: { engaged: false } });
    });
  });

  describe('GET /api/health-checks', () => {
    it("lists an application's instances with their status source and check, and the server's stats", async () => {
      const res = await request(t.app).get('/api/health-checks?app=orders');
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body.healthChecks).toMatchObject({ enabled: true, instances: { probed: 1, off: 1, refused: 0 } });
      // Lease times are the live ones (the registry documents are cached per change).
      const lease = (id: string) => t.registry.lease('ORDERS', id);
      expect(res.body.instances).toEqual([
        { app: 'ORDERS', id: 'o-1', status: 'DOWN', statusSource: 'health', lastRenewalTimestamp: lease('o-1')?.lastRenewalTimestamp, leaseExpiresAt: lease('o-1')?.expiresAt(), health: expect.objectContaining({ mode: 'http', verdictDown: true }) },
        { app: 'ORDERS', id: 'o-2', status: 'UP', statusSource: 'client', lastRenewalTimestamp: lease('o-2')?.lastRenewalTimestamp, leaseExpiresAt: lease('o-2')?.expiresAt(), health: expect.objectContaining({ mode: 'off' }) },
      ]);
    });

    it('lists no instances without an application, or for one nobody registered', async () => {
      expect((await request(t.app).get('/api/health-checks')).body.instances).toEqual([]);
      expect((await request(t.app).get('/api/health-checks?app=NOBODY')).body.instances).toEqual([]);
    });
  });
});
