// The sidecar: registers an application that cannot register itself (any language, any framework) and keeps its
// registration in step with its health endpoint: UP while it answers 2xx, DOWN when it does not (re-registered
// with status DOWN, as a Java client's health check handler would), UP again when it recovers. Heartbeats go on in
// either state: the sidecar is alive, the registration stays and says whether the app can take traffic.
import { hostname, networkInterfaces } from 'node:os';
import { InstanceStatus } from '../domain/model';
import { createHttpClient } from '../transport/http-client';
import { EurekaClient, EurekaClientOptions } from './eureka-client';
import { ClientLogger, consoleClientLogger } from './logger';
import { Scheduler, TimerScheduler } from './scheduler';
import { ServersOption } from './servers';

/** Options of {@link startSidecar}. */
export interface SidecarOptions {
  /** Application name to register. */
  readonly app: string;
  /** Port the application serves on. */
  readonly port: number;
  /** The application's health URL; 2xx means healthy. */
  readonly healthUrl: string;
  /** Eureka servers: URLs, or a zones file (object or path) with `zone`. */
  readonly servers: ServersOption;
  /** Own zone (with a zones file: its servers first). */
  readonly zone?: string;
  /** Host name to register (default: this machine's). */
  readonly hostName?: string;
  /** IP address to register (default: the first non-internal IPv4 address, else 127.0.0.1). */
  readonly ipAddr?: string;
  /** VIP address (default: the app name in lower case). */
  readonly vipAddress?: string;
  /** Secure VIP address. */
  readonly secureVipAddress?: string;
  /** Instance id (default `${hostName}:${app}:${port}`). */
  readonly instanceId?: string;
  /** Metadata to register (e.g. `weight`, `version`). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Status page URL (default: the health URL). */
  readonly statusPageUrl?: string;
  /** Home page URL (default `http://<ipAddr>:<port>/`). */
  readonly homePageUrl?: string;
  /** Heartbeat interval promised to the server, s (default 30). */
  readonly leaseRenewalIntervalSecs?: number;
  /** Lease duration, s (default 90). */
  readonly leaseDurationSecs?: number;
  /** How often the health URL is checked, ms (default 5 000). */
  readonly healthIntervalMs?: number;
  /** Timeout of one health check, ms (default: the smaller of 3 000 and the interval). */
  readonly healthTimeoutMs?: number;
  /** Consecutive failed checks before the app is marked DOWN (default 1). */
  readonly unhealthyThreshold?: number;
  /** Keep the process alive by the sidecar's timers (default false; the command sets it). */
  readonly keepProcessAlive?: boolean;
  /** Logger (default: info and above to the console). */
  readonly logger?: ClientLogger;
  /** Timers (default: a TimerScheduler). */
  readonly scheduler?: Scheduler;
  /**
   * Further client options (intervals, timeouts, quarantine, clock, …). `instance`, `servers`, `zone`,
   * `logger` and `scheduler` come from the options above.
   */
  readonly client?: Omit<EurekaClientOptions, 'instance' | 'servers' | 'zone' | 'logger' | 'scheduler'>;
}

/** A running sidecar. */
export interface Sidecar {
  /** The client that holds the registration. */
  readonly client: EurekaClient;
  /** Whether the last health check passed. */
  readonly healthy: boolean;
  /** Checks the health URL now and updates the status; resolves with the result. */
  checkNow(): Promise<boolean>;
  /** Stops checking and deregisters. Idempotent. */
  stop(): Promise<void>;
}

/** The first non-internal IPv4 address of this machine, else 127.0.0.1. */
export function defaultIpAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/**
 * Checks the health URL once, registers the app (UP when healthy; STARTING when the app has not been healthy yet),
 * then checks every `healthIntervalMs` and switches the registered status between UP and DOWN. Resolves once the
 * first registration was attempted; a registration that failed is retried by the client's heartbeats.
 */
