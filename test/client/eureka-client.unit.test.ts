// EurekaClient against a fake Eureka (an axios adapter) on a manual clock and scheduler: request shapes, retries
// with backoff, heartbeat 404 → re-register, full fetch / delta / hashcode reconcile, failover and quarantine, the
// cached registry while every server is down, status and metadata changes, deregistration, lookups.
import { EurekaClient, EurekaClientOptions, EurekaRegistrationError, backoff } from '../../src/client/eureka-client';
import { silentClientLogger } from '../../src/client/logger';
import { ManualClock } from '../../src/domain/clock';
import { ManualScheduler, settle } from '../helpers/replication-scheduler';
import { applicationsJson, FakeAnswer, FakeEureka, FakeRequest, seededRandom, Spec } from './helpers';

const A = 'http://eureka-a:8761/eureka/';
const B = 'http://eureka-b:8761/eureka/';
const C = 'http://eureka-c:8761/eureka/';
const ZONES = { region: 'r', zones: { 'zone-a': [A], 'zone-b': [B], 'zone-c': [C] } };

/** A fake registry the fake servers serve: full documents, deltas, registrations and heartbeats. */
class FakeRegistry {
  instances: Spec[] = [];
  delta: Spec[] = [];
  version = 1;
  /** Overrides the delta's hashcode (to force a mismatch). */
  deltaHashcode: string | undefined;
  deltaStatus = 200;
  registered = new Map<string, Record<string, unknown>>();
  down = new Set<string>();

  handle = (req: FakeRequest): FakeAnswer => {
    if (this.down.has(req.server)) return { error: 'ECONNREFUSED' };
    if (req.method === 'GET' && req.path === 'apps/') return { status: 200, body: applicationsJson(this.instances, { version: this.version }) };
    if (req.method === 'GET' && req.path === 'apps/delta') {
      if (this.deltaStatus !== 200) return { status: this.deltaStatus };
      return { status: 200, body: applicationsJson(this.delta, { version: ++this.version, hashOver: this.instances, hashcode: this.deltaHashcode }) };
    }
    if (req.method === 'POST') {
      const body = JSON.parse(req.body ?? '{}').instance as Record<string, unknown>;
      this.registered.set(`${body.app}/${body.instanceId}`, body);
      return { status: 204 };
    }
    if (req.method === 'PUT') {
      const key = decodeURIComponent(req.path.slice('apps/'.length).split('?')[0]);
      return { status: this.registered.has(key) ? 200 : 404 };
    }
    if (req.method === 'DELETE') {
      const key = decodeURIComponent(req.path.slice('apps/'.length));
      return { status: this.registered.delete(key) ? 200 : 404 };
    }
    return { status: 404 };
  };
}

let clients: EurekaClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  clients = [];
});

function setup(options: Partial<EurekaClientOptions> = {}, servers: readonly string[] = [A, B, C]) {
  const clock = new ManualClock(1_000_000);
  const scheduler = new ManualScheduler(clock);
  const registry = new FakeRegistry();
  const fake = new FakeEureka(registry.handle, servers);
  const client = new EurekaClient({
    instance: { app: 'orders', hostName: 'orders-1.local', ipAddr: '10.0.0.7', port: 8080, metadata: { version: '1.2' } },
    servers: ZONES,
    zone: 'zone-a',
    registryFetchIntervalMs: 1000,
    heartbeatIntervalMs: 500,
    quarantineMs: 5000,
    registerRetry: { maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 1000 },
    clock,
    scheduler,
    logger: silentClientLogger,
    random: seededRandom(1),
    http: fake.http,
    ...options,
  });
  clients.push(client);
  return { clock, scheduler, registry, fake, client };
}

