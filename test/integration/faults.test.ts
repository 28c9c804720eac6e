// Zone replication under faults, with real servers on 127.0.0.1 (contract §8, §12.8): a zone server killed and
// restarted, a peer partitioned longer than the task expiry, heartbeats lost to a partition (self-preservation),
// and a server that starts while no peer answers.
import { RegistryEvent } from '../../src/domain/registry';
import { APP, Cluster, EurekaHttp, Heartbeats, http, RegistrySnapshot, ServerStatus } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

const A = 0;
const B = 1;
const C = 2;
const ALL = [A, B, C];

let cluster: Cluster | undefined;
let heartbeats: Heartbeats[] = [];
let stopLoops: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(stopLoops.map((stop) => stop()));
  stopLoops = [];
  await Promise.all(heartbeats.map((h) => h.stop()));
  heartbeats = [];
  await cluster?.close();
  cluster = undefined;
});

async function newCluster(options: Parameters<typeof Cluster.started>[0]): Promise<Cluster> {
  cluster = await Cluster.started(options);
  return cluster;
}

const client = (i: number): EurekaHttp => cluster!.client(i);
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function beat(i: number, ids: readonly string[], periodMs = 200): Heartbeats {
  const h = new Heartbeats(client(i), ids, periodMs);
  heartbeats.push(h);
  return h;
}

const idsOf = (events: readonly RegistryEvent[], type: RegistryEvent['type']): string[] =>
  events.filter((e) => e.type === type).map((e) => e.view.record.instance.id).sort();

async function snapshots(servers: readonly number[]): Promise<RegistrySnapshot[]> {
  return Promise.all(servers.map((s) => client(s).apps()));
}

async function statuses(servers: readonly number[]): Promise<ServerStatus[]> {
  return Promise.all(servers.map((s) => client(s).status()));
}

