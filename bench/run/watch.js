'use strict';
// Part 5: the long-poll watch on the delta (GET /eureka/apps/delta?since=R&wait=D). On one server: how long one
// change takes to reach every one of 10,000 parked watchers, the memory a parked watcher costs the server, and what
// the parked watchers cost heartbeat throughput. Across three local zones: how long a registration on zone A takes
// to reach a client watching zone C.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { fleet } = require('../instances');
const { Samples, cpuMs, machineCpuMs, memory, encodeRequest, request } = require('../load');
const { loopbackAddresses, RawClient, WatcherPool, DeltaWatcher } = require('../watchers');
const { topSelfTime } = require('../cpu-profile');
const { ROOT, CONFIG } = require('./config');
const { tempDirs, freePort, sleep, startProcess, stopProcess, serverArgs, serverScript, awaitQuiet, assertAlive } = require('./processes');
const { JSON_ACCEPT, registerSpec, heartbeatSpec, measureClosed, registerAll } = require('./requests');
const { startCluster } = require('./replication');

/** Headers a replay must not copy: per-connection, recomputed, or set by the baseline itself. */
const HOP_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'x-registry-revision']);

/** Pause after the full collection before reading the server's memory (the collection and freeing pages take a moment). */
const SETTLE_MS = 2000;
/** Longest wait for every watcher's answer to one change. */
const ROUND_TIMEOUT_MS = 10000;
/** The zone watchers' wait=, as an application's client would send it. */
const ZONE_WAIT_SECS = 30;

/** The monotonic clock in µs, as V8 stamps CPU profile samples. */
const hrUs = () => Number(process.hrtime.bigint() / 1000n);

/** Unlabelled samples of the server's /metrics, and the sum of each labelled family; {} if unreadable. */
async function serverMetrics(proc) {
  /** @type {Record<string, number>} */
  const out = {};
  try {
    const res = await request(proc.port, { method: 'GET', path: '/metrics' }, 5000);
    if (res.status !== 200) return out;
    for (const line of res.body.toString('utf8').split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (!m) continue;
      out[m[1]] = (m[2] ? out[m[1]] || 0 : 0) + Number(m[3]);
      if (m[2]) out[m[1] + m[2]] = Number(m[3]);
    }
  } catch {
    /* reported as missing */
  }
  return out;
}

/** Name of the server's gauge of parked long polls, if it exports one. */
function parkedGaugeName(metrics) {
  const names = Object.keys(metrics);
  return names.find((k) => k === 'zone_registry_watchers{kind="long-poll"}') ?? names.find((k) => k === 'zone_registry_watchers');
}

/**
 * Waits (bounded) until the server reports `expected` parked watchers; without such a gauge, a fixed pause.
 * @returns {Promise<number>} the gauge's last value (NaN without one)
 */
async function awaitParked(proc, expected, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const metrics = await serverMetrics(proc);
    const name = parkedGaugeName(metrics);
    if (!name) {
      await sleep(1000);
      return NaN;
    }
    if (metrics[name] >= expected || Date.now() >= deadline) return metrics[name];
    await sleep(50);
  }
}

/** The server's registry revision (X-Registry-Revision of a delta fetch); fails if the server has no watch. */
async function revisionOf(proc) {
  const res = await request(proc.port, { method: 'GET', path: '/eureka/apps/delta', headers: JSON_ACCEPT });
  const rev = Number(res.headers['x-registry-revision']);
  if (res.status !== 200 || !Number.isFinite(rev) || res.headers['x-registry-revision'] === undefined) {
    throw new Error(`GET /eureka/apps/delta: status ${res.status}, X-Registry-Revision ${res.headers['x-registry-revision']}: the server does not support the watch`);
  }
  return rev;
}

/** Kernel memory of every TCP socket on the machine (both ends of the watchers' connections), bytes. */
function kernelTcpBytes() {
  try {
    const m = /^TCP:.*\bmem (\d+)/m.exec(fs.readFileSync('/proc/net/sockstat', 'utf8'));
    return m ? Number(m[1]) * 4096 : NaN;
  } catch {
    return NaN;
  }
}

