// The watch across three real zone servers on 127.0.0.1: a long-poll and an event stream see a registration made on
// another zone, a stopping server answers its watchers rather than cutting them off, and a restarted server has a new
// X-Registry-Server token and refuses revisions of its earlier life (410).
import { APP, Cluster, http } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';
import { EventStreamClient, PendingRequest, startRequest } from '../helpers/watch-client';

const A = 0;
const B = 1;
const C = 2;
const JSON_ACCEPT = { accept: 'application/json' };
// Replication on 127.0.0.1 takes milliseconds; the deadline only bounds a broken run.
const DEADLINE_MS = 15_000;

let cluster: Cluster;
let requests: PendingRequest[] = [];
let streams: EventStreamClient[] = [];

beforeEach(async () => {
  cluster = await Cluster.started({ size: 3 });
});

afterEach(async () => {
  for (const r of requests) r.drop();
  for (const s of streams) s.close();
  requests = [];
  streams = [];
  await cluster.close();
});

/** GET /eureka/apps on server `i`: the revision and server token a watching client starts from. */
async function fullFetch(i: number): Promise<{ revision: number; server: string; hashcode: string }> {
  const res = await http(cluster.ports[i], 'GET', '/eureka/apps');
  expect(res.status).toBe(200);
  return { revision: Number(res.headers['x-registry-revision']), server: String(res.headers['x-registry-server']), hashcode: JSON.parse(res.text).applications.apps__hashcode };
}

/** Long-polls the delta of server `i` and waits until the server holds the request parked. */
async function parkOn(i: number, since: number): Promise<PendingRequest> {
  const before = await parkedOn(i);
  const pending = startRequest(cluster.ports[i], `/eureka/apps/delta?since=${since}&wait=30s`, JSON_ACCEPT, { timeoutMs: DEADLINE_MS });
  requests.push(pending);
  await waitFor(async () => pending.answered() || (await parkedOn(i)) === before + 1, `a long-poll parked on server ${i}`, DEADLINE_MS);
  expect(pending.answered()).toBe(false);
  return pending;
}

async function parkedOn(i: number): Promise<number> {
  return JSON.parse((await http(cluster.ports[i], 'GET', '/eureka/status')).text).watch.parked;
}

async function openStream(i: number, path: string, headers: Record<string, string> = {}): Promise<EventStreamClient> {
  const stream = await EventStreamClient.open(cluster.ports[i], path, headers, DEADLINE_MS);
  streams.push(stream);
  return stream;
}

/** [instanceId, actionType] of every instance of a delta document. */
const changesOf = (text: string): [string, string][] =>
  JSON.parse(text).applications.application.flatMap((a: any) => a.instance.map((i: any) => [i.instanceId, i.actionType]));

describe('watch across zones', () => {
  describe('long-poll on the delta', () => {
    it('answers a long-poll on zone C with an instance registered on zone A', async () => {
      const start = await fullFetch(C);
      const watch = await parkOn(C, start.revision);

      expect((await cluster.client(A).register({ id: 'orders-1', durationSecs: 30 })).status).toBe(204);

      const res = await watch.response;
      expect(res.status).toBe(200);
      expect(changesOf(res.text)).toEqual([['orders-1', 'ADDED']]);
      expect(res.headers['x-registry-server']).toBe(start.server);
      const revision = Number(res.headers['x-registry-revision']);
      expect(revision).toBeGreaterThan(start.revision);
      // The client's reconcile check: the delta's hashcode is the full registry's at that revision.
      const after = await fullFetch(C);
      expect(JSON.parse(res.text).applications.apps__hashcode).toBe(after.hashcode);
      expect(after.revision).toBe(revision);
    });

    it('answers parked long-polls when the server stops (200, Connection: close) and ends its streams cleanly', async () => {
      const start = await fullFetch(C);
      const watch = startRequest(cluster.ports[C], `/eureka/apps/delta?since=${start.revision}&wait=30s`, { ...JSON_ACCEPT, connection: 'keep-alive' }, { timeoutMs: DEADLINE_MS });
      requests.push(watch);
      await waitFor(async () => (await parkedOn(C)) === 1, 'a long-poll parked on C', DEADLINE_MS);
      const stream = await openStream(C, '/eureka/watch');
      await stream.waitForEvents('ready', 1, DEADLINE_MS);

      await cluster.stop(C);

      const res = await watch.response;
      expect(res.status).toBe(200);
      expect(res.headers['connection']).toBe('close');
      expect(changesOf(res.text)).toEqual([]);
      await stream.ended;
      expect(stream.complete).toBe(true);
    });
  });

  describe('event stream', () => {
    it('delivers a registration on zone A to a stream on zone B', async () => {
      const stream = await openStream(B, `/eureka/watch?app=${APP.toLowerCase()}`);
      const [ready] = await stream.waitForEvents('ready', 1, DEADLINE_MS);
      expect(JSON.parse(ready.data as string).server).toBe(stream.headers['x-registry-server']);

      expect((await cluster.client(A).register({ id: 'orders-1', durationSecs: 30 })).status).toBe(204);

      const [change] = await stream.waitForEvents('change', 1, DEADLINE_MS);
      const data = JSON.parse(change.data as string);
      expect(data).toMatchObject({ action: 'ADDED', app: APP, instance: { instanceId: 'orders-1', status: 'UP' } });
      expect(change.id).toBe(String(data.revision));
    });
  });

  describe('a restarted server', () => {
    it('has a new X-Registry-Server token and answers 410 to a revision of its earlier life ahead of its own', async () => {
      const client = cluster.client(C);
      expect((await client.register({ id: 'orders-1', durationSecs: 30 })).status).toBe(204);
      for (let n = 0; n < 5; n++) expect((await client.setMetadata('orders-1', { n: String(n) })).status).toBe(200);
      const before = await fullFetch(C);
      // A and B hold the instance, so the restarted C copies it from them: a registry like before, a short history.
      await waitFor(async () => (await cluster.client(A).instance('orders-1'))?.metadata?.n === '4', 'orders-1 replicated to A', DEADLINE_MS);

      await cluster.restart(C);
      await cluster.server(C).ready;

      const after = await fullFetch(C);
      expect(after.server).not.toBe(before.server);
      expect(after.revision).toBeLessThan(before.revision);
      const res = await http(cluster.ports[C], 'GET', `/eureka/apps/delta?since=${before.revision}&wait=30s`);
      expect(res.status).toBe(410);
      expect(res.text).toBe('');
      expect(res.headers['x-registry-server']).toBe(after.server);
      expect(res.headers['x-registry-revision']).toBe(String(after.revision));

      const stream = await openStream(C, '/eureka/watch', { 'last-event-id': String(before.revision) });
      await stream.waitForEvents('ready', 1, DEADLINE_MS);
      expect(stream.events().map((e) => e.event)).toEqual([undefined, 'reset', 'ready']);
    });
  });
});
