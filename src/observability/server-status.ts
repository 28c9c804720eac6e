// The one read model operators see: registry counts, self-preservation and the leases it holds, each peer's probes
// and replication state, response-cache and startup-sync state. /eureka/status, the dashboard overview and the
// metrics all read this port; the composition root implements it once over the live components.
import { cpus } from 'node:os';
import { Clock } from '../domain/clock';
import { ExpiryGate } from '../domain/eviction';
import { Registry } from '../domain/registry';
import { SelfPreservationState } from '../domain/self-preservation';

/** A peer's replication counters, as its node keeps them (timestamps: epoch ms). */
export interface PeerReplicationStats {
  readonly batchesSent: number;
  readonly batchFailures: number;
  readonly tasksSent: number;
  /** Heartbeats dropped (expired or overflow): harmless, the next one follows. */
  readonly heartbeatsDropped: number;
  /** Registers, cancels and status changes that could not be delivered. */
  readonly changesLost: number;
  readonly consecutiveFailures: number;
  readonly lastSuccessAt: number;
  readonly lastFailureAt: number;
  readonly lastError: string;
  /** Queue time of the oldest task in the last delivered batch, ms. */
  readonly lastLagMs: number;
}

/** The registry comparison with a peer (anti-entropy), as operators see it (timestamps: epoch ms, 0: never). */
export interface PeerComparisonStats {
  /** pending (not compared yet), in-sync, repairing (differed at the last comparison), failing, unsupported. */
  state: 'pending' | 'in-sync' | 'repairing' | 'failing' | 'unsupported';
  comparisons: number;
  failures: number;
  lastComparisonAt: number;
  /** Applications that differed at the last comparison. */
  appsDiffering: number;
  /** Copies and removals sent that the peer applied (since start). */
  instancesRepaired: number;
  lastRepairAt: number;
  /** Since when every comparison found the peer in sync (0: not in sync). */
  inSyncSince: number;
  lastError: string;
}

/**
 * What the last probe of a peer's readiness endpoint said. ready: a 2xx; not-ready: 503 (a zone-registry server whose
 * startup sync is not over); reachable: any other answer, readiness unknown (a Java Eureka server has no readiness
 * endpoint and answers 404); unreachable: no answer within the timeout, a failed connection, or a proxy's 502/504;
 * pending: no probe has finished yet.
 */
export type PeerProbeState = 'pending' | 'ready' | 'not-ready' | 'reachable' | 'unreachable';

/** A peer as this server's own probes see it (timestamps: epoch ms, 0: never). */
export interface PeerProbeStats {
  readonly state: PeerProbeState;
  /** When the state became what it is now. */
  readonly since: number;
  readonly lastProbeAt: number;
  /** When the peer last answered a probe (any HTTP status). */
  readonly lastSeenAt: number;
  /** Round-trip time of the last answered probe, ms (-1: none answered yet). */
  readonly rttMs: number;
  /** HTTP status of the last answer (0: none yet). */
  readonly lastStatus: number;
  /** Why the last failed probe failed. */
  readonly lastError: string;
  readonly consecutiveFailures: number;
  readonly probes: number;
  readonly failures: number;
}

/** Upper bounds of the histogram of replication requests to a peer, seconds. */
export const REPLICATION_DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Durations counted in fixed buckets: counts per bound (not cumulative; one more for above the last), their sum and number. */
export interface DurationCounts {
  readonly counts: readonly number[];
  readonly sumSecs: number;
  readonly count: number;
}

/** One peer as operators see it: its base URL (credentials stripped), tasks waiting, counters. */
export interface PeerStatus {
  readonly url: string;
  /** Its zone in the zones file, when it is listed there. */
  readonly zone?: string;
  readonly queueDepth: number;
  readonly stats: PeerReplicationStats;
  /** The registry comparison with it, when anti-entropy runs. */
  readonly comparison?: PeerComparisonStats;
  /** What this server's probes of it say, when it is probed. */
  readonly probe?: PeerProbeStats;
  /** Durations of the replication batch requests sent to it (REPLICATION_DURATION_BUCKETS). */
  readonly requestDurations?: DurationCounts;
}

