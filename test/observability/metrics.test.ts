// GET /metrics: the registry's series after registrations, cancels, evictions and overrides; request durations by
// route pattern; per-peer replication and self-preservation gauges; one prom-client Registry per server.
import request from 'supertest';
import { heldPastExpiry } from '../../src/observability/server-status';
import { ManualClock } from '../../src/domain/clock';
import { Registry } from '../../src/domain/registry';
import { SelfPreservationState } from '../../src/domain/self-preservation';
import { DURATION_BUCKETS, RequestDurations, ServerMetrics, UNMATCHED_ROUTE } from '../../src/observability/metrics';
import { emptyPeerStats, PeerNode, PeerStats } from '../../src/replication/peer-node';
import { HealthCheckStats, PeerProbeStats, PeerStatus } from '../../src/observability/server-status';
import { DurationCounter } from '../../src/observability/duration-counts';
import { REPLICATION_DURATION_BUCKETS } from '../../src/observability/server-status';
import { javaLegacyBody, makeTestApp, TestApp } from '../helpers/app';
import { makeInstance } from '../helpers/instances';
import { parseProm, registerOver, sample, Sample, startTestServer } from './support';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/observability/logger';
import { startServer } from '../../src/server';

const P = 'zone_registry_';
const DURATION = `${P}http_request_duration_seconds`;

async function scrape(t: TestApp): Promise<Sample[]> {
  const res = await request(t.app).get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseProm(res.text);
}

async function register(t: TestApp, id: string, metadata: Record<string, string> = {}): Promise<void> {
  const body = javaLegacyBody({ instanceId: id, hostName: `${id}.local`, metadata });
  const res = await request(t.app).post('/eureka/apps/ORDERS').set('Content-Type', 'application/json').send(JSON.stringify(body));
  expect(res.status).toBe(204);
}

describe('registry series', () => {
  it('counts instances by status and registrations, cancellations, evictions and overrides', async () => {
    const t = makeTestApp();
    await register(t, 'a');
    await register(t, 'b');
    await register(t, 'c');
    await register(t, 'a'); // a re-registration
    expect((await request(t.app).put('/eureka/apps/ORDERS/b/status?value=OUT_OF_SERVICE')).status).toBe(200);
    expect((await request(t.app).delete('/eureka/apps/ORDERS/a')).status).toBe(200);
    expect(t.registry.evict('ORDERS', 'c')).toBeDefined();

    const s = await scrape(t);
    expect(sample(s, `${P}instances`, { status: 'UP' })).toBe(0);
    expect(sample(s, `${P}instances`, { status: 'OUT_OF_SERVICE' })).toBe(1);
    expect(sample(s, `${P}instances`, { status: 'DOWN' })).toBe(0);
    expect(sample(s, `${P}applications`)).toBe(1);
    expect(sample(s, `${P}registrations_total`, { origin: 'client', kind: 'new' })).toBe(3);
    expect(sample(s, `${P}registrations_total`, { origin: 'client', kind: 're-registration' })).toBe(1);
    expect(sample(s, `${P}registrations_total`, { origin: 'peer', kind: 'new' })).toBe(0);
    expect(sample(s, `${P}cancellations_total`, { origin: 'client' })).toBe(1);
    expect(sample(s, `${P}evictions_total`)).toBe(1);
    expect(sample(s, `${P}status_overrides_total`, { origin: 'client', action: 'set' })).toBe(1);
  });

  it('counts heartbeats and response-cache hits and rebuilds', async () => {
    const t = makeTestApp();
    await register(t, 'a');
    for (let i = 0; i < 3; i++) expect((await request(t.app).put('/eureka/apps/ORDERS/a')).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await request(t.app).get('/eureka/apps').set('Accept', 'application/json')).status).toBe(200);
    const s = await scrape(t);
    expect(sample(s, `${P}renewals_total`, { origin: 'client' })).toBe(3);
    expect(sample(s, `${P}renewals_total`, { origin: 'peer' })).toBe(0);
    expect(sample(s, `${P}response_cache_rebuilds_total`)).toBe(1);
    expect(sample(s, `${P}response_cache_hits_total`)).toBe(1);
  });

  it('reports the bytes the response cache and the delta log hold', async () => {
    const t = makeTestApp();
    await register(t, 'a');
    const full = await request(t.app).get('/eureka/apps').set('Accept', 'application/json');
    const s = await scrape(t);
    expect(sample(s, `${P}response_cache_bytes`)).toBe(t.cache.stats.bytes);
    expect(t.cache.stats.bytes).toBeGreaterThanOrEqual(Buffer.byteLength(full.text));
    expect(sample(s, `${P}response_cache_evictions_total`)).toBe(0);
    expect(sample(s, `${P}delta_bytes`)).toBe(t.registry.deltaBytes);
    expect(t.registry.deltaBytes).toBeGreaterThan(0);
    expect(sample(s, `${P}delta_dropped_early_total`)).toBe(0);
  });

  it('keeps one registry per server: two servers in one process report only themselves', async () => {
    const one = makeTestApp();
    const two = makeTestApp();
    await register(one, 'a');
    await register(one, 'b');
    await register(two, 'z');
    expect(sample(await scrape(one), `${P}instances`, { status: 'UP' })).toBe(2);
    expect(sample(await scrape(two), `${P}instances`, { status: 'UP' })).toBe(1);
    expect(sample(await scrape(two), `${P}registrations_total`, { origin: 'client', kind: 'new' })).toBe(1);
  });
});

