// A Eureka client for Node: registers an instance and keeps its lease with heartbeats, keeps a local copy of the
// registry (full fetch, then deltas checked against the server's hashcode, as Java's DiscoveryClient does; polled
// on an interval, or long-polled when the server offers the watch), picks servers own zone first with failover and
// quarantine, and answers lookups from the local copy, so a service keeps resolving its dependencies while every
// registry server is down.
import { EventEmitter } from 'node:events';
import type { AxiosInstance } from 'axios';
import { decodeApplicationsJson, DecodedApplications } from '../codecs/json';
import { Clock, systemClock } from '../domain/clock';
import { InstanceInfo, InstanceStatus, parseStatus } from '../domain/model';
import { EQUAL_JITTER, honourRetryAfterMs, nextRetry, NO_JITTER, retryDelayMs, RetryPolicy } from '../domain/retry-policy';
import { fromDecoded, InstanceConfig, instanceInfoFrom, RegistryInstance, registrationBody, zoneOf } from './instance';
import { diffSnapshots, RegistryChange, RegistrySnapshot } from './local-registry';
import { ClientLogger, consoleClientLogger } from './logger';
import { Scheduler, TimerScheduler } from './scheduler';
import { SelectionStrategy, Selector } from './selection';
import { redactUrl, resolveEndpoints, ServerEndpoint, ServerPool, ServersOption } from './servers';
import { EurekaTransport, EurekaResponse, EurekaUnavailableError } from './transport';
import { MAX_WATCH_WAIT_MS, MIN_EMPTY_WATCH_INTERVAL_MS, registryIdentity, watchPath, watchTimeoutMs } from './watch';

/** Retries of the registration at start: exponential backoff with jitter. */
export interface RetryOptions {
  /** Attempts before start() rejects (the client keeps trying through heartbeats afterwards). Default 5. */
  readonly maxAttempts?: number;
  /** Pause after the first failed attempt, ms (default 500); doubles per attempt. */
  readonly initialDelayMs?: number;
  /** Longest pause, ms (default 30 000). */
  readonly maxDelayMs?: number;
}

/** Options of {@link EurekaClient}. Only `servers` is required (and `instance` when registering). */
export interface EurekaClientOptions {
  /** The instance to register. Required unless `shouldRegister` is false. */
  readonly instance?: InstanceConfig;
  /**
   * The Eureka servers: a list of base URLs (tried in order), one URL, or a zones file (object or path) whose
   * own-zone servers are tried first, the other zones' after.
   */
  readonly servers: ServersOption;
  /**
   * The client's own zone. With a zones file: its servers come first (default: the file's first zone). Also used
   * by the 'zone-aware' strategy and registered as metadata `zone` unless the instance's metadata has one.
   */
  readonly zone?: string;
  /** Register, heartbeat and deregister (default true). */
  readonly shouldRegister?: boolean;
  /** Keep a local copy of the registry (default true). */
  readonly shouldFetch?: boolean;
  /** Registry refresh interval, ms (default 30 000), while not watching (stock Eureka server, or `watch` false). */
  readonly registryFetchIntervalMs?: number;
  /**
   * Long-poll the delta (`apps/delta?since=…&wait=…`) when the server advertises it (`X-Registry-Watch: delta`),
   * so changes arrive within milliseconds instead of every interval (default true). Against a server that does not
   * advertise it, the client polls on the interval as before.
   */
  readonly watch?: boolean;
  /**
   * How long the server may hold one watch request when nothing changes, ms (default 30 000, at most 300 000).
   * Keep it below the idle timeout of any load balancer or proxy between client and servers.
   */
  readonly watchWaitMs?: number;
  /** Heartbeat interval, ms (default: the instance's leaseRenewalIntervalSecs × 1000). */
  readonly heartbeatIntervalMs?: number;
  /** Use `GET apps/delta` after the first full fetch (default true); false also turns the watch off. */
  readonly useDelta?: boolean;
  /** After failed refreshes the interval doubles per failure, up to this multiple (default 10, as Java). */
  readonly fetchBackoffBound?: number;
  /** Timeout of one request to one server, ms (default 8 000). */
  readonly requestTimeoutMs?: number;
  /** Servers tried per request before it fails (default 3, as Java). */
  readonly maxServersPerRequest?: number;
  /** How long a server that failed is skipped, ms (default 30 000). */
  readonly quarantineMs?: number;
  /** Registration retries at start. */
  readonly registerRetry?: RetryOptions;
  /** Reuse HTTP connections (default true). */
  readonly keepAlive?: boolean;
  /** Time source (default: the wall clock). */
  readonly clock?: Clock;
  /** Timers (default: a {@link TimerScheduler} whose timers do not keep the process alive). */
  readonly scheduler?: Scheduler;
  /** Logger (default: warnings and errors to the console). */
  readonly logger?: ClientLogger;
  /** Random numbers in [0, 1) for jitter and random/weighted selection (default Math.random). */
  readonly random?: () => number;
  /** An axios instance to send requests with (interceptors, tests). */
  readonly http?: AxiosInstance;
}

