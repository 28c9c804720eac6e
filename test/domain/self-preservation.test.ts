import { ManualClock } from '../../src/domain/clock';
import { Evictor } from '../../src/domain/eviction';
import { SelfPreservation, SelfPreservationOptions } from '../../src/domain/self-preservation';
import { renewalThresholdTask, selfPreservationListener } from '../../src/scheduling/tasks';
import { makeInstance } from '../helpers/instances';
import { makeRegistry } from './registry-fixture';

const WINDOW_MS = 60_000;
const DEFAULTS: SelfPreservationOptions = { enabled: true, renewalPercentThreshold: 0.85, minInstances: 0, windowMs: WINDOW_MS };

/**
 * A SelfPreservation on a ManualClock that opened for traffic one full window ago (so renewals are judged),
 * unless `openedAgoMs` says otherwise.
 */
function make(options: Partial<SelfPreservationOptions> = {}, openedAgoMs = (options.windowMs ?? WINDOW_MS)) {
  const clock = new ManualClock();
  const sp = new SelfPreservation(clock, { ...DEFAULTS, ...options }, clock.now() - openedAgoMs);
  return { clock, sp };
}

function addInstances(sp: SelfPreservation, count: number, intervalSecs = 30): void {
  for (let i = 0; i < count; i++) sp.instanceAdded(intervalSecs);
}

function renew(sp: SelfPreservation, times: number): void {
  for (let i = 0; i < times; i++) sp.recordRenewal();
}

