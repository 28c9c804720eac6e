// An in-process zone server for HTTP tests: createApp wired as src/server.ts wires it, but on a ManualClock, with a
// silent logger and no schedulers (tests move time and trigger eviction themselves).
import { RequestListener } from 'node:http';
import { defaultSettings, Settings } from '../../src/config/settings';
import { ManualClock } from '../../src/domain/clock';
import { alwaysExpire, ExpiryGate } from '../../src/domain/eviction';
import { Registry } from '../../src/domain/registry';
import { AppDeps, createApp } from '../../src/http/app';
import { ResponseCache } from '../../src/http/response-cache';
import { silentLogger } from '../../src/observability/logger';

/** An app under test and the state behind it. */
export interface TestApp {
  /** The request listener; `request(app)` with supertest. */
  readonly app: RequestListener;
  readonly registry: Registry;
  readonly clock: ManualClock;
  readonly cache: ResponseCache;
  readonly settings: Settings;
  readonly deps: AppDeps;
}

/** Options of {@link makeTestApp}. */
export interface TestAppOptions {
  /** Settings replacing the defaults (e.g. a small maxBodyBytes). */
  readonly settings?: Partial<Settings>;
  readonly clock?: ManualClock;
  readonly expiryGate?: ExpiryGate;
}

/** Builds the deps src/server.ts builds (registry, response cache, limits, server info) and the app over them. */
export function makeTestApp(options: TestAppOptions = {}): TestApp {
  const settings: Settings = { ...defaultSettings(), ...options.settings };
  const clock = options.clock ?? new ManualClock();
  const registry = new Registry({
    clock,
    defaultLeaseDurationMs: settings.leaseDurationSecs * 1000,
    deltaRetentionMs: settings.deltaRetentionMs,
    maxInstancesPerApp: settings.maxInstancesPerApp,
    maxInstances: settings.maxInstances,
    deltaMaxBytes: settings.deltaMaxBytes,
  });
  const cache = new ResponseCache(registry, clock, 0, settings.responseCacheMaxBytes);
  const deps: AppDeps = {
    registry,
    cache,
    clock,
    logger: silentLogger,
    expiryGate: options.expiryGate ?? alwaysExpire,
    isReady: () => true,
    limits: {
      maxBodyBytes: settings.maxBodyBytes,
      maxNameLength: settings.maxNameLength,
      maxMetadataEntries: settings.maxMetadataEntries,
      maxVipAddresses: settings.maxVipAddresses,
      defaultRenewalIntervalSecs: settings.leaseRenewalIntervalSecs,
      defaultDurationSecs: settings.leaseDurationSecs,
    },
    serverInfo: { version: '0.0.0-test', region: settings.region, zone: settings.zone, startedAt: clock.now(), peers: [] },
  };
  return { app: createApp(deps), registry, clock, cache, settings, deps };
}

export * from './bodies';
