import { alwaysExpire, chooseVictims, evictionLimit, Evictor, ExpiryGate, Random } from '../../src/domain/eviction';
import { makeInstance } from '../helpers/instances';
import { seededRandom } from '../helpers/random';
import { makeRegistry } from './registry-fixture';

const mulberry32: (seed: number) => Random = seededRandom;

const INTERVAL_MS = 60_000;
const closedGate: ExpiryGate = { isLeaseExpirationEnabled: () => false };

/** A registry holding `count` instances `i0..i{count-1}` registered at the clock's start with `durationSecs`. */
function registryWith(count: number, durationSecs = 90) {
  const fixture = makeRegistry();
  for (let i = 0; i < count; i++) fixture.registry.register(makeInstance({ id: `i${i}`, durationSecs }));
  return fixture;
}

function evictedIds(events: ReturnType<typeof makeRegistry>['events']): string[] {
  return events.flatMap((e) => (e.type === 'evicted' ? [e.view.record.instance.id] : []));
}

describe('eviction', () => {
  describe('evictionLimit', () => {
    it.each([
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
      [5, 1],
      [6, 1],
      [7, 2],
      [10, 2],
      [100, 15],
    ])('allows %i instances to lose %i per pass with maxFraction 0.15', (size, limit) => {
      expect(evictionLimit(size, 0.15)).toBe(limit);
    });

    it('allows nothing for an empty registry', () => {
      expect(evictionLimit(0, 0.15)).toBe(0);
    });

    it('is not thrown off by floating-point rounding of size × (1 − maxFraction)', () => {
      // 90 × (1 − 0.3) is 62.999… in floating point; the exact answer is 90 − 63 = 27.
      expect(evictionLimit(90, 0.3)).toBe(27);
    });

    it('allows everything with maxFraction 1', () => {
      expect(evictionLimit(10, 1)).toBe(10);
    });
  });

  describe('chooseVictims', () => {
    const pool = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];

    it('returns every expired lease when they fit within the limit', () => {
      expect(chooseVictims(['a', 'b'], 5, mulberry32(1))).toEqual(['a', 'b']);
    });

    it('returns exactly limit distinct members of the pool', () => {
      const victims = chooseVictims(pool, 3, mulberry32(7));
      expect(victims).toHaveLength(3);
      expect(new Set(victims).size).toBe(3);
      for (const v of victims) expect(pool).toContain(v);
    });

    it('makes the same choice for the same seed', () => {
      expect(chooseVictims(pool, 4, mulberry32(42))).toEqual(chooseVictims(pool, 4, mulberry32(42)));
    });

    it('takes the first ones when random() is always 0', () => {
      expect(chooseVictims(pool, 3, () => 0)).toEqual(['a', 'b', 'c']);
    });

    it('spreads the choice across the pool over different seeds', () => {
      const firstPicks = new Set(Array.from({ length: 20 }, (_, seed) => chooseVictims(pool, 1, mulberry32(seed))[0]));
      expect(firstPicks.size).toBeGreaterThan(3);
    });

    it('does not modify the expired list', () => {
      const expired = pool.slice();
      chooseVictims(expired, 3, mulberry32(3));
      expect(expired).toEqual(pool);
    });
  });

  describe('Evictor.runPass', () => {
    it('evicts nothing while no lease has expired', () => {
      const { clock, registry } = registryWith(3);
      const evictor = new Evictor(registry, alwaysExpire, { intervalMs: INTERVAL_MS, maxFraction: 1, random: mulberry32(1) });
      clock.advance(90_000);
      expect(evictor.runPass(clock.now())).toEqual({ expired: 0, evicted: 0, suspended: false, compensationMs: 0 });
      expect(registry.size).toBe(3);
    });

    it('evicts a lease 1 ms after its duration', () => {
      const { clock, registry, events } = registryWith(1, 30);
      const evictor = new Evictor(registry, alwaysExpire, { intervalMs: INTERVAL_MS, maxFraction: 0.15, random: mulberry32(1) });
      clock.advance(30_001);
      expect(evictor.runPass(clock.now())).toMatchObject({ expired: 1, evicted: 1 });
      expect(registry.size).toBe(0);
      expect(evictedIds(events)).toEqual(['i0']);
    });

    it('evicts only expired leases', () => {
      const { clock, registry } = makeRegistry();
      for (let i = 0; i < 5; i++) registry.register(makeInstance({ id: `short${i}`, durationSecs: 30 }));
      for (let i = 0; i < 5; i++) registry.register(makeInstance({ id: `long${i}`, durationSecs: 90 }));
      const evictor = new Evictor(registry, alwaysExpire, { intervalMs: INTERVAL_MS, maxFraction: 0.5, random: mulberry32(1) });
      clock.advance(60_000);
      expect(evictor.runPass(clock.now())).toMatchObject({ expired: 5, evicted: 5 });
      expect(Array.from(registry.leases(), (l) => l.record.instance.id).sort()).toEqual(['long0', 'long1', 'long2', 'long3', 'long4']);
    });

    it('caps one pass at the eviction limit of the registry size', () => {
      const { clock, registry } = registryWith(10);
      const evictor = new Evictor(registry, alwaysExpire, { intervalMs: INTERVAL_MS, maxFraction: 0.15, random: mulberry32(1) });
      clock.advance(90_001);
      expect(evictor.runPass(clock.now())).toMatchObject({ expired: 10, evicted: 2 });
      expect(registry.size).toBe(8);
    });

    it('recomputes the cap from the shrunken registry on the next pass', () => {
      const { clock, registry } = registryWith(10);
      const evictor = new Evictor(registry, alwaysExpire, { intervalMs: INTERVAL_MS, maxFraction: 0.15, random: mulberry32(1) });
      clock.advance(90_001);
      evictor.runPass(clock.now());
      clock.advance(INTERVAL_MS);
      // 8 left: 8 − floor(8 × 0.85) = 2; then 6 left: 1.
      expect(evictor.runPass(clock.now())).toMatchObject({ expired: 8, evicted: 2 });
      clock.advance(INTERVAL_MS);
      expect(evictor.runPass(clock.now())).toMatchObject({ expired: 6, evicted: 1 });
    });

    it('chooses the same victims for the same seed', () => {
      const run = (seed: number): string[] => {
        const { clock, registry, events } = registryWith(20);
        const evictor = new Evictor(registry, alwaysExpire, { intervalMs: INTERVAL_MS, maxFraction: 0.15, random: mulberry32(seed) });
        clock.advance(90_001);
        evictor.runPass(clock.now());
        return evictedIds(events);
      };
      const first = run(1234);
      expect(first).toHaveLength(3);
      expect(run(1234)).toEqual(first);
    });

    it('does not always evict the first expired leases (random choice)', () => {
      const picks = new Set<string>();
      for (let seed = 0; seed < 10; seed++) {
        const { clock, registry, events } = registryWith(10);
        const evictor = new Evictor(registry, alwaysExpire, { intervalMs: INTERVAL_MS, maxFraction: 0.15, random: mulberry32(seed) });
        clock.advance(90_001);
        evictor.runPass(clock.now());
        for (const id of evictedIds(events)) picks.add(id);
      }
      expect(picks.size).toBeGreaterThan(2);
    });

    it('suspends eviction when the gate is closed', () => {
      const { clock, registry, events } = registryWith(3);
      const evictor = new Evictor(registry, closedGate, { intervalMs: INTERVAL_MS, maxFraction: 1, random: mulberry32(1) });
      clock.advance(1_000_000);
      expect(evictor.runPass(clock.now())).toEqual({ expired: 0, evicted: 0, suspended: true, compensationMs: 0 });
      expect(registry.size).toBe(3);
      expect(evictedIds(events)).toEqual([]);
    });

    it('asks the gate at the pass time', () => {
      const { clock, registry } = registryWith(1);
      const asked: number[] = [];
      const evictor = new Evictor(registry, { isLeaseExpirationEnabled: (now) => (asked.push(now), true) }, { intervalMs: INTERVAL_MS, maxFraction: 1, random: mulberry32(1) });
      clock.advance(5_000);
      evictor.runPass(clock.now());
      expect(asked).toEqual([clock.now()]);
    });

    it('grants no compensation on the first pass or an on-time pass', () => {
      const { clock, registry } = registryWith(1);
      const evictor = new Evictor(registry, alwaysExpire, { intervalMs: INTERVAL_MS, maxFraction: 1, random: mulberry32(1) });
      expect(evictor.runPass(clock.now()).compensationMs).toBe(0);
      clock.advance(INTERVAL_MS);
      expect(evictor.runPass(clock.now()).compensationMs).toBe(0);
      clock.advance(INTERVAL_MS - 10_000);
      expect(evictor.runPass(clock.now()).compensationMs).toBe(0);
    });

    it('grants a late pass its lateness as grace', () => {
      const { clock, registry } = makeRegistry();
      registry.register(makeInstance({ id: 'short', durationSecs: 30 }));
      registry.register(makeInstance({ id: 'long', durationSecs: 90 }));
      const evictor = new Evictor(registry, alwaysExpire, { intervalMs: INTERVAL_MS, maxFraction: 1, random: mulberry32(1) });
      evictor.runPass(clock.now());
      // 50 s late: 'short' is 80 s overdue (> 50 s grace), 'long' only 20 s (< 50 s grace).
      clock.advance(INTERVAL_MS + 50_000);
      expect(evictor.runPass(clock.now())).toEqual({ expired: 1, evicted: 1, suspended: false, compensationMs: 50_000 });
      expect(Array.from(registry.leases(), (l) => l.record.instance.id)).toEqual(['long']);
    });

    it('measures lateness from the previous pass even when that pass was suspended', () => {
      const { clock, registry } = registryWith(1);
      let open = true;
      const evictor = new Evictor(registry, { isLeaseExpirationEnabled: () => open }, { intervalMs: INTERVAL_MS, maxFraction: 1, random: mulberry32(1) });
      evictor.runPass(clock.now());
      clock.advance(INTERVAL_MS);
      open = false;
      expect(evictor.runPass(clock.now())).toMatchObject({ suspended: true, compensationMs: 0 });
      open = true;
      clock.advance(INTERVAL_MS);
      expect(evictor.runPass(clock.now()).compensationMs).toBe(0);
    });
  });

  describe('Evictor.runPassInSlices', () => {
    it('finds and evicts what the pass in one piece does, pausing after every slice', async () => {
      const run = async (sliced: boolean): Promise<{ report: unknown; evicted: string[]; pauses: number }> => {
        const { clock, registry, events } = makeRegistry();
        for (let i = 0; i < 25; i++) registry.register(makeInstance({ id: `i${i}`, durationSecs: i % 2 === 0 ? 30 : 90 }));
        const evictor = new Evictor(registry, alwaysExpire, { intervalMs: INTERVAL_MS, maxFraction: 0.3, random: mulberry32(7) });
        clock.advance(60_000);
        let pauses = 0;
        const report = sliced ? await evictor.runPassInSlices(clock.now(), 4, async () => void pauses++) : evictor.runPass(clock.now());
        return { report, evicted: evictedIds(events), pauses };
      };
      const whole = await run(false);
      const sliced = await run(true);
      expect(sliced.report).toEqual(whole.report);
      expect(sliced.report).toMatchObject({ expired: 13, evicted: 8 });
      expect(sliced.evicted).toEqual(whole.evicted);
      // 25 leases in slices of 4: a pause after each full slice.
      expect(sliced.pauses).toBe(6);
    });

    it('leaves a lease renewed, or an instance registered again, while the walk went on', async () => {
      const { clock, registry, events } = registryWith(12, 30);
      const evictor = new Evictor(registry, alwaysExpire, { intervalMs: INTERVAL_MS, maxFraction: 1, random: mulberry32(1) });
      clock.advance(30_001);
      let pauses = 0;
      const report = await evictor.runPassInSlices(clock.now(), 3, async () => {
        // After the first slice: i0 (already found expired) renews, i1 registers again with a new lease.
        if (pauses++ === 0) {
          registry.renew(makeInstance({ id: 'i0' }).app, 'i0', { isReplication: false });
          registry.register(makeInstance({ id: 'i1', durationSecs: 30 }));
        }
      });
      expect(report).toMatchObject({ expired: 12, evicted: 10 });
      expect(evictedIds(events).sort()).toEqual(['i10', 'i11', 'i2', 'i3', 'i4', 'i5', 'i6', 'i7', 'i8', 'i9']);
      expect(Array.from(registry.leases(), (l) => l.record.instance.id).sort()).toEqual(['i0', 'i1']);
    });

    it('reports a closed gate without walking', async () => {
      const { clock, registry } = registryWith(3, 30);
      const evictor = new Evictor(registry, closedGate, { intervalMs: INTERVAL_MS, maxFraction: 1, random: mulberry32(1) });
      clock.advance(60_000);
      let pauses = 0;
      expect(await evictor.runPassInSlices(clock.now(), 1, async () => void pauses++)).toMatchObject({ expired: 0, evicted: 0, suspended: true });
      expect(pauses).toBe(0);
      expect(registry.size).toBe(3);
    });
  });
});
