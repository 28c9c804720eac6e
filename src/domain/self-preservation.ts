// Self-preservation: when far fewer heartbeats arrive than the registered instances promise, the likelier cause is
// a network partition, not a mass death, so lease expiry is suspended. Eureka's arithmetic with its bugs fixed:
// expected renewals come from each instance's own interval, and cancels *and evictions* lower them. No client can
// steer it: an instance counts only once it has renewed, and its promised interval is believed within bounds.
import { Clock } from './clock';
import { ExpiryGate } from './eviction';

/** Settings of self-preservation. */
export interface SelfPreservationOptions {
  readonly enabled: boolean;
  /** Fraction of the expected renewals below which expiry is suspended (Eureka: 0.85). */
  readonly renewalPercentThreshold: number;
  /** Below this many registered instances self-preservation never engages (a dev setup is not a partition). */
  readonly minInstances: number;
  /** Length of the renewal-counting window, ms (Eureka: one minute). */
  readonly windowMs: number;
  /**
   * Shortest heartbeat interval believed, s: a promise of more frequent heartbeats counts as this. Bounds what one
   * instance adds to the expected renewals, so a few registrations cannot hold self-preservation on.
   */
  readonly minRenewalIntervalSecs: number;
  /** Longest heartbeat interval believed, s: an instance always counts for at least 60 / this per minute. */
  readonly maxRenewalIntervalSecs: number;
}

/** The numbers behind the decision, for /status, the dashboard and logs. */
export interface SelfPreservationState {
  readonly enabled: boolean;
  /** Renewals per minute the registered instances promise. */
  readonly expectedRenewalsPerMin: number;
  /** floor(expected × renewalPercentThreshold). */
  readonly threshold: number;
  /** Renewals counted in the last window (registrations count: they prove life too). */
  readonly renewalsLastMin: number;
  readonly instances: number;
  /** True when expiry is suspended now. */
  readonly active: boolean;
  /**
   * Since when expiry has been suspended without a break, epoch ms (0 while it is not): the opening for the startup
   * window, otherwise the first time a state read (each eviction pass reads it) found it suspended.
   */
  readonly since: number;
  /** Which rule decided. */
  readonly cause: 'disabled' | 'few-instances' | 'startup-window' | 'below-threshold' | 'above-threshold';
  /** Why, in plain words. */
  readonly reason: string;
}

const BUCKETS = 60;

/** Counts renewals in a sliding window and decides whether leases may expire. */
export class SelfPreservation implements ExpiryGate {
  private expectedPerMin = 0;
  private instances = 0;
  private readonly buckets = new Float64Array(BUCKETS);
  private readonly bucketStamp = new Float64Array(BUCKETS).fill(-1);
  // Renewals per minute that instances counted in each bucket's time added to the expectation (see rampDeficit).
  private readonly added = new Float64Array(BUCKETS);
  private readonly addedStamp = new Float64Array(BUCKETS).fill(-1);
  private readonly bucketMs: number;
  private suspendedSince = 0;

  constructor(
    private readonly clock: Clock,
    private readonly options: SelfPreservationOptions,
    /** When the server opened for traffic, ms: before a full window has passed, renewals cannot be judged. */
    private openedAt: number,
  ) {
    this.bucketMs = options.windowMs / BUCKETS;
  }

  /** Counts one renewal (heartbeat or registration, client or peer). Hot path: O(1). */
  recordRenewal(): void {
    addTo(this.buckets, this.bucketStamp, Math.floor(this.clock.now() / this.bucketMs), 1);
  }

  /** The heartbeat interval believed of an instance that promises `renewalIntervalSecs`, s. */
  believedIntervalSecs(renewalIntervalSecs: number): number {
    const { minRenewalIntervalSecs: min, maxRenewalIntervalSecs: max } = this.options;
    return Number.isFinite(renewalIntervalSecs) ? Math.min(max, Math.max(min, renewalIntervalSecs)) : max;
  }

  /** An instance that promises this heartbeat interval (s) starts being counted (its first renewal). */
  instanceAdded(renewalIntervalSecs: number): void {
    const perMin = 60 / this.believedIntervalSecs(renewalIntervalSecs);
    this.instances++;
    this.expectedPerMin += perMin;
    addTo(this.added, this.addedStamp, Math.floor(this.clock.now() / this.bucketMs), perMin);
  }

  /** A counted instance with this heartbeat interval (s) left: cancelled or evicted (Eureka forgot evictions until 2020). */
  instanceRemoved(renewalIntervalSecs: number): void {
    this.instances = Math.max(0, this.instances - 1);
    this.expectedPerMin = Math.max(0, this.expectedPerMin - 60 / this.believedIntervalSecs(renewalIntervalSecs));
  }

