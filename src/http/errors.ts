// The one place where outcomes become Eureka status codes and bodies. Eureka clients depend on empty bodies for
// every error except 400 (a short message) and a peer's 409 (the newer instance); never an HTML page.
import { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Format } from '../codecs/negotiate';
import { Decision, OperatorNeed } from '../security/access';
import { retryAfterSecs } from '../security/rate-limit';

/** A response: status, headers, body. */
export interface Reply {
  readonly status: number;
  readonly headers?: OutgoingHttpHeaders;
  /**
   * The same headers as a flat list (name, value, name, value…), content-length included, for replies built once and
   * sent many times (cached payloads): node:http writes a list without walking an object's keys, which a profile of
   * delta polls showed ours paying for. When present it is what is sent, as it is.
   */
  readonly headerList?: readonly string[];
  /** The body; a list of buffers is written one after the other (the full registry's segments). */
  readonly body?: string | Buffer | readonly Buffer[];
  /** A streamed body (event streams): called with the response once the headers are written; no `body` then. */
  readonly stream?: (res: ServerResponse) => void;
  /** Answered after the request was parked (a watch): its duration is recorded apart from immediate answers. */
  readonly parked?: boolean;
}

// Shared, frozen replies for the bodiless statuses: the heartbeat path allocates none.
const EMPTY = new Map<number, Reply>([200, 204, 304, 403, 404, 405, 409, 500].map((s) => [s, Object.freeze({ status: s })]));

/** `headers` as a frozen flat list for {@link Reply.headerList}. */
export function headerList(headers: Readonly<Record<string, string | number>>): readonly string[] {
  const list: string[] = [];
  for (const [name, value] of Object.entries(headers)) list.push(name, String(value));
  return Object.freeze(list);
}

/** A status with an empty body (200 heartbeat, 204 register, 403/404/405/409 errors). */
export const empty = (status: number): Reply => EMPTY.get(status) ?? { status };

/**
 * 503 with an empty body and a short Retry-After: a heartbeat for an instance this server does not hold while its
 * startup sync runs. Not Eureka's 404, which makes every client re-register an instance the sync is about to bring;
 * on 503 Java clients try their next server and eureka-js-client retries at its next interval.
 */
export const SYNC_IN_PROGRESS: Reply = Object.freeze({ status: 503, headers: Object.freeze({ 'retry-after': '5', 'content-length': 0 }) });

/** 400 with Eureka's short plain-text message (registration and parameter errors). */
export const badRequest = (message: string): Reply => ({ status: 400, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: message });

/** 400 for an unparseable body, shaped like DiscoveryJerseyProvider's answer for the request's format. */
export function unparseable(format: Format, message = 'cannot parse request body'): Reply {
  return format === 'json'
    ? { status: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: message }) }
    : { status: 400, headers: { 'content-type': 'application/xml' }, body: `<error><message>${message.replace(/[<&>]/g, '')}</message></error>` };
}

/** A short message for 413/415 and similar edge refusals. */
export const refuse = (status: number, message: string): Reply => ({ status, headers: { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }, body: message });

/**
 * The client closed the connection before the reply (nginx's 499 "client closed request"): never written, only
 * recorded, so that aborted uploads are not counted as server errors.
 */
export const CLIENT_CLOSED: Reply = Object.freeze({ status: 499 });

/** A request whose body did not arrive within requestTimeoutMs: Node answers 408 and closes; only recorded here. */
export const TIMED_OUT: Reply = Object.freeze({ status: 408 });

/** 409 to a peer's heartbeat: this server holds a newer copy, sent so that the peer adopts it (Eureka's answer). */
export const newerInstance = (instanceJson: string): Reply => ({ status: 409, headers: { 'content-type': 'application/json' }, body: instanceJson });

/** A path segment that is not valid percent-encoding: 400 with the reason. */
export const badPath = (message: string): Reply => badRequest(message);

/**
 * 410 with an empty body and the server's revision headers: the watch's revision is no longer covered by the delta log
 * or comes from another server's history; the client fetches the full registry.
 */
export const revisionGone = (headers: OutgoingHttpHeaders): Reply => ({ status: 410, headers });

/** Maps a registry outcome that is 'ok' or 'not-found' to 200 / 404. */
export const okOrNotFound = (outcome: 'ok' | 'not-found'): Reply => empty(outcome === 'ok' ? 200 : 404);

/** The challenge sent with every 401. */
export const CHALLENGE = 'Basic realm="eureka"';

/** 401 for missing or wrong credentials on a Eureka route: empty body, the Basic challenge. */
export const UNAUTHORIZED: Reply = Object.freeze({ status: 401, headers: Object.freeze({ 'www-authenticate': CHALLENGE }) });

/** 403 with an empty body: credentials that do not allow the route, or a peer-only request from a stranger. */
export const FORBIDDEN: Reply = empty(403);

/**
 * 503 with a short Retry-After: a replication batch from an address not known as a peer's yet, while peers are
 * found through DNS (a server that has just appeared; the next resolution, which the batch triggers, will know it).
 * Peers retry a 503; a stranger learns nothing from it that a 403 would not tell.
 */
export const PEER_NOT_KNOWN_YET: Reply = Object.freeze({ status: 503, headers: Object.freeze({ 'retry-after': '1', 'content-length': 0 }) });

/** Too many passwords being verified: like a peer's 503, clients try another server or retry shortly. */
export const VERIFYING: Reply = Object.freeze({ status: 503, headers: Object.freeze({ 'retry-after': '1' }) });

/** A 429 with an empty body and Retry-After in whole seconds; `waitMs`: until the bucket has a token. */
export const tooManyRequests = (waitMs: number): Reply => ({ status: 429, headers: { 'retry-after': String(retryAfterSecs(waitMs)) } });

/** The reply to a refused Eureka request. */
export const refusal = (decision: Exclude<Decision, 'allow'>): Reply => (decision === 'unauthenticated' ? UNAUTHORIZED : FORBIDDEN);

/** A refusal on an operators' route: JSON, never express's HTML. */
export interface JsonReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: { readonly error: string; readonly path?: string };
}

/**
 * An operators' route refused: 401 with the Basic challenge (so a browser asks for a login), 403, or 503 while too
 * many logins are verified.
 */
export function operatorRefusal(outcome: Exclude<Decision, 'allow'> | 'busy', need: OperatorNeed): JsonReply {
  switch (outcome) {
    case 'unauthenticated':
      return { status: 401, headers: { 'www-authenticate': CHALLENGE }, body: { error: 'authentication required' } };
    case 'forbidden':
      return { status: 403, headers: {}, body: { error: need === 'admin' ? 'forbidden: needs the admin role' : 'forbidden' } };
    case 'busy':
      return { status: 503, headers: { 'retry-after': '1' }, body: { error: 'too many logins being verified, retry shortly' } };
  }
}

/** No operators' route has this path: JSON naming it. */
export const operatorNotFound = (path: string): JsonReply => ({ status: 404, headers: {}, body: { error: 'not found', path } });

/**
 * An error express raised on an operators' route (malformed input is the client's problem, not ours): its own
 * 4xx/5xx status with its message for a 4xx, else 500 without details.
 */
export function operatorFailure(err: Error & { status?: number; statusCode?: number }): JsonReply {
  const status = err.status ?? err.statusCode ?? 500;
  return { status: status >= 400 && status < 600 ? status : 500, headers: {}, body: { error: status < 500 ? err.message : 'internal error' } };
}
