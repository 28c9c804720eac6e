// The recently-changed log behind /apps/delta: one entry per instance with its latest state, kept for a retention window.
import { InstanceView } from './model';

interface Entry {
  readonly view: InstanceView;
  readonly changedAt: number;
}

/** Latest change per instance within the retention window, oldest first. */
export class DeltaLog {
  // Map keeps insertion order; re-inserting on change keeps it ordered by change time.
  private readonly entries = new Map<string, Entry>();
  private gen = 0;

  /** @param retentionMs how long a change stays in the log, ms (Eureka: 180 000). */
  constructor(private readonly retentionMs: number) {}

  /** Records the latest state of the instance under `key` at `now` (ms). */
  record(key: string, view: InstanceView, now: number): void {
    this.entries.delete(key);
    this.entries.set(key, { view, changedAt: now });
    this.gen++;
  }

  /** Moves whenever the log's content changes (a change recorded or dropped). */
  get generation(): number {
    return this.gen;
  }

  /** Drops changes older than the retention window; returns how many were dropped. */
  prune(now: number): number {
    const cutoff = now - this.retentionMs;
    let dropped = 0;
    for (const [key, entry] of this.entries) {
      if (entry.changedAt >= cutoff) break;
      this.entries.delete(key);
      dropped++;
    }
    if (dropped > 0) this.gen++;
    return dropped;
  }

  /** The changes within the window at `now`, oldest first. */
  changes(now: number): InstanceView[] {
    this.prune(now);
    return Array.from(this.entries.values(), (e) => e.view);
  }

  /** Number of entries currently held (before pruning). */
  get size(): number {
    return this.entries.size;
  }
}
