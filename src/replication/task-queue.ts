// A peer's pending replication tasks (pure: time is a parameter). One task per instance and action, a newer one
// replacing an older; batches released by size or age; expired tasks dropped; bounded, dropping heartbeats first.
import { ReplicationAction } from './protocol';

/** A change to send to a peer. `payload` is whatever the sender needs to encode it. */
export interface ReplicationTask<P = unknown> {
  readonly action: ReplicationAction;
  readonly app: string;
  readonly id: string;
  readonly payload: P;
  /** When it was queued, ms. */
  readonly queuedAt: number;
  /** After this time it is dropped unsent, ms. */
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

export const taskKey = (t: { action: ReplicationAction; app: string; id: string }): string => `${t.action}#${t.app}/${t.id}`;

export class TaskQueue<P = unknown> {
  // Insertion order is send order; a replaced task moves to the end so it stays after what it supersedes.
  private readonly pending = new Map<string, ReplicationTask<P>>();
  private heartbeats = 0;

  constructor(private readonly options: TaskQueueOptions) {}

  get size(): number {
    return this.pending.size;
  }

  /** Queues a task, replacing an older one with the same key; returns what had to be dropped to make room. */
  offer(task: ReplicationTask<P>): DroppedTask<P>[] {
    const key = taskKey(task);
    this.remove(key);
    const dropped: DroppedTask<P>[] = [];
    if (this.pending.size >= this.options.maxPending) {
      const heartbeat = this.oldestHeartbeatKey();
      // Full of changes: a heartbeat is the cheapest thing to lose, the next one follows.
      if (heartbeat === undefined && task.action === 'Heartbeat') return [{ task, reason: 'overflow' }];
      const victim = heartbeat ?? (this.pending.keys().next().value as string);
      dropped.push({ task: this.pending.get(victim)!, reason: 'overflow' });
      this.remove(victim);
    }
    this.pending.set(key, task);
    if (task.action === 'Heartbeat') this.heartbeats++;
    return dropped;
  }

  /** When the next batch is due, ms (now if full), or undefined when nothing is pending. */
  nextReleaseAt(now: number): number | undefined {
    const first = this.pending.values().next();
    if (first.done) return undefined;
    if (this.pending.size >= this.options.batchSize) return now;
    return first.value.queuedAt + this.options.maxBatchingDelayMs;
  }

  /** Takes up to batchSize unexpired tasks from the head; expired ones come back in `expired`. */
  takeBatch(now: number): { batch: ReplicationTask<P>[]; expired: DroppedTask<P>[] } {
    const batch: ReplicationTask<P>[] = [];
    const expired: DroppedTask<P>[] = [];
    for (const [key, task] of this.pending) {
      if (batch.length >= this.options.batchSize) break;
      this.remove(key);
      if (task.expiresAt <= now) expired.push({ task, reason: 'expired' });
      else batch.push(task);
    }
    return { batch, expired };
  }

  /** Puts a failed batch back at the head, except tasks a newer one has replaced meanwhile. */
  requeue(batch: readonly ReplicationTask<P>[]): DroppedTask<P>[] {
    const rest = [...this.pending];
    this.pending.clear();
    this.heartbeats = 0;
    const dropped: DroppedTask<P>[] = [];
    const newer = new Set(rest.map(([k]) => k));
    for (const task of batch) if (!newer.has(taskKey(task))) dropped.push(...this.offer(task));
    for (const [, task] of rest) dropped.push(...this.offer(task));
    return dropped;
  }

  private remove(key: string): void {
    const old = this.pending.get(key);
    if (!old) return;
    this.pending.delete(key);
    if (old.action === 'Heartbeat') this.heartbeats--;
  }

  private oldestHeartbeatKey(): string | undefined {
    if (this.heartbeats === 0) return undefined;
    for (const [key, task] of this.pending) if (task.action === 'Heartbeat') return key;
    return undefined;
  }
}