/** Node options that let serverMemory() collect the server's garbage first (bench/gc-on-signal.js). */
const GC_ON_SIGNAL = ['--expose-gc', '-r', path.join(__dirname, '..', 'gc-on-signal.js')];

/** RSS (/proc) and V8 heap (the server's /metrics) of a server started with GC_ON_SIGNAL, after a full collection. */
async function serverMemory(proc) {
  process.kill(proc.pid, 'SIGUSR2');
  await sleep(SETTLE_MS);
  const metrics = await serverMetrics(proc);
  return {
    rss: memory(proc.pid).rss,
    heapUsed: metrics.nodejs_heap_size_used_bytes ?? NaN,
    heapTotal: metrics.nodejs_heap_size_total_bytes ?? NaN,
    external: metrics.nodejs_external_memory_bytes ?? NaN,
    kernelTcp: kernelTcpBytes(),
  };
}

/** Memory per watcher between two serverMemory() readings, bytes. */
function perWatcher(before, after, n) {
  return {
    rssBefore: before.rss,
    rssAfter: after.rss,
    heapBefore: before.heapUsed,
    heapAfter: after.heapUsed,
    rssPerWatcherBytes: (after.rss - before.rss) / n,
    heapPerWatcherBytes: (after.heapUsed - before.heapUsed) / n,
    heapTotalPerWatcherBytes: (after.heapTotal - before.heapTotal) / n,
    externalPerWatcherBytes: (after.external - before.external) / n,
    kernelTcpPerWatcherBytes: (after.kernelTcp - before.kernelTcp) / n,
  };
}

/** One keep-alive socket that sends a request and resolves with its answer (status, revision, arrival time). */
function rawWriter(port) {
  /** @type {((a: import('../watchers').Answer) => void) | null} */
  let pending = null;
  const client = new RawClient({
    port,
    readBuffer: Buffer.allocUnsafe(1 << 16),
    onAnswer: (a) => {
      const p = pending;
      pending = null;
      if (p) p(a);
    },
  });
  return {
    client,
    /** @returns {Promise<import('../watchers').Answer>} */
    send: (bytes) =>
      new Promise((resolve) => {
        pending = resolve;
        client.send(bytes);
      }),
  };
}

/**
 * Times `CONFIG.watchChanges` changes to every watcher of `pool`, parked from `rev0`: change k is `write(k)` (a
 * registration) sent by `writer`, timed from its answer arriving (and from its send) to each watcher's answer; the
 * watchers re-park, from the revision they were given, only once all have answered, so re-parking never competes
 * with the wake being measured. Each change's window on the monotonic clock (µs) goes to `windows`.
 * @param {import('./processes').Proc} proc
 * @param {WatcherPool} pool
 * @param {ReturnType<typeof rawWriter>} writer
 * @param {number} rev0
 * @param {(k: number) => Buffer} write
 * @param {[number, number][]} windows
 */