describe('zone replication faults', () => {
  describe('a zone server killed hard while the others keep taking registrations', () => {
    it('syncs from its peers when restarted and converges to the same registry, losing nothing', async () => {
      // Task expiry 1 s: the outage outlasts it quickly. The registry stays well under 64 KB (see the next test).
      const c = await newCluster({ size: 3, flags: ['--replication-task-expiry-ms', '1000'] });
      const expected = new Set<string>();
      const register = async (server: number, id: string): Promise<void> => {
        const res = await client(server).register({ id, durationSecs: 60 });
        expect(res.status).toBe(204);
        expected.add(`${APP}/${id}`);
      };
      for (let k = 0; k < 4; k++) {
        await register(A, `seed-a-${k}`);
        await register(B, `seed-b-${k}`);
      }
      await waitFor(async () => (await client(C).apps()).keys.length === 8, 'C to hold the 8 seed instances');

      // Registrations keep arriving on A and B, alternately, through the outage and the restart.
      let n = 0;
      let running = true;
      const loop = (async () => {
        while (running) {
          const id = `live-${n}`;
          await register(n % 2 === 0 ? A : B, id);
          n++;
          await pause(40);
        }
      })();
      stopLoops.push(async () => {
        running = false;
        await loop;
      });

      await waitFor(() => n >= 5, '5 registrations before the kill');
      await c.stop(C);
      // Lost while C is down: a cancel on A (the instance must not come back) and, once tasks to C expire
      // (1 s), registrations only the startup sync can bring back.
      expect((await client(A).cancel('seed-a-0')).status).toBe(200);
      expected.delete(`${APP}/seed-a-0`);
      await waitFor(() => c.peerStats(A, C).stats.changesLost > 0 && c.peerStats(B, C).stats.changesLost > 0, 'A and B to give up changes for C', 5000);
      const registeredWhileDown = n;

      const logsBefore = c.logs.length;
      const restarted = await c.restart(C);
      await restarted.ready;
      const syncLog = c.logs.slice(logsBefore).find((l) => l.server === C && l.message === 'synced registry from peers');
      expect(syncLog?.fields).toMatchObject({ peers: 2 });
      expect(syncLog?.fields?.instances as number).toBeGreaterThanOrEqual(registeredWhileDown);
      await waitFor(() => n >= registeredWhileDown + 10, '10 registrations after the restart');
      await stopLoops.pop()!();

      await waitFor(async () => {
        const all = await snapshots(ALL);
        return all.every((s) => s.keys.length === expected.size);
      }, 'every zone to hold every instance', 5000);
      const [a, b, cc] = await snapshots(ALL);
      expect(cc.keys).toEqual([...expected].sort());
      expect(a.keys).toEqual(cc.keys);
      expect(b.keys).toEqual(cc.keys);
      expect(cc.hashcode).toBe(`UP_${expected.size}_`);
      expect(a.hashcode).toBe(cc.hashcode);
      expect(b.hashcode).toBe(cc.hashcode);
      expect(cc.keys).not.toContain(`${APP}/seed-a-0`);
      // The restarted server learned everything as replicated and forwards none of it.
      expect(c.events(C).filter((e) => 'isReplication' in e && !e.isReplication)).toEqual([]);
      for (const node of restarted.peers.nodes) expect(node.stats.tasksSent).toBe(0);
    });
    it('syncs a registry larger than 64 KB, which its peer sends gzipped', async () => {
      const c = await newCluster({ size: 2 });
      const ids = Array.from({ length: 150 }, (_, k) => `bulk-${String(k).padStart(3, '0')}`);
      for (let k = 0; k < ids.length; k += 25) {
        await Promise.all(ids.slice(k, k + 25).map((id) => client(A).register({ id, durationSecs: 60, metadata: { team: 'orders', build: `b-${k}` } })));
      }
      const full = await http(c.ports[A], 'GET', '/eureka/apps');
      expect(full.text.length).toBeGreaterThan(64 * 1024);
      await waitFor(async () => (await client(B).apps()).keys.length === ids.length, 'B to hold every instance', 5000);

      // Serve mode, so a failed sync shows as a missing registry rather than a server that never gets ready.
      const restarted = await c.restart(B, ['--sync-failure-mode', 'serve']);
      await restarted.ready;

      const failures = c.logs.filter((l) => l.server !== undefined && (l.level === 'error' || l.message.startsWith('sync:') || l.message.startsWith('no peer answered')));
      expect(failures).toEqual([]);
      expect(restarted.registry.size).toBe(ids.length);
      const [a, b] = await snapshots([A, B]);
      expect(b.keys).toEqual(a.keys);
      expect(b.hashcode).toBe(`UP_${ids.length}_`);
    });
  });

  describe('self-preservation', () => {
    const ids = Array.from({ length: 10 }, (_, k) => `sp-${k}`);
    const live = ids.slice(0, 8);
    const dead = ids.slice(8);

    it('engages when heartbeats stop, evicts nothing while leases are long expired, and evicts only the dead once heartbeats resume', async () => {
      // 10 instances heartbeating every 1 s promise 600 renewals a minute; threshold floor(600 × 0.85) = 510; counted in
      // a 2 s window scaled to a minute (the 1 s promise believed: time runs fast here). Leases last 3 s; eviction
      // passes every 200 ms.
      const c = await newCluster({ size: 3, flags: ['--self-preservation-min-instances', '5', '--renewal-window-ms', '2000', '--eviction-interval-ms', '200', '--min-renewal-interval-secs', '1'] });
      for (const id of ids) expect((await client(A).register({ id, renewalIntervalSecs: 1, durationSecs: 3 })).status).toBe(204);
      const h = beat(A, ids, 200);
      await h.start();
      await waitFor(async () => (await statuses(ALL)).every((s) => s.selfPreservation?.active === false && s.registry.instances === 10), 'self-preservation to be released everywhere with heartbeats flowing', 5000);

      // Clients cut off: no heartbeat reaches any zone.
      await h.stop();
      const stoppedAt = Date.now();
      await waitFor(async () => (await statuses(ALL)).every((s) => s.selfPreservation?.active === true), 'self-preservation to engage everywhere', 3000);
      // Engaged before any lease could expire: nothing was evicted anywhere.
      for (const s of ALL) expect(idsOf(c.events(s), 'evicted')).toEqual([]);

      // Leases expire 3 s after the last heartbeat; wait a further second (five eviction passes).
      await waitFor(() => Date.now() - stoppedAt > 4000, 'leases to be expired for a second', 5000, 100);
      for (const s of ALL) {
        const server = c.server(s);
        expect(server.registry.size).toBe(10);
        expect([...server.registry.leases()].every((l) => l.isExpired(Date.now()))).toBe(true);
        expect(idsOf(c.events(s), 'evicted')).toEqual([]);
        expect((await client(s).app()).map((i) => i.instanceId).sort()).toEqual([...ids].sort());
      }
      for (const status of await statuses(ALL)) {
        expect(status.leaseExpirationEnabled).toBe(false);
        expect(status.selfPreservation).toMatchObject({ enabled: true, active: true, expectedRenewalsPerMin: 600, threshold: 510, instances: 10 });
        expect(status.selfPreservation!.renewalsLastMin).toBeLessThanOrEqual(510);
      }

      // 8 of the 10 come back.
      h.beatOnly(live);
      await h.start();
      await waitFor(async () => {
        const all = await snapshots(ALL);
        return all.every((s) => s.keys.length === 8);
      }, 'the 2 dead instances to be evicted everywhere', 5000);

      for (const s of ALL) {
        expect(idsOf(c.events(s), 'evicted')).toEqual([...dead].sort());
        expect((await client(s).app()).map((i) => i.instanceId).sort()).toEqual([...live].sort());
        expect(c.events(s).some((e) => e.type === 'cancelled')).toBe(false);
      }
      for (const status of await statuses(ALL)) {
        expect(status.leaseExpirationEnabled).toBe(true);
        expect(status.selfPreservation).toMatchObject({ active: false, expectedRenewalsPerMin: 480, threshold: 408, instances: 8 });
        expect(status.selfPreservation!.renewalsLastMin).toBeGreaterThan(408);
      }
      expect([...h.answers.keys()]).toEqual([200]);
    });
  });

  describe('a peer partitioned for longer than the task expiry', () => {
    it('counts the changes it lost and is repaired after the partition heals by heartbeats it answers 404', async () => {
      const c = await newCluster({ size: 3, proxies: true, flags: ['--replication-task-expiry-ms', '1000'] });
      const before = ['before-1', 'before-2'];
      const during = ['during-1', 'during-2', 'during-3'];
      for (const id of before) await client(A).register({ id, durationSecs: 5 });
      await waitFor(async () => (await client(B).app()).length === 2, 'B to hold the first 2 instances');
      const h = beat(A, before, 200);
      await h.start();

      c.proxy(B).cut();
      for (const id of during) expect((await client(A).register({ id, durationSecs: 5 })).status).toBe(204);
      h.beatOnly([...before, ...during]);
      // The 3 registrations expire unsent after 1 s of failed attempts.
      await waitFor(() => c.peerStats(A, B).stats.changesLost >= 3, "A to give up the registrations for B", 4000);
      expect((await client(B).app()).map((i) => i.instanceId).sort()).toEqual(before);
      expect((await client(C).app()).map((i) => i.instanceId).sort()).toEqual([...before, ...during].sort());
      expect(c.proxy(B).stats.refused).toBeGreaterThan(0);

      c.proxy(B).heal();
      await waitFor(async () => (await client(B).app()).length === 5, 'B to hold all 5 instances', 4000);

      const b = await client(B).apps();
      const a = await client(A).apps();
      expect(b.keys).toEqual(a.keys);
      expect(b.hashcode).toBe(a.hashcode);
      // Repaired through heartbeats: B answered 404 and A re-registered the instances there (a heartbeat already queued
      // behind the 404 may be answered 404 too and cause a second, harmless registration).
      const bEvents = c.events(B);
      expect([...new Set(idsOf(bEvents, 'registered'))]).toEqual([...before, ...during].sort());
      expect(bEvents.filter((e) => e.type === 'registered').every((e) => e.isReplication)).toBe(true);
      expect(idsOf(bEvents, 'evicted')).toEqual([]);
      const toB = c.peerStats(A, B).stats;
      expect(toB.changesLost).toBeGreaterThanOrEqual(3);
      expect(toB.batchFailures).toBeGreaterThan(0);
      expect(c.peerStats(A, C).stats.changesLost).toBe(0);
      // The operators' view says the same.
      const peerB = (await client(A).status()).peers.find((p) => p.url === c.urls[B]);
      expect(peerB?.changesLost).toBe(toB.changesLost);
      expect([...h.answers.keys()]).toEqual([200]);
    });

    it('brings a status override lost in the partition to the peer once it heals', async () => {
      const c = await newCluster({ size: 3, proxies: true, flags: ['--replication-task-expiry-ms', '1000'] });
      await client(A).register({ id: 'orders-1', durationSecs: 5 });
      await waitFor(async () => (await client(B).instance('orders-1')) !== undefined, 'B to hold orders-1');
      const h = beat(A, ['orders-1'], 200);
      await h.start();

      c.proxy(B).cut();
      expect((await client(A).setStatus('orders-1', 'OUT_OF_SERVICE')).status).toBe(200);
      await waitFor(() => c.peerStats(A, B).stats.changesLost >= 1, 'A to give up the status update for B', 4000);
      c.proxy(B).heal();

      // C got it directly; B only through what follows the partition (heartbeats carry the override).
      expect(await client(C).instance('orders-1')).toMatchObject({ status: 'OUT_OF_SERVICE' });
      const sentAtHeal = c.peerStats(A, B).stats.batchesSent;
      await waitFor(() => c.peerStats(A, B).stats.batchesSent >= sentAtHeal + 5, 'five batches to reach B after the partition', 4000);
      await waitFor(async () => (await client(B).instance('orders-1'))?.status === 'OUT_OF_SERVICE', 'B to show orders-1 OUT_OF_SERVICE', 2000).catch(() => undefined);

      const onA = await client(A).instance('orders-1');
      const onB = await client(B).instance('orders-1');
      expect(onA).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
      expect({ status: onB?.status, overriddenStatus: onB?.overriddenStatus, override: c.server(B).registry.statusOverrides().get(`${APP}/orders-1`) }).toEqual({
        status: 'OUT_OF_SERVICE',
        overriddenStatus: 'OUT_OF_SERVICE',
        override: 'OUT_OF_SERVICE',
      });
      expect([...h.answers.keys()]).toEqual([200]);
    });
  });

  describe('startup when no peer answers, with --sync-failure-mode refuse', () => {
    it('answers 403 to registry reads and 503 to /health/ready until a peer comes up, then serves the registry', async () => {
      const c = await Cluster.create({ size: 2 });
      cluster = c;
      const server = await c.start(A, ['--sync-failure-mode', 'refuse', '--sync-empty-wait-ms', '60000']);
      let ready = false;
      void server.ready.then(() => (ready = true));
      const port = c.ports[A];

      // Both sync attempts fail (B is not listening), then reads are refused.
      await waitFor(async () => (await http(port, 'GET', '/eureka/apps')).status === 403, 'registry reads to be refused', 3000);
      // Writes are still taken.
      expect((await client(A).register({ id: 'early', durationSecs: 60 })).status).toBe(204);
      // For a while (several background sync attempts, 400 ms apart), nothing changes.
      const until = Date.now() + 900;
      while (Date.now() < until) {
        for (const path of ['/eureka/apps', '/eureka/apps/delta', `/eureka/apps/${APP}`, '/eureka/vips/orders']) {
          const res = await http(port, 'GET', path);
          expect({ path, status: res.status, body: res.text }).toEqual({ path, status: 403, body: '' });
        }
        const health = await http(port, 'GET', '/health/ready');
        expect(health.status).toBe(503);
        expect(JSON.parse(health.text)).toEqual({ status: 'SYNCING' });
        expect((await http(port, 'GET', '/health/live')).status).toBe(200);
        expect(ready).toBe(false);
        await pause(100);
      }
      const status = await client(A).status();
      expect(status.registryReadsAllowed).toBe(false);
      expect((await http(port, 'GET', `/eureka/apps/${APP}/early`)).status).toBe(200);

      // The peer comes up (serving what it has, since A refuses it too) and takes a registration.
      const peer = await c.start(B, ['--sync-failure-mode', 'serve']);
      await peer.ready;
      expect((await client(B).register({ id: 'from-b', durationSecs: 60 })).status).toBe(204);

      await waitFor(() => ready, 'A to sync from B and become ready', 5000);
      const health = await http(port, 'GET', '/health/ready');
      expect(health.status).toBe(200);
      expect(JSON.parse(health.text)).toEqual({ status: 'UP' });
      await waitFor(async () => (await client(A).apps()).keys.length === 2, 'A to serve both instances', 3000);
      const apps = await client(A).apps();
      expect(apps.status).toBe(200);
      expect(apps.keys).toEqual([`${APP}/early`, `${APP}/from-b`]);
      expect(apps.hashcode).toBe('UP_2_');
      expect((await client(A).status()).registryReadsAllowed).toBe(true);
      expect(c.logs.some((l) => l.server === A && l.message === 'synced registry from peers after all')).toBe(true);
    });

    it('serves its registry at once with --sync-failure-mode serve', async () => {
      const c = await Cluster.create({ size: 2 });
      cluster = c;
      const server = await c.start(A, ['--sync-failure-mode', 'serve']);
      await server.ready;

      expect((await http(c.ports[A], 'GET', '/health/ready')).status).toBe(200);
      const apps = await client(A).apps();
      expect(apps).toMatchObject({ status: 200, keys: [] });
    });
  });
});
