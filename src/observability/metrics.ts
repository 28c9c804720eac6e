// Prometheus metrics of one zone server (GET /metrics), with prom-client on a Registry of its own: several servers
// may run in one process (tests), and each must report only itself.
//
// Most series are read at scrape time from the state the server keeps anyway (registry counts, self-preservation,
// peer stats, response-cache stats); registry events feed the counters. Request durations are recorded on the
// heartbeat/fetch hot path, so they bypass prom-client's per-call label hashing (several objects and a string per
// observation): each route resolves its timer once, an observation is a bucket search and three additions into
// preallocated arrays, and prom-client only formats them at scrape time.
import { ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Metric, Registry as PromRegistry } from 'prom-client';
import { INSTANCE_STATUSES } from '../domain/model';
import { RegistryEvent } from '../domain/registry';
import { unreachable } from '../domain/unreachable';
import { DurationCounts, HealthCheckStats, heldPastExpiry, peerHealth, PeerStatus, PROBE_DURATION_BUCKETS, PROBE_OUTCOMES, REPLICATION_DURATION_BUCKETS, ServerStatusPort } from './server-status';

/** Prefix of every metric of this server. */
export const METRIC_PREFIX = 'zone_registry_';

/** Upper bounds of the request-duration histogram, seconds: a heartbeat takes tens of µs, a big full fetch ms. */
export const DURATION_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Methods reported by name; any other is reported as OTHER (methods are client input). */
const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/** Route label of requests no route matched. */
export const UNMATCHED_ROUTE = '(unmatched)';

/** What the metrics read: the server's status read model. */
export type MetricsSources = ServerStatusPort;

/** Options of {@link ServerMetrics}. */
export interface MetricsOptions {
  /** Add the process metrics of prom-client's collectDefaultMetrics (CPU, memory, event-loop lag, GC); default true. */
  readonly processMetrics?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Request durations

class Series {
  readonly buckets = new Float64Array(DURATION_BUCKETS.length);
  sum = 0;
  count = 0;
  constructor(readonly labels: Readonly<Record<string, string>>) {}
}

/** Something that records the duration of a finished response. */
export interface DurationObserver {
  observe(res: ServerResponse, seconds: number): void;
}

/** The timer of one route (method + pattern): resolve it once, observe on every request without allocating. */
export class RouteTimer implements DurationObserver {
  private readonly byStatus = new Map<number, Series>();

  constructor(
    private readonly histogram: RequestDurations,
    readonly method: string,
    readonly route: string,
  ) {}

  observe(res: ServerResponse, seconds: number): void {
    this.record(res.statusCode, seconds);
  }

  /**
   * Records one request that answered `status` after `seconds`. Series are made on first use, so any status is a
   * valid label, including the 499 and 408 of requests whose connection closed before the reply.
   */
  record(status: number, seconds: number): void {
    let series = this.byStatus.get(status);
    if (series === undefined) {
      series = this.histogram.newSeries({ method: this.method, route: this.route, code: String(status) });
      this.byStatus.set(status, series);
    }
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]) i++;
    if (i < DURATION_BUCKETS.length) series.buckets[i]++;
    series.sum += seconds;
    series.count++;
  }
}

/** Timer of requests served by express: the route is read from express's req.route when the response finishes. */
class ExpressTimer implements DurationObserver {
  private readonly timers = new Map<string, RouteTimer>();

  constructor(private readonly histogram: RequestDurations) {}

  observe(res: ServerResponse, seconds: number): void {
    const req = res.req as (typeof res.req & { route?: { path?: unknown } }) | undefined;
    const path = req?.route?.path;
    const route = typeof path === 'string' ? path : UNMATCHED_ROUTE;
    this.timerFor(req?.method ?? 'GET', route).observe(res, seconds);
  }

  private timerFor(rawMethod: string, route: string): RouteTimer {
    const method = KNOWN_METHODS.includes(rawMethod) ? rawMethod : 'OTHER';
    const key = `${method} ${route}`;
    let timer = this.timers.get(key);
    if (!timer) {
      timer = this.histogram.route(method, route);
      this.timers.set(key, timer);
    }
    return timer;
  }
}