/** Response-cache counters. */
export interface CacheStats {
  readonly hits: number;
  readonly rebuilds: number;
  readonly bytes: number;
  readonly evictions: number;
}

/** Facts about this server for /eureka/status, the dashboard and the info metric. */
export interface ServerInfo {
  /** This process's identity (X-Registry-Server): changes with every start. */
  readonly id: string;
  readonly version: string;
  readonly region: string;
  readonly zone: string;
  /** Epoch ms the server started. */
  readonly startedAt: number;
  /** Base URLs of the other servers of the region. */
  readonly peers: readonly string[];
}

/** The watch as operators see it: what is parked or streaming, what was answered and refused. */
export interface WatchStatus {
  /** Long-polls parked now. */
  readonly parked: number;
  /** Event streams open now. */
  readonly streams: number;
  /** Cap on both together (watchMaxWatchers). */
  readonly maxWatchers: number;
  /** Parked long-polls answered, by why. */
  readonly answered: Readonly<Record<'change' | 'timeout' | 'shutdown', number>>;
  /** Watches refused with 429 because the cap was reached. */
  readonly refused: number;
}

/** How one probe ended: a 2xx (or a TCP connect), another status, no answer within the timeout, a failed connection. */
export type ProbeOutcome = 'healthy' | 'unhealthy' | 'timeout' | 'error';

/** Every probe outcome, in the order operators read them. */
export const PROBE_OUTCOMES: readonly ProbeOutcome[] = ['healthy', 'unhealthy', 'timeout', 'error'];

