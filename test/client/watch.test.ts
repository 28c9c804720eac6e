// EurekaClient's registry watch against small protocol-speaking servers on 127.0.0.1: the long-poll delta when a
// server advertises it, interval polling when it does not, full fetches on 410 and on another server identity,
// failover and the return to the own zone while watching, stop() during a parked watch, no spinning against a
// server that ignores `wait`; and the header and request helpers of src/client/watch.ts.
import { EurekaClient, EurekaClientOptions, RegistryUpdate } from '../../src/client/eureka-client';
import { RegistryInstance } from '../../src/client/instance';
import { silentClientLogger } from '../../src/client/logger';
import { MIN_EMPTY_WATCH_INTERVAL_MS, registryIdentity, retryAfterMs, waitParam, watchPath, watchTimeoutMs } from '../../src/client/watch';
import { ManualClock } from '../../src/domain/clock';
import { ManualScheduler } from '../helpers/replication-scheduler';
import { waitFor } from '../helpers/wait';
import { nextEmitted } from './helpers';
import { WatchServer, WatchServerOptions } from './watch-server';

let servers: WatchServer[] = [];
let clients: EurekaClient[] = [];

afterEach(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  clients = [];
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function server(options: WatchServerOptions = { instances: [{ id: 'o-1' }] }): Promise<WatchServer> {
  const s = await WatchServer.start(options);
  servers.push(s);
  return s;
}

/**
 * A fetch-only client. The poll interval is a minute, far beyond every deadline here, so a change that arrives
 * within a test's deadline arrived by the watch.
 */
function client(servers: EurekaClientOptions['servers'], options: Partial<EurekaClientOptions> = {}): EurekaClient {
  const c = new EurekaClient({
    servers,
    shouldRegister: false,
    registryFetchIntervalMs: 60_000,
    watchWaitMs: 20_000,
    requestTimeoutMs: 2000,
    quarantineMs: 60_000,
    logger: silentClientLogger,
    ...options,
  });
  clients.push(c);
  return c;
}

const ids = (instances: readonly RegistryInstance[]): string[] => instances.map((i) => i.id);
const added = (id: string) => (i: RegistryInstance) => i.id === id;

describe('EurekaClient', () => {
  describe('watch', () => {
    it('long-polls the delta after the full fetch when the server advertises it, and reports a change at once', async () => {
      const s = await server();
      const c = client([s.url]);
      await c.start();
      await waitFor(() => s.parkedCount === 1, 'the watch to park');
      expect(s.requests).toEqual(['apps/', 'apps/delta?since=0&wait=20s']);
      const updates: RegistryUpdate[] = [];
      c.on('registryUpdated', (u) => updates.push(u));
      const arrival = nextEmitted<[RegistryInstance]>(c, 'instanceAdded', 'o-2 to arrive by the watch', added('o-2'));
      s.put({ id: 'o-2' });
      await arrival;
      expect(ids(c.getInstancesByAppId('ORDERS'))).toEqual(['o-1', 'o-2']);
      expect(updates.map((u) => `${u.kind}/${u.reason}`)).toEqual(['delta/delta']);
      await waitFor(() => s.parkedCount === 1, 'the next watch to park');
      expect(s.watchRequests.at(-1)).toBe('apps/delta?since=1&wait=20s');
      const removal = nextEmitted<[RegistryInstance]>(c, 'instanceRemoved', 'o-1 to leave by the watch', added('o-1'));
      s.remove('o-1');
      await removal;
      expect(c.stats).toMatchObject({ fullFetches: 1, watchAnswers: 2, watchResets: 0, watchFailures: 0, reconciliations: 0, fetchFailures: 0 });
      expect(c.registry.hashcode()).toBe('UP_1_');
    });

    it('gives a watch request the wait plus jitter plus the request timeout before it times out', async () => {
      const s = await server();
      const c = client([s.url], { requestTimeoutMs: 1000, watchWaitMs: 2500 });
      await c.start();
      // The server holds the watch for 2.5 s, well over the regular request timeout, then answers it empty.
      await waitFor(() => c.stats.watchAnswers >= 1, 'the watch answered empty after its wait');
      expect(c.stats.watchFailures).toBe(0);
      expect(watchTimeoutMs(2500, 1000)).toBe(2500 + 157 + 1000);
    });

    it('fetches the full registry when a watched delta does not reconcile with the server hashcode', async () => {
      const s = await server();
      const c = client([s.url]);
      await c.start();
      await waitFor(() => s.parkedCount === 1, 'the watch to park');
      const updates: RegistryUpdate[] = [];
      c.on('registryUpdated', (u) => updates.push(u));
      // o-9 appears without a logged change, so the next watched delta cannot reconcile.
      s.instances.set('o-9', { id: 'o-9', status: 'DOWN' });
      s.put({ id: 'o-2' });
      await waitFor(() => updates.length > 0, 'the reconcile');
      expect(updates.map((u) => `${u.kind}/${u.reason}`)).toEqual(['full/reconcile']);
      expect(ids(c.getInstancesByAppId('ORDERS', { status: 'any' }))).toEqual(['o-1', 'o-2', 'o-9']);
      expect(c.stats).toMatchObject({ reconciliations: 1, fullFetches: 2, watchResets: 0 });
      await waitFor(() => s.parkedCount === 1 && s.watchRequests.at(-1) === 'apps/delta?since=1&wait=20s', 'the watch to go on from the new copy');
    });

    it('polls on the interval, without since or wait, against a server that sends no X-Registry headers', async () => {
      const s = await server({ advertise: false, instances: [{ id: 'o-1' }] });
      const c = client([s.url], { registryFetchIntervalMs: 50 });
      await c.start();
      await waitFor(() => s.requests.filter((p) => p === 'apps/delta').length >= 3, 'three interval deltas');
      s.put({ id: 'o-2' });
      await waitFor(() => c.getInstancesByAppId('ORDERS').length === 2, 'o-2 by a polled delta');
      expect(s.requests.every((p) => p === 'apps/' || p === 'apps/delta')).toBe(true);
      expect(s.requests.filter((p) => p === 'apps/')).toHaveLength(1);
      expect(c.stats).toMatchObject({ watchAnswers: 0, watchResets: 0, watchFailures: 0, fullFetches: 1 });
    });

    it('polls on the interval when watch is false, even against a server that advertises it', async () => {
      const s = await server();
      const c = client([s.url], { registryFetchIntervalMs: 50, watch: false });
      await c.start();
      await waitFor(() => s.requests.filter((p) => p === 'apps/delta').length >= 3, 'three interval deltas');
      expect(s.watchRequests).toEqual([]);
      expect(c.stats.watchAnswers).toBe(0);
    });

    it('fetches the full registry and watches on from its revision when the server answers 410', async () => {
      const s = await server();
      const c = client([s.url]);
      await c.start();
      await waitFor(() => s.parkedCount === 1, 'the watch to park');
      const updates: RegistryUpdate[] = [];
      c.on('registryUpdated', (u) => updates.push(u));
      const arrival = nextEmitted<[RegistryInstance]>(c, 'instanceAdded', 'o-2 to arrive by a full fetch', added('o-2'));
      // The server's log forgets everything before this change: the parked watch (since 0) is answered 410.
      s.put({ id: 'o-2' }, { compact: true });
      await arrival;
      expect(updates.map((u) => `${u.kind}/${u.reason}`)).toEqual(['full/watch-reset']);
      expect(c.stats).toMatchObject({ fullFetches: 2, watchResets: 1, watchFailures: 0 });
      await waitFor(() => s.parkedCount === 1 && s.watchRequests.at(-1) === 'apps/delta?since=1&wait=20s', 'the watch to go on from revision 1');
      const next = nextEmitted<[RegistryInstance]>(c, 'instanceAdded', 'o-3 to arrive by the watch', added('o-3'));
      s.put({ id: 'o-3' });
      await next;
      expect(c.stats.fullFetches).toBe(2);
    });

    it('fetches the full registry when an answer comes from another server process', async () => {
      const s = await server();
      const c = client([s.url]);
      await c.start();
      await waitFor(() => s.parkedCount === 1, 'the watch to park');
      const updates: RegistryUpdate[] = [];
      c.on('registryUpdated', (u) => updates.push(u));
      s.instances.set('o-2', { id: 'o-2' });
      // A new process answers the parked watch, empty, at a revision above the client's: only its identity differs.
      s.restart();
      await waitFor(() => updates.length > 0, 'a full fetch');
      expect(updates.map((u) => `${u.kind}/${u.reason}`)).toEqual(['full/watch-reset']);
      expect(ids(c.getInstancesByAppId('ORDERS'))).toEqual(['o-1', 'o-2']);
      expect(c.stats).toMatchObject({ fullFetches: 2, watchResets: 1, watchAnswers: 0 });
      await waitFor(() => s.parkedCount === 1 && s.watchRequests.at(-1) === 'apps/delta?since=100&wait=20s', 'the watch to go on from the new process revision');
    });

    it('fails over to the next zone when its server goes away, and watches there', async () => {
      const a = await server();
      const b = await server();
      b.put({ id: 'o-1' }); // b is at revision 1 with the same registry: the client must not carry a's revision over
      const c = client({ region: 'r', zones: { 'zone-a': [a.url], 'zone-b': [b.url] } }, { zone: 'zone-a' });
      await c.start();
      await waitFor(() => a.parkedCount === 1, 'the watch to park at zone a');
      await a.close();
      await waitFor(() => b.parkedCount === 1, 'the watch to move to zone b');
      expect(b.requests).toEqual(['apps/', 'apps/delta?since=1&wait=20s']);
      expect(c.currentServer()?.url).toBe(b.url);
      expect(c.servers.isQuarantined(a.url)).toBe(true);
      expect(c.stats).toMatchObject({ watchFailures: 1, watchResets: 1, fullFetches: 2 });
      const arrival = nextEmitted<[RegistryInstance]>(c, 'instanceAdded', 'o-2 to arrive by the watch at zone b', added('o-2'));
      b.put({ id: 'o-2' });
      await arrival;
    });

    it('moves its watch back to the own zone once the quarantine of its server ends', async () => {
      const a = await server();
      const b = await server();
      const c = client({ region: 'r', zones: { 'zone-a': [a.url], 'zone-b': [b.url] } }, { zone: 'zone-a', quarantineMs: 300, watchWaitMs: 400 });
      await c.start();
      await waitFor(() => a.parkedCount === 1, 'the watch to park at zone a');
      a.failWatches.push(503);
      a.put({ id: 'o-2' }); // answers the parked watch; the next one is answered 503
      await waitFor(() => b.watchRequests.length >= 1, 'the watch to fail over to zone b');
      expect(c.servers.isQuarantined(a.url)).toBe(true);
      expect(ids(c.getInstancesByAppId('ORDERS'))).toEqual(['o-1']); // b's registry, by a full fetch: b never had o-2
      // The quarantine ends while b holds the watch; after b answers, the client goes home with a full fetch.
      await waitFor(() => a.parkedCount === 1 && a.requests.filter((p) => p === 'apps/').length === 2, 'the watch to return to zone a', 10_000);
      expect(ids(c.getInstancesByAppId('ORDERS'))).toEqual(['o-1', 'o-2']);
      const arrival = nextEmitted<[RegistryInstance]>(c, 'instanceAdded', 'o-3 to arrive by the watch at zone a', added('o-3'));
      a.put({ id: 'o-3' });
      await arrival;
      expect(c.currentServer()?.url).toBe(a.url);
    });

    it('polls on its interval after two failed watches in a row, and watches again after a backoff honouring Retry-After', async () => {
      const s = await server();
      const clock = new ManualClock(1_000_000);
      const scheduler = new ManualScheduler(clock);
      const c = client([s.url], { clock, scheduler, registryFetchIntervalMs: 400, quarantineMs: 1 });
      s.failWatches.push(429, 429);
      await c.start();
      // First 429: a full fetch (the only server, quarantined or not) and a new watch; second 429: polling.
      await waitFor(() => s.watchRequests.length === 2 && scheduler.pending === 1, 'the second refusal and a poll timer');
      expect(scheduler.delays()).toEqual([400]);
      expect(c.stats).toMatchObject({ watchFailures: 2, watchResets: 1, fullFetches: 2 });
      expect(c.watchState()).toBeUndefined();
      await scheduler.advance(400);
      await waitFor(() => s.requests.at(-1) === 'apps/delta' && scheduler.pending === 1, 'a plain delta on the interval');
      await scheduler.advance(400);
      await waitFor(() => s.requests.at(-1) === 'apps/delta' && s.requests.filter((p) => p === 'apps/delta').length === 2 && scheduler.pending === 1, 'a second plain delta');
      // Retry-After (1 s) is past: the next poll is a full fetch, a basis for the watch, which resumes.
      await scheduler.advance(400);
      await waitFor(() => s.parkedCount === 1, 'the watch to resume');
      expect(s.requests.filter((p) => p === 'apps/')).toHaveLength(3);
      expect(c.watchState()).toMatchObject({ server: s.url, serverId: s.token, revision: 0 });
    });

    it('stop() ends a parked watch at once', async () => {
      const s = await server();
      const c = client([s.url], { watchWaitMs: 120_000 });
      await c.start();
      await waitFor(() => s.parkedCount === 1, 'the watch to park');
      // The wait is two minutes: stop() resolving within the test's deadline means the watch was aborted.
      await c.stop();
      expect(c.running).toBe(false);
      await waitFor(() => s.parkedCount === 0, 'the server to see the watch go');
      expect(s.watchRequests).toHaveLength(1);
    });

    it('waits between watch requests that bring nothing when the server ignores the wait', async () => {
      const s = await server();
      s.ignoreWait = true;
      const clock = new ManualClock(1_000_000);
      const scheduler = new ManualScheduler(clock);
      const c = client([s.url], { clock, scheduler });
      await c.start();
      // The immediate empty answer leaves the client waiting for its timer, and nothing else.
      await waitFor(() => s.watchRequests.length === 1 && c.stats.watchAnswers === 1 && scheduler.pending === 1, 'the first empty answer');
      expect(scheduler.delays()).toEqual([MIN_EMPTY_WATCH_INTERVAL_MS]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(s.watchRequests).toHaveLength(1);
      await scheduler.advance(MIN_EMPTY_WATCH_INTERVAL_MS);
      await waitFor(() => s.watchRequests.length === 2 && c.stats.watchAnswers === 2 && scheduler.pending === 1, 'the second empty answer');
      expect(scheduler.delays()).toEqual([MIN_EMPTY_WATCH_INTERVAL_MS]);
      // A change is still taken at once, and the wait applies only after answers that bring nothing.
      s.put({ id: 'o-2' });
      await scheduler.advance(MIN_EMPTY_WATCH_INTERVAL_MS);
      await waitFor(() => c.getInstancesByAppId('ORDERS').length === 2 && s.watchRequests.length === 4, 'o-2, then the next watch at once');
    });
  });
});

describe('registryIdentity', () => {
  it('reads revision, server and the delta watch from the headers', () => {
    expect(registryIdentity({ 'x-registry-revision': '42', 'x-registry-server': 'abc', 'x-registry-watch': 'delta, events' })).toEqual({ revision: 42, server: 'abc', watchesDelta: true });
    expect(registryIdentity({ 'x-registry-revision': '0', 'x-registry-server': 'abc', 'x-registry-watch': 'events' })).toEqual({ revision: 0, server: 'abc', watchesDelta: false });
  });

  it('reads nothing from a stock Eureka answer or malformed values', () => {
    expect(registryIdentity({})).toEqual({ revision: undefined, server: undefined, watchesDelta: false });
    expect(registryIdentity({ 'x-registry-revision': '-1', 'x-registry-server': ' ' }).revision).toBeUndefined();
    expect(registryIdentity({ 'x-registry-revision': '1e3' }).revision).toBeUndefined();
  });
});

describe('watchPath', () => {
  it('asks for whole seconds as seconds and anything else in ms', () => {
    expect(watchPath(7, 30_000)).toBe('apps/delta?since=7&wait=30s');
    expect(waitParam(1500)).toBe('1500ms');
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and ignores dates and garbage', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs('Wed, 21 Oct 2026 07:28:00 GMT')).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});
