// The watch routes' handlers: the long-poll on the delta (`/apps/delta?since=R&wait=D`) and the event stream
// (`/watch`). They answer from the response cache (one payload per revision and format, shared by every watcher)
// and park through the watch hub; the protocol is described in the README ("Watching for changes").
import { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { isPromise } from 'node:util/types';
import { acceptsGzip, Format, formatFor } from '../codecs/negotiate';
import { Registry } from '../domain/registry';
import { EventStreams } from '../watch/event-stream';
import { WakeReason, WatchHub } from '../watch/watch-hub';
import { parseRevision, parseWaitMs } from '../watch/watch-params';
import { badRequest, CLIENT_CLOSED, empty, Reply, revisionGone, tooManyRequests } from './errors';
import { Payload, ResponseCache, revisionHeaders } from './payloads/response-cache';

/** What the watch routes need. */
export interface WatchDeps {
  readonly hub: WatchHub;
  readonly streams: EventStreams;
  /** Longest wait granted, ms (also what a 429's Retry-After is bounded by). */
  readonly maxWaitMs: number;
}

/** What a watch handler reads of a request (an EurekaRequest). */
export interface WatchRequest {
  readonly req: IncomingMessage;
  readonly headers: IncomingHttpHeaders;
  readonly query: URLSearchParams;
}

/** A watch route's handler. */
export type WatchHandler = (r: WatchRequest) => Reply | Promise<Reply>;

/** Bytes a stream may have unread by its client before it is ended (the client resumes by Last-Event-ID). */
export const MAX_STREAM_BACKLOG_BYTES = 1024 * 1024;

/** How long a client refused for too many watchers is asked to wait before trying again, ms. */
const RETRY_WHEN_FULL_MS = 5_000;

const STREAM_HEADERS: OutgoingHttpHeaders = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  // Proxies such as nginx would otherwise buffer the stream.
  'x-accel-buffering': 'no',
});

/** The watch handlers over the registry, its response cache and the hub. */
export function watchHandlers(
  registry: Registry,
  cache: ResponseCache,
  deps: WatchDeps,
  gate: { readonly allowsReads: () => boolean; readonly maxNameLength: number },
): { readonly delta: WatchHandler; readonly events: WatchHandler } {
  const identity = (): OutgoingHttpHeaders => revisionHeaders(registry.revision, cache.serverId);

  // The parked form of each payload's reply, built once per payload and shared by every watcher it answers.
  const parkedReplies = new WeakMap<Payload, Reply>();
  const parkedReply = (p: Payload): Reply => {
    let reply = parkedReplies.get(p);
    if (reply === undefined) {
      reply = Object.freeze({ ...p.reply, parked: true });
      parkedReplies.set(p, reply);
    }
    return reply;
  };

  // The payloads of one revision by since, format and gzip: a wake answers thousands of watchers parked at the same
  // revision, each looked up here rather than cut from the delta log again.
  let memoRevision = -1;
  const memo = new Map<string, Payload | Promise<Payload> | 'gone'>();
  const payloadFor = (since: number, format: Format, gzipped: boolean): Payload | Promise<Payload> | 'gone' => {
    if (memoRevision !== registry.revision) {
      memo.clear();
      memoRevision = registry.revision;
    }
    const key = `${since}${format}${gzipped ? 'z' : ''}`;
    let payload = memo.get(key);
    if (payload === undefined) {
      payload = cache.since(since, format, gzipped);
      // Only within one turn: the delta log may age meanwhile (a revision it no longer covers must answer 410).
      if (memo.size === 0) setImmediate(() => memo.clear());
      memo.set(key, payload);
    }
    return payload;
  };

  // The changes after `since` as the delta document, 410 when they cannot be told; `reason` marks a parked answer.
  const answer = (since: number, req: IncomingMessage, reason?: WakeReason): Reply | Promise<Reply> => {
    const payload = payloadFor(since, formatFor(req.headers.accept), acceptsGzip(req.headers['accept-encoding']));
    if (payload === 'gone') return revisionGone(identity());
    const reply = (p: Payload): Reply => {
      if (reason === undefined) return p.reply;
      // Shutdown: the client moves to another server at once rather than reusing this connection.
      if (reason === 'shutdown') return { status: p.reply.status, headers: { ...p.reply.headers, connection: 'close' }, body: p.reply.body, parked: true };
      return parkedReply(p);
    };
    return isPromise(payload) ? payload.then(reply) : reply(payload);
  };

  const delta: WatchHandler = ({ req, query }) => {
    if (!gate.allowsReads()) return empty(403);
    const rawSince = query.get('since');
    const rawWait = query.get('wait');
    if (rawSince === null) return badRequest('wait needs since: the revision the client holds (X-Registry-Revision)');
    const since = parseRevision(rawSince, 'since');
    if ('error' in since) return badRequest(since.error);
    const wait = rawWait === null ? { value: 0 } : parseWaitMs(rawWait);
    if ('error' in wait) return badRequest(wait.error);
    // Something newer already (or a revision we cannot answer for): at once.
    if (registry.revision !== since.value || wait.value === 0) return answer(since.value, req);
    // Gone already (its 'close' has fired): nothing to park.
    if (req.socket.destroyed) return CLIENT_CLOSED;
    if (!deps.hub.admits()) return tooManyRequests(RETRY_WHEN_FULL_MS);
    return new Promise<Reply>((resolve) => {
      const socket = req.socket;
      const parked = deps.hub.park(wait.value, (reason) => {
        socket.off('close', gone);
        try {
          resolve(answer(since.value, req, reason));
        } catch (e) {
          resolve(Promise.reject(e));
        }
      });
      // The client went away: nothing to answer, and the hub forgets it.
      const gone = (): void => {
        parked.cancel();
        resolve(CLIENT_CLOSED);
      };
      socket.once('close', gone);
    });
  };

  const events: WatchHandler = ({ req, query, headers }) => {
    if (!gate.allowsReads()) return empty(403);
    // EventSource resends the last id it saw on reconnection: it wins over ?since=.
    const rawSince = (headers['last-event-id'] as string | undefined) ?? query.get('since') ?? undefined;
    const since = rawSince === undefined || rawSince === '' ? undefined : parseRevision(rawSince, rawSince === headers['last-event-id'] ? 'Last-Event-ID' : 'since');
    if (since !== undefined && 'error' in since) return badRequest(since.error);
    const app = query.get('app') ?? undefined;
    if (app !== undefined && (app.length === 0 || app.length > gate.maxNameLength)) return badRequest(`app must be 1 to ${gate.maxNameLength} characters`);
    const streamHeaders = { ...STREAM_HEADERS, ...identity() };
    if (req.method === 'HEAD') return { status: 200, headers: { ...streamHeaders, 'content-length': 0 } };
    if (!deps.hub.admits()) return tooManyRequests(RETRY_WHEN_FULL_MS);
    return {
      status: 200,
      headers: streamHeaders,
      stream: (res) => {
        const open = deps.streams.open(
          {
            write: (chunk) => res.write(chunk) || res.writableLength <= MAX_STREAM_BACKLOG_BYTES,
            // A client too slow to keep up is cut off rather than ended: an ended stream's unread backlog would stay
            // in memory, outside watchMaxWatchers, for as long as the client keeps the connection open unread. It
            // resumes from the last event it read (Last-Event-ID).
            end: () => (res.writableLength > MAX_STREAM_BACKLOG_BYTES ? res.destroy() : res.end()),
          },
          { app: app?.toUpperCase(), since: since?.value },
        );
        res.once('close', () => open.close());
      },
    };
  };

  return { delta, events };
}
