// The health checks' decisions on probe results, and the safety valve on an injected time.
import { judge, NO_RUN, ProbeRun, SafetyValve } from '../../src/health/policy';

const T = { failuresBeforeDown: 3, successesBeforeUp: 2 };

/** Feeds results in order; returns the actions taken, applying mark-down / mark-up to the verdict as the registry would. */
function run(results: readonly boolean[], options: { verdictDown?: boolean; valveEngaged?: boolean } = {}): string[] {
  let state: ProbeRun = NO_RUN;
  let down = options.verdictDown ?? false;
  return results.map((healthy) => {
    const { run: next, action } = judge(state, healthy, down, T, options.valveEngaged ?? false);
    state = next;
    if (action === 'mark-down') down = true;
    if (action === 'mark-up') down = false;
    return action;
  });
}

describe('policy', () => {
  describe('judge', () => {
    it('marks DOWN on the failuresBeforeDown-th failure in a row, once', () => {
      expect(run([false, false, false, false])).toEqual(['none', 'none', 'mark-down', 'none']);
    });

    it('starts the count over after a success', () => {
      expect(run([false, false, true, false, false, false])).toEqual(['none', 'none', 'none', 'none', 'none', 'mark-down']);
    });

    it('gives the status back on the successesBeforeUp-th success in a row', () => {
      expect(run([false, false, false, true, false, true, true, true])).toEqual(['none', 'none', 'mark-down', 'none', 'none', 'none', 'mark-up', 'none']);
    });

    it("clears a verdict the instance carried from its previous prober only after successes of its own", () => {
      expect(run([true, true], { verdictDown: true })).toEqual(['none', 'mark-up']);
    });

    it('withholds the mark while the valve is engaged, and still marks UP', () => {
      expect(run([false, false, false, false])).toContain('mark-down');
      expect(run([false, false, false, false], { valveEngaged: true })).toEqual(['none', 'none', 'withhold', 'withhold']);
      expect(run([true, true], { verdictDown: true, valveEngaged: true })).toEqual(['none', 'mark-up']);
    });

    it('does not mark DOWN on a success after a run of failures held back by the valve', () => {
      const held = judge({ consecutiveFailures: 5, consecutiveSuccesses: 0 }, true, false, T, false);
      expect(held).toEqual({ run: { consecutiveFailures: 0, consecutiveSuccesses: 1 }, action: 'none' });
    });

    it('marks on the first failure when failuresBeforeDown is 1', () => {
      expect(judge(NO_RUN, false, false, { failuresBeforeDown: 1, successesBeforeUp: 1 }, false).action).toBe('mark-down');
    });
  });
});

describe('SafetyValve', () => {
  const WINDOW = 10_000;
  const T0 = 1_700_000_000_000;
  const valve = (minProbes = 4): SafetyValve => new SafetyValve({ windowMs: WINDOW, fraction: 0.5, minProbes });
  const feed = (v: SafetyValve, at: number, failed: number, passed: number): void => {
    for (let i = 0; i < failed; i++) v.record(true, at);
    for (let i = 0; i < passed; i++) v.record(false, at);
  };

  describe('update', () => {
    it('engages when more than the fraction of the probes of the window failed', () => {
      const v = valve();
      feed(v, T0, 5, 5);
      expect(v.update(T0)).toBeUndefined();
      feed(v, T0 + 100, 1, 0);
      expect(v.update(T0 + 100)).toBe('engaged');
      expect(v.isEngaged).toBe(true);
      expect(v.state(T0 + 100)).toMatchObject({ engaged: true, since: T0 + 100, probes: 11, failures: 6, engagements: 1, threshold: 0.5 });
      expect(v.update(T0 + 200)).toBeUndefined();
    });

    it('never engages below the minimum number of probes', () => {
      const v = valve(4);
      feed(v, T0, 3, 0);
      expect(v.update(T0)).toBeUndefined();
      feed(v, T0, 1, 0);
      expect(v.update(T0)).toBe('engaged');
    });

    it('releases once the fraction is back at or below the threshold', () => {
      const v = valve();
      feed(v, T0, 8, 2);
      expect(v.update(T0)).toBe('engaged');
      feed(v, T0 + 1000, 0, 6);
      expect(v.update(T0 + 1000)).toBe('released');
      expect(v.state(T0 + 1000)).toMatchObject({ engaged: false, since: 0, probes: 16, failures: 8, failingFraction: 0.5 });
    });

    it('forgets probes older than the window, so it releases when failures stop', () => {
      const v = valve();
      feed(v, T0, 10, 0);
      expect(v.update(T0)).toBe('engaged');
      expect(v.update(T0 + WINDOW - 1000)).toBeUndefined();
      expect(v.update(T0 + WINDOW + 1000)).toBe('released');
      expect(v.state(T0 + WINDOW + 1000)).toMatchObject({ probes: 0, failures: 0, failingFraction: 0 });
    });

    it('judges a window of fresh failures as the old successes age out', () => {
      const v = valve();
      feed(v, T0, 0, 10);
      for (let s = 1; s <= 10; s++) {
        feed(v, T0 + s * 1000, 1, 0);
        v.update(T0 + s * 1000);
      }
      // After a whole window only the failures are left.
      expect(v.isEngaged).toBe(true);
      expect(v.state(T0 + 10_000)).toMatchObject({ failures: 10 });
      expect(v.state(T0 + 10_000).probes).toBeLessThanOrEqual(10);
    });

    it('never engages with a fraction of 1', () => {
      const v = new SafetyValve({ windowMs: WINDOW, fraction: 1, minProbes: 0 });
      feed(v, T0, 100, 0);
      expect(v.update(T0)).toBeUndefined();
    });
  });
});