describe('EurekaClient registration', () => {
  it('registers the instance in the Java client shape, own zone first, and succeeds on 204', async () => {
    const { client, fake, registry } = setup();
    await client.start();
    const [post] = fake.sent('POST');
    expect(post.server).toBe(A);
    expect(post.path).toBe('apps/ORDERS');
    expect(post.headers['content-type']).toBe('application/json');
    const body = JSON.parse(post.body ?? '').instance;
    expect(body).toMatchObject({
      instanceId: 'orders-1.local:orders:8080',
      hostName: 'orders-1.local',
      app: 'ORDERS',
      ipAddr: '10.0.0.7',
      status: 'UP',
      overriddenStatus: 'UNKNOWN',
      port: { $: 8080, '@enabled': 'true' },
      securePort: { $: 443, '@enabled': 'false' },
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 },
      metadata: { version: '1.2', zone: 'zone-a' },
      vipAddress: 'orders',
      lastDirtyTimestamp: '1000000',
    });
    expect(registry.registered.size).toBe(1);
    expect(client.instanceId).toBe('orders-1.local:orders:8080');
    // Initial full fetch, JSON and gzip.
    const [get] = fake.sent('GET');
    expect(get.path).toBe('apps/');
    expect(get.headers['accept']).toBe('application/json');
    expect(get.headers['accept-encoding']).toBe('gzip');
  });

  it('retries a failed registration with exponential backoff and jitter; only 204 counts', async () => {
    const { client, fake, registry, scheduler } = setup();
    // Attempt 1: 500 from A, B and C (server failures move on); attempt 2: 200 from A (not a server failure, not
    // a success either); attempt 3: 400; attempt 4: 204.
    const answers = [500, 500, 500, 200, 400];
    fake.handler = (req) => (req.method === 'POST' && answers.length > 0 ? { status: answers.shift() as number } : registry.handle(req));
    const registered = jest.fn();
    client.on('registered', registered);
    const started = client.start();
    await settle();
    expect(fake.sent('POST').map((r) => r.server)).toEqual([A, B, C]);
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      delays.push(scheduler.delays()[0]);
      await scheduler.advance(scheduler.delays()[0]);
    }
    await started;
    expect(registered).toHaveBeenCalledTimes(1);
    expect(fake.sent('POST')).toHaveLength(6);
    // Backoff within [ceiling/2, ceiling] for ceilings 100, 200, 400.
    expect(delays[0]).toBeGreaterThanOrEqual(50);
    expect(delays[0]).toBeLessThanOrEqual(100);
    expect(delays[1]).toBeGreaterThanOrEqual(100);
    expect(delays[1]).toBeLessThanOrEqual(200);
    expect(delays[2]).toBeGreaterThanOrEqual(200);
    expect(delays[2]).toBeLessThanOrEqual(400);
  });

  it('start() rejects after maxAttempts, and the client registers once a heartbeat reaches a server', async () => {
    const { client, fake, registry, scheduler } = setup({ registerRetry: { maxAttempts: 2, initialDelayMs: 100 } });
    for (const s of [A, B, C]) registry.down.add(s);
    const started = client.start();
    const rejected = expect(started).rejects.toBeInstanceOf(EurekaRegistrationError);
    await scheduler.advance(200);
    await rejected;
    expect(client.running).toBe(true);
    registry.down.clear();
    await scheduler.advance(5000); // quarantine over; next heartbeat: 404 → register
    expect(fake.sent('PUT').length).toBeGreaterThan(0);
    expect(registry.registered.size).toBe(1);
  });

  it('heartbeats with status and lastDirtyTimestamp; re-registers on 404', async () => {
    const { client, fake, registry, scheduler } = setup();
    await client.start();
    await scheduler.advance(500);
    const [put] = fake.sent('PUT');
    expect(put.path).toBe('apps/ORDERS/orders-1.local%3Aorders%3A8080?status=UP&lastDirtyTimestamp=1000000');
    expect(client.stats.heartbeats).toBe(1);
    registry.registered.clear(); // the server forgot the instance
    await scheduler.advance(500);
    expect(fake.sent('POST')).toHaveLength(2);
    expect(registry.registered.size).toBe(1);
  });

  it('setStatus and setMetadata re-register with a newer lastDirtyTimestamp', async () => {
    const { client, registry, clock } = setup();
    await client.start();
    const key = 'ORDERS/orders-1.local:orders:8080';
    expect(await client.setStatus('DOWN')).toBe(true);
    expect(registry.registered.get(key)).toMatchObject({ status: 'DOWN', lastDirtyTimestamp: '1000001' });
    clock.advance(10);
    expect(await client.setMetadata({ version: '1.3', extra: 'x' })).toBe(true);
    expect(registry.registered.get(key)).toMatchObject({ status: 'DOWN', lastDirtyTimestamp: '1000010', metadata: { version: '1.3', extra: 'x', zone: 'zone-a' } });
    await client.setMetadata({ extra: undefined });
    expect(registry.registered.get(key)?.metadata).toEqual({ version: '1.3', zone: 'zone-a' });
    await expect(client.setStatus('SIDEWAYS' as never)).rejects.toThrow(/not an instance status/);
  });

  it('stop() deregisters, emits deregistered and makes no further requests', async () => {
    const { client, fake, registry, scheduler } = setup();
    await client.start();
    const deregistered = jest.fn();
    client.on('deregistered', deregistered);
    await client.stop();
    expect(fake.sent('DELETE').map((r) => r.path)).toEqual(['apps/ORDERS/orders-1.local%3Aorders%3A8080']);
    expect(registry.registered.size).toBe(0);
    expect(deregistered).toHaveBeenCalledTimes(1);
    const count = fake.requests.length;
    await scheduler.advance(10_000);
    expect(fake.requests).toHaveLength(count);
    expect(scheduler.pending).toBe(0);
    await client.stop(); // idempotent
  });

  it('a client that only fetches sends no registration, heartbeat or cancel', async () => {
    const { client, fake, scheduler } = setup({ shouldRegister: false, instance: undefined });
    await client.start();
    await scheduler.advance(3000);
    await client.stop();
    expect(fake.requests.every((r) => r.method === 'GET')).toBe(true);
    expect(() => new EurekaClient({ servers: [A] })).toThrow(/instance/);
  });
});

