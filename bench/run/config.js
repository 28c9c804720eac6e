'use strict';
// The benchmark's settings (environment variables, read once), its targets and the lease its instances ask for.
const path = require('node:path');
const { num } = require('../env');

/** The repository root. */
const ROOT = path.resolve(__dirname, '../..');

const SECONDS = num('BENCH_SECONDS', 5);
const WARMUP = num('BENCH_WARMUP_SECONDS', 1);
const SLICES = Math.max(1, Math.floor(num('BENCH_SLICES', 10)));
const CONFIG = {
  /** Measured seconds per shape and server. */
  seconds: SECONDS,
  /** Unmeasured seconds of the same load before each measurement (JIT, caches, connections). */
  warmupSeconds: WARMUP,
  /**
   * Request shapes: slices each shape's measured seconds are cut into, ours and the bare server taking turns, so that
   * the machine's drift during a run moves both alike (registrations: chunks of the fleet).
   */
  slices: SLICES,
  /** Fresh servers measured per part; medians reported. */
  runs: Math.max(1, Math.floor(num('BENCH_RUNS', 3))),
  apps: Math.floor(num('BENCH_APPS', 100)),
  perApp: Math.floor(num('BENCH_PER_APP', 100)),
  /** Closed-loop connections for small responses (heartbeat, delta, registration). */
  connections: Math.floor(num('BENCH_CONNECTIONS', 32)),
  /** Closed-loop connections for full fetches (multi-MB responses: a few connections saturate the server). */
  fullConnections: Math.floor(num('BENCH_FULL_CONNECTIONS', 4)),
  /** Distinct instances the heartbeat load cycles through. */
  heartbeatTargets: Math.floor(num('BENCH_HEARTBEAT_TARGETS', 1000)),
  /** Instances re-registered (changed) just before the delta measurement: what a delta holds in a live fleet. */
  deltaChanges: Math.floor(num('BENCH_DELTA_CHANGES', 20)),
  /**
   * The server's delta retention (--delta-retention-ms). Eureka keeps 180 s; we shorten it so the bulk registrations
   * leave the delta before it is measured — otherwise /apps/delta right after registering N instances is as big as
   * the full registry, which is a start-up transient, not the delta clients poll all day. It must outlast the delta
   * measurement (ours and the bare server, each warmed up) so the changes under measurement stay in it.
   */
  deltaRetentionMs: Math.floor(num('BENCH_DELTA_RETENTION_MS', Math.max(5000, 2 * (SECONDS + WARMUP) * 1000 + 4000))),
  steadyApps: Math.floor(num('BENCH_STEADY_APPS', 1000)),
  steadyPerApp: Math.floor(num('BENCH_STEADY_PER_APP', 100)),
  steadySeconds: num('BENCH_STEADY_SECONDS', 20),
  steadyRuns: Math.max(0, Math.floor(num('BENCH_STEADY_RUNS', num('BENCH_RUNS', 3)))),
  steadyHeartbeatRate: num('BENCH_STEADY_HEARTBEAT_RATE', 3333),
  steadyDeltaRate: num('BENCH_STEADY_DELTA_RATE', 3333),
  /** Re-registrations per second during the steady load (deploys/restarts), so the delta keeps changing. */
  steadyChurnRate: num('BENCH_STEADY_CHURN', 1),
  /** Most connections the open-loop generator may open. */
  steadySockets: Math.floor(num('BENCH_STEADY_SOCKETS', 256)),
  /** Concurrent registrations while filling the registry. */
  registerConcurrency: Math.floor(num('BENCH_REGISTER_CONCURRENCY', 32)),
  /** Unmeasured seconds of the same open-loop mix before the steady measurement. */
  steadyWarmupSeconds: num('BENCH_STEADY_WARMUP_SECONDS', 2),
  /** Closed-loop client: raw (bench/load.js RawConnection, default) or autocannon (cross-check; its JavaScript HTTP
   * parser saturates the generator core long before the server on multi-MB responses). */
  client: process.env.BENCH_CLIENT || 'raw',
  /** Longest wait, before a measurement, for other processes (builds, tests) to leave the CPUs alone; 0: never wait.
   * Waits add up to at most 4× this per `npm run bench`. Disturbed measurements are flagged either way. */
  quietWaitSeconds: num('BENCH_QUIET_WAIT_SECONDS', 30),
  /** Server entry point (relative to the repo root); override only to benchmark another build. */
  server: process.env.BENCH_SERVER || 'dist/cli.js',
  /**
   * Request shapes only: another build's entry point (e.g. an older commit's dist/cli.js) measured in the bare server's
   * place, sent the same registrations and changes, so that ours / baseline tells whether a change made a shape
   * cheaper or dearer, free of the machine's drift. Empty: the bare server.
   */
  baseline: process.env.BENCH_BASELINE || '',
  /**
   * A directory: each server's and peer's stdout and stderr are also written to <name>-<pid>.log in it (e.g. with
   * `--trace-gc` in BENCH_ZONE_SHARE_NODE_ARGS); empty: kept in memory only, their tail shown when one fails.
   */
  serverLogDir: process.env.BENCH_SERVER_LOG_DIR || '',
  /** Registrations per second sent to zone A while replication lag is measured (open loop). */
  replicationRate: num('BENCH_REPLICATION_RATE', 200),
  /** Instances registered on zone A for the lag measurement; the heartbeat comparison reuses them. */
  replicationInstances: Math.max(1, Math.floor(num('BENCH_REPLICATION_INSTANCES', 1000))),
  /** Longest wait, after the last registration, for zones B and C to show every instance. */
  replicationTimeoutSeconds: num('BENCH_REPLICATION_TIMEOUT_SECONDS', 30),
  /** Pause between two polls of B's and C's /eureka/apps while waiting for them. */
  replicationPollMs: Math.max(10, num('BENCH_REPLICATION_POLL_MS', 200)),
  /** Long-poll watchers (GET /eureka/apps/delta?since=R&wait=…) parked on one server while changes are timed. */
  watchers: Math.max(1, Math.floor(num('BENCH_WATCHERS', 10000))),
  /** Changes (re-registrations) whose delivery to every watcher is timed, per run; every watcher re-parks after each. */
  watchChanges: Math.max(1, Math.floor(num('BENCH_WATCH_CHANGES', 25))),
  /** The watchers' wait=: long enough that no poll runs out while parked (the server clamps it to watchMaxWaitMs). */
  watchWaitSeconds: Math.max(1, Math.floor(num('BENCH_WATCH_WAIT_SECONDS', 60))),
  /**
   * Loopback source addresses the watchers' sockets are spread over (127.0.0.2 on): the server caps connections per
   * client address (maxConnectionsPerAddress, 512), as it would for hosts behind one NAT; real watchers come from many hosts.
   */
  watchAddresses: Math.max(1, Math.floor(num('BENCH_WATCH_ADDRESSES', 39))),
  /** Registrations on zone A whose arrival at a watcher on zone C is timed, per run. */
  watchZoneRegistrations: Math.max(1, Math.floor(num('BENCH_WATCH_ZONE_REGISTRATIONS', 200))),
  /** Pause between two of those registrations (so each is a change of its own, not one batch). */
  watchZoneIntervalMs: Math.max(1, num('BENCH_WATCH_ZONE_INTERVAL_MS', 50)),
  /** Directory for a CPU profile (node --cpu-prof) of the server the watchers park on, summarised over the wakes; empty: none. */
  watchCpuProf: process.env.BENCH_WATCH_CPU_PROF || '',
  /** Comma-separated parts to skip: shapes, bare, steady, replication, watch (watch-bare: only the watch's baselines). */
  skip: new Set((process.env.BENCH_SKIP || '').split(',').map((s) => s.trim()).filter(Boolean)),
};

