import { InstanceStatus, InstanceView } from '../../src/domain/model';
import { RegistryEvent } from '../../src/domain/registry';
import { makeInstance } from '../helpers/instances';
import { DELTA_RETENTION_MS, makeRegistry } from './registry-fixture';

const APP = 'ORDERS';
const ID = '10.0.0.7:orders:8080';

function registered(outcome: ReturnType<ReturnType<typeof makeRegistry>['registry']['register']>): InstanceView {
  if (outcome.kind !== 'registered') throw new Error(`expected registered, got ${outcome.kind}`);
  return outcome.view;
}

function ofType<T extends RegistryEvent['type']>(events: RegistryEvent[], type: T): Extract<RegistryEvent, { type: T }>[] {
  return events.filter((e): e is Extract<RegistryEvent, { type: T }> => e.type === type);
}

function statusOf(fixture: ReturnType<typeof makeRegistry>, id = ID): InstanceStatus | undefined {
  return fixture.registry.lease(APP, id)?.record.instance.status;
}

describe('Registry', () => {
  describe('register', () => {
    it('stores a new instance with its reported status as an ADDED record', () => {
      const { registry, clock } = makeRegistry();
      const view = registered(registry.register(makeInstance()));
      expect(registry.size).toBe(1);
      expect(registry.lease(APP, ID)).toBe(view);
      expect(view.record).toMatchObject({
        actionType: 'ADDED',
        statusSource: 'client',
        registrationTimestamp: clock.now(),
        lastUpdatedTimestamp: clock.now(),
        serviceUpTimestamp: clock.now(),
        evictionTimestamp: 0,
      });
      expect(view.record.instance).toMatchObject({ status: 'UP', overriddenStatus: 'UNKNOWN' });
      expect(view.lastRenewalTimestamp).toBe(clock.now());
    });

    it('emits registered with isNew true for a new instance and false for a re-registration', () => {
      const { registry, events } = makeRegistry();
      const first = makeInstance();
      const second = makeInstance({ lastDirtyTimestamp: 2 });
      registry.register(first);
      registry.register(second, true);
      expect(ofType(events, 'registered').map((e) => [e.isNew, e.isReplication, e.incoming])).toEqual([
        [true, false, first],
        [false, true, second],
      ]);
    });

    it('keeps one lease per id on re-registration', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance());
      registry.register(makeInstance());
      expect(registry.size).toBe(1);
      expect(registry.hashcode()).toBe('UP_1_');
    });

    it('gives the lease the duration the instance asks for', () => {
      const { registry, clock } = makeRegistry();
      const lease = registry.lease(APP, registered(registry.register(makeInstance({ durationSecs: 30 }))).record.instance.id)!;
      expect(lease.durationMs).toBe(30_000);
      expect(lease.isExpired(clock.now() + 30_000)).toBe(false);
      expect(lease.isExpired(clock.now() + 30_001)).toBe(true);
    });

    it('uses the default lease duration when the instance asks for 0', () => {
      const { registry, clock } = makeRegistry({ defaultLeaseDurationMs: 40_000 });
      registry.register(makeInstance({ durationSecs: 0 }));
      const lease = registry.lease(APP, ID)!;
      expect(lease.durationMs).toBe(40_000);
      expect(lease.isExpired(clock.now() + 40_000)).toBe(false);
      expect(lease.isExpired(clock.now() + 40_001)).toBe(true);
    });

    it('keeps the stored instance when its lastDirtyTimestamp is newer', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ lastDirtyTimestamp: 200, metadata: { v: 'stored' } }));
      registry.register(makeInstance({ lastDirtyTimestamp: 100, metadata: { v: 'incoming' } }));
      expect(registry.lease(APP, ID)!.record.instance).toMatchObject({ lastDirtyTimestamp: 200, metadata: { v: 'stored' } });
    });

    it('takes the incoming instance when lastDirtyTimestamps are equal', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ lastDirtyTimestamp: 200, metadata: { v: 'stored' } }));
      registry.register(makeInstance({ lastDirtyTimestamp: 200, metadata: { v: 'incoming' } }));
      expect(registry.lease(APP, ID)!.record.instance.metadata).toEqual({ v: 'incoming' });
    });

    it('takes the incoming instance when its lastDirtyTimestamp is newer', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ lastDirtyTimestamp: 100, metadata: { v: 'stored' } }));
      registry.register(makeInstance({ lastDirtyTimestamp: 200, metadata: { v: 'incoming' } }));
      expect(registry.lease(APP, ID)!.record.instance).toMatchObject({ lastDirtyTimestamp: 200, metadata: { v: 'incoming' } });
    });

    it('resets the registration time but keeps serviceUpTimestamp on re-registration', () => {
      const { registry, clock } = makeRegistry();
      const t0 = clock.now();
      registry.register(makeInstance());
      clock.advance(10_000);
      const view = registered(registry.register(makeInstance()));
      expect(view.record.registrationTimestamp).toBe(t0 + 10_000);
      expect(view.record.serviceUpTimestamp).toBe(t0);
    });

    it('sets serviceUpTimestamp only once the instance is UP', () => {
      const { registry, clock } = makeRegistry();
      expect(registered(registry.register(makeInstance({ status: 'STARTING' }))).record.serviceUpTimestamp).toBe(0);
      clock.advance(5_000);
      expect(registered(registry.register(makeInstance({ status: 'UP' }))).record.serviceUpTimestamp).toBe(clock.now());
    });

    it('lets a client that reported OUT_OF_SERVICE itself come back UP', () => {
      const fixture = makeRegistry();
      fixture.registry.register(makeInstance({ status: 'OUT_OF_SERVICE' }));
      expect(statusOf(fixture)).toBe('OUT_OF_SERVICE');
      fixture.registry.register(makeInstance({ status: 'UP' }));
      expect(statusOf(fixture)).toBe('UP');
    });

    it('keeps an operator override when the client re-registers UP', () => {
      const fixture = makeRegistry();
      fixture.registry.register(makeInstance());
      fixture.registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      const view = registered(fixture.registry.register(makeInstance({ status: 'UP' })));
      expect(view.record.instance).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
      expect(view.record.statusSource).toBe('override');
    });

    it('believes a client that re-registers DOWN despite an override', () => {
      const fixture = makeRegistry();
      fixture.registry.register(makeInstance());
      fixture.registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      fixture.registry.register(makeInstance({ status: 'DOWN' }));
      expect(statusOf(fixture)).toBe('DOWN');
      expect(fixture.registry.lease(APP, ID)!.record.instance.overriddenStatus).toBe('OUT_OF_SERVICE');
    });

    it('believes a client that re-registers STARTING after UP', () => {
      const fixture = makeRegistry();
      fixture.registry.register(makeInstance());
      fixture.registry.register(makeInstance({ status: 'STARTING' }));
      expect(statusOf(fixture)).toBe('STARTING');
    });

    it('learns an override carried by a replicated registration', () => {
      const fixture = makeRegistry();
      fixture.registry.register(makeInstance({ status: 'UP', overriddenStatus: 'OUT_OF_SERVICE' }), true);
      expect(statusOf(fixture)).toBe('OUT_OF_SERVICE');
      expect(fixture.registry.statusOverrides().get(`${APP}/${ID}`)).toBe('OUT_OF_SERVICE');
    });

    it('does not replace an override it already has with a carried one', () => {
      const fixture = makeRegistry();
      fixture.registry.register(makeInstance());
      fixture.registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      fixture.registry.register(makeInstance({ overriddenStatus: 'UP' }), true);
      expect(statusOf(fixture)).toBe('OUT_OF_SERVICE');
      expect(fixture.registry.statusOverrides().get(`${APP}/${ID}`)).toBe('OUT_OF_SERVICE');
    });

    it("refuses a new instance beyond maxInstancesPerApp with kind 'app-full'", () => {
      const { registry, events } = makeRegistry({ maxInstancesPerApp: 2 });
      registry.register(makeInstance({ id: 'a' }));
      registry.register(makeInstance({ id: 'b' }));
      const revision = registry.revision;
      events.length = 0;
      expect(registry.register(makeInstance({ id: 'c' }))).toEqual({ kind: 'app-full', limit: 2 });
      expect(registry.lease(APP, 'c')).toBeUndefined();
      expect(registry.size).toBe(2);
      expect(registry.revision).toBe(revision);
      expect(events).toEqual([]);
    });

    it("refuses a new instance beyond maxInstances in any app with kind 'registry-full', and still accepts re-registrations", () => {
      const { registry, events } = makeRegistry({ maxInstances: 2 });
      registry.register(makeInstance({ id: 'a' }));
      registry.register(makeInstance({ app: 'BILLING', id: 'b' }));
      events.length = 0;
      expect(registry.register(makeInstance({ app: 'CATALOG', id: 'c' }))).toEqual({ kind: 'registry-full', limit: 2 });
      expect(registry.size).toBe(2);
      expect(events).toEqual([]);
      expect(registry.register(makeInstance({ id: 'a', lastDirtyTimestamp: 2 })).kind).toBe('registered');
      registry.cancel(APP, 'a');
      expect(registry.register(makeInstance({ app: 'CATALOG', id: 'c' })).kind).toBe('registered');
    });

    it('still accepts re-registrations and other apps when an app is full', () => {
      const { registry } = makeRegistry({ maxInstancesPerApp: 1 });
      registry.register(makeInstance({ id: 'a' }));
      expect(registry.register(makeInstance({ id: 'a' })).kind).toBe('registered');
      expect(registry.register(makeInstance({ app: 'BILLING', id: 'b' })).kind).toBe('registered');
    });
  });

  describe('renew', () => {
    it("returns 'not-found' for an unknown instance", () => {
      const { registry, events } = makeRegistry();
      expect(registry.renew(APP, ID, { isReplication: false })).toBe('not-found');
      expect(events).toEqual([]);
    });

    it('renews the lease at now and emits renewed', () => {
      const { registry, clock, events } = makeRegistry();
      registry.register(makeInstance());
      clock.advance(30_000);
      expect(registry.renew(APP, ID, { isReplication: true })).toBe('ok');
      expect(registry.lease(APP, ID)!.lastRenewalTimestamp).toBe(clock.now());
      const lease = registry.lease(APP, ID)!;
      expect(ofType(events, 'renewed')).toEqual([{ type: 'renewed', app: APP, id: ID, view: lease, isReplication: true, first: true }]);
    });

    it('marks the first heartbeat since registration, and keeps the lease renewed across a re-registration', () => {
      const { registry, events } = makeRegistry();
      registry.register(makeInstance());
      expect(registry.lease(APP, ID)!.renewed).toBe(false);
      registry.renew(APP, ID, { isReplication: false });
      registry.renew(APP, ID, { isReplication: false });
      registry.register(makeInstance({ lastDirtyTimestamp: 2 }));
      registry.renew(APP, ID, { isReplication: false });
      expect(ofType(events, 'renewed').map((e) => e.first)).toEqual([true, false, false]);
      expect(ofType(events, 'registered').map((e) => e.renewed)).toEqual([false, true]);
      expect(registry.lease(APP, ID)!.renewed).toBe(true);
      registry.cancel(APP, ID);
      expect(ofType(events, 'cancelled').map((e) => e.renewed)).toEqual([true]);
    });

    it('lets the lease expire one duration after the last heartbeat', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance({ durationSecs: 90 }));
      clock.advance(60_000);
      registry.renew(APP, ID, { isReplication: false });
      const lease = registry.lease(APP, ID)!;
      expect(lease.isExpired(clock.now() + 90_000)).toBe(false);
      expect(lease.isExpired(clock.now() + 90_001)).toBe(true);
    });

    it('changes neither the record, the revision nor the delta log', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance());
      const record = registry.lease(APP, ID)!.record;
      const revision = registry.revision;
      const delta = registry.deltaChanges(clock.now());
      clock.advance(30_000);
      registry.renew(APP, ID, { isReplication: false, lastDirtyTimestamp: 1 });
      expect(registry.lease(APP, ID)!.record).toBe(record);
      expect(registry.revision).toBe(revision);
      expect(registry.deltaChanges(clock.now())).toEqual(delta);
    });

    it("returns 'ok' when lastDirtyTimestamps are equal", () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ lastDirtyTimestamp: 100 }));
      expect(registry.renew(APP, ID, { isReplication: true, lastDirtyTimestamp: 100 })).toBe('ok');
    });

    it("returns 'not-found' when the sender's lastDirtyTimestamp is newer, and still renews the lease", () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance({ lastDirtyTimestamp: 100 }));
      clock.advance(30_000);
      expect(registry.renew(APP, ID, { isReplication: false, lastDirtyTimestamp: 200 })).toBe('not-found');
      expect(registry.lease(APP, ID)!.lastRenewalTimestamp).toBe(clock.now());
    });

    it('stores the override a peer sends with a newer lastDirtyTimestamp', () => {
      const fixture = makeRegistry();
      fixture.registry.register(makeInstance({ lastDirtyTimestamp: 100 }));
      expect(fixture.registry.renew(APP, ID, { isReplication: true, lastDirtyTimestamp: 200, overriddenStatus: 'OUT_OF_SERVICE' })).toBe('not-found');
      expect(fixture.registry.statusOverrides().get(`${APP}/${ID}`)).toBe('OUT_OF_SERVICE');
      fixture.registry.register(makeInstance({ lastDirtyTimestamp: 200 }), true);
      expect(statusOf(fixture)).toBe('OUT_OF_SERVICE');
    });

    it('ignores an UNKNOWN override from a peer', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ lastDirtyTimestamp: 100 }));
      registry.renew(APP, ID, { isReplication: true, lastDirtyTimestamp: 200, overriddenStatus: 'UNKNOWN' });
      expect(registry.statusOverrides().size).toBe(0);
    });

    it('ignores an override sent by a client', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ lastDirtyTimestamp: 100 }));
      registry.renew(APP, ID, { isReplication: false, lastDirtyTimestamp: 200, overriddenStatus: 'OUT_OF_SERVICE' });
      expect(registry.statusOverrides().size).toBe(0);
    });

    it('answers a peer with an older lastDirtyTimestamp with a conflict carrying the stored instance, and still renews', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance({ lastDirtyTimestamp: 200 }));
      clock.advance(30_000);
      const outcome = registry.renew(APP, ID, { isReplication: true, lastDirtyTimestamp: 100 });
      expect(outcome).toEqual({ conflict: expect.anything() });
      if (typeof outcome === 'string') throw new Error('expected a conflict');
      expect(outcome.conflict.record.instance.lastDirtyTimestamp).toBe(200);
      expect(outcome.conflict.record.instance.id).toBe(ID);
      expect(registry.lease(APP, ID)!.lastRenewalTimestamp).toBe(clock.now());
    });

    it("returns 'ok' to a client with an older lastDirtyTimestamp", () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ lastDirtyTimestamp: 200 }));
      expect(registry.renew(APP, ID, { isReplication: false, lastDirtyTimestamp: 100 })).toBe('ok');
    });

    it("returns 'not-found' while the stored status is UNKNOWN", () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance());
      registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      registry.deleteStatusOverride(APP, ID, undefined, undefined);
      expect(registry.renew(APP, ID, { isReplication: false })).toBe('not-found');
    });
  });

  describe('cancel', () => {
    it('removes the instance and emits cancelled with a DELETED view', () => {
      const { registry, clock, events } = makeRegistry();
      registry.register(makeInstance());
      clock.advance(1_000);
      expect(registry.cancel(APP, ID, true)).toBe('ok');
      expect(registry.lease(APP, ID)).toBeUndefined();
      expect(registry.size).toBe(0);
      const [cancelled] = ofType(events, 'cancelled');
      expect(cancelled.isReplication).toBe(true);
      expect(cancelled.view.record).toMatchObject({ actionType: 'DELETED', evictionTimestamp: clock.now(), lastUpdatedTimestamp: clock.now() });
      expect(cancelled.view.record.instance.id).toBe(ID);
    });

    it("returns 'not-found' for an unknown instance without emitting", () => {
      const { registry, events } = makeRegistry();
      expect(registry.cancel(APP, ID)).toBe('not-found');
      expect(events).toEqual([]);
    });

    it('removes the status override so a re-registration is UP again', () => {
      const fixture = makeRegistry();
      fixture.registry.register(makeInstance());
      fixture.registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      fixture.registry.cancel(APP, ID);
      expect(fixture.registry.statusOverrides().size).toBe(0);
      fixture.registry.register(makeInstance({ status: 'UP' }));
      expect(statusOf(fixture)).toBe('UP');
    });

    it('forgets metadata set through updateMetadata', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance());
      registry.updateMetadata(APP, ID, { zone: 'b' });
      registry.cancel(APP, ID);
      registry.register(makeInstance());
      expect(registry.lease(APP, ID)!.record.instance.metadata).toEqual({});
    });

    it('drops the app once its last instance is gone', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance());
      registry.cancel(APP, ID);
      expect(Array.from(registry.applications())).toEqual([]);
    });
  });

  describe('evict', () => {
    it('removes the instance, emits evicted and returns the DELETED view', () => {
      const { registry, clock, events } = makeRegistry();
      registry.register(makeInstance());
      clock.advance(91_000);
      const view = registry.evict(APP, ID);
      expect(view?.record).toMatchObject({ actionType: 'DELETED', evictionTimestamp: clock.now() });
      expect(registry.size).toBe(0);
      expect(ofType(events, 'evicted')).toEqual([{ type: 'evicted', view, renewed: false }]);
    });

    it('removes the status override', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance());
      registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      registry.evict(APP, ID);
      expect(registry.statusOverrides().size).toBe(0);
    });

    it('returns undefined for an unknown instance without emitting', () => {
      const { registry, events } = makeRegistry();
      expect(registry.evict(APP, ID)).toBeUndefined();
      expect(events).toEqual([]);
    });
  });

  describe('statusUpdate', () => {
    it("returns 'not-found' for an unknown instance", () => {
      const { registry } = makeRegistry();
      expect(registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined)).toBe('not-found');
      expect(registry.statusOverrides().size).toBe(0);
    });

    it('sets status and overriddenStatus as a MODIFIED override record', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance());
      clock.advance(1_000);
      expect(registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined)).toBe('ok');
      const record = registry.lease(APP, ID)!.record;
      expect(record.instance).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
      expect(record).toMatchObject({ actionType: 'MODIFIED', statusSource: 'override', lastUpdatedTimestamp: clock.now() });
      expect(registry.statusOverrides().get(`${APP}/${ID}`)).toBe('OUT_OF_SERVICE');
    });

    it('renews the lease', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance());
      clock.advance(60_000);
      registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      expect(registry.lease(APP, ID)!.lastRenewalTimestamp).toBe(clock.now());
    });

    it('emits status-updated with the previous status', () => {
      const { registry, events } = makeRegistry();
      registry.register(makeInstance());
      registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined, true);
      const [event] = ofType(events, 'status-updated');
      expect(event).toMatchObject({ previous: 'UP', isReplication: true });
      expect(event.view.record.instance.status).toBe('OUT_OF_SERVICE');
    });

    it('records the override even when the status is already equal', () => {
      const fixture = makeRegistry();
      fixture.registry.register(makeInstance());
      fixture.registry.statusUpdate(APP, ID, 'UP', undefined);
      expect(fixture.registry.statusOverrides().get(`${APP}/${ID}`)).toBe('UP');
      fixture.registry.register(makeInstance({ status: 'OUT_OF_SERVICE' }));
      expect(statusOf(fixture)).toBe('UP');
    });

    it('adopts a newer lastDirtyTimestamp and ignores an older one', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ lastDirtyTimestamp: 100 }));
      registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', 50);
      expect(registry.lease(APP, ID)!.record.instance.lastDirtyTimestamp).toBe(100);
      registry.statusUpdate(APP, ID, 'UP', 300);
      expect(registry.lease(APP, ID)!.record.instance.lastDirtyTimestamp).toBe(300);
    });

    it('marks the instance service-up the first time it is set UP', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance({ status: 'STARTING' }));
      clock.advance(2_000);
      registry.statusUpdate(APP, ID, 'UP', undefined);
      expect(registry.lease(APP, ID)!.record.serviceUpTimestamp).toBe(clock.now());
    });
  });

  describe('deleteStatusOverride', () => {
    it("returns 'not-found' for an unknown instance", () => {
      const { registry } = makeRegistry();
      expect(registry.deleteStatusOverride(APP, ID, undefined, undefined)).toBe('not-found');
    });

    it('removes the override and sets the status to UNKNOWN as a MODIFIED client record', () => {
      const { registry, events } = makeRegistry();
      registry.register(makeInstance());
      registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      expect(registry.deleteStatusOverride(APP, ID, undefined, undefined, true)).toBe('ok');
      const record = registry.lease(APP, ID)!.record;
      expect(record.instance).toMatchObject({ status: 'UNKNOWN', overriddenStatus: 'UNKNOWN' });
      expect(record).toMatchObject({ actionType: 'MODIFIED', statusSource: 'client' });
      expect(registry.statusOverrides().size).toBe(0);
      expect(ofType(events, 'status-override-deleted')).toEqual([
        { type: 'status-override-deleted', view: registry.lease(APP, ID), previous: 'OUT_OF_SERVICE', isReplication: true },
      ]);
    });

    it('makes the next heartbeat not-found so the client re-registers UP', () => {
      const fixture = makeRegistry();
      fixture.registry.register(makeInstance());
      fixture.registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      fixture.registry.deleteStatusOverride(APP, ID, undefined, undefined);
      expect(fixture.registry.renew(APP, ID, { isReplication: false })).toBe('not-found');
      fixture.registry.register(makeInstance({ status: 'UP', lastDirtyTimestamp: 2 }));
      expect(statusOf(fixture)).toBe('UP');
      expect(fixture.registry.lease(APP, ID)!.record.statusSource).toBe('client');
      expect(fixture.registry.renew(APP, ID, { isReplication: false })).toBe('ok');
    });

    it('lets a re-registration with an older lastDirtyTimestamp clear the UNKNOWN status instead of looping on 404', () => {
      const fixture = makeRegistry();
      fixture.registry.register(makeInstance({ lastDirtyTimestamp: 100 }));
      fixture.registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      fixture.registry.deleteStatusOverride(APP, ID, undefined, 300);
      fixture.registry.register(makeInstance({ status: 'UP', lastDirtyTimestamp: 100 }));
      expect(statusOf(fixture)).toBe('UP');
      expect(fixture.registry.lease(APP, ID)!.record.instance.lastDirtyTimestamp).toBe(300);
      expect(fixture.registry.renew(APP, ID, { isReplication: false })).toBe('ok');
    });

    it('uses the interim status until the client re-registers', () => {
      const fixture = makeRegistry();
      fixture.registry.register(makeInstance());
      fixture.registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      fixture.registry.deleteStatusOverride(APP, ID, 'OUT_OF_SERVICE', undefined);
      expect(statusOf(fixture)).toBe('OUT_OF_SERVICE');
      expect(fixture.registry.renew(APP, ID, { isReplication: false })).toBe('ok');
      fixture.registry.register(makeInstance({ status: 'UP' }));
      expect(statusOf(fixture)).toBe('UP');
    });

    it('adopts a newer lastDirtyTimestamp', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ lastDirtyTimestamp: 100 }));
      registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      registry.deleteStatusOverride(APP, ID, undefined, 300);
      expect(registry.lease(APP, ID)!.record.instance.lastDirtyTimestamp).toBe(300);
    });

    it("answers 'ok' without changing anything when there is no override, but renews the lease", () => {
      const { registry, clock, events } = makeRegistry();
      registry.register(makeInstance());
      const record = registry.lease(APP, ID)!.record;
      const revision = registry.revision;
      clock.advance(10_000);
      events.length = 0;
      expect(registry.deleteStatusOverride(APP, ID, undefined, undefined)).toBe('ok');
      expect(registry.lease(APP, ID)!.record).toBe(record);
      expect(registry.revision).toBe(revision);
      expect(events).toEqual([]);
      expect(registry.lease(APP, ID)!.lastRenewalTimestamp).toBe(clock.now());
    });
  });

  describe('updateMetadata', () => {
    it("returns 'not-found' for an unknown instance", () => {
      const { registry } = makeRegistry();
      expect(registry.updateMetadata(APP, ID, { zone: 'b' })).toBe('not-found');
    });

    it('merges the entries into an ADDED record and emits metadata-updated', () => {
      const { registry, events } = makeRegistry();
      registry.register(makeInstance({ metadata: { keep: '1', zone: 'a' } }));
      expect(registry.updateMetadata(APP, ID, { zone: 'b' })).toBe('ok');
      const record = registry.lease(APP, ID)!.record;
      expect(record.instance.metadata).toEqual({ keep: '1', zone: 'b' });
      expect(record.actionType).toBe('ADDED');
      expect(record.instance.status).toBe('UP');
      expect(ofType(events, 'metadata-updated')).toHaveLength(1);
    });

    it('keeps the entries when the client re-registers with its own metadata', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ metadata: { zone: 'a' } }));
      registry.updateMetadata(APP, ID, { zone: 'b', weight: '5' });
      registry.register(makeInstance({ metadata: { zone: 'a', version: '2' }, lastDirtyTimestamp: 2 }));
      expect(registry.lease(APP, ID)!.record.instance.metadata).toEqual({ zone: 'b', weight: '5', version: '2' });
    });

    it('accumulates entries over several updates', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance());
      registry.updateMetadata(APP, ID, { a: '1' });
      registry.updateMetadata(APP, ID, { b: '2' });
      registry.register(makeInstance());
      expect(registry.lease(APP, ID)!.record.instance.metadata).toEqual({ a: '1', b: '2' });
    });
  });

  describe('revision', () => {
    it('starts at 0', () => {
      expect(makeRegistry().registry.revision).toBe(0);
    });

    it.each<[string, (f: ReturnType<typeof makeRegistry>) => unknown]>([
      ['register', (f) => f.registry.register(makeInstance({ status: 'DOWN' }))],
      ['re-register', (f) => f.registry.register(makeInstance())],
      ['statusUpdate', (f) => f.registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined)],
      ['updateMetadata', (f) => f.registry.updateMetadata(APP, ID, { zone: 'b' })],
      ['cancel', (f) => f.registry.cancel(APP, ID)],
      ['evict', (f) => f.registry.evict(APP, ID)],
    ])('moves on %s', (_name, change) => {
      const fixture = makeRegistry();
      fixture.registry.register(makeInstance());
      const before = fixture.registry.revision;
      change(fixture);
      expect(fixture.registry.revision).toBeGreaterThan(before);
    });

    it('moves on deleteStatusOverride when an override existed', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance());
      registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      const before = registry.revision;
      registry.deleteStatusOverride(APP, ID, undefined, undefined);
      expect(registry.revision).toBeGreaterThan(before);
    });

    it('does not move on renew, with or without a dirty-timestamp mismatch', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ lastDirtyTimestamp: 100 }));
      const before = registry.revision;
      registry.renew(APP, ID, { isReplication: false });
      registry.renew(APP, ID, { isReplication: true, lastDirtyTimestamp: 50 });
      registry.renew(APP, ID, { isReplication: false, lastDirtyTimestamp: 200 });
      expect(registry.revision).toBe(before);
    });

    it('stamps each new record with the revision it was written at', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance());
      expect(registry.lease(APP, ID)!.record.revision).toBe(registry.revision);
      registry.statusUpdate(APP, ID, 'DOWN', undefined);
      expect(registry.lease(APP, ID)!.record.revision).toBe(registry.revision);
    });
  });

  describe('hashcode', () => {
    it('is empty for an empty registry', () => {
      expect(makeRegistry().registry.hashcode()).toBe('');
    });

    it('tracks registrations, status changes and cancels', () => {
      const { registry } = makeRegistry();
      for (const id of ['a', 'b', 'c']) registry.register(makeInstance({ id }));
      expect(registry.hashcode()).toBe('UP_3_');
      registry.statusUpdate(APP, 'a', 'DOWN', undefined);
      expect(registry.hashcode()).toBe('DOWN_1_UP_2_');
      registry.register(makeInstance({ id: 'b', status: 'STARTING' }));
      expect(registry.hashcode()).toBe('DOWN_1_STARTING_1_UP_1_');
      registry.cancel(APP, 'c');
      expect(registry.hashcode()).toBe('DOWN_1_STARTING_1_');
      registry.evict(APP, 'a');
      expect(registry.hashcode()).toBe('STARTING_1_');
    });

    it('counts instances of every app', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ id: 'a' }));
      registry.register(makeInstance({ app: 'BILLING', id: 'b', status: 'OUT_OF_SERVICE' }));
      expect(registry.hashcode()).toBe('OUT_OF_SERVICE_1_UP_1_');
      expect(registry.statusCounts()).toEqual({ DOWN: 0, OUT_OF_SERVICE: 1, STARTING: 0, UNKNOWN: 0, UP: 1 });
    });

    it('follows an override deletion to UNKNOWN and the re-registration back to UP', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance());
      registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      expect(registry.hashcode()).toBe('OUT_OF_SERVICE_1_');
      registry.deleteStatusOverride(APP, ID, undefined, undefined);
      expect(registry.hashcode()).toBe('UNKNOWN_1_');
      registry.register(makeInstance());
      expect(registry.hashcode()).toBe('UP_1_');
    });

    it('agrees with the statuses of the served leases', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ id: 'a' }));
      registry.register(makeInstance({ id: 'b', overriddenStatus: 'OUT_OF_SERVICE' }), true);
      registry.statusUpdate(APP, 'a', 'DOWN', undefined);
      const counts: Record<string, number> = {};
      for (const lease of registry.leases()) counts[lease.record.instance.status] = (counts[lease.record.instance.status] ?? 0) + 1;
      expect(registry.statusCounts()).toMatchObject(counts);
      expect(registry.hashcode()).toBe('DOWN_1_OUT_OF_SERVICE_1_');
    });
  });

  describe('deltaChanges', () => {
    const actions = (views: InstanceView[]) => views.map((v) => [v.record.instance.id, v.record.actionType]);

    it('lists a registration as ADDED', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance());
      expect(actions(registry.deltaChanges(clock.now()))).toEqual([[ID, 'ADDED']]);
    });

    it('keeps one entry per instance with the latest action: register then statusUpdate → MODIFIED', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance());
      registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      const changes = registry.deltaChanges(clock.now());
      expect(actions(changes)).toEqual([[ID, 'MODIFIED']]);
      expect(changes[0].record.instance.status).toBe('OUT_OF_SERVICE');
    });

    it('records an override deletion as MODIFIED', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance());
      registry.statusUpdate(APP, ID, 'OUT_OF_SERVICE', undefined);
      registry.deleteStatusOverride(APP, ID, undefined, undefined);
      const changes = registry.deltaChanges(clock.now());
      expect(actions(changes)).toEqual([[ID, 'MODIFIED']]);
      expect(changes[0].record.instance.status).toBe('UNKNOWN');
    });

    it('lists a cancel as DELETED with an eviction timestamp', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance());
      clock.advance(1_000);
      registry.cancel(APP, ID);
      const changes = registry.deltaChanges(clock.now());
      expect(actions(changes)).toEqual([[ID, 'DELETED']]);
      expect(changes[0].record.evictionTimestamp).toBeGreaterThan(0);
      expect(changes[0].record.evictionTimestamp).toBe(clock.now());
    });

    it('lists an eviction as DELETED', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance());
      clock.advance(91_000);
      registry.evict(APP, ID);
      expect(actions(registry.deltaChanges(clock.now()))).toEqual([[ID, 'DELETED']]);
    });

    it('lists cancel then re-register as ADDED', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance());
      registry.cancel(APP, ID);
      registry.register(makeInstance());
      const changes = registry.deltaChanges(clock.now());
      expect(actions(changes)).toEqual([[ID, 'ADDED']]);
      expect(changes[0].record.evictionTimestamp).toBe(0);
    });

    it('lists a metadata update as ADDED', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance());
      registry.statusUpdate(APP, ID, 'DOWN', undefined);
      registry.updateMetadata(APP, ID, { zone: 'b' });
      const changes = registry.deltaChanges(clock.now());
      expect(actions(changes)).toEqual([[ID, 'ADDED']]);
      expect(changes[0].record.instance.metadata).toEqual({ zone: 'b' });
    });

    it('does not record heartbeats, nor follow them in recorded entries', () => {
      const { registry, clock } = makeRegistry();
      const t0 = clock.now();
      registry.register(makeInstance());
      clock.advance(30_000);
      registry.renew(APP, ID, { isReplication: false });
      const changes = registry.deltaChanges(clock.now());
      expect(changes).toHaveLength(1);
      expect(changes[0].lastRenewalTimestamp).toBe(t0);
    });

    it('orders instances by their latest change, oldest first', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance({ id: 'a' }));
      clock.advance(1_000);
      registry.register(makeInstance({ id: 'b' }));
      clock.advance(1_000);
      registry.statusUpdate(APP, 'a', 'DOWN', undefined);
      expect(actions(registry.deltaChanges(clock.now()))).toEqual([
        ['b', 'ADDED'],
        ['a', 'MODIFIED'],
      ]);
    });

    it('drops changes older than the retention window and keeps those exactly at it', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance({ id: 'old' }));
      clock.advance(1);
      registry.register(makeInstance({ id: 'new' }));
      clock.advance(DELTA_RETENTION_MS);
      // 'old' is now retention + 1 ms old, 'new' exactly retention old.
      expect(actions(registry.deltaChanges(clock.now()))).toEqual([['new', 'ADDED']]);
    });

    it('prunes with pruneDelta and reports how many entries went', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance({ id: 'a' }));
      registry.register(makeInstance({ id: 'b' }));
      clock.advance(1_000);
      registry.register(makeInstance({ id: 'c' }));
      expect(registry.deltaSize).toBe(3);
      expect(registry.pruneDelta(clock.now() + DELTA_RETENTION_MS - 1_000)).toBe(0);
      expect(registry.pruneDelta(clock.now() + DELTA_RETENTION_MS - 999)).toBe(2);
      expect(registry.deltaSize).toBe(1);
    });

    it('keeps instances that are still registered in the registry after their delta entry is pruned', () => {
      const { registry, clock } = makeRegistry();
      registry.register(makeInstance());
      clock.advance(DELTA_RETENTION_MS + 1);
      expect(registry.deltaChanges(clock.now())).toEqual([]);
      expect(registry.lease(APP, ID)).toBeDefined();
    });
  });

  describe('subscribe', () => {
    it('stops delivering events after unsubscribe', () => {
      const { registry } = makeRegistry();
      const seen: string[] = [];
      const unsubscribe = registry.subscribe((e) => seen.push(e.type));
      registry.register(makeInstance());
      unsubscribe();
      registry.cancel(APP, ID);
      expect(seen).toEqual(['registered']);
    });
  });

  describe('lookups', () => {
    it('finds an instance by id in any app', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ id: 'a' }));
      registry.register(makeInstance({ app: 'BILLING', id: 'b' }));
      expect(registry.findById('b')?.record.instance.app).toBe('BILLING');
      expect(registry.findById('zzz')).toBeUndefined();
    });

    it('lists the leases of one app and of every app', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ id: 'a' }));
      registry.register(makeInstance({ id: 'b' }));
      registry.register(makeInstance({ app: 'BILLING', id: 'c' }));
      expect(Array.from(registry.application(APP), (l) => l.record.instance.id)).toEqual(['a', 'b']);
      expect(Array.from(registry.application('NOPE'))).toEqual([]);
      expect(Array.from(registry.applications(), ([name, leases]) => [name, Array.from(leases, (l) => l.record.instance.id)])).toEqual([
        [APP, ['a', 'b']],
        ['BILLING', ['c']],
      ]);
      expect(Array.from(registry.leases())).toHaveLength(3);
    });
  });
});
