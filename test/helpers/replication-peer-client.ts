// A scripted PeerClient for the replication tests: records every batch body it is sent and answers from a script
// (ok with a responseList, retry, failed), or holds an answer until the test releases it. No sockets.
import { BatchResult, PeerClient, RegistryFetch } from '../../src/replication/peer-client';
import { ReplicationItemResult } from '../../src/replication/protocol';

/** One item of a batch as the fake peer received it (the parsed JSON). */
export type ReceivedItem = Record<string, unknown> & { appName: string; id: string; action: string };

/** How the fake answers one batch: a result, or a function of the parsed items. */
export type BatchAnswer = BatchResult | ((items: ReceivedItem[]) => BatchResult);

export const ok = (...results: ReplicationItemResult[]): BatchResult => ({ kind: 'ok', response: { responseList: results } });
export const retry = (reason = 'connect ECONNREFUSED'): BatchResult => ({ kind: 'retry', reason });
export const failed = (reason = 'peer answered 500'): BatchResult => ({ kind: 'failed', reason });
/** The peer asks us to wait (429 or 503), for `retryAfterMs` if given. */
export const later = (retryAfterMs?: number, reason = 'peer answered 429'): BatchResult => ({ kind: 'later', reason, ...(retryAfterMs !== undefined && { retryAfterMs }) });
/** 200 for every item of the batch. */
export const allOk = (items: readonly ReceivedItem[]): BatchResult => ok(...items.map(() => ({ statusCode: 200 })));

export class ScriptedPeerClient implements PeerClient {
  /** Raw bodies, in the order they were sent. */
  readonly bodies: string[] = [];
  /** Fetch calls made (startup sync). */
  fetches = 0;
  closed = false;
  /** Answers used one per batch, in order; when empty, `fallback` answers. */
  readonly script: BatchAnswer[] = [];
  readonly fetchScript: RegistryFetch[] = [];
  /** When true, sendBatch does not answer until release() is called. */
  hold = false;
  private held: (() => void)[] = [];

  constructor(
    readonly url = 'http://peer-a:8761/eureka/',
    public fallback: BatchAnswer = allOk,
    public fetchFallback: RegistryFetch = { kind: 'failed', reason: 'connect ECONNREFUSED' },
  ) {}

  /** Items of every batch received, one array per batch. */
  get batches(): ReceivedItem[][] {
    return this.bodies.map((b) => (JSON.parse(b) as { replicationList: ReceivedItem[] }).replicationList);
  }

  /** Every item received, flattened. */
  get items(): ReceivedItem[] {
    return this.batches.flat();
  }

  /** Queues answers for the next batches. */
  answer(...answers: BatchAnswer[]): this {
    this.script.push(...answers);
    return this;
  }

  async sendBatch(body: string): Promise<BatchResult> {
    this.bodies.push(body);
    const items = (JSON.parse(body) as { replicationList: ReceivedItem[] }).replicationList;
    const answer = this.script.length > 0 ? this.script.shift()! : this.fallback;
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    return typeof answer === 'function' ? answer(items) : answer;
  }

  /** Lets held batches answer. */
  release(): void {
    this.hold = false;
    for (const resolve of this.held.splice(0)) resolve();
  }

  /** Batches sent but not answered yet (hold mode). */
  get inFlight(): number {
    return this.held.length;
  }

  async fetchRegistry(): Promise<RegistryFetch> {
    this.fetches++;
    return this.fetchScript.length > 0 ? this.fetchScript.shift()! : this.fetchFallback;
  }

  close(): void {
    this.closed = true;
  }
}
