// The health checks' decisions, as pure functions of probe results and time: when an instance is marked DOWN or given
// back its reported status, and the safety valve that stops marking DOWN while most probes fail at once (then the
// prober's own network is the likely fault, not the instances).
import { Thresholds } from './target';

/** The run of results of one instance's probes. */
export interface ProbeRun {
  readonly consecutiveFailures: number;
  readonly consecutiveSuccesses: number;
}

/** No probe yet. */
export const NO_RUN: ProbeRun = Object.freeze({ consecutiveFailures: 0, consecutiveSuccesses: 0 });

/** What to do after a probe: mark DOWN, give back the reported status, hold a DOWN back (valve), or nothing. */
export type HealthAction = 'mark-down' | 'mark-up' | 'withhold' | 'none';

/**
 * The run after one more probe and what to do. `verdictDown`: a health verdict holds the instance DOWN now (ours, or
 * the one its previous prober left). failuresBeforeDown failures in a row mark it DOWN, unless the valve is engaged;
 * successesBeforeUp successes in a row clear the verdict, valve or not. A DOWN is only ever decided on a failure, so a
 * run of failures held back by the valve is not acted on once the instance answers again.
 */
export function judge(run: ProbeRun, healthy: boolean, verdictDown: boolean, thresholds: Pick<Thresholds, 'failuresBeforeDown' | 'successesBeforeUp'>, valveEngaged: boolean): { readonly run: ProbeRun; readonly action: HealthAction } {
  if (healthy) {
    const next = { consecutiveFailures: 0, consecutiveSuccesses: Math.min(run.consecutiveSuccesses + 1, 1_000_000) };
    return { run: next, action: verdictDown && next.consecutiveSuccesses >= thresholds.successesBeforeUp ? 'mark-up' : 'none' };
  }
  const next = { consecutiveFailures: Math.min(run.consecutiveFailures + 1, 1_000_000), consecutiveSuccesses: 0 };
  if (verdictDown || next.consecutiveFailures < thresholds.failuresBeforeDown) return { run: next, action: 'none' };
  return { run: next, action: valveEngaged ? 'withhold' : 'mark-down' };
}

/** Settings of the valve (units in the names). */
export interface ValveOptions {
  /** The window probes are counted over: one probe interval, ms. */
  readonly windowMs: number;
  /** Above this fraction of failed probes in the window the valve engages. */
  readonly fraction: number;
  /** Below this many probes in the window it never engages: a few dead instances are not a network fault. */
  readonly minProbes: number;
}

/** Slices the window is counted in. */
const SLICES = 10;

/**
 * Counts probes and failures over the last window (in slices of a tenth of it) and engages when more than `fraction`
 * of them failed; releases as soon as the fraction is back at or below it. Time is a parameter (`now`, ms).
 */
export class SafetyValve {
  private readonly probes = new Array<number>(SLICES).fill(0);
  private readonly failures = new Array<number>(SLICES).fill(0);
  private readonly sliceMs: number;
  // The slice index (time / sliceMs) the counts of each slot belong to.
  private readonly sliceOf = new Array<number>(SLICES).fill(-1);
  private engagedAt = 0;
  private engaged = false;
  private count = 0;

  constructor(private readonly options: ValveOptions) {
    this.sliceMs = Math.max(1, Math.ceil(options.windowMs / SLICES));
  }

  /** Counts one probe that passed or failed at `now`. */
  record(failed: boolean, now: number): void {
    const slot = this.slot(now);
    this.probes[slot]++;
    if (failed) this.failures[slot]++;
  }

  /** Judges the window at `now`; 'engaged' or 'released' when the valve just changed, else undefined. */
  update(now: number): 'engaged' | 'released' | undefined {
    const { probes, failures } = this.totals(now);
    const over = probes >= this.options.minProbes && probes > 0 && failures / probes > this.options.fraction;
    if (over === this.engaged) return undefined;
    this.engaged = over;
    if (over) {
      this.engagedAt = now;
      this.count++;
      return 'engaged';
    }
    this.engagedAt = 0;
    return 'released';
  }

  /** Whether marking DOWN is held back. */
  get isEngaged(): boolean {
    return this.engaged;
  }

  /** The valve at `now` as operators see it. */
  state(now: number): { engaged: boolean; since: number; probes: number; failures: number; failingFraction: number; threshold: number; engagements: number } {
    const { probes, failures } = this.totals(now);
    return { engaged: this.engaged, since: this.engagedAt, probes, failures, failingFraction: probes === 0 ? 0 : failures / probes, threshold: this.options.fraction, engagements: this.count };
  }

  // The slot of `now`'s slice, emptied first when it last held an older slice.
  private slot(now: number): number {
    const slice = Math.floor(now / this.sliceMs);
    const slot = ((slice % SLICES) + SLICES) % SLICES;
    if (this.sliceOf[slot] !== slice) {
      this.sliceOf[slot] = slice;
      this.probes[slot] = 0;
      this.failures[slot] = 0;
    }
    return slot;
  }

  private totals(now: number): { probes: number; failures: number } {
    const current = Math.floor(now / this.sliceMs);
    let probes = 0;
    let failures = 0;
    for (let i = 0; i < SLICES; i++) {
      const age = current - this.sliceOf[i];
      if (this.sliceOf[i] < 0 || age < 0 || age >= SLICES) continue;
      probes += this.probes[i];
      failures += this.failures[i];
    }
    return { probes, failures };
  }
}
