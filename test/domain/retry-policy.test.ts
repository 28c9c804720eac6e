// The retry policy: nominal delays, jitter bounds, giving up, Retry-After; the numbers each component's settings
// produced before they were expressed as a policy.
import fc from 'fast-check';
import { EQUAL_JITTER, givesUp, honourRetryAfterMs, nextRetry, NO_JITTER, nominalDelayMs, retryDelayMs, RetryPolicy } from '../../src/domain/retry-policy';
import { seededRandom } from '../helpers/random';

const doubling = (baseMs: number, maxMs: number, extra: Partial<RetryPolicy> = {}): RetryPolicy => ({ baseMs, maxMs, multiplier: 2, jitter: NO_JITTER, ...extra });

describe('RetryPolicy', () => {
  describe('nominalDelayMs', () => {
    it.each([
      [1, 100],
      [2, 200],
      [3, 400],
      [6, 3200],
      [7, 5000],
      [60, 5000],
      [5000, 5000],
    ])('grows baseMs × 2^(n − 1) up to maxMs (attempt %d → %d ms)', (attempt, expected) => {
      expect(nominalDelayMs(doubling(100, 5000), attempt)).toBe(expected);
    });

    it('counts an attempt below 1 as the first', () => {
      expect(nominalDelayMs(doubling(100, 5000), 0)).toBe(100);
      expect(nominalDelayMs(doubling(100, 5000), -3)).toBe(100);
    });

    it('uses the multiplier as the growth per attempt', () => {
      expect([1, 2, 3, 4].map((n) => nominalDelayMs({ ...doubling(10, 1000), multiplier: 3 }, n))).toEqual([10, 30, 90, 270]);
    });

    it('stays at baseMs with a multiplier of 1', () => {
      expect(nominalDelayMs({ ...doubling(250, 1000), multiplier: 1 }, 40)).toBe(250);
    });
  });

  describe('retryDelayMs', () => {
    it('returns the nominal delay without drawing when there is no jitter', () => {
      const random = jest.fn(() => 0.5);
      expect(retryDelayMs(doubling(100, 5000), 3, random)).toBe(400);
      expect(random).not.toHaveBeenCalled();
    });

    it.each([
      [0, 100],
      [0.25, 125],
      [0.5, 150],
      [0.75, 175],
    ])('spreads equal jitter between half and all of the nominal delay (random %d → %d ms of 200)', (random, expected) => {
      expect(retryDelayMs(doubling(100, 5000, { jitter: EQUAL_JITTER }), 2, () => random)).toBe(expected);
    });

    it('draws exactly one random number per jittered delay', () => {
      const random = jest.fn(() => 0.3);
      retryDelayMs(doubling(100, 5000, { jitter: EQUAL_JITTER }), 4, random);
      expect(random).toHaveBeenCalledTimes(1);
    });

    it('honours another low fraction', () => {
      const policy = doubling(1000, 1000, { jitter: { kind: 'proportional', lowFraction: 0.8 } });
      expect(retryDelayMs(policy, 1, () => 0)).toBe(800);
      expect(retryDelayMs(policy, 1, () => 0.5)).toBeCloseTo(900, 9);
    });

    it('gives the same delays for the same seed', () => {
      const policy = doubling(100, 5000, { jitter: EQUAL_JITTER });
      const run = (seed: number): number[] => {
        const random = seededRandom(seed);
        return [1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelayMs(policy, n, random));
      };
      expect(run(7)).toEqual(run(7));
      expect(run(7)).not.toEqual(run(8));
    });

    it('throws when a policy with jitter gets no random source (a bug, not an outcome)', () => {
      expect(() => retryDelayMs(doubling(100, 5000, { jitter: EQUAL_JITTER }), 1)).toThrow(TypeError);
    });

    it('keeps every delay within [lowFraction × nominal, nominal ≤ maxMs], never NaN, and non-decreasing without jitter', () => {
      const policyArb = fc.record({
        baseMs: fc.double({ min: 0.001, max: 1e7, noNaN: true }),
        maxMs: fc.double({ min: 0.001, max: 1e9, noNaN: true }),
        multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
        lowFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      });
      fc.assert(
        fc.property(policyArb, fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 2000 }), ({ lowFraction, ...p }, seed, attempts) => {
          const plain: RetryPolicy = { ...p, jitter: NO_JITTER };
          const jittered: RetryPolicy = { ...p, jitter: { kind: 'proportional', lowFraction } };
          const random = seededRandom(seed);
          let previous = 0;
          for (let n = 1; n <= attempts; n += Math.ceil(n / 8)) {
            const nominal = retryDelayMs(plain, n);
            const delay = retryDelayMs(jittered, n, random);
            // Comparisons with NaN are false, so a NaN fails every bound below.
            if (!(nominal >= previous && nominal <= p.maxMs)) return false;
            if (!(delay >= nominal * lowFraction && delay <= nominal)) return false;
            previous = nominal;
          }
          return true;
        }),
        { numRuns: 300, seed: 20261202 },
      );
    });
  });

  describe('givesUp', () => {
    it('gives up once maxAttempts attempts have failed', () => {
      const policy = doubling(100, 5000, { maxAttempts: 3 });
      expect([1, 2, 3, 4].map((n) => givesUp(policy, n))).toEqual([false, false, true, true]);
    });

    it('never gives up without maxAttempts', () => {
      expect(givesUp(doubling(100, 5000), Number.MAX_SAFE_INTEGER)).toBe(false);
    });
  });

  describe('nextRetry', () => {
    it('waits the jittered delay until the last attempt, then gives up without drawing', () => {
      const random = jest.fn(() => 0);
      const policy = doubling(500, 30_000, { jitter: EQUAL_JITTER, maxAttempts: 5 });
      expect([1, 2, 3, 4, 5].map((n) => nextRetry(policy, n, random))).toEqual([
        { kind: 'wait', delayMs: 250 },
        { kind: 'wait', delayMs: 500 },
        { kind: 'wait', delayMs: 1000 },
        { kind: 'wait', delayMs: 2000 },
        { kind: 'give-up' },
      ]);
      expect(random).toHaveBeenCalledTimes(4);
    });
  });

  describe('honourRetryAfterMs', () => {
    it.each<[string, number | undefined, number]>([
      ['our delay when the wait asked for is shorter', 10, 50],
      ['our delay when no wait was asked for', undefined, 50],
      ['the wait asked for when it is longer', 2000, 2000],
      ['maxMs when the wait asked for is longer still', 3_600_000, 5000],
    ])('waits %s', (_what, askedMs, expected) => {
      expect(honourRetryAfterMs(doubling(100, 5000), 50, askedMs)).toBe(expected);
    });
  });

  describe('as each component configures it', () => {
    it('reproduces replication to a peer: retryBaseMs × 2^(failures − 1) up to retryMaxMs, × (0.5 + random/2)', () => {
      const policy = doubling(100, 5000, { jitter: EQUAL_JITTER });
      const random = seededRandom(42);
      for (let failures = 1; failures <= 12; failures++) {
        const r = random();
        const nominal = Math.min(5000, 100 * 2 ** (failures - 1));
        expect(retryDelayMs(policy, failures, () => r)).toBeCloseTo(nominal * (0.5 + r / 2), 9);
      }
    });

    it('reproduces startup sync: retryWaitMs × 2^min(attempt − 1, 3), no jitter', () => {
      const policy = doubling(1000, 8000, { maxAttempts: 6 });
      expect([1, 2, 3, 4, 5, 6].map((n) => nextRetry(policy, n))).toEqual([
        { kind: 'wait', delayMs: 1000 },
        { kind: 'wait', delayMs: 2000 },
        { kind: 'wait', delayMs: 4000 },
        { kind: 'wait', delayMs: 8000 },
        { kind: 'wait', delayMs: 8000 },
        { kind: 'give-up' },
      ]);
    });

    it('reproduces the client refresh: interval × min(2^failures, fetchBackoffBound), attempt = failures + 1', () => {
      const intervalMs = 30_000;
      for (const bound of [10, 2.5, 1, 0.5]) {
        const policy = doubling(intervalMs, intervalMs * bound);
        for (let failures = 0; failures < 8; failures++) {
          expect(retryDelayMs(policy, failures + 1)).toBe(intervalMs * Math.min(2 ** failures, bound));
        }
      }
    });

    it('reproduces the client registration: ceiling/2 + random × ceiling/2 of min(maxDelayMs, initialDelayMs × 2^(n − 1))', () => {
      const policy = doubling(500, 30_000, { jitter: EQUAL_JITTER, maxAttempts: 5 });
      const random = seededRandom(7);
      for (let attempt = 1; attempt <= 10; attempt++) {
        const r = random();
        const ceiling = Math.min(30_000, 500 * 2 ** (attempt - 1));
        expect(retryDelayMs(policy, attempt, () => r)).toBe(ceiling / 2 + (r * ceiling) / 2);
      }
    });
  });
});