  /** Opens for traffic after startup sync: renewals are judged one window from now; expected renewals recounted (counted instances' intervals, s). */
  openForTraffic(now: number, renewalIntervalsSecs: Iterable<number>): void {
    this.openedAt = now;
    this.recount(renewalIntervalsSecs);
  }

  /** Periodic recount from the registry: the promised heartbeat intervals of every counted instance (s). */
  recount(renewalIntervalsSecs: Iterable<number>): void {
    let expected = 0;
    let n = 0;
    for (const interval of renewalIntervalsSecs) {
      expected += 60 / this.believedIntervalSecs(interval);
      n++;
    }
    this.expectedPerMin = expected;
    this.instances = n;
  }

  /** Renewals in the window ending at `now`. */
  renewalsInWindow(now: number): number {
    const current = Math.floor(now / this.bucketMs);
    let sum = 0;
    for (let i = 0; i < BUCKETS; i++) if (this.bucketStamp[i] > current - BUCKETS) sum += this.buckets[i];
    return sum;
  }

  isLeaseExpirationEnabled(now: number): boolean {
    return !this.state(now).active;
  }

  state(now: number): SelfPreservationState {
    const decided = this.decide(now);
    if (!decided.active) this.suspendedSince = 0;
    else if (this.suspendedSince === 0) this.suspendedSince = decided.cause === 'startup-window' ? this.openedAt : now;
    return { ...decided, since: this.suspendedSince };
  }

  /**
   * Renewals the window cannot hold yet from instances counted less than a window ago: one that started renewing a
   * quarter of a window ago has renewed for a quarter of it. Without this, a fleet that starts at once (a zone's
   * clients moving here, a deployment) would count in full from its first heartbeats while the window still held
   * less than a window of them, and push the renewals under the threshold until a full window had passed.
   */
  private rampDeficit(now: number): number {
    const current = Math.floor(now / this.bucketMs);
    let deficit = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const slot = this.addedStamp[i];
      if (slot <= current - BUCKETS) continue;
      // Time renewing: from the middle of the bucket it was counted in.
      const renewingMs = now - (slot + 0.5) * this.bucketMs;
      deficit += this.added[i] * Math.max(0, 1 - renewingMs / this.options.windowMs);
    }
    return deficit;
  }

  private decide(now: number): Omit<SelfPreservationState, 'since'> {
    const { enabled, renewalPercentThreshold, minInstances, windowMs } = this.options;
    const expected = Math.round(this.expectedPerMin * 1000) / 1000;
    const threshold = Math.floor(expected * renewalPercentThreshold + 1e-9);
    // What the window can hold by now: the expectation less what instances counted lately had no time to send.
    const ramp = this.rampDeficit(now);
    const judged = ramp < 1e-6 ? threshold : Math.floor(Math.max(0, expected - ramp) * renewalPercentThreshold + 1e-9);
    // Scaled to a minute, so a shortened window (tests) keeps the same arithmetic.
    const renewals = Math.round((this.renewalsInWindow(now) * 60_000) / windowMs);
    const base = { enabled, expectedRenewalsPerMin: expected, threshold, renewalsLastMin: renewals, instances: this.instances };
    if (!enabled) return { ...base, active: false, cause: 'disabled', reason: 'self-preservation is switched off: expired leases are evicted' };
    if (this.instances < minInstances) {
      return { ...base, active: false, cause: 'few-instances', reason: `fewer than ${minInstances} instances are registered: expired leases are evicted` };
    }
    if (now - this.openedAt < windowMs) {
      return { ...base, active: true, cause: 'startup-window', reason: 'the server opened less than a renewal window ago: expiry waits until renewals can be counted' };
    }
    const lately = judged === threshold ? '' : ` (${judged} while instances counted in the last minute have had less than a minute to renew)`;
    if (renewals <= judged) {
      return { ...base, active: true, cause: 'below-threshold', reason: `${renewals} renewals in the last minute, at or below the threshold of ${threshold}${lately} (${Math.round(renewalPercentThreshold * 100)} % of ${expected} expected): a partition is likelier than a mass death, so nothing expires` };
    }
    return { ...base, active: false, cause: 'above-threshold', reason: `${renewals} renewals in the last minute, above the threshold of ${threshold}${lately}: expired leases are evicted` };
  }
}

// Adds `amount` to the bucket of `slot` in a ring of BUCKETS, emptying it first when it last held an older slot.
function addTo(buckets: Float64Array, stamps: Float64Array, slot: number, amount: number): void {
  const i = slot % BUCKETS;
  if (stamps[i] !== slot) {
    stamps[i] = slot;
    buckets[i] = 0;
  }
  buckets[i] += amount;
}