describe('EurekaClient registry fetches', () => {
  it('fetches the full registry first, then deltas that keep the hashcode', async () => {
    const { client, fake, registry, scheduler } = setup();
    registry.instances = [{ id: 'o-1' }, { id: 'o-2' }, { id: 'b-1', app: 'billing' }];
    await client.start();
    expect(client.getInstancesByAppId('orders').map((i) => i.id)).toEqual(['o-1', 'o-2']);
    expect(client.lastSuccessfulFetchAt).toBe(1_000_000);
    const added = jest.fn();
    const removed = jest.fn();
    const status = jest.fn();
    client.on('instanceAdded', added).on('instanceRemoved', removed).on('statusChanged', status);
    // o-3 added, o-1 down, b-1 deleted.
    registry.instances = [{ id: 'o-1', status: 'DOWN' }, { id: 'o-2' }, { id: 'o-3' }];
    registry.delta = [{ id: 'o-3', actionType: 'ADDED' }, { id: 'o-1', status: 'DOWN', actionType: 'MODIFIED', lastDirtyTimestamp: 2 }, { id: 'b-1', app: 'billing', actionType: 'DELETED' }];
    await scheduler.advance(1000);
    expect(fake.sent('GET').map((r) => r.path)).toEqual(['apps/', 'apps/delta']);
    expect(client.stats).toMatchObject({ fullFetches: 1, deltaFetches: 1, reconciliations: 0 });
    expect(client.getInstancesByAppId('orders').map((i) => i.id)).toEqual(['o-2', 'o-3']);
    expect(client.getInstancesByAppId('orders', { status: 'any' }).map((i) => `${i.id}:${i.status}`)).toEqual(['o-1:DOWN', 'o-2:UP', 'o-3:UP']);
    expect(added.mock.calls.map(([i]) => i.id)).toEqual(['o-3']);
    expect(removed.mock.calls.map(([i]) => i.id)).toEqual(['b-1']);
    expect(status.mock.calls.map(([i, previous]) => `${i.id}:${previous}→${i.status}`)).toEqual(['o-1:UP→DOWN']);
    expect(client.registry.hashcode()).toBe('DOWN_1_UP_2_');
  });

  it('falls back to a full fetch when the hashcode does not match after a delta', async () => {
    const { client, fake, registry, scheduler } = setup();
    registry.instances = [{ id: 'o-1' }];
    await client.start();
    // The server holds o-2, but the delta does not carry it (e.g. it fell out of the delta window).
    registry.instances = [{ id: 'o-1' }, { id: 'o-2' }];
    registry.delta = [];
    const updates: string[] = [];
    client.on('registryUpdated', (u) => updates.push(`${u.kind}/${u.reason}`));
    await scheduler.advance(1000);
    expect(fake.sent('GET').map((r) => r.path)).toEqual(['apps/', 'apps/delta', 'apps/']);
    expect(updates).toEqual(['full/reconcile']);
    expect(client.stats.reconciliations).toBe(1);
    expect(client.getInstancesByAppId('ORDERS').map((i) => i.id)).toEqual(['o-1', 'o-2']);
  });

  it('falls back to a full fetch when the server gives no delta (403)', async () => {
    const { client, fake, registry, scheduler } = setup();
    registry.instances = [{ id: 'o-1' }];
    await client.start();
    registry.deltaStatus = 403;
    await scheduler.advance(1000);
    expect(fake.sent('GET').map((r) => `${r.server === A ? 'A' : r.server} ${r.path}`)).toEqual(['A apps/', 'A apps/delta', 'A apps/']);
  });

  it('keeps serving the last registry while every server is down, reports its age and backs off', async () => {
    const { client, fake, registry, scheduler } = setup();
    registry.instances = [{ id: 'o-1' }, { id: 'o-2' }];
    await client.start();
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    for (const s of [A, B, C]) registry.down.add(s);
    await scheduler.advance(1000);
    expect(errors.at(-1)?.message).toMatch(/no Eureka server answered/);
    expect(client.registryAgeMs()).toBe(1000);
    expect(client.getInstancesByAppId('ORDERS')).toHaveLength(2);
    expect(client.chooseInstance('orders')?.id).toBe('o-1');
    const before = fake.sent('GET').length;
    await scheduler.advance(2000); // next refresh after 2 × interval
    expect(fake.sent('GET').length - before).toBe(3); // one attempt, three servers
    expect(client.registryAgeMs()).toBe(3000);
    registry.down.clear();
    await scheduler.advance(4000); // then after 4 × interval
    expect(client.registryAgeMs()).toBe(0);
  });
});

