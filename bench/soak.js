'use strict';
// `npm run soak`: the registry under hostile load on its default configuration (auth off). A zone server runs as a
// child process on 127.0.0.1 with one dummy peer (a small http server in this process on 127.0.0.3). While 100 good
// instances register, heartbeat, poll the delta and are watched in GET /eureka/apps/{app}, ≥ 10,000 hostile requests
// of every kind arrive from other loopback addresses (127.0.0.2, 127.0.0.4–20; "the peer" is 127.0.0.3, so a
// per-address connection cap or a peer check can tell them apart):
//  - self-preservation trap: registrations promising a heartbeat every second that never come;
//  - batch bomb: POST /peerreplication/batch, ~16 KB of gzip inflating to ~16 MB of `{}` items, from a non-peer
//    address and from the peer's address;
//  - VIP bomb: registrations listing 64 VIP names each, then GET /vips/{name} for many distinct names;
//  - forged replication (`x-netflix-discovery-replication: true`) writes, `?overriddenstatus=OUT_OF_SERVICE`
//    heartbeats and registrations carrying overriddenStatus OUT_OF_SERVICE, all against the good instances (not
//    cancels or re-registrations with another reported status: with auth off those are any client's right in Eureka);
//  - XML with thousands of attributes / elements / deep nesting / entity expansion, JSON deeply nested or with huge
//    arrays (all within the 64 KB body limit); malformed gzip, wrong content types, garbage paths, bad queries;
//  - clients that abort mid-body; 400 slow-loris connections (headers or body trickled) held open;
//  - 30 oversized (20 MB) registrations streamed with node:http (413 read vs connection reset);
//  - churn: throwaway instances registered and cancelled.
// Targets (exit 0 only when all are met): no 5xx (neither answered nor counted in the server's /metrics, which also
// sees the 500s written to clients already gone), server alive, no good instance lost (a 404 heartbeat, missing from
// an app poll, or absent / not UP at the end), resident memory growth over the post-registration baseline < 300 MB
// and back within a minute after the attack, good heartbeat p99 < 50 ms during the attack (a failed heartbeat counts
// as infinitely slow), and the attack actually delivered (≥ SOAK_HOSTILE_REQUESTS hostile requests).
// Results: markdown on stdout, progress on stderr, everything in bench/results/soak-<time>.json.
//
// Settings (environment variables, defaults in CONFIG, bench/soak/config.js): SOAK_SECONDS (attack, 100), SOAK_WARMUP_SECONDS (8),
// SOAK_RECOVERY_SECONDS (60), SOAK_GOOD_APPS × SOAK_GOOD_PER_APP (10 × 10), SOAK_HEARTBEAT_MS (1000),
// SOAK_LEASE_SECS (6), SOAK_TRAP_LEASE_SECS (30), SOAK_RENEWAL_WINDOW_MS (5000), SOAK_DELTA_POLL_MS (5000), SOAK_DELTA_RETENTION_MS (30000), SOAK_MONITOR_MS (1000), SOAK_HOSTILE_REQUESTS (10000),
// SOAK_HOSTILE_CONCURRENCY (48), SOAK_SLOW_CONNECTIONS (400), SOAK_SLOW_TRICKLE_MS (5000), SOAK_OVERSIZED (30),
// SOAK_OVERSIZED_MB (20), SOAK_BATCH_BOMBS (10), SOAK_RSS_SETTLED_MB (64), SOAK_SERVER (dist/cli.js),
// SOAK_SERVER_ARGS (extra server flags, space-separated). Quick check: SOAK_SECONDS=20 SOAK_HOSTILE_REQUESTS=2000
// SOAK_RECOVERY_SECONDS=15 npm run soak.
// This file runs the phases; bench/soak/ holds the rest: config.js, state.js (clock, phase, per-kind statistics),
// resources.js, processes.js (the server child and its dummy peer), good-clients.js, monitors.js, the attack kinds
// (mixed-stream.js, connection-attacks.js, attack.js) and report.js.
const os = require('node:os');
const { cpuMs, machineCpuMs } = require('./load');
const { MB, CONFIG, PEER_ADDR } = require('./soak/config');
const { sleep, log, run, server } = require('./soak/state');
const { every, clearTimers } = require('./soak/resources');
const { killEverything, freePort, startPeer, startServer, stopServer } = require('./soak/processes');
const { goodAgent, goodRequestsInFlight, goodRequest, goodFleet, good, registerGood, checkApp, startGoodTraffic } = require('./soak/good-clients');
const { rss, selfPreservation, sampleRss, lastRss, sampleHeap, sampleStatus, scrapeMetrics } = require('./soak/monitors');
const { batchBomb, traps } = require('./soak/mixed-stream');
const { bombs } = require('./soak/connection-attacks');
const { runAttack, drainAttack } = require('./soak/attack');
const { fmtMB } = require('./soak/format');
const { report } = require('./soak/report');

