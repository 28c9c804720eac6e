// HTTP to the Eureka servers with failover: each request goes to the best server (own zone first), and on a network
// error, a timeout or a server-side failure moves on to the next one (up to `maxServersPerRequest`), quarantining
// the one that failed. What counts as a server failure follows Java's ServerStatusEvaluators, except that a 4xx
// other than 403 on a registry read is the request's problem and is handed back, not retried elsewhere.
import axios, { AxiosInstance } from 'axios';
import { ConnectionPools, connectionPools, createHttpClient } from '../transport/http-client';
import { ClientLogger } from './logger';
import { redactUrl, ServerEndpoint, ServerPool } from './servers';
import { headerValue, retryAfterMs } from './watch';

/**
 * The kinds of request the client makes (they differ in which statuses mean "try another server"); 'watch' is the
 * long-poll delta of a zone-registry server.
 */
export type EurekaOperation = 'register' | 'heartbeat' | 'cancel' | 'fetch' | 'delta' | 'watch';

/** One request, relative to a server's base URL. */
export interface EurekaRequest {
  /** What the request does (decides which statuses mean "try another server"). */
  readonly op: EurekaOperation;
  /** HTTP method. */
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path relative to the base URL, e.g. `apps/ORDERS`. */
  readonly path: string;
  /** JSON body, if any. */
  readonly body?: string;
  /** Extra headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborts the request (and the failover). */
  readonly signal?: AbortSignal;
  /** Send to this server only (a base URL of the pool), without failover; it is quarantined when it fails. */
  readonly onlyServer?: string;
  /** Timeout of this request, ms (default: the transport's). */
  readonly timeoutMs?: number;
}

/** A server's answer. */
export interface EurekaResponse {
  /** HTTP status. */
  readonly status: number;
  /** Response body (decompressed). */
  readonly body: string;
  /** Base URL of the server that answered, without credentials (for logs and events). */
  readonly server: string;
  /** The server that answered, as the pool lists it. */
  readonly endpoint: ServerEndpoint;
  /** Response headers, names in lower case. */
  readonly headers: Readonly<Record<string, unknown>>;
}

/** What happened at one server during a request. */
export interface AttemptFailure {
  /** Base URL of the server. */
  readonly server: string;
  /** HTTP status when the server answered with a failure status. */
  readonly status?: number;
  /** Network error or timeout, when it did not answer. */
  readonly error?: string;
  /** What the server's `Retry-After` asked for, ms (with a 429 or 503). */
  readonly retryAfterMs?: number;
}

/** Thrown when no server gave a usable answer; lists every attempt. */
export class EurekaUnavailableError extends Error {
  constructor(
    readonly request: Pick<EurekaRequest, 'op' | 'method' | 'path'>,
    readonly attempts: readonly AttemptFailure[],
  ) {
    super(
      `${request.method} ${request.path}: no Eureka server answered (` +
        attempts.map((a) => `${a.server} → ${a.status ?? a.error ?? 'failed'}`).join('; ') +
        ')',
    );
    this.name = 'EurekaUnavailableError';
  }
}

/** Whether `status` means the server cannot serve this request now (so another server should be tried). */
export function isServerFailure(op: EurekaOperation, status: number): boolean {
  if (status >= 500 || status === 429) return true;
  // An unsynced Eureka server refuses registry reads with 403; a delta 403 means "no delta" (the client then
  // asks for the full registry, which moves on). A watch refused with 403 is a server still syncing.
  if (status === 403 && (op === 'fetch' || op === 'watch')) return true;
  return false;
}

/** Options of a {@link EurekaTransport}. */
export interface TransportOptions {
  /** Timeout of one request to one server, ms. */
  readonly timeoutMs: number;
  /** Most servers tried per request (Java: 3). */
  readonly maxServersPerRequest: number;
  /** Reuse connections (default true). */
  readonly keepAlive?: boolean;
  /** An axios instance to send with (default: a new one). Per-request settings are applied on top. */
  readonly http?: AxiosInstance;
}

