// The recently-changed log behind /apps/delta: one entry per instance with its latest state, kept for a retention
// window and within a byte budget (an estimate of what each change costs to hold, its encodings included).
import { InstanceInfo, InstanceView } from './model';

interface Entry {
  readonly key: string;
  readonly app: string;
  readonly view: InstanceView;
  readonly changedAt: number;
  readonly bytes: number;
  /** False once a newer change of the same key or a drop replaced it. */
  live: boolean;
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

/**
 * Latest change per instance within the retention window and the byte budget, oldest first. Changes are recorded in
 * revision order, so the changes after a revision are found by binary search; `coveredFrom` says which revisions the
 * log can still answer for (a reader at an older revision may have missed a change that has left).
 *
 * The live changes are also held per application, for the delta document: applications in the order their first
 * change (while they had none in the log) arrived, an application leaving when its last change does and coming back
 * last, and each application's changes oldest first. Listeners hear which application's changes moved.
 */
export class DeltaLog {
  // The live entries per application by key, oldest first: the one map of live entries (a key names its application,
  // as the registry's do), so a change looks up and inserts in its application's map, not in one of every instance.
  // `order` holds every entry in record order, replaced ones marked not live until compacted.
  private readonly apps = new Map<string, Map<string, Entry>>();
  private live = 0;
  // Replaced, never mutated, on (un)subscribe.
  private listeners: readonly ((app: string) => void)[] = [];
  private order: Entry[] = [];
  private head = 0;
  private heldBytes = 0;
  private dropped = 0;
  private floor = 0;

  /**
   * @param retentionMs how long a change stays in the log, ms (Eureka: 180 000).
   * @param maxBytes estimated bytes the log may hold; past it the oldest changes leave before their time.
   */
  constructor(
    private readonly retentionMs: number,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {}

  /**
   * Records the latest state of the instance under `key` at `now` (ms); revisions must not decrease between calls,
   * and a key belongs to one application (the instance's).
   */
  record(key: string, view: InstanceView, now: number): void {
    const app = view.record.instance.app;
    let listed = this.apps.get(app);
    const previous = listed?.get(key);
    if (previous !== undefined) {
      previous.live = false;
      this.heldBytes -= previous.bytes;
      this.live--;
      // Within its application the change moves last; the application keeps its place.
      (listed as Map<string, Entry>).delete(key);
    }
    const entry: Entry = { key, app, view, changedAt: now, bytes: estimatedChangeBytes(view.record.instance), live: true };
    this.order.push(entry);
    this.heldBytes += entry.bytes;
    this.live++;
    if (listed === undefined) this.apps.set(app, (listed = new Map()));
    listed.set(key, entry);
    this.changed(app);
    // A client that misses a change dropped early usually sees apps__hashcode disagree and fetches the full registry;
    // a change that leaves the status counts equal goes unseen until then (see deltaMaxBytes). A watcher at an older
    // revision is told to fetch the full registry (coveredFrom).
    while (this.heldBytes > this.maxBytes && this.live > 1) {
      this.dropOldest();
      this.dropped++;
    }
    this.compact();
  }

  /** The oldest revision a reader may hold and still get every later change from the log (0 until a change leaves). */
  get coveredFrom(): number {
    return this.floor;
  }

  /** Drops changes older than the retention window; returns how many were dropped. */
  prune(now: number): number {
    const cutoff = now - this.retentionMs;
    let dropped = 0;
    while (this.head < this.order.length) {
      const entry = this.order[this.head];
      if (entry.live && entry.changedAt >= cutoff) break;
      if (entry.live) {
        this.dropOldest();
        dropped++;
      } else {
        this.head++;
      }
    }
    this.compact();
    return dropped;
  }

  /** The changes within the window at `now`, oldest first. */
  changes(now: number): InstanceView[] {
    this.prune(now);
    return this.liveFrom(this.head);
  }

  /**
   * The changes recorded after `revision`, oldest first (the latest state of each changed instance), or 'gone' when
   * the log no longer covers that revision (see coveredFrom) or it is ahead of the newest change (`latest`).
   */
  changesSince(revision: number, latest: number): InstanceView[] | 'gone' {
    if (revision < this.floor || revision > latest) return 'gone';
    let lo = this.head;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.order[mid].view.record.revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return this.liveFrom(lo);
  }

  /** Applications with changes in the log, in the delta document's order (see the class). */
  applicationNames(): IterableIterator<string> {
    return this.apps.keys();
  }

  /** The changes of one application, oldest first (none when it has none). */
  *application(app: string): Iterable<InstanceView> {
    const listed = this.apps.get(app);
    if (listed !== undefined) for (const entry of listed.values()) yield entry.view;
  }

  /** Changes one application has in the log. */
  applicationSize(app: string): number {
    return this.apps.get(app)?.size ?? 0;
  }

  /** Calls `listener` with each application whose changes moved (after they did); returns the unsubscribe function. */
  subscribe(listener: (app: string) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Number of entries currently held (before pruning). */
  get size(): number {
    return this.live;
  }

  /** Estimated bytes the entries hold. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Changes dropped before their retention ended, to stay within the byte budget (since start). */
  get droppedEarly(): number {
    return this.dropped;
  }

  private liveFrom(start: number): InstanceView[] {
    const out: InstanceView[] = [];
    for (let i = start; i < this.order.length; i++) if (this.order[i].live) out.push(this.order[i].view);
    return out;
  }

  // Drops the oldest live entry (there is one: callers check).
  private dropOldest(): void {
    while (!this.order[this.head].live) this.head++;
    const oldest = this.order[this.head++];
    oldest.live = false;
    this.live--;
    this.heldBytes -= oldest.bytes;
    this.floor = Math.max(this.floor, oldest.view.record.revision);
    this.unlist(oldest);
    this.changed(oldest.app);
  }

  // Takes a dropped entry out of its application's list; the application leaves with its last entry.
  private unlist(entry: Entry): void {
    const listed = this.apps.get(entry.app) as Map<string, Entry>;
    listed.delete(entry.key);
    if (listed.size === 0) this.apps.delete(entry.app);
  }

  private changed(app: string): void {
    for (const listener of this.listeners) listener(app);
  }

  // Keeps `order` within twice the live entries (plus slack) and its dropped prefix within the live entries' number,
  // so that a compaction copying n entries comes at most once per n records: amortised O(1) per record.
  private compact(): void {
    const held = this.order.length - this.head;
    if (held <= 2 * this.live + 64 && this.head <= Math.max(1024, this.live)) return;
    this.order = this.order.filter((e, i) => i >= this.head && e.live);
    this.head = 0;
  }
}
