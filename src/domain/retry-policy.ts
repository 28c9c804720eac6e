// Retry policies as data: how long to wait after the n-th failed attempt (exponential growth up to a ceiling, with
// optional jitter) and when to give up. Pure: no timers; the random source is handed in.

/** How a delay is spread: not at all, or uniformly between `lowFraction` × the nominal delay and all of it. */
export type RetryJitter = { readonly kind: 'none' } | { readonly kind: 'proportional'; readonly lowFraction: number };

/** No jitter: every delay is the nominal one. */
export const NO_JITTER: RetryJitter = { kind: 'none' };

/** "Equal jitter": between half and all of the nominal delay. */
export const EQUAL_JITTER: RetryJitter = { kind: 'proportional', lowFraction: 0.5 };

/** A retry policy: delay after attempt n is min(maxMs, baseMs × multiplier^(n−1)), then jittered. */
export interface RetryPolicy {
  /** Nominal delay after the first failed attempt, ms. */
  readonly baseMs: number;
  /** Longest nominal delay, ms. */
  readonly maxMs: number;
  /** Growth of the nominal delay per further failed attempt (2: doubles). */
  readonly multiplier: number;
  readonly jitter: RetryJitter;
  /** Attempts after which to give up; absent: never give up. */
  readonly maxAttempts?: number;
}

/** What to do after a failed attempt: wait `delayMs` ms and try again, or give up. */
export type RetryDecision = { readonly kind: 'wait'; readonly delayMs: number } | { readonly kind: 'give-up' };

const GIVE_UP: RetryDecision = { kind: 'give-up' };

/** Delay after failed attempt `attempt` (1-based; below 1 counts as 1) before jitter, ms. */
export function nominalDelayMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxMs, policy.baseMs * policy.multiplier ** Math.max(0, attempt - 1));
}

/**
 * Delay after failed attempt `attempt`, ms: the nominal delay, jittered with one draw from `random` (uniform in
 * [0, 1)) when the policy has jitter; a policy without jitter never draws.
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random?: () => number): number {
  const nominalMs = nominalDelayMs(policy, attempt);
  const jitter = policy.jitter;
  if (jitter.kind === 'none') return nominalMs;
  if (random === undefined) throw new TypeError('retryDelayMs: a policy with jitter needs a random source');
  return Math.min(nominalMs, nominalMs * jitter.lowFraction + random() * nominalMs * (1 - jitter.lowFraction));
}

/** True when failed attempt `attempt` (1-based) was the last the policy allows. */
export function givesUp(policy: RetryPolicy, attempt: number): boolean {
  return policy.maxAttempts !== undefined && attempt >= policy.maxAttempts;
}

/** After failed attempt `attempt` (1-based): give up, or wait {@link retryDelayMs}; giving up draws no random number. */
export function nextRetry(policy: RetryPolicy, attempt: number, random?: () => number): RetryDecision {
  return givesUp(policy, attempt) ? GIVE_UP : { kind: 'wait', delayMs: retryDelayMs(policy, attempt, random) };
}

/**
 * The wait when the other side asked for `askedMs` (Retry-After), ms: honoured up to the policy's maxMs, so a peer
 * cannot park us for long, and never shorter than our own `delayMs`.
 */
export function honourRetryAfterMs(policy: RetryPolicy, delayMs: number, askedMs: number | undefined): number {
  return Math.max(Math.min(askedMs ?? 0, policy.maxMs), delayMs);
}