/** Sends requests to the pool's servers with failover and quarantine. */
export class EurekaTransport {
  private readonly http: AxiosInstance;
  private readonly agents: ConnectionPools;
  private lastServer: ServerEndpoint | undefined;

  constructor(
    readonly pool: ServerPool,
    private readonly options: TransportOptions,
    private readonly logger: ClientLogger,
  ) {
    // The pools go with every request, so that a caller's own axios instance uses them too.
    this.agents = connectionPools({ keepAlive: options.keepAlive ?? true });
    this.http = options.http ?? createHttpClient().http;
  }

  /** The server that gave the last usable answer. */
  get currentServer(): ServerEndpoint | undefined {
    return this.lastServer;
  }

  /**
   * Sends `req` to the best servers in turn until one gives a usable answer (any status that is not a server
   * failure). Throws {@link EurekaUnavailableError} when none does, or the abort error when `req.signal` aborts.
   */
  async send(req: EurekaRequest): Promise<EurekaResponse> {
    req.signal?.throwIfAborted();
    const attempts: AttemptFailure[] = [];
    for (const endpoint of this.candidates(req)) {
      if (req.signal?.aborted) break;
      let failure: AttemptFailure;
      try {
        const res = await this.http.request<string>({
          url: endpoint.url + req.path,
          method: req.method,
          data: req.body,
          headers: { 'accept-encoding': 'gzip', ...(req.body !== undefined && { 'content-type': 'application/json' }), ...req.headers },
          timeout: req.timeoutMs ?? this.options.timeoutMs,
          signal: req.signal,
          responseType: 'text',
          transformResponse: [(data: unknown) => data],
          validateStatus: () => true,
          maxRedirects: 0,
          decompress: true,
          proxy: false,
          httpAgent: this.agents.http,
          httpsAgent: this.agents.https,
        });
        const body = typeof res.data === 'string' ? res.data : res.data === undefined || res.data === null ? '' : String(res.data);
        if (!isServerFailure(req.op, res.status)) {
          this.pool.succeeded(endpoint.url);
          if (this.lastServer?.url !== endpoint.url) {
            if (this.lastServer) this.logger.info('now using Eureka server', { server: redactUrl(endpoint.url), zone: endpoint.zone, previous: redactUrl(this.lastServer.url) });
            this.lastServer = endpoint;
          }
          return { status: res.status, body, server: redactUrl(endpoint.url), endpoint, headers: (res.headers ?? {}) as Record<string, unknown> };
        }
        const askedMs = retryAfterMs(headerValue((res.headers ?? {}) as Record<string, unknown>, 'retry-after'));
        failure = { server: redactUrl(endpoint.url), status: res.status, ...(askedMs !== undefined && { retryAfterMs: askedMs }) };
      } catch (e) {
        if (req.signal?.aborted) throw e;
        failure = { server: redactUrl(endpoint.url), error: describe(e) };
      }
      attempts.push(failure);
      this.pool.quarantine(endpoint.url);
      this.logger.debug('Eureka server failed, trying the next one', { op: req.op, ...failure });
    }
    throw new EurekaUnavailableError(req, attempts);
  }

  private candidates(req: EurekaRequest): readonly ServerEndpoint[] {
    if (req.onlyServer === undefined) return this.pool.candidates(this.options.maxServersPerRequest);
    const endpoint = this.pool.preferred.find((e) => e.url === req.onlyServer);
    if (!endpoint) throw new Error(`EurekaTransport: ${redactUrl(req.onlyServer)} is not one of the servers`);
    return [endpoint];
  }

  /** Closes pooled connections. */
  close(): void {
    this.agents.destroy();
  }
}

function describe(e: unknown): string {
  if (axios.isAxiosError(e)) return e.code ? `${e.code}${e.message ? ` (${e.message})` : ''}` : e.message;
  return e instanceof Error ? e.message : String(e);
}
