// One peer: its queue of pending tasks and a sender that ships them in batches, one batch in flight at a time,
// backing off with jitter while the peer is unreachable or asks us to wait (429/503, Retry-After honoured; tasks do
// not age meanwhile). A failing peer never slows the others: each has its own.
import { Clock } from '../domain/clock';
import { InstanceStatus, InstanceView } from '../domain/model';
import { EQUAL_JITTER, honourRetryAfterMs, retryDelayMs, RetryPolicy } from '../domain/retry-policy';
import { instanceJson } from '../codecs/json';
import { DurationCounter } from '../observability/duration-counts';
import { Logger } from '../observability/logger';
import { PeerReplicationStats, REPLICATION_DURATION_BUCKETS } from '../observability/server-status';
import { Scheduler } from '../scheduling/scheduler';
import { BatchResult, PeerClient } from './peer-client';
import { batchEnvelopeBytes, encodeReplicationItem, OutgoingItem, ReplicationItemResult, replicationListOf } from './protocol';
import { DroppedTask, ReplicationTask, TaskQueue, TaskQueueOptions } from './task-queue';

/** What a task carries besides its action and key. */
export interface TaskPayload {
  readonly status?: InstanceStatus;
  readonly overriddenStatus?: InstanceStatus;
  readonly lastDirtyTimestamp?: number;
  /** The instance as the change left it: a Register's body, and every change's time (its lastUpdatedTimestamp). */
  readonly view?: InstanceView;
  /** A MetadataUpdate's entries (set through the REST API): sent as such to a zone-registry peer, else as Register. */
  readonly metadata?: Readonly<Record<string, string>>;
}

export type PeerTask = ReplicationTask<TaskPayload>;

/** What the sender does with per-item answers that need action. */
export interface ResultHandler {
  /** The peer does not know an instance we heartbeat for or set metadata on: register it there. */
  missingOnPeer(node: PeerNode, app: string, id: string): void;
  /** The peer holds a newer copy (409): adopt it here. */
  newerOnPeer(node: PeerNode, app: string, id: string, entity: unknown): void;
}

/** Settings of a peer's sender. */
export interface PeerNodeOptions extends TaskQueueOptions {
  /** First retry delay after a network error, 429 or 503, ms; doubles per failure. */
  readonly retryBaseMs: number;
  /** Longest retry delay, ms; also caps the wait a peer's Retry-After asks for. */
  readonly retryMaxMs: number;
  readonly random: () => number;
  /**
   * Largest batch body sent, bytes: the peer's maxReplicationBodyBytes (a region shares its settings). A batch that
   * would be larger leaves with fewer tasks, the rest going first in the next one. Default: no bound.
   */
  readonly maxBatchBytes?: number;
}

/** Replication health of a peer, for status, dashboard and metrics. */
/** A peer's replication counters, written by its node (the read-only view operators read is PeerReplicationStats). */
export type PeerStats = { -readonly [K in keyof PeerReplicationStats]: PeerReplicationStats[K] };

/** Stats of a peer nothing has been sent to yet. */
export function emptyPeerStats(): PeerStats {
  return { batchesSent: 0, batchFailures: 0, tasksSent: 0, heartbeatsDropped: 0, changesLost: 0, consecutiveFailures: 0, lastSuccessAt: 0, lastFailureAt: 0, lastError: '', lastLagMs: 0 };
}

export class PeerNode {
  readonly stats: PeerStats = emptyPeerStats();
  /** How long each batch request took, answered or not (REPLICATION_DURATION_BUCKETS). */
  readonly requestDurations = new DurationCounter(REPLICATION_DURATION_BUCKETS);
  private readonly queue: TaskQueue<TaskPayload>;
  private sending = false;
  private wakeAt: number | undefined;
  private cancelWake: (() => void) | undefined;
  private pausedUntil = 0;
  // How the last batch went: a run of failures of one kind is logged once.
  private lastResult: BatchResult['kind'] | undefined;
  private closed = false;
  // Lost changes counted since the last line that logged one (see reportLoss).
  private losses: LossWindow | undefined;
  private readonly retryPolicy: RetryPolicy;
  // Set once the peer answered as a zone-registry server: it understands MetadataUpdate.
  private knowsExtensions = false;

