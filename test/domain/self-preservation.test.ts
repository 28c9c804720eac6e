import { ManualClock } from '../../src/domain/clock';
import { Evictor } from '../../src/domain/eviction';
import { SelfPreservation, SelfPreservationOptions } from '../../src/domain/self-preservation';
import { evictionTask, renewalThresholdTask, selfPreservationListener } from '../../src/scheduling/tasks';
import { heldPastExpiry } from '../../src/observability/server-status';
import { Logger } from '../../src/observability/logger';
import { makeInstance } from '../helpers/instances';
import { Registry } from '../../src/domain/registry';
import { makeRegistry } from './registry-fixture';

const WINDOW_MS = 60_000;
// Interval bounds wide open, so the arithmetic below is Eureka's; the bounds have tests of their own.
const DEFAULTS: SelfPreservationOptions = { enabled: true, renewalPercentThreshold: 0.85, minInstances: 0, windowMs: WINDOW_MS, minRenewalIntervalSecs: 1, maxRenewalIntervalSecs: 3600 };

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

/** Instances counted a full window ago (the clock moves on by one window): the window can hold all their renewals. */
function addSettledInstances(clock: ManualClock, sp: SelfPreservation, count: number, windowMs = WINDOW_MS): void {
  addInstances(sp, count);
  clock.advance(windowMs);
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
      addSettledInstances(clock, sp, 20);
      renew(sp, 34);
      const state = sp.state(clock.now());
      expect(state.renewalsLastMin).toBe(34);
      expect(state.active).toBe(true);
    });

    it('is engaged when the renewals of the last window are below the threshold', () => {
      const { clock, sp } = make();
      addSettledInstances(clock, sp, 20);
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
      addSettledInstances(other.clock, other.sp, 20, 10_000);
      renew(other.sp, 5); // 30 per minute
      expect(other.sp.state(other.clock.now())).toMatchObject({ renewalsLastMin: 30, active: true });
    });

    it('does not engage while instances that just started renewing have had less than a window to renew', () => {
      const { clock, sp } = make();
      // A fleet of 20 counted at once (their first heartbeats), every 30 s: 40 a minute expected, threshold 34. Until a
      // minute has passed the window cannot hold 34 of theirs.
      addInstances(sp, 20);
      renew(sp, 20);
      for (let s = 1; s < 30; s++) {
        clock.advance(1000);
        expect(sp.state(clock.now())).toMatchObject({ expectedRenewalsPerMin: 40, threshold: 34, renewalsLastMin: 20, active: false });
      }
      clock.advance(1000);
      renew(sp, 20);
      for (let s = 30; s < 120; s++) {
        if (s % 30 === 0 && s > 30) renew(sp, 20);
        expect(sp.state(clock.now()).active).toBe(false);
        clock.advance(1000);
      }
    });

    it('still engages when instances counted lately stop renewing', () => {
      const { clock, sp } = make();
      addInstances(sp, 20);
      renew(sp, 20);
      clock.advance(50_000);
      // 20 renewals in the window where 50.5 s of 40 a minute at 85 % is 28.
      const state = sp.state(clock.now());
      expect(state).toMatchObject({ renewalsLastMin: 20, threshold: 34, active: true, cause: 'below-threshold' });
      expect(state.reason).toContain('28 while instances counted in the last minute have had less than a minute to renew');
    });

    it('states the renewals, the threshold, the percentage and the expectation in its reason when engaged', () => {
      const { clock, sp } = make();
      addSettledInstances(clock, sp, 20);
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
      addSettledInstances(clock, sp, 20);
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
      addSettledInstances(clock, sp, 20);
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

  /** Registers `count` instances i0…; with `renew`, each sends its first heartbeat (so it is counted). */
  function registerMany(registry: ReturnType<typeof makeRegistry>['registry'], count: number, overrides: Parameters<typeof makeInstance>[0] = {}, renew = true): void {
    for (let i = 0; i < count; i++) {
      registry.register(makeInstance({ id: `i${i}`, ...overrides }));
      if (renew) registry.renew(overrides.app ?? 'ORDERS', `i${i}`, { isReplication: false });
    }
  }

  describe('registered', () => {
    it('counts the registration as a renewal but expects nothing of the instance until it renews', () => {
      const { registry, state } = wired();
      registerMany(registry, 20, {}, false);
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 0, instances: 0, renewalsLastMin: 20 });
    });

    it('raises the expected renewals by each instance at its first heartbeat', () => {
      const { registry, state } = wired();
      registerMany(registry, 20);
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 40, threshold: 34, instances: 20, renewalsLastMin: 40 });
    });

    it("uses the renewed instance's own heartbeat interval", () => {
      const { registry, state } = wired();
      registry.register(makeInstance({ id: 'fast', renewalIntervalSecs: 10 }));
      registry.register(makeInstance({ id: 'slow', renewalIntervalSecs: 30 }));
      registry.renew('ORDERS', 'fast', { isReplication: false });
      registry.renew('ORDERS', 'slow', { isReplication: false });
      expect(state().expectedRenewalsPerMin).toBe(8);
    });

    it('counts a re-registration as a renewal without raising the expectation', () => {
      const { registry, state } = wired();
      registerMany(registry, 1);
      registry.register(makeInstance({ id: 'i0' }));
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 2, instances: 1, renewalsLastMin: 3 });
    });

    it('counts replicated registrations and heartbeats like client ones', () => {
      const { registry, state } = wired();
      registry.register(makeInstance({ id: 'a' }), true);
      registry.renew('ORDERS', 'a', { isReplication: true });
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 2, instances: 1, renewalsLastMin: 2 });
    });

    it('follows a re-registration of a counted instance that changes the heartbeat interval', () => {
      const { registry, state } = wired();
      registry.register(makeInstance({ id: 'a', renewalIntervalSecs: 30 }));
      registry.register(makeInstance({ id: 'b', renewalIntervalSecs: 30 }));
      registry.renew('ORDERS', 'a', { isReplication: false });
      registry.renew('ORDERS', 'b', { isReplication: false });
      registry.register(makeInstance({ id: 'a', renewalIntervalSecs: 10, lastDirtyTimestamp: 2 }));
      expect(state().expectedRenewalsPerMin).toBe(8); // 6 + 2
      registry.cancel('ORDERS', 'a');
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 2, instances: 1 });
    });

    it('keeps an instance counted across a re-registration, and uncounted ones uncounted', () => {
      const { registry, state } = wired();
      registry.register(makeInstance({ id: 'a' }));
      registry.renew('ORDERS', 'a', { isReplication: false });
      registry.register(makeInstance({ id: 'a', lastDirtyTimestamp: 2 }));
      registry.register(makeInstance({ id: 'b', renewalIntervalSecs: 10 }));
      registry.register(makeInstance({ id: 'b', renewalIntervalSecs: 20, lastDirtyTimestamp: 2 }));
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 2, instances: 1 });
      registry.renew('ORDERS', 'a', { isReplication: false });
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

    it('adds an instance to the expectation at its first heartbeat only', () => {
      const { registry, state } = wired();
      registerMany(registry, 1, {}, false);
      registry.renew('ORDERS', 'i0', { isReplication: false });
      registry.renew('ORDERS', 'i0', { isReplication: true });
      registry.renew('ORDERS', 'i0', { isReplication: false });
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 2, instances: 1 });
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

    it('changes nothing for a cancel of an instance that never renewed', () => {
      const { registry, state } = wired();
      registerMany(registry, 20);
      registry.register(makeInstance({ id: 'silent' }));
      registry.cancel('ORDERS', 'silent');
      expect(state()).toMatchObject({ expectedRenewalsPerMin: 40, instances: 20 });
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
    it('recounts the expected renewals from the intervals of every instance that has renewed', () => {
      const { registry, clock } = makeRegistry();
      const sp = new SelfPreservation(clock, DEFAULTS, clock.now() - WINDOW_MS);
      // Not wired to the listener: the expectation is stale until the task runs.
      registry.register(makeInstance({ id: 'a', renewalIntervalSecs: 10 }));
      registry.register(makeInstance({ id: 'b', app: 'BILLING', renewalIntervalSecs: 30 }));
      registry.register(makeInstance({ id: 'c', app: 'BILLING', renewalIntervalSecs: 60 }));
      registry.register(makeInstance({ id: 'silent', app: 'BILLING', renewalIntervalSecs: 1 }));
      registry.renew('ORDERS', 'a', { isReplication: false });
      registry.renew('BILLING', 'b', { isReplication: true });
      registry.renew('BILLING', 'c', { isReplication: false });
      expect(sp.state(clock.now()).expectedRenewalsPerMin).toBe(0);
      renewalThresholdTask(sp, registry)();
      expect(sp.state(clock.now())).toMatchObject({ expectedRenewalsPerMin: 9, threshold: 7, instances: 3 });
    });
  });
});

