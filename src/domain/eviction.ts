// Which expired leases to evict in one pass: Eureka's cap (a fraction of the registry per pass) and a random
// choice among the expired, so a mass expiry spreads across apps instead of wiping out one.

/** A source of uniform numbers in [0, 1); injected so tests are deterministic. */
export type Random = () => number;

/**
 * Most instances one pass may evict: `size − floor(size × (1 − maxFraction))`, as Eureka computes it with
 * renewalPercentThreshold. With 0.15: 1–6 instances → 1, 10 → 2, 100 → 15.
 */
export function evictionLimit(registrySize: number, maxFraction: number): number {
  return registrySize - Math.floor(registrySize * (1 - maxFraction) + 1e-9);
}

/** Picks `limit` of `expired` at random (partial Fisher–Yates); all of them when they fit. */
export function chooseVictims<T>(expired: readonly T[], limit: number, random: Random): T[] {
  const pool = expired.slice();
  if (pool.length <= limit) return pool;
  for (let i = 0; i < limit; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, limit);
}

/** Whether leases may expire now; self-preservation plugs in here. */
export interface ExpiryGate {
  isLeaseExpirationEnabled(now: number): boolean;
}

/** A gate that always lets leases expire (self-preservation off). */
export const alwaysExpire: ExpiryGate = { isLeaseExpirationEnabled: () => true };

/** A lease as the eviction pass sees it. */
export interface EvictableLease {
  readonly record: { readonly instance: { readonly app: string; readonly id: string } };
  isExpired(now: number, extraMs?: number): boolean;
}

/** What the eviction pass needs from the registry. */
export interface EvictableRegistry {
  readonly size: number;
  leases(): Iterable<EvictableLease>;
  /** The lease held now for the instance (another one once it registered again). */
  lease(app: string, id: string): EvictableLease | undefined;
  evict(app: string, id: string): unknown;
}

/** Result of one eviction pass. */
export interface EvictionReport {
  /** Leases found expired. */
  readonly expired: number;
  /** Leases evicted (at most the cap). */
  readonly evicted: number;
  /** True when the gate suspended expiry (self-preservation). */
  readonly suspended: boolean;
  /** Grace granted because the pass ran late, ms. */
  readonly compensationMs: number;
}

/**
 * One eviction pass per call. Like Eureka, a pass that runs late grants leases the lateness as extra grace
 * (a GC pause or a stalled event loop must not mass-expire them).
 */
export class Evictor {
  private lastRunAt: number | undefined;

  constructor(
    private readonly registry: EvictableRegistry,
    private readonly gate: ExpiryGate,
    private readonly options: { readonly intervalMs: number; readonly maxFraction: number; readonly random: Random },
  ) {}

  /** Evicts expired leases at `now` (ms), capped and chosen at random. */
  runPass(now: number): EvictionReport {
    const compensationMs = this.start(now);
    if (!this.gate.isLeaseExpirationEnabled(now)) return { expired: 0, evicted: 0, suspended: true, compensationMs };
    const expired: EvictableLease[] = [];
    collectExpired(this.registry.leases()[Symbol.iterator](), now, compensationMs, Infinity, expired);
    return this.finish(now, expired, compensationMs);
  }

  /**
   * The same pass with its walk over the registry cut into slices of `sliceSize` leases, `pause` awaited after each,
   * so that a large registry does not hold the event loop for the whole walk (250,000 leases: 11-17 ms on the
   * benchmark machine). A lease renewed, or an instance registered again, before the walk ends is not evicted.
   */
  async runPassInSlices(now: number, sliceSize: number, pause: () => Promise<void>): Promise<EvictionReport> {
    const compensationMs = this.start(now);
    if (!this.gate.isLeaseExpirationEnabled(now)) return { expired: 0, evicted: 0, suspended: true, compensationMs };
    const expired: EvictableLease[] = [];
    // The registry's walk visits what is added and skips what is removed meanwhile.
    const walk = this.registry.leases()[Symbol.iterator]();
    while (!collectExpired(walk, now, compensationMs, sliceSize, expired)) await pause();
    return this.finish(now, expired, compensationMs);
  }

  // Grace for a pass that runs late: the time since the last one beyond the interval.
  private start(now: number): number {
    const compensationMs = this.lastRunAt === undefined ? 0 : Math.max(0, now - this.lastRunAt - this.options.intervalMs);
    this.lastRunAt = now;
    return compensationMs;
  }

  private finish(now: number, expired: readonly EvictableLease[], compensationMs: number): EvictionReport {
    const limit = evictionLimit(this.registry.size, this.options.maxFraction);
    let evicted = 0;
    for (const lease of chooseVictims(expired, limit, this.options.random)) {
      const { app, id } = lease.record.instance;
      // Still the instance's lease, and still expired.
      if (this.registry.lease(app, id) !== lease || !lease.isExpired(now, compensationMs)) continue;
      this.registry.evict(app, id);
      evicted++;
    }
    return { expired: expired.length, evicted, suspended: false, compensationMs };
  }
}

// Takes up to `count` leases from `walk`, adding the expired ones to `into`; true once the walk has ended.
function collectExpired(walk: Iterator<EvictableLease>, now: number, extraMs: number, count: number, into: EvictableLease[]): boolean {
  for (let taken = 0; taken < count; taken++) {
    const next = walk.next();
    if (next.done === true) return true;
    if (next.value.isExpired(now, extraMs)) into.push(next.value);
  }
  return false;
}
