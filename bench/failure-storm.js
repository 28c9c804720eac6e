'use strict';
// Failure storm: three zone servers on 127.0.0.1 hold 60,000 instances (600 apps × 100; 20,000 registered on each,
// by the instance's metadata zone, replication brings them to all three); every client heartbeats its own zone's server
// every 30 s. Then zone C's server is killed (SIGKILL) and its 20,000 clients move to A or B (split by a hash of the
// instance id), each re-registering and fetching the registry there, spread evenly over 30 s (open loop), while A's
// and B's own clients go on heartbeating; 30 s after moving, each moved client heartbeats its new server.
// Measured: errors, latencies of the re-registrations and fetches, whether self-preservation engages on A or B (it
// must not: C's instances keep renewing once moved, and those not yet moved are missing for at most 30 s), CPU, RSS.
//
// Two variants, each on a fresh cluster:
//  - full: each moved client fetches the full registry (GET /eureka/apps, JSON, gzip) — the scenario as stated, ~667
//    fetches of several MB per second; what this machine carries is measured and stated against what it needs.
//  - delta: the Java client's own behaviour. Its heartbeats and fetches just go to the next server in its list; it
//    fetches the delta on its 30 s schedule and the full registry only when the delta's apps hashcode disagrees with
//    its local copy. So each moved client fetches the delta (JSON, gzip); the apps hashcode A and B announce is
//    sampled every second to tell whether any such client would have fallen back to a full fetch.
//
// Pinning on 2 cores: A and B share core 0; C and this process (the load generator) share core 1 — after the kill,
// the generator has core 1 to itself. Each surviving server thus has half a core, as if both lived on one machine:
// a pessimistic bound for servers that each have their own machine in a region.
//
// Usage: npm run build && node bench/failure-storm.js      (also a part of `npm run bench`; settings: see CONFIG; ≈ 3 min per variant)
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { num } = require('./env');
const { fleet, heartbeatPath, registrationBody, registrationPath } = require('./instances');
const { cpuMs, machineCpuMs, coreTicks, memory, request, openLoop, closedLoop } = require('./load');
const { CONFIG: BENCH } = require('./run/config');
const { tempDirs, freePort, sleep, startProcess, stopProcess, serverScript, awaitQuiet, assertAlive } = require('./run/processes');
const { loopStats, requestDurations, serverP99, tcpCounters, tcpSince } = require('./run/stalls');

const CONFIG = {
  apps: Math.floor(num('BENCH_STORM_APPS', 600)),
  perApp: Math.floor(num('BENCH_STORM_PER_APP', 100)),
  /** The moved clients' re-registrations and fetches are spread over this long, s. */
  rampSeconds: Math.max(1, num('BENCH_STORM_RAMP_SECONDS', 30)),
  /**
   * Heartbeats of every zone before the kill, s: at least a renewal window (60 s), so that self-preservation judges
   * renewals (it does not in a server's first window) over a window full of them.
   */
  beforeSeconds: num('BENCH_STORM_BEFORE_SECONDS', 60),
  /** After the ramp, s: the moved clients heartbeat their new server, self-preservation is watched. */
  afterSeconds: num('BENCH_STORM_AFTER_SECONDS', 35),
  /** Comma-separated: full (the scenario as stated), delta (the Java client's behaviour). */
  variants: (process.env.BENCH_STORM_VARIANTS || 'full,delta').split(',').map((s) => s.trim()).filter(Boolean),
  /**
   * Most connections of the moved clients' registrations, and as many of their fetches, per server. Each of the
   * 20,000 clients has a connection of its own; with 256, requests waited in the generator for one of its connections
   * (7 % of one server's re-registrations and 39 % of its fetches in one run), which measured the generator. 2,048 a
   * stream, 8,192 in all, stays within a 20,000 open-file limit.
   */
  sockets: Math.floor(num('BENCH_STORM_SOCKETS', 2048)),
  /** Closed-loop full fetches on A before the storm, s: what one server and this machine carry. */
  capacitySeconds: num('BENCH_STORM_CAPACITY_SECONDS', 5),
  /** Clients' heartbeat and fetch interval, s. */
  clientIntervalSecs: 30,
  /** More arguments for the three servers, space-separated (e.g. `--response-cache-max-staleness-ms 1000`). */
  serverArgs: (process.env.BENCH_STORM_SERVER_ARGS || '').split(' ').filter(Boolean),
  /** Node options for the three servers, space-separated (e.g. `--cpu-prof`). */
  serverNodeArgs: (process.env.BENCH_STORM_NODE_ARGS || '').split(' ').filter(Boolean),
};
/**
 * The servers' delta retention, s: the storm's changes stay in the delta for the whole ramp (as with Eureka's 180 s),
 * while the initial registrations, made before the heartbeats that precede the kill, have left it when the storm
 * starts (as in a region that has run for hours).
 */