describe('EurekaClient server choice', () => {
  it('fails over to the next zone on a network error, quarantines, and returns to its own zone afterwards', async () => {
    const { client, fake, registry, scheduler } = setup();
    await client.start();
    expect(client.currentServer()?.url).toBe(A);
    registry.down.add(A);
    await scheduler.advance(500); // heartbeat: A refused → B
    expect(fake.sent('PUT').map((r) => r.server)).toEqual([A, B]);
    expect(client.currentServer()).toEqual({ url: B, zone: 'zone-b' });
    await scheduler.advance(500); // A is quarantined: straight to B
    expect(fake.sent('PUT').map((r) => r.server)).toEqual([A, B, B]);
    registry.down.delete(A);
    await scheduler.advance(4500); // quarantine (5 s from the failure) over → A again
    expect(fake.sent('PUT').at(-1)?.server).toBe(A);
    expect(client.currentServer()?.url).toBe(A);
  });

  it('tries at most maxServersPerRequest servers; 5xx moves on, 4xx does not', async () => {
    const { client, fake, registry, scheduler } = setup({ maxServersPerRequest: 2 });
    await client.start();
    registry.down.add(A);
    registry.down.add(B);
    await scheduler.advance(500);
    expect(fake.sent('PUT').map((r) => r.server)).toEqual([A, B]);
    expect(client.stats.heartbeatFailures).toBe(1);
    registry.down.clear();
    await scheduler.advance(5000);
    fake.handler = (req) => (req.method === 'PUT' ? { status: 400 } : registry.handle(req));
    const before = fake.sent('PUT').length;
    await scheduler.advance(500);
    expect(fake.sent('PUT').slice(before).map((r) => r.server)).toEqual([A]);
  });
});