async function timeChanges(proc, pool, writer, rev0, write, windows) {
  const n = pool.count;
  const rounds = CONFIG.watchChanges;
  const every = new Samples(n * rounds);
  const last = new Samples(rounds);
  const first = new Samples(rounds);
  const lastFromSend = new Samples(rounds);
  const writeMs = new Samples(rounds);
  let rev = rev0;
  let missing = 0;
  let unchanged = 0;
  let serverCpu = 0;
  let genCpu = 0;
  /** @type {Record<string, number>} */
  const statuses = {};
  const perChange = [];
  // Everything else's CPU over the changes, as % of a core: other processes disturb a wake as they do any measurement.
  const all0 = { server: cpuMs(proc.pid), machine: machineCpuMs(), gen: process.cpuUsage(), at: performance.now() };
  for (let k = 0; k < rounds; k++) {
    const parked = await awaitParked(proc, pool.parked);
    const bytes = write(k);
    pool.startRound();
    const s0 = cpuMs(proc.pid);
    const g0 = process.cpuUsage();
    const h0 = hrUs();
    const sentAt = performance.now();
    const [ans, complete] = await Promise.all([writer.send(bytes), pool.settled(ROUND_TIMEOUT_MS)]);
    windows.push([h0, hrUs()]);
    const g = process.cpuUsage(g0);
    serverCpu += cpuMs(proc.pid) - s0;
    genCpu += (g.user + g.system) / 1000;
    if (ans.status >= 300 || ans.status === 0) throw new Error(`${proc.name}: the change was answered ${ans.status}`);
    const r = pool.endRound();
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const t = r.at[i];
      if (Number.isNaN(t)) continue;
      every.push(t - ans.at);
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    for (const [st, c] of Object.entries(r.statuses)) statuses[st] = (statuses[st] || 0) + c;
    missing += n - r.answered;
    unchanged += r.answered - r.changed;
    last.push(hi - ans.at);
    first.push(lo - ans.at);
    lastFromSend.push(hi - sentAt);
    writeMs.push(ans.at - sentAt);
    perChange.push({ parkedOnServer: parked, answered: r.answered, changed: r.changed, complete, writeMs: ans.at - sentAt, firstMs: lo - ans.at, lastMs: hi - ans.at });
    if (r.maxRevision < 0) throw new Error(`${proc.name}: change ${k + 1} reached no watcher (statuses ${JSON.stringify(r.statuses)})`);
    rev = r.maxRevision;
    pool.park(rev);
  }
  assertAlive(proc);
  const genAll = process.cpuUsage(all0.gen);
  const otherMs = machineCpuMs() - all0.machine - (cpuMs(proc.pid) - all0.server) - (genAll.user + genAll.system) / 1000;
  const l = last.percentiles();
  const e = every.percentiles();
  const s = lastFromSend.percentiles();
  return {
    otherCpuPct: (Math.max(0, otherMs) / (performance.now() - all0.at)) * 100,
    revision: rev,
    lastP50Ms: l.p50,
    lastP90Ms: l.p90,
    lastP99Ms: l.p99,
    lastMaxMs: l.max,
    firstP50Ms: first.percentiles().p50,
    lastFromSendP50Ms: s.p50,
    lastFromSendP99Ms: s.p99,
    writeP50Ms: writeMs.percentiles().p50,
    everyP50Ms: e.p50,
    everyP90Ms: e.p90,
    everyP99Ms: e.p99,
    everyMaxMs: e.max,
    answers: every.length,
    missing,
    unchanged,
    statuses,
    answeredOutside: pool.outside,
    lost: pool.lost,
    serverCpuMsPerChange: serverCpu / rounds,
    serverCpuUsPerWatcher: (serverCpu * 1000) / (rounds * n),
    genCpuMsPerChange: genCpu / rounds,
    perChange,
  };
}

/**
 * On one fresh server: heartbeats without watchers; `CONFIG.watchers` watchers parked (memory; heartbeats again);
 * then `CONFIG.watchChanges` re-registrations, each timed to every watcher's answer before all re-park. What a woken
 * watcher was answered goes to `answerFile`, for the baselines.
 */