const deltaRetentionSecs = () => CONFIG.rampSeconds + 20;
if (CONFIG.beforeSeconds < deltaRetentionSecs() + 5) throw new Error(`BENCH_STORM_BEFORE_SECONDS must be at least BENCH_STORM_RAMP_SECONDS + 25 (${deltaRetentionSecs() + 5}), so that the initial registrations leave the delta before the kill`);
for (const v of CONFIG.variants) if (!['full', 'delta'].includes(v)) throw new Error(`BENCH_STORM_VARIANTS: unknown variant ${v} (full, delta)`);
const TARGETS = { p99Ms: 1000 };
const JSON_GZIP = { accept: 'application/json', 'accept-encoding': 'gzip' };
const FETCH = { full: { method: 'GET', path: '/eureka/apps', headers: JSON_GZIP }, delta: { method: 'GET', path: '/eureka/apps/delta', headers: JSON_GZIP } };
const ZONES = ['a', 'b', 'c'];

const loadAverage = () => Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const registerSpec = (ref) => ({
  method: 'POST',
  path: registrationPath(ref),
  headers: { 'content-type': 'application/json', accept: 'application/json' },
  body: registrationBody(ref),
});
const heartbeatSpec = (ref) => ({ method: 'PUT', path: heartbeatPath(ref), headers: { accept: 'application/json' } });

async function status(port) {
  const res = await request(port, { method: 'GET', path: '/eureka/status', headers: { accept: 'application/json' } }, 10000);
  if (res.status !== 200) throw new Error(`GET /eureka/status answered ${res.status}`);
  return JSON.parse(res.body.toString('utf8'));
}

/** /eureka/status, asked again (each ask waits up to 10 s) until it answers or `patienceMs` have passed. */
async function settledStatus(port, patienceMs = 120000) {
  const deadline = performance.now() + patienceMs;
  for (;;) {
    try {
      return await status(port);
    } catch (err) {
      if (performance.now() > deadline) throw err;
      await sleep(1000);
    }
  }
}

/** Starts the three zones: A and B on core 0, C on core 1 (with the generator). */
async function startCluster(dir) {
  const ports = [];
  while (ports.length < 3) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const file = path.join(dir, 'zones.json');
  fs.writeFileSync(file, JSON.stringify({ region: 'bench', zones: Object.fromEntries(ZONES.map((z, i) => [z, [`http://127.0.0.1:${ports[i]}/eureka/`]])), settings: {} }, null, 2));
  const retentionMs = deltaRetentionSecs() * 1000;
  const procs = [];
  try {
    for (let i = 0; i < 3; i++) {
      // The generator stands for 20,000 clients from one address: the per-address connection cap (512, meant for one
      // misbehaving client) would close its connections past 512 as they arrive, which 20,000 real clients would not meet.
      const args = [
        '--port', String(ports[i]), '--host', '127.0.0.1', '--log-level', 'warn', '--config', file, '--zone', ZONES[i],
        '--sync-failure-mode', 'serve', '--sync-attempts', '1', '--delta-retention-ms', String(retentionMs),
        '--max-connections-per-address', '0', ...CONFIG.serverArgs,
      ];
      procs.push(await startProcess(`zone ${ZONES[i].toUpperCase()}`, serverScript(), args, ports[i], i === 2 ? 1 : 0, CONFIG.serverNodeArgs));
    }
  } catch (err) {
    for (const p of procs) await stopProcess(p);
    throw err;
  }
  return { procs, retentionMs };
}

/**
 * Polls /eureka/status of each server every second (each on its own, so a stalled one does not hold up the other)
 * until `stop()`; each sample: time since the kill and the gate's state, or `unanswered` (no answer within 10 s). Each
 * second also reads the server's /metrics: its longest event-loop delay since the read before (`loopMaxMs`), which
 * tells a stall of the server from one elsewhere (the generator, the machine's network stack).
 */
