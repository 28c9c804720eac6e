// A peer's pending replication tasks (pure: time is a parameter). Kept per instance, instances in the order they
// were first queued, each instance's changes in causal order so a peer never sees a status change before the
// register it depends on; batches released by size or age; expired tasks dropped; bounded, dropping heartbeats first.
import { ReplicationAction } from './protocol';

/** A change to send to a peer. `payload` is whatever the sender needs to encode it. */
export interface ReplicationTask<P = unknown> {
  readonly action: ReplicationAction;
  readonly app: string;
  readonly id: string;
  readonly payload: P;
  /** When it was queued, ms. */
  readonly queuedAt: number;
  /** After this time it is dropped unsent, ms (time the peer asked us to wait does not count). */
  readonly expiresAt: number;
}

/** Queue settings. */
export interface TaskQueueOptions {
  /** Most tasks per batch (Eureka: 250). */
  readonly batchSize: number;
  /** Longest a task waits for a batch to fill, ms (Eureka: 500). */
  readonly maxBatchingDelayMs: number;
  /** Most pending tasks (Eureka: 10 000). */
  readonly maxPending: number;
}

/** Tasks that did not reach the peer, by reason; registers and cancels are the ones that matter. */
export interface DroppedTask<P> {
  readonly task: ReplicationTask<P>;
  readonly reason: 'expired' | 'overflow';
}

/** The key of a task's instance. */
export const instanceKey = (t: { app: string; id: string }): string => `${t.app}/${t.id}`;

interface Slot<P> {
  readonly task: ReplicationTask<P>;
  /** Expiry-paused time already elapsed when the task was queued, ms (see pausedTimeAt). */
  readonly pausedBase: number;
}

/** One instance's pending tasks: its changes in causal order, and at most one heartbeat among them. */
interface Entry<P> {
  readonly key: string;
  /** Allocated on the first change: most entries only ever hold a heartbeat. */
  changes: Slot<P>[] | undefined;
  heartbeat: ReplicationTask<P> | undefined;
  heartbeatPausedBase: number;
  /** How many of `changes` go before the heartbeat. */
  heartbeatAfter: number;
  /** Oldest queue time of the tasks here, ms. */
  since: number;
}

const NOTHING_DROPPED: readonly DroppedTask<never>[] = Object.freeze([]);

/** The pending tasks of one peer, in send order. */
export class TaskQueue<P = unknown> {
  // Map order is send order: an instance keeps its place while its tasks coalesce.
  private entries = new Map<string, Entry<P>>();
  // Entries holding a heartbeat, oldest heartbeat first: the overflow victims.
  private heartbeatOrder = new Map<string, Entry<P>>();
  private count = 0;
  // Expiry pause bookkeeping: total paused time of closed pauses, and the start of the open one.
  private pausedMs = 0;
  private pausedSince: number | undefined;

  constructor(private readonly options: TaskQueueOptions) {}

  get size(): number {
    return this.count;
  }

  /**
   * Queues a task after its instance's pending ones, coalescing with them (see coalesce); returns what had to be
   * dropped to make room.
   */
  offer(task: ReplicationTask<P>): readonly DroppedTask<P>[] {
    return this.place(task, this.pausedTimeAt(task.queuedAt));
  }

  /** When the next batch is due, ms (now if full), or undefined when nothing is pending. */
  nextReleaseAt(now: number): number | undefined {
    const first = this.entries.values().next();
    if (first.done) return undefined;
    if (this.count >= this.options.batchSize) return now;
    return first.value.since + this.options.maxBatchingDelayMs;
  }