/** Upper bounds of the probe-duration histogram, seconds. */
export const PROBE_DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The safety valve of the health checks: marking DOWN stops while most probes fail (the prober's network). */
export interface HealthValveState {
  readonly engaged: boolean;
  /** When it engaged (epoch ms; 0 while released). */
  readonly since: number;
  /** Probes and failed probes of the last interval. */
  readonly probes: number;
  readonly failures: number;
  /** failures / probes of the last interval (0 without probes). */
  readonly failingFraction: number;
  /** Above this fraction it engages (healthCheckValveFraction). */
  readonly threshold: number;
  /** Times it engaged since start. */
  readonly engagements: number;
}

/** The active health checks of this server, as operators see them (counters since start). */
export interface HealthCheckStats {
  readonly enabled: boolean;
  readonly intervalMs: number;
  /** Instances whose client talks to this server (the ones it would probe), by what it does with them. */
  readonly instances: { readonly probed: number; readonly off: number; readonly refused: number };
  /** Instances this server's verdict holds DOWN now. */
  readonly markedDown: number;
  readonly inFlight: number;
  readonly probes: Readonly<Record<ProbeOutcome, number>>;
  /** Health URLs refused (another host, a bad scheme or port, credentials, malformed), each time one was resolved. */
  readonly refusedTotal: number;
  /** Instances marked DOWN, and given back their reported status, by this server's verdict. */
  readonly markedDownTotal: number;
  readonly markedUpTotal: number;
  /** Marks DOWN withheld because the valve was engaged. */
  readonly withheldTotal: number;
  readonly valve: HealthValveState;
  /** Probe durations: counts per PROBE_DURATION_BUCKETS bound (not cumulative; one more for above the last). */
  readonly durations: { readonly counts: readonly number[]; readonly sumSecs: number; readonly count: number };
}

/** What this server knows of one instance's health check. */
export interface InstanceHealth {
  /** http or tcp: probed here; off: not probed (metadata, no health URL, or checks off); refused: its URL is not allowed. */
  readonly mode: 'http' | 'tcp' | 'off' | 'refused';
  /** What is probed (URL or host:port), or why not. */
  readonly target: string;
  readonly consecutiveFailures: number;
  readonly consecutiveSuccesses: number;
  /** Epoch ms of the last probe; 0: none yet. */
  readonly lastProbeAt: number;
  readonly lastOutcome?: ProbeOutcome;
  /** The last probe in words (status code, error, timeout). */
  readonly lastDetail?: string;
  readonly lastDurationMs?: number;
  /** True while a health verdict holds the instance DOWN (this server's or its prober's). */
  readonly verdictDown: boolean;
}

/** The health checks' read side. */
export interface HealthCheckPort {
  stats(): HealthCheckStats;
  /** The instance's health check on this server, when this server probes it (its client talks to this server). */
  instance(app: string, id: string): InstanceHealth | undefined;
}

/** Record types DNS queries are counted by; any other type counts as `other`. */
export const DNS_QUERY_TYPES = ['A', 'AAAA', 'SRV', 'ANY', 'SOA', 'other'] as const;
export type DnsQueryType = (typeof DNS_QUERY_TYPES)[number];

/** Response codes DNS queries are answered with. */
export const DNS_RCODES = ['NOERROR', 'NXDOMAIN', 'REFUSED', 'FORMERR', 'SERVFAIL', 'NOTIMP', 'BADVERS'] as const;
export type DnsRcode = (typeof DNS_RCODES)[number];

/** DNS queries answered over one transport with one record type and response code (counters since start). */
export interface DnsQueryCount {
  readonly transport: 'udp' | 'tcp';
  readonly type: DnsQueryType;
  readonly rcode: DnsRcode;
  readonly count: number;
}

/** The DNS interface as operators see it (counters since start). */
export interface DnsStatus {
  readonly enabled: boolean;
  /** Where it listens (UDP and TCP share the port); absent while it is off or not listening yet. */
  readonly host?: string;
  readonly port?: number;
  readonly domain: string;
  readonly ttlSecs: number;
  /** Queries answered, by transport, type and response code (only the combinations seen). */
  readonly queries: readonly DnsQueryCount[];
  /** UDP answers sent with TC because their records did not all fit. */
  readonly truncated: number;
  /** Datagrams and TCP messages not answered: shorter than a header, or responses. */
  readonly malformed: number;
  /** UDP queries past dnsRateLimitPerSourcePerSec: dropped, or answered with an empty truncated reply. */
  readonly rateLimited: { readonly dropped: number; readonly truncated: number };
  /** TCP connections open now, and those closed on arrival because dnsTcpMaxConnections were open. */
  readonly tcp: { readonly open: number; readonly refused: number };
}

/** The state operators read; optional parts are absent where a server (or a test) does not run them. */
export interface ServerStatusPort {
  readonly registry: Registry;
  readonly clock: Clock;
  readonly serverInfo?: ServerInfo;
  readonly expiryGate?: ExpiryGate;
  readonly cache?: { readonly stats: CacheStats };
  /** Self-preservation numbers, when it is configured. */
  readonly selfPreservation?: (now: number) => SelfPreservationState;
  /** The peers and their replication state; default: none. */
  readonly peers?: () => readonly PeerStatus[];
  /** True once the server can serve its registry (synced with its peers, or their timeout passed). */
  readonly isReady?: () => boolean;
  /** False while a failed startup sync keeps registry reads refused (403); default: always allowed. */
  readonly allowsRegistryReads?: (now: number) => boolean;
  /** The watch's state, when the server offers it. */
  readonly watchStatus?: () => WatchStatus;
  /** The active health checks, when the server runs them. */
  readonly healthChecks?: HealthCheckPort;
  /** The DNS interface, when the server has one (on or off). */
  readonly dns?: () => DnsStatus;
}

/** A peer's health as operators are told it: failing, not ready (reachable, still syncing), healthy, or idle (nothing known yet). */
export type PeerHealth = 'healthy' | 'failing' | 'not-ready' | 'idle';

/**
 * Judges a peer's health from this server's probes of it, the batches sent to it and the registry comparison with
 * it; the freshest evidence of a failure wins over an older success. The one rule: /eureka/status, the dashboard, the
 * metrics and the admin CLI all show it.
 */
export function peerHealth(p: PeerStatus, now: number): { health: PeerHealth; summary: string } {
  const s = p.stats;
  const probe = p.probe;
  const lastBatch = s.lastSuccessAt > 0 ? `last batch accepted ${ago(now - s.lastSuccessAt)}` : 'no batch accepted yet';
  // Probes reach every peer every peerProbeIntervalMs, batches or not: a peer that stopped answering is failing
  // even when this server has had nothing to send it since it died.
  if (probe !== undefined && probe.state === 'unreachable' && probe.lastProbeAt >= s.lastSuccessAt) {
    const seen = probe.lastSeenAt > 0 ? `last seen ${ago(now - probe.lastSeenAt)}` : 'never answered';
    return { health: 'failing', summary: `unreachable (${probe.lastError}), ${seen}; ${lastBatch}` };
  }
  if (s.consecutiveFailures > 0) {
    const since = s.lastSuccessAt > 0 ? `last success ${ago(now - s.lastSuccessAt)}` : 'never reached';
    return { health: 'failing', summary: `${s.consecutiveFailures} failed batch${s.consecutiveFailures === 1 ? '' : 'es'} in a row, ${since}` };
  }
  // The registry comparison reaches every peer every antiEntropyIntervalMs too.
  const c = p.comparison;
  if (c !== undefined && c.state === 'failing' && c.lastComparisonAt >= s.lastSuccessAt) {
    return { health: 'failing', summary: `registry comparison failing (${c.lastError}), last batch ${s.lastSuccessAt > 0 ? `accepted ${ago(now - s.lastSuccessAt)}` : 'never sent'}` };
  }
  const answered = probe !== undefined && probe.lastSeenAt > 0 ? `, round trip ${probe.rttMs} ms` : '';
  if (probe?.state === 'not-ready') return { health: 'not-ready', summary: `reachable but not ready (its startup sync is not over)${answered}; ${lastBatch}` };
  const reached = probe?.state === 'ready' ? `reachable and ready${answered}` : probe?.state === 'reachable' ? `reachable${answered} (readiness unknown: answered ${probe.lastStatus})` : undefined;
  if (s.batchesSent === 0) {
    if (reached !== undefined) return { health: 'healthy', summary: `${reached}; nothing replicated yet${p.queueDepth > 0 ? ` (${p.queueDepth} change(s) waiting)` : ''}` };
    return { health: 'idle', summary: p.queueDepth > 0 ? `${p.queueDepth} change(s) waiting for the first batch` : probe?.state === 'pending' ? 'not probed yet, nothing replicated yet' : 'nothing replicated yet' };
  }
  return { health: 'healthy', summary: `last batch accepted ${ago(now - s.lastSuccessAt)}, lag ${s.lastLagMs} ms${reached !== undefined ? `; ${reached}` : ''}` };
}

/** Instances held past their lease's expiry while expiry is suspended (self-preservation), and since when it is suspended. */
export interface HeldPastExpiry {
  readonly instances: number;
  /** Epoch ms expiry has been suspended since (0: not suspended, or not known). */
  readonly since: number;
}

/**
 * Counts the instances whose lease has expired but which stay because lease expiry is suspended now: one pass over
 * the leases, only while it is suspended.
 */
export function heldPastExpiry(port: Pick<ServerStatusPort, 'registry' | 'expiryGate' | 'selfPreservation'>, now: number): HeldPastExpiry {
  if (port.expiryGate === undefined || port.expiryGate.isLeaseExpirationEnabled(now)) return { instances: 0, since: 0 };
  // Counting walks every lease (about 10 ms at 250,000): once a second at most, however often status, the overview
  // and the metrics are read, so that anonymous reads of /eureka/status cannot make it cost more.
  const last = heldCounts.get(port.registry);
  if (last !== undefined && now >= last.at && now - last.at < HELD_COUNT_TTL_MS) return last.held;
  let instances = 0;
  for (const lease of port.registry.leases()) if (lease.isExpired(now)) instances++;
  const held = { instances, since: port.selfPreservation?.(now).since ?? 0 };
  heldCounts.set(port.registry, { at: now, held });
  return held;
}

const HELD_COUNT_TTL_MS = 1000;
const heldCounts = new WeakMap<object, { readonly at: number; readonly held: HeldPastExpiry }>();

function ago(ms: number): string {
  if (ms < 1000) return 'just now';
  if (ms < 120_000) return `${Math.round(ms / 1000)} s ago`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${Math.round(ms / 3_600_000)} h ago`;
}

/** The document of GET /eureka/status: Eureka's generalStats/applicationStats plus this server's own state. */
export function statusDocument(port: ServerStatusPort & { readonly serverInfo: ServerInfo; readonly expiryGate: ExpiryGate }, now: number): object {
  const { registry, serverInfo: info } = port;
  const mem = process.memoryUsage();
  return {
    generalStats: {
      'server-uptime': uptime(now - info.startedAt),
      'num-of-cpus': String(cpus().length),
      'current-memory-usage': `${Math.round(mem.rss / 1048576)}mb`,
      version: info.version,
    },
    serverId: info.id,
    applicationStats: {
      'registered-replicas': info.peers.join(', '),
    },
    peers: (port.peers?.() ?? []).map((p) => {
      const verdict = peerHealth(p, now);
      return {
        url: p.url,
        zone: p.zone ?? null,
        health: verdict.health,
        healthSummary: verdict.summary,
        ...probeFacts(p.probe),
        queueDepth: p.queueDepth,
        ...p.stats,
        comparison: p.comparison,
        probe: p.probe,
      };
    }),
    selfPreservation: port.selfPreservation?.(now),
    heldPastExpiry: heldPastExpiry(port, now),
    registryReadsAllowed: port.allowsRegistryReads?.(now) ?? true,
    region: info.region,
    zone: info.zone,
    registry: {
      applications: [...registry.applications()].length,
      instances: registry.size,
      statusCounts: registry.statusCounts(),
      appsHashcode: registry.hashcode(),
      revision: registry.revision,
      deltaEntries: registry.deltaSize,
      deltaBytes: registry.deltaBytes,
      deltaDroppedEarly: registry.deltaDroppedEarly,
      deltaCoveredFrom: registry.deltaCoveredFrom,
    },
    watch: port.watchStatus?.(),
    healthChecks: port.healthChecks?.stats(),
    dns: port.dns?.(),
    leaseExpirationEnabled: port.expiryGate.isLeaseExpirationEnabled(now),
    responseCache: port.cache === undefined ? undefined : { ...port.cache.stats },
  };
}

/** A peer's probe in four facts (null: not probed, or not known yet): reachable, ready, last seen (epoch ms), round trip (ms). */
export function probeFacts(probe: PeerProbeStats | undefined): { reachable: boolean | null; ready: boolean | null; lastSeenAt: number | null; rttMs: number | null } {
  if (probe === undefined || probe.state === 'pending') return { reachable: null, ready: null, lastSeenAt: probe?.lastSeenAt ?? null, rttMs: null };
  const reachable = probe.state !== 'unreachable';
  return {
    reachable,
    ready: probe.state === 'ready' ? true : probe.state === 'not-ready' ? false : null,
    lastSeenAt: probe.lastSeenAt,
    rttMs: reachable && probe.rttMs >= 0 ? probe.rttMs : null,
  };
}

/** Eureka's uptime format: "HH:mm", prefixed with "N days " when longer. */
function uptime(ms: number): string {
  const minutes = Math.floor(ms / 60000);
  const days = Math.floor(minutes / 1440);
  const hh = String(Math.floor((minutes % 1440) / 60)).padStart(2, '0');
  const mm = String(minutes % 60).padStart(2, '0');
  return `${days > 0 ? `${days} day${days > 1 ? 's' : ''} ` : ''}${hh}:${mm}`;
}
