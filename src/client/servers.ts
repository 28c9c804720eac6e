// Which Eureka servers the client talks to, in which order: its own zone's servers first, then the other zones'
// in file order; a server that failed is quarantined for a while and skipped, and the preferred order is
// recomputed on every request so the client returns to its own zone as soon as the quarantine ends.
import { readFileSync } from 'node:fs';
import { stripCredentials } from '../codecs/url-credentials';
import { isServerUrl, normaliseServerUrl, readZonesFile, ZonesFile } from '../codecs/zones-file';
import type { Clock } from '../domain/clock';

/** A region's zones file, read as the servers read it; its `settings` are the servers' and ignored here. */
export type { ZonesFile };

/**
 * Where the servers are: a list of base URLs (`http://host:8761/eureka/`, tried in this order), one base URL, a
 * zones file object, or the path of a zones file (JSON).
 */
export type ServersOption = readonly string[] | string | ZonesFile;

/** One server the client may use. */
export interface ServerEndpoint {
  /** Base URL of the Eureka API, ending in `/`, e.g. `http://10.0.0.1:8761/eureka/`. */
  readonly url: string;
  /** Zone it serves, when known from a zones file. */
  readonly zone?: string;
}

/** A server URL as it may be shown (logs, errors): without `user:password@`. */
export const redactUrl: (url: string) => string = stripCredentials;

/** Thrown for a servers option the client cannot use. */
export class ServersConfigError extends Error {}

function checkUrl(url: unknown, where: string): string {
  if (!isServerUrl(url)) throw new ServersConfigError(`${where}: invalid server URL ${JSON.stringify(url)}`);
  return normaliseServerUrl(url);
}

/** Reads a zones file object (validated as the servers validate it) into endpoints, in file order. */
export function endpointsFromZonesFile(file: unknown, source = 'zones file'): ServerEndpoint[] {
  const reading = readZonesFile(file);
  if ('error' in reading) throw new ServersConfigError(`${source}: ${reading.error}`);
  const zones = reading.contents.zones;
  if (zones === undefined) throw new ServersConfigError(`${source}: "zones" must map zone names to lists of server URLs`);
  const out: ServerEndpoint[] = [];
  for (const [zone, urls] of zones) for (const url of urls) out.push({ url, zone });
  if (out.length === 0) throw new ServersConfigError(`${source}: no zones`);
  return out;
}

/**
 * Resolves a {@link ServersOption} into endpoints. A string starting with `http://` or `https://` is one URL,
 * any other string a zones file path.
 */
export function resolveEndpoints(servers: ServersOption): ServerEndpoint[] {
  if (typeof servers === 'string') {
    if (/^https?:\/\//.test(servers)) return [{ url: checkUrl(servers, 'servers') }];
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(servers, 'utf8'));
    } catch (e) {
      throw new ServersConfigError(`Cannot read zones file ${servers}: ${(e as Error).message}`);
    }
    return endpointsFromZonesFile(json, `zones file ${servers}`);
  }
  if (Array.isArray(servers)) {
    const list = servers as readonly unknown[];
    if (list.length === 0) throw new ServersConfigError('servers: the list is empty');
    return [...new Set(list.map((u, i) => checkUrl(u, `servers[${i}]`)))].map((url) => ({ url }));
  }
  return endpointsFromZonesFile(servers, 'zones file');
}

/** Options of a {@link ServerPool}. */
export interface ServerPoolOptions {
  /** The client's own zone: its servers come first. Default: the first zone listed. */
  readonly zone?: string;
  /** How long a failed server is skipped, ms (default 30 000). */
  readonly quarantineMs?: number;
  /** Time source for quarantine. */
  readonly clock: Clock;
}

/** The ordered, quarantine-aware list of servers. */
export class ServerPool {
  /** Every endpoint, own zone first, then the others in file order. */
  readonly preferred: readonly ServerEndpoint[];
  /** The client's zone (given, or the first zone listed), if the servers have zones. */
  readonly zone: string | undefined;
  private readonly quarantinedUntil = new Map<string, number>();
  private readonly quarantineMs: number;

  constructor(
    endpoints: readonly ServerEndpoint[],
    private readonly options: ServerPoolOptions,
  ) {
    if (endpoints.length === 0) throw new ServersConfigError('no servers');
    const zones = [...new Set(endpoints.map((e) => e.zone).filter((z): z is string => z !== undefined))];
    if (options.zone !== undefined && zones.length > 0 && !zones.includes(options.zone)) {
      throw new ServersConfigError(`zone "${options.zone}" is not one of the zones of the servers (${zones.join(', ')})`);
    }
    this.zone = options.zone ?? zones[0];
    const own = endpoints.filter((e) => e.zone !== undefined && e.zone === this.zone);
    this.preferred = [...own, ...endpoints.filter((e) => !own.includes(e))];
    this.quarantineMs = options.quarantineMs ?? 30_000;
  }

  /**
   * The servers to try for one request, best first, at most `max`: the preferred order minus quarantined servers.
   * When every server is quarantined, the preferred order itself (something must be tried).
   */
  candidates(max: number): ServerEndpoint[] {
    const now = this.options.clock.now();
    const healthy = this.preferred.filter((e) => !this.isQuarantined(e.url, now));
    return (healthy.length > 0 ? healthy : [...this.preferred]).slice(0, Math.max(1, max));
  }

  /** Skips `url` for the quarantine period. */
  quarantine(url: string): void {
    this.quarantinedUntil.set(url, this.options.clock.now() + this.quarantineMs);
  }

  /** Ends the quarantine of a server that answered. */
  succeeded(url: string): void {
    this.quarantinedUntil.delete(url);
  }

  /** Whether `url` is quarantined now. */
  isQuarantined(url: string, now = this.options.clock.now()): boolean {
    const until = this.quarantinedUntil.get(url);
    if (until === undefined) return false;
    if (now >= until) {
      this.quarantinedUntil.delete(url);
      return false;
    }
    return true;
  }
}
