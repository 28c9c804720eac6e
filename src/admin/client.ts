// The admin CLI's HTTP side: the Eureka REST API (and, on our server, /health/*) through axios. Works against any
// Eureka server for apps, instances and status; peers and health need this server's /eureka/status and /health.
import { AxiosInstance, AxiosResponse, isAxiosError } from 'axios';
import { DecodeDefaults, DecodedInstance, DecodeError } from '../codecs/instance-decoder';
import { DecodedApplication, decodeApplicationJson, decodeApplicationsJson } from '../codecs/json';
import { maskedUserinfo, splitCredentials } from '../codecs/url-credentials';
import { zoneOf } from '../domain/model';
import { createHttpClient } from '../transport/http-client';

/** A failure the CLI reports as one clear line (exit code 1). */
export class AdminError extends Error {}

/** Bad command line (exit code 2). */
export class UsageError extends Error {}

/** Default --server. */
export const DEFAULT_SERVER = 'http://127.0.0.1:8761/eureka/';

/** Environment variable read for the server when --server is not given. */
export const SERVER_ENV = 'ZONE_REGISTRY_URL';

/** Where a server is and how to log in to it. */
export interface ServerTarget {
  /** Base URL of the Eureka API without credentials, ending in `/`. */
  readonly eurekaUrl: string;
  /** The server's root (where /health lives): the URL before `/eureka`, ending in `/`. */
  readonly rootUrl: string;
  /** For messages: the URL with the password masked. */
  readonly display: string;
  readonly auth?: { readonly username: string; readonly password: string };
}

/** Parses --server: http(s) URL, optional user:password (sent as Basic auth), default path /eureka/. */
export function parseServer(raw: string): ServerTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--server must be a URL like ${DEFAULT_SERVER}, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--server must be an http:// or https:// URL, got "${url.protocol}"`);
  if (url.search || url.hash) throw new UsageError('--server must not have a query or fragment');
  // The WHATWG form of the URL: its userinfo is percent-encoded, so it ends at the one `@` left.
  const { credentials } = splitCredentials(url.href);
  const auth = credentials && (credentials.username || credentials.password) ? credentials : undefined;
  const user = auth ? maskedUserinfo(url.href) : '';
  url.username = '';
  url.password = '';
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/eureka/';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  const at = url.pathname.search(/\/eureka(\/|$)/);
  const rootPath = at < 0 ? '/' : url.pathname.slice(0, at + 1);
  return { eurekaUrl: url.href, rootUrl: `${url.origin}${rootPath}`, display: `${url.protocol}//${user}${url.host}${url.pathname}`, auth };
}

/** One instance as the CLI shows it, from Eureka JSON (any server's spelling). */
export interface AdminInstance {
  readonly app: string;
  readonly id: string;
  readonly hostName: string;
  readonly ipAddr: string;
  readonly port: number | null;
  readonly securePort: number | null;
  readonly status: string;
  /** Operator override; UNKNOWN when none. */
  readonly overriddenStatus: string;
  readonly zone: string | null;
  readonly vipAddress: string | null;
  readonly lastRenewalTimestamp: number | null;
  readonly leaseDurationSecs: number | null;
  readonly leaseExpiresAt: number | null;
  readonly metadata: Record<string, string>;
}

/** What a zone-registry server knows of an instance's health (GET /api/health-checks). */
export interface AdminInstanceHealth {
  /** client, override, or health (a health check holds it DOWN). */
  readonly statusSource: string;
  /** The server's live lease times, ms, when it says them (the registry documents are cached per change). */
  readonly lastRenewalTimestamp?: number;
  readonly leaseExpiresAt?: number;
  /** Its check on that server, when that server probes it. */
  readonly check: {
    readonly mode: string;
    readonly target: string;
    readonly consecutiveFailures: number;
    readonly lastOutcome?: string;
    readonly lastDetail?: string;
    readonly verdictDown: boolean;
  } | null;
}