/** Which instances a lookup returns. */
export interface InstanceFilter {
  /** Statuses to keep (default `'UP'`); `'any'` keeps every status. */
  readonly status?: InstanceStatus | readonly InstanceStatus[] | 'any';
  /** Keep instances in this zone only (metadata `zone`, or the Amazon availability zone). */
  readonly zone?: string;
  /** Keep instances whose metadata has all of these entries. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Options of {@link EurekaClient.getInstancesByVipAddress}. */
export interface VipFilter extends InstanceFilter {
  /** Match the secure VIP address instead (default false). */
  readonly secure?: boolean;
}

/** Options of {@link EurekaClient.chooseInstance}. */
export interface ChooseOptions extends VipFilter {
  /** Default 'round-robin'. */
  readonly strategy?: SelectionStrategy;
  /** Look `appOrVip` up as a VIP address only (default: as an app, then as a VIP when no app has that name). */
  readonly byVip?: boolean;
}

/** One successful registry refresh (emitted after the per-instance events; `changes` may be empty). */
export interface RegistryUpdate {
  /** 'full': the whole registry was fetched; 'delta': changes were applied (polled or watched) and the hashcode matched. */
  readonly kind: 'full' | 'delta';
  /**
   * Why a full fetch happened: the first one, a hashcode mismatch, a delta the server would not give, the watch's
   * basis lost ('watch-reset': 410, another server process or another server), …
   */
  readonly reason: 'initial' | 'reconcile' | 'delta-unavailable' | 'scheduled' | 'watch-reset' | 'delta';
  /** Instances held afterwards. */
  readonly instances: number;
  /** Reconcile hashcode of the local copy afterwards. */
  readonly hashcode: string;
  /** What changed (the same changes the per-instance events reported). */
  readonly changes: readonly RegistryChange[];
  /** The server that answered. */
  readonly server: string;
}

/** The watch a client holds (see {@link EurekaClient.watchState}). */
export interface WatchState {
  /** Base URL of the watched server, without credentials. */
  readonly server: string;
  /** Its process identity (`X-Registry-Server`). */
  readonly serverId: string;
  /** The registry revision the local copy reflects there. */
  readonly revision: number;
}

/** Counters, for tests and metrics. */
export interface EurekaClientStats {
  /** Registrations the server accepted (204). */
  registrations: number;
  /** Heartbeats answered 200. */
  heartbeats: number;
  /** Heartbeats no server answered, or answered with a failure status other than 404. */
  heartbeatFailures: number;
  /** Full registry fetches installed. */
  fullFetches: number;
  /** Delta documents received, polled or watched (whether or not they reconciled). */
  deltaFetches: number;
  /** Watch answers applied (200 from the watched server process, with changes or empty); also in deltaFetches. */
  watchAnswers: number;
  /** Full fetches because the watch lost its basis: 410, another server process, a failover to another server. */
  watchResets: number;
  /** Watch requests no server answered usefully (network error, timeout, 5xx, 403, 429, unexpected status). */
  watchFailures: number;
  /** Full fetches caused by a hashcode mismatch after a delta. */
  reconciliations: number;
  /** Refreshes that left the local copy stale. */
  fetchFailures: number;
}

/** Events of {@link EurekaClient} (listener arguments per event). */
export type EurekaClientEvents = {
  /** The server accepted a registration (204): at start, after a heartbeat 404, after setStatus/setMetadata. */
  registered: [instance: InstanceInfo];
  /** The instance was cancelled at stop(). */
  deregistered: [instance: InstanceInfo];
  /** A heartbeat was answered 200. */
  heartbeat: [server: string];
  /** An instance appeared in the local registry. */
  instanceAdded: [instance: RegistryInstance];
  /** An instance left the local registry. */
  instanceRemoved: [instance: RegistryInstance];
  /** An instance's status changed. */
  statusChanged: [instance: RegistryInstance, previous: InstanceStatus];
  /** An instance changed in anything but its status (metadata, URLs, ports, override); after statusChanged when both did. */
  instanceModified: [instance: RegistryInstance, previous: RegistryInstance];
  /** The local registry was refreshed (after the per-instance events). */
  registryUpdated: [update: RegistryUpdate];
  /** Something failed (the client carries on). Emitted only when someone listens. */
  error: [error: Error];
};

/** A request reached a server that answered with a status the operation cannot use. */
export class EurekaStatusError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly server: string,
  ) {
    super(`${operation} answered ${status} by ${server}`);
    this.name = 'EurekaStatusError';
  }
}

/** Registration did not succeed within the configured attempts. */
export class EurekaRegistrationError extends Error {
  constructor(
    readonly attempts: number,
    readonly lastError: Error | undefined,
  ) {
    super(`registration failed after ${attempts} attempt(s)${lastError ? `: ${lastError.message}` : ''}`);
    this.name = 'EurekaRegistrationError';
  }
}

type State = 'new' | 'running' | 'stopping' | 'stopped';

/** Where the watch continues from: the server (and its process) whose full fetch built the copy, and the revision reached. */
interface WatchBasis {
  /** Base URL of the server, as the pool lists it. */
  readonly url: string;
  /** `X-Registry-Server` of the process the revisions belong to. */
  readonly server: string;
  /** The revision the copy reflects: the next `since`. */
  revision: number;
}

/** How one watch request ended. */
type WatchOutcome =
  | { readonly kind: 'news' | 'nothing' | 'reset' | 'lost' | 'refused' | 'stale' | 'stopped' }
  | { readonly kind: 'failed'; readonly retryAfterMs?: number };

const matchesFilter = (filter: InstanceFilter) => {
  const statuses = filter.status === 'any' ? undefined : new Set<string>(typeof filter.status === 'string' ? [filter.status] : (filter.status ?? ['UP']));
  const metadata = Object.entries(filter.metadata ?? {});
  return (i: RegistryInstance): boolean =>
    (!statuses || statuses.has(i.status)) && (filter.zone === undefined || zoneOf(i) === filter.zone) && metadata.every(([k, v]) => i.metadata[k] === v);
};

