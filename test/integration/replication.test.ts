// Zone replication between three real servers on 127.0.0.1 (contract §12): every client write on one zone reaches
// the others, heartbeats keep leases alive everywhere, replicated writes are never forwarded again, and a peer batch
// is applied item by item with each item's own status code.
import { RegistryEvent } from '../../src/domain/registry';
import { APP, Cluster, EurekaHttp, Heartbeats, ListedInstance } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

const A = 0;
const B = 1;
const C = 2;
const OTHERS = [B, C];

let cluster: Cluster;
let heartbeats: Heartbeats[] = [];

beforeEach(async () => {
  cluster = await Cluster.started({ size: 3 });
});

afterEach(async () => {
  await Promise.all(heartbeats.map((h) => h.stop()));
  heartbeats = [];
  await cluster.close();
});

const client = (i: number): EurekaHttp => cluster.client(i);

function beat(i: number, ids: readonly string[], periodMs = 200): Heartbeats {
  const h = new Heartbeats(client(i), ids, periodMs);
  heartbeats.push(h);
  return h;
}

/** Waits until `check` holds for the instance as GET /eureka/apps/ORDERS lists it on every server of `on`. */
async function waitOn(on: readonly number[], id: string, what: string, check: (i: ListedInstance | undefined) => boolean, timeoutMs = 3000): Promise<void> {
  await waitFor(async () => (await Promise.all(on.map((s) => client(s).instance(id)))).every(check), `${what} on servers ${on.join(', ')}`, timeoutMs);
}

const registeredEvents = (events: readonly RegistryEvent[], id: string) =>
  events.filter((e): e is Extract<RegistryEvent, { type: 'registered' }> => e.type === 'registered' && e.view.record.instance.id === id);