/** One application as the CLI shows it. */
export interface AdminApplication {
  readonly name: string;
  readonly instances: AdminInstance[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');

// Only lastDirtyTimestamp (not shown) and absent lease fields take these; Eureka's defaults otherwise.
const READ_DEFAULTS: DecodeDefaults = { renewalIntervalSecs: 30, durationSecs: 90, now: 0 };

/** One decoded Eureka instance as the CLI shows it; `appName` stands in for an instance without `app`. */
export function toAdminInstance(d: DecodedInstance, appName: string): AdminInstance {
  const lastRenewal = d.lease && d.lease.lastRenewalTimestamp > 0 ? d.lease.lastRenewalTimestamp : null;
  const duration = d.lease ? d.durationSecs : null;
  return {
    app: d.app ?? appName,
    id: d.id ?? '',
    hostName: d.hostName ?? '',
    ipAddr: d.ipAddr ?? '',
    port: d.port.enabled ? d.port.port : null,
    securePort: d.securePort.enabled ? d.securePort.port : null,
    status: d.status,
    overriddenStatus: d.overriddenStatus,
    zone: zoneOf(d) || null,
    vipAddress: d.vipAddress ?? null,
    lastRenewalTimestamp: lastRenewal,
    leaseDurationSecs: duration,
    leaseExpiresAt: lastRenewal !== null && duration !== null ? lastRenewal + duration * 1000 : null,
    metadata: { ...d.metadata },
  };
}

const toAdminApplication = (app: DecodedApplication): AdminApplication => ({ name: app.name, instances: app.instances.map((i) => toAdminInstance(i, app.name)) });

/** Talks to one server. */
export class AdminClient {
  private readonly http: AxiosInstance;

  constructor(
    readonly target: ServerTarget,
    timeoutMs: number,
  ) {
    this.http = createHttpClient({
      timeoutMs,
      auth: target.auth,
      headers: { Accept: 'application/json', 'User-Agent': 'zone-registry-admin' },
      // Statuses are ours to explain; bodies stay text until we know they are JSON.
      anyStatus: true,
      textResponses: true,
      maxRedirects: 0,
    }).http;
  }

  /** Every application (GET apps/). */
  async applications(): Promise<AdminApplication[]> {
    const res = await this.request('GET', this.eureka('apps/'), 'list the applications');
    this.expect(res, [200], 'list the applications');
    const body = this.json(res, 'list the applications');
    if (!isObject(body.applications)) throw new AdminError(`unexpected answer to GET ${this.eureka('apps/')}: no "applications" object`);
    const doc = this.decode(() => decodeApplicationsJson(body, READ_DEFAULTS), 'list the applications');
    return doc.applications.map(toAdminApplication).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One application (GET apps/APP); AdminError when it has no instances. */
  async application(app: string): Promise<AdminApplication> {
    const url = this.eureka(`apps/${encodeURIComponent(app.toUpperCase())}`);
    const res = await this.request('GET', url, `read application ${app}`);
    if (res.status === 404) throw new AdminError(`application ${app.toUpperCase()} is not registered on ${this.target.display}`);
    this.expect(res, [200], `read application ${app}`);
    const body = this.json(res, `read application ${app}`);
    if (!isObject(body.application)) throw new AdminError(`unexpected answer to GET ${url}: no "application" object`);
    return toAdminApplication(this.decode(() => decodeApplicationJson(body, READ_DEFAULTS), `read application ${app}`));
  }

  /** Sets an operator override (PUT apps/APP/ID/status?value=STATUS). */
  async setStatus(app: string, id: string, status: string): Promise<void> {
    const url = this.eureka(`apps/${encodeURIComponent(app.toUpperCase())}/${encodeURIComponent(id)}/status?value=${encodeURIComponent(status)}`);
    const res = await this.request('PUT', url, `set ${app}/${id} ${status}`);
    if (res.status === 404) throw new AdminError(`instance ${id} of ${app.toUpperCase()} is not registered on ${this.target.display}`);
    this.expect(res, [200], `set ${app}/${id} ${status}`);
  }

  /** Removes the operator override (DELETE apps/APP/ID/status): the instance's own status counts again. */
  async removeOverride(app: string, id: string): Promise<void> {
    const url = this.eureka(`apps/${encodeURIComponent(app.toUpperCase())}/${encodeURIComponent(id)}/status`);
    const res = await this.request('DELETE', url, `remove the override of ${app}/${id}`);
    if (res.status === 404) throw new AdminError(`instance ${id} of ${app.toUpperCase()} is not registered on ${this.target.display}`);
    this.expect(res, [200], `remove the override of ${app}/${id}`);
  }

  /** Deregisters an instance (DELETE apps/APP/ID), as its client does when it shuts down. */
  async deregister(app: string, id: string): Promise<void> {
    const url = this.eureka(`apps/${encodeURIComponent(app.toUpperCase())}/${encodeURIComponent(id)}`);
    const res = await this.request('DELETE', url, `deregister ${app}/${id}`);
    if (res.status === 404) throw new AdminError(`instance ${id} of ${app.toUpperCase()} is not registered on ${this.target.display}`);
    this.expect(res, [200], `deregister ${app}/${id}`);
  }

  /** Sets metadata entries of an instance (PUT apps/APP/ID/metadata?key=value&…); other entries stay. */
  async updateMetadata(app: string, id: string, entries: readonly (readonly [string, string])[]): Promise<void> {
    const query = new URLSearchParams(entries.map(([k, v]): [string, string] => [k, v])).toString();
    const url = this.eureka(`apps/${encodeURIComponent(app.toUpperCase())}/${encodeURIComponent(id)}/metadata?${query}`);
    const res = await this.request('PUT', url, `update the metadata of ${app}/${id}`);
    if (res.status === 404) throw new AdminError(`instance ${id} of ${app.toUpperCase()} is not registered on ${this.target.display}`);
    this.expect(res, [200], `update the metadata of ${app}/${id}`);
  }

  /**
   * The health checks of an application's instances by id (GET /api/health-checks?app=), or undefined when the server
   * does not offer them (a Java Eureka server, an older one, credentials without the admin role, no answer).
   */
  async instanceHealth(app: string): Promise<Map<string, AdminInstanceHealth> | undefined> {
    let res: AxiosResponse<string>;
    try {
      res = await this.request('GET', `${this.target.rootUrl}api/health-checks?app=${encodeURIComponent(app.toUpperCase())}`, 'read the health checks');
    } catch (e) {
      if (e instanceof AdminError) return undefined;
      throw e;
    }
    if (res.status !== 200) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(String(res.data));
    } catch {
      return undefined;
    }
    const list = isObject(body) && Array.isArray(body.instances) ? body.instances : undefined;
    if (list === undefined) return undefined;
    const out = new Map<string, AdminInstanceHealth>();
    for (const entry of list) {
      if (!isObject(entry) || typeof entry.id !== 'string') continue;
      const h = isObject(entry.health) ? entry.health : undefined;
      out.set(entry.id, {
        statusSource: str(entry.statusSource),
        ...(typeof entry.lastRenewalTimestamp === 'number' && typeof entry.leaseExpiresAt === 'number' && { lastRenewalTimestamp: entry.lastRenewalTimestamp, leaseExpiresAt: entry.leaseExpiresAt }),
        check: h === undefined ? null : {
          mode: str(h.mode),
          target: str(h.target),
          consecutiveFailures: typeof h.consecutiveFailures === 'number' ? h.consecutiveFailures : 0,
          ...(typeof h.lastOutcome === 'string' && { lastOutcome: h.lastOutcome, lastDetail: str(h.lastDetail) }),
          verdictDown: h.verdictDown === true,
        },
      });
    }
    return out;
  }

  /** This server's /eureka/status document. */
  async serverStatus(): Promise<Json> {
    const res = await this.request('GET', this.eureka('status'), 'read the server status');
    this.expect(res, [200], 'read the server status');
    return this.json(res, 'read the server status');
  }

  /** GET /health/live or /health/ready at the server's root: the status code and the body's status. */
  async health(path: 'health/live' | 'health/ready'): Promise<{ code: number; status: string }> {
    const url = this.target.rootUrl + path;
    const res = await this.request('GET', url, `read ${path}`);
    if (res.status !== 200 && res.status !== 503) this.expect(res, [200, 503], `read ${path}`);
    let status = '';
    try {
      const body = JSON.parse(String(res.data)) as unknown;
      if (isObject(body)) status = str(body.status);
    } catch {
      // A non-JSON health answer is reported by its code.
    }
    return { code: res.status, status: status || (res.status === 200 ? 'UP' : 'DOWN') };
  }

  private eureka(path: string): string {
    return this.target.eurekaUrl + path;
  }

  private async request(method: 'GET' | 'PUT' | 'DELETE', url: string, what: string): Promise<AxiosResponse<string>> {
    try {
      return await this.http.request<string>({ method, url });
    } catch (e) {
      if (isAxiosError(e)) {
        if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT') throw new AdminError(`cannot ${what}: no answer from ${this.target.display} within the timeout`);
        const cause = e.cause instanceof Error && e.cause.message ? e.cause.message : e.message;
        const reason = e.code && !cause.includes(e.code) ? `${e.code}: ${cause}` : cause;
        throw new AdminError(`cannot ${what}: cannot reach ${this.target.display} (${reason})`);
      }
      throw e;
    }
  }

  private expect(res: AxiosResponse<string>, ok: readonly number[], what: string): void {
    if (ok.includes(res.status)) return;
    const detail = String(res.data ?? '').trim().slice(0, 200);
    const hint =
      res.status === 401 || res.status === 403
        ? res.status === 403 && !this.target.auth
          ? ' (the server refuses reads until its startup sync is over, or it needs credentials: http://user:password@host…)'
          : ' (check the credentials in --server: http://user:password@host…)'
        : res.status === 400 && detail
          ? `: ${detail}`
          : '';
    throw new AdminError(`cannot ${what}: ${res.config.method?.toUpperCase()} ${this.redact(res.config.url ?? '')} answered ${res.status}${hint}`);
  }

  private json(res: AxiosResponse<string>, what: string): Json {
    try {
      const body = JSON.parse(String(res.data)) as unknown;
      if (isObject(body)) return body;
    } catch {
      // fall through
    }
    throw new AdminError(`cannot ${what}: ${this.target.display} did not answer JSON (is it a Eureka server?)`);
  }

  private decode<T>(read: () => T, what: string): T {
    try {
      return read();
    } catch (e) {
      if (e instanceof DecodeError) throw new AdminError(`cannot ${what}: ${this.target.display} answered a registry document that cannot be read (${e.message})`);
      throw e;
    }
  }

  // Messages name the server as the operator wrote it, never with its password.
  private redact(url: string): string {
    return url.startsWith(this.target.eurekaUrl) ? this.target.display + url.slice(this.target.eurekaUrl.length) : url;
  }
}
