// Token buckets for the two rate limits (full fetches for the whole server, requests per client address). A bucket
// holds one second's worth of tokens (at least one) and refills continuously; an empty bucket says how long until the
// next token, which becomes Retry-After.

/** One bucket; time in milliseconds from any monotonic origin. */
export class TokenBucket {
  private tokens: number;
  private at: number;
  private readonly capacity: number;
  private readonly perMs: number;

  constructor(ratePerSec: number, now: number) {
    this.capacity = Math.max(1, ratePerSec);
    this.perMs = ratePerSec / 1000;
    this.tokens = this.capacity;
    this.at = now;
  }

  /** Takes a token: 0 when one was available, otherwise the milliseconds until one will be. */
  take(now: number): number {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - this.tokens) / this.perMs);
  }

  /** True when the bucket would be full at `now` (an idle client; its bucket can be forgotten). */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.capacity;
  }

  private refill(now: number): void {
    if (now > this.at) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.at) * this.perMs);
      this.at = now;
    }
  }
}

/** A bucket per key (client address), at most `maxKeys` of them: idle ones are forgotten first. */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly ratePerSec: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Takes a token for `key`: 0 when allowed, otherwise milliseconds until it will be. */
  take(key: string, now: number): number {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) this.sweep(now);
      bucket = new TokenBucket(this.ratePerSec, now);
      this.buckets.set(key, bucket);
    }
    return bucket.take(now);
  }

  /** Clients tracked now. */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    for (const [key, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(key);
    // Every client is busy: forget the oldest half (they get a fresh bucket, a small leniency under overload).
    if (this.buckets.size >= this.maxKeys) {
      let n = this.buckets.size >> 1;
      for (const key of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(key);
      }
    }
  }
}

/** Retry-After in whole seconds (at least 1) for a wait in milliseconds. */
export const retryAfterSecs = (waitMs: number): number => Math.max(1, Math.ceil(waitMs / 1000));
