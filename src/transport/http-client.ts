// The one place HTTP clients are built for talking to Eureka servers, peers and health endpoints: an axios instance,
// optionally over its own keep-alive connection pools (destroyed by close()), with the timeout, Basic auth, CA and
// body and status handling each caller asks for; and, for the one request a server sends dozens of times a second
// (a peer's replication batch), a text POST on node:http over the same pools and settings. Depends on node:http(s),
// node:zlib and axios only.
import http from 'node:http';
import https from 'node:https';
import { gunzipSync, inflateSync } from 'node:zlib';
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

/** An answer to {@link HttpClient.postText}: any status, the body as text (decompressed when the server compressed it). */
export interface TextAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly data: string;
}

/**
 * Most bytes of an answer {@link HttpClient.postText} reads (ERR_ANSWER_TOO_LARGE past it) and of what a compressed
 * answer inflates to (ERR_BAD_ANSWER past it).
 */
export const MAX_TEXT_ANSWER_BYTES = 16 * 1024 * 1024;

/** An axios instance and the pools it owns. */
export interface HttpClient {
  readonly http: AxiosInstance;
  /**
   * POSTs `body` (text, sent as given) to `path` under the base URL with the client's headers, Basic auth, timeout and
   * pools, no redirects and no proxy; resolves with any status; rejects on a network error or timeout with an Error
   * whose `code` names it (ECONNREFUSED, ETIMEDOUT, ...). For requests sent many times a second: axios 1.21 kept about
   * 9 KB of each request alive past two young-generation collections (0.8 MB/s promoted at 88 requests a second; none
   * on node:http), and the old generation's growth is one of the two things that start V8's full collections.
   */
  postText(path: string, body: string): Promise<TextAnswer>;
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
  return { http: axios.create(config), postText: textPoster(options, pools), close: () => pools?.destroy() };
}

/** An Error with a Node-style code. */
function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function textPoster(options: HttpClientOptions, pools: ConnectionPools | undefined): (path: string, body: string) => Promise<TextAnswer> {
  const base = options.baseUrl;
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth) headers.authorization = `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`;
  const timeoutMs = options.timeoutMs ?? 0;
  return (path, body) =>
    new Promise<TextAnswer>((resolve, reject) => {
      const url = new URL(path, base);
      const secure = url.protocol === 'https:';
      const requestHeaders = { ...headers, 'content-length': String(Buffer.byteLength(body)) };
      const agent = secure ? (pools?.https ?? https.globalAgent) : (pools?.http ?? http.globalAgent);
      const request = (secure ? https : http).request(url, { method: 'POST', headers: requestHeaders, agent }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_TEXT_ANSWER_BYTES) request.destroy(codedError('ERR_ANSWER_TOO_LARGE', `answer larger than ${MAX_TEXT_ANSWER_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          try {
            const raw = Buffer.concat(chunks, bytes);
            const encoding = res.headers['content-encoding'];
            const bound = { maxOutputLength: MAX_TEXT_ANSWER_BYTES };
            const plain = encoding === 'gzip' ? gunzipSync(raw, bound) : encoding === 'deflate' ? inflateSync(raw, bound) : raw;
            resolve({ status: res.statusCode ?? 0, headers: res.headers, data: plain.toString('utf8') });
          } catch (e) {
            reject(codedError('ERR_BAD_ANSWER', `unreadable answer: ${e instanceof Error ? e.message : String(e)}`));
          }
        });
      });
      request.on('error', reject);
      if (timeoutMs > 0) request.setTimeout(timeoutMs, () => request.destroy(codedError('ETIMEDOUT', `timeout of ${timeoutMs}ms exceeded`)));
      request.end(body);
    });
}
