// Composition root: compose() builds the whole object graph from a Config (registry, self-preservation, evictor,
// response cache, watch, the peer set (replication, probes, anti-entropy, peer addresses, DNS discovery: see
// replication/peer-set.ts), startup sync, health checks, security, metrics, the HTTP app, the DNS interface);
// listen() starts it (syncs from peers, schedules the timers); close() closes whatever was built.
import { randomBytes } from 'node:crypto';
import { createServer, RequestListener, Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import { Config } from './config/config';
import { HostLookup } from './config/peer-addresses';
import { PeerResolver } from './config/peer-dns';
import { ConfigError } from './config/settings';
import { Clock, systemClock } from './domain/clock';
import { Evictor, ExpiryGate } from './domain/eviction';
import { Registry } from './domain/registry';
import { parseDomain } from './dns/names';
import { DnsResponder } from './dns/responder';
import { DnsServer, dnsOffStatus } from './dns/server';
import { SelfPreservation } from './domain/self-preservation';
import { HealthChecks } from './health/health-checks';
import { HttpProber } from './health/http';
import { TcpProber } from './health/tcp';
import { AppDeps, createApp } from './http/app';
import { capConnectionsPerAddress, listenerOptions } from './http/connections';
import { canSharePort, listenAll } from './http/listeners';
import { ResponseCache } from './http/payloads/response-cache';
import { createLogger, Logger } from './observability/logger';
import { ServerMetrics } from './observability/metrics';
import { RecentChanges } from './observability/recent-changes';
import { registryEventLogger } from './observability/registry-log';
import { ServerStatusPort } from './observability/server-status';
import { PeerClient } from './replication/peer-client';
import { PeerNodes } from './replication/peer-nodes';
import { composePeers, peerZones } from './replication/peer-set';
import { SyncAttempt, syncFromPeers, syncOnce, SyncState } from './replication/startup-sync';
import { CronScheduler, Scheduler } from './scheduling/scheduler';
import { memoryReturnTask } from './scheduling/memory-return';
import { deltaPruneTask, evictionTask, LEASE_SLICE, nextTurn, renewalIntervals, renewalThresholdTask, selfPreservationListener } from './scheduling/tasks';
import { holdTickShape } from './scheduling/tick-shape';
import { parseAddressList } from './codecs/address-set';
import { securityFromSettings } from './security/config';
import { EventStreams } from './watch/event-stream';
import { WatchHub } from './watch/watch-hub';

/** Package version, for /eureka/status. */
export const VERSION: string = require('../package.json').version;

/** A started zone server. */
export interface RunningServer {
  readonly registry: Registry;
  readonly selfPreservation: SelfPreservation;
  readonly peers: PeerNodes;
  readonly server: Server;
  readonly port: number;
  /** Base URL of the Eureka API, e.g. http://127.0.0.1:8761/eureka/ (https:// with tlsCertFile/tlsKeyFile) */
  readonly eurekaUrl: string;
  /** UDP and TCP port of the DNS interface; undefined when dnsEnabled is false. */
  readonly dnsPort?: number;
  /** Resolves when startup sync is over and the server reports ready. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** Overrides for tests and embedding. */
export interface StartOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly scheduler?: Scheduler;
  readonly random?: () => number;
  /** Builds the transport to a peer (tests inject faults); gets the URL as the zones file lists it, credentials included. */
  readonly peerClient?: (url: string) => PeerClient;
  /** Resolves peer host names to addresses (tests fake DNS); default: dns.promises.lookup. */
  readonly lookup?: HostLookup;
  /** Resolves peerDnsName (tests point a Resolver at their own DNS server); default: the system's DNS servers. */
  readonly peerResolver?: PeerResolver;
  /** Whether expired leases are hidden and evicted (tests that drive expiry by hand); default: self-preservation's rule. */
  readonly expiryGate?: ExpiryGate;
  /** This server's identity in the X-Registry-Server header; default: random per start. */
  readonly serverId?: string;
}

/** A server built but not listening: its components, the request listener, and how to start and stop it. */
export interface ComposedServer {
  readonly registry: Registry;
  readonly selfPreservation: SelfPreservation;
  readonly peers: PeerNodes;
  readonly cache: ResponseCache;
  readonly metrics: ServerMetrics;
  /** The read model /eureka/status, the dashboard and the metrics share. */
  readonly status: ServerStatusPort;
  /** What the HTTP layer was built from. */
  readonly deps: AppDeps;
  /** The request listener (what supertest needs). */
  readonly app: RequestListener;
  /** Resolves peer addresses, listens, starts the startup sync and the schedules; once. */
  listen(): Promise<RunningServer>;
  /** Stops the schedules and replication, closes the listener if any, and detaches every registry listener. */
  close(): Promise<void>;
}

/**
 * Builds a zone server from a validated configuration without listening; throws ConfigError on a bad file or setting.
 * The topology, when given, names each peer's zone.
 */
export function compose(config: Pick<Config, 'settings' | 'peerSet'> & Partial<Pick<Config, 'topology'>>, options: StartOptions = {}): ComposedServer {
  const s = config.settings;
  // Files first (credentials, key pair, CA): a bad one stops the start before anything listens.
  const security = securityFromSettings(s);
  const allowed = parseAddressList(s.peerAllowedAddresses);
  if ('error' in allowed) throw new ConfigError(`Invalid setting peerAllowedAddresses: ${allowed.error}`);
  const dnsDomain = parseDomain(s.dnsDomain);
  if ('error' in dnsDomain) throw new ConfigError(`Invalid setting dnsDomain: ${dnsDomain.error}`);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: s.logLevel, format: s.logFormat });
  const scheduler = options.scheduler ?? new CronScheduler(logger);
  const random = options.random ?? Math.random;
  for (const w of security.warnings) logger.warn(w.message, { user: w.user, file: s.authFile });
  const limits = {
    maxBodyBytes: s.maxBodyBytes,
    maxReplicationBodyBytes: s.maxReplicationBodyBytes,
    replicationBatchSize: s.replicationBatchSize,
    maxNameLength: s.maxNameLength,
    maxMetadataEntries: s.maxMetadataEntries,
    maxVipAddresses: s.maxVipAddresses,
    defaultRenewalIntervalSecs: s.leaseRenewalIntervalSecs,
    defaultDurationSecs: s.leaseDurationSecs,
  };

  const registry = new Registry({
    clock,
    defaultLeaseDurationMs: s.leaseDurationSecs * 1000,
    deltaRetentionMs: s.deltaRetentionMs,
    maxInstancesPerApp: s.maxInstancesPerApp,
    maxInstances: s.maxInstances,
    deltaMaxBytes: s.deltaMaxBytes,
    tombstoneLifetimeMs: s.tombstoneLifetimeMs,
  });
  const detach = [registry.subscribe(registryEventLogger(logger))];
  const selfPreservation = new SelfPreservation(
    clock,
    {
      enabled: s.selfPreservationEnabled,
      renewalPercentThreshold: s.renewalPercentThreshold,
      minInstances: s.selfPreservationMinInstances,
      windowMs: s.renewalWindowMs,
      minRenewalIntervalSecs: s.minRenewalIntervalSecs,
      maxRenewalIntervalSecs: s.maxRenewalIntervalSecs,
    },
    clock.now(),
  );
  detach.push(registry.subscribe(selfPreservationListener(selfPreservation)));
  const expiryGate: ExpiryGate = options.expiryGate ?? selfPreservation;
  const evictor = new Evictor(registry, expiryGate, { intervalMs: s.evictionIntervalMs, maxFraction: s.evictionMaxFraction, random });
  // Changes with every start: a client holding revisions of an earlier process (or another server) sees it differ.
  const serverId = options.serverId ?? randomBytes(9).toString('base64url');
  const cache = new ResponseCache(registry, clock, { maxStalenessMs: s.responseCacheMaxStalenessMs, maxNamedBytes: s.responseCacheMaxBytes, serverId, segments: { burstStalenessMs: s.responseCacheBurstStalenessMs } });
  detach.push(() => cache.close());
  // Node's tick objects keep the shape V8 recorded for them while the server runs (see tick-shape.ts).
  const tickShape = holdTickShape();
  detach.push(() => tickShape.stop());
  const watches = new WatchHub(registry, scheduler, { maxWaitMs: s.watchMaxWaitMs, maxWatchers: s.watchMaxWatchers, random });
  const streams = new EventStreams(registry, clock, scheduler, { keepAliveMs: s.watchKeepAliveMs, serverId });
  watches.shareCapWith(() => streams.size);
  // The config file's peers, plus those peerDnsName lists as they come and go, and all that follows them.
  const peerSet = composePeers(s, config.peerSet.peers, peerZones(config.topology?.zones), {
    registry,
    clock,
    scheduler,
    logger,
    random,
    limits,
    transport: security.peers,
    allowedAddresses: allowed.entries,
    peerClient: options.peerClient,
    peerResolver: options.peerResolver,
    lookup: options.lookup,
  });
  const { nodes: peers, antiEntropy, discovery, addresses: peerAddresses } = peerSet;
  // Probes the instances whose client talks to this server; off: only clears verdicts such instances carry.
  const healthChecks = new HealthChecks(registry, clock, scheduler, logger, { http: new HttpProber(), tcp: new TcpProber() }, {
    enabled: s.healthChecksEnabled,
    intervalMs: s.healthCheckIntervalMs,
    timeoutMs: s.healthCheckTimeoutMs,
    failuresBeforeDown: s.healthCheckFailuresBeforeDown,
    successesBeforeUp: s.healthCheckSuccessesBeforeUp,
    concurrency: s.healthCheckConcurrency,
    valveFraction: s.healthCheckValveFraction,
    valveMinInstances: s.healthCheckValveMinInstances,
  });
  const syncState = new SyncState(clock);
  // Nothing to sync from: ready from the start, as the sync itself would decide (with peerDnsName it decides in listen()).
  if (peerSet.alone) syncState.markSynced();
  const { domain } = dnsDomain;
  const dns = s.dnsEnabled
    ? new DnsServer(
        new DnsResponder(registry, { domain, ttlSecs: s.dnsTtlSecs, maxUdpBytes: s.dnsMaxUdpBytes, allowsReads: (now) => syncState.allowsRegistryReads(now) }),
        { host: s.dnsHost || s.host, port: s.dnsPort, domain, ttlSecs: s.dnsTtlSecs, rateLimitPerSourcePerSec: s.dnsRateLimitPerSourcePerSec, tcpMaxConnections: s.dnsTcpMaxConnections, tcpIdleTimeoutMs: s.dnsTcpIdleTimeoutMs },
        clock,
        logger,
      )
    : undefined;

  // The operators' read model, implemented once here over the live components.
  const status = {
    registry,
    clock,
    // Peer URLs may carry user:password@; nothing shown (status, dashboard, logs) does.
    serverInfo: {
      id: serverId,
      version: VERSION,
      region: s.region,
      zone: s.zone,
      startedAt: clock.now(),
      get peers() {
        return peerSet.urls();
      },
    },
    expiryGate,
    cache,
    // With an injected expiry rule self-preservation decides nothing, so its numbers are not reported.
    selfPreservation: options.expiryGate === undefined ? (now: number) => selfPreservation.state(now) : undefined,
    peers: () => peerSet.status(),
    isReady: () => syncState.isReady(),
    allowsRegistryReads: (now: number) => syncState.allowsRegistryReads(now),
    watchStatus: () => ({ parked: watches.size, streams: streams.size, maxWatchers: s.watchMaxWatchers, answered: { ...watches.stats.answered }, refused: watches.stats.refused }),
    healthChecks,
    dns: () => dns?.status() ?? dnsOffStatus(domain, s.dnsTtlSecs),
  } satisfies ServerStatusPort;
  const metrics = new ServerMetrics(status);
  const recentChanges = new RecentChanges(registry, () => clock.now());
  const deps: AppDeps = {
    ...status,
    logger,
    syncInProgress: () => syncState.inProgress,
    watch: { hub: watches, streams, maxWaitMs: s.watchMaxWaitMs },
    comparison: antiEntropy,
    limits,
    settings: s,
    metrics,
    recentChanges,
    security: { ...security.http, peerAddresses, peerAddressCheck: s.peerAddressCheck, ...(discovery && { resolvePeersSoon: () => discovery.refreshSoon(clock.now()) }) },
    bodyDrain: { maxBytes: s.bodyDrainMaxBytes, timeoutMs: s.bodyDrainTimeoutMs },
  };
  const app = createApp(deps);

  // Every server listening on the port; the first one's address is the server's. Empty until listen().
  let servers: readonly Server[] = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    // Parked watches are answered and streams ended first, so their clients move on before the listener closes.
    watches.close();
    streams.close();
    await nextTurn();
    scheduler.stop();
    peerSet.close();
    healthChecks.close();
    metrics.close();
    recentChanges.close();
    for (const off of detach) off();
    await dns?.close();
    if (servers.length === 0) return;
    // Read before closing: a closed server has no address.
    const port = (servers[0].address() as AddressInfo | null)?.port;
    await Promise.all(
      servers.map(
        (listening) =>
          new Promise<void>((resolve) => {
            listening.close(() => resolve());
            listening.closeAllConnections();
          }),
      ),
    );
    logger.info('zone server stopped', { port });
  };

  const listen = async (): Promise<RunningServer> => {
    if (servers.length > 0 || closed) throw new Error('listen() called twice or after close()');
    // Resolved before listening: a peer's first batch must not be taken for a stranger's.
    await peerAddresses.refresh();
    // The same request listener over TLS when a key pair is configured.
    const listener = listenerOptions(s);
    const make = (): Server =>
      security.tls
        ? createHttpsServer({ ...listener, handshakeTimeout: listener.headersTimeout, cert: security.tls.cert, key: security.tls.key }, app)
        : createServer(listener, app);
    // Several listening sockets on the one port where the system allows it: each accepts a connection per turn.
    const shareable = canSharePort();
    const made = Array.from({ length: shareable ? s.acceptors : 1 }, make);
    capConnectionsPerAddress(made, s.maxConnectionsPerAddress, logger, () => clock.now());
    // Held before it listens, so that close() after a failed listen still closes it.
    servers = [made[0]];
    const listening = await listenAll(made, { port: s.port, host: s.host, backlog: s.listenBacklog }, shareable, (error) =>
      logger.warn('a further listening socket was refused; accepting with fewer', { error: error.message }),
    );
    servers = listening.servers;
    const port = listening.port;
    peerSet.setOwnPort(port);
    // The peers DNS lists now, before startup sync reads from them (the port is known only now: port 0 picks one).
    await discovery?.refresh();
    const dnsPort = await dns?.listen();
    const host = s.host === '0.0.0.0' || s.host === '::' ? '127.0.0.1' : s.host;
    const scheme = security.tls ? 'https' : 'http';
    // Where to point clients and a browser, first on the line.
    const base = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
    logger.info('zone server listening', { eureka: `${base}/eureka/`, dashboard: `${base}/`, metrics: `${base}/metrics`, port, host: s.host, scheme, auth: s.authEnabled, region: s.region, zone: s.zone, peers: peerSet.urls().length, ...(discovery && { peerDnsName: s.peerDnsName }), dns: dnsPort === undefined ? 'off' : `${s.dnsHost || s.host}:${dnsPort} ${domain}`, version: VERSION });

    // Peers found through DNS may come later: the prober reads the peer set at each round.
    if (!peerSet.alone) peerSet.prober.start();
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => scheduler.after(ms, resolve));
    // Each attempt asks the peers known at that moment; while the peer DNS name has never answered, it asks DNS first.
    const attempt = async (): Promise<SyncAttempt> => {
      if (discovery !== undefined && !discovery.hasAnswered) await discovery.refresh();
      return syncOnce(peerSet.clients(), registry, clock, limits, logger);
    };
    const ready = syncFromPeers(peerSet.clients(), attempt, syncState, {
      attempts: s.syncAttempts,
      retryWaitMs: s.syncRetryWaitMs,
      failureMode: s.syncFailureMode as 'refuse' | 'serve',
      emptyWaitMs: s.syncEmptyWaitMs,
      expectPeers: discovery !== undefined && !discovery.hasAnswered,
    }, sleep, logger).then(() => {
      if (closed) return;
      // Expiry starts being judged from here: instances copied from peers get a full renewal window.
      selfPreservation.openForTraffic(clock.now(), renewalIntervals(registry));
      scheduler.every('evict', s.evictionIntervalMs, evictionTask(evictor, selfPreservation, clock, logger, { size: LEASE_SLICE, pause: nextTurn }));
      scheduler.every('renewal-threshold', s.renewalThresholdUpdateIntervalMs, renewalThresholdTask(selfPreservation, registry));
      // The digest was left alone while the sync installed the peers' registry: built now, a slice per turn.
      void antiEntropy?.catchUp();
      antiEntropy?.start();
      healthChecks.start();
    });
    // Sync never throws by design; should it, the server keeps serving what it has and says why.
    ready.catch((e: unknown) => logger.error('startup sync failed', { error: e instanceof Error ? e.stack : String(e) }));
    scheduler.every('prune-delta', s.deltaPruneIntervalMs, deltaPruneTask(registry, clock));
    if (s.memoryReturnIntervalMs > 0) scheduler.every('return-memory', s.memoryReturnIntervalMs, memoryReturnTask(s.memoryReturnMinBytes, logger));
    if (peerAddresses.hasHostNames || discovery) scheduler.every('resolve-peer-addresses', s.peerAddressRefreshMs, () => void peerAddresses.refresh());
    if (discovery) scheduler.every('resolve-peer-dns', s.peerDnsRefreshMs, () => void discovery.refresh());

    return { registry, selfPreservation, peers, server: servers[0], port, eurekaUrl: `${base}/eureka/`, dnsPort, ready, close };
  };

  return { registry, selfPreservation, peers, cache, metrics, status, deps, app, listen, close };
}

/** Starts a zone server from a validated configuration: compose, then listen. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const composed = compose(config, options);
  try {
    return await composed.listen();
  } catch (e) {
    await composed.close();
    throw e;
  }
}