if (CONFIG.replicationRate <= 0) throw new Error('BENCH_REPLICATION_RATE must be positive');
if (Math.ceil(CONFIG.watchers / CONFIG.watchAddresses) > 500) throw new Error('BENCH_WATCHERS / BENCH_WATCH_ADDRESSES must stay ≤ 500 sockets per address (the server caps 512 per address)');
if (!['raw', 'autocannon'].includes(CONFIG.client)) throw new Error(`BENCH_CLIENT must be raw or autocannon, got ${CONFIG.client}`);

const TARGETS = {
  rssBytes: 1024 ** 3,
  steadyP99Ms: 50,
  replicationLagP99Ms: 1000,
  replicationHeartbeatRatio: 0.8,
  /** A change reaches the last of the parked watchers within this long of the write's answer (p99 over changes). */
  watchWakeP99Ms: 100,
  /** Server memory (RSS) one parked watcher costs. */
  watchBytesPerWatcher: 8192,
  /** Heartbeat throughput with the watchers parked / without. */
  watchHeartbeatRatio: 0.9,
  /** A registration on zone A reaches a watcher on zone C within this long of A's answer (p99). */
  watchZoneP99Ms: 100,
};
/** CPU used by other processes during a measurement (% of one core) above which it counts as disturbed. */
const DISTURBED_PCT = 10;

/**
 * Lease duration the benchmark's instances ask for: Eureka's 90 s, unless a phase may leave instances without a
 * heartbeat for longer (long BENCH_SECONDS): then long enough that no lease expires while it is measured — an
 * expiring registry would change what is measured. Estimates are generous (registration at ≥ 5,000/s; we measured 7,000–12,000/s).
 */
const LEASE_SECS = (() => {
  const retention = CONFIG.deltaRetentionMs / 1000;
  const shapesPhase = (CONFIG.apps * CONFIG.perApp) / 5000 + 6 * (CONFIG.warmupSeconds + CONFIG.seconds) + retention;
  const steadyN = CONFIG.steadyApps * CONFIG.steadyPerApp;
  const walk = CONFIG.steadyHeartbeatRate > 0 ? Math.min(CONFIG.steadySeconds, steadyN / CONFIG.steadyHeartbeatRate) : CONFIG.steadySeconds;
  const steadyPhase = steadyN / 5000 + retention + CONFIG.steadyWarmupSeconds + walk;
  // Replication: registrations, the wait for the peers, a quiet wait, then heartbeats (which renew every lease).
  const replicationPhase = CONFIG.replicationInstances / CONFIG.replicationRate + CONFIG.replicationTimeoutSeconds + CONFIG.quietWaitSeconds + CONFIG.warmupSeconds;
  // Watch: two quiet waits, then the heartbeats with the watchers parked renew every lease; then the changes.
  const watchPhase = 2 * CONFIG.quietWaitSeconds + CONFIG.warmupSeconds + CONFIG.seconds + CONFIG.watchChanges * 3 + 30;
  const needed = Math.max(shapesPhase, steadyPhase, replicationPhase, watchPhase) + 30;
  return needed <= 90 ? 90 : Math.ceil(needed);
})();

module.exports = { ROOT, CONFIG, TARGETS, DISTURBED_PCT, LEASE_SECS };