describe('request durations', () => {
  it('labels Eureka requests by route pattern and status, never by raw URL', async () => {
    const t = makeTestApp();
    await register(t, 'secret-instance-1');
    await register(t, 'secret-instance-2');
    await request(t.app).put('/eureka/apps/ORDERS/secret-instance-1');
    await request(t.app).put('/eureka/v2/apps/ORDERS/secret-instance-2');
    await request(t.app).put('/eureka/apps/ORDERS/nobody-here');
    await request(t.app).get('/eureka/no/such/route/here');
    await request(t.app).get('/health');
    const s = await scrape(t);

    const heartbeat = { method: 'PUT', route: '/apps/:app/:id' };
    expect(sample(s, `${DURATION}_count`, { ...heartbeat, code: '200' })).toBe(2);
    expect(sample(s, `${DURATION}_count`, { ...heartbeat, code: '404' })).toBe(1);
    expect(sample(s, `${DURATION}_count`, { method: 'POST', route: '/apps/:app', code: '204' })).toBe(2);
    expect(sample(s, `${DURATION}_count`, { method: 'GET', route: UNMATCHED_ROUTE, code: '404' })).toBe(1);
    expect(sample(s, `${DURATION}_count`, { method: 'GET', route: '/health', code: '200' })).toBe(1);
    for (const x of s) for (const v of Object.values(x.labels)) expect(v).not.toMatch(/secret|nobody|such/);

    // A histogram: cumulative buckets, +Inf equal to the count, a positive sum.
    const buckets = s.filter((x) => x.name === `${DURATION}_bucket` && x.labels.route === heartbeat.route && x.labels.code === '200');
    expect(buckets.map((b) => b.labels.le)).toEqual([...DURATION_BUCKETS.map(String), '+Inf']);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i].value).toBeGreaterThanOrEqual(buckets[i - 1].value);
    expect(buckets[buckets.length - 1].value).toBe(2);
    expect(sample(s, `${DURATION}_sum`, { ...heartbeat, code: '200' })).toBeGreaterThan(0);
  });

  it('puts an observation in the first bucket whose bound holds it', async () => {
    const d = new RequestDurations();
    const timer = d.route('GET', '/apps');
    timer.record(200, 0.0003);
    timer.record(200, 0.0005);
    timer.record(200, 20);
    const values = (await d.get()).values.filter((v) => v.labels.code === '200');
    const at = (le: number | string): number => values.find((v) => v.metricName.endsWith('_bucket') && v.labels.le === le)?.value ?? NaN;
    expect(at(0.00025)).toBe(0);
    expect(at(0.0005)).toBe(2);
    expect(at(10)).toBe(2);
    expect(at('+Inf')).toBe(3);
    d.reset();
    expect((await d.get()).values.find((v) => v.metricName.endsWith('_count'))?.value).toBe(0);
  });
});

