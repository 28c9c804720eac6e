// Divergences batch replication alone leaves between zone servers, one per test, each produced with as few faults as
// it needs: all three servers must end up holding the same registry (and the state the operators and clients
// asked for) within a few anti-entropy rounds. Servers compare digests of their registries and repair what differs.
import { REPLICATION_HEADER } from '../../src/http/eureka-api';
import { APP, Cluster, ClusterOptions, http, HttpReply, InstanceSpec } from '../helpers/cluster';
import { ANTI_ENTROPY_FLAGS, antiEntropyRoundsMs, Expectation, expectConvergence, fieldValue, onEveryServer, serverName } from '../helpers/convergence';
import { InstanceClients } from '../helpers/instance-clients';
import { waitFor } from '../helpers/wait';

const A = 0;
const B = 1;
const C = 2;
const ALL = [A, B, C];

// A few anti-entropy rounds, and time for the replication and re-registrations a repair sets off.
const CONVERGENCE_DEADLINE_MS = antiEntropyRoundsMs(4) + 3000;

let cluster: Cluster | undefined;
let fleet: InstanceClients | undefined;

afterEach(async () => {
  await fleet?.stop();
  fleet = undefined;
  await cluster?.close();
  cluster = undefined;
});

async function region(options: ClusterOptions = {}): Promise<Cluster> {
  // Debug lines kept: a change lost to a peer is a debug line once another was logged in the last 10 s.
  cluster = await Cluster.started({ size: 3, debugLines: true, ...options, flags: [...ANTI_ENTROPY_FLAGS, ...(options.flags ?? [])] });
  return cluster;
}

/** Instance clients heartbeating every 250 ms, re-registering on 404. */
function clients(c: Cluster): InstanceClients {
  fleet = new InstanceClients((home) => c.client(home), 250, 5);
  return fleet;
}

/** A write sent to `server` as a peer replicates it: the replication header, from 127.0.0.1 (a peer's address). */
function asPeer(c: Cluster, server: number, method: string, path: string): Promise<HttpReply> {
  return http(c.ports[server], method, path, undefined, { [REPLICATION_HEADER]: 'true' });
}

/** An instance as server `server` serves it (JSON, without the wrapper). */
async function instanceDocument(c: Cluster, server: number, id: string): Promise<unknown> {
  const reply = await http(c.ports[server], 'GET', `/eureka/apps/${APP}/${id}`, undefined, { accept: 'application/json' });
  return (JSON.parse(reply.text) as { instance: unknown }).instance;
}

/** Posts a replication batch to `server` as a peer; the per-item status codes. */
async function batchTo(c: Cluster, server: number, items: unknown[]): Promise<number[]> {
  const reply = await http(c.ports[server], 'POST', '/eureka/peerreplication/batch', JSON.stringify({ replicationList: items }), { [REPLICATION_HEADER]: 'true', 'content-type': 'application/json' });
  return (JSON.parse(reply.text) as { responseList: { statusCode: number }[] }).responseList.map((r) => r.statusCode);
}

async function holdEverywhere(c: Cluster, ids: readonly string[], on: readonly number[] = ALL): Promise<void> {
  await waitFor(async () => {
    const apps = await Promise.all(on.map((s) => c.client(s).apps()));
    return apps.every((a) => ids.every((id) => a.keys.includes(`${APP}/${id}`)));
  }, `${ids.join(', ')} on ${on.map(serverName).join(', ')}`, 5000);
}

/** Cuts (or heals) every link to and from `server`. */
function isolate(c: Cluster, server: number, cut = true): void {
  for (const { from, to, proxy } of c.allLinks()) if (from === server || to === server) (cut ? proxy.cut() : proxy.heal());
}

/** Waits until `from` logged giving up `action` for each of `ids` towards `to`. */
async function changesGivenUp(c: Cluster, from: number, to: number, action: string, ids: readonly string[], reason?: string): Promise<void> {
  const peer = `http://127.0.0.1:${c.link(from, to).port}/eureka/`;
  const lost = (id: string): boolean =>
    c.logs.some((l) => l.server === from && l.message === 'replicated change not delivered' && l.fields?.peer === peer && l.fields?.action === action && l.fields?.id === id && (reason === undefined || l.fields?.reason === reason));
  await waitFor(() => ids.every(lost), `${serverName(from)} to give up ${action} of ${ids.join(', ')} for ${serverName(to)}`, 6000);
}

const key = (id: string): string => `${APP}/${id}`;

const present = (id: string): Expectation => onEveryServer(key(id), 'present', (f) => (f === undefined ? 'it is absent' : undefined));
const absent = (id: string): Expectation => onEveryServer(key(id), 'absent (it was cancelled)', (f) => (f === undefined ? undefined : `it is present with status ${fieldValue(f, 'status')}`));
const withMetadata = (id: string, name: string, value: string): Expectation =>
  onEveryServer(key(id), `present with metadata ${name}=${value}`, (f) => {
    if (f === undefined) return 'it is absent';
    const found = fieldValue(f, `metadata.${name}`);
    return found === value ? undefined : `metadata.${name} is ${found === undefined ? '(absent)' : JSON.stringify(found)}`;
  });
