// Server-sent event streams of registry changes: one `change` event per content change (the revision as its id), a
// resume from the delta log by Last-Event-ID (or a `reset` when the log no longer covers it), a `ready` event when
// the stream is live, and comment keep-alives. Each change is encoded once, whatever the number of streams.
import { instanceJson } from '../codecs/json';
import { Clock } from '../domain/clock';
import { InstanceView } from '../domain/model';
import { Registry, RegistryEvent } from '../domain/registry';
import { Scheduler } from '../scheduling/scheduler';

/** Where a stream's bytes go: the HTTP layer's response. */
export interface StreamSink {
  /** Writes a chunk; false when the client reads too slowly to keep up (the stream is then ended). */
  write(chunk: string): boolean;
  /** Ends the stream (the client reconnects with Last-Event-ID). */
  end(): void;
}

/** A stream's handle: close() when its client went away. */
export interface OpenStream {
  close(): void;
}

/** What a stream asks for. */
export interface StreamRequest {
  /** Upper-case app name: only its changes are sent. */
  readonly app?: string;
  /** Revision to resume after (Last-Event-ID or ?since=). */
  readonly since?: number;
}

/** Settings of the streams (units in the names). */
export interface EventStreamOptions {
  /** Period of the comment keep-alives, ms. */
  readonly keepAliveMs: number;
  /** This server's identity, sent in `ready` and `reset` events. */
  readonly serverId: string;
  /** Reconnection delay a client's EventSource is told to use, ms. */
  readonly retryMs?: number;
}

interface Stream {
  readonly sink: StreamSink;
  readonly app: string | undefined;
}

const KEEP_ALIVE = ': keep-alive\n\n';

/** One server-sent event as text. */
export function sseEvent(event: string, data: string, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${data}\n\n`;
}

/** The `change` event of an instance's change. */
export function changeEvent(view: InstanceView): string {
  const { record } = view;
  const app = record.instance.app;
  return sseEvent('change', `{"action":"${record.actionType}","app":${JSON.stringify(app)},"revision":${record.revision},"instance":${instanceJson(view)}}`, record.revision);
}

/** The event streams of one server. */
export class EventStreams {
  private readonly streams = new Set<Stream>();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly registry: Pick<Registry, 'subscribe' | 'deltaSince' | 'revision'>,
    private readonly clock: Clock,
    scheduler: Pick<Scheduler, 'every'>,
    private readonly options: EventStreamOptions,
  ) {
    this.unsubscribe = registry.subscribe((event) => this.onEvent(event));
    scheduler.every('watch-keep-alive', options.keepAliveMs, () => this.broadcast(KEEP_ALIVE, undefined));
  }

  /** Streams open now. */
  get size(): number {
    return this.streams.size;
  }

  /** Starts a stream: the resume (or reset), then `ready`, then live changes. */
  open(sink: StreamSink, request: StreamRequest): OpenStream {
    const stream: Stream = { sink, app: request.app };
    const revision = this.registry.revision;
    let head = `retry: ${this.options.retryMs ?? 3000}\n\n`;
    if (request.since !== undefined) {
      const changes = this.registry.deltaSince(request.since, this.clock.now());
      if (changes === 'gone') head += sseEvent('reset', this.position(revision));
      else for (const view of changes) if (request.app === undefined || view.record.instance.app === request.app) head += changeEvent(view);
    }
    head += sseEvent('ready', this.position(revision), revision);
    if (this.closed || !sink.write(head)) {
      sink.end();
      return { close: () => undefined };
    }
    this.streams.add(stream);
    return { close: () => void this.streams.delete(stream) };
  }

  /** Ends every stream and opens no more; detaches from the registry. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    for (const stream of this.streams) stream.sink.end();
    this.streams.clear();
  }

  private position(revision: number): string {
    return `{"revision":${revision},"server":${JSON.stringify(this.options.serverId)}}`;
  }

  private onEvent(event: RegistryEvent): void {
    if (event.type === 'renewed' || this.streams.size === 0) return;
    this.broadcast(changeEvent(event.view), event.view.record.instance.app);
  }

  // Writes to every stream (of `app`, when given); a stream that cannot keep up is ended.
  private broadcast(chunk: string, app: string | undefined): void {
    for (const stream of this.streams) {
      if (app !== undefined && stream.app !== undefined && stream.app !== app) continue;
      if (stream.sink.write(chunk)) continue;
      this.streams.delete(stream);
      stream.sink.end();
    }
  }
}