describe('replication and self-preservation gauges', () => {
  const stats = (over: Partial<PeerStats>): PeerStats => ({ ...emptyPeerStats(), ...over });

  it('reports batches, failures, queue depth, lag and lost changes per peer, and the self-preservation arithmetic', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 100 });
    registry.register(makeInstance());
    const peers = [
      { url: 'http://b.example:8761/eureka/', queueDepth: 3, stats: stats({ batchesSent: 40, tasksSent: 90, lastLagMs: 25, lastSuccessAt: 1_699_999_999_000 }) },
      { url: 'http://c.example:8761/eureka/', queueDepth: 120, stats: stats({ batchFailures: 7, consecutiveFailures: 7, changesLost: 2, heartbeatsDropped: 30, lastError: 'ECONNREFUSED' }) },
    ] as unknown as PeerNode[];
    const sp: SelfPreservationState = { enabled: true, expectedRenewalsPerMin: 40, threshold: 34, renewalsLastMin: 12, instances: 20, active: true, since: 1, cause: 'below-threshold', reason: 'partition' };
    const metrics = new ServerMetrics({ registry, clock, peers: () => peers, selfPreservation: () => sp, isReady: () => true }, { processMetrics: false });
    const s = parseProm(await metrics.text());
    const b = { peer: 'http://b.example:8761/eureka/' };
    const c = { peer: 'http://c.example:8761/eureka/' };
    expect(sample(s, `${P}replication_batches_total`, b)).toBe(40);
    expect(sample(s, `${P}replication_tasks_sent_total`, b)).toBe(90);
    expect(sample(s, `${P}replication_queue_depth`, b)).toBe(3);
    expect(sample(s, `${P}replication_lag_seconds`, b)).toBe(0.025);
    expect(sample(s, `${P}replication_last_success_timestamp_seconds`, b)).toBe(1_699_999_999);
    expect(sample(s, `${P}replication_batch_failures_total`, c)).toBe(7);
    expect(sample(s, `${P}replication_consecutive_failures`, c)).toBe(7);
    expect(sample(s, `${P}replication_changes_lost_total`, c)).toBe(2);
    expect(sample(s, `${P}replication_heartbeats_dropped_total`, c)).toBe(30);
    expect(sample(s, `${P}replication_queue_depth`, c)).toBe(120);
    // A failing peer's last good lag would say it is fine: no value at all.
    expect(s.filter((x) => x.name === `${P}replication_lag_seconds` && x.labels.peer === c.peer)).toEqual([]);
    expect(sample(s, `${P}renewals_last_minute`)).toBe(12);
    expect(sample(s, `${P}renewal_threshold`)).toBe(34);
    expect(sample(s, `${P}expected_renewals_per_minute`)).toBe(40);
    expect(sample(s, `${P}self_preservation_active`)).toBe(1);
    expect(sample(s, `${P}ready`)).toBe(1);
    expect(s.some((x) => x.name.startsWith('process_'))).toBe(false);

    // Values are read at scrape time.
    peers[0].stats.batchesSent = 41;
    expect(sample(parseProm(await metrics.text()), `${P}replication_batches_total`, b)).toBe(41);

    // Closed metrics no longer follow the registry.
    metrics.close();
    registry.cancel('ORDERS', makeInstance().id);
    expect(sample(parseProm(await metrics.text()), `${P}cancellations_total`, { origin: 'client' })).toBe(0);
  });
});

