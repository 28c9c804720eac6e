// The registry's side of active health checks: a verdict holds a reported UP DOWN (source 'health') and gives it back,
// an operator's override wins, a re-registering client stays DOWN, and peers' copies carry the verdict.
import { InstanceView } from '../../src/domain/model';
import { RegistryEvent } from '../../src/domain/registry';
import { fingerprint } from '../../src/domain/digest';
import { makeInstance } from '../helpers/instances';
import { makeRegistry } from './registry-fixture';

const APP = 'ORDERS';
const ID = '10.0.0.7:orders:8080';

function view(fixture: ReturnType<typeof makeRegistry>): InstanceView {
  const lease = fixture.registry.lease(APP, ID);
  if (!lease) throw new Error('not registered');
  return lease;
}

const healthEvents = (events: RegistryEvent[]): Extract<RegistryEvent, { type: 'health-changed' }>[] =>
  events.filter((e): e is Extract<RegistryEvent, { type: 'health-changed' }> => e.type === 'health-changed');

describe('Registry', () => {
  describe('healthVerdict', () => {
    it('marks a reported UP DOWN with source health, as a MODIFIED change in the delta, and emits health-changed', () => {
      const f = makeRegistry();
      f.registry.register(makeInstance());
      const before = f.registry.revision;
      f.clock.advance(1000);
      expect(f.registry.healthVerdict(APP, ID, 'down')).toBe('changed');
      expect(view(f).record).toMatchObject({ statusSource: 'health', actionType: 'MODIFIED', lastUpdatedTimestamp: f.clock.now() });
      expect(view(f).record.instance).toMatchObject({ status: 'DOWN', overriddenStatus: 'UNKNOWN', lastDirtyTimestamp: makeInstance().lastDirtyTimestamp });
      expect(f.registry.revision).toBe(before + 1);
      expect(f.registry.hashcode()).toBe('DOWN_1_');
      expect(f.registry.deltaChanges(f.clock.now()).map((v) => v.record.instance.status)).toEqual(['DOWN']);
      expect(healthEvents(f.events).map((e) => [e.verdict, e.previous, e.view.record.instance.status])).toEqual([['down', 'UP', 'DOWN']]);
      expect(f.registry.isHealthDown(APP, ID)).toBe(true);
    });

    it('gives the instance its reported UP back when the verdict is up', () => {
      const f = makeRegistry();
      f.registry.register(makeInstance());
      f.registry.healthVerdict(APP, ID, 'down');
      expect(f.registry.healthVerdict(APP, ID, 'up')).toBe('changed');
      expect(view(f).record.statusSource).toBe('client');
      expect(view(f).record.instance.status).toBe('UP');
      expect(f.registry.isHealthDown(APP, ID)).toBe(false);
      expect(healthEvents(f.events).map((e) => e.verdict)).toEqual(['down', 'up']);
    });

    it('answers unchanged, with no event, when the verdict changes nothing', () => {
      const f = makeRegistry();
      f.registry.register(makeInstance());
      expect(f.registry.healthVerdict(APP, ID, 'up')).toBe('unchanged');
      f.registry.healthVerdict(APP, ID, 'down');
      expect(f.registry.healthVerdict(APP, ID, 'down')).toBe('unchanged');
      expect(healthEvents(f.events)).toHaveLength(1);
    });

    it('answers not-found for an unknown instance', () => {
      expect(makeRegistry().registry.healthVerdict(APP, ID, 'down')).toBe('not-found');
    });

    it('leaves a status the instance reports other than UP alone, and applies once it reports UP', () => {
      const f = makeRegistry();
      f.registry.register(makeInstance({ status: 'OUT_OF_SERVICE' }));
      expect(f.registry.healthVerdict(APP, ID, 'down')).toBe('unchanged');
      expect(view(f).record.instance.status).toBe('OUT_OF_SERVICE');
      f.registry.register(makeInstance({ status: 'UP' }));
      expect(view(f).record).toMatchObject({ statusSource: 'health', instance: expect.objectContaining({ status: 'DOWN' }) });
    });

    it("lets an operator's override win, and applies the verdict again once the override is removed", () => {
      const f = makeRegistry();
      f.registry.register(makeInstance());
      f.registry.statusUpdate(APP, ID, 'UP', undefined);
      expect(f.registry.healthVerdict(APP, ID, 'down')).toBe('unchanged');
      expect(view(f).record).toMatchObject({ statusSource: 'override', instance: expect.objectContaining({ status: 'UP' }) });
      f.registry.deleteStatusOverride(APP, ID, undefined, undefined);
      // UNKNOWN until the client re-registers (Eureka's rule), then the verdict holds its UP DOWN.
      f.registry.register(makeInstance());
      expect(view(f).record).toMatchObject({ statusSource: 'health', instance: expect.objectContaining({ status: 'DOWN' }) });
    });

    it('keeps a client that re-registers UP DOWN while the verdict holds', () => {
      const f = makeRegistry();
      f.registry.register(makeInstance());
      f.registry.healthVerdict(APP, ID, 'down');
      f.registry.register(makeInstance({ lastDirtyTimestamp: makeInstance().lastDirtyTimestamp + 1 }));
      expect(view(f).record).toMatchObject({ statusSource: 'health', instance: expect.objectContaining({ status: 'DOWN' }) });
    });

    it('forgets the verdict when the instance is cancelled', () => {
      const f = makeRegistry();
      f.registry.register(makeInstance());
      f.registry.healthVerdict(APP, ID, 'down');
      f.registry.cancel(APP, ID);
      f.registry.register(makeInstance());
      expect(view(f).record.instance.status).toBe('UP');
      expect(f.registry.isHealthDown(APP, ID)).toBe(false);
    });

    it('changes the fingerprint peers compare (the source is one of the agreed fields)', () => {
      const f = makeRegistry();
      f.registry.register(makeInstance());
      const before = fingerprint(view(f).record);
      f.registry.healthVerdict(APP, ID, 'down');
      expect(fingerprint(view(f).record)).not.toEqual(before);
    });
  });

  describe('register', () => {
    it("takes a peer's health verdict with its copy: a DOWN that stands for a reported UP", () => {
      const f = makeRegistry();
      f.registry.register(makeInstance({ status: 'DOWN' }), true, undefined, true);
      expect(view(f).record).toMatchObject({ statusSource: 'health', instance: expect.objectContaining({ status: 'DOWN' }) });
      expect(f.registry.isHealthDown(APP, ID)).toBe(true);
    });

    it("clears the verdict when a peer's copy comes without one (the peer the client talks to cleared it)", () => {
      const f = makeRegistry();
      f.registry.register(makeInstance({ status: 'DOWN' }), true, undefined, true);
      f.registry.register(makeInstance({ status: 'UP' }), true);
      expect(view(f).record).toMatchObject({ statusSource: 'client', instance: expect.objectContaining({ status: 'UP' }) });
      expect(f.registry.isHealthDown(APP, ID)).toBe(false);
    });

    it("keeps our verdict over a client's own registration", () => {
      const f = makeRegistry();
      f.registry.register(makeInstance({ status: 'DOWN' }), true, undefined, true);
      f.registry.register(makeInstance({ status: 'UP' }));
      expect(view(f).record.statusSource).toBe('health');
    });

    it('reads a stored newer health copy as a reported UP, so clearing the verdict brings UP back', () => {
      const f = makeRegistry();
      const dirty = makeInstance().lastDirtyTimestamp;
      f.registry.register(makeInstance({ status: 'DOWN', lastDirtyTimestamp: dirty + 10 }), true, undefined, true);
      f.registry.register(makeInstance({ status: 'UP', lastDirtyTimestamp: dirty }), true);
      expect(view(f).record).toMatchObject({ statusSource: 'client', instance: expect.objectContaining({ status: 'UP', lastDirtyTimestamp: dirty + 10 }) });
    });
  });

  describe('repair', () => {
    it("takes the verdict with a peer's repaired copy of source health", () => {
      const f = makeRegistry();
      f.registry.register(makeInstance());
      f.clock.advance(10);
      expect(f.registry.repair({ kind: 'instance', instance: makeInstance({ status: 'DOWN' }), statusSource: 'health', at: f.clock.now() })).toBe('applied');
      expect(f.registry.isHealthDown(APP, ID)).toBe(true);
      expect(f.registry.healthVerdict(APP, ID, 'up')).toBe('changed');
      expect(view(f).record.instance.status).toBe('UP');
    });
  });
});