describe('SelfPreservation', () => {
  describe('state', () => {
    it('expects 40 renewals per minute with a threshold of 34 when 20 instances heartbeat every 30 s', () => {
      const { clock, sp } = make();
      addInstances(sp, 20);
      const state = sp.state(clock.now());
      expect(state.expectedRenewalsPerMin).toBe(40);
      expect(state.threshold).toBe(34);
      expect(state.instances).toBe(20);
      expect(state.enabled).toBe(true);
    });

    it("uses each instance's own heartbeat interval when instances promise different intervals", () => {
      const { clock, sp } = make();
      sp.instanceAdded(10); // 6 per minute
      sp.instanceAdded(30); // 2
      sp.instanceAdded(60); // 1
      const state = sp.state(clock.now());
      expect(state.expectedRenewalsPerMin).toBe(9);
      expect(state.threshold).toBe(7); // floor(9 × 0.85 = 7.65)
    });

    it('expects 6 renewals per minute from one instance with a 10 s interval', () => {
      const { clock, sp } = make();
      sp.instanceAdded(10);
      expect(sp.state(clock.now()).expectedRenewalsPerMin).toBe(6);
      expect(sp.state(clock.now()).threshold).toBe(5);
    });

    it('keeps fractional expectations exact enough that adding and removing leaves no drift', () => {
      const { clock, sp } = make();
      for (let i = 0; i < 7; i++) sp.instanceAdded(7);
      expect(sp.state(clock.now()).expectedRenewalsPerMin).toBe(60);
      for (let i = 0; i < 7; i++) sp.instanceRemoved(7);
      expect(sp.state(clock.now()).expectedRenewalsPerMin).toBe(0);
      expect(sp.state(clock.now()).instances).toBe(0);
    });

    it('floors the threshold without losing a whole renewal to floating-point error', () => {
      // 0.85 and 0.7 are not exact in binary: 40 × 0.85 and 20 × 0.7 must still give 34 and 14.
      const a = make();
      addInstances(a.sp, 20);
      expect(a.sp.state(a.clock.now()).threshold).toBe(34);
      const b = make({ renewalPercentThreshold: 0.7 });
      addInstances(b.sp, 10);
      expect(b.sp.state(b.clock.now()).threshold).toBe(14);
    });

    it('is engaged when the renewals of the last window are at the threshold', () => {
      const { clock, sp } = make();
      addInstances(sp, 20);
      renew(sp, 34);
      const state = sp.state(clock.now());
      expect(state.renewalsLastMin).toBe(34);
      expect(state.active).toBe(true);
    });

    it('is engaged when the renewals of the last window are below the threshold', () => {
      const { clock, sp } = make();
      addInstances(sp, 20);
      renew(sp, 10);
      expect(sp.state(clock.now()).active).toBe(true);
    });

    it('is not engaged when the renewals of the last window are above the threshold', () => {
      const { clock, sp } = make();
      addInstances(sp, 20);
      renew(sp, 35);
      const state = sp.state(clock.now());
      expect(state.renewalsLastMin).toBe(35);
      expect(state.active).toBe(false);
    });

    it('scales renewals to a minute when the window is shorter than a minute', () => {
      const { clock, sp } = make({ windowMs: 10_000 });
      addInstances(sp, 20); // 40 expected per minute, threshold 34
      renew(sp, 6); // 36 per minute
      expect(sp.state(clock.now())).toMatchObject({ renewalsLastMin: 36, active: false });
      const other = make({ windowMs: 10_000 });
      addInstances(other.sp, 20);
      renew(other.sp, 5); // 30 per minute
      expect(other.sp.state(other.clock.now())).toMatchObject({ renewalsLastMin: 30, active: true });
    });

    it('states the renewals, the threshold, the percentage and the expectation in its reason when engaged', () => {
      const { clock, sp } = make();
      addInstances(sp, 20);
      renew(sp, 12);
      const { reason } = sp.state(clock.now());
      expect(reason).toContain('12 renewals');
      expect(reason).toContain('threshold of 34');
      expect(reason).toContain('85 %');
      expect(reason).toContain('40 expected');
    });

    it('states the renewals and the threshold in its reason when not engaged', () => {
      const { clock, sp } = make();
      addInstances(sp, 20);
      renew(sp, 38);
      const { reason } = sp.state(clock.now());
      expect(reason).toContain('38 renewals');
      expect(reason).toContain('threshold of 34');
    });
  });

  describe('recordRenewal', () => {
    it('counts renewals that arrived within the last window', () => {
      const { clock, sp } = make();
      renew(sp, 10);
      clock.advance(30_000);
      renew(sp, 5);
      clock.advance(29_000);
      expect(sp.renewalsInWindow(clock.now())).toBe(15);
    });

    it('stops counting renewals once they are a full window old', () => {
      const { clock, sp } = make();
      renew(sp, 10);
      clock.advance(30_000);
      renew(sp, 5);
      clock.advance(30_000); // the first ten are now exactly one window old
      expect(sp.renewalsInWindow(clock.now())).toBe(5);
      clock.advance(30_000);
      expect(sp.renewalsInWindow(clock.now())).toBe(0);
    });

    it('does not add renewals from a previous rotation to the same slot', () => {
      const { clock, sp } = make();
      renew(sp, 10);
      clock.advance(WINDOW_MS); // same slot of the ring, one rotation later
      renew(sp, 1);
      expect(sp.renewalsInWindow(clock.now())).toBe(1);
    });

    it('counts nothing after the clock has jumped far ahead', () => {
      const { clock, sp } = make();
      renew(sp, 50);
      clock.advance(3 * 3_600_000);
      expect(sp.renewalsInWindow(clock.now())).toBe(0);
    });

    it('engages once renewals stop arriving for a window and releases when they come back', () => {
      const { clock, sp } = make();
      addInstances(sp, 20);
      renew(sp, 40);
      expect(sp.state(clock.now()).active).toBe(false);
      clock.advance(WINDOW_MS);
      expect(sp.state(clock.now())).toMatchObject({ renewalsLastMin: 0, active: true });
      renew(sp, 40);
      expect(sp.state(clock.now()).active).toBe(false);
    });
  });

  describe('openForTraffic', () => {
    it('is engaged during the first window after opening even when renewals are plentiful', () => {
      const { clock, sp } = make({}, 0);
      sp.openForTraffic(clock.now(), Array(20).fill(30));
      renew(sp, 100);
      clock.advance(WINDOW_MS - 1);
      const state = sp.state(clock.now());
      expect(state.active).toBe(true);
      expect(state.reason).toMatch(/opened less than a renewal window ago/);
    });

    it('judges renewals once a full window has passed since opening', () => {
      const { clock, sp } = make({}, 0);
      sp.openForTraffic(clock.now(), Array(20).fill(30));
      clock.advance(WINDOW_MS);
      renew(sp, 40);
      expect(sp.state(clock.now()).active).toBe(false);
    });

    it('is engaged during the first window after construction when openForTraffic has not run', () => {
      const { clock, sp } = make({}, 0);
      addInstances(sp, 20);
      renew(sp, 100);
      expect(sp.state(clock.now()).active).toBe(true);
    });

    it('restarts the first window at the time it is given', () => {
      const { clock, sp } = make(); // opened a window ago: judged
      addInstances(sp, 20);
      renew(sp, 40);
      expect(sp.state(clock.now()).active).toBe(false);
      sp.openForTraffic(clock.now(), Array(20).fill(30));
      expect(sp.state(clock.now()).active).toBe(true);
    });

    it('recounts the expected renewals from the intervals it is given', () => {
      const { clock, sp } = make();
      addInstances(sp, 3);
      sp.openForTraffic(clock.now(), [10, 10, 30]);
      expect(sp.state(clock.now())).toMatchObject({ expectedRenewalsPerMin: 14, threshold: 11, instances: 3 });
    });
  });

  describe('minInstances', () => {
    it('never engages below minInstances, even with no renewals at all', () => {
      const { clock, sp } = make({ minInstances: 10 });
      addInstances(sp, 9);
      const state = sp.state(clock.now());
      expect(state.active).toBe(false);
      expect(state.reason).toContain('fewer than 10 instances');
      expect(sp.isLeaseExpirationEnabled(clock.now())).toBe(true);
    });

    it('never engages below minInstances during the first window either', () => {
      const { clock, sp } = make({ minInstances: 10 }, 0);
      addInstances(sp, 9);
      expect(sp.state(clock.now()).active).toBe(false);
    });

    it('engages at exactly minInstances when renewals are missing', () => {
      const { clock, sp } = make({ minInstances: 10 });
      addInstances(sp, 10);
      expect(sp.state(clock.now()).active).toBe(true);
    });

    it('lets go again when cancellations bring the registry below minInstances', () => {
      const { clock, sp } = make({ minInstances: 10 });
      addInstances(sp, 10);
      expect(sp.state(clock.now()).active).toBe(true);
      sp.instanceRemoved(30);
      expect(sp.state(clock.now()).active).toBe(false);
    });
  });

  describe('when disabled', () => {
    it('never engages, whatever the renewals', () => {
      const { clock, sp } = make({ enabled: false });
      addInstances(sp, 100);
      const state = sp.state(clock.now());
      expect(state.active).toBe(false);
      expect(state.enabled).toBe(false);
      expect(state.reason).toMatch(/switched off/);
      expect(sp.isLeaseExpirationEnabled(clock.now())).toBe(true);
    });

    it('never engages during the first window either', () => {
      const { clock, sp } = make({ enabled: false }, 0);
      addInstances(sp, 100);
      expect(sp.state(clock.now()).active).toBe(false);
    });

    it('still reports the numbers', () => {
      const { clock, sp } = make({ enabled: false });
      addInstances(sp, 20);
      renew(sp, 3);
      expect(sp.state(clock.now())).toMatchObject({ expectedRenewalsPerMin: 40, threshold: 34, renewalsLastMin: 3, instances: 20 });
    });
  });

  describe('instanceRemoved', () => {
    it('lowers the expected renewals and the threshold at once', () => {
      const { clock, sp } = make();
      addInstances(sp, 20);
      for (let i = 0; i < 5; i++) sp.instanceRemoved(30);
      expect(sp.state(clock.now())).toMatchObject({ expectedRenewalsPerMin: 30, threshold: 25, instances: 15 });
    });

    it("lowers by the removed instance's own interval", () => {
      const { clock, sp } = make();
      sp.instanceAdded(10);
      sp.instanceAdded(30);
      sp.instanceRemoved(10);
      expect(sp.state(clock.now())).toMatchObject({ expectedRenewalsPerMin: 2, instances: 1 });
    });

    it('never goes below zero', () => {
      const { clock, sp } = make();
      sp.instanceAdded(30);
      sp.instanceRemoved(10);
      sp.instanceRemoved(30);
      expect(sp.state(clock.now())).toMatchObject({ expectedRenewalsPerMin: 0, threshold: 0, instances: 0 });
    });

    it('releases self-preservation when the remaining instances renew above the lowered threshold', () => {
      const { clock, sp } = make();
      addInstances(sp, 20);
      renew(sp, 30); // 15 live instances × 2
      expect(sp.state(clock.now()).active).toBe(true);
      for (let i = 0; i < 5; i++) sp.instanceRemoved(30); // 30 expected, threshold 25
      expect(sp.state(clock.now()).active).toBe(false);
    });
  });

  describe('recount', () => {
    it('replaces the expected renewals and the instance count with those of the given intervals', () => {
      const { clock, sp } = make();
      addInstances(sp, 50);
      sp.recount([30, 30, 10]);
      expect(sp.state(clock.now())).toMatchObject({ expectedRenewalsPerMin: 10, threshold: 8, instances: 3 });
    });

    it('repairs an expectation that drifted to zero', () => {
      const { clock, sp } = make();
      sp.instanceRemoved(30);
      sp.recount(Array(20).fill(30));
      expect(sp.state(clock.now())).toMatchObject({ expectedRenewalsPerMin: 40, threshold: 34, instances: 20 });
    });

    it('accepts any iterable, such as a generator over the registry', () => {
      const { clock, sp } = make();
      sp.recount(
        (function* () {
          yield 30;
          yield 15;
        })(),
      );
      expect(sp.state(clock.now()).expectedRenewalsPerMin).toBe(6);
    });

    it('does not touch the renewals counted', () => {
      const { clock, sp } = make();
      renew(sp, 7);
      sp.recount([30]);
      expect(sp.renewalsInWindow(clock.now())).toBe(7);
    });
  });

  describe('isLeaseExpirationEnabled', () => {
    it('is the opposite of active', () => {
      const { clock, sp } = make();
      addInstances(sp, 20);
      renew(sp, 34);
      expect(sp.isLeaseExpirationEnabled(clock.now())).toBe(false);
      sp.recordRenewal();
      expect(sp.isLeaseExpirationEnabled(clock.now())).toBe(true);
    });
  });
});

