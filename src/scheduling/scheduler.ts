// The only place timers live. Periodic tasks run on node-cron when their period is a cron-expressible number of
// seconds or minutes, and on a plain interval otherwise (sub-second periods in tests, odd periods set by operators).
import cron from 'node-cron';
import { Logger } from '../observability/logger';

/** Something that runs tasks periodically. */
export interface Scheduler {
  /** Runs `task` every `periodMs` ms until stop(); a task that returns a promise is logged if it rejects. */
  every(name: string, periodMs: number, task: () => void | Promise<void>): void;
  /** Runs `task` once after `delayMs` ms; returns a function that cancels it. */
  after(delayMs: number, task: () => void): () => void;
  stop(): void;
}

/** A cron expression for the period, when node-cron can express it exactly. */
export function cronExpressionFor(periodMs: number): string | undefined {
  if (periodMs % 1000 !== 0) return undefined;
  const seconds = periodMs / 1000;
  if (seconds < 60 && 60 % seconds === 0) return `*/${seconds} * * * * *`;
  if (seconds % 60 === 0 && seconds < 3600 && 60 % (seconds / 60) === 0) return `0 */${seconds / 60} * * * *`;
  return undefined;
}

/** node-cron (or setInterval) scheduler; a failing task is logged and runs again next period. */
export class CronScheduler implements Scheduler {
  private readonly stops: (() => void)[] = [];

  constructor(private readonly logger: Logger) {}

  every(name: string, periodMs: number, task: () => void | Promise<void>): void {
    const failed = (e: unknown): void => this.logger.error('scheduled task failed', { task: name, error: e instanceof Error ? e.stack : String(e) });
    const run = (): void => {
      try {
        const done = task();
        if (done instanceof Promise) done.catch(failed);
      } catch (e) {
        failed(e);
      }
    };
    const expression = cronExpressionFor(periodMs);
    if (expression) {
      const job = cron.schedule(expression, run, { name, noOverlap: true });
      this.stops.push(() => void job.destroy());
    } else {
      const timer = setInterval(run, periodMs);
      timer.unref();
      this.stops.push(() => clearInterval(timer));
    }
  }

  after(delayMs: number, task: () => void): () => void {
    const timer = setTimeout(task, delayMs);
    timer.unref();
    const cancel = (): void => clearTimeout(timer);
    return cancel;
  }

  stop(): void {
    for (const stop of this.stops.splice(0)) stop();
  }
}
