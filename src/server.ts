// Composition root: builds the registry, self-preservation, replication, caches, HTTP app and schedulers from a
// Config, listens, syncs from peers, and shuts down.
import { createServer, Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import { Config } from './config/config';
import { HostLookup, PeerAddresses, systemLookup } from './config/peer-addresses';
import { ConfigError } from './config/settings';
import { Clock, systemClock } from './domain/clock';
import { Evictor } from './domain/eviction';
import { Registry } from './domain/registry';
import { SelfPreservation } from './domain/self-preservation';
import { createApp } from './http/app';
import { capConnectionsPerAddress, listenerOptions } from './http/connections';
import { ResponseCache } from './http/response-cache';
import { createLogger, Logger } from './observability/logger';
import { registryEventLogger } from './observability/registry-log';
import { HttpPeerClient, PeerClient } from './replication/peer-client';
import { PeerNodes } from './replication/peer-nodes';
import { syncFromPeers, syncOnce, SyncState } from './replication/startup-sync';
import { CronScheduler, Scheduler } from './scheduling/scheduler';
import { deltaPruneTask, evictionTask, renewalIntervals, renewalThresholdTask, selfPreservationListener } from './scheduling/tasks';
import { parseAddressList } from './security/address-set';
import { securityFromSettings } from './security/config';
import { splitCredentials, stripCredentials } from './codecs/url-credentials';

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
}

/** Starts a zone server from a validated configuration. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const s = config.settings;
  // Files first (credentials, key pair, CA): a bad one stops the start before anything listens.
  const security = securityFromSettings(s);
  const allowed = parseAddressList(s.peerAllowedAddresses);
  if ('error' in allowed) throw new ConfigError(`Invalid setting peerAllowedAddresses: ${allowed.error}`);
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
  });
  registry.subscribe(registryEventLogger(logger));
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
  registry.subscribe(selfPreservationListener(selfPreservation));
  const evictor = new Evictor(registry, selfPreservation, { intervalMs: s.evictionIntervalMs, maxFraction: s.evictionMaxFraction, random });
  const cache = new ResponseCache(registry, clock, s.responseCacheMaxStalenessMs, s.responseCacheMaxBytes);
  const clients = config.peerSet.peers.map((url) => (options.peerClient ?? ((u: string) => new HttpPeerClient(u, s.replicationTimeoutMs, security.peers)))(url));
  // Peer URLs may carry user:password@; nothing shown (status, dashboard, logs) does.
  const peerUrls = config.peerSet.peers.map(stripCredentials);
  if (s.authEnabled && !security.peers.credentials) {
    const bare = config.peerSet.peers.filter((url) => splitCredentials(url).credentials === undefined).map(stripCredentials);
    if (bare.length > 0) logger.warn('authentication is on but these peers get no credentials (set peerUsername/peerPassword or user:password@ in their URLs); if they require them, replication to them fails', { peers: bare.join(', ') });
  }
  const peers = new PeerNodes(
    clients,
    registry,
    clock,
    scheduler,
    logger,
    {
      batchSize: s.replicationBatchSize,
      maxBatchingDelayMs: s.replicationMaxBatchingDelayMs,
      maxPending: s.replicationMaxPending,
      maxBatchBytes: s.maxReplicationBodyBytes,
      taskExpiryMs: s.replicationTaskExpiryMs,
      retryBaseMs: s.replicationRetryBaseMs,
      retryMaxMs: s.replicationRetryMaxMs,
      random,
    },
    limits,
  );
  const syncState = new SyncState(clock);
  const peerAddresses = new PeerAddresses(config.peerSet.peers, allowed.entries, options.lookup ?? systemLookup, logger);
  // Resolved before listening: a peer's first batch must not be taken for a stranger's.
  await peerAddresses.refresh();

  const app = createApp({
    registry,
    cache,
    clock,
    logger,
    expiryGate: selfPreservation,
    isReady: () => syncState.isReady(),
    allowsRegistryReads: (now) => syncState.allowsRegistryReads(now),
    syncInProgress: () => syncState.inProgress,
    selfPreservation: (now) => selfPreservation.state(now),
    peers: () => peers.nodes,
    limits,
    serverInfo: { version: VERSION, region: s.region, zone: s.zone, startedAt: clock.now(), peers: peerUrls },
    settings: s,
    security: { ...security.http, peerAddresses, peerAddressCheck: s.peerAddressCheck },
    bodyDrain: { maxBytes: s.bodyDrainMaxBytes, timeoutMs: s.bodyDrainTimeoutMs },
  });

  // The same request listener over TLS when a key pair is configured.
  const listener = listenerOptions(s);
  const server: Server = security.tls
    ? createHttpsServer({ ...listener, handshakeTimeout: listener.headersTimeout, cert: security.tls.cert, key: security.tls.key }, app)
    : createServer(listener, app);
  capConnectionsPerAddress(server, s.maxConnectionsPerAddress, logger, () => clock.now());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(s.port, s.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = s.host === '0.0.0.0' || s.host === '::' ? '127.0.0.1' : s.host;
  const scheme = security.tls ? 'https' : 'http';
  logger.info('zone server listening', { port, host: s.host, scheme, auth: s.authEnabled, region: s.region, zone: s.zone, peers: config.peerSet.peers.length, version: VERSION });

  let closed = false;
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => scheduler.after(ms, resolve));
  const ready = syncFromPeers(clients, () => syncOnce(clients, registry, clock, limits, logger), syncState, {
    attempts: s.syncAttempts,
    retryWaitMs: s.syncRetryWaitMs,
    failureMode: s.syncFailureMode as 'refuse' | 'serve',
    emptyWaitMs: s.syncEmptyWaitMs,
  }, sleep, logger).then(() => {
    if (closed) return;
    // Expiry starts being judged from here: instances copied from peers get a full renewal window.
    selfPreservation.openForTraffic(clock.now(), renewalIntervals(registry));
    scheduler.every('evict', s.evictionIntervalMs, evictionTask(evictor, selfPreservation, clock, logger));
    scheduler.every('renewal-threshold', s.renewalThresholdUpdateIntervalMs, renewalThresholdTask(selfPreservation, registry));
  });
  // Sync never throws by design; should it, the server keeps serving what it has and says why.
  ready.catch((e: unknown) => logger.error('startup sync failed', { error: e instanceof Error ? e.stack : String(e) }));
  scheduler.every('prune-delta', s.deltaPruneIntervalMs, deltaPruneTask(registry, clock));
  if (peerAddresses.hasHostNames) scheduler.every('resolve-peer-addresses', s.peerAddressRefreshMs, () => void peerAddresses.refresh());

  return {
    registry,
    selfPreservation,
    peers,
    server,
    port,
    eurekaUrl: `${scheme}://${host}:${port}/eureka/`,
    ready,
    close: async () => {
      closed = true;
      scheduler.stop();
      peers.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      logger.info('zone server stopped', { port });
    },
  };
}
