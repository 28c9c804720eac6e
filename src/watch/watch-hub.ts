// Parked long-polls on the delta: a watcher waits at the registry revision it holds until the next change, its wait
// running out, or shutdown. Every content change wakes every watcher (a watcher is only parked when nothing after its
// revision exists, so any change is news to all); heartbeats wake none. Changes made in one turn of the event loop
// (a replication batch, say) wake watchers once, after that turn's answers are written (the writer is not made to
// wait for thousands of watchers).
import { Registry, RegistryEvent } from '../domain/registry';
import { Scheduler } from '../scheduling/scheduler';

/** Why a parked watcher is answered. */
export type WakeReason = 'change' | 'timeout' | 'shutdown';

/** Settings of the hub (units in the names). */
export interface WatchHubOptions {
  /** Longest a watcher may wait, ms: longer requested waits are clamped to it. */
  readonly maxWaitMs: number;
  /** Most watchers parked at once (long-polls and event streams together: see admits). */
  readonly maxWatchers: number;
  /** Uniform random number in [0, 1): the jitter added to each wait. */
  readonly random: () => number;
}

/** What the hub counts for the operators' surface. */
export interface WatchHubStats {
  /** Watchers answered, by why. */
  readonly answered: Record<WakeReason, number>;
  /** Watches refused because maxWatchers were parked. */
  refused: number;
}

interface Watcher {
  readonly answer: (reason: WakeReason) => void;
  cancelTimer: () => void;
}

/** A parked watcher's handle: cancel() when its client goes away before it is answered. */
export interface Parked {
  cancel(): void;
}

/** The wait a watcher gets: the requested one clamped to the maximum, plus up to 1/16 of it at random (ms). */
export function jitteredWaitMs(requestedMs: number, maxWaitMs: number, random: () => number): number {
  const wait = Math.min(Math.max(0, requestedMs), maxWaitMs);
  // Watchers parked together would otherwise all come back in the same instant (Consul adds the same 1/16).
  return wait + Math.floor(random() * (wait / 16));
}

/** The parked long-polls of one server. */
export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private wakeQueued = false;
  private closed = false;
  private readonly unsubscribe: () => void;
  /** Other holders of watch slots (event streams), counted against maxWatchers. */
  private others: () => number = () => 0;
  readonly stats: WatchHubStats = { answered: { change: 0, timeout: 0, shutdown: 0 }, refused: 0 };

  constructor(
    registry: Pick<Registry, 'subscribe'>,
    private readonly scheduler: Pick<Scheduler, 'after'>,
    private readonly options: WatchHubOptions,
  ) {
    this.unsubscribe = registry.subscribe((event) => this.onEvent(event));
  }

  /** Watchers parked now. */
  get size(): number {
    return this.watchers.size;
  }

  /** Counts another kind of watch (event streams) against the same cap. */
  shareCapWith(count: () => number): void {
    this.others = count;
  }

  /** Whether one more watch (parked or streamed) fits under maxWatchers; counts a refusal when not. */
  admits(): boolean {
    if (!this.closed && this.watchers.size + this.others() < this.options.maxWatchers) return true;
    this.stats.refused++;
    return false;
  }

  /**
   * Parks a watcher for `requestedWaitMs` (clamped, jittered); `answer` is called exactly once, unless the handle is
   * cancelled first. The caller checks admits() and that nothing newer than the watcher's revision exists.
   */
  park(requestedWaitMs: number, answer: (reason: WakeReason) => void): Parked {
    const watcher: Watcher = { answer, cancelTimer: () => undefined };
    if (this.closed) {
      this.answer(watcher, 'shutdown');
      return { cancel: () => undefined };
    }
    this.watchers.add(watcher);
    watcher.cancelTimer = this.scheduler.after(jitteredWaitMs(requestedWaitMs, this.options.maxWaitMs, this.options.random), () => {
      if (this.watchers.delete(watcher)) this.answer(watcher, 'timeout');
    });
    return {
      cancel: () => {
        if (this.watchers.delete(watcher)) watcher.cancelTimer();
      },
    };
  }

  /** Answers every parked watcher (shutdown) and parks no more; detaches from the registry. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.wakeAll('shutdown');
  }

  private onEvent(event: RegistryEvent): void {
    // A heartbeat changes nothing a watcher can see (a carried override arrives as its own status event).
    if (event.type === 'renewed' || this.wakeQueued || this.watchers.size === 0) return;
    this.wakeQueued = true;
    // After the current turn (setImmediate: once the write that caused it has been answered), once for all of it.
    setImmediate(() => {
      this.wakeQueued = false;
      if (!this.closed) this.wakeAll('change');
    });
  }

  private wakeAll(reason: WakeReason): void {
    const woken = [...this.watchers];
    this.watchers.clear();
    for (const watcher of woken) {
      watcher.cancelTimer();
      this.answer(watcher, reason);
    }
  }

  private answer(watcher: Watcher, reason: WakeReason): void {
    this.stats.answered[reason]++;
    watcher.answer(reason);
  }
}
