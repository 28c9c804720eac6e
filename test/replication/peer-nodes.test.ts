import { instanceJson } from '../../src/codecs/json';
import { ManualClock } from '../../src/domain/clock';
import { Registry, RegistryEvent } from '../../src/domain/registry';
import { applyBatch } from '../../src/replication/batch-receiver';
import { BatchResult, PeerClient, RegistryFetch } from '../../src/replication/peer-client';
import { PeerNodes, ReplicationOptions } from '../../src/replication/peer-nodes';
import { makeInstance } from '../helpers/instances';
import { RecordingLogger } from '../helpers/replication-fixtures';
import { allOk, ok, ReceivedItem, retry, ScriptedPeerClient } from '../helpers/replication-peer-client';
import { ManualScheduler } from '../helpers/replication-scheduler';
import { makeRegistry } from '../domain/registry-fixture';

const OPTIONS: ReplicationOptions = { batchSize: 250, maxBatchingDelayMs: 20, maxPending: 10_000, retryBaseMs: 100, retryMaxMs: 5000, random: () => 0.5, taskExpiryMs: 30_000 };
const LIMITS = { maxNameLength: 255, maxMetadataEntries: 100, maxVipAddresses: 16, defaultRenewalIntervalSecs: 30, defaultDurationSecs: 90 };
const ID = '10.0.0.7:orders:8080';

function setup(clients: ScriptedPeerClient[] = [new ScriptedPeerClient('http://peer-a:8761/eureka/'), new ScriptedPeerClient('http://peer-b:8761/eureka/')], options: Partial<ReplicationOptions> = {}) {
  const fixture = makeRegistry();
  const scheduler = new ManualScheduler(fixture.clock);
  const logger = new RecordingLogger();
  const peers = new PeerNodes(clients, fixture.registry, fixture.clock, scheduler, logger, { ...OPTIONS, ...options }, LIMITS);
  const [a, b] = clients;
  /** Lets due batches leave. */
  const flush = (ms = OPTIONS.maxBatchingDelayMs): Promise<void> => scheduler.advance(ms);
  return { ...fixture, scheduler, logger, peers, clients, a, b, flush };
}

const replicatedFlags = (events: RegistryEvent[]): (boolean | undefined)[] => events.map((e) => ('isReplication' in e ? e.isReplication : undefined));

/** A PeerClient that is another server: batches are applied to its registry by the real batch receiver. */
class ReceivingPeer implements PeerClient {
  readonly received: ReceivedItem[] = [];
  down = false;
  constructor(
    readonly url: string,
    readonly registry: Registry,
    private readonly clock: ManualClock,
    /** Its identity when it answers as a zone-registry server; undefined: a Java peer. */
    private readonly server?: string,
  ) {}
  async sendBatch(body: string): Promise<BatchResult> {
    if (this.down) return retry();
    this.received.push(...(JSON.parse(body) as { replicationList: ReceivedItem[] }).replicationList);
    const outcome = applyBatch(body, { registry: this.registry, clock: this.clock, limits: LIMITS, maxItems: 10000 });
    return 'error' in outcome ? { kind: 'failed', reason: outcome.error } : { kind: 'ok', response: outcome.response, ...(this.server !== undefined && { server: this.server }) };
  }
  async fetchRegistry(): Promise<RegistryFetch> {
    return { kind: 'failed', reason: 'not used' };
  }
  close(): void {}
}

