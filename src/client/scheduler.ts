// Timers for the client: the same Scheduler shape the server uses (src/scheduling/scheduler.ts), implemented with
// plain setTimeout/setInterval so the client does not depend on node-cron. Tests inject their own.
import type { Scheduler } from '../scheduling/scheduler';

export type { Scheduler };

/** Options of {@link TimerScheduler}. */
export interface TimerSchedulerOptions {
  /**
   * Whether the timers keep the Node process alive. Default false (timers are `unref()`ed): an embedded client
   * never holds a process open on its own. The sidecar sets it to true, it has nothing else to keep it running.
   */
  readonly keepAlive?: boolean;
  /** Called when a periodic task throws; default: ignore (the client's tasks catch their own errors). */
  readonly onError?: (name: string, error: unknown) => void;
}

/** A {@link Scheduler} on setTimeout/setInterval. A task that throws runs again next period. */
export class TimerScheduler implements Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly options: TimerSchedulerOptions = {}) {}

  /** Runs `task` every `periodMs` ms until {@link stop}. */
  every(name: string, periodMs: number, task: () => void): void {
    if (this.stopped) return;
    const timer = setInterval(() => {
      try {
        task();
      } catch (e) {
        this.options.onError?.(name, e);
      }
    }, periodMs);
    this.track(timer);
  }

  /** Runs `task` once after `delayMs` ms; the returned function cancels it. */
  after(delayMs: number, task: () => void): () => void {
    if (this.stopped) return () => undefined;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      task();
    }, Math.max(0, delayMs));
    this.track(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  /** Cancels every timer; later calls to every/after do nothing. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private track(timer: NodeJS.Timeout): void {
    if (!this.options.keepAlive) timer.unref();
    this.timers.add(timer);
  }
}