/**
 * A Eureka client: `await client.start()` registers the instance and loads the registry; lookups answer from the
 * local copy; `await client.stop()` deregisters.
 *
 * ```ts
 * const client = new EurekaClient({
 *   instance: { app: 'orders', hostName: 'orders-1', ipAddr: '10.0.0.7', port: 8080 },
 *   servers: 'zones.json', zone: 'us-east-1a',
 * });
 * await client.start();
 * const billing = client.chooseInstance('billing', { strategy: 'zone-aware' });
 * ```
 */
export class EurekaClient extends EventEmitter<EurekaClientEvents> {
  /** The servers, in preference order, with their quarantine state. */
  readonly servers: ServerPool;
  private readonly transport: EurekaTransport;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private readonly ownsScheduler: boolean;
  private readonly logger: ClientLogger;
  private readonly random: () => number;
  private readonly selector: Selector;
  private readonly shouldRegister: boolean;
  private readonly shouldFetch: boolean;
  /** The refresh interval, stretched after failed refreshes (attempt = failed refreshes + 1). */
  private readonly fetchSchedule: RetryPolicy;
  private readonly heartbeatIntervalMs: number;
  private readonly useDelta: boolean;
  private readonly watchEnabled: boolean;
  private readonly watchWaitMs: number;
  private readonly watchTimeoutMs: number;
  private readonly registerRetry: RetryPolicy;
  /** The client's own zone, if known. */
  readonly zone: string | undefined;

  private state: State = 'new';
  private snapshot = RegistrySnapshot.empty();
  private lastFetchAt: number | undefined;
  private status: InstanceStatus;
  private metadata: Record<string, string>;
  private lastDirty: number;
  private registrationSent = false;
  private registerLoop: Promise<true | Error> | undefined;
  private registerAgain = false;
  private fetching: Promise<boolean> | undefined;
  private failedFetches = 0;
  private cancelPoll: (() => void) | undefined;
  private watchBasis: WatchBasis | undefined;
  /** Bumped by every full fetch installed: a watch answer to a request sent before it is stale. */
  private basisEpoch = 0;
  /** `X-Registry-Server` of the last registry answer that advertised the watch. */
  private watchOfferedBy: string | undefined;
  /** `X-Registry-Server` of a process that answered a watch with a status the client cannot use: polled instead. */
  private watchRefusedBy: string | undefined;
  private watchLoopRunning = false;
  /** Watch requests in a row that failed or lost their basis, without an answer in between. */
  private watchTroubles = 0;
  /** After repeated watch troubles: no new watch before this time (client clock, ms); polling meanwhile. */
  private watchRetryAt: number | undefined;
  private readonly timers = new Set<() => void>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly fetchAbort = new AbortController();
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  /** Counters since construction. */
  readonly stats: EurekaClientStats = {
    registrations: 0, heartbeats: 0, heartbeatFailures: 0, fullFetches: 0, deltaFetches: 0, watchAnswers: 0, watchResets: 0, watchFailures: 0, reconciliations: 0, fetchFailures: 0,
  };