describe('PeerNodes', () => {
  describe('constructor', () => {
    it('creates one node per peer client, in order', () => {
      const { peers, a, b } = setup();
      expect(peers.nodes.map((n) => n.client)).toEqual([a, b]);
      expect(peers.nodes.map((n) => n.url)).toEqual(['http://peer-a:8761/eureka/', 'http://peer-b:8761/eureka/']);
    });

    it('works without peers', () => {
      const { peers, registry } = setup([]);
      expect(() => registry.register(makeInstance())).not.toThrow();
      expect(peers.nodes).toEqual([]);
    });
  });

  describe('client writes', () => {
    it('replicates a registration to every peer as a Register carrying the instance JSON', async () => {
      const { registry, a, b, flush } = setup();
      registry.register(makeInstance({ lastDirtyTimestamp: 1717999999000 }));
      const expectedInstance = JSON.parse(instanceJson(registry.lease('ORDERS', ID)!));
      await flush();
      for (const peer of [a, b]) {
        expect(peer.items).toEqual([{ appName: 'ORDERS', id: ID, lastDirtyTimestamp: 1717999999000, status: 'UP', instanceInfo: expectedInstance, action: 'Register' }]);
      }
    });

    it('carries the override of a registration when there is one', async () => {
      const { registry, a, flush } = setup();
      registry.register(makeInstance({ overriddenStatus: 'OUT_OF_SERVICE' }));
      await flush();
      expect(a.items[0]).toMatchObject({ overriddenStatus: 'OUT_OF_SERVICE', status: 'OUT_OF_SERVICE', action: 'Register' });
      expect(a.items[0].instanceInfo).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
    });

    it('replicates a health verdict as a Register of the instance with its new status, never as a StatusUpdate', async () => {
      const { registry, a, flush } = setup();
      registry.register(makeInstance());
      await flush();
      registry.healthVerdict('ORDERS', ID, 'down');
      await flush();
      registry.healthVerdict('ORDERS', ID, 'up');
      await flush();
      expect(a.items.map((i) => [i.action, i.status, (i.instanceInfo as { status?: string } | undefined)?.status, i.overriddenStatus])).toEqual([
        ['Register', 'UP', 'UP', undefined],
        ['Register', 'DOWN', 'DOWN', undefined],
        ['Register', 'UP', 'UP', undefined],
      ]);
    });

    it('replicates a metadata update as a Register of the updated instance', async () => {
      const { registry, a, flush } = setup();
      registry.register(makeInstance());
      await flush();
      registry.updateMetadata('ORDERS', ID, { zone: 'zone-b' });
      await flush();
      expect(a.batches).toHaveLength(2);
      expect(a.batches[1]).toEqual([expect.objectContaining({ action: 'Register', instanceInfo: expect.objectContaining({ metadata: { zone: 'zone-b' } }) })]);
    });

    it('replicates a heartbeat as a Heartbeat carrying status and lastDirtyTimestamp, without an instance body', async () => {
      const { registry, a, b, flush } = setup();
      registry.register(makeInstance({ lastDirtyTimestamp: 42 }));
      await flush();
      registry.renew('ORDERS', ID, { isReplication: false });
      await flush();
      for (const peer of [a, b]) expect(peer.batches[1]).toEqual([{ appName: 'ORDERS', id: ID, lastDirtyTimestamp: 42, status: 'UP', action: 'Heartbeat' }]);
    });

    it('forwards at most one heartbeat per instance per half renewal interval', async () => {
      const { registry, a, flush, clock } = setup();
      registry.register(makeInstance({ renewalIntervalSecs: 30, durationSecs: 90 }));
      await flush();
      registry.renew('ORDERS', ID, { isReplication: false });
      await flush();
      for (let i = 0; i < 5; i++) {
        clock.advance(2_000);
        registry.renew('ORDERS', ID, { isReplication: false });
      }
      await flush();
      clock.advance(5_001);
      registry.renew('ORDERS', ID, { isReplication: false });
      await flush();
      const heartbeats = a.items.filter((i) => i.action === 'Heartbeat');
      expect(heartbeats).toHaveLength(2);
    });

    it('bounds the heartbeat forwarding gap by half the lease when the lease is shorter than the interval', async () => {
      const { registry, a, flush, clock } = setup();
      registry.register(makeInstance({ renewalIntervalSecs: 30, durationSecs: 4 }));
      for (let i = 0; i < 4; i++) {
        registry.renew('ORDERS', ID, { isReplication: false });
        clock.advance(2_000);
        await flush();
      }
      expect(a.items.filter((i) => i.action === 'Heartbeat')).toHaveLength(4);
    });

    it("carries the instance's override on a Heartbeat", async () => {
      const { registry, a, flush } = setup();
      registry.register(makeInstance({ lastDirtyTimestamp: 42 }));
      registry.statusUpdate('ORDERS', ID, 'OUT_OF_SERVICE', 50);
      await flush();
      registry.renew('ORDERS', ID, { isReplication: false });
      await flush();
      expect(a.batches.at(-1)).toEqual([{ appName: 'ORDERS', id: ID, lastDirtyTimestamp: 50, overriddenStatus: 'OUT_OF_SERVICE', status: 'OUT_OF_SERVICE', action: 'Heartbeat' }]);
    });

    it('replicates a cancel as a Cancel with app, id and the instance as cancelled (for the time of the cancel)', async () => {
      const { registry, a, b, flush, clock } = setup();
      registry.register(makeInstance());
      await flush();
      const cancelledAt = clock.now();
      registry.cancel('ORDERS', ID);
      await flush();
      for (const peer of [a, b]) {
        expect(peer.batches[1]).toEqual([{ appName: 'ORDERS', id: ID, instanceInfo: expect.objectContaining({ instanceId: ID, actionType: 'DELETED', lastUpdatedTimestamp: String(cancelledAt) }), action: 'Cancel' }]);
      }
    });

    it('replicates a status override as a StatusUpdate with the new status and lastDirtyTimestamp', async () => {
      const { registry, a, flush } = setup();
      registry.register(makeInstance({ lastDirtyTimestamp: 10 }));
      await flush();
      registry.statusUpdate('ORDERS', ID, 'OUT_OF_SERVICE', 20);
      await flush();
      expect(a.batches[1]).toEqual([{ appName: 'ORDERS', id: ID, lastDirtyTimestamp: 20, status: 'OUT_OF_SERVICE', instanceInfo: expect.objectContaining({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' }), action: 'StatusUpdate' }]);
    });

    it('replicates removing an override as a DeleteStatusOverride with the status after removal', async () => {
      const { registry, a, flush } = setup();
      registry.register(makeInstance({ lastDirtyTimestamp: 10 }));
      registry.statusUpdate('ORDERS', ID, 'OUT_OF_SERVICE', 20);
      await flush();
      registry.deleteStatusOverride('ORDERS', ID, undefined, 30);
      await flush();
      expect(a.batches[1]).toEqual([{ appName: 'ORDERS', id: ID, lastDirtyTimestamp: 30, status: 'UNKNOWN', instanceInfo: expect.objectContaining({ status: 'UNKNOWN', overriddenStatus: 'UNKNOWN' }), action: 'DeleteStatusOverride' }]);
    });

    it('replicates nothing for writes that found no instance', async () => {
      const { registry, a, flush } = setup();
      registry.renew('ORDERS', 'nobody', { isReplication: false });
      registry.cancel('ORDERS', 'nobody');
      registry.statusUpdate('ORDERS', 'nobody', 'DOWN', undefined);
      registry.deleteStatusOverride('ORDERS', 'nobody', undefined, undefined);
      await flush(1000);
      expect(a.bodies).toEqual([]);
    });

    it('keeps the order of changes to one instance', async () => {
      const { registry, a, flush } = setup();
      registry.register(makeInstance());
      registry.statusUpdate('ORDERS', ID, 'OUT_OF_SERVICE', undefined);
      registry.deleteStatusOverride('ORDERS', ID, undefined, undefined);
      registry.register(makeInstance());
      await flush();
      expect(a.items.map((i) => i.action)).toEqual(['Register', 'StatusUpdate', 'DeleteStatusOverride', 'Register']);
    });

    it('sends only the cancel of an instance cancelled before its earlier changes left', async () => {
      const { registry, a, flush } = setup();
      registry.register(makeInstance());
      registry.statusUpdate('ORDERS', ID, 'OUT_OF_SERVICE', undefined);
      registry.cancel('ORDERS', ID);
      await flush();
      expect(a.items.map((i) => i.action)).toEqual(['Cancel']);
    });

    it('gives each task the configured expiry', async () => {
      const { registry, a, peers, flush } = setup(undefined, { taskExpiryMs: 1000 });
      a.fallback = retry();
      registry.register(makeInstance());
      await flush(999);
      expect(peers.nodes[0].stats.changesLost).toBe(0);
      await flush(5000);
      expect(peers.nodes[0].stats.changesLost).toBe(1);
      expect(peers.nodes[1].stats.changesLost).toBe(0);
    });
  });

  describe('replicated writes and evictions', () => {
    it('never forwards writes that came from a peer', async () => {
      const { registry, a, b, events, flush } = setup();
      registry.register(makeInstance(), true);
      registry.renew('ORDERS', ID, { isReplication: true });
      registry.statusUpdate('ORDERS', ID, 'OUT_OF_SERVICE', undefined, true);
      registry.deleteStatusOverride('ORDERS', ID, undefined, undefined, true);
      registry.cancel('ORDERS', ID, true);
      await flush(1000);
      expect(replicatedFlags(events)).toEqual([true, true, true, true, true]);
      expect(a.bodies).toEqual([]);
      expect(b.bodies).toEqual([]);
    });

    it('never forwards an eviction', async () => {
      const { registry, a, flush } = setup();
      registry.register(makeInstance(), true);
      registry.evict('ORDERS', ID);
      await flush(1000);
      expect(a.bodies).toEqual([]);
    });
  });

  describe('missingOnPeer', () => {
    it('answers a heartbeat 404 by registering the current local copy on that peer only', async () => {
      const { registry, a, b, flush } = setup();
      registry.register(makeInstance({ lastDirtyTimestamp: 7 }), true); // known here, not replicated
      registry.statusUpdate('ORDERS', ID, 'OUT_OF_SERVICE', 8, true);
      a.answer(ok({ statusCode: 404 }));
      registry.renew('ORDERS', ID, { isReplication: false });
      await flush(); // heartbeat to both; peer a answers 404
      await flush(); // the register follows to peer a
      expect(a.items.map((i) => i.action)).toEqual(['Heartbeat', 'Register']);
      expect(a.items[1]).toEqual({
        appName: 'ORDERS',
        id: ID,
        lastDirtyTimestamp: 8,
        overriddenStatus: 'OUT_OF_SERVICE',
        status: 'OUT_OF_SERVICE',
        instanceInfo: JSON.parse(instanceJson(registry.lease('ORDERS', ID)!)),
        action: 'Register',
      });
      expect(b.items.map((i) => i.action)).toEqual(['Heartbeat']);
    });

    it('does nothing when the instance is gone locally by the time the answer arrives', async () => {
      const { peers, a, flush } = setup();
      peers.missingOnPeer(peers.nodes[0], 'ORDERS', 'nobody');
      expect(peers.nodes[0].queueDepth).toBe(0);
      await flush(1000);
      expect(a.bodies).toEqual([]);
    });
  });

  describe('newerOnPeer', () => {
    it("adopts the peer's newer copy as a replicated registration, without forwarding it", async () => {
      const { registry, a, b, events, flush } = setup();
      registry.register(makeInstance({ lastDirtyTimestamp: 1 }), true);
      const peerView = makeRegistry();
      peerView.registry.register(makeInstance({ lastDirtyTimestamp: 5, status: 'DOWN', metadata: { from: 'peer' } }));
      const entity = JSON.parse(instanceJson(peerView.registry.lease('ORDERS', ID)!));
      a.answer(ok({ statusCode: 409, responseEntity: entity }));
      registry.renew('ORDERS', ID, { isReplication: false });
      await flush();
      await flush(1000);
      const adopted = registry.lease('ORDERS', ID)!.record.instance;
      expect(adopted).toMatchObject({ lastDirtyTimestamp: 5, status: 'DOWN', metadata: { from: 'peer' } });
      const registered = events.filter((e) => e.type === 'registered');
      expect(registered).toHaveLength(2);
      expect(registered[1]).toMatchObject({ isReplication: true, isNew: false });
      expect(a.items.map((i) => i.action)).toEqual(['Heartbeat']);
      expect(b.items.map((i) => i.action)).toEqual(['Heartbeat']);
    });

    it("stores the peer's override along with its copy", () => {
      const { registry, peers } = setup();
      registry.register(makeInstance({ lastDirtyTimestamp: 1 }), true);
      const entity = { ...JSON.parse(instanceJson(registry.lease('ORDERS', ID)!)), status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE', lastDirtyTimestamp: '9' };
      peers.newerOnPeer(peers.nodes[0], 'ORDERS', ID, entity);
      expect(registry.statusOverrides().get(`ORDERS/${ID}`)).toBe('OUT_OF_SERVICE');
      expect(registry.lease('ORDERS', ID)!.record.instance).toMatchObject({ status: 'OUT_OF_SERVICE', lastDirtyTimestamp: 9 });
    });

    it("replaces a local override with the different one the peer's newer copy carries", () => {
      const { registry, peers } = setup();
      registry.register(makeInstance({ lastDirtyTimestamp: 1 }), true);
      registry.statusUpdate('ORDERS', ID, 'OUT_OF_SERVICE', 10, true);
      const entity = { ...JSON.parse(instanceJson(registry.lease('ORDERS', ID)!)), status: 'UP', overriddenStatus: 'UP', lastDirtyTimestamp: '20' };
      peers.newerOnPeer(peers.nodes[0], 'ORDERS', ID, entity);
      expect(registry.statusOverrides().get(`ORDERS/${ID}`)).toBe('UP');
      expect(registry.lease('ORDERS', ID)!.record.instance).toMatchObject({ status: 'UP', overriddenStatus: 'UP', lastDirtyTimestamp: 20 });
    });

    it('logs and ignores an entity that is not a valid instance', () => {
      const { registry, peers, logger, events } = setup();
      registry.register(makeInstance(), true);
      const before = events.length;
      peers.newerOnPeer(peers.nodes[0], 'ORDERS', ID, { app: 'ORDERS', instanceId: ID });
      peers.newerOnPeer(peers.nodes[0], 'ORDERS', ID, 'not an object');
      peers.newerOnPeer(peers.nodes[0], 'ORDERS', ID, { ...JSON.parse(instanceJson(registry.lease('ORDERS', ID)!)), port: { $: 'eighty' } });
      expect(events.length).toBe(before);
      expect(logger.messages('warn').filter((m) => m === "cannot adopt a peer's newer copy")).toHaveLength(3);
    });

    it('ignores an entity for another instance', () => {
      const { registry, peers, logger } = setup();
      registry.register(makeInstance(), true);
      const other = { ...JSON.parse(instanceJson(registry.lease('ORDERS', ID)!)), instanceId: 'someone-else' };
      peers.newerOnPeer(peers.nodes[0], 'ORDERS', ID, other);
      expect(registry.lease('ORDERS', 'someone-else')).toBeUndefined();
      expect(logger.lines.at(-1)?.fields?.['reason']).toMatch(/someone-else/);
    });
  });

  describe('a failing peer', () => {
    it('does not delay batches to the other peers', async () => {
      const failing = new ScriptedPeerClient('http://down:8761/eureka/', retry());
      const healthy = new ScriptedPeerClient('http://up:8761/eureka/');
      const { registry, clock, scheduler, peers } = setup([failing, healthy]);
      const receivedAt: number[] = [];
      healthy.fallback = (items) => {
        receivedAt.push(clock.now());
        return allOk(items);
      };
      const registeredAt: number[] = [];
      for (let i = 0; i < 20; i++) {
        registeredAt.push(clock.now());
        registry.register(makeInstance({ id: `i${i}` }));
        await scheduler.advance(1000);
      }
      expect(healthy.items.map((i) => i.id)).toEqual(Array.from({ length: 20 }, (_, i) => `i${i}`));
      receivedAt.forEach((t, i) => expect(t - registeredAt[i]).toBe(OPTIONS.maxBatchingDelayMs));
      expect(peers.nodes[1].stats).toMatchObject({ batchesSent: 20, consecutiveFailures: 0 });
      expect(peers.nodes[0].stats.batchesSent).toBe(0);
      expect(peers.nodes[0].stats.consecutiveFailures).toBeGreaterThan(3);
    });
  });

  describe('close', () => {
    it('stops replicating and closes every peer client', async () => {
      const { registry, peers, a, b, flush } = setup();
      peers.close();
      registry.register(makeInstance());
      await flush(1000);
      expect(a.bodies).toEqual([]);
      expect([a.closed, b.closed]).toEqual([true, true]);
    });
  });

  describe('with a real batch receiver as the peer', () => {
    function pair(server?: string) {
      const here = makeRegistry();
      const there = makeRegistry();
      there.clock.set(here.clock.now());
      const peer = new ReceivingPeer('http://there:8761/eureka/', there.registry, here.clock, server);
      const scheduler = new ManualScheduler(here.clock);
      const peers = new PeerNodes([peer], here.registry, here.clock, scheduler, new RecordingLogger(), OPTIONS, LIMITS);
      return { here, there, peer, scheduler, peers };
    }

    it('installs a registration on the peer as replicated', async () => {
      const { here, there, scheduler } = pair();
      here.registry.register(makeInstance({ metadata: { k: 'v' } }));
      await scheduler.advance(20);
      expect(there.registry.lease('ORDERS', ID)!.record.instance).toMatchObject({ id: ID, app: 'ORDERS', status: 'UP', metadata: { k: 'v' } });
      expect(there.events.map((e) => e.type)).toEqual(['registered']);
      expect(replicatedFlags(there.events)).toEqual([true]);
    });

    it('repairs a peer that missed a registration through the heartbeat 404', async () => {
      const { here, there, peer, scheduler } = pair();
      peer.down = true;
      here.registry.register(makeInstance());
      await scheduler.advance(60_000); // the register expires undelivered
      expect(there.registry.size).toBe(0);
      peer.down = false;
      here.registry.renew('ORDERS', ID, { isReplication: false });
      await scheduler.advance(20);
      await scheduler.advance(20);
      expect(peer.received.map((i) => i.action)).toEqual(['Heartbeat', 'Register']);
      expect(there.registry.lease('ORDERS', ID)).toBeDefined();
    });

    it('adopts the newer copy the peer answers a heartbeat with, and sends nothing back', async () => {
      const { here, there, peer, scheduler } = pair();
      here.registry.register(makeInstance({ lastDirtyTimestamp: 1 }), true);
      there.registry.register(makeInstance({ lastDirtyTimestamp: 5, status: 'DOWN' }), true);
      here.registry.renew('ORDERS', ID, { isReplication: false });
      await scheduler.advance(1000);
      expect(here.registry.lease('ORDERS', ID)!.record.instance).toMatchObject({ lastDirtyTimestamp: 5, status: 'DOWN' });
      expect(peer.received.map((i) => i.action)).toEqual(['Heartbeat']);
    });

    it("hands a health verdict to a zone-registry peer as the verdict, and to a Java peer as a plain DOWN", async () => {
      for (const [server, source] of [['there', 'health'], [undefined, 'client']] as const) {
        const { here, there, scheduler } = pair(server);
        here.registry.register(makeInstance());
        await scheduler.advance(20);
        here.registry.healthVerdict('ORDERS', ID, 'down');
        await scheduler.advance(20);
        expect(there.registry.lease('ORDERS', ID)!.record).toMatchObject({ statusSource: source, instance: expect.objectContaining({ status: 'DOWN', overriddenStatus: 'UNKNOWN' }) });
        expect(there.registry.statusOverrides().size).toBe(0);
        here.registry.healthVerdict('ORDERS', ID, 'up');
        await scheduler.advance(20);
        expect(there.registry.lease('ORDERS', ID)!.record).toMatchObject({ statusSource: 'client', instance: expect.objectContaining({ status: 'UP' }) });
      }
    });

    it('converges a cancel on the peer', async () => {
      const { here, there, scheduler } = pair();
      here.registry.register(makeInstance());
      await scheduler.advance(20);
      here.registry.cancel('ORDERS', ID);
      await scheduler.advance(20);
      expect(there.registry.size).toBe(0);
      expect(replicatedFlags(there.events)).toEqual([true, true]);
    });
  });
});
