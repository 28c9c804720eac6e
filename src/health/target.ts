// What an instance's health check probes, decided from its registration and its `healthcheck.*` metadata, and the
// rule that keeps a registration from making the server probe anything but the instance itself: a health URL is
// probed only when its host is the instance's own hostName or ipAddr. Pure: no I/O, no clock.
import { isIP } from 'node:net';
import { InstanceInfo } from '../domain/model';

/** The metadata keys an instance steers its health check with. */
export const HEALTH_METADATA = {
  /** `http`, `tcp` or `off`; default: `http` when the instance has a health URL, else `off`. */
  mode: 'healthcheck.mode',
  /** Seconds between probes: at least the server's healthCheckIntervalMs, at most an hour. */
  intervalSecs: 'healthcheck.intervalSecs',
  /** Seconds a probe may take: at most the server's healthCheckTimeoutMs. */
  timeoutSecs: 'healthcheck.timeoutSecs',
  /** Failed probes in a row that mark the instance DOWN, 1–100. */
  failuresBeforeDown: 'healthcheck.failuresBeforeDown',
  /** Passed probes in a row that give it back its reported status, 1–100. */
  successesBeforeUp: 'healthcheck.successesBeforeUp',
} as const;

/** Longest health URL considered, characters: a real one is well under 200. */
export const MAX_HEALTH_URL_LENGTH = 2048;

/** Longest interval an instance may ask for, ms. */
export const MAX_INSTANCE_INTERVAL_MS = 3_600_000;

/** Shortest timeout an instance may ask for, ms. */
export const MIN_INSTANCE_TIMEOUT_MS = 10;

/** How often, how long and how many: the server's settings, or an instance's narrower choice. */
export interface Thresholds {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly failuresBeforeDown: number;
  readonly successesBeforeUp: number;
}

/** An HTTP(S) GET of the instance's health URL. */
export interface HttpTarget {
  readonly kind: 'http';
  /** The URL as parsed (for operators). */
  readonly url: string;
  readonly secure: boolean;
  /** The address connected to: the registered ipAddr when it is an IP literal (no DNS), else the URL's host. */
  readonly connectHost: string;
  readonly port: number;
  /** Path and query. */
  readonly path: string;
  /** The Host header: the URL's host (and port when not the scheme's default). */
  readonly hostHeader: string;
  /** TLS server name (SNI) when the URL names a host rather than an address. */
  readonly servername?: string;
}

/** A TCP connect to the instance's port. */
export interface TcpTarget {
  readonly kind: 'tcp';
  readonly host: string;
  readonly port: number;
}

/** What is probed. */
export type ProbeTarget = HttpTarget | TcpTarget;

/** What the server does with an instance: probe it, leave it alone, or refuse what it asked for. */
export type TargetDecision =
  | { readonly kind: 'probe'; readonly target: ProbeTarget; readonly thresholds: Thresholds }
  | { readonly kind: 'off'; readonly reason: string }
  | { readonly kind: 'refused'; readonly reason: string };