describe('a real server', () => {
  it('names the Eureka, dashboard and metrics URLs on its start line, and serves each there', async () => {
    const lines: [string, Record<string, unknown>][] = [];
    const logger = { ...silentLogger, info: (message: string, fields: Record<string, unknown> = {}) => void lines.push([message, fields]) };
    const server = await startServer(loadConfig(['--port', '0', '--host', '127.0.0.1'], {}), { logger });
    try {
      const [, fields] = lines.find(([m]) => m === 'zone server listening')!;
      const base = `http://127.0.0.1:${server.port}`;
      expect(fields).toMatchObject({ eureka: `${base}/eureka/`, dashboard: `${base}/`, metrics: `${base}/metrics` });
      expect(Object.keys(fields).slice(0, 3)).toEqual(['eureka', 'dashboard', 'metrics']);
      for (const url of [`${base}/eureka/apps`, `${base}/`, `${base}/metrics`]) expect((await fetch(url)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('serves /metrics with the process metrics next to the health routes', async () => {
    const server = await startTestServer();
    try {
      await registerOver(server.eurekaUrl, { instanceId: 'i-1' });
      const base = `http://127.0.0.1:${server.port}`;
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const s = parseProm(await res.text());
      expect(sample(s, `${P}instances`, { status: 'UP' })).toBe(1);
      expect(sample(s, `${P}info`, { zone: 'default', region: 'default' })).toBe(1);
      expect(sample(s, `${P}self_preservation_active`)).toBe(0);
      expect(sample(s, `${P}lease_expiration_enabled`)).toBe(1);
      expect(sample(s, `${P}reads_allowed`)).toBe(1);
      expect(sample(s, `${P}revision`)).toBeGreaterThan(0);
      expect(sample(s, `${P}held_instances`)).toBe(0);
      expect(s.some((x) => x.name === 'process_cpu_user_seconds_total')).toBe(true);
      for (const path of ['/health', '/health/live', '/health/ready']) {
        const h = await fetch(base + path);
        expect(h.status).toBe(200);
        expect(await h.json()).toEqual({ status: 'UP' });
      }
    } finally {
      await server.close();
    }
  });
});

describe('peer probe and replication request series', () => {
  const probe = (over: Partial<PeerProbeStats>): PeerProbeStats => ({ state: 'ready', since: 1, lastProbeAt: 1_700_000_000_000, lastSeenAt: 1_700_000_000_000, rttMs: 2.5, lastStatus: 200, lastError: '', consecutiveFailures: 0, probes: 10, failures: 0, ...over });

  it("reports each peer's liveness, readiness, round trip and verdict, and the duration of batch requests", async () => {
    const clock = new ManualClock(1_700_000_001_000);
    const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 10 });
    const durations = new DurationCounter(REPLICATION_DURATION_BUCKETS);
    durations.observe(0.0008);
    durations.observe(0.02);
    durations.observe(30);
    const peers: PeerStatus[] = [
      { url: 'http://b:8761/eureka/', zone: 'b', queueDepth: 0, stats: { ...emptyPeerStats(), batchesSent: 2, lastSuccessAt: 1_699_999_999_000, lastLagMs: 40 }, probe: probe({}), requestDurations: durations },
      { url: 'http://c:8761/eureka/', zone: 'c', queueDepth: 0, stats: { ...emptyPeerStats(), batchesSent: 2, lastSuccessAt: 1_699_999_000_000, lastLagMs: 40 }, probe: probe({ state: 'unreachable', lastSeenAt: 1_699_999_000_000, failures: 4 }) },
      { url: 'http://d:8761/eureka/', queueDepth: 0, stats: emptyPeerStats(), probe: probe({ state: 'reachable', lastStatus: 404 }) },
      { url: 'http://e:8761/eureka/', queueDepth: 0, stats: emptyPeerStats(), probe: probe({ state: 'pending', lastSeenAt: 0, rttMs: -1 }) },
    ];
    const metrics = new ServerMetrics({ registry, clock, peers: () => peers }, { processMetrics: false });
    const s = parseProm(await metrics.text());
    const [b, c, d, e] = peers.map((p) => ({ peer: p.url }));
    expect(sample(s, `${P}peer_up`, { ...b, zone: 'b' })).toBe(1);
    expect(sample(s, `${P}peer_up`, { ...c, zone: 'c' })).toBe(0);
    expect(sample(s, `${P}peer_up`, { ...d, zone: '' })).toBe(1);
    expect(s.filter((x) => x.name === `${P}peer_up` && x.labels.peer === e.peer)).toEqual([]);
    expect(sample(s, `${P}peer_ready`, b)).toBe(1);
    expect(sample(s, `${P}peer_ready`, c)).toBe(0);
    expect(s.filter((x) => x.name === `${P}peer_ready` && (x.labels.peer === d.peer || x.labels.peer === e.peer))).toEqual([]);
    expect(sample(s, `${P}peer_probe_rtt_seconds`, b)).toBe(0.0025);
    expect(sample(s, `${P}peer_last_seen_timestamp_seconds`, c)).toBe(1_699_999_000);
    expect(sample(s, `${P}peer_probe_failures_total`, c)).toBe(4);
    expect(sample(s, `${P}peer_healthy`, b)).toBe(1);
    expect(sample(s, `${P}peer_healthy`, c)).toBe(0);
    expect(sample(s, `${P}replication_lag_seconds`, b)).toBe(0.04);
    expect(s.filter((x) => x.name === `${P}replication_lag_seconds` && x.labels.peer === c.peer)).toEqual([]);
    const H = `${P}replication_request_duration_seconds`;
    expect(sample(s, `${H}_bucket`, { ...b, le: '0.001' })).toBe(1);
    expect(sample(s, `${H}_bucket`, { ...b, le: '0.025' })).toBe(2);
    expect(sample(s, `${H}_bucket`, { ...b, le: '10' })).toBe(2);
    expect(sample(s, `${H}_bucket`, { ...b, le: '+Inf' })).toBe(3);
    expect(sample(s, `${H}_count`, b)).toBe(3);
    expect(sample(s, `${H}_sum`, b)).toBeCloseTo(30.0208, 6);
    expect(s.filter((x) => x.name.startsWith(H) && x.labels.peer === c.peer)).toEqual([]);
    metrics.close();
  });

  it('counts the instances held past expiry while expiry is suspended', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 10 });
    registry.register(makeInstance({ id: 'a', durationSecs: 30 }));
    registry.register(makeInstance({ id: 'b', durationSecs: 90 }));
    let enabled = false;
    const metrics = new ServerMetrics({ registry, clock, expiryGate: { isLeaseExpirationEnabled: () => enabled } }, { processMetrics: false });
    clock.advance(60_000);
    expect(sample(parseProm(await metrics.text()), `${P}held_instances`)).toBe(1);
    enabled = true;
    expect(sample(parseProm(await metrics.text()), `${P}held_instances`)).toBe(0);
    metrics.close();
  });

  it('counts held instances at most once a second, however often it is read', () => {
    const clock = new ManualClock(1_700_000_000_000);
    const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 10 });
    registry.register(makeInstance({ id: 'a', durationSecs: 30 }));
    registry.register(makeInstance({ id: 'b', durationSecs: 90 }));
    const port = { registry, expiryGate: { isLeaseExpirationEnabled: () => false } };
    let walks = 0;
    const leases = registry.leases.bind(registry);
    registry.leases = () => {
      walks++;
      return leases();
    };
    clock.advance(60_000);
    expect(heldPastExpiry(port, clock.now()).instances).toBe(1);
    clock.advance(40_000);
    // Within the second: the count of a moment ago, without a walk.
    expect(heldPastExpiry(port, clock.now() - 39_500).instances).toBe(1);
    expect(walks).toBe(1);
    expect(heldPastExpiry(port, clock.now()).instances).toBe(2);
    expect(walks).toBe(2);
  });
});