/**
 * `zone_registry_http_request_duration_seconds`: a prom-client metric (it implements what a prom-client Registry
 * reads) whose values live in preallocated series.
 */
export class RequestDurations {
  readonly name = `${METRIC_PREFIX}http_request_duration_seconds`;
  readonly help = 'Time from the start of a request to the end of its response, by route pattern (never the raw URL), method and status code. Code 499: the client closed the connection before the reply; 408: the request did not arrive within requestTimeoutMs.';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames = ['method', 'route', 'code'];
  private series: Series[] = [];
  private readonly unmatched = new Map<string, RouteTimer>();
  /** Observer of requests express serves (operators' routes). */
  readonly express: DurationObserver = new ExpressTimer(this);

  /** A timer for a route; call once per route, not per request. */
  route(method: string, pattern: string): RouteTimer {
    return new RouteTimer(this, method, pattern);
  }

  /** The timer for requests no Eureka route matched (404, 405, malformed path), by method. */
  unmatchedRoute(rawMethod: string | undefined): RouteTimer {
    const method = rawMethod !== undefined && KNOWN_METHODS.includes(rawMethod) ? rawMethod : 'OTHER';
    let timer = this.unmatched.get(method);
    if (!timer) {
      timer = this.route(method, UNMATCHED_ROUTE);
      this.unmatched.set(method, timer);
    }
    return timer;
  }

  /** @internal */
  newSeries(labels: Record<string, string>): Series {
    const s = new Series(labels);
    this.series.push(s);
    return s;
  }