/** The target as text (a URL, or host:port). */
export function describeTarget(target: ProbeTarget): string {
  return target.kind === 'http' ? target.url : `tcp://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}

/** Decides what to do with an instance from its registration, given the server's thresholds. */
export function decideTarget(instance: InstanceInfo, defaults: Thresholds): TargetDecision {
  const raw = instance.metadata[HEALTH_METADATA.mode];
  const mode = raw === undefined || raw.trim() === '' ? undefined : raw.trim().toLowerCase();
  const url = instance.healthCheckUrl || instance.secureHealthCheckUrl;
  if (mode === 'off') return { kind: 'off', reason: `${HEALTH_METADATA.mode}=off` };
  if (mode !== undefined && mode !== 'http' && mode !== 'tcp') return { kind: 'refused', reason: `${HEALTH_METADATA.mode} must be http, tcp or off` };
  const thresholds = instanceThresholds(instance.metadata, defaults);
  if (mode === 'tcp') {
    const target = tcpTarget(instance);
    return 'refused' in target ? { kind: 'refused', reason: target.refused } : { kind: 'probe', target, thresholds };
  }
  if (url === undefined) return mode === 'http' ? { kind: 'refused', reason: `${HEALTH_METADATA.mode}=http but the instance has no health URL` } : { kind: 'off', reason: 'no health URL' };
  const target = checkHealthUrl(url, instance.hostName, instance.ipAddr);
  return 'refused' in target ? { kind: 'refused', reason: target.refused } : { kind: 'probe', target, thresholds };
}

/**
 * The HTTP target of a health URL, or why it is refused: http or https only, no credentials, a port in 1–65535, and
 * a host that is exactly (after URL parsing, case-insensitively) the instance's hostName or ipAddr. Never throws.
 */
export function checkHealthUrl(raw: string, hostName: string, ipAddr: string): HttpTarget | { readonly refused: string } {
  if (raw.length > MAX_HEALTH_URL_LENGTH) return { refused: `health URL longer than ${MAX_HEALTH_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { refused: 'health URL is not a valid URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { refused: `health URL scheme ${url.protocol.slice(0, 16)} is not http or https` };
  if (url.username !== '' || url.password !== '') return { refused: 'health URL carries credentials' };
  const secure = url.protocol === 'https:';
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return { refused: `health URL port ${url.port} is not in 1–65535` };
  const host = url.hostname.toLowerCase();
  const isAddress = host === canonicalHost(ipAddr);
  if (!isAddress && host !== canonicalHost(hostName)) return { refused: "health URL host is not the instance's hostName or ipAddr" };
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  // Named by its host name: connect to its registered address when that is one, so no DNS answer decides where.
  const pinned = isAddress ? bare : isIP(ipAddr) !== 0 ? ipAddr : bare;
  return {
    kind: 'http',
    url: url.href,
    secure,
    connectHost: pinned,
    port,
    path: `${url.pathname}${url.search}`,
    hostHeader: url.host,
    ...(isIP(bare) === 0 && { servername: bare }),
  };
}

// A registered host or address as the URL parser writes it: lower case, IPv6 compressed in brackets.
function canonicalHost(value: string): string {
  if (isIP(value) === 6) {
    try {
      return new URL(`http://[${value}]/`).hostname;
    } catch {
      return value.toLowerCase();
    }
  }
  return value.toLowerCase();
}

// The instance's address and its first enabled port.
function tcpTarget(instance: InstanceInfo): TcpTarget | { readonly refused: string } {
  const port = instance.port.enabled ? instance.port.port : instance.securePort.enabled ? instance.securePort.port : undefined;
  if (port === undefined) return { refused: 'no enabled port to connect to' };
  if (!Number.isInteger(port) || port < 1 || port > 65535) return { refused: `port ${port} is not in 1–65535` };
  const host = isIP(instance.ipAddr) !== 0 ? instance.ipAddr : instance.hostName;
  return { kind: 'tcp', host, port };
}

// The server's thresholds, narrowed by the instance's metadata within bounds; a value that is not a number is ignored.
function instanceThresholds(metadata: Readonly<Record<string, string>>, d: Thresholds): Thresholds {
  const secs = (key: string): number | undefined => {
    const v = metadata[key];
    if (v === undefined || !/^\s*\d+(\.\d+)?\s*$/.test(v)) return undefined;
    return Math.round(Number(v) * 1000);
  };
  const count = (key: string, fallback: number): number => {
    const v = metadata[key];
    if (v === undefined || !/^\s*\d{1,3}\s*$/.test(v)) return fallback;
    return Math.min(100, Math.max(1, Number(v)));
  };
  const interval = secs(HEALTH_METADATA.intervalSecs);
  const timeout = secs(HEALTH_METADATA.timeoutSecs);
  return {
    intervalMs: interval === undefined ? d.intervalMs : Math.min(MAX_INSTANCE_INTERVAL_MS, Math.max(d.intervalMs, interval)),
    timeoutMs: timeout === undefined ? d.timeoutMs : Math.min(d.timeoutMs, Math.max(MIN_INSTANCE_TIMEOUT_MS, timeout)),
    failuresBeforeDown: count(HEALTH_METADATA.failuresBeforeDown, d.failuresBeforeDown),
    successesBeforeUp: count(HEALTH_METADATA.successesBeforeUp, d.successesBeforeUp),
  };
}