describe('metric names', () => {
  it('never repeat a word (zone_registry_registry_…), on a server with peers, health checks and every optional part', async () => {
    const server = await startTestServer(['--health-checks-enabled', 'true']);
    try {
      const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
      const names = [...text.matchAll(/^# TYPE (zone_registry_\w+) /gm)].map((m) => m[1]);
      expect(names.length).toBeGreaterThan(40);
      const doubled = names.filter((n) => /(^|_)([a-z]+)_\2(_|$)/.test(n));
      expect(doubled).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('health-check series', () => {
  const stats = (over: Partial<HealthCheckStats> = {}): HealthCheckStats => ({
    enabled: true,
    intervalMs: 10_000,
    instances: { probed: 7, off: 2, refused: 1 },
    markedDown: 2,
    inFlight: 3,
    probes: { healthy: 40, unhealthy: 3, timeout: 2, error: 1 },
    refusedTotal: 4,
    markedDownTotal: 5,
    markedUpTotal: 3,
    withheldTotal: 6,
    valve: { engaged: true, since: 1, probes: 10, failures: 6, failingFraction: 0.6, threshold: 0.5, engagements: 1 },
    durations: { counts: [10, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16], sumSecs: 2.5, count: 46 },
    ...over,
  });

  it('reports probes by result, failures, durations, marks, refusals, instances and the valve', async () => {
    const clock = new ManualClock();
    const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 10 });
    let calls = 0;
    const port = { stats: () => (calls++, stats()), instance: () => undefined };
    const metrics = new ServerMetrics({ registry, clock, healthChecks: port }, { processMetrics: false });
    calls = 0;
    const s = parseProm(await metrics.text());
    expect(sample(s, `${P}health_probes_total`, { result: 'healthy' })).toBe(40);
    expect(sample(s, `${P}health_probes_total`, { result: 'timeout' })).toBe(2);
    expect(sample(s, `${P}health_probe_failures_total`)).toBe(6);
    expect(sample(s, `${P}health_probe_duration_seconds_bucket`, { le: '0.001' })).toBe(10);
    expect(sample(s, `${P}health_probe_duration_seconds_bucket`, { le: '0.0025' })).toBe(30);
    expect(sample(s, `${P}health_probe_duration_seconds_bucket`, { le: '+Inf' })).toBe(46);
    expect(sample(s, `${P}health_probe_duration_seconds_sum`)).toBe(2.5);
    expect(sample(s, `${P}health_marked_down_total`)).toBe(5);
    expect(sample(s, `${P}health_marked_up_total`)).toBe(3);
    expect(sample(s, `${P}health_withheld_total`)).toBe(6);
    expect(sample(s, `${P}health_refused_total`)).toBe(4);
    expect(sample(s, `${P}health_instances`, { state: 'probed' })).toBe(7);
    expect(sample(s, `${P}health_instances`, { state: 'refused' })).toBe(1);
    expect(sample(s, `${P}health_marked_down_instances`)).toBe(2);
    expect(sample(s, `${P}health_probes_in_flight`)).toBe(3);
    expect(sample(s, `${P}health_valve_engaged`)).toBe(1);
    expect(sample(s, `${P}health_valve_failing_fraction`)).toBe(0.6);
    expect(sample(s, `${P}health_valve_engagements_total`)).toBe(1);
    // The stats walk the probed instances: read once per scrape.
    expect(calls).toBe(1);
    metrics.close();
  });

  it('has no health-check series on a server that does not run them', async () => {
    const clock = new ManualClock();
    const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 10 });
    const metrics = new ServerMetrics({ registry, clock, healthChecks: { stats: () => stats({ enabled: false }), instance: () => undefined } }, { processMetrics: false });
    expect(parseProm(await metrics.text()).filter((x) => x.name.startsWith(`${P}health_`))).toEqual([]);
    metrics.close();
  });
});