describe('EurekaClient lookups', () => {
  async function withRegistry(specs: Spec[], zone = 'zone-a') {
    const s = setup({ zone });
    s.registry.instances = specs;
    await s.client.start();
    return s.client;
  }

  it('returns UP instances unless asked; filters by zone and metadata; VIPs case-insensitively', async () => {
    const client = await withRegistry([
      { id: 'o-1', metadata: { zone: 'zone-a', canary: 'true' } },
      { id: 'o-2', status: 'DOWN', metadata: { zone: 'zone-a' } },
      { id: 'o-3', status: 'OUT_OF_SERVICE', metadata: { zone: 'zone-b' } },
      { id: 'o-4', status: 'STARTING', metadata: { zone: 'zone-b' } },
      { id: 'o-5', metadata: { zone: 'zone-b' }, vip: 'orders,orders-v2' },
    ]);
    expect(client.getInstancesByAppId('orders').map((i) => i.id)).toEqual(['o-1', 'o-5']);
    expect(client.getInstancesByAppId('orders', { status: ['UP', 'DOWN'] }).map((i) => i.id)).toEqual(['o-1', 'o-2', 'o-5']);
    expect(client.getInstancesByAppId('orders', { zone: 'zone-b' }).map((i) => i.id)).toEqual(['o-5']);
    expect(client.getInstancesByAppId('orders', { metadata: { canary: 'true' } }).map((i) => i.id)).toEqual(['o-1']);
    expect(client.getInstancesByVipAddress('ORDERS-V2').map((i) => i.id)).toEqual(['o-5']);
    expect(client.getInstancesByVipAddress('orders', { status: 'any' })).toHaveLength(5);
    expect(client.getApplications()).toEqual(['ORDERS']);
  });

  it('chooseInstance never returns a non-UP instance unless asked, and looks VIPs up when no app matches', async () => {
    const client = await withRegistry([
      { id: 'o-1', status: 'DOWN' },
      { id: 'o-2', status: 'OUT_OF_SERVICE' },
      { id: 'p-1', app: 'payments', vip: 'pay.vip' },
    ]);
    for (const strategy of ['round-robin', 'random', 'weighted', 'zone-aware'] as const) {
      for (let i = 0; i < 10; i++) expect(client.chooseInstance('orders', { strategy })).toBeUndefined();
    }
    expect(client.chooseInstance('orders', { status: 'DOWN' })?.id).toBe('o-1');
    expect(client.chooseInstance('pay.vip')?.id).toBe('p-1');
    expect(client.chooseInstance('payments', { byVip: true })).toBeUndefined();
    expect(client.chooseInstance('nothing')).toBeUndefined();
  });

  it('zone-aware prefers the own zone and moves to other zones when it has no UP instance', async () => {
    const client = await withRegistry([
      { id: 'a-1', metadata: { zone: 'zone-a' } },
      { id: 'a-2', status: 'DOWN', metadata: { zone: 'zone-a' } },
      { id: 'b-1', metadata: { zone: 'zone-b' } },
    ]);
    expect(new Set(Array.from({ length: 6 }, () => client.chooseInstance('orders', { strategy: 'zone-aware' })?.id))).toEqual(new Set(['a-1']));
    expect(new Set(Array.from({ length: 6 }, () => client.chooseInstance('orders', { strategy: 'round-robin' })?.id))).toEqual(new Set(['a-1', 'b-1']));
  });
});

describe('backoff', () => {
  it('doubles up to the bound, with jitter between half and all of it', () => {
    expect(backoff(1, 100, 1000, () => 0)).toBe(50);
    expect(backoff(1, 100, 1000, () => 0.999999)).toBeCloseTo(100, 2);
    expect(backoff(3, 100, 1000, () => 0)).toBe(200);
    expect(backoff(10, 100, 1000, () => 0)).toBe(500);
  });
});