  /** Takes up to batchSize unexpired tasks from the head, each instance's in order; expired ones come back in `expired`. */
  takeBatch(now: number): { batch: ReplicationTask<P>[]; expired: DroppedTask<P>[] } {
    const batch: ReplicationTask<P>[] = [];
    const expired: DroppedTask<P>[] = [];
    const paused = this.pausedTimeAt(now);
    const take = (task: ReplicationTask<P>, pausedBase: number): void => {
      const creditMs = paused - pausedBase;
      if (task.expiresAt + creditMs <= now) expired.push({ task, reason: 'expired' });
      else batch.push(creditMs > 0 ? { ...task, expiresAt: task.expiresAt + creditMs } : task);
    };
    if (this.count <= this.options.batchSize) {
      // All of it fits (a peer that keeps up takes everything each time): the maps are replaced, not emptied key by
      // key. Long-lived maps that every heartbeat passed through, deleted from as fast as they were added to, cost the
      // old generation 0.4 MB/s more at 2,800 heartbeats a second to two peers (the zone-share benchmark).
      for (const entry of this.entries.values()) forEachPending(entry, take);
      this.entries = new Map();
      this.heartbeatOrder = new Map();
      this.count = 0;
      return { batch, expired };
    }
    for (const entry of this.entries.values()) {
      while (batch.length < this.options.batchSize) {
        if (entry.heartbeat && entry.heartbeatAfter === 0) {
          const base = entry.heartbeatPausedBase;
          take(this.dropHeartbeat(entry)!, base);
          continue;
        }
        const slot = this.shiftChange(entry);
        if (!slot) break;
        take(slot.task, slot.pausedBase);
      }
      if (this.isEmpty(entry)) {
        this.entries.delete(entry.key);
      } else {
        entry.since = oldestQueuedAt(entry);
        break;
      }
    }
    return { batch, expired };
  }

  /**
   * Puts a failed batch back at the head, before the tasks queued meanwhile, which coalesce with it as if they had
   * been offered after it (so tasks superseded meanwhile are not sent again). `now`: ms.
   */
  requeue(batch: readonly ReplicationTask<P>[], now: number): DroppedTask<P>[] {
    const rest: Slot<P>[] = [];
    for (const entry of this.entries.values()) forEachPending(entry, (task, pausedBase) => rest.push({ task, pausedBase }));
    this.entries = new Map();
    this.heartbeatOrder = new Map();
    this.count = 0;
    const dropped: DroppedTask<P>[] = [];
    const pausedBase = this.pausedTimeAt(now);
    for (const task of batch) dropped.push(...this.place(task, pausedBase));
    for (const slot of rest) dropped.push(...this.place(slot.task, slot.pausedBase));
    return dropped;
  }

  /** The peer asked us to wait: from `now` (ms) until resumeExpiry, pending and new tasks do not age. */
  pauseExpiry(now: number): void {
    if (this.pausedSince === undefined) this.pausedSince = now;
  }

  /** Tasks age again from `now` (ms). */
  resumeExpiry(now: number): void {
    if (this.pausedSince === undefined) return;
    this.pausedMs += Math.max(0, now - this.pausedSince);
    this.pausedSince = undefined;
  }

  // Expiry-paused time elapsed up to `at`, ms.
  private pausedTimeAt(at: number): number {
    return this.pausedSince === undefined ? this.pausedMs : this.pausedMs + Math.max(0, at - this.pausedSince);
  }