  constructor(
    readonly client: PeerClient,
    private readonly handler: ResultHandler,
    private readonly clock: Clock,
    private readonly scheduler: Scheduler,
    private readonly logger: Logger,
    private readonly options: PeerNodeOptions,
  ) {
    this.queue = new TaskQueue(options);
    this.retryPolicy = { baseMs: options.retryBaseMs, maxMs: options.retryMaxMs, multiplier: 2, jitter: EQUAL_JITTER };
  }

  get url(): string {
    return this.client.url;
  }

  /** Tasks waiting to be sent. */
  get queueDepth(): number {
    return this.queue.size;
  }

  /** Queues a task; the sender wakes when a batch is due. */
  enqueue(task: PeerTask): void {
    if (this.closed) return;
    this.account(this.queue.offer(task));
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.cancelWake?.();
    this.losses?.cancel();
    this.client.close();
  }

  private wake(): void {
    if (this.sending || this.closed) return;
    const now = this.clock.now();
    const due = this.queue.nextReleaseAt(now);
    if (due === undefined) return;
    const at = Math.max(due, this.pausedUntil);
    if (this.wakeAt !== undefined && this.wakeAt <= at) return;
    this.cancelWake?.();
    this.wakeAt = at;
    this.cancelWake = this.scheduler.after(Math.max(0, at - now), () => {
      this.wakeAt = undefined;
      this.cancelWake = undefined;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.sending || this.closed) return;
    const { batch: taken, expired } = this.queue.takeBatch(this.clock.now());
    this.account(expired);
    if (taken.length === 0) return this.wake();
    const { batch, body } = this.fit(taken);
    this.sending = true;
    const startedAt = performance.now();
    const result = await this.client.sendBatch(body).catch((e: unknown) => ({ kind: 'retry' as const, reason: String(e) }));
    this.requestDurations.observe((performance.now() - startedAt) / 1000);
    this.sending = false;
    if (this.closed) return;
    const now = this.clock.now();
    const previous = this.lastResult;
    this.lastResult = result.kind;
    if (result.kind === 'later') this.queue.pauseExpiry(now);
    else this.queue.resumeExpiry(now);
    if (result.kind === 'ok') {
      this.knowsExtensions = result.server !== undefined;
      this.stats.batchesSent++;
      this.stats.tasksSent += batch.length;
      this.stats.consecutiveFailures = 0;
      this.stats.lastSuccessAt = now;
      this.stats.lastLagMs = now - Math.min(...batch.map((t) => t.queuedAt));
      this.pausedUntil = 0;
      this.handleResults(batch, result.response.responseList);
    } else {
      this.stats.batchFailures++;
      this.stats.consecutiveFailures++;
      this.stats.lastFailureAt = now;
      this.stats.lastError = result.reason;
      if (result.kind !== previous) {
        if (result.kind === 'later') this.logger.warn('peer is throttling replication', { peer: this.url, reason: result.reason, retryAfterMs: result.retryAfterMs });
        else this.logger.warn('replication to peer failing', { peer: this.url, reason: result.reason });
      }
      if (result.kind === 'retry' || result.kind === 'later') {
        this.account(this.queue.requeue(batch, now));
        const backoffMs = retryDelayMs(this.retryPolicy, this.stats.consecutiveFailures, this.options.random);
        this.pausedUntil = now + (result.kind === 'later' ? honourRetryAfterMs(this.retryPolicy, backoffMs, result.retryAfterMs) : backoffMs);
      } else {
        this.account(batch.map((task) => ({ task, reason: 'expired' as const })));
      }
    }
    this.wake();
  }

  // The longest head of `taken` whose body fits maxBatchBytes (at least one task); the rest goes back to the queue's head.
  private fit(taken: PeerTask[]): { batch: PeerTask[]; body: string } {
    const max = this.options.maxBatchBytes ?? Infinity;
    const encoded: string[] = [];
    let bytes = batchEnvelopeBytes(0);
    for (const task of taken) {
      const item = encodeReplicationItem(toItem(task, this.knowsExtensions));
      bytes += Buffer.byteLength(item) + (encoded.length > 0 ? 1 : 0);
      if (bytes > max && encoded.length > 0) break;
      encoded.push(item);
    }
    if (encoded.length < taken.length) this.account(this.queue.requeue(taken.slice(encoded.length), this.clock.now()));
    return { batch: encoded.length < taken.length ? taken.slice(0, encoded.length) : taken, body: replicationListOf(encoded) };
  }

  private handleResults(batch: readonly PeerTask[], results: readonly ReplicationItemResult[]): void {
    // Eureka ignores per-item results whose count does not match the batch; so do we.
    if (results.length !== batch.length) {
      this.logger.warn('peer answered a batch with a different number of results', { peer: this.url, sent: batch.length, results: results.length });
      return;
    }
    batch.forEach((task, i) => {
      const code = results[i]?.statusCode;
      if (code >= 200 && code < 300) return;
      if ((task.action === 'Heartbeat' || task.action === 'MetadataUpdate') && code === 404) return this.handler.missingOnPeer(this, task.app, task.id);
      if (task.action === 'Heartbeat' && code === 409 && results[i].responseEntity) return this.handler.newerOnPeer(this, task.app, task.id, results[i].responseEntity);
      if (task.action === 'Cancel' && code === 404) return;
      this.logger.warn('peer refused a replicated change', { peer: this.url, action: task.action, app: task.app, id: task.id, status: code });
    });
  }

  private account(dropped: readonly DroppedTask<TaskPayload>[]): void {
    for (const { task, reason } of dropped) {
      if (task.action === 'Heartbeat') {
        this.stats.heartbeatsDropped++;
      } else {
        this.stats.changesLost++;
        this.reportLoss(task, reason);
      }
    }
  }

  // A lost change is logged with its instance when it is the first for a while; those that follow within
  // LOSS_SUMMARY_MS are counted and logged as one line at its end (a dead peer's full queue drops thousands in a
  // zone's failure), until a whole interval passes without one. Each of those is still a debug line.
  private reportLoss(task: PeerTask, reason: string): void {
    const fields = { peer: this.url, action: task.action, app: task.app, id: task.id, reason };
    if (this.losses !== undefined) {
      this.losses.count++;
      this.losses.reasons.set(reason, (this.losses.reasons.get(reason) ?? 0) + 1);
      this.logger.debug('replicated change not delivered', fields);
      return;
    }
    this.logger.warn('replicated change not delivered', fields);
    const losses: LossWindow = { count: 0, reasons: new Map(), cancel: () => undefined };
    const summarize = (): void => {
      if (losses.count === 0) {
        this.losses = undefined;
        return;
      }
      const reasons = [...losses.reasons].map(([r, n]) => `${r}=${n}`).join(',');
      this.logger.warn('replicated changes not delivered', { peer: this.url, changes: losses.count, reasons, seconds: LOSS_SUMMARY_MS / 1000 });
      losses.count = 0;
      losses.reasons.clear();
      losses.cancel = this.scheduler.after(LOSS_SUMMARY_MS, summarize);
    };
    losses.cancel = this.scheduler.after(LOSS_SUMMARY_MS, summarize);
    this.losses = losses;
  }
}

/** How long lost changes after a logged one are counted before they are logged as one line, ms. */
export const LOSS_SUMMARY_MS = 10_000;

/** Changes lost to a peer since its last loss line. */
interface LossWindow {
  count: number;
  readonly reasons: Map<string, number>;
  cancel: () => void;
}

/** A task as the batch item its action is sent as; `extended`: the peer understands MetadataUpdate and `health`. */
export function toItem(task: PeerTask, extended = false): OutgoingItem {
  const p = task.payload;
  const asMetadataUpdate = extended && task.action === 'MetadataUpdate';
  const healthDown = extended && !asMetadataUpdate && task.action === 'Register' && p.view?.record.statusSource === 'health';
  return {
    appName: task.app,
    id: task.id,
    lastDirtyTimestamp: p.lastDirtyTimestamp,
    overriddenStatus: p.overriddenStatus,
    status: p.status,
    instanceJson: p.view ? instanceJson(p.view) : undefined,
    ...(asMetadataUpdate && { metadata: p.metadata }),
    ...(healthDown && { health: 'down' as const }),
    action: task.action === 'MetadataUpdate' && !extended ? 'Register' : task.action,
  };
}