describe('SelfPreservation against hostile registrations', () => {
  const STEP_MS = 5_000; // the eviction interval
  const FLEET = 200; // instances on Eureka's 30 s heartbeat

  /**
   * A registry with a healthy fleet that heartbeats on schedule (a sixth of it every 5 s), self-preservation with the
   * server's default bounds and an evictor, all on one manual clock. `tick()` advances 5 s, heartbeats and evicts.
   */
  function fleet(options: Partial<SelfPreservationOptions> = {}) {
    const fixture = makeRegistry({ maxInstancesPerApp: 10_000 });
    const { registry, clock } = fixture;
    const sp = new SelfPreservation(clock, { ...DEFAULTS, minInstances: 10, minRenewalIntervalSecs: 10, maxRenewalIntervalSecs: 300, ...options }, clock.now());
    registry.subscribe(selfPreservationListener(sp));
    const evictor = new Evictor(registry, sp, { intervalMs: STEP_MS, maxFraction: 0.15, random: () => 0.5 });
    for (let i = 0; i < FLEET; i++) registry.register(makeInstance({ id: `good-${i}` }));
    let step = 0;
    let everActive = false;
    const tick = (): void => {
      clock.advance(STEP_MS);
      step++;
      for (let i = step % 6; i < FLEET; i += 6) registry.renew('ORDERS', `good-${i}`, { isReplication: false });
      evictor.runPass(clock.now());
      const state = sp.state(clock.now());
      if (state.cause !== 'startup-window') everActive ||= state.active;
    };
    const run = (ms: number): void => {
      for (let t = 0; t < ms; t += STEP_MS) tick();
    };
    const hostile = (): number => [...registry.leases()].filter((l) => l.record.instance.id.startsWith('bad-')).length;
    // Past the startup window with every good instance counted.
    run(2 * WINDOW_MS);
    return { registry, clock, sp, run, hostile, everActive: () => everActive, state: () => sp.state(clock.now()) };
  }

  /** `count` registrations that promise a heartbeat every second; with `beatOnce` each sends one heartbeat. */
  function attack(registry: Registry, count: number, beatOnce: boolean): void {
    for (let i = 0; i < count; i++) {
      registry.register(makeInstance({ id: `bad-${i}`, renewalIntervalSecs: 1, durationSecs: 90 }));
      if (beatOnce) registry.renew('ORDERS', `bad-${i}`, { isReplication: false });
    }
  }

  it('never engages and evicts registrations that promise 1 s heartbeats and never send one, however many', () => {
    const f = fleet();
    attack(f.registry, FLEET / 2, false);
    f.run(90_000 + 3 * STEP_MS);
    expect(f.everActive()).toBe(false);
    expect(f.hostile()).toBe(0);
    expect(f.registry.size).toBe(FLEET);
  });

  it('never engages when fewer than 5 % of the fleet promise 1 s heartbeats, send one and stop', () => {
    for (let count = 1; count < FLEET * 0.05; count++) {
      const f = fleet();
      attack(f.registry, count, true);
      f.run(3 * WINDOW_MS);
      expect({ count, everActive: f.everActive() }).toEqual({ count, everActive: false });
      expect(f.hostile()).toBe(0);
      expect(f.registry.size).toBe(FLEET);
      expect(f.state()).toMatchObject({ expectedRenewalsPerMin: 2 * FLEET, active: false });
    }
  });

  it('is held on by the same 4 % when the 1 s promise is believed (the floor is what protects)', () => {
    const f = fleet({ minRenewalIntervalSecs: 1 });
    attack(f.registry, FLEET * 0.04, true);
    f.run(3 * WINDOW_MS);
    expect(f.state()).toMatchObject({ active: true, cause: 'below-threshold' });
    expect(f.hostile()).toBe(FLEET * 0.04);
  });

  it('still engages when a real partition silences a sixth of the fleet', () => {
    const f = fleet();
    // Instances good-0, good-6, good-12 … stop heartbeating: their step never comes again.
    for (let i = 0; i < FLEET; i += 6) f.registry.cancel('ORDERS', `good-${i}`);
    for (let i = 0; i < FLEET; i += 6) {
      f.registry.register(makeInstance({ id: `gone-${i}` }));
      f.registry.renew('ORDERS', `gone-${i}`, { isReplication: false });
    }
    f.run(2 * WINDOW_MS);
    expect(f.state()).toMatchObject({ active: true, cause: 'below-threshold' });
  });

  describe('believedIntervalSecs', () => {
    it('believes promised intervals between the floor and the ceiling and clamps the rest', () => {
      const { sp } = make({ minRenewalIntervalSecs: 10, maxRenewalIntervalSecs: 300 });
      expect([1, 10, 30, 300, 3600, Number.POSITIVE_INFINITY].map((s) => sp.believedIntervalSecs(s))).toEqual([10, 10, 30, 300, 300, 300]);
    });

    it('expects 6 renewals a minute of an instance that promises one a second, with a 10 s floor', () => {
      const { clock, sp } = make({ minRenewalIntervalSecs: 10, maxRenewalIntervalSecs: 300 });
      sp.instanceAdded(1);
      sp.instanceAdded(3600);
      expect(sp.state(clock.now()).expectedRenewalsPerMin).toBe(6.2);
      sp.instanceRemoved(1);
      sp.instanceRemoved(3600);
      expect(sp.state(clock.now()).expectedRenewalsPerMin).toBe(0);
    });
  });
});

