// Removals the registry remembers (tombstones) and the time each change happened at the server that took it: a
// stale copy arriving late never brings back what was removed; a newer change always wins.
import { makeInstance } from '../helpers/instances';
import { makeRegistry } from './registry-fixture';

const APP = 'ORDERS';
const ID = 'i-1';

describe('Registry', () => {
  describe('register (replicated, with the time it happened)', () => {
    it('stamps the record with the time the change happened at the server that took it', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance({ id: ID }), true, clock.now() - 5_000);
      expect(registry.lease(APP, ID)?.record.lastUpdatedTimestamp).toBe(clock.now() - 5_000);
    });

    it('never takes a time in its own future from a peer', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance({ id: ID }), true, clock.now() + 60_000);
      expect(registry.lease(APP, ID)?.record.lastUpdatedTimestamp).toBe(clock.now());
    });

    it('ignores a copy older than a cancel remembered here, and takes a newer one', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance({ id: ID, lastDirtyTimestamp: 10 }));
      clock.advance(1_000);
      const cancelledAt = clock.now();
      registry.cancel(APP, ID);
      clock.advance(1_000);
      expect(registry.register(makeInstance({ id: ID, lastDirtyTimestamp: 10 }), true, cancelledAt - 500).kind).toBe('stale');
      expect(registry.lease(APP, ID)).toBeUndefined();
      expect(registry.register(makeInstance({ id: ID, lastDirtyTimestamp: 10 }), true, cancelledAt + 500).kind).toBe('registered');
      expect(registry.cancelTombstone(APP, ID)).toBeUndefined();
    });

    it("always takes a client's own registration after a cancel", () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ id: ID }));
      registry.cancel(APP, ID);
      expect(registry.register(makeInstance({ id: ID })).kind).toBe('registered');
    });

    it('takes a copy whose lastDirtyTimestamp is newer than the cancelled one, whenever it was sent', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance({ id: ID, lastDirtyTimestamp: 10 }));
      registry.cancel(APP, ID);
      expect(registry.register(makeInstance({ id: ID, lastDirtyTimestamp: 20 }), true, clock.now() - 1_000).kind).toBe('registered');
    });
  });

  describe('cancel (replicated)', () => {
    it('ignores a cancel older than the registration it would remove (re-registered since, elsewhere)', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance({ id: ID }));
      expect(registry.cancel(APP, ID, true, clock.now() - 1_000)).toBe('ok');
      expect(registry.lease(APP, ID)).toBeDefined();
    });

    it('remembers a cancel for an instance not here yet, so that its delayed registration stays out', () => {
      const { registry, clock } = makeRegistry();
      expect(registry.cancel(APP, ID, true, clock.now())).toBe('not-found');
      expect(registry.register(makeInstance({ id: ID }), true, clock.now() - 1_000).kind).toBe('stale');
    });

    it('remembers nothing for a cancel that does not say when it happened (a Java peer)', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance({ id: ID }));
      registry.cancel(APP, ID, true);
      expect(registry.cancelTombstone(APP, ID)).toBeUndefined();
      expect(registry.register(makeInstance({ id: ID }), true, clock.now() - 1).kind).toBe('registered');
    });
  });

  describe('status overrides (replicated, out of order)', () => {
    it('ignores an override set before a removal that arrived first', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance({ id: ID, status: 'UP' }));
      const setAt = clock.now() + 10;
      clock.advance(100);
      registry.deleteStatusOverride(APP, ID, undefined, undefined, true, clock.now());
      registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined, true, setAt);
      expect(registry.lease(APP, ID)?.record.instance).toMatchObject({ status: 'UP', overriddenStatus: 'UNKNOWN' });
      expect(registry.statusOverrides().has(`${APP}/${ID}`)).toBe(false);
    });

    it('ignores a removal older than the override it would remove', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance({ id: ID, status: 'UP' }));
      clock.advance(100);
      registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined, true, clock.now());
      registry.deleteStatusOverride(APP, ID, undefined, undefined, true, clock.now() - 50);
      expect(registry.lease(APP, ID)?.record.instance.overriddenStatus).toBe('OUT_OF_SERVICE');
    });

    it('takes an override set after the removal', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance({ id: ID, status: 'UP' }));
      registry.deleteStatusOverride(APP, ID, undefined, undefined, true, clock.now());
      clock.advance(100);
      registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined, true, clock.now());
      expect(registry.lease(APP, ID)?.record.instance.overriddenStatus).toBe('OUT_OF_SERVICE');
      expect(registry.overrideRemovalOf(APP, ID)).toBeUndefined();
    });

    it("does not learn a removed override back from a peer's heartbeat", () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ id: ID, status: 'UP' }));
      registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      registry.deleteStatusOverride(APP, ID, 'UP', undefined);
      registry.renew(APP, ID, { isReplication: true, overriddenStatus: 'OUT_OF_SERVICE' });
      expect(registry.lease(APP, ID)?.record.instance).toMatchObject({ status: 'UP', overriddenStatus: 'UNKNOWN' });
    });
  });

  describe('updateMetadata (replicated)', () => {
    it('keeps the entries as an overlay that survives the next registration, and replicates no further', () => {
      const { registry, events } = makeRegistry();
      registry.register(makeInstance({ id: ID, metadata: { a: '1' } }));
      registry.updateMetadata(APP, ID, { k: 'v' }, true);
      registry.register(makeInstance({ id: ID, metadata: { a: '2' } }));
      expect(registry.lease(APP, ID)?.record.instance.metadata).toEqual({ a: '2', k: 'v' });
      expect(events.find((e) => e.type === 'metadata-updated')).toMatchObject({ isReplication: true, entries: { k: 'v' } });
    });
  });

  describe('pruneTombstones', () => {
    it('forgets removals after tombstoneLifetimeMs', () => {
      const { registry, clock } = makeRegistry({ tombstoneLifetimeMs: 10_000 });
      registry.register(makeInstance({ id: ID }));
      registry.cancel(APP, ID);
      expect(registry.pruneTombstones(clock.now() + 9_999)).toBe(0);
      expect(registry.pruneTombstones(clock.now() + 10_000)).toBe(1);
      expect([...registry.cancelTombstones()]).toEqual([]);
    });

    it('holds at most as many removals as instances may be registered', () => {
      const { registry } = makeRegistry({ maxInstances: 3 });
      for (let i = 0; i < 5; i++) {
        registry.register(makeInstance({ id: `i-${i}` }));
        registry.cancel(APP, `i-${i}`);
      }
      expect([...registry.cancelTombstones()].map((t) => t.id)).toEqual(['i-2', 'i-3', 'i-4']);
    });
  });
});
