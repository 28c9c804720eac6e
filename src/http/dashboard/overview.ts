// GET /api/overview: everything the dashboard shows, as one JSON document built from the server's live state.
// Instance details are capped (`limit`) and can be narrowed with a filter (`q`), so the dashboard stays usable on a
// registry of thousands of instances; counts always cover every application the filter matches.
import { Settings } from '../../config/settings';
import { ExpiryGate } from '../../domain/eviction';
import { INSTANCE_STATUSES, InstanceStatus, zoneOf } from '../../domain/model';
import { SelfPreservationState } from '../../domain/self-preservation';
import { RecentChange, RecentChanges } from '../../observability/recent-changes';
import { DnsStatus, HealthCheckStats, HeldPastExpiry, heldPastExpiry, InstanceHealth, PeerComparisonStats, PeerHealth, peerHealth, PeerProbeStats, PeerReplicationStats, probeFacts, ServerInfo, ServerStatusPort } from '../../observability/server-status';

export { peerHealth } from '../../observability/server-status';
export type { PeerHealth } from '../../observability/server-status';

/** What the overview reads: the server's status read model, recent changes and settings. */
export interface OverviewSources extends ServerStatusPort {
  readonly serverInfo: ServerInfo;
  readonly expiryGate: ExpiryGate;
  readonly isReady: () => boolean;
  readonly recentChanges?: RecentChanges;
  /** The server's settings, when known (the dashboard shows the ones that matter). */
  readonly settings?: Settings;
}

/** Query of the overview. */
export interface OverviewQuery {
  /** Case-insensitive substring of app name, instance id, host, IP, status or zone; empty: everything. */
  readonly q?: string;
  /** Most instances detailed (default 500, at most 5000). */
  readonly limit?: number;
  /** Most recent registrations / removals returned (default 50, at most 1000). */
  readonly recent?: number;
}

export const DEFAULT_INSTANCE_LIMIT = 500;
export const MAX_INSTANCE_LIMIT = 5000;
export const DEFAULT_RECENT = 50;

/** Settings grouped as the dashboard shows them. */
const SETTING_GROUPS: Record<string, readonly (keyof Settings)[]> = {
  leases: ['leaseRenewalIntervalSecs', 'leaseDurationSecs', 'evictionIntervalMs', 'evictionMaxFraction', 'deltaRetentionMs', 'responseCacheMaxStalenessMs'],
  selfPreservation: ['selfPreservationEnabled', 'renewalPercentThreshold', 'selfPreservationMinInstances', 'renewalWindowMs', 'renewalThresholdUpdateIntervalMs'],
  replication: ['peerProbeIntervalMs', 'replicationBatchSize', 'replicationMaxBatchingDelayMs', 'replicationMaxPending', 'replicationTaskExpiryMs', 'replicationTimeoutMs', 'replicationRetryBaseMs', 'replicationRetryMaxMs'],
  startupSync: ['syncAttempts', 'syncRetryWaitMs', 'syncFailureMode', 'syncEmptyWaitMs'],
  healthChecks: ['healthChecksEnabled', 'healthCheckIntervalMs', 'healthCheckTimeoutMs', 'healthCheckFailuresBeforeDown', 'healthCheckSuccessesBeforeUp', 'healthCheckConcurrency', 'healthCheckValveFraction', 'healthCheckValveMinInstances'],
  dns: ['dnsEnabled', 'dnsHost', 'dnsPort', 'dnsDomain', 'dnsTtlSecs', 'dnsMaxUdpBytes', 'dnsRateLimitPerSourcePerSec', 'dnsTcpMaxConnections', 'dnsTcpIdleTimeoutMs'],
  // File paths only: secrets (peerPassword, the credentials themselves) never leave the server.
  security: ['authEnabled', 'authAnonymousReads', 'tlsCertFile', 'peerCaFile', 'rateLimitFullFetchesPerSec', 'rateLimitRequestsPerClientPerSec'],
};

/** A peer: its zone, its health judged, what this server's probes of it say, and its replication state. */
export interface PeerOverview extends PeerReplicationStats {
  readonly url: string;
  /** Its zone in the zones file (null: not listed there). */
  readonly zone: string | null;
  readonly queueDepth: number;
  readonly health: PeerHealth;
  /** In plain words. */
  readonly summary: string;
  /** Whether its last probe was answered, and 2xx (ready) or 503; null: not probed, or unknown. */
  readonly reachable: boolean | null;
  readonly ready: boolean | null;
  /** When it last answered a probe, epoch ms (0: never; null: not probed). */
  readonly lastSeenAt: number | null;
  /** Round trip of its last answered probe, ms (null: none). */
  readonly rttMs: number | null;
  readonly probe: PeerProbeStats | null;
  /** The registry comparison with it (anti-entropy), when it runs. */
  readonly comparison?: PeerComparisonStats;
}

