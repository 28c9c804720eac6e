// A Scheduler on a ManualClock for the replication tests: nothing runs until the test moves time with advance(),
// which runs every due callback in due order (ties in scheduling order) and lets promise chains settle between them.
import { ManualClock } from '../../src/domain/clock';
import { Scheduler } from '../../src/scheduling/scheduler';

interface Timer {
  readonly seq: number;
  at: number;
  readonly task: () => void;
  /** Set for `every` timers. */
  readonly periodMs?: number;
  readonly name?: string;
}

/** Lets pending promise chains (fake clients answering, async senders resuming) run to completion. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class ManualScheduler implements Scheduler {
  private timers: Timer[] = [];
  private seq = 0;
  private stopped = false;

  constructor(readonly clock: ManualClock = new ManualClock()) {}

  every(name: string, periodMs: number, task: () => void): void {
    if (this.stopped) return;
    this.timers.push({ seq: this.seq++, at: this.clock.now() + periodMs, task, periodMs, name });
  }

  after(delayMs: number, task: () => void): () => void {
    const timer: Timer = { seq: this.seq++, at: this.clock.now() + Math.max(0, delayMs), task };
    if (!this.stopped) this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  stop(): void {
    this.stopped = true;
    this.timers = [];
  }

  /** Callbacks waiting to run. */
  get pending(): number {
    return this.timers.length;
  }

  /** Due times of the waiting callbacks, earliest first, relative to now (ms). */
  delays(): number[] {
    const now = this.clock.now();
    return this.timers.map((t) => t.at - now).sort((a, b) => a - b);
  }

  /**
   * Moves the clock forward by `ms`, running each callback when its due time is reached (the clock reads the due
   * time while it runs) and settling promises after each one. Callbacks scheduled meanwhile run too if they fall due.
   */
  async advance(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    await settle();
    for (;;) {
      const next = this.nextDue(end);
      if (!next) break;
      if (next.at > this.clock.now()) this.clock.set(next.at);
      if (next.periodMs !== undefined) next.at += next.periodMs;
      else this.timers = this.timers.filter((t) => t !== next);
      next.task();
      await settle();
    }
    this.clock.set(end);
    await settle();
  }

  /** Runs whatever is due now (zero-delay callbacks) without moving the clock. */
  async runDue(): Promise<void> {
    await this.advance(0);
  }

  private nextDue(end: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) {
      if (t.at > end) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