describe('selfPreservationListener', () => {
  /** A real registry wired to a SelfPreservation (opened a window ago) through the listener, as the server does. */
  function wired(options: Partial<SelfPreservationOptions> = {}) {
    const fixture = makeRegistry();
    const sp = new SelfPreservation(fixture.clock, { ...DEFAULTS, ...options }, fixture.clock.now() - WINDOW_MS);
    fixture.registry.subscribe(selfPreservationListener(sp));
    return { ...fixture, sp, state: () => sp.state(fixture.clock.now()) };
  }

  function registerMany(registry: ReturnType<typeof makeRegistry>['registry'], count: number, overrides: Parameters<typeof makeInstance>[0] = {}): void {
    for (let i = 0; i < count; i++) registry.register(makeInstance({ id: `i${i}`, ...overrides }));
  }

  describe('registered', () => {
    it('raises the expected renewals by each new instance and counts the registration as a renewal', () => {
      const { registry, state } = wired();
      registerMany(registry, 20);
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 40, threshold: 34, instances: 20, renewalsLastMin: 20 });
    });

    it("uses the registered instance's own heartbeat interval", () => {
      const { registry, state } = wired();
      registry.register(makeInstance({ id: 'fast', renewalIntervalSecs: 10 }));
      registry.register(makeInstance({ id: 'slow', renewalIntervalSecs: 30 }));
      expect(state().expectedRenewalsPerMin).toBe(8);
    });

    it('counts a re-registration as a renewal without raising the expectation', () => {
      const { registry, state } = wired();
      registry.register(makeInstance());
      registry.register(makeInstance());
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 2, instances: 1, renewalsLastMin: 2 });
    });

    it('counts replicated registrations like client ones', () => {
      const { registry, state } = wired();
      registry.register(makeInstance({ id: 'a' }), true);
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 2, instances: 1, renewalsLastMin: 1 });
    });

    it('follows a re-registration that changes the heartbeat interval', () => {
      const { registry, state } = wired();
      registry.register(makeInstance({ id: 'a', renewalIntervalSecs: 30 }));
      registry.register(makeInstance({ id: 'b', renewalIntervalSecs: 30 }));
      registry.register(makeInstance({ id: 'a', renewalIntervalSecs: 10, lastDirtyTimestamp: 2 }));
      expect(state().expectedRenewalsPerMin).toBe(8); // 6 + 2
      registry.cancel('ORDERS', 'a');
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 2, instances: 1 });
    });
  });

  describe('renewed', () => {
    it('counts client heartbeats', () => {
      const { registry, clock, state } = wired();
      registerMany(registry, 2);
      clock.advance(WINDOW_MS); // the registrations leave the window
      registry.renew('ORDERS', 'i0', { isReplication: false });
      registry.renew('ORDERS', 'i1', { isReplication: false });
      registry.renew('ORDERS', 'i0', { isReplication: false });
      expect(state().renewalsLastMin).toBe(3);
    });

    it('counts replicated heartbeats', () => {
      const { registry, clock, state } = wired();
      registerMany(registry, 1);
      clock.advance(WINDOW_MS);
      registry.renew('ORDERS', 'i0', { isReplication: true });
      expect(state().renewalsLastMin).toBe(1);
    });

    it('does not count a heartbeat for an unknown instance', () => {
      const { registry, state } = wired();
      registry.renew('ORDERS', 'nobody', { isReplication: false });
      expect(state().renewalsLastMin).toBe(0);
    });
  });

  describe('cancelled', () => {
    it('lowers the expected renewals at once', () => {
      const { registry, state } = wired();
      registerMany(registry, 20);
      registry.cancel('ORDERS', 'i0');
      registry.cancel('ORDERS', 'i1', true);
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 36, threshold: 30, instances: 18 });
    });

    it('changes nothing for a cancel of an unknown instance', () => {
      const { registry, state } = wired();
      registerMany(registry, 20);
      registry.cancel('ORDERS', 'nobody');
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 40, instances: 20 });
    });
  });

  describe('evicted', () => {
    it('lowers the expected renewals at once (Eureka forgot evictions)', () => {
      const { registry, state } = wired();
      registerMany(registry, 20);
      for (let i = 0; i < 5; i++) registry.evict('ORDERS', `i${i}`);
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 30, threshold: 25, instances: 15 });
    });

    it('lowers the threshold when the evictor removes expired leases gated by self-preservation', () => {
      const { registry, clock, sp, state } = wired();
      registerMany(registry, 20);
      // 18 instances keep heartbeating for two lease durations; i0 and i1 have gone.
      for (let t = 0; t < 6; t++) {
        clock.advance(30_000);
        for (let i = 2; i < 20; i++) registry.renew('ORDERS', `i${i}`, { isReplication: false });
      }
      expect(state()).toMatchObject({ renewalsLastMin: 36, threshold: 34, active: false });
      const evictor = new Evictor(registry, sp, { intervalMs: 60_000, maxFraction: 0.15, random: () => 0 });
      const report = evictor.runPass(clock.now());
      expect(report).toMatchObject({ expired: 2, evicted: 2, suspended: false });
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 36, threshold: 30, instances: 18 });
    });
  });

  describe('status changes', () => {
    it('leave the expected renewals unchanged', () => {
      const { registry, state } = wired();
      registerMany(registry, 2);
      registry.statusUpdate('ORDERS', 'i0', 'OUT_OF_SERVICE', undefined);
      registry.deleteStatusOverride('ORDERS', 'i0', undefined, undefined);
      registry.updateMetadata('ORDERS', 'i1', { k: 'v' });
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 4, instances: 2 });
    });
  });
});

describe('renewalThresholdTask', () => {
  describe('run', () => {
    it('recounts the expected renewals from the intervals of every registered instance', () => {
      const { registry, clock } = makeRegistry();
      const sp = new SelfPreservation(clock, DEFAULTS, clock.now() - WINDOW_MS);
      // Not wired to the listener: the expectation is stale until the task runs.
      registry.register(makeInstance({ id: 'a', renewalIntervalSecs: 10 }));
      registry.register(makeInstance({ id: 'b', app: 'BILLING', renewalIntervalSecs: 30 }));
      registry.register(makeInstance({ id: 'c', app: 'BILLING', renewalIntervalSecs: 60 }));
      expect(sp.state(clock.now()).expectedRenewalsPerMin).toBe(0);
      renewalThresholdTask(sp, registry)();
      expect(sp.state(clock.now())).toMatchObject({ expectedRenewalsPerMin: 9, threshold: 7, instances: 3 });
    });
  });
});
