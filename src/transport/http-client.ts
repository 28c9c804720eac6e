// The one place HTTP clients are built for talking to Eureka servers, peers and health endpoints: an axios instance,
// optionally over its own keep-alive connection pools (destroyed by close()), with the timeout, Basic auth, CA and
// body and status handling each caller asks for. Depends on node:http(s) and axios only.
import http from 'node:http';
import https from 'node:https';
import axios, { AxiosInstance, CreateAxiosDefaults } from 'axios';

/** Connection pools of one client. */
export interface PoolOptions {
  /** Reuse connections between requests (default true). */
  readonly keepAlive?: boolean;
  /** Most open sockets per host (default: Node's, unlimited). */
  readonly maxSockets?: number;
  /** Verify https certificates whatever NODE_TLS_REJECT_UNAUTHORIZED says (default: Node's rule). */
  readonly alwaysVerify?: boolean;
  /** CA bundle (PEM) an https server's certificate must chain to, instead of the system's CAs. */
  readonly ca?: Buffer;
}

/** The http and https agents of one client. */
export interface ConnectionPools {
  readonly http: http.Agent;
  readonly https: https.Agent;
  /** Closes every pooled connection. */
  destroy(): void;
}

/** Keep-alive http and https agents as `options` say. */
export function connectionPools(options: PoolOptions = {}): ConnectionPools {
  const keepAlive = options.keepAlive ?? true;
  const shared = { keepAlive, ...(options.maxSockets !== undefined && { maxSockets: options.maxSockets }) };
  const pools = {
    http: new http.Agent(shared),
    https: new https.Agent({ ...shared, ...(options.alwaysVerify && { rejectUnauthorized: true }), ...(options.ca && { ca: options.ca }) }),
  };
  return {
    ...pools,
    destroy: () => {
      pools.http.destroy();
      pools.https.destroy();
    },
  };
}

/** What an {@link HttpClient} sends and how it reads answers; anything left out is axios's default. */
export interface HttpClientOptions {
  /** Base URL requests are relative to. */
  readonly baseUrl?: string;
  /** Timeout of one request, ms. */
  readonly timeoutMs?: number;
  /** Headers sent with every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Basic credentials sent with every request. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** Own connection pools (closed by close()); default: Node's global agents. */
  readonly pools?: PoolOptions;
  /** Every HTTP status resolves: the caller explains statuses itself. */
  readonly anyStatus?: boolean;
  /** Response bodies stay text, never parsed. */
  readonly textResponses?: boolean;
  /** Request bodies are sent as given (already-encoded text). */
  readonly rawRequests?: boolean;
  /** Redirects followed (default axios's). */
  readonly maxRedirects?: number;
  /** Ignore HTTP(S)_PROXY from the environment. */
  readonly noProxy?: boolean;
}

/** An axios instance and the pools it owns. */
export interface HttpClient {
  readonly http: AxiosInstance;
  /** Closes the client's pooled connections (nothing to close on Node's global agents). */
  close(): void;
}

const unchanged = (data: unknown): unknown => data;

/** Builds an {@link HttpClient}. */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const pools = options.pools && connectionPools(options.pools);
  const config: CreateAxiosDefaults = {
    ...(options.baseUrl !== undefined && { baseURL: options.baseUrl }),
    ...(options.timeoutMs !== undefined && { timeout: options.timeoutMs }),
    ...(options.headers && { headers: { ...options.headers } }),
    ...(options.auth && { auth: { username: options.auth.username, password: options.auth.password } }),
    ...(pools && { httpAgent: pools.http, httpsAgent: pools.https }),
    ...(options.anyStatus && { validateStatus: () => true }),
    ...(options.textResponses && { responseType: 'text', transformResponse: unchanged }),
    ...(options.rawRequests && { transformRequest: unchanged }),
    ...(options.maxRedirects !== undefined && { maxRedirects: options.maxRedirects }),
    ...(options.noProxy && { proxy: false }),
  };
  return { http: axios.create(config), close: () => pools?.destroy() };
}
