// Composition root: builds the registry, caches, HTTP app and schedulers from a Config, listens, and shuts down.
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Config } from './config/config';
import { Clock, systemClock } from './domain/clock';
import { alwaysExpire, Evictor } from './domain/eviction';
import { Registry } from './domain/registry';
import { createApp } from './http/app';
import { ResponseCache } from './http/response-cache';
import { createLogger, Logger } from './observability/logger';
import { registryEventLogger } from './observability/registry-log';
import { CronScheduler, Scheduler } from './scheduling/scheduler';
import { deltaPruneTask, evictionTask } from './scheduling/tasks';

/** Package version, for /eureka/status. */
export const VERSION: string = require('../package.json').version;

/** A started zone server. */
export interface RunningServer {
  readonly registry: Registry;
  readonly server: Server;
  readonly port: number;
  /** Base URL of the Eureka API, e.g. http://127.0.0.1:8761/eureka/ */
  readonly eurekaUrl: string;
  close(): Promise<void>;
}

/** Overrides for tests and embedding. */
export interface StartOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly scheduler?: Scheduler;
  readonly random?: () => number;
}

/** Starts a zone server from a validated configuration. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const s = config.settings;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: s.logLevel, format: s.logFormat });
  const scheduler = options.scheduler ?? new CronScheduler(logger);

  const registry = new Registry({
    clock,
    defaultLeaseDurationMs: s.leaseDurationSecs * 1000,
    deltaRetentionMs: s.deltaRetentionMs,
    maxInstancesPerApp: s.maxInstancesPerApp,
  });
  registry.subscribe(registryEventLogger(logger));
  const expiryGate = alwaysExpire;
  const evictor = new Evictor(registry, expiryGate, { intervalMs: s.evictionIntervalMs, maxFraction: s.evictionMaxFraction, random: options.random ?? Math.random });
  const cache = new ResponseCache(registry, clock, s.responseCacheMaxStalenessMs);
  const peers = [...config.topology.zones.values()].flat();

  const app = createApp({
    registry,
    cache,
    clock,
    logger,
    expiryGate,
    isReady: () => true,
    limits: {
      maxBodyBytes: s.maxBodyBytes,
      maxNameLength: s.maxNameLength,
      maxMetadataEntries: s.maxMetadataEntries,
      defaultRenewalIntervalSecs: s.leaseRenewalIntervalSecs,
      defaultDurationSecs: s.leaseDurationSecs,
    },
    serverInfo: { version: VERSION, region: s.region, zone: s.zone, startedAt: clock.now(), peers },
  });

  const server = createServer({ keepAliveTimeout: 65_000 }, app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(s.port, s.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  scheduler.every('evict', s.evictionIntervalMs, evictionTask(evictor, clock, logger));
  scheduler.every('prune-delta', s.deltaPruneIntervalMs, deltaPruneTask(registry, clock));
  const host = s.host === '0.0.0.0' || s.host === '::' ? '127.0.0.1' : s.host;
  logger.info('zone server listening', { port, host: s.host, region: s.region, zone: s.zone, version: VERSION });

  return {
    registry,
    server,
    port,
    eurekaUrl: `http://${host}:${port}/eureka/`,
    close: async () => {
      scheduler.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      logger.info('zone server stopped', { port });
    },
  };
}
