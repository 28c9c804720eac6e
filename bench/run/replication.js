'use strict';
// Part 4: replication across three zones on this machine: the lag of registrations reaching the peers, and what
// replicating costs zone A's heartbeat path against a standalone server.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Samples, cpuMs, withCpu, closedLoop, autocannonLoop, request, openLoop } = require('../load');
const { CONFIG } = require('./config');
const { tempDirs, freePort, sleep, startProcess, stopProcess, serverArgs, serverScript, awaitQuiet, assertAlive } = require('./processes');
const { JSON_ACCEPT, registerSpec, heartbeatSpec, countInstances, registerAll, summarize } = require('./requests');

const ZONES = ['z-a', 'z-b', 'z-c'];

/**
 * Starts a three-zone cluster: one server per zone, all on 127.0.0.1, sharing a zones file (each finds itself by
 * port; the other two are its peers). Zone A — the one measured — is pinned to core 0; B and C to core 1, which they
 * share with this process (the load generator): a 2-core machine has no third core to give them.
 * @returns {Promise<{ a: object, b: object, c: object, all: object[] }>}
 */
async function startCluster(dir) {
  const script = serverScript();
  const ports = [];
  while (ports.length < 3) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const file = path.join(dir, 'zones.json');
  const zones = Object.fromEntries(ZONES.map((z, i) => [z, [`http://127.0.0.1:${ports[i]}/eureka/`]]));
  fs.writeFileSync(file, JSON.stringify({ region: 'bench', zones, settings: {} }, null, 2));
  const procs = [];
  try {
    // Sequentially: each start-up sync finds the earlier zones up (empty); `serve` covers the ones not up yet.
    for (let i = 0; i < 3; i++) {
      const args = [...serverArgs(ports[i]), '--config', file, '--zone', ZONES[i], '--sync-failure-mode', 'serve', '--sync-attempts', '1'];
      procs.push(await startProcess(`zone ${'ABC'[i]}`, script, args, ports[i], i === 0 ? 0 : 1));
    }
  } catch (err) {
    for (const p of procs) await stopProcess(p);
    throw err;
  }
  const [a, b, c] = procs;
  return { a, b, c, all: procs };
}

const asArray = (v) => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/**
 * instanceId → leaseInfo.registrationTimestamp (server clock, ms) of every instance in a JSON /eureka/apps response:
 * when that server applied the registration. (lastUpdatedTimestamp is when the change happened at the server that
 * took it, the same on every server.)
 */
function updateTimes(res) {
  if (res.status !== 200) throw new Error(`GET /eureka/apps: status ${res.status} ${res.body.toString().slice(0, 200)}`);
  const doc = JSON.parse(res.body.toString('utf8'));
  const out = new Map();
  for (const app of asArray(doc.applications && doc.applications.application)) {
    for (const inst of asArray(app.instance)) out.set(inst.instanceId, Number(inst.leaseInfo && inst.leaseInfo.registrationTimestamp));
  }
  return out;
}

const APPS_JSON = { method: 'GET', path: '/eureka/apps', headers: JSON_ACCEPT };

/** A's per-peer replication counters (GET /eureka/status), keyed by the peer's port. */
async function peerStats(proc) {
  const res = await request(proc.port, { method: 'GET', path: '/eureka/status', headers: JSON_ACCEPT });
  if (res.status !== 200) throw new Error(`${proc.name}: GET /eureka/status answered ${res.status}`);
  const out = {};
  for (const p of JSON.parse(res.body.toString('utf8')).peers || []) out[new URL(p.url).port] = p;
  return out;
}

