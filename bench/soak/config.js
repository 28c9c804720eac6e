'use strict';
// The soak's settings (environment variables, read once), its targets, and the loopback addresses each kind of
// traffic comes from.
const fs = require('node:fs');
const path = require('node:path');
const { num } = require('../env');

/** The repository root. */
const ROOT = path.resolve(__dirname, '../..');
const MB = 1024 * 1024;

const CONFIG = {
  /** Seconds of hostile traffic. */
  attackSeconds: num('SOAK_SECONDS', 100),
  /** Seconds of good traffic alone before the attack; the RSS baseline is taken at its end. */
  warmupSeconds: num('SOAK_WARMUP_SECONDS', 8),
  /** Longest wait after the attack for resident memory to come back near the baseline. */
  recoverySeconds: num('SOAK_RECOVERY_SECONDS', 60),
  goodApps: Math.max(1, Math.floor(num('SOAK_GOOD_APPS', 10))),
  goodPerApp: Math.max(1, Math.floor(num('SOAK_GOOD_PER_APP', 10))),
  /** Each good instance's heartbeat interval (it also promises this, rounded up to seconds, as renewalIntervalInSecs). */
  heartbeatMs: Math.max(100, num('SOAK_HEARTBEAT_MS', 1000)),
  /** Lease duration of good and hostile instances, and the server's --lease-duration-secs: short, so a good
   * instance whose heartbeats stall is evicted and shows up as lost. */
  leaseSecs: Math.max(1, Math.floor(num('SOAK_LEASE_SECS', 6))),
  /** The server's --renewal-window-ms: self-preservation counts renewals over this window, and suspends expiry for
   * one window after start-up. Shorter than the warm-up, so expiry is judged on renewals when the attack starts. */
  /** Lease the trap registrations ask for: long enough that they pile up, short enough to have run out by the end. */
  trapLeaseSecs: Math.max(1, Math.floor(num('SOAK_TRAP_LEASE_SECS', 30))),
  renewalWindowMs: Math.max(1000, Math.floor(num('SOAK_RENEWAL_WINDOW_MS', 5000))),
  /** Each good instance polls the delta this often. */
  deltaPollMs: Math.max(100, num('SOAK_DELTA_POLL_MS', 5000)),
  /**
   * The server's --delta-retention-ms. Changes must stay in /apps/delta this long (Eureka: 180 s), so what the attack
   * changed is held at least that long; 30 s lets the one-minute recovery see it go.
   */
  deltaRetentionMs: Math.max(1000, num('SOAK_DELTA_RETENTION_MS', 30000)),
  /** Every good app is read (GET /eureka/apps/{app}) this often and checked for its good instances. */
  monitorMs: Math.max(100, num('SOAK_MONITOR_MS', 1000)),
  /** Hostile requests of the mixed stream, spread evenly over the attack (slow-loris, oversized and bombs add to it). */
  hostileRequests: Math.floor(num('SOAK_HOSTILE_REQUESTS', 10000)),
  /** Most hostile requests of the mixed stream in flight at once. */
  hostileConcurrency: Math.max(1, Math.floor(num('SOAK_HOSTILE_CONCURRENCY', 48))),
  slowConnections: Math.floor(num('SOAK_SLOW_CONNECTIONS', 400)),
  /** A slow connection sends its next header line or body byte this often. */
  slowTrickleMs: Math.max(100, num('SOAK_SLOW_TRICKLE_MS', 5000)),
  oversized: Math.floor(num('SOAK_OVERSIZED', 30)),
  oversizedBytes: Math.floor(num('SOAK_OVERSIZED_MB', 20) * MB),
  /** Batch bombs, alternately from a non-peer address and from the peer's; one in flight at a time. */
  batchBombs: Math.floor(num('SOAK_BATCH_BOMBS', 10)),
  /** Resident memory counts as back once within this of the baseline. */
  rssSettledBytes: num('SOAK_RSS_SETTLED_MB', 64) * MB,
  server: process.env.SOAK_SERVER || 'dist/cli.js',
  serverExtraArgs: (process.env.SOAK_SERVER_ARGS || '').split(/\s+/).filter(Boolean),
};

const TARGETS = { rssGrowthBytes: 300 * MB, heartbeatP99Ms: 50 };

const GOOD_ADDR = '127.0.0.1';
const NON_PEER_ADDR = '127.0.0.2';
const PEER_ADDR = '127.0.0.3';
const addrs = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => `127.0.0.${from + i}`);
/** Slow-loris connections come from these. */
const SLOW_ADDRS = addrs(4, 11);
/** The rest of the hostile traffic (besides the forged writes and bombs, from NON_PEER_ADDR / PEER_ADDR). */
const HOSTILE_ADDRS = addrs(12, 20);

const NODE = fs.existsSync(path.join(ROOT, 'node_modules/.bin/node')) ? path.join(ROOT, 'node_modules/.bin/node') : process.execPath;

module.exports = { ROOT, MB, CONFIG, TARGETS, GOOD_ADDR, NON_PEER_ADDR, PEER_ADDR, SLOW_ADDRS, HOSTILE_ADDRS, NODE };
