// An in-process zone server for HTTP tests: built by the composition root (src/server.ts compose) as a real server
// is, but on a ManualClock, with a silent logger, never listening and with no schedules started (tests move time and
// trigger eviction themselves).
import { RequestListener } from 'node:http';
import { defaultSettings, Settings } from '../../src/config/settings';
import { ManualClock } from '../../src/domain/clock';
import { alwaysExpire, ExpiryGate } from '../../src/domain/eviction';
import { Registry } from '../../src/domain/registry';
import { AppDeps, createApp } from '../../src/http/app';
import { ResponseCache } from '../../src/http/payloads/response-cache';
import { silentLogger } from '../../src/observability/logger';
import { compose } from '../../src/server';
import { ManualScheduler } from './replication-scheduler';

/** An app under test and the state behind it. */
export interface TestApp {
  /** The request listener; `request(app)` with supertest. */
  readonly app: RequestListener;
  readonly registry: Registry;
  readonly clock: ManualClock;
  readonly cache: ResponseCache;
  readonly settings: Settings;
  readonly deps: AppDeps;
  /** Runs the server's timers (watch waits, keep-alives) as the test moves time with advance(). */
  readonly scheduler: ManualScheduler;
  /** The composition root's close(): answers parked watches, ends event streams, detaches listeners. */
  close(): Promise<void>;
}

/** Options of {@link makeTestApp}. */
export interface TestAppOptions {
  /** Settings replacing the defaults (e.g. a small maxBodyBytes). */
  readonly settings?: Partial<Settings>;
  readonly clock?: ManualClock;
  /** Lease expiry rule; default: always expire (no self-preservation). */
  readonly expiryGate?: ExpiryGate;
  /** Random source (watch jitter, eviction order); default Math.random. */
  readonly random?: () => number;
}

/** Composes a server from default settings plus overrides, and the app over its deps. */
export function makeTestApp(options: TestAppOptions = {}): TestApp {
  const settings: Settings = { ...defaultSettings(), ...options.settings };
  const clock = options.clock ?? new ManualClock();
  const scheduler = new ManualScheduler(clock);
  const server = compose(
    { settings, peerSet: { self: undefined, peers: [] } },
    { clock, logger: silentLogger, scheduler, expiryGate: options.expiryGate ?? alwaysExpire, random: options.random },
  );
  // What HTTP tests have always seen: no security (each test brings its own), no settings on the dashboard, and a
  // version of its own.
  const deps: AppDeps = {
    ...server.deps,
    security: undefined,
    settings: undefined,
    serverInfo: { ...server.deps.serverInfo, version: '0.0.0-test' },
  };
  return { app: createApp(deps), registry: server.registry, clock, cache: server.cache, settings, deps, scheduler, close: () => server.close() };
}

export * from './bodies';
