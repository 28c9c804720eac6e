// The probe adapters' one interface: probe a target until it answers, fails or the signal aborts (the timeout, which
// the health checks run on the scheduler). A probe never throws: every ending is a result.
import { ProbeOutcome } from '../observability/server-status';
import { ProbeTarget } from './target';

/** How a probe ended, and in words (status code, error code). */
export interface ProbeResult {
  readonly outcome: ProbeOutcome;
  readonly detail: string;
}

/** Something that probes one kind of target. */
export interface Prober {
  /** Resolves once the target answered or failed, or at once when `signal` aborts (then with 'timeout'). */
  probe(target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult>;
}

/** The result of a probe that ran out of time. */
export const TIMED_OUT: ProbeResult = Object.freeze({ outcome: 'timeout', detail: 'no answer within the timeout' });

/** An error as a short detail: its code (ECONNREFUSED, …) when it has one. */
export function errorDetail(e: unknown): string {
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
  return code || (e instanceof Error ? e.message : String(e)).slice(0, 200);
}