async function main() {
  const port = await freePort('127.0.0.1');
  const peerPort = await freePort(PEER_ADDR);
  const loadStart = os.loadavg();
  log(`starting the server (${CONFIG.server}) on 127.0.0.1:${port}, dummy peer on ${PEER_ADDR}:${peerPort}`);
  const peer = await startPeer(peerPort);
  await startServer(port, peerPort);

  // Built before any measurement: compressing 16 MB pauses this process for a moment.
  const bomb = CONFIG.batchBombs > 0 ? batchBomb() : null;
  if (bomb) Object.assign(bombs, { gzipBytes: bomb.gzip.length, inflatedBytes: bomb.inflatedBytes, items: bomb.items });

  // Good fleet.
  good.refs = goodFleet();
  for (let i = 0; i < good.refs.length; i += 10) {
    const statuses = await Promise.all(good.refs.slice(i, i + 10).map(registerGood));
    const bad = statuses.filter((s) => s !== 204 && s !== 200);
    if (bad.length) throw new Error(`good registrations failed before the attack: ${JSON.stringify(bad)}\n${server.tail}`);
  }
  log(`${good.refs.length} good instances registered; warm-up ${CONFIG.warmupSeconds} s`);
  run.phase = 'warmup';
  const byApp = startGoodTraffic();
  every(1000, sampleRss);
  every(2000, () => !server.exited && sampleStatus());
  every(2000, () => !server.exited && sampleHeap());
  await sleep(CONFIG.warmupSeconds * 1000);
  const warm = rss.timeline.slice(-3).map((s) => s.rssMB * MB);
  rss.baseline = warm.length ? warm.reduce((a, b) => a + b, 0) / warm.length : /** @type {number} */ (sampleRss());

  // Attack.
  log(`attack for ${CONFIG.attackSeconds} s: ${CONFIG.hostileRequests} mixed hostile requests, ${CONFIG.slowConnections} slow connections, ${CONFIG.oversized} oversized bodies, ${CONFIG.batchBombs} batch bombs (baseline RSS ${fmtMB(rss.baseline)})`);
  run.phase = 'attack';
  const cpu0 = { server: cpuMs(server.pid), gen: process.cpuUsage(), machine: machineCpuMs(), at: performance.now() };
  await runAttack(bomb);
  const cpu = server.exited
    ? null
    : (() => {
        const wallMs = performance.now() - cpu0.at;
        const serverMs = cpuMs(server.pid) - cpu0.server;
        const g = process.cpuUsage(cpu0.gen);
        const genMs = (g.user + g.system) / 1000;
        const otherMs = Math.max(0, machineCpuMs() - cpu0.machine - serverMs - genMs);
        return { wallMs, serverPct: (serverMs / wallMs) * 100, generatorPct: (genMs / wallMs) * 100, otherPct: (otherMs / wallMs) * 100 };
      })();
  const attackEnded = Date.now();
  run.phase = 'drain';
  log('attack over; closing slow connections, waiting for answers in flight');
  await drainAttack();

  // Recovery: good traffic goes on; wait (bounded) for resident memory to come back near the baseline.
  run.phase = 'recovery';
  const recoveryDeadline = attackEnded + CONFIG.recoverySeconds * 1000;
  const minRecoveryEnd = Date.now() + Math.min(5000, CONFIG.recoverySeconds * 1000);
  while (!server.exited && Date.now() < recoveryDeadline) {
    const now = lastRss();
    if (rss.recoveredAfterSecs === null && now - rss.baseline < CONFIG.rssSettledBytes) rss.recoveredAfterSecs = +((Date.now() - attackEnded) / 1000).toFixed(1);
    if (rss.recoveredAfterSecs !== null && Date.now() >= minRecoveryEnd) break;
    await sleep(1000);
  }
  rss.final = lastRss();
  log(`recovery: RSS ${fmtMB(rss.final)} (baseline ${fmtMB(rss.baseline)}, peak ${fmtMB(rss.peak)})`);

  // Final check, then stop.
  good.running = false;
  run.phase = 'done';
  clearTimers();
  const deadline = Date.now() + 10000;
  while (goodRequestsInFlight() > 0 && Date.now() < deadline) await sleep(50);
  const final = { absent: /** @type {string[]} */ ([]), notUp: /** @type {string[]} */ ([]) };
  /** Trap instances still registered at the end (their leases ran out long before), null when unknown. */
  /** @type {number | null} */
  let trapRemaining = null;
  /** Trap registrations whose lease had run out (with a few seconds for the eviction pass) when the end was checked. */
  let trapExpired = 0;
  /** What the server's /metrics said at the end: 5xx it recorded (including answers to clients already gone). */
  let serverMetrics = null;
  if (!server.exited) {
    for (const [app, refs] of byApp) {
      const r = await checkApp(app, refs, true);
      final.absent.push(...r.absent);
      final.notUp.push(...r.notUp);
    }
    await sampleStatus();
    serverMetrics = await scrapeMetrics();
    const trap = await goodRequest('GET', '/eureka/apps/SOAK-TRAP', undefined, 10000, null);
    try {
      const list = trap.status === 200 ? JSON.parse(/** @type {Buffer} */ (trap.body).toString('utf8')).application.instance : [];
      trapRemaining = Array.isArray(list) ? list.length : 1;
      const cutoff = Date.now() - (CONFIG.trapLeaseSecs + 5) * 1000;
      trapExpired = traps.registeredAt.filter((t) => t < cutoff).length;
    } catch {
      /* unknown */
    }
  } else {
    final.absent.push(...good.refs.map((r) => r.id));
  }
  const trapLeft = selfPreservation.timeline.length ? selfPreservation.timeline[selfPreservation.timeline.length - 1] : null;
  const crashed = server.exited;
  await stopServer();
  goodAgent.destroy();
  const loadEnd = os.loadavg();
  return report({ peer, cpu, final, crashed, trapLeft, loadStart, loadEnd, serverMetrics, trapRemaining, trapExpired });
}

main().then(
  (code) => {
    killEverything();
    process.exit(code);
  },
  (e) => {
    console.error(`soak: ${e && e.stack ? e.stack : e}`);
    killEverything();
    process.exit(1);
  },
);