function watchStatus(servers, t0) {
  /** @type {{ server: string, atMs: number, active: boolean, cause: string, renewals: number, threshold: number, expected: number, instances: number, hashcode: string }[]} */
  const samples = [];
  /** @type {{ server: string, atMs: number, sinceMs: number, loopMaxMs: number }[]} */
  const loops = [];
  let running = true;
  const watchers = servers.map(async (s) => {
    let last = performance.now() - t0;
    await loopStats(s.port).catch(() => undefined); // the delay from now on
    while (running) {
      const next = performance.now() + 1000;
      try {
        const st = await status(s.port);
        const sp = st.selfPreservation || {};
        samples.push({ server: s.name, atMs: performance.now() - t0, active: !!sp.active, cause: sp.cause, renewals: sp.renewalsLastMin, threshold: sp.threshold, expected: sp.expectedRenewalsPerMin, instances: st.registry.instances, hashcode: st.registry.appsHashcode });
      } catch {
        samples.push({ server: s.name, atMs: performance.now() - t0, active: false, cause: 'unanswered', renewals: NaN, threshold: NaN, expected: NaN, instances: NaN, hashcode: '' });
      }
      const loop = await loopStats(s.port).catch(() => undefined);
      const atMs = performance.now() - t0;
      if (loop !== undefined && Number.isFinite(loop.maxMs)) loops.push({ server: s.name, atMs, sinceMs: last, loopMaxMs: loop.maxMs });
      last = atMs;
      await sleep(Math.max(0, next - performance.now()));
    }
  });
  return { samples, loops, stop: async () => ((running = false), await Promise.all(watchers)) };
}

/**
 * The storm's seconds (since the kill) in which a request waited over `limitMs` (p99 of the second's requests, either
 * server), and of those, the ones in which neither server's event loop was held up over `loopLimitMs` (each second is
 * judged by the servers' reads that cover it): the waits that were not the servers'.
 * @param {{ timeline: { second: number, p99: number }[] }[]} streams
 * @param {{ server: string, sinceMs: number, atMs: number, loopMaxMs: number }[]} loops
 */
function slowSeconds(streams, loops, servers, limitMs = 1000, loopLimitMs = 500) {
  const slow = new Set();
  for (const s of streams) for (const t of s.timeline || []) if (t.p99 > limitMs) slow.add(t.second);
  const seconds = [...slow].sort((a, b) => a - b);
  // A read covers the seconds from the read before it to itself.
  const worst = (server, second) => Math.max(-1, ...loops.filter((l) => l.server === server && l.sinceMs < (second + 1) * 1000 && l.atMs > second * 1000).map((l) => l.loopMaxMs));
  const notTheServers = seconds.filter((sec) => servers.every((name) => { const w = worst(name, sec); return w >= 0 && w <= loopLimitMs; }));
  return { seconds, notTheServers };
}

/**
 * The server's own account: the lines it logs when self-preservation engages or lets go (its eviction pass, every
 * 5 s, logs them), with the time they were read.
 * @param {import('./run/processes').Proc} proc
 */
function selfPreservationLog(proc) {
  /** @type {{ atMs: number, line: string }[]} */
  const lines = [];
  let rest = '';
  const read = (chunk) => {
    const text = rest + chunk.toString();
    const parts = text.split('\n');
    rest = /** @type {string} */ (parts.pop());
    for (const line of parts) if (line.includes('self-preservation engaged') || line.includes('self-preservation released')) lines.push({ atMs: performance.now(), line: line.slice(0, 400) });
  };
  proc.child.stdout?.on('data', read);
  proc.child.stderr?.on('data', read);
  return lines;
}