  private place(task: ReplicationTask<P>, pausedBase: number): readonly DroppedTask<P>[] {
    const key = instanceKey(task);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { key, changes: undefined, heartbeat: undefined, heartbeatPausedBase: 0, heartbeatAfter: 0, since: task.queuedAt };
      this.entries.set(key, entry);
    } else if (task.queuedAt < entry.since) {
      entry.since = task.queuedAt;
    }
    this.coalesce(entry, task, pausedBase);
    return this.count > this.options.maxPending ? this.makeRoom() : NOTHING_DROPPED;
  }

  /**
   * Adds a task to its instance's tasks. What a peer does with each action decides what may replace what:
   * - a Cancel removes the lease and its override on the peer, so it supersedes everything pending;
   * - a Register replaces a Register right before it, but not a status change: a peer's register keeps the
   *   override it already has, so only the StatusUpdate or DeleteStatusOverride itself moves it;
   * - a StatusUpdate sets override and status whatever came before, so it replaces a status change right before it;
   * - a DeleteStatusOverride replaces one right before it, but not a StatusUpdate: without it, the peer might
   *   have no override to delete and would keep its status;
   * - a MetadataUpdate merges entries into what the peer holds: it neither replaces a change nor is replaced by one
   *   (a Register before it may be the instance's first on the peer);
   * - the newest heartbeat replaces an older one and goes after the changes queued so far; a change replacing
   *   one the heartbeat follows supersedes it too (the heartbeat's lastDirtyTimestamp is stale, and the change
   *   renews the lease on the peer as well).
   */
  private coalesce(entry: Entry<P>, task: ReplicationTask<P>, pausedBase: number): void {
    const action = task.action;
    if (action === 'Heartbeat') {
      if (entry.heartbeat) this.heartbeatOrder.delete(entry.key);
      else this.count++;
      entry.heartbeat = task;
      entry.heartbeatPausedBase = pausedBase;
      entry.heartbeatAfter = entry.changes?.length ?? 0;
      this.heartbeatOrder.set(entry.key, entry);
      return;
    }
    const changes = (entry.changes ??= []);
    if (action === 'Cancel') {
      this.count -= changes.length;
      changes.length = 0;
      this.dropHeartbeat(entry);
      changes.push({ task, pausedBase });
      this.count++;
      return;
    }
    const last = changes.at(-1)?.task.action;
    const replaces =
      (action === 'Register' && last === 'Register') ||
      (action === 'StatusUpdate' && (last === 'StatusUpdate' || last === 'DeleteStatusOverride')) ||
      (action === 'DeleteStatusOverride' && last === 'DeleteStatusOverride');
    if (replaces) {
      if (entry.heartbeatAfter === changes.length) this.dropHeartbeat(entry);
      changes[changes.length - 1] = { task, pausedBase };
      return;
    }
    changes.push({ task, pausedBase });
    this.count++;
  }

  // Frees room after an offer overflowed: the oldest heartbeat first, else the oldest change.
  private makeRoom(): DroppedTask<P>[] {
    const dropped: DroppedTask<P>[] = [];
    while (this.count > this.options.maxPending) {
      const withHeartbeat = this.heartbeatOrder.values().next();
      const entry = withHeartbeat.done ? this.entries.values().next().value! : withHeartbeat.value;
      const task = withHeartbeat.done ? this.shiftChange(entry)!.task : this.dropHeartbeat(entry)!;
      dropped.push({ task, reason: 'overflow' });
      if (this.isEmpty(entry)) this.entries.delete(entry.key);
    }
    return dropped;
  }

  private shiftChange(entry: Entry<P>): Slot<P> | undefined {
    const slot = entry.changes?.shift();
    if (!slot) return undefined;
    this.count--;
    if (entry.heartbeatAfter > 0) entry.heartbeatAfter--;
    return slot;
  }

  private dropHeartbeat(entry: Entry<P>): ReplicationTask<P> | undefined {
    const task = entry.heartbeat;
    if (!task) return undefined;
    entry.heartbeat = undefined;
    entry.heartbeatAfter = 0;
    this.heartbeatOrder.delete(entry.key);
    this.count--;
    return task;
  }

  private isEmpty(entry: Entry<P>): boolean {
    return !entry.changes?.length && entry.heartbeat === undefined;
  }
}

/** Calls `fn` with each of an entry's tasks in send order: its changes, the heartbeat at its place among them. */
function forEachPending<P>(entry: Entry<P>, fn: (task: ReplicationTask<P>, pausedBase: number) => void): void {
  const changes = entry.changes;
  const n = changes?.length ?? 0;
  for (let i = 0; i <= n; i++) {
    if (entry.heartbeat !== undefined && entry.heartbeatAfter === i) fn(entry.heartbeat, entry.heartbeatPausedBase);
    if (i < n) fn((changes as Slot<P>[])[i].task, (changes as Slot<P>[])[i].pausedBase);
  }
}

function oldestQueuedAt<P>(entry: Entry<P>): number {
  let oldest = entry.heartbeat?.queuedAt ?? Infinity;
  for (const slot of entry.changes ?? []) if (slot.task.queuedAt < oldest) oldest = slot.task.queuedAt;
  return oldest;
}