describe('zone replication', () => {
  describe('client writes on zone A', () => {
    it('makes a registration on A visible on B and C', async () => {
      expect((await client(A).register({ id: 'orders-1' })).status).toBe(204);

      await waitOn(OTHERS, 'orders-1', 'orders-1 listed', (i) => i !== undefined);
      for (const s of OTHERS) {
        const listed = await client(s).instance('orders-1');
        expect(listed).toMatchObject({ instanceId: 'orders-1', app: APP, hostName: 'orders-1.test', status: 'UP', vipAddress: 'orders' });
        expect(listed?.leaseInfo).toMatchObject({ renewalIntervalInSecs: 1, durationInSecs: 3 });
      }
    });

    it('removes the instance from B and C when it is cancelled on A', async () => {
      await client(A).register({ id: 'orders-1' });
      await client(A).register({ id: 'orders-2' });
      await waitOn(OTHERS, 'orders-2', 'orders-2 listed', (i) => i !== undefined);

      expect((await client(A).cancel('orders-1')).status).toBe(200);

      await waitOn(OTHERS, 'orders-1', 'orders-1 gone', (i) => i === undefined);
      for (const s of OTHERS) expect((await client(s).app()).map((i) => i.instanceId)).toEqual(['orders-2']);
      for (const s of OTHERS) expect(cluster.events(s).some((e) => e.type === 'cancelled' && e.view.record.instance.id === 'orders-1' && e.isReplication)).toBe(true);
    });

    it('replicates a status override (PUT …/status?value=OUT_OF_SERVICE) to B and C', async () => {
      await client(A).register({ id: 'orders-1', durationSecs: 30 });
      await waitOn(OTHERS, 'orders-1', 'orders-1 listed', (i) => i?.status === 'UP');

      expect((await client(A).setStatus('orders-1', 'OUT_OF_SERVICE')).status).toBe(200);

      await waitOn(OTHERS, 'orders-1', 'orders-1 OUT_OF_SERVICE', (i) => i?.status === 'OUT_OF_SERVICE');
      for (const s of OTHERS) {
        expect(await client(s).instance('orders-1')).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
        expect(cluster.server(s).registry.statusOverrides().get(`${APP}/orders-1`)).toBe('OUT_OF_SERVICE');
      }
    });

    it('replicates a metadata update (PUT …/metadata?k=v) to B and C, keeping the registered metadata', async () => {
      await client(A).register({ id: 'orders-1', durationSecs: 30, metadata: { zone: 'a' } });
      await waitOn(OTHERS, 'orders-1', 'orders-1 listed', (i) => i !== undefined);

      expect((await client(A).setMetadata('orders-1', { k: 'v', owner: 'team-x' })).status).toBe(200);

      await waitOn(OTHERS, 'orders-1', 'orders-1 with metadata k=v', (i) => i?.metadata?.k === 'v');
      for (const s of OTHERS) expect((await client(s).instance('orders-1'))?.metadata).toEqual({ zone: 'a', k: 'v', owner: 'team-x' });
    });

    it('keeps the instance on B and C past its lease duration when heartbeats go only to A, and lets them evict it once heartbeats stop', async () => {
      // A 2 s lease and 200 ms eviction passes: without replicated heartbeats B and C would evict it after ~2.2 s. (Not
      // shorter: on a loaded machine a heartbeat or a batch can be late by a second.)
      await client(A).register({ id: 'orders-1', durationSecs: 2 });
      await waitOn(OTHERS, 'orders-1', 'orders-1 listed', (i) => i !== undefined);
      const h = beat(A, ['orders-1'], 150);
      await h.start();
      const since = Date.now();

      await waitFor(() => Date.now() - since > 5000, '5 s of heartbeats (2.5 × the lease)', 7000, 100);

      expect(h.answers.get(200)).toBeGreaterThanOrEqual(15);
      expect([...h.answers.keys()]).toEqual([200]);
      for (const s of [A, B, C]) {
        expect(await client(s).instance('orders-1')).toBeDefined();
        expect(cluster.events(s).filter((e) => e.type === 'evicted')).toEqual([]);
        const lease = cluster.server(s).registry.lease(APP, 'orders-1');
        expect(lease?.isExpired(Date.now())).toBe(false);
      }
      // Heartbeats are forwarded at most once per half renewal interval (0.5 s here): ~10 of the ~33 in 5 s.
      for (const s of OTHERS) {
        const replicated = cluster.events(s).filter((e) => e.type === 'renewed' && e.isReplication).length;
        expect(replicated).toBeGreaterThanOrEqual(4);
        expect(replicated).toBeLessThan(h.answers.get(200) ?? 0);
      }

      // Control: once heartbeats stop, every server evicts it on its own (evictions are not replicated).
      await h.stop();
      await waitOn([A, B, C], 'orders-1', 'orders-1 evicted', (i) => i === undefined, 6000);
      for (const s of [A, B, C]) expect(cluster.events(s).filter((e) => e.type === 'evicted').map((e) => (e as { view: { record: { instance: { id: string } } } }).view.record.instance.id)).toEqual(['orders-1']);
      for (const s of OTHERS) expect(cluster.events(s).some((e) => e.type === 'cancelled')).toBe(false);
    });
  });

  describe('loop prevention', () => {
    it('does not send replicated writes back: B and C forward nothing and A sees only its own client writes', async () => {
      await client(A).register({ id: 'orders-1', durationSecs: 30 });
      await client(A).register({ id: 'orders-2', durationSecs: 30 });
      await client(A).heartbeat('orders-1');
      await client(A).setStatus('orders-1', 'OUT_OF_SERVICE');
      await client(A).setMetadata('orders-2', { k: 'v' });
      await client(A).cancel('orders-2');
      await waitFor(async () => {
        const [b, c] = await Promise.all(OTHERS.map((s) => client(s).app()));
        return [b, c].every((list) => list.length === 1 && list[0].instanceId === 'orders-1' && list[0].status === 'OUT_OF_SERVICE');
      }, 'B and C to hold orders-1 OUT_OF_SERVICE only');
      // Let one more batching round pass so a bounced write would have arrived: a later write on A is a barrier.
      await client(A).register({ id: 'barrier', durationSecs: 30 });
      await waitOn(OTHERS, 'barrier', 'barrier listed', (i) => i !== undefined);
      await waitFor(() => [A, B, C].every((s) => cluster.server(s).peers.nodes.every((n) => n.queueDepth === 0)), 'empty replication queues');

      // A: one registration per instance, all from its client; nothing arrived from a peer.
      const aEvents = cluster.events(A);
      expect(registeredEvents(aEvents, 'orders-1')).toHaveLength(1);
      expect(registeredEvents(aEvents, 'orders-2')).toHaveLength(1);
      expect(aEvents.filter((e) => 'isReplication' in e && e.isReplication)).toEqual([]);
      // B and C applied everything as replicated and sent nothing to anyone.
      for (const s of OTHERS) {
        expect(cluster.events(s).filter((e) => 'isReplication' in e && !e.isReplication)).toEqual([]);
        for (const n of cluster.server(s).peers.nodes) expect(n.stats).toMatchObject({ tasksSent: 0, batchesSent: 0, changesLost: 0 });
        const status = await client(s).status();
        expect(status.peers.map((p) => p.tasksSent)).toEqual([0, 0]);
      }
      // A sent to both peers (a newer task for the same instance and action replaces a queued one) and lost nothing.
      for (const s of OTHERS) expect(cluster.peerStats(A, s).stats).toMatchObject({ changesLost: 0, batchFailures: 0 });
      for (const s of OTHERS) expect(cluster.peerStats(A, s).stats.tasksSent).toBeGreaterThanOrEqual(4);
    });
  });

  describe('POST /eureka/peerreplication/batch', () => {
    const instanceInfo = (id: string): Record<string, unknown> => ({
      instanceId: id,
      app: APP,
      hostName: `${id}.test`,
      ipAddr: '127.0.0.1',
      status: 'UP',
      overriddenStatus: 'UNKNOWN',
      port: { $: 8080, '@enabled': 'true' },
      securePort: { $: 443, '@enabled': 'false' },
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: 1, durationInSecs: 30 },
      vipAddress: 'orders',
      lastDirtyTimestamp: '1700000000000',
    });
    const mixedBatch = {
      replicationList: [
        { appName: APP, id: 'peer-1', lastDirtyTimestamp: 1700000000000, status: 'UP', instanceInfo: instanceInfo('peer-1'), action: 'Register' },
        { appName: APP, id: 'nobody', lastDirtyTimestamp: 1700000000000, status: 'UP', action: 'Heartbeat' },
        { appName: APP, id: 'nobody', action: 'Cancel' },
        { appName: APP, id: 'bad-1', lastDirtyTimestamp: 1700000000000, instanceInfo: { ...instanceInfo('bad-1'), hostName: undefined, ipAddr: undefined }, action: 'Register' },
        { appName: APP, id: 'peer-1', lastDirtyTimestamp: 1700000000000, status: 'OUT_OF_SERVICE', action: 'StatusUpdate' },
        { appName: APP, id: 'peer-1', lastDirtyTimestamp: 1700000000000, status: 'OUT_OF_SERVICE', action: 'Heartbeat' },
      ],
    };

    it('answers each item with its own status code, in order, and applies the valid ones', async () => {
      const res = await client(A).batch(mixedBatch);

      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(res.text)).toEqual({
        responseList: [{ statusCode: 200 }, { statusCode: 404 }, { statusCode: 404 }, { statusCode: 400 }, { statusCode: 200 }, { statusCode: 200 }],
      });
      const listed = await client(A).app();
      expect(listed.map((i) => i.instanceId)).toEqual(['peer-1']);
      expect(listed[0]).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE', lastDirtyTimestamp: '1700000000000' });
      const events = cluster.events(A);
      expect(events.map((e) => e.type)).toEqual(['registered', 'status-updated', 'renewed']);
      expect(events.every((e) => 'isReplication' in e && e.isReplication)).toBe(true);
    });

    it('does not forward the items it applied to the other zones', async () => {
      await client(A).batch(mixedBatch);
      // A later client write on A is queued behind anything the batch could have caused: once B and C have it,
      // a forwarded peer-1 would have arrived too.
      await client(A).register({ id: 'barrier', durationSecs: 30 });
      await waitOn(OTHERS, 'barrier', 'barrier listed', (i) => i !== undefined);

      for (const s of OTHERS) expect((await client(s).app()).map((i) => i.instanceId)).toEqual(['barrier']);
      for (const s of OTHERS) expect(cluster.peerStats(A, s).stats.tasksSent).toBe(1);
    });

    it('answers 409 with its newer copy to a heartbeat carrying an older lastDirtyTimestamp', async () => {
      await client(A).batch({ replicationList: [mixedBatch.replicationList[0]] });

      const res = await client(A).batch({ replicationList: [{ appName: APP, id: 'peer-1', lastDirtyTimestamp: 1600000000000, status: 'UP', action: 'Heartbeat' }] });

      const body = JSON.parse(res.text);
      expect(body.responseList).toHaveLength(1);
      expect(body.responseList[0]).toMatchObject({ statusCode: 409, responseEntity: { instanceId: 'peer-1', app: APP, lastDirtyTimestamp: '1700000000000' } });
    });

    it('answers 400 for a body without a replicationList and changes nothing', async () => {
      const res = await client(A).batch({ list: [] });

      expect(res.status).toBe(400);
      expect(JSON.parse(res.text)).toEqual({ error: 'replicationList must be an array' });
      expect(cluster.server(A).registry.size).toBe(0);
    });
  });
});
