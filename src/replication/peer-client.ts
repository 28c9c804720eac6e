// Talking to one peer over HTTP: batches of replication tasks (on node:http, see postText), and over axios the full
// registry for startup sync, comparisons and readiness probes. The only replication module that knows the network.
import { AxiosInstance, isAxiosError } from 'axios';
import { ReplicationListResponse, SERVER_IDENTITY_HEADER } from './protocol';
import { BasicCredentials, splitCredentials } from '../codecs/url-credentials';
import { Clock, systemClock } from '../domain/clock';
import { createHttpClient, HttpClient } from '../transport/http-client';

/** How a batch went as a whole. */
export type BatchResult =
  /** `server`: the peer's SERVER_IDENTITY_HEADER, when it is a zone-registry server. */
  | { readonly kind: 'ok'; readonly response: ReplicationListResponse; readonly server?: string }
  /** Network error or timeout: worth retrying later. */
  | { readonly kind: 'retry'; readonly reason: string }
  /** 429 or 503: the peer is up and asks us to wait, `retryAfterMs` if it said how long (Retry-After). */
  | { readonly kind: 'later'; readonly reason: string; readonly retryAfterMs?: number }
  /** Any other answer: the batch is discarded (Eureka's "permanent error"). */
  | { readonly kind: 'failed'; readonly reason: string };

/** What a peer's readiness endpoint answered: its status, or why there was no answer. */
export type ProbeAnswer = { readonly kind: 'answer'; readonly status: number } | { readonly kind: 'error'; readonly reason: string };

/** A peer's registry, as fetched for startup sync. */
export type RegistryFetch = { readonly kind: 'ok'; readonly body: string } | { readonly kind: 'failed'; readonly reason: string };

/** The transport to one peer; tests substitute a scripted one. */
export interface PeerClient {
  readonly url: string;
  /** Posts an encoded ReplicationList (see encodeReplicationList). */
  sendBatch(body: string): Promise<BatchResult>;
  fetchRegistry(): Promise<RegistryFetch>;
  /**
   * Posts a registry comparison request (`path` under peerreplication/: digest, versions, repair); absent on clients
   * that cannot (the peer is then skipped by anti-entropy).
   */
  compare?(path: string, body: string): Promise<PeerExchange>;
  /** GET apps/{name} (JSON): one application, for a startup sync application by application. */
  fetchApplication?(name: string): Promise<RegistryFetch>;
  /** GET of the peer's readiness endpoint (see readinessUrl) within `timeoutMs`; absent on clients that cannot (the peer is then not probed). */
  probe?(timeoutMs: number): Promise<ProbeAnswer>;
  close(): void;
}

/**
 * Where a server with this Eureka base URL answers GET /health/ready: beside the path's `eureka` segment
 * (http://h:8761/eureka/v2/ → http://h:8761/health/ready, http://lb/zone-a/eureka/ → http://lb/zone-a/health/ready),
 * at the root when the path has none.
 */
export function readinessUrl(eurekaUrl: string): string {
  const url = new URL(eurekaUrl);
  const at = url.pathname.search(/\/eureka(\/|$)/);
  return `${url.origin}${at < 0 ? '/' : url.pathname.slice(0, at + 1)}health/ready`;
}

/** The answer to a comparison request: its status and body, or why there is none. */
export type PeerExchange = { readonly kind: 'answer'; readonly status: number; readonly body: string } | { readonly kind: 'error'; readonly reason: string };

/** Headers a Netflix server sends to its peers (identity DefaultServer); the replication header marks the writes. */
const PEER_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json',
  'accept-encoding': 'gzip',
  'discoveryidentity-name': 'DefaultServer',
  'discoveryidentity-version': '1.0',
  'x-netflix-discovery-replication': 'true',
};

/** How to authenticate to a peer and verify it. */
export interface PeerClientOptions {
  /** Basic credentials for a peer whose URL carries none (settings peerUsername / peerPassword). */
  readonly credentials?: BasicCredentials;
  /** CA bundle (PEM) an https peer's certificate must chain to; default: the system's CAs. */
  readonly ca?: Buffer;
  /** Reads the time a Retry-After HTTP-date is measured from; default: the wall clock. */
  readonly clock?: Clock;
}

/** PeerClient over axios with a keep-alive connection pool per peer. */
export class HttpPeerClient implements PeerClient {
  /** The peer's base URL without credentials: what status, dashboard, metrics and logs show. */
  readonly url: string;
  private readonly http: AxiosInstance;
  private readonly client: HttpClient;
  private readonly clock: Clock;
  private readonly readiness: string;