/** One variant on a fresh cluster. */
async function stormRun(variant, log) {
  const refs = fleet(CONFIG.apps, CONFIG.perApp);
  const n = refs.length;
  const byZone = [0, 1, 2].map((z) => refs.filter((r) => r.index % 3 === z));
  // C's clients move to A or B by a hash of their instance id.
  const moved = /** @type {import('./instances').InstanceRef[][]} */ ([[], []]);
  for (const r of byZone[2]) moved[zlib.crc32(r.id) % 2].push(r);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eureka-bench-storm-'));
  tempDirs.add(dir);
  const out = /** @type {Record<string, any>} */ ({ variant, instances: n, moved: [moved[0].length, moved[1].length], loadAverageAtStart: loadAverage() });
  let procs = [];
  try {
    const cluster = await startCluster(dir);
    procs = cluster.procs;
    out.deltaRetentionMs = cluster.retentionMs;
    const [A, B, C] = procs;
    const spLogs = [A, B].map(selfPreservationLog);
    log(`zones A ${A.pid}:${A.port}, B ${B.pid}:${B.port} (core 0), C ${C.pid}:${C.port} (core 1); registering ${byZone[0].length} on each`);
    await awaitQuiet(A);
    const t0 = performance.now();
    const regs = await Promise.all(procs.map((p, z) => closedLoop({ port: p.port, connections: 16, seconds: 300, count: byZone[z].length, spec: (i) => registerSpec(byZone[z][i]) })));
    regs.forEach((r, z) => {
      if (!r.complete || r.non2xx) throw new Error(`zone ${ZONES[z]}: registrations ${JSON.stringify(r.statuses)}, ${r.errors} errors`);
    });
    out.registerSeconds = (performance.now() - t0) / 1000;
    for (let i = 0; ; i++) {
      const held = await Promise.all(procs.map(async (p) => (await status(p.port)).registry.instances));
      if (held.every((h) => h === n)) break;
      if (i >= 120) throw new Error(`replication did not bring every instance to every zone: ${held.join(', ')} of ${n}`);
      await sleep(500);
    }
    out.replicatedSeconds = (performance.now() - t0) / 1000;

    // What one server (and the generator) carry of the fetch the moved clients make, closed loop.
    // (The delta's size is that of the storm's own changes, known only once they are made.)
    const fetch = FETCH[variant];
    // Both survivors have served this fetch before, as any server in a running region has (its clients fetched the
    // registry when they started): the storm does not find one of them building its first document from scratch.
    const served = await Promise.all([A, B].map((p) => request(p.port, fetch)));
    if (variant === 'full') out.fetchBytes = served[0].body.length;
    if (variant === 'full' && CONFIG.capacitySeconds > 0) {
      await awaitQuiet(A);
      const opts = { port: A.port, requests: [fetch], connections: BENCH.fullConnections };
      await closedLoop({ ...opts, seconds: 1 });
      const c0 = cpuMs(A.pid);
      const cap = await closedLoop({ ...opts, seconds: CONFIG.capacitySeconds });
      out.capacity = { rps: cap.rps, bytesPerSec: cap.bytes / cap.seconds, p99: cap.p99, serverCpuPct: ((cpuMs(A.pid) - c0) / (cap.seconds * 1000)) * 100, connections: BENCH.fullConnections };
      log(`${variant} fetch on A, closed loop: ${cap.rps.toFixed(0)}/s, ${(cap.bytes / cap.seconds / 1e6).toFixed(0)} MB/s (${(out.fetchBytes / 1e6).toFixed(2)} MB each)`);
    }

    // Before the kill: every zone's clients heartbeat their server.
    const walks = [0, 0, 0];
    const hbStream = (z) => ({ name: 'heartbeat', rate: byZone[z].length / CONFIG.clientIntervalSecs, next: () => heartbeatSpec(byZone[z][(walks[z]++ * 7919) % byZone[z].length]) });
    log(`heartbeats on every zone, ${(byZone[0].length / CONFIG.clientIntervalSecs).toFixed(0)}/s each, for ${CONFIG.beforeSeconds} s`);
    const before = await Promise.all(procs.map((p, z) => openLoop({ port: p.port, streams: [hbStream(z)], seconds: CONFIG.beforeSeconds, maxSockets: 64 })));
    out.before = before.map((r) => r.streams[0]);
    out.beforeStatus = await Promise.all([A, B].map(async (p) => {
      const st = await status(p.port);
      return { selfPreservation: st.selfPreservation, instances: st.registry.instances, hashcode: st.registry.appsHashcode };
    }));
    for (const p of procs) assertAlive(p);

    // The storm.
    out.loadAverageAtKill = loadAverage();
    const cpu0 = { a: cpuMs(A.pid), b: cpuMs(B.pid), machine: machineCpuMs(), gen: process.cpuUsage(), cores: coreTicks() };
    const rss0 = [memory(A.pid).rss, memory(B.pid).rss];
    const tcp0 = tcpCounters();
    // The servers' own request times, before and after the storm: how long they held its requests themselves.
    const fetchRoute = variant === 'full' ? '/apps' : '/apps/delta';
    const held0 = await Promise.all([A, B].map((p) => Promise.all([requestDurations(p.port, 'POST', '/apps/:app'), requestDurations(p.port, 'GET', fetchRoute)])));
    const killed = new Promise((r) => C.child.once('exit', r));
    C.child.kill('SIGKILL');
    await killed;
    const tKill = performance.now();
    log(`zone C killed; ${moved[0].length} clients move to A, ${moved[1].length} to B over ${CONFIG.rampSeconds} s (${variant} fetch), A's and B's own clients heartbeat on`);
    const watcher = watchStatus([A, B], tKill);
    const total = CONFIG.rampSeconds + CONFIG.afterSeconds;
    const own = [A, B].map((p, z) => openLoop({ port: p.port, streams: [hbStream(z)], seconds: total, maxSockets: 64 }));
    // Registrations and fetches on connections of their own: each is a different client's request, and a client's
    // registration does not wait for another client's fetch to free a connection.
    const stormLoop = (p, z, stream) => {
      const rate = moved[z].length / CONFIG.rampSeconds;
      // (count + 0.5) / rate: exactly `count` requests, whatever the rounding.
      return openLoop({ port: p.port, streams: [{ ...stream, rate }], seconds: (moved[z].length + 0.5) / rate, maxSockets: CONFIG.sockets, drainSeconds: CONFIG.afterSeconds });
    };
    const storm = [A, B].map(async (p, z) => {
      const [reg, fet] = await Promise.all([
        stormLoop(p, z, { name: 'register', next: (k) => registerSpec(moved[z][k]) }),
        stormLoop(p, z, { name: variant, next: () => fetch }),
      ]);
      return { register: reg.streams[0], fetch: fet.streams[0], seconds: Math.max(reg.seconds, fet.seconds), sendLagP99Ms: Math.max(reg.sendLagP99Ms, fet.sendLagP99Ms), connections: reg.connections + fet.connections, maxInFlight: reg.maxInFlight + fet.maxInFlight, connectP99Ms: Math.max(reg.connectP99Ms, fet.connectP99Ms), queued: { register: reg.queuedRequests, fetch: fet.queuedRequests } };
    });
    // Each moved client's next heartbeat, one interval after it moved, on its new server.
    const movedHb = [A, B].map(async (p, z) => {
      await sleep(Math.max(0, tKill + CONFIG.clientIntervalSecs * 1000 - performance.now()));
      const list = moved[z];
      return openLoop({ port: p.port, streams: [{ name: 'moved heartbeat', rate: list.length / CONFIG.rampSeconds, next: (k) => heartbeatSpec(list[k % list.length]) }], seconds: Math.max(1, total - CONFIG.clientIntervalSecs), maxSockets: 64 });
    });
    const [ownR, stormR, movedR] = await Promise.all([Promise.all(own), Promise.all(storm), Promise.all(movedHb)]);
    const wallMs = performance.now() - tKill;
    const g = process.cpuUsage(cpu0.gen);
    const cpuA = cpuMs(A.pid) - cpu0.a;
    const cpuB = cpuMs(B.pid) - cpu0.b;
    const genMs = (g.user + g.system) / 1000;
    const machineMs = machineCpuMs() - cpu0.machine;
    const cores = coreTicks().map(([busy, all], i) => (100 * (busy - cpu0.cores[i][0])) / Math.max(1, all - cpu0.cores[i][1]));
    await watcher.stop();
    out.tcp = tcpSince(tcp0);
    const held1 = await Promise.all([A, B].map((p) => Promise.all([requestDurations(p.port, 'POST', '/apps/:app'), requestDurations(p.port, 'GET', fetchRoute)])));
    out.serverP99 = [0, 1].map((z) => {
      const p99 = (k) => (held0[z][k] && held1[z][k] ? serverP99(held0[z][k], held1[z][k]) : undefined);
      return { register: p99(0), fetch: p99(1) };
    });
    out.loops = watcher.loops;
    out.cpuPct = { a: (cpuA / wallMs) * 100, b: (cpuB / wallMs) * 100, generator: (genMs / wallMs) * 100, other: (Math.max(0, machineMs - cpuA - cpuB - genMs) / wallMs) * 100, core0Busy: cores[0], core1Busy: cores[1] };
    out.stormSeconds = wallMs / 1000;
    for (const p of [A, B]) assertAlive(p);
    out.rss = [A, B].map((p, i) => ({ before: rss0[i], after: memory(p.pid).rss, peak: memory(p.pid).peakRss }));
    out.own = ownR.map((r) => ({ ...r.streams[0], sendLagP99Ms: r.sendLagP99Ms }));
    out.storm = stormR;
    out.movedHeartbeats = movedR.map((r) => r.streams[0]);
    // Once the backlog is worked off (a server still busy with it may not answer at once).
    out.after = await Promise.all([A, B].map(async (p) => (await settledStatus(p.port)).registry.instances));

    // Self-preservation over the storm: engaged at any sample, and the smallest margin above its threshold.
    out.selfPreservation = ['A', 'B'].map((name, i) => {
      const mine = watcher.samples.filter((s) => s.server === `zone ${name}`);
      const answered = mine.filter((s) => s.cause !== 'unanswered');
      const engaged = answered.filter((s) => s.active);
      const margins = answered.filter((s) => s.threshold > 0).map((s) => s.renewals / s.threshold);
      const logged = spLogs[i].map((l) => ({ atMs: l.atMs - tKill, line: l.line }));
      return {
        samples: mine.length,
        unanswered: mine.length - answered.length,
        engaged: engaged.length,
        firstEngagedAtMs: engaged.length ? engaged[0].atMs : null,
        causes: [...new Set(engaged.map((s) => s.cause))],
        minRenewalsOverThreshold: margins.length ? Math.min(...margins) : NaN,
        hashcodes: [...new Set(answered.map((s) => s.hashcode))],
        // What the server logged (its eviction pass judges every 5 s, whether or not a poll got through).
        logged,
        loggedEngaged: logged.filter((l) => l.line.includes('engaged')).length,
      };
    });
    out.samples = watcher.samples;
    // Bytes the moved clients' fetches needed and got (each client once, within the ramp).
    const fetched = out.storm.reduce((t, s) => t + s.fetch.bytesPerResponse * s.fetch.completed, 0);
    if (variant === 'delta') out.fetchBytes = fetched / out.storm.reduce((t, s) => t + s.fetch.completed, 0);
    out.bytes = {
      requiredPerSec: (byZone[2].length * out.fetchBytes) / CONFIG.rampSeconds,
      achievedPerSec: fetched / Math.max(...out.storm.map((s) => s.seconds)),
      fetchedTotal: fetched,
    };
    out.loadAverageAtEnd = loadAverage();
  } finally {
    for (const p of procs) await stopProcess(p);
    fs.rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
  return out;
}

/** Runs each variant on a fresh cluster. */
async function failureStormBench(log = (m) => console.error(m)) {
  const runs = [];
  for (const v of CONFIG.variants) runs.push(await stormRun(v, (m) => log(`  [storm ${v}] ${m}`)));
  return { runs };
}

/** The part's report lines (markdown). */
function report({ runs }) {
  const fmt = (v, d = 0) => (typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');
  const ms = (v) => (typeof v === 'number' && Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(0)) : '–');
  const ok = (c) => (c ? '✅' : '❌');
  const lines = [];
  for (const r of runs) {
    const [sa, sb] = r.storm;
    const errs = (x) => x.errors + x.non2xx;
    const stormErrors = r.storm.reduce((t, s) => t + errs(s.register) + errs(s.fetch), 0);
    const otherErrors = r.own.reduce((t, x) => t + errs(x), 0) + r.movedHeartbeats.reduce((t, x) => t + errs(x), 0) + r.before.reduce((t, x) => t + errs(x), 0);
    const regP99 = Math.max(sa.register.p99, sb.register.p99);
    const fetchP99 = Math.max(sa.fetch.p99, sb.fetch.p99);
    const sp = r.selfPreservation;
    const unanswered = (s) => (s.unanswered ? `; /eureka/status unanswered within 10 s ${s.unanswered} times` : '');
    const logged = (s) => (s.loggedEngaged ? `; logged "self-preservation engaged" ${s.loggedEngaged} time(s), first ${fmt(s.logged.find((l) => l.line.includes('engaged')).atMs / 1000, 1)} s after the kill` : '; never logged engaging');
    const spLine = (name, s) =>
      s.engaged
        ? `${name}: engaged in ${s.engaged} of ${s.samples} samples (${s.causes.join(', ')}), first ${fmt(s.firstEngagedAtMs / 1000, 1)} s after the kill${unanswered(s)}${logged(s)}`
        : `${name}: not in ${s.samples - s.unanswered} answered samples (renewals ≥ ${fmt(s.minRenewalsOverThreshold, 2)} × threshold)${unanswered(s)}${logged(s)}`;
    // Engaged by the polls or by the server's own log; unknown when most polls went unanswered and nothing was logged.
    const spVerdict = sp.some((s) => s.engaged || s.loggedEngaged) ? 'never ❌' : sp.some((s) => s.unanswered > s.samples / 2) ? 'never: unknown ❌' : 'never ✅';
    const label = r.variant === 'full' ? 'full fetch (GET /eureka/apps, JSON, gzip) — the scenario as stated' : "delta fetch (GET /eureka/apps/delta, JSON, gzip) — the Java client's behaviour";
    const fetchRow = (s) => `${fmt(s.fetch.achievedRps)} /s of ${fmt(s.fetch.target)} · p50 ${ms(s.fetch.p50)} ms · p99 ${ms(s.fetch.p99)} ms · ${fmt(s.fetch.errors + s.fetch.non2xx)} failed`;
    lines.push(
      `### Zone failure storm, ${label}: ${fmt(r.instances)} instances, zone C killed, ${fmt(r.moved[0] + r.moved[1])} clients move to A (${fmt(r.moved[0])}) and B (${fmt(r.moved[1])}) over ${fmt(CONFIG.rampSeconds)} s`,
      '',
      '| Metric | Value | Target |',
      '|---|--:|:-:|',
      `| errors: storm (re-registrations, fetches) · heartbeats | ${fmt(stormErrors)} · ${fmt(otherErrors)} | 0 ${ok(stormErrors + otherErrors === 0)} |`,
      `| re-registrations on A · B | p50 ${ms(sa.register.p50)} · ${ms(sb.register.p50)} ms, p99 ${ms(sa.register.p99)} · ${ms(sb.register.p99)} ms | p99 < ${fmt(TARGETS.p99Ms)} ms ${ok(regP99 < TARGETS.p99Ms)} |`,
      `| ${r.variant} fetches (${r.variant === 'full' ? '' : 'mean '}${(r.fetchBytes / 1e6).toFixed(2)} MB each), A | ${fetchRow(sa)} | p99 < ${fmt(TARGETS.p99Ms)} ms ${ok(fetchP99 < TARGETS.p99Ms && stormErrors === 0)} |`,
      `| ${r.variant} fetches, B | ${fetchRow(sb)} | |`,
      `| fetch bytes: needed · carried | ${fmt(r.bytes.requiredPerSec / 1e6)} MB/s · ${fmt(r.bytes.achievedPerSec / 1e6)} MB/s | |`,
    );
    if (r.capacity) lines.push(`| closed loop on A before the storm, registry unchanged (its cached payload; ${r.capacity.connections} connections) | ${fmt(r.capacity.rps, 1)} fetches/s · ${fmt(r.capacity.bytesPerSec / 1e6)} MB/s · p99 ${ms(r.capacity.p99)} ms · A's CPU ${fmt(r.capacity.serverCpuPct)} % | |`);
    lines.push(
      `| own clients' heartbeats during the storm, A · B | ${fmt(r.own[0].achievedRps)} · ${fmt(r.own[1].achievedRps)} /s, p99 ${ms(r.own[0].p99)} · ${ms(r.own[1].p99)} ms | |`,
      `| moved clients' next heartbeats, A · B | ${fmt(r.movedHeartbeats[0].achievedRps)} · ${fmt(r.movedHeartbeats[1].achievedRps)} /s, p99 ${ms(r.movedHeartbeats[0].p99)} · ${ms(r.movedHeartbeats[1].p99)} ms | |`,
      `| self-preservation engaged | ${spLine('A', sp[0])}; ${spLine('B', sp[1])} | ${spVerdict} |`,
      `| instances held after: A · B | ${fmt(r.after[0])} · ${fmt(r.after[1])} | ${fmt(r.instances)} ${ok(r.after.every((x) => x === r.instances))} |`,
    );
    if (r.variant === 'delta') {
      const hashes = [...new Set(sp.flatMap((s) => s.hashcodes))];
      lines.push(`| apps hashcode on A and B during the storm (a Java client full-fetches when it differs from its copy's) | ${hashes.join(', ')} (before: ${r.beforeStatus.map((s) => s.hashcode).join(', ')}) | unchanged ${ok(hashes.length === 1 && hashes[0] === r.beforeStatus[0].hashcode)} |`);
    }
    lines.push(
      `| CPU from the kill to the end (${fmt(r.stormSeconds)} s): A · B (sharing core 0) · generator | ${fmt(r.cpuPct.a)} % · ${fmt(r.cpuPct.b)} % · ${fmt(r.cpuPct.generator)} % of a core (core 0 ${fmt(r.cpuPct.core0Busy)} % busy, core 1 ${fmt(r.cpuPct.core1Busy)} %, incl. network softirq) | |`,
      `| RSS before → after (peak): A · B | ${r.rss.map((m) => `${fmt(m.before / 2 ** 20)} → ${fmt(m.after / 2 ** 20)} MiB (${fmt(m.peak / 2 ** 20)})`).join(' · ')} | |`,
      `| generator send lag p99 · connections (A · B) · other processes' CPU · load average at the kill | ${ms(Math.max(sa.sendLagP99Ms, sb.sendLagP99Ms))} ms · ${fmt(sa.connections)} · ${fmt(sb.connections)} · ${fmt(r.cpuPct.other)} % · ${fmt(r.loadAverageAtKill, 2)} | |`,
    );
    if (r.loops) {
      const longest = (name) => Math.max(...r.loops.filter((l) => l.server === name).map((l) => l.loopMaxMs));
      const slow = slowSeconds([sa.register, sa.fetch, sb.register, sb.fetch], r.loops, ['zone A', 'zone B']);
      const list = (secs) => (secs.length ? ` (${secs.join(', ')})` : '');
      lines.push(`| the servers' own event-loop delay (their /metrics, read every second): longest, A · B · seconds of the storm with a request waiting over 1 s (p99) · of them, seconds with neither server's loop held up over 0.5 s (the wait was elsewhere) | ${ms(longest('zone A'))} · ${ms(longest('zone B'))} ms · ${fmt(slow.seconds.length)}${list(slow.seconds)} · ${fmt(slow.notTheServers.length)}${list(slow.notTheServers)} | |`);
    }
    if (sa.connectP99Ms !== undefined) {
      lines.push(`| the generator: connect p99, A · B · the storm's requests that waited for one of its ${fmt(CONFIG.sockets)} connections a stream (re-registrations, fetches), A · B | ${ms(sa.connectP99Ms)} · ${ms(sb.connectP99Ms)} ms · ${fmt(sa.queued.register)}, ${fmt(sa.queued.fetch)} · ${fmt(sb.queued.register)}, ${fmt(sb.queued.fetch)} | |`);
    }
    if (r.serverP99) {
      const sec = (v) => (v === undefined ? '–' : v === Infinity ? '> 10' : `≤ ${fmt(v, v < 1 ? 2 : 1)}`);
      lines.push(`| the servers' own time for the storm's requests, from reading each to writing its answer (their request-duration histograms; p99 as a bucket bound, s): re-registrations A · B, fetches A · B | ${r.serverP99.map((x) => sec(x.register)).join(' · ')} s, ${r.serverP99.map((x) => sec(x.fetch)).join(' · ')} s | |`);
    }
    if (r.tcp && Object.keys(r.tcp).length > 0) {
      const t = r.tcp;
      lines.push(
        `| TCP on the machine from the kill to the end (kernel counters, every process): retransmitted segments · of them on a timeout · loss probes · spurious retransmissions reported back · listen-queue overflows · input-queue drops · receive softirq out of budget | ${fmt(t.retransmitted)} · ${fmt(t.timeouts)} · ${fmt(t.lossProbes)} · ${fmt(t.spurious)} · ${fmt(t.listenOverflows)} · ${fmt(t.backlogDrops)} · ${fmt(t.squeezes)} | |`,
      );
    }
    lines.push('');
  }
  return lines;
}

module.exports = { failureStormBench, report, CONFIG, TARGETS };

if (require.main === module) require('./standalone').runStandalone('failure-storm', () => failureStormBench(), report);