  constructor(private readonly options: EurekaClientOptions) {
    super();
    this.shouldRegister = options.shouldRegister ?? true;
    this.shouldFetch = options.shouldFetch ?? true;
    if (this.shouldRegister && !options.instance) throw new TypeError('EurekaClient: `instance` is required unless shouldRegister is false');
    if (options.instance) validateInstanceConfig(options.instance);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? consoleClientLogger('warn');
    this.random = options.random ?? Math.random;
    this.ownsScheduler = options.scheduler === undefined;
    this.scheduler = options.scheduler ?? new TimerScheduler();
    this.servers = new ServerPool(resolveEndpoints(options.servers), { zone: options.zone, quarantineMs: options.quarantineMs, clock: this.clock });
    this.zone = options.zone ?? this.servers.zone ?? (options.instance?.metadata?.['zone'] || undefined);
    const requestTimeoutMs = positive(options.requestTimeoutMs, 8000, 'requestTimeoutMs');
    this.transport = new EurekaTransport(
      this.servers,
      { timeoutMs: requestTimeoutMs, maxServersPerRequest: positive(options.maxServersPerRequest, 3, 'maxServersPerRequest'), keepAlive: options.keepAlive, http: options.http },
      this.logger,
    );
    this.selector = new Selector(this.random, this.zone);
    const fetchIntervalMs = positive(options.registryFetchIntervalMs, 30_000, 'registryFetchIntervalMs');
    this.heartbeatIntervalMs = positive(options.heartbeatIntervalMs, (options.instance?.leaseRenewalIntervalSecs ?? 30) * 1000, 'heartbeatIntervalMs');
    this.useDelta = options.useDelta ?? true;
    this.watchEnabled = (options.watch ?? true) && this.useDelta;
    this.watchWaitMs = positive(options.watchWaitMs, 30_000, 'watchWaitMs');
    if (this.watchWaitMs > MAX_WATCH_WAIT_MS) throw new TypeError(`EurekaClient: watchWaitMs must be at most ${MAX_WATCH_WAIT_MS}`);
    this.watchTimeoutMs = watchTimeoutMs(this.watchWaitMs, requestTimeoutMs);
    const fetchBackoffBound = positive(options.fetchBackoffBound, 10, 'fetchBackoffBound');
    this.fetchSchedule = { baseMs: fetchIntervalMs, maxMs: fetchIntervalMs * fetchBackoffBound, multiplier: 2, jitter: NO_JITTER };
    const maxAttempts = positive(options.registerRetry?.maxAttempts, 5, 'registerRetry.maxAttempts');
    const initialDelayMs = positive(options.registerRetry?.initialDelayMs, 500, 'registerRetry.initialDelayMs');
    const maxDelayMs = positive(options.registerRetry?.maxDelayMs, 30_000, 'registerRetry.maxDelayMs');
    this.registerRetry = { baseMs: initialDelayMs, maxMs: maxDelayMs, multiplier: 2, jitter: EQUAL_JITTER, maxAttempts };
    this.status = options.instance?.initialStatus ?? 'UP';
    this.metadata = { ...(options.instance?.metadata ?? {}) };
    if (this.zone !== undefined && this.metadata['zone'] === undefined) this.metadata['zone'] = this.zone;
    this.lastDirty = this.clock.now();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Life cycle

  /**
   * Registers the instance (retrying with exponential backoff and jitter; success only on 204) and loads the
   * registry, then heartbeats and refreshes on schedule. Resolves once registered and the first fetch is over
   * (a failed fetch is reported as an 'error' event and retried on schedule). Rejects with
   * {@link EurekaRegistrationError} when every registration attempt failed; the client then keeps running and
   * registers as soon as a heartbeat reaches a server (call stop() to give up). Calling it again returns the same
   * promise.
   */
  start(): Promise<void> {
    if (this.startPromise) return this.startPromise;
    if (this.state !== 'new') return Promise.reject(new Error('EurekaClient: start() after stop()'));
    this.state = 'running';
    this.startPromise = (async () => {
      const registering = this.shouldRegister ? this.track(this.registerWithRetry()) : Promise.resolve<Error | undefined>(undefined);
      const fetching = this.shouldFetch ? this.track(this.refresh()) : Promise.resolve(true);
      if (this.shouldRegister) this.scheduleHeartbeat();
      if (this.shouldFetch) {
        this.scheduleFetch();
        void fetching.then(
          () => this.watchIfOffered(),
          () => undefined,
        );
      }
      const [registrationError] = await Promise.all([registering, fetching]);
      if (registrationError && this.state === 'running') throw registrationError;
    })();
    return this.startPromise;
  }

  /**
   * Stops heartbeats and refreshes, waits for requests in flight, and deregisters (`DELETE apps/APP/ID`) when a
   * registration was sent. Idempotent; resolves when done (a failed cancel is logged, not thrown).
   */
  stop(): Promise<void> {
    if (this.stopPromise) return this.stopPromise;
    const wasStarted = this.state !== 'new';
    this.state = 'stopping';
    for (const cancel of [...this.timers]) cancel();
    this.timers.clear();
    this.fetchAbort.abort();
    this.stopPromise = (async () => {
      await Promise.allSettled([...this.inFlight]);
      if (wasStarted && this.shouldRegister && this.registrationSent) await this.deregister();
      this.transport.close();
      if (this.ownsScheduler) this.scheduler.stop();
      this.state = 'stopped';
    })();
    return this.stopPromise;
  }

  /** Whether start() was called and stop() was not. */
  get running(): boolean {
    return this.state === 'running';
  }

  // ------------------------------------------------------------------------------------------------------------
  // The own instance

  /** The instance as it is (or will be) registered: current status, metadata and lastDirtyTimestamp. */
  get instance(): InstanceInfo | undefined {
    return this.options.instance ? instanceInfoFrom(this.options.instance, this.status, this.metadata, this.lastDirty) : undefined;
  }

  /** The registered instance id (effective id), if the client registers. */
  get instanceId(): string | undefined {
    return this.instance?.id;
  }

  /**
   * Changes the instance's status (e.g. DOWN while a dependency is unavailable, OUT_OF_SERVICE before draining)
   * and re-registers with a new lastDirtyTimestamp, as the Java client does. Resolves true when a server accepted
   * it; when none did, the next heartbeat carries the newer lastDirtyTimestamp, is answered 404 and re-registers.
   * Before start() it only sets the status to register with.
   */
  async setStatus(status: InstanceStatus): Promise<boolean> {
    const parsed = parseStatus(status);
    if (!parsed) throw new TypeError(`EurekaClient.setStatus: ${String(status)} is not an instance status`);
    if (parsed === this.status) return this.state === 'running' ? this.registrationSent : false;
    this.status = parsed;
    this.touch();
    return this.reRegister();
  }

  /** The status the instance registers with. */
  get currentStatus(): InstanceStatus {
    return this.status;
  }

  /**
   * Merges `entries` into the instance's metadata (an `undefined` value removes the key) and re-registers, like
   * {@link setStatus}.
   */
  async setMetadata(entries: Readonly<Record<string, string | undefined>>): Promise<boolean> {
    for (const [key, value] of Object.entries(entries)) {
      if (value === undefined) delete this.metadata[key];
      else if (typeof value !== 'string') throw new TypeError(`EurekaClient.setMetadata: the value of ${key} must be a string`);
      else this.metadata[key] = value;
    }
    this.touch();
    return this.reRegister();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Lookups (local copy)

  /** Instances of `app` (case-insensitive) that pass `filter` (default: UP only), sorted by id. */
  getInstancesByAppId(app: string, filter: InstanceFilter = {}): RegistryInstance[] {
    return this.snapshot.application(app).filter(matchesFilter(filter));
  }

  /** Instances with `vip` among their VIP addresses (case-insensitive) that pass `filter` (default: UP only). */
  getInstancesByVipAddress(vip: string, filter: VipFilter = {}): RegistryInstance[] {
    return this.snapshot.byVip(vip, filter.secure ?? false).filter(matchesFilter(filter));
  }

  /**
   * One instance of the app (or, when no app has that name, of the VIP address) `appOrVip` by `strategy`
   * (default round-robin); undefined when none passes the filter (default: UP only). 'zone-aware' takes the own
   * zone's instances when it has any that pass, otherwise the others; 'weighted' uses metadata `weight` (default 1).
   */
  chooseInstance(appOrVip: string, options: ChooseOptions = {}): RegistryInstance | undefined {
    const byApp = options.byVip ? [] : this.snapshot.application(appOrVip);
    const all = byApp.length > 0 ? byApp : this.snapshot.byVip(appOrVip, options.secure ?? false);
    const candidates = all.filter(matchesFilter(options));
    const key = `${byApp.length > 0 ? 'app' : 'vip'}:${appOrVip.toUpperCase()}`;
    return this.selector.choose(key, candidates, options.strategy ?? 'round-robin');
  }

  /** Names of the apps in the local copy (upper-case, sorted), including apps whose instances all left. */
  getApplications(): string[] {
    return [...this.snapshot.apps.keys()].sort();
  }

  /** The local copy itself (immutable; replaced on every refresh). */
  get registry(): RegistrySnapshot {
    return this.snapshot;
  }

  /** When the registry was last fetched successfully (client clock, ms); undefined before the first success. */
  get lastSuccessfulFetchAt(): number | undefined {
    return this.lastFetchAt;
  }

  /** Age of the local copy, ms (how stale lookups may be); undefined before the first successful fetch. */
  registryAgeMs(): number | undefined {
    return this.lastFetchAt === undefined ? undefined : Math.max(0, this.clock.now() - this.lastFetchAt);
  }

  /** The server that gave the last usable answer. */
  currentServer(): ServerEndpoint | undefined {
    return this.transport.currentServer;
  }

  /** The watch in progress (server, its identity, revision reached); undefined while the client polls. */
  watchState(): WatchState | undefined {
    const basis = this.watchLoopRunning ? this.watchBasis : undefined;
    return basis && { server: redactUrl(basis.url), serverId: basis.server, revision: basis.revision };
  }

  /**
   * Refreshes the registry now (a delta, or a full fetch when none is held, the delta does not reconcile, or the
   * server offers a watch the client has no basis for yet). Resolves true when the local copy is now current; false
   * when no server gave it, or the client is not running. Concurrent calls share one refresh.
   */
  refresh(): Promise<boolean> {
    return this.runFetch(() => {
      const delta = this.useDelta && this.snapshot.versionsDelta !== -1 && this.snapshot.size > 0 && !this.wantsWatchBasis();
      return delta ? this.fetchDelta() : this.fetchFull(this.lastFetchAt === undefined ? 'initial' : 'scheduled');
    });
  }

  /** Runs `fetch` unless a refresh is under way already (then shares that one), and counts its failure. */
  private runFetch(fetch: () => Promise<boolean>): Promise<boolean> {
    if (this.state !== 'running') return Promise.resolve(false);
    if (!this.fetching) {
      this.fetching = (async () => {
        try {
          const ok = await fetch();
          this.failedFetches = ok ? 0 : this.failedFetches + 1;
          if (!ok) this.stats.fetchFailures++;
          return ok;
        } finally {
          this.fetching = undefined;
        }
      })();
    }
    return this.fetching;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Registration and heartbeats

  private async registerWithRetry(): Promise<Error | undefined> {
    let lastError: Error | undefined;
    for (let attempt = 1; this.state === 'running'; attempt++) {
      const outcome = await this.register();
      if (outcome === true) return undefined;
      lastError = outcome;
      const next = nextRetry(this.registerRetry, attempt, this.random);
      if (next.kind === 'give-up') {
        this.logger.error('registration failed; will retry on the next heartbeat', { attempts: attempt, error: lastError?.message });
        return new EurekaRegistrationError(attempt, lastError);
      }
      this.logger.warn('registration failed, retrying', { attempt, retryInMs: Math.round(next.delayMs), error: lastError?.message });
      await this.sleep(next.delayMs);
    }
    return undefined;
  }

  /** Registers now; concurrent calls share one request, and a change during a request triggers one more. */
  private register(): Promise<true | Error> {
    this.registerAgain = true;
    if (!this.registerLoop) {
      this.registerLoop = (async (): Promise<true | Error> => {
        let outcome: true | Error = new Error('registration skipped: the client is stopping');
        while (this.registerAgain && this.state === 'running') {
          this.registerAgain = false;
          outcome = await this.sendRegistration();
        }
        return outcome;
      })().finally(() => {
        this.registerLoop = undefined;
      });
    }
    return this.registerLoop;
  }

  private async sendRegistration(): Promise<true | Error> {
    const info = this.instance as InstanceInfo;
    this.registrationSent = true;
    let res: EurekaResponse;
    try {
      res = await this.transport.send({ op: 'register', method: 'POST', path: `apps/${encodeURIComponent(info.app)}`, body: registrationBody(info), headers: { accept: 'application/json' } });
    } catch (e) {
      return this.registerFailed(asError(e));
    }
    if (res.status !== 204) return this.registerFailed(new EurekaStatusError('register', res.status, res.server), res.body);
    this.stats.registrations++;
    this.logger.info('registered', { app: info.app, id: info.id, status: info.status, server: res.server });
    this.safeEmit('registered', info);
    return true;
  }

  private registerFailed(error: Error, body?: string): Error {
    this.logger.warn('registration failed', { error: error.message, ...(body && { body: body.slice(0, 200) }) });
    this.emitError(error);
    return error;
  }

  private async reRegister(): Promise<boolean> {
    if (this.state !== 'running' || !this.shouldRegister) return false;
    return (await this.track(this.register())) === true;
  }

  private async heartbeat(): Promise<void> {
    const info = this.instance as InstanceInfo;
    const path = `apps/${encodeURIComponent(info.app)}/${encodeURIComponent(info.id)}?status=${info.status}&lastDirtyTimestamp=${info.lastDirtyTimestamp}`;
    let res: EurekaResponse;
    try {
      res = await this.transport.send({ op: 'heartbeat', method: 'PUT', path });
    } catch (e) {
      this.stats.heartbeatFailures++;
      this.logger.warn('heartbeat failed', { error: asError(e).message });
      this.emitError(asError(e));
      return;
    }
    if (res.status === 200) {
      this.stats.heartbeats++;
      this.safeEmit('heartbeat', res.server);
      return;
    }
    if (res.status === 404) {
      // Unknown to the server (never registered, expired, cancelled) or our copy is newer: register again.
      if (this.state !== 'running') return;
      this.logger.info('heartbeat answered 404, re-registering', { app: info.app, id: info.id, server: res.server });
      await this.register();
      return;
    }
    this.stats.heartbeatFailures++;
    const error = new EurekaStatusError('heartbeat', res.status, res.server);
    this.logger.warn('heartbeat failed', { error: error.message });
    this.emitError(error);
  }

  private async deregister(): Promise<void> {
    const info = this.instance as InstanceInfo;
    try {
      const res = await this.transport.send({ op: 'cancel', method: 'DELETE', path: `apps/${encodeURIComponent(info.app)}/${encodeURIComponent(info.id)}` });
      if (res.status === 200 || res.status === 404) {
        this.logger.info('deregistered', { app: info.app, id: info.id, server: res.server, status: res.status });
        this.safeEmit('deregistered', info);
      } else {
        this.logger.warn('deregistration failed', { status: res.status, server: res.server });
      }
    } catch (e) {
      this.logger.warn('deregistration failed', { error: asError(e).message });
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // Registry fetches

  private async get(op: 'fetch' | 'delta', path: string): Promise<EurekaResponse | undefined> {
    try {
      return await this.transport.send({ op, method: 'GET', path, headers: { accept: 'application/json' }, signal: this.fetchAbort.signal });
    } catch (e) {
      if (this.fetchAbort.signal.aborted) return undefined;
      this.logger.warn('registry fetch failed; serving the cached registry', { op, ageMs: this.registryAgeMs(), error: asError(e).message });
      this.emitError(asError(e));
      return undefined;
    }
  }

  private decode(res: EurekaResponse): DecodedApplications | undefined {
    try {
      return decodeApplicationsJson(res.body, { renewalIntervalSecs: 30, durationSecs: 90, now: this.clock.now() });
    } catch (e) {
      this.logger.warn('cannot decode the registry', { server: res.server, error: asError(e).message });
      this.emitError(asError(e));
      return undefined;
    }
  }

  private async fetchFull(reason: RegistryUpdate['reason']): Promise<boolean> {
    const res = await this.get('fetch', 'apps/');
    if (!res) return false;
    if (res.status !== 200) {
      this.emitError(new EurekaStatusError('registry fetch', res.status, res.server));
      return false;
    }
    const doc = this.decode(res);
    if (!doc || this.state !== 'running') return false;
    this.stats.fullFetches++;
    if (reason === 'watch-reset') this.stats.watchResets++;
    const identity = registryIdentity(res.headers);
    this.watchOfferedBy = identity.watchesDelta ? identity.server : undefined;
    this.basisEpoch++;
    this.watchBasis =
      identity.watchesDelta && identity.server !== undefined && identity.revision !== undefined && this.mayWatch(identity.server)
        ? { url: res.endpoint.url, server: identity.server, revision: identity.revision }
        : undefined;
    const next = RegistrySnapshot.of(instancesOf(doc), doc.versionsDelta);
    this.install(next, { kind: 'full', reason, server: res.server });
    return true;
  }

  private async fetchDelta(): Promise<boolean> {
    const res = await this.get('delta', 'apps/delta');
    if (!res) return false;
    if (res.status !== 200) {
      this.logger.debug('no delta, fetching the full registry', { status: res.status, server: res.server });
      return this.fetchFull('delta-unavailable');
    }
    const doc = this.decode(res);
    if (!doc || this.state !== 'running') return false;
    this.stats.deltaFetches++;
    const identity = registryIdentity(res.headers);
    this.watchOfferedBy = identity.watchesDelta ? identity.server : undefined;
    const changes = instancesOf(doc);
    const next = this.snapshot.withDelta(changes, doc.versionsDelta);
    if (next.hashcode() !== doc.appsHashcode) {
      this.stats.reconciliations++;
      this.logger.info('registry hashcode mismatch after delta, fetching the full registry', { local: next.hashcode(), server: doc.appsHashcode });
      const reconciled = await this.fetchFull('reconcile');
      // When even the full fetch failed, the delta is still the best knowledge there is.
      if (!reconciled && this.state === 'running') this.install(next, { kind: 'delta', reason: 'delta', server: res.server }, new Set(changes.map((c) => c.app)), false);
      return reconciled;
    }
    this.install(next, { kind: 'delta', reason: 'delta', server: res.server }, new Set(changes.map((c) => c.app)));
    return true;
  }

  private install(next: RegistrySnapshot, what: Pick<RegistryUpdate, 'kind' | 'reason' | 'server'>, apps?: Set<string>, current = true): void {
    const previous = this.snapshot;
    this.snapshot = next;
    if (current) this.lastFetchAt = this.clock.now();
    const changes = diffSnapshots(previous, next, apps);
    for (const change of changes) {
      if (change.type === 'added') this.safeEmit('instanceAdded', change.instance);
      else if (change.type === 'removed') this.safeEmit('instanceRemoved', change.instance);
      else if (change.type === 'statusChanged') this.safeEmit('statusChanged', change.instance, change.previous);
      else this.safeEmit('instanceModified', change.instance, change.previous);
    }
    this.safeEmit('registryUpdated', { ...what, instances: next.size, hashcode: next.hashcode(), changes });
  }

  // ------------------------------------------------------------------------------------------------------------
  // Scheduling

  private scheduleHeartbeat(): void {
    this.later(this.heartbeatIntervalMs, async () => {
      await this.track(this.heartbeat());
      this.scheduleHeartbeat();
    });
  }

  /** Polls on the interval (stretched after failed refreshes); hands over to the watch once a server offers it. */
  private scheduleFetch(): void {
    this.cancelPoll?.();
    this.cancelPoll = this.later(retryDelayMs(this.fetchSchedule, this.failedFetches + 1), async () => {
      this.cancelPoll = undefined;
      await this.track(this.refresh());
      if (!this.watchIfOffered()) this.scheduleFetch();
    });
  }

  /** Whether the last server heard from offers the watch and the client has no basis to watch from. */
  private wantsWatchBasis(): boolean {
    return this.watchBasis === undefined && this.watchOfferedBy !== undefined && this.mayWatch(this.watchOfferedBy);
  }

  /** Whether the client may watch the server process `serverId` now. */
  private mayWatch(serverId: string): boolean {
    return this.watchEnabled && serverId !== this.watchRefusedBy && (this.watchRetryAt === undefined || this.clock.now() >= this.watchRetryAt);
  }

  /** Starts the watch loop (ending the polling) when the copy came from a server that offers it; true when watching. */
  private watchIfOffered(): boolean {
    if (this.state !== 'running' || this.watchBasis === undefined) return false;
    if (this.watchLoopRunning) return true;
    this.cancelPoll?.();
    this.cancelPoll = undefined;
    this.watchLoopRunning = true;
    this.logger.info('watching the registry', { server: redactUrl(this.watchBasis.url), waitMs: this.watchWaitMs });
    void this.track(this.watchLoop());
    return true;
  }

  /**
   * Long-polls the delta of the server the copy came from until the client stops or the watch cannot go on; then
   * polling resumes. A failure fails over at once (full fetch from the next server, which has its own revisions);
   * after a second one in a row, with no answer between, the client polls on its interval and tries the watch
   * again after a backoff period (the fetch schedule's, honouring Retry-After).
   */
  private async watchLoop(): Promise<void> {
    try {
      while (this.state === 'running') {
        const basis = this.watchBasis;
        if (basis === undefined) break;
        if (this.servers.candidates(1)[0].url !== basis.url) {
          // Another server is preferred now (the own zone is back from quarantine): its revisions are its own.
          this.logger.info('moving the registry watch to the preferred server', { from: redactUrl(basis.url) });
          if (!(await this.rebase())) break;
          continue;
        }
        const startedAt = this.clock.now();
        const outcome = await this.watchOnce(basis);
        if (outcome.kind === 'stopped' || outcome.kind === 'lost' || outcome.kind === 'refused') break;
        if (outcome.kind === 'news' || outcome.kind === 'nothing') {
          this.watchTroubles = 0;
          this.watchRetryAt = undefined;
          this.failedFetches = 0;
          const tookMs = this.clock.now() - startedAt;
          // A server that ignores `wait` answers at once with nothing: never a tight loop.
          if (outcome.kind === 'nothing' && tookMs < MIN_EMPTY_WATCH_INTERVAL_MS) await this.sleep(MIN_EMPTY_WATCH_INTERVAL_MS - tookMs);
          continue;
        }
        if (outcome.kind === 'stale') continue;
        this.watchTroubles++;
        if (this.watchTroubles >= 2) {
          const delayMs = retryDelayMs(this.fetchSchedule, this.watchTroubles - 1);
          const pauseMs = outcome.kind === 'failed' ? honourRetryAfterMs(this.fetchSchedule, delayMs, outcome.retryAfterMs) : delayMs;
          this.watchRetryAt = this.clock.now() + pauseMs;
          this.watchBasis = undefined;
          this.logger.warn('registry watch keeps failing; polling until the next try', { troubles: this.watchTroubles, watchAgainInMs: Math.round(pauseMs) });
          break;
        }
        if (!(await this.rebase())) break;
      }
    } finally {
      this.watchLoopRunning = false;
      if (this.state === 'running') {
        this.logger.info('registry watch ended; polling');
        this.scheduleFetch();
      }
    }
  }

  /** A full fetch (with failover) that gives the watch a new basis; false when there is none afterwards. */
  private async rebase(): Promise<boolean> {
    this.watchBasis = undefined;
    const ok = await this.runFetch(() => this.fetchFull('watch-reset'));
    return ok && this.watchBasis !== undefined;
  }

  /** One watch request to the basis's server: applies what it answers and says how it went. */
  private async watchOnce(basis: WatchBasis): Promise<WatchOutcome> {
    const epoch = this.basisEpoch;
    let res: EurekaResponse;
    try {
      res = await this.transport.send({
        op: 'watch', method: 'GET', path: watchPath(basis.revision, this.watchWaitMs), headers: { accept: 'application/json' },
        signal: this.fetchAbort.signal, onlyServer: basis.url, timeoutMs: this.watchTimeoutMs,
      });
    } catch (e) {
      if (this.fetchAbort.signal.aborted || this.state !== 'running') return { kind: 'stopped' };
      this.stats.watchFailures++;
      this.logger.warn('registry watch failed; moving to another server', { server: redactUrl(basis.url), error: asError(e).message });
      this.emitError(asError(e));
      return { kind: 'failed', retryAfterMs: e instanceof EurekaUnavailableError ? e.attempts[0]?.retryAfterMs : undefined };
    }
    if (this.state !== 'running') return { kind: 'stopped' };
    if (epoch !== this.basisEpoch) return { kind: 'stale' };
    const identity = registryIdentity(res.headers);
    // 410: the server's delta log no longer covers the revision, or the revision is not one of this process's.
    if (res.status === 410) return { kind: 'reset' };
    if (res.status !== 200 || identity.revision === undefined) {
      this.stats.watchFailures++;
      this.watchRefusedBy = basis.server;
      this.watchBasis = undefined;
      this.logger.warn('the server answered the registry watch with something unusable; polling instead', { server: res.server, status: res.status });
      this.emitError(new EurekaStatusError('registry watch', res.status, res.server));
      return { kind: 'refused' };
    }
    // Another process (a restart) or revisions going backwards: the revision means nothing there.
    if (identity.server !== basis.server || identity.revision < basis.revision) return { kind: 'reset' };
    const doc = this.decode(res);
    if (!doc || this.state !== 'running') {
      this.stats.watchFailures++;
      return { kind: 'failed' };
    }
    this.stats.watchAnswers++;
    this.stats.deltaFetches++;
    const changes = instancesOf(doc);
    const nothing = changes.length === 0 || identity.revision === basis.revision;
    const next = this.snapshot.withDelta(changes, doc.versionsDelta);
    const apps = new Set(changes.map((c) => c.app));
    if (next.hashcode() !== doc.appsHashcode) {
      this.stats.reconciliations++;
      this.logger.info('registry hashcode mismatch after a watched delta, fetching the full registry', { local: next.hashcode(), server: doc.appsHashcode });
      this.watchBasis = undefined;
      const reconciled = await this.runFetch(() => this.fetchFull('reconcile'));
      if (!reconciled && this.state === 'running') this.install(next, { kind: 'delta', reason: 'delta', server: res.server }, apps, false);
      return reconciled && this.watchBasis !== undefined ? { kind: 'news' } : { kind: 'lost' };
    }
    basis.revision = identity.revision;
    this.install(next, { kind: 'delta', reason: 'delta', server: res.server }, apps);
    return { kind: nothing ? 'nothing' : 'news' };
  }

  /** Runs `task` after `ms` unless the client stops first; the returned function cancels it. */
  private later(ms: number, task: () => Promise<void>): (() => void) | undefined {
    if (this.state !== 'running') return undefined;
    const cancel = this.scheduler.after(ms, () => {
      this.timers.delete(cancel);
      if (this.state !== 'running') return;
      task().catch((e: unknown) => this.logger.error('scheduled task failed', { error: asError(e).stack }));
    });
    this.timers.add(cancel);
    return () => {
      cancel();
      this.timers.delete(cancel);
    };
  }

  /** Resolves after `ms`, or at once when the client stops. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.state !== 'running') return resolve();
      const wake = (): void => {
        cancel();
        this.timers.delete(wake);
        resolve();
      };
      const cancel = this.scheduler.after(ms, wake);
      this.timers.add(wake);
    });
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    const done = (): void => void this.inFlight.delete(promise);
    promise.then(done, done);
    return promise;
  }

  /** A new lastDirtyTimestamp: now, and always later than the previous one. */
  private touch(): void {
    this.lastDirty = Math.max(this.clock.now(), this.lastDirty + 1);
  }

  private safeEmit<K extends keyof EurekaClientEvents>(event: K, ...args: EurekaClientEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: EurekaClientEvents[K]) => boolean)(event, ...args);
    } catch (e) {
      this.logger.error('event listener failed', { event, error: asError(e).stack });
    }
  }

  private emitError(error: Error): void {
    if (this.listenerCount('error') > 0) this.safeEmit('error', error);
  }
}

function instancesOf(doc: DecodedApplications): RegistryInstance[] {
  const out: RegistryInstance[] = [];
  for (const d of doc.instances) {
    const i = fromDecoded(d);
    if (i) out.push(i);
  }
  return out;
}

/** Exponential backoff with "equal jitter": between half and all of min(max, initial × 2^(attempt−1)). */
export function backoff(attempt: number, initialMs: number, maxMs: number, random: () => number): number {
  return retryDelayMs({ baseMs: initialMs, maxMs, multiplier: 2, jitter: EQUAL_JITTER }, attempt, random);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0)) throw new TypeError(`EurekaClient: ${name} must be a positive number`);
  return value;
}