async function wakeRun(run, refs, answerFile, log) {
  const n = CONFIG.watchers;
  const addresses = loopbackAddresses(Math.min(CONFIG.watchAddresses, n));
  const hbRequests = refs.map(heartbeatSpec);
  const profDir = CONFIG.watchCpuProf ? path.resolve(ROOT, CONFIG.watchCpuProf) : '';
  const profFile = profDir ? path.join(profDir, `watch-${new Date().toISOString().replace(/[:.]/g, '-')}-run${run}.cpuprofile`) : '';
  /** @type {[number, number][]} */
  const windows = [];
  /** @type {Record<string, any>} */
  const out = { watchers: n, addresses: addresses.length, changes: CONFIG.watchChanges };
  let proc;
  let pool;
  let writer;
  try {
    const port = await freePort();
    const nodeOptions = [...GC_ON_SIGNAL, ...(profFile ? ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', path.basename(profFile)] : [])];
    if (profDir) fs.mkdirSync(profDir, { recursive: true });
    proc = await startProcess('ours', serverScript(), serverArgs(port), port, 0, nodeOptions);
    log(`pid ${proc.pid}, port ${proc.port}; registering ${refs.length} instances`);
    const first = await request(proc.port, registerSpec(refs[0]));
    if (first.status >= 300) throw new Error(`registration refused: ${first.status} ${first.body.toString().slice(0, 300)}`);
    await registerAll(proc, refs.length - 1, (i) => registerSpec(refs[i + 1]), first.status);

    log('heartbeats without watchers');
    out.heartbeatsWithout = await measureClosed(proc, hbRequests, CONFIG.connections);
    const before = await serverMemory(proc);
    await awaitQuiet(proc);

    const rev0 = await revisionOf(proc);
    log(`parking ${n} watchers (since=${rev0}, wait=${CONFIG.watchWaitSeconds}s) from ${addresses.length} source addresses`);
    pool = new WatcherPool({ port: proc.port, count: n, addresses, waitSecs: CONFIG.watchWaitSeconds });
    const parkStart = performance.now();
    await pool.open();
    const connectedMs = performance.now() - parkStart;
    pool.park(rev0);
    out.parkedOnServer = await awaitParked(proc, n);
    out.parkMs = performance.now() - parkStart;
    out.connectMs = connectedMs;
    assertAlive(proc);
    const after = await serverMemory(proc);
    Object.assign(out, perWatcher(before, after, n), { refusedAtPark: pool.outsideNon200 });
    log(`parked: ${out.parkedOnServer} on the server after ${(out.parkMs / 1000).toFixed(1)} s; RSS +${((after.rss - before.rss) / 2 ** 20).toFixed(1)} MiB (${out.rssPerWatcherBytes.toFixed(0)} B/watcher), heap +${((after.heapUsed - before.heapUsed) / 2 ** 20).toFixed(1)} MiB`);

    log(`heartbeats with ${n} watchers parked`);
    const outsideBefore = pool.outside;
    // The watchers' wait (60 s) outlasts parking, the quiet wait (≤ 30 s) and the measurement.
    out.heartbeatsWith = await measureClosed(proc, hbRequests, CONFIG.connections);
    out.answeredDuringHeartbeats = pool.outside - outsideBefore;
    log(`heartbeats: ${out.heartbeatsWithout.rps.toFixed(0)}/s without, ${out.heartbeatsWith.rps.toFixed(0)}/s with`);

    writer = rawWriter(proc.port);
    await writer.client.ready;
    log(`${CONFIG.watchChanges} changes, each to ${n} watchers`);
    const timed = await timeChanges(proc, pool, writer, rev0, (k) => encodeRequest(registerSpec(refs[k % refs.length], { version: `9.${run}.${k}` }), port), windows);
    Object.assign(out, timed);
    log(`last watcher after the 204: p50 ${out.lastP50Ms.toFixed(1)} ms, p99 ${out.lastP99Ms.toFixed(1)} ms; every watcher p50 ${out.everyP50Ms.toFixed(1)} ms, p99 ${out.everyP99Ms.toFixed(1)} ms; server ${out.serverCpuMsPerChange.toFixed(0)} ms CPU per change`);
    // What a woken watcher was answered, for the baselines to replay.
    const res = await request(proc.port, { method: 'GET', path: `/eureka/apps/delta?since=${timed.revision - 1}`, headers: JSON_ACCEPT });
    if (res.status !== 200) throw new Error(`GET /eureka/apps/delta?since=${timed.revision - 1}: status ${res.status}`);
    const headers = {};
    for (const [k, v] of Object.entries(res.headers)) if (!HOP_HEADERS.has(k)) headers[k] = v;
    fs.writeFileSync(answerFile, JSON.stringify({ headers, body: res.body.toString('base64') }));
    out.answerBytes = res.body.length;

    // Heartbeats without watchers again: with the measurement before parking, this brackets the one with them parked,
    // so that the server warming up over the run (JIT, heap) is not counted for or against the watchers.
    pool.close();
    pool = undefined;
    await sleep(1000);
    log('heartbeats without watchers, again');
    out.heartbeatsWithoutAfter = await measureClosed(proc, hbRequests, CONFIG.connections);
    out.heartbeatRatio = out.heartbeatsWith.rps / ((out.heartbeatsWithout.rps + out.heartbeatsWithoutAfter.rps) / 2);
  } finally {
    if (pool) pool.close();
    if (writer) writer.client.destroy();
    await stopProcess(proc);
  }
  if (profFile) {
    if (fs.existsSync(profFile)) {
      out.profile = { file: profFile, ...topSelfTime(profFile, { windows, count: 20 }), windowsUs: windows };
      log(`CPU profile ${out.profile.file}: ${out.profile.inWindows} samples during the wakes; top self time:`);
      for (const t of out.profile.top.slice(0, 12)) log(`  ${t.selfMs.toFixed(0).padStart(6)} ms ${t.pct.toFixed(1).padStart(5)} %  ${t.name} ${t.where}`);
    } else log(`no CPU profile written at ${profFile}`);
  }
  return out;
}

/**
 * Three local zones as in the replication part; registrations on zone A, spaced out, timed from A's 204 to the
 * answer of a client long-polling zone C's delta that holds the instance (and, for reference, one polling A's).
 */
async function zoneRun(log) {
  const n = CONFIG.watchZoneRegistrations;
  const refs = fleet(Math.ceil(n / 100), 100).slice(0, n);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eureka-bench-watch-zones-'));
  tempDirs.add(dir);
  let cluster;
  /** @type {DeltaWatcher[]} */
  const watchers = [];
  try {
    cluster = await startCluster(dir);
    const { a, c } = cluster;
    log(`zones: A pid ${a.pid} port ${a.port} (core 0), B ${cluster.b.pid}:${cluster.b.port}, C ${c.pid}:${c.port} (core 1)`);
    /** @type {Map<string, number>} */
    const seenC = new Map();
    /** @type {Map<string, number>} */
    const seenA = new Map();
    const onC = new DeltaWatcher({ port: c.port, waitSecs: ZONE_WAIT_SECS, onSeen: (id, at) => seenC.has(id) || seenC.set(id, at) });
    const onA = new DeltaWatcher({ port: a.port, waitSecs: ZONE_WAIT_SECS, onSeen: (id, at) => seenA.has(id) || seenA.set(id, at) });
    watchers.push(onC, onA);
    await onC.start();
    await onA.start();
    await awaitQuiet(a);
    log(`${n} registrations on zone A, one every ${CONFIG.watchZoneIntervalMs} ms; watchers on C and A (wait=${ZONE_WAIT_SECS}s)`);
    /** @type {Map<string, number>} */
    const answeredAt = new Map();
    const register = new Samples(n);
    const t0 = performance.now();
    for (let k = 0; k < n; k++) {
      const wait = t0 + k * CONFIG.watchZoneIntervalMs - performance.now();
      if (wait > 0) await sleep(wait);
      const sent = performance.now();
      const res = await request(a.port, registerSpec(refs[k]));
      const at = performance.now();
      if (res.status >= 300) throw new Error(`zone A answered ${res.status} to a registration: ${res.body.toString().slice(0, 200)}`);
      answeredAt.set(refs[k].id, at);
      register.push(at - sent);
    }
    const deadline = Date.now() + 10000;
    while (seenC.size < n && Date.now() < deadline) await sleep(50);
    for (const p of cluster.all) assertAlive(p);
    const lags = (seen) => {
      const s = new Samples(n);
      let negative = 0;
      for (const ref of refs) {
        const t = seen.get(ref.id);
        const t204 = answeredAt.get(ref.id);
        if (t === undefined || t204 === undefined) continue;
        if (t < t204) negative++;
        s.push(t - t204);
      }
      return { ...s.percentiles(), seen: s.length, negative };
    };
    const lc = lags(seenC);
    const la = lags(seenA);
    log(`watcher on C: ${lc.seen}/${n} seen, p50 ${lc.p50.toFixed(1)} ms, p99 ${lc.p99.toFixed(1)} ms after A's 204; on A: p50 ${la.p50.toFixed(1)} ms, p99 ${la.p99.toFixed(1)} ms`);
    return {
      registrations: n,
      registerP50Ms: register.percentiles().p50,
      registerP99Ms: register.percentiles().p99,
      seenByC: lc.seen,
      cP50Ms: lc.p50,
      cP90Ms: lc.p90,
      cP99Ms: lc.p99,
      cMaxMs: lc.max,
      cNegative: lc.negative,
      cAnswers: onC.answers,
      cEmptyAnswers: onC.emptyAnswers,
      cFullFetches: onC.fullFetches,
      cFailures: onC.failures,
      seenByA: la.seen,
      aP50Ms: la.p50,
      aP90Ms: la.p90,
      aP99Ms: la.p99,
      aMaxMs: la.max,
      aNegative: la.negative,
      aAnswers: onA.answers,
      aFullFetches: onA.fullFetches,
      aFailures: onA.failures,
    };
  } finally {
    for (const w of watchers) await w.stop();
    if (cluster) for (const p of cluster.all) await stopProcess(p);
    fs.rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

/**
 * The same changes to as many watchers on bench/bare-watch-server.js in `mode` (http: node:http's writeHead + end per
 * watcher; raw: one socket.write per watcher) replaying our answer: what the wake costs without the registry.
 */
async function bareWakeRun(mode, refs, answerFile, log) {
  const n = CONFIG.watchers;
  let proc;
  let pool;
  let writer;
  try {
    const port = await freePort();
    proc = await startProcess(`bare ${mode}`, path.join(__dirname, '..', 'bare-watch-server.js'), [String(port), mode, answerFile], port, 0, GC_ON_SIGNAL);
    await awaitQuiet(proc);
    const rev0 = await revisionOf(proc);
    const before = await serverMemory(proc);
    pool = new WatcherPool({ port, count: n, addresses: loopbackAddresses(Math.min(CONFIG.watchAddresses, n)), waitSecs: CONFIG.watchWaitSeconds });
    await pool.open();
    pool.park(rev0);
    await awaitParked(proc, n);
    const memory = perWatcher(before, await serverMemory(proc), n);
    writer = rawWriter(port);
    await writer.client.ready;
    const out = { ...memory, ...(await timeChanges(proc, pool, writer, rev0, (k) => encodeRequest(registerSpec(refs[k % refs.length]), port), [])) };
    log(`bare ${mode}: last watcher p50 ${out.lastP50Ms.toFixed(1)} ms, p99 ${out.lastP99Ms.toFixed(1)} ms; server ${out.serverCpuMsPerChange.toFixed(0)} ms CPU per change`);
    return out;
  } finally {
    if (pool) pool.close();
    if (writer) writer.client.destroy();
    await stopProcess(proc);
  }
}

/** One watch run: the wake on one server (and on the baselines unless skipped), then the zones. */
async function watchRun(run, refs) {
  const log = (msg) => console.error(`  [watch ${run}] ${msg}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eureka-bench-watch-'));
  tempDirs.add(dir);
  const answerFile = path.join(dir, 'answer.json');
  try {
    const wake = await wakeRun(run, refs, answerFile, log);
    /** @type {Record<string, any>} */
    const bare = {};
    if (!CONFIG.skip.has('watch-bare')) for (const mode of ['http', 'raw']) bare[mode] = await bareWakeRun(mode, refs, answerFile, log);
    return { wake, bare, zones: await zoneRun(log) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

module.exports = { watchRun };