export interface InstanceOverview {
  readonly id: string;
  readonly app: string;
  readonly hostName: string;
  readonly ipAddr: string;
  readonly port: number | null;
  readonly securePort: number | null;
  readonly status: InstanceStatus;
  /** Operator override; UNKNOWN when none. */
  readonly overriddenStatus: InstanceStatus;
  /** Where the status came from: the client itself, an operator's override, or a health check (DOWN). */
  readonly statusSource: string;
  /** Its health check, when this server probes it (its client talks to this server). */
  readonly health: InstanceHealth | null;
  readonly zone: string | null;
  readonly vipAddress: string | null;
  /** Its home and status pages, only when they are http(s) URLs (anything else is never offered as a link). */
  readonly homePageUrl: string | null;
  readonly statusPageUrl: string | null;
  readonly lastRenewalTimestamp: number;
  readonly leaseExpiresAt: number;
  /** Time left on the lease, ms; negative once expired (awaiting eviction, or kept by self-preservation). */
  readonly leaseMsLeft: number;
  readonly renewalIntervalSecs: number;
  readonly registrationTimestamp: number;
  readonly lastUpdatedTimestamp: number;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface ApplicationOverview {
  readonly name: string;
  readonly total: number;
  readonly byStatus: Record<InstanceStatus, number>;
  /** By metadata `zone` ("(none)" when absent). */
  readonly byZone: Record<string, number>;
  /** Detailed instances (may be fewer than `total` when the limit was reached). */
  readonly instances: InstanceOverview[];
}

export interface Overview {
  readonly now: number;
  readonly server: {
    readonly version: string;
    readonly region: string;
    readonly zone: string;
    readonly startedAt: number;
    readonly uptimeMs: number;
    readonly ready: boolean;
    readonly registryReadsAllowed: boolean;
    readonly leaseExpirationEnabled: boolean;
    readonly revision: number;
    readonly responseCache: { readonly hits: number; readonly rebuilds: number } | null;
    readonly settings: Record<string, Record<string, string | number | boolean>> | null;
  };
  readonly selfPreservation: SelfPreservationState | null;
  /** Instances kept past their lease's expiry because expiry is suspended, and since when. */
  readonly heldPastExpiry: HeldPastExpiry;
  /** The active health checks of this server (null when it does not run them). */
  readonly healthChecks: HealthCheckStats | null;
  /** The DNS interface: on (where it listens, what it answered) or off; null when the server has none. */
  readonly dns: DnsStatus | null;
  readonly peers: PeerOverview[];
  readonly totals: { readonly applications: number; readonly instances: number; readonly byStatus: Record<InstanceStatus, number> };
  readonly filter: { readonly q: string; readonly limit: number; readonly matchedApplications: number; readonly matchedInstances: number; readonly detailedInstances: number };
  readonly applications: ApplicationOverview[];
  readonly recent: { readonly registrations: RecentChange[]; readonly removals: RecentChange[] };
}

const clamp = (n: number | undefined, fallback: number, max: number): number => (n === undefined || !Number.isFinite(n) || n < 0 ? fallback : Math.min(Math.floor(n), max));


function zeroCounts(): Record<InstanceStatus, number> {
  return { DOWN: 0, OUT_OF_SERVICE: 0, STARTING: 0, UNKNOWN: 0, UP: 0 };
}

/** Builds the overview at the clock's now. */
export function buildOverview(src: OverviewSources, query: OverviewQuery = {}): Overview {
  const now = src.clock.now();
  const { registry, serverInfo } = src;
  const q = (query.q ?? '').trim().toLowerCase();
  const limit = clamp(query.limit, DEFAULT_INSTANCE_LIMIT, MAX_INSTANCE_LIMIT);
  const recentLimit = clamp(query.recent, DEFAULT_RECENT, 1000);

  let settings: Overview['server']['settings'] = null;
  if (src.settings) {
    settings = {};
    for (const [group, names] of Object.entries(SETTING_GROUPS)) {
      const values: Record<string, string | number | boolean> = {};
      for (const name of names) values[name] = src.settings[name];
      settings[group] = values;
    }
  }

  const applications: ApplicationOverview[] = [];
  let appCount = 0;
  let matchedInstances = 0;
  let detailed = 0;
  // By name, so the instance limit cuts the same applications on every refresh.
  const apps = [...registry.applications()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, leases] of apps) {
    appCount++;
    const appMatches = q === '' || name.toLowerCase().includes(q);
    const byStatus = zeroCounts();
    const byZone: Record<string, number> = {};
    const instances: InstanceOverview[] = [];
    let total = 0;
    for (const lease of leases) {
      const r = lease.record;
      const i = r.instance;
      // Metadata `zone`, else the Amazon availability zone: the rule clients and the admin CLI follow.
      const zone = zoneOf(i) || null;
      if (!appMatches && !matches(q, i.id, i.hostName, i.ipAddr, i.status, zone)) continue;
      total++;
      byStatus[i.status]++;
      const zoneKey = zone ?? '(none)';
      byZone[zoneKey] = (byZone[zoneKey] ?? 0) + 1;
      if (detailed >= limit) continue;
      detailed++;
      const expiresAt = lease.expiresAt();
      instances.push({
        id: i.id,
        app: i.app,
        hostName: i.hostName,
        ipAddr: i.ipAddr,
        port: i.port.enabled ? i.port.port : null,
        securePort: i.securePort.enabled ? i.securePort.port : null,
        status: i.status,
        overriddenStatus: i.overriddenStatus,
        statusSource: r.statusSource,
        health: src.healthChecks?.instance(i.app, i.id) ?? null,
        zone,
        vipAddress: i.vipAddress ?? null,
        homePageUrl: webUrl(i.homePageUrl),
        statusPageUrl: webUrl(i.statusPageUrl),
        lastRenewalTimestamp: lease.lastRenewalTimestamp,
        leaseExpiresAt: expiresAt,
        leaseMsLeft: expiresAt - now,
        renewalIntervalSecs: i.renewalIntervalSecs,
        registrationTimestamp: r.registrationTimestamp,
        lastUpdatedTimestamp: r.lastUpdatedTimestamp,
        metadata: { ...i.metadata },
      });
    }
    if (total === 0) continue;
    matchedInstances += total;
    applications.push({ name, total, byStatus, byZone, instances });
  }