  /**
   * @param url the peer's Eureka base URL, ending in '/', e.g. http://10.0.1.5:8761/eureka/; a user:password@ in it
   *   is sent as Basic auth (and wins over `options.credentials`), never shown.
   */
  constructor(url: string, timeoutMs: number, options: PeerClientOptions = {}) {
    const split = splitCredentials(url);
    this.url = split.url;
    const auth = split.credentials ?? options.credentials;
    this.clock = options.clock ?? systemClock;
    this.client = createHttpClient({
      baseUrl: this.url,
      timeoutMs,
      headers: PEER_HEADERS,
      auth,
      // Certificates are always verified; a private CA replaces the system's when given.
      pools: { keepAlive: true, maxSockets: 8, alwaysVerify: true, ca: options.ca },
      anyStatus: true,
      // Bodies are handled as text: the registry codecs parse them; a request body is already JSON text.
      textResponses: true,
      rawRequests: true,
      maxRedirects: 0,
      noProxy: true,
    });
    this.http = this.client.http;
    this.readiness = readinessUrl(this.url);
  }

  async sendBatch(body: string): Promise<BatchResult> {
    let res;
    try {
      // Dozens a second: on node:http (see postText), not axios.
      res = await this.client.postText('peerreplication/batch/', body);
    } catch (e) {
      return { kind: 'retry', reason: describe(e) };
    }
    if (res.status === 429 || res.status === 503) {
      const retryAfterMs = parseRetryAfterMs(res.headers?.['retry-after'], this.clock.now());
      return { kind: 'later', reason: `peer answered ${res.status}`, ...(retryAfterMs !== undefined && { retryAfterMs }) };
    }
    if (res.status < 200 || res.status >= 300) return { kind: 'failed', reason: `peer answered ${res.status}` };
    // The peer took the batch; an unreadable answer must not make us replay it.
    let parsed: ReplicationListResponse | undefined;
    try {
      parsed = JSON.parse(res.data) as ReplicationListResponse;
    } catch {
      return { kind: 'failed', reason: 'peer answered a body that is not JSON' };
    }
    if (!Array.isArray(parsed?.responseList)) return { kind: 'failed', reason: 'peer answered without a responseList' };
    const server = res.headers?.[SERVER_IDENTITY_HEADER];
    return { kind: 'ok', response: parsed, ...(typeof server === 'string' && server !== '' && { server }) };
  }

  async fetchRegistry(): Promise<RegistryFetch> {
    try {
      const res = await this.http.get<string>('apps/');
      return res.status === 200 ? { kind: 'ok', body: res.data } : { kind: 'failed', reason: `peer answered ${res.status}` };
    } catch (e) {
      return { kind: 'failed', reason: describe(e) };
    }
  }

  async fetchApplication(name: string): Promise<RegistryFetch> {
    try {
      // Uncompressed: a startup sync reads the whole registry this way, and gzip cost both sides more CPU than the
      // bytes it saved between zones (250,000 instances: ready in 7.7 s without, 10+ s with).
      const res = await this.http.get<string>(`apps/${encodeURIComponent(name)}`, { headers: { 'accept-encoding': 'identity' } });
      return res.status === 200 ? { kind: 'ok', body: res.data } : { kind: 'failed', reason: `peer answered ${res.status}` };
    } catch (e) {
      return { kind: 'failed', reason: describe(e) };
    }
  }

  async compare(path: string, body: string): Promise<PeerExchange> {
    try {
      const res = await this.http.post<string>(`peerreplication/${path}`, body);
      return { kind: 'answer', status: res.status, body: typeof res.data === 'string' ? res.data : '' };
    } catch (e) {
      return { kind: 'error', reason: describe(e) };
    }
  }

  async probe(timeoutMs: number): Promise<ProbeAnswer> {
    try {
      // An absolute URL: axios does not put the base URL before it. Credentials and the CA apply as to any request.
      const res = await this.http.get<string>(this.readiness, { timeout: timeoutMs });
      return { kind: 'answer', status: res.status };
    } catch (e) {
      return { kind: 'error', reason: describe(e) };
    }
  }

  close(): void {
    this.client.close();
  }
}

/**
 * A Retry-After header (delay-seconds or HTTP-date) as a wait in ms from `nowMs`; undefined when absent or
 * unreadable. A date in the past is a wait of 0.
 */
export function parseRetryAfterMs(header: unknown, nowMs: number): number | undefined {
  if (typeof header !== 'string') return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = /[a-z]/i.test(value) ? Date.parse(value) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function describe(e: unknown): string {
  if (isAxiosError(e)) return e.code ? `${e.code}: ${e.message}` : e.message;
  // Duck-typed: Node's own errors may come from another realm (a test runner's), where instanceof fails.
  const { code, message } = (typeof e === 'object' && e !== null ? e : {}) as { code?: unknown; message?: unknown };
  if (typeof message !== 'string') return String(e);
  return typeof code === 'string' && code !== '' ? `${code}: ${message}` : message;
}