describe('self-preservation over time (eviction passes on the injected clock, the server\'s default settings)', () => {
  const SERVER_DEFAULTS: SelfPreservationOptions = { enabled: true, renewalPercentThreshold: 0.85, minInstances: 10, windowMs: 60_000, minRenewalIntervalSecs: 10, maxRenewalIntervalSecs: 300 };
  const EVICTION_MS = 5000;

  /**
   * A registry, self-preservation and the eviction task wired as the server wires them, opened a window ago, and a
   * fleet whose members heartbeat every 30 s (the Java client's rhythm: the first heartbeat one interval after
   * registering). step() moves time by a second: due heartbeats, then an eviction pass every 5 s.
   */
  function fleet() {
    const { registry, clock } = makeRegistry({ maxInstancesPerApp: 1000 });
    const sp = new SelfPreservation(clock, SERVER_DEFAULTS, clock.now() - WINDOW_MS);
    registry.subscribe(selfPreservationListener(sp));
    const warnings: string[] = [];
    const logger: Logger = { error() {}, warn: (m) => void warnings.push(m), info() {}, debug() {}, debugEnabled: false };
    const evict = evictionTask(new Evictor(registry, sp, { intervalMs: EVICTION_MS, maxFraction: 0.15, random: () => 0 }), sp, clock, logger);
    const nextBeat = new Map<string, number>();
    const silenced = new Set<string>();
    const start = clock.now();
    let everActive = false;
    const add = (id: string): void => {
      registry.register(makeInstance({ id }));
      nextBeat.set(id, clock.now() + 30_000);
    };
    const step = (): void => {
      clock.advance(1000);
      const now = clock.now();
      for (const [id, at] of nextBeat) {
        if (at > now || silenced.has(id)) continue;
        registry.renew('ORDERS', id, { isReplication: false });
        nextBeat.set(id, at + 30_000);
      }
      if ((now - start) % EVICTION_MS === 0) evict();
      everActive ||= sp.state(now).active;
    };
    const run = (ms: number): void => {
      for (let t = 0; t < ms; t += 1000) step();
    };
    return { registry, clock, sp, warnings, add, run, silenced, everActive: () => everActive };
  }

  it('never engages when the fleet grows tenfold at once (new instances count from their first heartbeat)', () => {
    const f = fleet();
    for (let i = 0; i < 12; i++) f.add(`old-${i}`);
    f.run(180_000);
    expect(f.sp.state(f.clock.now())).toMatchObject({ instances: 12, expectedRenewalsPerMin: 24, active: false });
    for (let i = 0; i < 120; i++) f.add(`new-${i}`);
    f.run(300_000);
    expect(f.everActive()).toBe(false);
    expect(f.warnings).toEqual([]);
    expect(f.registry.size).toBe(132);
    expect(f.sp.state(f.clock.now())).toMatchObject({ instances: 132, expectedRenewalsPerMin: 264, active: false, since: 0 });
  });

  it('never engages when the new instances register over a minute rather than at once', () => {
    const f = fleet();
    for (let i = 0; i < 12; i++) f.add(`old-${i}`);
    f.run(180_000);
    for (let s = 0; s < 60; s++) {
      f.add(`new-${2 * s}`);
      f.add(`new-${2 * s + 1}`);
      f.run(1000);
    }
    f.run(240_000);
    expect(f.everActive()).toBe(false);
    expect(f.warnings).toEqual([]);
  });

  it('engages on a real partition after the scale-up, holds the silent instances past expiry, and says since when', () => {
    const f = fleet();
    for (let i = 0; i < 12; i++) f.add(`old-${i}`);
    f.run(120_000);
    for (let i = 0; i < 120; i++) f.add(`new-${i}`);
    f.run(240_000);
    expect(f.everActive()).toBe(false);
    // A partition: 100 of the 132 instances can no longer reach this server.
    for (let i = 0; i < 100; i++) f.silenced.add(`new-${i}`);
    const cutAt = f.clock.now();
    f.run(60_000);
    const state = f.sp.state(f.clock.now());
    expect(state).toMatchObject({ active: true, cause: 'below-threshold' });
    expect(state.since).toBeGreaterThan(cutAt);
    expect(state.since).toBeLessThanOrEqual(f.clock.now());
    expect(f.warnings).toEqual(['self-preservation engaged: lease expiration suspended']);
    // Their leases run out (90 s) but nothing is evicted: they are held, and counted.
    f.run(120_000);
    expect(f.registry.size).toBe(132);
    const held = heldPastExpiry({ registry: f.registry, expiryGate: f.sp, selfPreservation: (now) => f.sp.state(now) }, f.clock.now());
    expect(held).toEqual({ instances: 100, since: state.since });
    // The partition heals: renewals come back, expiry resumes, nothing is held any more.
    f.silenced.clear();
    f.run(90_000);
    expect(f.sp.state(f.clock.now())).toMatchObject({ active: false, since: 0 });
    expect(heldPastExpiry({ registry: f.registry, expiryGate: f.sp }, f.clock.now())).toEqual({ instances: 0, since: 0 });
  });
});

describe('SelfPreservation since', () => {
  it('is the opening during the startup window, 0 while leases expire, and the first read that found it engaged', () => {
    const clock = new ManualClock();
    const openedAt = clock.now();
    const sp = new SelfPreservation(clock, { ...DEFAULTS, minInstances: 1 }, openedAt);
    addInstances(sp, 10);
    clock.advance(1000);
    expect(sp.state(clock.now())).toMatchObject({ active: true, cause: 'startup-window', since: openedAt });
    renew(sp, 20);
    clock.advance(WINDOW_MS - 500);
    expect(sp.state(clock.now())).toMatchObject({ active: false, since: 0 });
    clock.advance(WINDOW_MS);
    const engagedAt = clock.now();
    expect(sp.state(engagedAt)).toMatchObject({ active: true, cause: 'below-threshold', since: engagedAt });
    clock.advance(5000);
    expect(sp.state(clock.now()).since).toBe(engagedAt);
  });
});