export async function startSidecar(options: SidecarOptions): Promise<Sidecar> {
  if (!options.app) throw new TypeError('startSidecar: app is required');
  if (!/^https?:\/\//.test(options.healthUrl ?? '')) throw new TypeError(`startSidecar: healthUrl must be an http(s) URL, not ${JSON.stringify(options.healthUrl)}`);
  const logger = options.logger ?? consoleClientLogger('info', 'sidecar');
  const ownsScheduler = options.scheduler === undefined;
  const scheduler = options.scheduler ?? new TimerScheduler({ keepAlive: options.keepProcessAlive ?? false });
  const intervalMs = options.healthIntervalMs ?? 5000;
  if (!(intervalMs > 0)) throw new TypeError('startSidecar: healthIntervalMs must be positive');
  const timeoutMs = options.healthTimeoutMs ?? Math.min(3000, intervalMs);
  const threshold = Math.max(1, options.unhealthyThreshold ?? 1);
  const { http } = createHttpClient({ timeoutMs, maxRedirects: 0, anyStatus: true, noProxy: true, textResponses: true });

  const probe = async (): Promise<boolean> => {
    try {
      const res = await http.get(options.healthUrl);
      return res.status >= 200 && res.status < 300;
    } catch {
      return false;
    }
  };

  let healthy = await probe();
  let everHealthy = healthy;
  let failures = healthy ? 0 : 1;
  const hostName = options.hostName ?? hostname();
  const ipAddr = options.ipAddr ?? defaultIpAddress();
  const initialStatus: InstanceStatus = healthy ? 'UP' : 'STARTING';
  const client = new EurekaClient({
    shouldFetch: false,
    ...options.client,
    servers: options.servers,
    zone: options.zone,
    logger,
    scheduler,
    instance: {
      app: options.app,
      hostName,
      ipAddr,
      port: options.port,
      vipAddress: options.vipAddress,
      secureVipAddress: options.secureVipAddress,
      instanceId: options.instanceId,
      metadata: options.metadata,
      healthCheckUrl: options.healthUrl,
      statusPageUrl: options.statusPageUrl ?? options.healthUrl,
      homePageUrl: options.homePageUrl ?? `http://${ipAddr}:${options.port}/`,
      leaseRenewalIntervalSecs: options.leaseRenewalIntervalSecs,
      leaseDurationSecs: options.leaseDurationSecs,
      initialStatus,
    },
  });
  logger.info('sidecar starting', { app: options.app, instanceId: client.instanceId, healthUrl: options.healthUrl, status: initialStatus });
  try {
    await client.start();
  } catch (e) {
    logger.error('registration failed; the sidecar keeps trying', { error: e instanceof Error ? e.message : String(e) });
  }

  let stopped = false;
  let cancelTimer: (() => void) | undefined;
  let checking: Promise<boolean> | undefined;

  const apply = async (ok: boolean): Promise<void> => {
    healthy = ok;
    if (ok) {
      failures = 0;
      everHealthy = true;
      if (client.currentStatus !== 'UP') {
        logger.info('health check passes, marking the instance UP', { app: options.app, previous: client.currentStatus });
        await client.setStatus('UP');
      }
      return;
    }
    failures++;
    const target: InstanceStatus = everHealthy ? 'DOWN' : 'STARTING';
    if (failures >= threshold && client.currentStatus !== target) {
      logger.warn(`health check fails, marking the instance ${target}`, { app: options.app, failures, healthUrl: options.healthUrl });
      await client.setStatus(target);
    }
  };

  const checkNow = (): Promise<boolean> => {
    if (!checking) {
      checking = (async () => {
        const ok = await probe();
        if (!stopped) await apply(ok);
        return ok;
      })().finally(() => {
        checking = undefined;
      });
    }
    return checking;
  };

  const schedule = (): void => {
    if (stopped) return;
    cancelTimer = scheduler.after(intervalMs, () => {
      checkNow()
        .catch((e: unknown) => logger.error('health check failed unexpectedly', { error: e instanceof Error ? e.stack : String(e) }))
        .finally(schedule);
    });
  };
  schedule();

  let stopPromise: Promise<void> | undefined;
  return {
    client,
    get healthy() {
      return healthy;
    },
    checkNow,
    stop: () => {
      if (!stopPromise) {
        stopped = true;
        cancelTimer?.();
        stopPromise = (async () => {
          await checking?.catch(() => undefined);
          await client.stop();
          if (ownsScheduler) scheduler.stop();
          logger.info('sidecar stopped', { app: options.app });
        })();
      }
      return stopPromise;
    },
  };
}