  reset(): void {
    for (const s of this.series) {
      s.buckets.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: { labels: Record<string, string | number>; value: number; metricName: string }[] }> {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const s of this.series) {
      let cumulative = 0;
      for (let i = 0; i < DURATION_BUCKETS.length; i++) {
        cumulative += s.buckets[i];
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: DURATION_BUCKETS[i] }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/**
 * Records the response's duration, from `startedAt` (performance.now()), with `timer` when it finishes. One closure per
 * request and nothing stored on the response: properties added to Node's ServerResponse turn it into a
 * dictionary-mode object and slow every later access to it. Measured in isolation: ~0.17 µs per request, most of it
 * the two performance.now() calls (a heartbeat costs ~18 µs of CPU).
 */
export function observeOnFinish(res: ServerResponse, startedAt: number, timer: DurationObserver): void {
  res.on('finish', () => timer.observe(res, (performance.now() - startedAt) / 1000));
}

/**
 * A histogram as a prom-client metric whose values come from counts kept elsewhere (DurationCounts), read at scrape
 * time: one series per labelled source.
 */
function countedHistogram(metricName: string, help: string, bounds: readonly number[], labelNames: readonly string[], sources: () => Iterable<{ labels: Record<string, string>; durations: DurationCounts }>): object {
  return {
    name: metricName,
    help,
    type: 'histogram',
    aggregator: 'sum',
    labelNames: [...labelNames],
    reset: () => undefined,
    async get() {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const { labels, durations: d } of sources()) {
        let cumulative = 0;
        bounds.forEach((le, i) => {
          cumulative += d.counts[i];
          values.push({ metricName: `${metricName}_bucket`, labels: { ...labels, le }, value: cumulative });
        });
        values.push({ metricName: `${metricName}_bucket`, labels: { ...labels, le: '+Inf' }, value: d.count });
        values.push({ metricName: `${metricName}_sum`, labels, value: d.sumSecs });
        values.push({ metricName: `${metricName}_count`, labels, value: d.count });
      }
      return { name: metricName, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The server's metrics

// Process metrics are facts of the process, not of one server: collected once per process, merged into every scrape.
let processRegistry: PromRegistry | undefined;
function processMetrics(): PromRegistry {
  if (!processRegistry) {
    processRegistry = new PromRegistry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Every metric of one zone server. */
export class ServerMetrics {
  readonly registry = new PromRegistry();
  readonly http = new RequestDurations();
  private readonly unsubscribe: () => void;
  private renewals = { client: 0, peer: 0 };
  private readonly withProcessMetrics: boolean;
  // Forgets what was read for the previous scrape.
  private resetScrape: () => void = () => undefined;

  constructor(sources: MetricsSources, options: MetricsOptions = {}) {
    const { registry, clock } = sources;
    const reg = this.registry;
    this.withProcessMetrics = options.processMetrics ?? true;
    const name = (n: string): string => METRIC_PREFIX + n;
    const peers = (): readonly PeerStatus[] => sources.peers?.() ?? [];
    const now = (): number => clock.now();

    if (sources.serverInfo) {
      const info = sources.serverInfo;
      new Gauge({ name: name('info'), help: 'Version, region and zone of this server (always 1).', labelNames: ['version', 'region', 'zone'], registers: [reg] }).set({ version: info.version, region: info.region, zone: info.zone }, 1);
    }

    // Registry contents.
    new Gauge({
      name: name('instances'),
      help: 'Registered instances by status.',
      labelNames: ['status'],
      registers: [reg],
      collect() {
        const counts = registry.statusCounts();
        for (const status of INSTANCE_STATUSES) this.set({ status }, counts[status] ?? 0);
      },
    });
    new Gauge({
      name: name('applications'),
      help: 'Applications with at least one registered instance.',
      registers: [reg],
      collect() {
        let n = 0;
        for (const _ of registry.applications()) n++;
        this.set(n);
      },
    });
    // Named without the prefix's word twice (was zone_registry_registry_revision).
    new Gauge({ name: name('revision'), help: 'Registry revision: moves on every content change (not on heartbeats).', registers: [reg], collect() { this.set(registry.revision); } });
    new Gauge({ name: name('delta_entries'), help: 'Changes currently held for /apps/delta.', registers: [reg], collect() { this.set(registry.deltaSize); } });
    new Gauge({ name: name('delta_bytes'), help: 'Estimated bytes the changes held for /apps/delta take (bounded by deltaMaxBytes).', registers: [reg], collect() { this.set(registry.deltaBytes); } });
    new Counter({ name: name('delta_dropped_early_total'), help: 'Changes that left /apps/delta before deltaRetentionMs to stay within deltaMaxBytes.', registers: [reg], collect() { this.reset(); this.inc(registry.deltaDroppedEarly); } });

    // Registry events.
    const origins = ['client', 'peer'] as const;
    // Counted in fields, as renewals are (a labelled inc hashes its labels: about 1 µs of every registration).
    const registered = { client: { new: 0, re: 0 }, peer: { new: 0, re: 0 } };
    new Counter({
      name: name('registrations_total'),
      help: 'Registrations (new and re-registrations), by origin: a client or a peer replicating.',
      labelNames: ['origin', 'kind'],
      registers: [reg],
      collect() {
        this.reset();
        for (const origin of origins) {
          this.inc({ origin, kind: 'new' }, registered[origin].new);
          this.inc({ origin, kind: 're-registration' }, registered[origin].re);
        }
      },
    });
    const cancellations = new Counter({ name: name('cancellations_total'), help: 'Cancellations (deregistrations), by origin.', labelNames: ['origin'], registers: [reg] });
    const evictions = new Counter({ name: name('evictions_total'), help: 'Instances evicted because their lease expired.', registers: [reg] });
    const overrides = new Counter({ name: name('status_overrides_total'), help: 'Status overrides set or removed, by origin.', labelNames: ['origin', 'action'], registers: [reg] });
    for (const origin of origins) {
      cancellations.inc({ origin }, 0);
      overrides.inc({ origin, action: 'set' }, 0);
      overrides.inc({ origin, action: 'removed' }, 0);
    }
    evictions.inc(0);
    const renewals = this.renewals;
    new Counter({
      name: name('renewals_total'),
      help: 'Heartbeats accepted, by origin.',
      labelNames: ['origin'],
      registers: [reg],
      collect() {
        this.reset();
        this.inc({ origin: 'client' }, renewals.client);
        this.inc({ origin: 'peer' }, renewals.peer);
      },
    });
    const onEvent = (e: RegistryEvent): void => {
      switch (e.type) {
        case 'renewed':
          // The heartbeat path: a field increment, nothing else.
          if (e.isReplication) renewals.peer++;
          else renewals.client++;
          return;
        case 'registered': {
          const counts = e.isReplication ? registered.peer : registered.client;
          if (e.isNew) counts.new++;
          else counts.re++;
          return;
        }
        case 'cancelled':
          cancellations.inc({ origin: e.isReplication ? 'peer' : 'client' });
          return;
        case 'evicted':
          evictions.inc();
          return;
        case 'status-updated':
          overrides.inc({ origin: e.isReplication ? 'peer' : 'client', action: 'set' });
          return;
        case 'status-override-deleted':
          overrides.inc({ origin: e.isReplication ? 'peer' : 'client', action: 'removed' });
          return;
        case 'metadata-updated':
        // Counted by the health checks' own series below.
        case 'health-changed':
          return;
        default:
          unreachable(e);
      }
    };
    this.unsubscribe = registry.subscribe(onEvent);

    // Self-preservation.
    if (sources.selfPreservation) {
      const state = sources.selfPreservation;
      new Gauge({ name: name('renewals_last_minute'), help: 'Renewals (heartbeats and registrations) counted in the last renewal window, scaled to a minute.', registers: [reg], collect() { this.set(state(now()).renewalsLastMin); } });
      new Gauge({ name: name('expected_renewals_per_minute'), help: 'Renewals per minute the registered instances promise (sum of 60 / renewal interval).', registers: [reg], collect() { this.set(state(now()).expectedRenewalsPerMin); } });
      new Gauge({ name: name('renewal_threshold'), help: 'Self-preservation threshold: floor(expected renewals per minute x renewalPercentThreshold).', registers: [reg], collect() { this.set(state(now()).threshold); } });
      new Gauge({ name: name('self_preservation_active'), help: '1 while self-preservation suspends lease expiry.', registers: [reg], collect() { this.set(state(now()).active ? 1 : 0); } });
      new Gauge({ name: name('self_preservation_enabled'), help: '1 when self-preservation is switched on (selfPreservationEnabled).', registers: [reg], collect() { this.set(state(now()).enabled ? 1 : 0); } });
    }
    if (sources.expiryGate) {
      const gate = sources.expiryGate;
      new Gauge({ name: name('lease_expiration_enabled'), help: '1 when expired leases are evicted, 0 while expiry is suspended.', registers: [reg], collect() { this.set(gate.isLeaseExpirationEnabled(now()) ? 1 : 0); } });
      new Gauge({ name: name('held_instances'), help: 'Instances whose lease has expired but which stay registered because expiry is suspended (self-preservation); 0 while leases expire.', registers: [reg], collect() { this.set(heldPastExpiry(sources, now()).instances); } });
    }
    if (sources.isReady) {
      const isReady = sources.isReady;
      new Gauge({ name: name('ready'), help: '1 once startup sync is over (GET /health/ready answers 200).', registers: [reg], collect() { this.set(isReady() ? 1 : 0); } });
    }
    if (sources.allowsRegistryReads) {
      const allows = sources.allowsRegistryReads;
      // Was zone_registry_registry_reads_allowed.
      new Gauge({ name: name('reads_allowed'), help: '0 while a failed startup sync makes registry reads answer 403.', registers: [reg], collect() { this.set(allows(now()) ? 1 : 0); } });
    }

    // Replication, per peer (label peer = the peer's base URL).
    const perPeer = (metric: string, help: string, value: (p: PeerStatus) => number, kind: 'counter' | 'gauge'): void => {
      const config = {
        name: name(metric),
        help,
        labelNames: ['peer'],
        registers: [reg],
      };
      if (kind === 'counter') {
        new Counter({ ...config, collect() { this.reset(); for (const p of peers()) this.inc({ peer: p.url }, value(p)); } });
      } else {
        new Gauge({ ...config, collect() { this.reset(); for (const p of peers()) this.set({ peer: p.url }, value(p)); } });
      }
    };
    perPeer('replication_batches_total', 'Replication batches a peer accepted.', (p) => p.stats.batchesSent, 'counter');
    // Registry comparison (anti-entropy).
    perPeer('antientropy_comparisons_total', 'Registry comparisons completed with a peer.', (p) => p.comparison?.comparisons ?? 0, 'counter');
    perPeer('antientropy_failures_total', 'Registry comparisons with a peer that failed.', (p) => p.comparison?.failures ?? 0, 'counter');
    perPeer('antientropy_apps_differing', 'Applications that differed from a peer at the last comparison.', (p) => p.comparison?.appsDiffering ?? 0, 'gauge');
    perPeer('antientropy_instances_repaired_total', 'Copies and removals sent to a peer by comparisons and applied there.', (p) => p.comparison?.instancesRepaired ?? 0, 'counter');
    perPeer('antientropy_in_sync', 'Whether the last comparison found a peer in sync (1) or not (0).', (p) => (p.comparison?.state === 'in-sync' ? 1 : 0), 'gauge');
    perPeer('antientropy_last_comparison_timestamp_seconds', 'When the registry was last compared with a peer (Unix time; 0: never).', (p) => (p.comparison?.lastComparisonAt ?? 0) / 1000, 'gauge');
    perPeer('replication_batch_failures_total', 'Replication batches that failed (network error, timeout, 503, refused).', (p) => p.stats.batchFailures, 'counter');
    perPeer('replication_tasks_sent_total', 'Changes and heartbeats delivered to a peer.', (p) => p.stats.tasksSent, 'counter');
    perPeer('replication_changes_lost_total', 'Registers, cancels and status changes that could not be delivered to a peer (expired or queue full).', (p) => p.stats.changesLost, 'counter');
    perPeer('replication_heartbeats_dropped_total', 'Heartbeats dropped for a peer (expired or queue full): harmless, the next one follows.', (p) => p.stats.heartbeatsDropped, 'counter');
    perPeer('replication_queue_depth', 'Tasks waiting to be sent to a peer.', (p) => p.queueDepth, 'gauge');
    // A failing peer has no lag to report: its last good value would say it is fine.
    new Gauge({
      name: name('replication_lag_seconds'),
      help: 'Queue time of the oldest task of the last batch a peer accepted; absent while the peer is failing (see peer_up and peer_healthy).',
      labelNames: ['peer'],
      registers: [reg],
      collect() {
        this.reset();
        const at = now();
        for (const p of peers()) if (peerHealth(p, at).health !== 'failing') this.set({ peer: p.url }, p.stats.lastLagMs / 1000);
      },
    });
    perPeer('replication_consecutive_failures', 'Failed batches since the last success (0: healthy).', (p) => p.stats.consecutiveFailures, 'gauge');
    perPeer('replication_last_success_timestamp_seconds', 'When a peer last accepted a batch (Unix time; 0: never).', (p) => p.stats.lastSuccessAt / 1000, 'gauge');
    reg.registerMetric(
      countedHistogram(name('replication_request_duration_seconds'), 'Time from sending a replication batch to a peer to its answer (or the error or timeout), per request.', REPLICATION_DURATION_BUCKETS, ['peer'], function* () {
        for (const p of peers()) if (p.requestDurations) yield { labels: { peer: p.url }, durations: p.requestDurations };
      }) as unknown as Metric,
    );

    // Each peer's liveness as this server's probes see it, and the verdict operators are shown.
    new Gauge({
      name: name('peer_up'),
      help: "1 when a peer answered its last probe (GET /health/ready beside its Eureka URL), 0 when it did not; absent until probed. Labelled with the peer's zone in the zones file.",
      labelNames: ['peer', 'zone'],
      registers: [reg],
      collect() {
        this.reset();
        for (const p of peers()) if (p.probe && p.probe.state !== 'pending') this.set({ peer: p.url, zone: p.zone ?? '' }, p.probe.state === 'unreachable' ? 0 : 1);
      },
    });
    new Gauge({
      name: name('peer_ready'),
      help: '1 when a peer answered its last probe 2xx (ready), 0 when 503 (its startup sync is not over) or no answer; absent while unknown (a Java Eureka peer).',
      labelNames: ['peer'],
      registers: [reg],
      collect() {
        this.reset();
        for (const p of peers()) {
          const state = p.probe?.state;
          if (state === 'ready' || state === 'not-ready' || state === 'unreachable') this.set({ peer: p.url }, state === 'ready' ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: name('peer_probe_rtt_seconds'),
      help: 'Round-trip time of the last probe a peer answered.',
      labelNames: ['peer'],
      registers: [reg],
      collect() {
        this.reset();
        for (const p of peers()) if (p.probe && p.probe.rttMs >= 0) this.set({ peer: p.url }, p.probe.rttMs / 1000);
      },
    });
    perPeer('peer_last_seen_timestamp_seconds', 'When a peer last answered a probe (Unix time; 0: never).', (p) => (p.probe?.lastSeenAt ?? 0) / 1000, 'gauge');
    perPeer('peer_probe_failures_total', 'Probes of a peer that got no answer (or a proxy\'s 502/504).', (p) => p.probe?.failures ?? 0, 'counter');
    new Gauge({
      name: name('peer_healthy'),
      help: "1 when a peer's verdict (the dashboard's and the admin CLI's) is healthy, 0 when failing, not ready or idle.",
      labelNames: ['peer'],
      registers: [reg],
      collect() {
        this.reset();
        const at = now();
        for (const p of peers()) this.set({ peer: p.url }, peerHealth(p, at).health === 'healthy' ? 1 : 0);
      },
    });

    // Response cache.
    if (sources.cache) {
      const stats = sources.cache.stats;
      new Counter({ name: name('response_cache_hits_total'), help: 'Registry reads served from a cached payload.', registers: [reg], collect() { this.reset(); this.inc(stats.hits); } });
      new Counter({ name: name('response_cache_rebuilds_total'), help: 'Registry payloads encoded again after a change.', registers: [reg], collect() { this.reset(); this.inc(stats.rebuilds); } });
      new Gauge({ name: name('response_cache_bytes'), help: 'Body bytes the response cache holds (plain + gzip; full registry and delta included).', registers: [reg], collect() { this.set(stats.bytes); } });
      new Counter({ name: name('response_cache_evictions_total'), help: 'Per-app and per-VIP payloads dropped to stay within responseCacheMaxBytes or the entry bound.', registers: [reg], collect() { this.reset(); this.inc(stats.evictions); } });
    }

    // Watch.
    if (sources.watchStatus) {
      const watch = sources.watchStatus;
      new Gauge({ name: name('watchers'), help: 'Watches held open: long-polls parked on the delta and event streams.', labelNames: ['kind'], registers: [reg], collect() { const w = watch(); this.set({ kind: 'long-poll' }, w.parked); this.set({ kind: 'stream' }, w.streams); } });
      new Counter({ name: name('watch_answers_total'), help: 'Parked long-polls answered, by why: a change, the wait running out, or shutdown.', labelNames: ['reason'], registers: [reg], collect() { this.reset(); const a = watch().answered; for (const reason of ['change', 'timeout', 'shutdown'] as const) this.inc({ reason }, a[reason]); } });
      new Counter({ name: name('watch_refused_total'), help: 'Watches answered 429 because watchMaxWatchers were held.', registers: [reg], collect() { this.reset(); this.inc(watch().refused); } });
    }

    // Active health checks: read once per scrape (their stats walk the instances this server probes).
    if (sources.healthChecks?.stats().enabled) {
      const port = sources.healthChecks;
      let snapshot: HealthCheckStats | undefined;
      this.resetScrape = () => {
        snapshot = undefined;
      };
      const hc = (): HealthCheckStats => (snapshot ??= port.stats());
      new Counter({ name: name('health_probes_total'), help: 'Health probes, by result: healthy (2xx, or a TCP connect), unhealthy (another status), timeout, error (connection failed).', labelNames: ['result'], registers: [reg], collect() { this.reset(); const p = hc().probes; for (const result of PROBE_OUTCOMES) this.inc({ result }, p[result]); } });
      new Counter({ name: name('health_probe_failures_total'), help: 'Health probes that did not pass (unhealthy, timeout or error).', registers: [reg], collect() { this.reset(); const p = hc().probes; this.inc(p.unhealthy + p.timeout + p.error); } });
      const probeHelp = 'Time from the start of a health probe to its result (the status line, the TCP connect, the timeout or the error).';
      reg.registerMetric(countedHistogram(name('health_probe_duration_seconds'), probeHelp, PROBE_DURATION_BUCKETS, [], () => [{ labels: {}, durations: hc().durations }]) as unknown as Metric);
      new Counter({ name: name('health_marked_down_total'), help: 'Instances this server marked DOWN because their health checks failed.', registers: [reg], collect() { this.reset(); this.inc(hc().markedDownTotal); } });
      new Counter({ name: name('health_marked_up_total'), help: 'Instances given back their own status because their health checks passed again (or are no longer run here).', registers: [reg], collect() { this.reset(); this.inc(hc().markedUpTotal); } });
      new Counter({ name: name('health_withheld_total'), help: 'Marks DOWN held back because the safety valve was engaged.', registers: [reg], collect() { this.reset(); this.inc(hc().withheldTotal); } });
      new Counter({ name: name('health_refused_total'), help: 'Health URLs refused (not the instance\'s own host, not http(s), credentials, bad port, malformed) or bad healthcheck.mode values.', registers: [reg], collect() { this.reset(); this.inc(hc().refusedTotal); } });
      new Gauge({ name: name('health_instances'), help: 'Instances whose client talks to this server, by what their health check is: probed, off, or refused.', labelNames: ['state'], registers: [reg], collect() { const i = hc().instances; this.set({ state: 'probed' }, i.probed); this.set({ state: 'off' }, i.off); this.set({ state: 'refused' }, i.refused); } });
      new Gauge({ name: name('health_marked_down_instances'), help: 'Instances this server probes that a health verdict holds DOWN now.', registers: [reg], collect() { this.set(hc().markedDown); } });
      new Gauge({ name: name('health_probes_in_flight'), help: 'Health probes waiting for an answer (at most healthCheckConcurrency).', registers: [reg], collect() { this.set(hc().inFlight); } });
      new Gauge({ name: name('health_valve_engaged'), help: '1 while the safety valve holds marks DOWN back (most probes of the last interval failed).', registers: [reg], collect() { this.set(hc().valve.engaged ? 1 : 0); } });
      new Gauge({ name: name('health_valve_failing_fraction'), help: 'Fraction of the probes of the last interval that failed.', registers: [reg], collect() { this.set(hc().valve.failingFraction); } });
      new Counter({ name: name('health_valve_engagements_total'), help: 'Times the safety valve engaged.', registers: [reg], collect() { this.reset(); this.inc(hc().valve.engagements); } });
    }

    // The DNS interface, when it is on.
    if (sources.dns?.().enabled) {
      const dns = sources.dns;
      new Counter({ name: name('dns_queries_total'), help: 'DNS queries answered, by transport (udp, tcp), record type asked (A, AAAA, SRV, ANY, SOA, other) and response code.', labelNames: ['transport', 'type', 'rcode'], registers: [reg], collect() { this.reset(); for (const q of dns().queries) this.inc({ transport: q.transport, type: q.type, rcode: q.rcode }, q.count); } });
      new Counter({ name: name('dns_truncated_total'), help: 'UDP answers sent truncated (TC) because their records did not fit in 512 bytes or the client\'s EDNS0 size; the client asks again over TCP.', registers: [reg], collect() { this.reset(); this.inc(dns().truncated); } });
      new Counter({ name: name('dns_malformed_total'), help: 'DNS messages not answered: shorter than a header, responses, or oversized.', registers: [reg], collect() { this.reset(); this.inc(dns().malformed); } });
      new Counter({ name: name('dns_rate_limited_total'), help: 'UDP queries past dnsRateLimitPerSourcePerSec, by what was done: dropped, or answered empty and truncated.', labelNames: ['action'], registers: [reg], collect() { this.reset(); const r = dns().rateLimited; this.inc({ action: 'dropped' }, r.dropped); this.inc({ action: 'truncated' }, r.truncated); } });
      new Gauge({ name: name('dns_tcp_connections'), help: 'DNS TCP connections open.', registers: [reg], collect() { this.set(dns().tcp.open); } });
      new Counter({ name: name('dns_tcp_refused_total'), help: 'DNS TCP connections closed on arrival because dnsTcpMaxConnections were open.', registers: [reg], collect() { this.reset(); this.inc(dns().tcp.refused); } });
    }

    reg.registerMetric(this.http as unknown as Metric);
  }

  /** Content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text of this server's metrics (and the process's). */
  async text(): Promise<string> {
    this.resetScrape();
    const registry = this.withProcessMetrics ? PromRegistry.merge([this.registry, processMetrics()]) : this.registry;
    return registry.metrics();
  }

  /** Stops listening to the registry. */
  close(): void {
    this.unsubscribe();
  }
}
