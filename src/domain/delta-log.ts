// The recently-changed log behind /apps/delta: one entry per instance with its latest state, kept for a retention
// window and within a byte budget (an estimate of what each change costs to hold, its encodings included).
import { InstanceInfo, InstanceView } from './model';

interface Entry {
  readonly view: InstanceView;
  readonly changedAt: number;
  readonly bytes: number;
}

// Calibrated with bench/delta-memory.js against the heap a change holds: the record and its objects plus its cached
// JSON and XML encodings (~1 KB of objects and ~1.2 + 1.6 KB of text for a 1 KB registration body).
const FIXED_BYTES = 2400;
const BYTES_PER_CHAR = 3;
const BYTES_PER_MAP_ENTRY = 48;

/** Estimated bytes an instance's change holds in the log: its objects and strings, and its encodings once served. */
export function estimatedChangeBytes(i: InstanceInfo): number {
  let chars =
    i.id.length +
    i.app.length +
    i.hostName.length +
    i.ipAddr.length +
    (i.instanceId?.length ?? 0) +
    (i.sid?.length ?? 0) +
    i.dataCenterInfo.name.length +
    (i.appGroupName?.length ?? 0) +
    (i.homePageUrl?.length ?? 0) +
    (i.statusPageUrl?.length ?? 0) +
    (i.healthCheckUrl?.length ?? 0) +
    (i.secureHealthCheckUrl?.length ?? 0) +
    (i.vipAddress?.length ?? 0) +
    (i.secureVipAddress?.length ?? 0) +
    (i.asgName?.length ?? 0);
  let entries = 0;
  for (const map of [i.metadata, i.dataCenterInfo.metadata]) {
    if (!map) continue;
    for (const key in map) {
      chars += key.length * 2 + map[key].length;
      entries++;
    }
  }
  return FIXED_BYTES + BYTES_PER_CHAR * chars + BYTES_PER_MAP_ENTRY * entries;
}

/** Latest change per instance within the retention window and the byte budget, oldest first. */
export class DeltaLog {
  // Map keeps insertion order; re-inserting on change keeps it ordered by change time.
  private readonly entries = new Map<string, Entry>();
  private gen = 0;
  private heldBytes = 0;
  private dropped = 0;

  /**
   * @param retentionMs how long a change stays in the log, ms (Eureka: 180 000).
   * @param maxBytes estimated bytes the log may hold; past it the oldest changes leave before their time.
   */
  constructor(
    private readonly retentionMs: number,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {}

  /** Records the latest state of the instance under `key` at `now` (ms). */
  record(key: string, view: InstanceView, now: number): void {
    const previous = this.entries.get(key);
    if (previous) {
      this.entries.delete(key);
      this.heldBytes -= previous.bytes;
    }
    const bytes = estimatedChangeBytes(view.record.instance);
    this.entries.set(key, { view, changedAt: now, bytes });
    this.heldBytes += bytes;
    this.gen++;
    // A client that misses a change dropped early usually sees apps__hashcode disagree and fetches the full registry;
    // a change that leaves the status counts equal goes unseen until then (see deltaMaxBytes).
    while (this.heldBytes > this.maxBytes && this.entries.size > 1) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, Entry];
      this.entries.delete(oldestKey);
      this.heldBytes -= oldest.bytes;
      this.dropped++;
    }
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
      this.heldBytes -= entry.bytes;
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

  /** Estimated bytes the entries hold. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Changes dropped before their retention ended, to stay within the byte budget (since start). */
  get droppedEarly(): number {
    return this.dropped;
  }
}