/** Heartbeats a server accepted from peers (replicated), from its Prometheus metrics; NaN if unreadable. */
async function peerRenewals(proc) {
  try {
    const res = await request(proc.port, { method: 'GET', path: '/metrics' });
    const m = /^zone_registry_renewals_total\{origin="peer"\}\s+(\S+)/m.exec(res.body.toString('utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Part 1: registers the instances on zone A at a steady rate (open loop), waits (bounded) until B and C hold them
 * all, then compares each instance's registration time on B and C with A's: the time between A applying the
 * registration and the peer applying it, by the servers' own (shared) clock — no polling error, 1 ms resolution.
 */
async function replicationLag(cluster, refs, log) {
  const { a, b, c } = cluster;
  const n = refs.length;
  await awaitQuiet(a);
  log(`registering ${n} instances on zone A at ${CONFIG.replicationRate}/s (open loop)`);
  const t0 = Date.now();
  const reg = await withCpu(a.pid, () =>
    openLoop({
      port: a.port,
      // (n + 0.5) / rate seconds: exactly n requests, whatever the rounding of n / rate.
      streams: [{ name: 'register', rate: CONFIG.replicationRate, next: (k) => registerSpec(refs[k]) }],
      seconds: (n + 0.5) / CONFIG.replicationRate,
      maxSockets: 32,
    }),
  );
  const lastRegisteredAt = Date.now();
  for (const p of cluster.all) assertAlive(p);
  const regStream = reg.result.streams[0];
  if (regStream.ok !== n) throw new Error(`zone A accepted ${regStream.ok}/${n} registrations (${regStream.errors} errors, ${regStream.non2xx} non-2xx)`);

  // Wait for the peers, polling as a client would (this bounds the wait; the lag comes from the timestamps).
  const deadline = lastRegisteredAt + CONFIG.replicationTimeoutSeconds * 1000;
  const seen = { b: NaN, c: NaN };
  const allSeenAfterMs = { b: NaN, c: NaN };
  let polls = 0;
  for (;;) {
    await sleep(CONFIG.replicationPollMs);
    polls++;
    for (const [k, p] of [['b', b], ['c', c]]) {
      if (seen[k] === n) continue;
      const res = await request(p.port, APPS_JSON);
      seen[k] = res.status === 200 ? countInstances(res) : NaN;
      if (seen[k] === n) allSeenAfterMs[k] = Date.now() - lastRegisteredAt;
    }
    if ((seen.b === n && seen.c === n) || Date.now() >= deadline) break;
  }
  for (const p of cluster.all) assertAlive(p);
  const timedOut = !(seen.b === n && seen.c === n);
  if (timedOut) log(`timed out after ${CONFIG.replicationTimeoutSeconds} s: B holds ${seen.b}, C ${seen.c} of ${n}`);

  // One full fetch of each server: the timestamps.
  const onA = updateTimes(await request(a.port, APPS_JSON));
  const lags = new Samples(2 * n);
  const perPeer = {};
  let negative = 0;
  for (const [k, p] of [['b', b], ['c', c]]) {
    const onPeer = updateTimes(await request(p.port, APPS_JSON));
    const mine = new Samples(n);
    let visible = 0;
    for (const ref of refs) {
      const ta = onA.get(ref.id);
      const tp = onPeer.get(ref.id);
      if (ta === undefined || tp === undefined || !Number.isFinite(ta) || !Number.isFinite(tp)) continue;
      visible++;
      if (tp < ta) negative++;
      lags.push(tp - ta);
      mine.push(tp - ta);
    }
    const pct = mine.percentiles();
    perPeer[k] = { visible, p50: pct.p50, p90: pct.p90, p99: pct.p99, max: pct.max };
  }
  const pct = lags.percentiles();
  const status = await peerStats(a);
  const batches = {};
  for (const [k, p] of [['b', b], ['c', c]]) {
    const s = status[String(p.port)] || {};
    batches[k] = { batchesSent: s.batchesSent, tasksSent: s.tasksSent, tasksPerBatch: s.tasksSent / s.batchesSent, changesLost: s.changesLost, batchFailures: s.batchFailures };
  }
  return {
    instances: n,
    onA: onA.size,
    visible: perPeer.b.visible + perPeer.c.visible,
    expected: 2 * n,
    lagP50Ms: pct.p50,
    lagP90Ms: pct.p90,
    lagP99Ms: pct.p99,
    lagMaxMs: pct.max,
    negativeLags: negative,
    perPeer,
    batches,
    timedOut,
    polls,
    allSeenAfterMsB: allSeenAfterMs.b,
    allSeenAfterMsC: allSeenAfterMs.c,
    registerSeconds: (lastRegisteredAt - t0) / 1000,
    registerRps: regStream.achievedRps,
    registerP50Ms: regStream.p50,
    registerP99Ms: regStream.p99,
    registerSendLagP99Ms: reg.result.sendLagP99Ms,
    serverACpuPct: (reg.serverCpuMs / reg.wallMs) * 100,
  };
}

/**
 * Closed-loop heartbeats against `proc`, as in the request shapes (warm-up, then measured). With `peers` (the zones
 * it replicates to), also: their CPU, the heartbeats they accepted from peers, and A's per-peer replication counters
 * over the measured window; their CPU is not counted as "other processes".
 */
async function heartbeatsWith(proc, requests, peers = []) {
  await awaitQuiet(proc);
  const loop = CONFIG.client === 'autocannon' ? autocannonLoop : closedLoop;
  const opts = { port: proc.port, requests, connections: CONFIG.connections };
  if (CONFIG.warmupSeconds > 0) await loop({ ...opts, seconds: CONFIG.warmupSeconds });
  const before = peers.length ? { status: await peerStats(proc), renewals: await Promise.all(peers.map(peerRenewals)), cpu: peers.map((p) => cpuMs(p.pid)) } : null;
  const measured = await withCpu(proc.pid, () => loop({ ...opts, seconds: CONFIG.seconds }));
  assertAlive(proc);
  const out = summarize(measured);
  if (!before) return out;
  // The counters are read right before and after the measured window; rates are per second of that window.
  const cpuAfter = peers.map((p) => cpuMs(p.pid));
  const status = await peerStats(proc);
  const renewals = await Promise.all(peers.map(peerRenewals));
  const secs = measured.wallMs / 1000;
  const peerCpuMs = cpuAfter.reduce((s, v, i) => s + v - before.cpu[i], 0);
  out.otherCpuPct = (Math.max(0, measured.otherCpuMs - peerCpuMs) / measured.wallMs) * 100;
  out.peers = {};
  peers.forEach((p, i) => {
    const s0 = before.status[String(p.port)] || {};
    const s1 = status[String(p.port)] || {};
    const d = (k) => s1[k] - s0[k];
    out.peers['bc'[i]] = {
      tasksSentPerSec: d('tasksSent') / secs,
      batchesSentPerSec: d('batchesSent') / secs,
      tasksPerBatch: d('tasksSent') / d('batchesSent'),
      heartbeatsDropped: d('heartbeatsDropped'),
      changesLost: d('changesLost'),
      batchFailures: d('batchFailures'),
      queueDepthAfter: s1.queueDepth,
      lastLagMs: s1.lastLagMs,
      receivedPerSec: (renewals[i] - before.renewals[i]) / secs,
      cpuPct: ((cpuAfter[i] - before.cpu[i]) / measured.wallMs) * 100,
    };
  });
  for (const p of peers) assertAlive(p);
  return out;
}

/** One replication run: (a) heartbeats on a standalone server; then a three-zone cluster: lag, (b) heartbeats on A. */
async function replicationRun(run, refs) {
  const log = (msg) => console.error(`  [replication ${run}] ${msg}`);
  const hbRequests = refs.slice(0, Math.max(1, Math.min(CONFIG.heartbeatTargets, refs.length))).map(heartbeatSpec);
  const out = {};
  let proc;
  try {
    const port = await freePort();
    proc = await startProcess('standalone', serverScript(), serverArgs(port), port, 0);
    log(`standalone: pid ${proc.pid}, port ${proc.port}; registering ${refs.length} instances`);
    const first = await request(proc.port, registerSpec(refs[0]));
    if (first.status >= 300) throw new Error(`registration refused: ${first.status} ${first.body.toString().slice(0, 300)}`);
    await registerAll(proc, refs.length - 1, (i) => registerSpec(refs[i + 1]), first.status);
    log('standalone: heartbeats');
    out.standalone = await heartbeatsWith(proc, hbRequests);
  } finally {
    await stopProcess(proc);
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eureka-bench-zones-'));
  tempDirs.add(dir);
  let cluster;
  try {
    cluster = await startCluster(dir);
    log(`cluster: A pid ${cluster.a.pid} port ${cluster.a.port} (core 0), B ${cluster.b.pid}:${cluster.b.port}, C ${cluster.c.pid}:${cluster.c.port} (core 1)`);
    out.lag = await replicationLag(cluster, refs, log);
    log(`lag p50 ${out.lag.lagP50Ms} ms, p99 ${out.lag.lagP99Ms} ms, max ${out.lag.lagMaxMs} ms; ${out.lag.visible}/${out.lag.expected} visible`);
    log('zone A: heartbeats, replicated to B and C');
    out.zoneA = await heartbeatsWith(cluster.a, hbRequests, [cluster.b, cluster.c]);
    log(`heartbeats: standalone ${out.standalone.rps.toFixed(0)}/s, zone A ${out.zoneA.rps.toFixed(0)}/s`);
  } finally {
    if (cluster) for (const p of cluster.all) await stopProcess(p);
    fs.rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
  return out;
}

module.exports = { replicationRun, startCluster };