const ownStatus = (id: string): Expectation =>
  onEveryServer(key(id), 'UP without an override', (f) => {
    if (f === undefined) return 'it is absent';
    const [status, override] = [fieldValue(f, 'status'), fieldValue(f, 'overriddenStatus')];
    return status === 'UP' && override === 'UNKNOWN' ? undefined : `status is ${status}, overriddenStatus ${override}`;
  });
const all = (...expectations: Expectation[]): Expectation => (registries) => expectations.flatMap((e) => e(registries));

describe('zone convergence', () => {
  describe('after an instance with operator metadata re-registers through another zone', () => {
    it('lists the metadata on every server', async () => {
      const c = await region();
      const spec: InstanceSpec = { id: 'orders-1', renewalIntervalSecs: 30, durationSecs: 60, metadata: { zone: 'a' } };
      expect((await c.client(A).register(spec)).status).toBe(204);
      await holdEverywhere(c, ['orders-1']);
      expect((await c.client(A).setMetadata('orders-1', { k: 'v' })).status).toBe(200);
      await waitFor(async () => (await Promise.all(ALL.map((s) => c.client(s).instance('orders-1')))).every((i) => i?.metadata?.k === 'v'), 'k=v on every server', 5000);

      // The client registers again through B with what it knows: its own metadata, without the operator's k.
      expect((await c.client(B).register(spec)).status).toBe(204);

      await expectConvergence(c, CONVERGENCE_DEADLINE_MS, 'metadata overlay after a re-registration through B', all(withMetadata('orders-1', 'k', 'v'), withMetadata('orders-1', 'zone', 'a')));
    });
  });

  describe('after an override removal reaches a server before the override it removes', () => {
    it('leaves every server without the override, showing the instance its own status', async () => {
      const c = await region();
      const f = clients(c);
      f.add({ id: 'orders-1', renewalIntervalSecs: 1, durationSecs: 60 }, A);
      expect((await f.register('orders-1')).status).toBe(204);
      await holdEverywhere(c, ['orders-1']);
      const dirty = String((await c.client(A).instance('orders-1'))?.lastDirtyTimestamp);
      const set = `/eureka/apps/${APP}/orders-1/status?value=OUT_OF_SERVICE&lastDirtyTimestamp=${dirty}`;
      const remove = `/eureka/apps/${APP}/orders-1/status?value=UNKNOWN&lastDirtyTimestamp=${dirty}`;

      // As A's replication would deliver them: set, then remove, on A and B; the other way round on C (say the set
      // came to C over a slow link from another server). Each change reaches C as a zone-registry peer sends it: in a
      // batch, with the instance as the change left it (its lastUpdatedTimestamp: when the change happened).
      const afterSet: unknown[] = [];
      const afterRemove: unknown[] = [];
      for (const s of [A, B]) {
        expect((await asPeer(c, s, 'PUT', set)).status).toBe(200);
        if (s === A) afterSet.push(await instanceDocument(c, A, 'orders-1'));
        expect((await asPeer(c, s, 'DELETE', remove)).status).toBe(200);
        if (s === A) afterRemove.push(await instanceDocument(c, A, 'orders-1'));
      }
      const item = (action: string, status: string, instanceInfo: unknown) => ({ appName: APP, id: 'orders-1', lastDirtyTimestamp: Number(dirty), status, instanceInfo, action });
      expect(await batchTo(c, C, [item('DeleteStatusOverride', 'UNKNOWN', afterRemove[0])])).toEqual([200]);
      expect(await batchTo(c, C, [item('StatusUpdate', 'OUT_OF_SERVICE', afterSet[0])])).toEqual([200]);
      f.start();

      await expectConvergence(c, CONVERGENCE_DEADLINE_MS, 'override removal delivered to C before the override', ownStatus('orders-1'));
    });
  });

  describe("after an override is removed everywhere and a stale home server's heartbeat still carries it", () => {
    it('does not teach the removed override again', async () => {
      const c = await region();
      const f = clients(c);
      f.add({ id: 'orders-1', renewalIntervalSecs: 1, durationSecs: 60 }, A);
      expect((await f.register('orders-1')).status).toBe(204);
      f.start();
      await holdEverywhere(c, ['orders-1']);
      expect((await c.client(A).setStatus('orders-1', 'OUT_OF_SERVICE')).status).toBe(200);
      await waitFor(async () => (await Promise.all(ALL.map((s) => c.client(s).instance('orders-1')))).every((i) => i?.overriddenStatus === 'OUT_OF_SERVICE'), 'the override on every server', 5000);
      expect((await http(c.ports[A], 'DELETE', `/eureka/apps/${APP}/orders-1/status`)).status).toBe(200);
      // The client's next heartbeat is answered 404 and it registers UP again.
      await waitFor(async () => (await Promise.all(ALL.map((s) => c.client(s).instance('orders-1')))).every((i) => i?.status === 'UP' && i.overriddenStatus === 'UNKNOWN'), 'UP without override on every server', 5000);

      const dirty = String((await c.client(B).instance('orders-1'))?.lastDirtyTimestamp);
      const staleBeat = `/eureka/apps/${APP}/orders-1?status=OUT_OF_SERVICE&overriddenstatus=OUT_OF_SERVICE&lastDirtyTimestamp=${dirty}`;
      expect((await asPeer(c, B, 'PUT', staleBeat)).status).toBe(200);

      await expectConvergence(c, CONVERGENCE_DEADLINE_MS, 'a replicated heartbeat carrying a removed override, sent to B', ownStatus('orders-1'));
    });
  });

  describe('after a server restarted while cut off cancelled instances, then synced from its peers', () => {
    it('brings none of the cancelled instances back, on any server', async () => {
      const c = await region({ linkProxies: true, flags: ['--replication-task-expiry-ms', '1000'] });
      const f = clients(c);
      const ids = ['c-1', 'c-2', 'c-3', 'c-4', 'c-5', 'c-6'];
      const cancelled = ids.slice(0, 3);
      for (const id of ids) {
        f.add({ id, renewalIntervalSecs: 1, durationSecs: 60 }, C);
        expect((await f.register(id)).status).toBe(204);
      }
      await holdEverywhere(c, ids);
      f.start();

      isolate(c, C);
      const restarted = await c.restart(C);
      let synced = false;
      void restarted.ready.then(() => (synced = true));
      // No peer answers its sync; its clients' heartbeats are answered 404 and they register again on it.
      await waitFor(() => ids.every((id) => restarted.registry.lease(APP, id) !== undefined), 'the clients to register again on the restarted C', 6000);
      for (const id of cancelled) expect((await f.cancel(id)).status).toBe(200);
      // The cancels expire unsent.
      await changesGivenUp(c, C, A, 'Cancel', cancelled);
      await changesGivenUp(c, C, B, 'Cancel', cancelled);
      expect(synced).toBe(false);

      isolate(c, C, false);
      await waitFor(() => synced, 'C to complete its startup sync', 6000);

      await expectConvergence(c, CONVERGENCE_DEADLINE_MS, 'instances cancelled on C while it was cut off and syncing', all(...cancelled.map(absent), ...ids.slice(3).map(present)));
    });
  });

  describe('after cancels expired unsent during a partition longer than the task expiry', () => {
    it('removes the cancelled instances from every server', async () => {
      const c = await region({ linkProxies: true, flags: ['--replication-task-expiry-ms', '1000'] });
      const f = clients(c);
      const ids = ['e-1', 'e-2', 'e-3', 'e-4', 'e-5', 'e-6'];
      const cancelled = ids.slice(0, 3);
      // Leases of a minute: only a repair, not eviction, can remove them within the test.
      for (const id of ids) {
        f.add({ id, renewalIntervalSecs: 1, durationSecs: 60 }, A);
        expect((await f.register(id)).status).toBe(204);
      }
      await holdEverywhere(c, ids);
      f.start();

      isolate(c, B);
      for (const id of cancelled) expect((await f.cancel(id)).status).toBe(200);
      await changesGivenUp(c, A, B, 'Cancel', cancelled, 'expired');
      isolate(c, B, false);

      await expectConvergence(c, CONVERGENCE_DEADLINE_MS, 'cancels on A that expired unsent to a partitioned B', all(...cancelled.map(absent), ...ids.slice(3).map(present)));
    });
  });

  describe('after a burst of writes overflowed the replication queue of a partitioned peer', () => {
    it('repairs the registrations and cancels the peer missed', async () => {
      const c = await region({ linkProxies: true, flags: ['--replication-max-pending', '10'] });
      // Clients on Eureka's 30 s heartbeat: none heartbeats within the test, so no heartbeat repairs anything.
      const spec = (id: string): InstanceSpec => ({ id, renewalIntervalSecs: 30, durationSecs: 90 });
      const before = Array.from({ length: 8 }, (_, k) => `f-${k}`);
      for (const id of before) expect((await c.client(A).register(spec(id))).status).toBe(204);
      await holdEverywhere(c, before);

      isolate(c, B);
      const cancelled = before.slice(0, 4);
      const burst = Array.from({ length: 20 }, (_, k) => `f-new-${k}`);
      for (let k = 0; k < burst.length; k++) {
        // Paced by C's queue, so that only B's overflows.
        await waitFor(() => c.peerStats(A, C).queueDepth < 5, "A's queue for C to drain", 3000, 2);
        expect((await c.client(A).register(spec(burst[k]))).status).toBe(204);
        if (k % 5 === 4) expect((await c.client(A).cancel(cancelled[(k - 4) / 5])).status).toBe(200);
      }
      await waitFor(() => c.logs.some((l) => l.server === A && l.fields?.reason === 'overflow' && l.fields?.peer === `http://127.0.0.1:${c.link(A, B).port}/eureka/`), 'A to drop changes for B on overflow', 3000);
      isolate(c, B, false);

      await expectConvergence(c, CONVERGENCE_DEADLINE_MS, 'registrations and cancels dropped from A\'s full queue for B', all(...cancelled.map(absent), ...[...before.slice(4), ...burst].map(present)));
    });
  });
});
