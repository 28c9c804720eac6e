// The client's half of the registry watch: reading the `X-Registry-*` headers a zone-registry server puts on every
// registry read (a stock Eureka server sends none), and the shape and timeout of a long-poll `apps/delta` request.
// Pure: no I/O, no timers.

/** What a registry answer says about the server's watch support and the revision its body reflects. */
export interface RegistryIdentity {
  /** `X-Registry-Revision`: the revision the body reflects; undefined when absent or malformed. */
  readonly revision: number | undefined;
  /** `X-Registry-Server`: the server process's identity; undefined when absent. */
  readonly server: string | undefined;
  /** Whether `X-Registry-Watch` lists `delta` (the long-poll watch on the delta). */
  readonly watchesDelta: boolean;
}

/** Longest wait a client may ask for, ms: the server's default maximum (5 minutes). */
export const MAX_WATCH_WAIT_MS = 300_000;

/**
 * Shortest time between the starts of two watch requests when the first brought nothing new, ms: a server that
 * ignores `wait` (or a proxy that strips it) costs one request a second, never a tight loop.
 */
export const MIN_EMPTY_WATCH_INTERVAL_MS = 1000;

/** The first value of header `name` (lower-case) in an answer's headers, as text. */
export function headerValue(headers: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = headers[name];
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

/** Reads the three registry headers of an answer. */
export function registryIdentity(headers: Readonly<Record<string, unknown>>): RegistryIdentity {
  const revisionText = headerValue(headers, 'x-registry-revision')?.trim();
  const revision = revisionText !== undefined && /^\d{1,15}$/.test(revisionText) ? Number(revisionText) : undefined;
  const server = headerValue(headers, 'x-registry-server')?.trim() || undefined;
  const watch = headerValue(headers, 'x-registry-watch');
  const watchesDelta = watch !== undefined && watch.split(',').some((w) => w.trim().toLowerCase() === 'delta');
  return { revision, server, watchesDelta };
}

/** The `wait` parameter for `waitMs` ms: whole seconds as `30s`, anything else as `1500ms`. */
export function waitParam(waitMs: number): string {
  const ms = Math.max(1, Math.round(waitMs));
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Path (relative to a server's base URL) of the watch for changes after `revision`, parked up to `waitMs` ms. */
export function watchPath(revision: number, waitMs: number): string {
  return `apps/delta?since=${revision}&wait=${waitParam(waitMs)}`;
}

/**
 * HTTP timeout of a watch request, ms: the wait, the server's jitter of up to a sixteenth of it, and the regular
 * request timeout as the margin for the answer itself.
 */
export function watchTimeoutMs(waitMs: number, requestTimeoutMs: number): number {
  return waitMs + Math.ceil(waitMs / 16) + requestTimeoutMs;
}

/** `Retry-After` in seconds (the only form Eureka servers send) as ms; undefined when absent or not a number. */
export function retryAfterMs(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d{1,9}\s*$/.test(value)) return undefined;
  return Number(value) * 1000;
}