  const counts = registry.statusCounts();
  const byStatus = zeroCounts();
  for (const s of INSTANCE_STATUSES) byStatus[s] = counts[s] ?? 0;

  const recentFilter = (c: RecentChange): boolean => q === '' || matches(q, c.app, c.id, c.hostName, c.ipAddr, c.status, c.zone ?? null);
  const recent = src.recentChanges;
  return {
    now,
    server: {
      version: serverInfo.version,
      region: serverInfo.region,
      zone: serverInfo.zone,
      startedAt: serverInfo.startedAt,
      uptimeMs: now - serverInfo.startedAt,
      ready: src.isReady(),
      registryReadsAllowed: src.allowsRegistryReads?.(now) ?? true,
      leaseExpirationEnabled: src.expiryGate.isLeaseExpirationEnabled(now),
      revision: registry.revision,
      responseCache: src.cache ? { hits: src.cache.stats.hits, rebuilds: src.cache.stats.rebuilds } : null,
      settings,
    },
    selfPreservation: src.selfPreservation?.(now) ?? null,
    heldPastExpiry: heldPastExpiry(src, now),
    healthChecks: src.healthChecks?.stats() ?? null,
    dns: src.dns?.() ?? null,
    peers: (src.peers?.() ?? []).map((p) => ({ url: p.url, zone: p.zone ?? null, queueDepth: p.queueDepth, ...p.stats, ...peerHealth(p, now), ...probeFacts(p.probe), probe: p.probe ?? null, comparison: p.comparison })),
    totals: { applications: appCount, instances: registry.size, byStatus },
    filter: { q, limit, matchedApplications: applications.length, matchedInstances, detailedInstances: detailed },
    applications,
    recent: {
      registrations: recent ? (q === '' ? recent.registrations.newest(recentLimit) : recent.registrations.newest().filter(recentFilter).slice(0, recentLimit)) : [],
      removals: recent ? (q === '' ? recent.removals.newest(recentLimit) : recent.removals.newest().filter(recentFilter).slice(0, recentLimit)) : [],
    },
  };
}

/** The URL as the dashboard may link it: an absolute http(s) URL, normalised; anything else (javascript:, data:, relative, malformed) is null. */
export function webUrl(raw: string | undefined): string | null {
  if (raw === undefined || raw.length > 2048) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
}

function matches(q: string, ...fields: (string | null)[]): boolean {
  for (const f of fields) if (f !== null && f.toLowerCase().includes(q)) return true;
  return false;
}