function validateInstanceConfig(i: InstanceConfig): void {
  for (const field of ['app', 'hostName', 'ipAddr'] as const) {
    if (typeof i[field] !== 'string' || i[field] === '') throw new TypeError(`EurekaClient: instance.${field} is required`);
  }
  if (!Number.isInteger(i.port) || i.port < 0 || i.port > 65535) throw new TypeError('EurekaClient: instance.port must be a port number');
  if (i.securePort !== undefined && (!Number.isInteger(i.securePort) || i.securePort < 0 || i.securePort > 65535)) throw new TypeError('EurekaClient: instance.securePort must be a port number');
  for (const field of ['leaseRenewalIntervalSecs', 'leaseDurationSecs'] as const) {
    const v = i[field];
    if (v !== undefined && (!Number.isInteger(v) || v <= 0)) throw new TypeError(`EurekaClient: instance.${field} must be a positive whole number of seconds`);
  }
  if (i.initialStatus !== undefined && !parseStatus(i.initialStatus)) throw new TypeError(`EurekaClient: instance.initialStatus ${String(i.initialStatus)} is not a status`);
  for (const [k, v] of Object.entries(i.metadata ?? {})) if (typeof v !== 'string') throw new TypeError(`EurekaClient: instance.metadata.${k} must be a string`);
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));
