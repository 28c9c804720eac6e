'use strict';
// `npm run bench`: throughput, latency and CPU cost of the registry's hot paths, and its behaviour under a steady
// fleet-sized load, on this machine.
//
//  1. Request shapes on a 10,000-instance registry (100 apps × 100): registration, heartbeat, full fetch (JSON,
//     JSON+gzip, XML) and delta fetch — closed-loop throughput, p50/p99 latency, server CPU time per request.
//  2. The same shapes against bench/bare-server.js, a bare node:http server replaying the exact bytes ours sent,
//     to show what the registry costs on top of Node's HTTP layer (ours/bare; target ≥ 0.8).
//  3. Steady load: 100,000 instances (1000 apps × 100) — resident memory (target < 1 GiB), then an open-loop mix of
//     heartbeats and delta polls at a fleet's rates (each instance heartbeats and polls every 30 s: 3,333/s each), with
//     latency from the scheduled send time (target p99 < 50 ms).
//  4. Replication across three zones on this machine: the lag until 1,000 registrations on zone A are applied by
//     zones B and C (from the servers' own lastUpdatedTimestamp, p99 target < 1 s), and heartbeat throughput and CPU
//     of zone A replicating to B and C against a standalone server (target ≥ 0.8 of its throughput). Zone A is pinned
//     to core 0; B and C share core 1 with the load generator.
// Each part runs BENCH_RUNS times on a fresh server; medians are reported. The server (ours or bare) is pinned to
// core 0 and this process — the load generator — to core 1, so they never compete for a core.
// Results: markdown on stdout, everything (every run, every number) in bench/results/<timestamp>.json.
//
// Settings (environment variables; defaults and meaning in CONFIG below): BENCH_SECONDS (5), BENCH_WARMUP_SECONDS (1),
// BENCH_RUNS (3), BENCH_CONNECTIONS (32), BENCH_FULL_CONNECTIONS (4), BENCH_APPS × BENCH_PER_APP (100 × 100),
// BENCH_HEARTBEAT_TARGETS, BENCH_DELTA_CHANGES, BENCH_DELTA_RETENTION_MS, BENCH_REGISTER_CONCURRENCY,
// BENCH_STEADY_SECONDS (20), BENCH_STEADY_RUNS (= BENCH_RUNS), BENCH_STEADY_APPS × BENCH_STEADY_PER_APP (1000 × 100),
// BENCH_STEADY_HEARTBEAT_RATE / _DELTA_RATE (3333), BENCH_STEADY_CHURN (1/s), BENCH_STEADY_SOCKETS (256),
// BENCH_STEADY_WARMUP_SECONDS (2), BENCH_QUIET_WAIT_SECONDS (30), BENCH_CLIENT (raw | autocannon), BENCH_SERVER (dist/cli.js),
// BENCH_REPLICATION_RATE (200/s), BENCH_REPLICATION_INSTANCES (1000), BENCH_REPLICATION_TIMEOUT_SECONDS (30),
// BENCH_REPLICATION_POLL_MS (200), BENCH_SKIP (comma-separated: shapes, bare, steady, replication).
// Quick check: BENCH_SECONDS=2 BENCH_RUNS=1 BENCH_STEADY_SECONDS=5 npm run bench   (≈ 1 min; defaults ≈ 6 min, + ≈ 1 min replication)
// Replication only: BENCH_SKIP=shapes,bare,steady npm run bench   (≈ 1 min)
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { spawn, execFileSync } = require('node:child_process');
const { fleet, registrationBody, heartbeatPath, registrationPath } = require('./instances');
const { Samples, median, cpuMs, machineCpuMs, memory, withCpu, closedLoop, autocannonLoop, request, openLoop } = require('./load');
const { num } = require('./env');

const ROOT = path.resolve(__dirname, '..');

// ---------------------------------------------------------------------------------------------------------------
// Configuration


const SECONDS = num('BENCH_SECONDS', 5);
const WARMUP = num('BENCH_WARMUP_SECONDS', 1);
const CONFIG = {
  /** Measured seconds per shape and server. */
  seconds: SECONDS,
  /** Unmeasured seconds of the same load before each measurement (JIT, caches, connections). */
  warmupSeconds: WARMUP,
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
   * measurement so the changes under measurement stay in it.
   */
  deltaRetentionMs: Math.floor(num('BENCH_DELTA_RETENTION_MS', Math.max(5000, (SECONDS + WARMUP) * 1000 + 4000))),
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
  /** Registrations per second sent to zone A while replication lag is measured (open loop). */
  replicationRate: num('BENCH_REPLICATION_RATE', 200),
  /** Instances registered on zone A for the lag measurement; the heartbeat comparison reuses them. */
  replicationInstances: Math.max(1, Math.floor(num('BENCH_REPLICATION_INSTANCES', 1000))),
  /** Longest wait, after the last registration, for zones B and C to show every instance. */
  replicationTimeoutSeconds: num('BENCH_REPLICATION_TIMEOUT_SECONDS', 30),
  /** Pause between two polls of B's and C's /eureka/apps while waiting for them. */
  replicationPollMs: Math.max(10, num('BENCH_REPLICATION_POLL_MS', 200)),
  /** Comma-separated parts to skip: shapes, bare, steady, replication. */
  skip: new Set((process.env.BENCH_SKIP || '').split(',').map((s) => s.trim()).filter(Boolean)),
};

if (CONFIG.replicationRate <= 0) throw new Error('BENCH_REPLICATION_RATE must be positive');
if (!['raw', 'autocannon'].includes(CONFIG.client)) throw new Error(`BENCH_CLIENT must be raw or autocannon, got ${CONFIG.client}`);

const TARGETS = { ratio: 0.8, rssBytes: 1024 ** 3, steadyP99Ms: 50, replicationLagP99Ms: 1000, replicationHeartbeatRatio: 0.8 };
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
  const needed = Math.max(shapesPhase, steadyPhase, replicationPhase) + 30;
  return needed <= 90 ? 90 : Math.ceil(needed);
})();

// The server and load generator must run on the Node the npm scripts use (node_modules/.bin/node, Node 24).
const NODE = fs.existsSync(path.join(ROOT, 'node_modules/.bin/node')) ? path.join(ROOT, 'node_modules/.bin/node') : process.execPath;

// ---------------------------------------------------------------------------------------------------------------
// Machine and pinning

let haveTaskset = false;
try {
  execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  haveTaskset = true;
} catch {
  /* no taskset: run unpinned and say so */
}
const CORES = os.cpus().length;
const PINNING = haveTaskset && CORES >= 2;

function machine() {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = (cpuinfo.match(/^model name\s*:\s*(.+)$/m) || [])[1] || os.cpus()[0]?.model || 'unknown';
  const mhz = (cpuinfo.match(/^cpu MHz\s*:\s*(.+)$/m) || [])[1];
  let serverNode = 'unknown';
  try {
    serverNode = execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    /* reported as unknown */
  }
  return {
    cpu: model.trim(),
    cpuMHz: mhz ? Math.round(Number(mhz)) : undefined,
    cores: CORES,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: serverNode,
    generatorNode: process.version,
    pinning: PINNING ? 'server on core 0, load generator on core 1 (taskset)' : `none (${haveTaskset ? 'fewer than 2 cores' : 'taskset not found'})`,
  };
}

function pinSelf() {
  if (!PINNING) return;
  // -a: every thread of this process (libuv pool, V8 helpers); threads created later inherit it.
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes: started pinned, always stopped

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();

/** Capture directories (os.tmpdir()) to remove however the harness ends. */
const tempDirs = new Set();

function killAll() {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
process.on('exit', killAll);
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, stopping servers`);
    killAll();
    process.exit(code);
  });
}

/** A free TCP port on 127.0.0.1 (free now; the child binds it right after). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a Node script pinned to `core` (0: the server's; the replication phase puts peers on 1) and waits until it answers HTTP on `port`.
 * @returns {Promise<{ name: string, pid: number, port: number, child: import('node:child_process').ChildProcess, output: () => string }>}
 */
async function startProcess(name, script, args, port, core = 0) {
  const nodeArgs = ['-r', path.join(__dirname, 'orphan-guard.js'), script, ...args];
  const [cmd, argv] = PINNING ? ['taskset', ['-c', String(core), NODE, ...nodeArgs]] : [NODE, nodeArgs];
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let tail = '';
  const keep = (chunk) => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.stdin.on('error', () => {}); // the child may exit first
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    children.delete(child);
  });
  const output = () => tail.trim();
  const deadline = Date.now() + 20000;
  for (;;) {
    if (exited) throw new Error(`${name} exited during start-up (code ${exited.code}, signal ${exited.signal}):\n${output()}`);
    try {
      const res = await request(port, { method: 'GET', path: '/eureka/apps/delta', headers: { accept: 'application/json' } }, 2000);
      if (res.status < 500) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not answer on 127.0.0.1:${port} within 20 s:\n${output()}`);
    }
    await sleep(100);
  }
  return { name, pid: child.pid, port, child, output, exited: () => exited };
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
async function stopProcess(proc) {
  if (!proc || proc.exited()) return;
  const gone = new Promise((r) => proc.child.once('exit', r));
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

/** Server flags shared by every server the benchmark starts (the zone servers add their zone's). */
function serverArgs(port) {
  return ['--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn', '--max-instances-per-app', '100000', '--delta-retention-ms', String(CONFIG.deltaRetentionMs)];
}

function serverScript() {
  const script = path.resolve(ROOT, CONFIG.server);
  if (!fs.existsSync(script)) throw new Error(`${CONFIG.server} not found: run \`npm run build\` first (npm run bench does, via prebench)`);
  return script;
}

async function startOurs() {
  const script = serverScript();
  const port = await freePort();
  return startProcess('ours', script, serverArgs(port), port);
}

async function startBare(dir) {
  const port = await freePort();
  return startProcess('bare', path.join(__dirname, 'bare-server.js'), [String(port), dir], port);
}

let quietBudgetMs = CONFIG.quietWaitSeconds * 4000;

/**
 * Waits (bounded) until processes other than the server and this one use less than 15 % of a core over half a
 * second: a build or test run on the same machine would take CPU from the server or the generator mid-measurement.
 */
async function awaitQuiet(proc) {
  const t0 = Date.now();
  const limit = t0 + Math.min(CONFIG.quietWaitSeconds * 1000, quietBudgetMs);
  let otherPct = 0;
  for (;;) {
    const m0 = machineCpuMs();
    const s0 = cpuMs(proc.pid);
    const g0 = process.cpuUsage();
    await sleep(500);
    const g = process.cpuUsage(g0);
    otherPct = ((machineCpuMs() - m0 - (cpuMs(proc.pid) - s0) - (g.user + g.system) / 1000) / 500) * 100;
    if (otherPct < 15 || Date.now() >= limit) break;
  }
  const waited = Date.now() - t0;
  quietBudgetMs = Math.max(0, quietBudgetMs - waited);
  if (waited > 1000) console.error(`  (waited ${(waited / 1000).toFixed(1)} s for other processes to quiet down; now ${otherPct.toFixed(0)} % of a core)`);
}

/** Fails the run if a server died while being measured. */
function assertAlive(proc) {
  const e = proc.exited();
  if (e) throw new Error(`${proc.name} exited while being measured (code ${e.code}, signal ${e.signal}):\n${proc.output()}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Request shapes

const JSON_ACCEPT = { accept: 'application/json' };
const SHAPES = [
  { key: 'register', label: 'registration (POST, ~1 KB JSON)', ratioTarget: false },
  { key: 'heartbeat', label: 'heartbeat (PUT)', ratioTarget: true },
  { key: 'fullJson', label: 'full fetch JSON', ratioTarget: true, spec: { method: 'GET', path: '/eureka/apps', headers: JSON_ACCEPT } },
  {
    key: 'fullGzip',
    label: 'full fetch JSON gzip',
    ratioTarget: true,
    spec: { method: 'GET', path: '/eureka/apps', headers: { ...JSON_ACCEPT, 'accept-encoding': 'gzip' } },
  },
  { key: 'fullXml', label: 'full fetch XML', ratioTarget: true, spec: { method: 'GET', path: '/eureka/apps', headers: { accept: 'application/xml' } } },
  { key: 'delta', label: 'delta fetch JSON', ratioTarget: true, spec: { method: 'GET', path: '/eureka/apps/delta', headers: JSON_ACCEPT } },
];

const registerSpec = (ref, opts) => ({
  method: 'POST',
  path: registrationPath(ref),
  headers: { 'content-type': 'application/json', accept: 'application/json' },
  body: registrationBody(ref, { durationSecs: LEASE_SECS, ...opts }),
});
const heartbeatSpec = (ref) => ({ method: 'PUT', path: heartbeatPath(ref), headers: JSON_ACCEPT });

/** Headers a replay must not copy: per-connection or recomputed by the bare server. */
const HOP_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);

/** Saves a captured response for bench/bare-server.js. */
function saveCapture(dir, key, res) {
  const headers = {};
  for (const [k, v] of Object.entries(res.headers)) if (!HOP_HEADERS.has(k)) headers[k] = v;
  const file = `${key}.bin`;
  fs.writeFileSync(path.join(dir, file), res.body);
  const indexFile = path.join(dir, 'responses.json');
  const index = fs.existsSync(indexFile) ? JSON.parse(fs.readFileSync(indexFile, 'utf8')) : {};
  index[key] = { status: res.status, headers, file };
  fs.writeFileSync(indexFile, JSON.stringify(index, null, 2));
}

/** Number of instances in an applications document (JSON; gzip undone); NaN if it cannot be read. */
function countInstances(res) {
  try {
    let body = res.body;
    if (res.headers['content-encoding'] === 'gzip') body = require('node:zlib').gunzipSync(body);
    const doc = JSON.parse(body.toString('utf8'));
    return doc.applications.application.reduce((n, app) => n + (Array.isArray(app.instance) ? app.instance.length : 1), 0);
  } catch {
    return NaN;
  }
}

/** Unmeasured warm-up, then a measured closed-loop run with the server's CPU time. */
async function measureClosed(proc, requests, connections, waitForQuiet = true) {
  const loop = CONFIG.client === 'autocannon' ? autocannonLoop : closedLoop;
  const opts = { port: proc.port, requests, connections };
  if (waitForQuiet) await awaitQuiet(proc);
  if (CONFIG.warmupSeconds > 0) await loop({ ...opts, seconds: CONFIG.warmupSeconds });
  const measured = await withCpu(proc.pid, () => loop({ ...opts, seconds: CONFIG.seconds }));
  assertAlive(proc);
  return summarize(measured);
}

/** Sends each registration once, closed loop; fails unless all were accepted. */
async function registerAll(proc, count, spec, expectStatus) {
  await awaitQuiet(proc);
  const measured = await withCpu(proc.pid, () =>
    closedLoop({ port: proc.port, connections: CONFIG.registerConcurrency, seconds: 600, count, spec }),
  );
  assertAlive(proc);
  const r = measured.result;
  const accepted = r.statuses[expectStatus] || 0;
  if (!r.complete || accepted !== count) {
    throw new Error(`${proc.name}: ${accepted}/${count} registrations answered ${expectStatus} (statuses ${JSON.stringify(r.statuses)}, ${r.errors} errors, ${r.timeouts} timeouts)`);
  }
  return summarize(measured);
}

/** A load result with the CPU it cost: server µs per request, and server / generator / other CPU as % of one core. */
function summarize({ result, serverCpuMs, genCpuMs, otherCpuMs, wallMs, coreBusyPct }) {
  return {
    ...result,
    serverCpuUsPerReq: result.requests ? (serverCpuMs * 1000) / result.requests : NaN,
    serverCpuPct: (serverCpuMs / wallMs) * 100,
    genCpuPct: (genCpuMs / wallMs) * 100,
    otherCpuPct: (otherCpuMs / wallMs) * 100,
    // Whole-core busy time (process time + interrupts/softirq): core 0 is the server's, core 1 the generator's.
    serverCoreBusyPct: PINNING ? coreBusyPct[0] : NaN,
    genCoreBusyPct: PINNING ? coreBusyPct[1] : NaN,
  };
}

/**
 * One run of part 1 and 2: our server, then the bare server replaying its bytes.
 * @returns {Promise<{ ours: Record<string, object>, bare: Record<string, object>, checks: object }>}
 */
async function shapesRun(run, refs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eureka-bench-'));
  tempDirs.add(dir);
  const ours = {};
  const bare = {};
  const checks = {};
  const hbRequests = refs.slice(0, Math.max(1, Math.min(CONFIG.heartbeatTargets, refs.length))).map(heartbeatSpec);
  const log = (msg) => console.error(`  [run ${run}] ${msg}`);
  let proc;
  try {
    // --- ours -------------------------------------------------------------------------------------------------
    proc = await startOurs();
    log(`ours: pid ${proc.pid}, port ${proc.port}; registering ${refs.length} instances`);
    // The first registration's response is the one the bare server replays.
    const first = await request(proc.port, registerSpec(refs[0]));
    if (first.status >= 300) throw new Error(`registration refused: ${first.status} ${first.body.toString().slice(0, 300)}`);
    saveCapture(dir, 'register', first);
    checks.registerBytes = first.body.length;
    ours.register = await registerAll(proc, refs.length - 1, (i) => registerSpec(refs[i + 1]), first.status);
    const registeredAt = Date.now();

    const hb = await request(proc.port, hbRequests[0]);
    if (hb.status >= 300) throw new Error(`heartbeat refused: ${hb.status} ${hb.body.toString().slice(0, 300)}`);
    saveCapture(dir, 'heartbeat', hb);
    checks.heartbeatBytes = hb.body.length;
    log('ours: heartbeats');
    ours.heartbeat = await measureClosed(proc, hbRequests, CONFIG.connections);

    for (const shape of SHAPES.filter((s) => s.key.startsWith('full'))) {
      const res = await request(proc.port, shape.spec);
      if (res.status !== 200) throw new Error(`${shape.label}: status ${res.status} ${res.body.toString().slice(0, 300)}`);
      saveCapture(dir, shape.key, res);
      if (shape.key !== 'fullXml') checks[`${shape.key}Instances`] = countInstances(res);
      checks[`${shape.key}Bytes`] = res.body.length;
      log(`ours: ${shape.label} (${(res.body.length / 1e6).toFixed(2)} MB)`);
      ours[shape.key] = await measureClosed(proc, [shape.spec], CONFIG.fullConnections);
    }

    // Delta: wait until the bulk registrations have left the delta, then change a few instances, as a live fleet does.
    const wait = registeredAt + CONFIG.deltaRetentionMs + 500 - Date.now();
    if (wait > 0) {
      log(`ours: waiting ${(wait / 1000).toFixed(1)} s for the registrations to leave the delta`);
      await sleep(wait);
    }
    await awaitQuiet(proc); // now, not between the changes and their measurement: they must stay in the delta
    for (let i = 0; i < Math.min(CONFIG.deltaChanges, refs.length); i++) {
      const ref = refs[Math.floor((i * refs.length) / CONFIG.deltaChanges)];
      const res = await request(proc.port, registerSpec(ref, { version: `2.15.${run}` }));
      if (res.status >= 300) throw new Error(`re-registration refused: ${res.status}`);
    }
    const deltaShape = SHAPES.find((s) => s.key === 'delta');
    const delta = await request(proc.port, deltaShape.spec);
    if (delta.status !== 200) throw new Error(`delta: status ${delta.status} ${delta.body.toString().slice(0, 300)}`);
    saveCapture(dir, 'delta', delta);
    checks.deltaInstances = countInstances(delta);
    checks.deltaBytes = delta.body.length;
    log(`ours: delta (${checks.deltaInstances} instances, ${delta.body.length} bytes)`);
    ours.delta = await measureClosed(proc, [deltaShape.spec], CONFIG.connections, false);
    const deltaAfter = await request(proc.port, deltaShape.spec);
    checks.deltaStable = countInstances(deltaAfter) === checks.deltaInstances;
    // No lease may have expired meanwhile (that would have changed what was measured).
    checks.instancesAtEnd = countInstances(await request(proc.port, SHAPES.find((s) => s.key === 'fullGzip').spec));
    ours.memory = memory(proc.pid);
  } finally {
    await stopProcess(proc);
  }

  // --- bare: same shapes, same bytes -------------------------------------------------------------------------
  try {
    if (!CONFIG.skip.has('bare')) {
      proc = await startBare(dir);
      log(`bare: pid ${proc.pid}, port ${proc.port}`);
      const captured = JSON.parse(fs.readFileSync(path.join(dir, 'responses.json'), 'utf8'));
      bare.register = await registerAll(proc, refs.length - 1, (i) => registerSpec(refs[i + 1]), captured.register.status);
      bare.heartbeat = await measureClosed(proc, hbRequests, CONFIG.connections);
      for (const shape of SHAPES.filter((s) => s.spec)) {
        const conns = shape.key.startsWith('full') ? CONFIG.fullConnections : CONFIG.connections;
        bare[shape.key] = await measureClosed(proc, [shape.spec], conns);
      }
    }
  } finally {
    await stopProcess(proc);
    fs.rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
  return { ours, bare, checks };
}

/** One steady-load run: fill a fresh server with the big fleet, read its memory, then the open-loop mix. */
async function steadyRun(run, refs) {
  const log = (msg) => console.error(`  [steady ${run}] ${msg}`);
  let proc;
  try {
    proc = await startOurs();
    log(`registering ${refs.length} instances`);
    const first = await request(proc.port, registerSpec(refs[0]));
    if (first.status >= 300) throw new Error(`registration refused: ${first.status} ${first.body.toString().slice(0, 300)}`);
    const registration = await registerAll(proc, refs.length - 1, (i) => registerSpec(refs[i + 1]), first.status);
    const registeredAt = Date.now();
    const afterRegister = memory(proc.pid);
    log(`RSS ${(afterRegister.rss / 2 ** 20).toFixed(0)} MiB; registration ${registration.rps.toFixed(0)}/s`);
    const wait = registeredAt + CONFIG.deltaRetentionMs + 500 - Date.now();
    if (wait > 0) {
      log(`waiting ${(wait / 1000).toFixed(1)} s for the registrations to leave the delta`);
      await sleep(wait);
    }

    // Heartbeats walk the whole fleet (a stride coprime with its size spreads them over all apps); churn
    // re-registers instances with a new version, so the delta is rebuilt as often as a live fleet would make it.
    const n = refs.length;
    const deltaSpec = SHAPES.find((s) => s.key === 'delta').spec;
    const stride = 7919 % n === 0 ? 1 : 7919;
    let churned = 0; // across warm-up and measurement: every re-registration is a new version
    const streams = [
      { name: 'heartbeat', rate: CONFIG.steadyHeartbeatRate, next: (k) => heartbeatSpec(refs[(k * stride) % n]) },
      { name: 'delta', rate: CONFIG.steadyDeltaRate, next: () => deltaSpec },
      { name: 'churn', rate: CONFIG.steadyChurnRate, next: () => registerSpec(refs[(churned * 104729) % n], { version: `3.${run}.${churned++}` }) },
    ].filter((s) => s.rate > 0);
    const mix = (seconds) => openLoop({ port: proc.port, streams, seconds, maxSockets: CONFIG.steadySockets });
    await awaitQuiet(proc);
    if (CONFIG.steadyWarmupSeconds > 0) {
      log(`open loop warm-up: ${CONFIG.steadyWarmupSeconds} s`);
      await mix(CONFIG.steadyWarmupSeconds);
    }
    log(`open loop: ${streams.map((s) => `${s.rate}/s ${s.name}`).join(' + ')} for ${CONFIG.steadySeconds} s`);
    const mixed = await withCpu(proc.pid, () => mix(CONFIG.steadySeconds));
    assertAlive(proc);
    const afterLoad = memory(proc.pid);
    return {
      instances: n,
      registration,
      rssAfterRegister: afterRegister.rss,
      rssAfterLoad: afterLoad.rss,
      peakRss: afterLoad.peakRss,
      load: mixed.result,
      serverCpuPct: (mixed.serverCpuMs / mixed.wallMs) * 100,
      genCpuPct: (mixed.genCpuMs / mixed.wallMs) * 100,
      otherCpuPct: (mixed.otherCpuMs / mixed.wallMs) * 100,
      serverCoreBusyPct: PINNING ? mixed.coreBusyPct[0] : NaN,
    };
  } finally {
    await stopProcess(proc);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Replication: three zones on this machine

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

/** instanceId → lastUpdatedTimestamp (server clock, ms) of every instance in a JSON /eureka/apps response. */
function updateTimes(res) {
  if (res.status !== 200) throw new Error(`GET /eureka/apps: status ${res.status} ${res.body.toString().slice(0, 200)}`);
  const doc = JSON.parse(res.body.toString('utf8'));
  const out = new Map();
  for (const app of asArray(doc.applications && doc.applications.application)) {
    for (const inst of asArray(app.instance)) out.set(inst.instanceId, Number(inst.lastUpdatedTimestamp));
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
 * all, then compares each instance's lastUpdatedTimestamp on B and C with A's: the time between A applying the
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

// ---------------------------------------------------------------------------------------------------------------
// Reporting

const fmt = (v, digits = 0) => (typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const ms = (v) => (typeof v === 'number' && Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : '–');
const bytes = (v) => (!Number.isFinite(v) ? '–' : v >= 1e6 ? `${(v / 1e6).toFixed(2)} MB` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} kB` : `${Math.round(v)} B`);

/** Median of each numeric field over runs. */
function medians(list) {
  const out = {};
  const keys = new Set(list.flatMap((r) => (r ? Object.keys(r) : [])));
  for (const k of keys) {
    const vals = list.map((r) => r && r[k]);
    if (vals.some((v) => typeof v === 'number')) out[k] = median(vals);
  }
  return out;
}

function shapesTable(med, checks, notes) {
  const rows = [
    '| Request | ours req/s | p50 ms | p99 ms | CPU µs/req | bare req/s | p50 ms | p99 ms | CPU µs/req | ours/bare req/s | target | bare/ours CPU µs | body |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|:-:|--:|--:|',
  ];
  for (const shape of SHAPES) {
    const o = med.ours[shape.key] || {};
    const b = med.bare[shape.key] || {};
    const ratio = o.rps / b.rps;
    const target = !shape.ratioTarget || !Number.isFinite(ratio) ? '–' : ratio >= TARGETS.ratio ? `≥ ${TARGETS.ratio} ✅` : `≥ ${TARGETS.ratio} ❌`;
    rows.push(
      `| ${shape.label} | ${fmt(o.rps)} | ${ms(o.p50)} | ${ms(o.p99)} | ${fmt(o.serverCpuUsPerReq, 1)} | ${fmt(b.rps)} | ${ms(b.p50)} | ${ms(b.p99)} | ${fmt(b.serverCpuUsPerReq, 1)} | ${fmt(ratio, 2)} | ${target} | ${fmt(b.serverCpuUsPerReq / o.serverCpuUsPerReq, 2)} | ${bytes(checks[`${shape.key}Bytes`])} |`,
    );
    for (const [who, r] of [['ours', o], ['bare', b]]) {
      if (!Number.isFinite(r.rps)) continue;
      const what = `${shape.label} (${who})`;
      if (r.otherCpuPct > DISTURBED_PCT) notes.push(`${what}: other processes used ${fmt(r.otherCpuPct)} % of a core meanwhile in every run — numbers may be disturbed.`);
      else if (r.serverCoreBusyPct < 85) {
        notes.push(
          `${what}: the server's core was only ${fmt(r.serverCoreBusyPct)} % busy (generator's: ${fmt(r.genCoreBusyPct)} %) — ` +
            `throughput is bounded ${r.genCoreBusyPct > 85 ? 'by the generator' : 'by round trips'}, not by the server; compare CPU µs/req.`,
        );
      }
      if (r.errors || r.non2xx || r.timeouts) notes.push(`${what}: ${fmt(r.errors)} errors, ${fmt(r.timeouts)} timeouts, ${fmt(r.non2xx)} non-2xx (median per run).`);
    }
  }
  return rows.join('\n');
}

function steadyTable(med) {
  const l = med.streams;
  const row = (s) => l[s] || {};
  const hb = row('heartbeat');
  const dl = row('delta');
  const ch = row('churn');
  const ok = (cond) => (cond ? '✅' : '❌');
  const lines = [
    '| Metric | Value | Target |',
    '|---|--:|:-:|',
    `| instances registered | ${fmt(med.instances)} (${fmt(CONFIG.steadyApps)} apps × ${fmt(CONFIG.steadyPerApp)}) | |`,
    `| registration rate | ${fmt(med.registration.rps)} /s (p99 ${ms(med.registration.p99)} ms) | |`,
    `| server RSS after registration | ${fmt(med.rssAfterRegister / 2 ** 20)} MiB | < 1024 MiB ${ok(med.rssAfterRegister < TARGETS.rssBytes)} |`,
    `| heartbeats (open loop) | ${fmt(hb.achievedRps)} /s of ${fmt(hb.target)} · p50 ${ms(hb.p50)} ms · p99 ${ms(hb.p99)} ms | p99 < ${TARGETS.steadyP99Ms} ms ${ok(hb.p99 < TARGETS.steadyP99Ms)} |`,
    `| delta polls (open loop) | ${fmt(dl.achievedRps)} /s of ${fmt(dl.target)} · p50 ${ms(dl.p50)} ms · p99 ${ms(dl.p99)} ms · ${bytes(dl.bytesPerResponse)} each | p99 < ${TARGETS.steadyP99Ms} ms ${ok(dl.p99 < TARGETS.steadyP99Ms)} |`,
  ];
  if (l.churn) lines.push(`| re-registrations (churn) | ${fmt(ch.achievedRps, 1)} /s · p99 ${ms(ch.p99)} ms | |`);
  lines.push(
    `| errors / non-2xx | ${fmt(hb.errors + dl.errors + (ch.errors || 0))} / ${fmt(hb.non2xx + dl.non2xx + (ch.non2xx || 0))} | 0 ${ok(hb.errors + dl.errors + (ch.errors || 0) + hb.non2xx + dl.non2xx + (ch.non2xx || 0) === 0)} |`,
    `| server CPU during load | ${fmt(med.serverCpuPct)} % of one core (its core ${fmt(med.serverCoreBusyPct)} % busy incl. network softirq) | |`,
    `| server RSS after load (peak) | ${fmt(med.rssAfterLoad / 2 ** 20)} MiB (${fmt(med.peakRss / 2 ** 20)} MiB) | |`,
    `| generator: CPU, send lag p99, connections | ${fmt(med.genCpuPct)} %, ${ms(med.sendLagP99Ms)} ms, ${fmt(med.connections)} | |`,
    `| other processes' CPU during load | ${fmt(med.otherCpuPct)} % of one core | |`,
  );
  return lines.join('\n');
}

function replicationTables(med) {
  const ok = (cond) => (cond ? '✅' : '❌');
  const l = med.lag;
  const n = CONFIG.replicationInstances;
  const lagTable = [
    '| Metric | Value | Target |',
    '|---|--:|:-:|',
    `| registrations on zone A (open loop) | ${fmt(n)} at ${fmt(l.registerRps)} /s of ${fmt(CONFIG.replicationRate)} · p50 ${ms(l.registerP50Ms)} ms · p99 ${ms(l.registerP99Ms)} ms | |`,
    `| visible on B and C at the end | ${fmt(l.visible)} of ${fmt(l.expected)} (B ${fmt(l.perPeer.b.visible)}, C ${fmt(l.perPeer.c.visible)}) | all ${ok(l.visible === l.expected)} |`,
    `| replication lag, B and C (${fmt(l.expected)} lags) | p50 ${fmt(l.lagP50Ms)} ms · p90 ${fmt(l.lagP90Ms)} ms · p99 ${fmt(l.lagP99Ms)} ms · max ${fmt(l.lagMaxMs)} ms | p99 < ${fmt(TARGETS.replicationLagP99Ms)} ms ${ok(l.lagP99Ms < TARGETS.replicationLagP99Ms && l.visible === l.expected)} |`,
    `| lag to B | p50 ${fmt(l.perPeer.b.p50)} ms · p99 ${fmt(l.perPeer.b.p99)} ms · max ${fmt(l.perPeer.b.max)} ms | |`,
    `| lag to C | p50 ${fmt(l.perPeer.c.p50)} ms · p99 ${fmt(l.perPeer.c.p99)} ms · max ${fmt(l.perPeer.c.max)} ms | |`,
    `| A → B / A → C: batches, tasks per batch | ${fmt(l.batches.b.batchesSent)}, ${fmt(l.batches.b.tasksPerBatch, 1)} / ${fmt(l.batches.c.batchesSent)}, ${fmt(l.batches.c.tasksPerBatch, 1)} | |`,
    `| all visible to a client polling every ${CONFIG.replicationPollMs} ms | B ${fmt(l.allSeenAfterMsB)} ms · C ${fmt(l.allSeenAfterMsC)} ms after the last registration answered | |`,
  ].join('\n');

  const a = med.standalone;
  const b = med.zoneA;
  const ratio = b.rps / a.rps;
  const cpuRatio = b.serverCpuUsPerReq / a.serverCpuUsPerReq;
  const hbTable = [
    '| Heartbeat (PUT), closed loop | req/s | p50 ms | p99 ms | server CPU µs/req | core 0 busy | core 1 busy |',
    '|---|--:|--:|--:|--:|--:|--:|',
    `| (a) standalone server (no peers) | ${fmt(a.rps)} | ${ms(a.p50)} | ${ms(a.p99)} | ${fmt(a.serverCpuUsPerReq, 1)} | ${fmt(a.serverCoreBusyPct)} % | ${fmt(a.genCoreBusyPct)} % |`,
    `| (b) zone A, replicating to B and C | ${fmt(b.rps)} | ${ms(b.p50)} | ${ms(b.p99)} | ${fmt(b.serverCpuUsPerReq, 1)} | ${fmt(b.serverCoreBusyPct)} % | ${fmt(b.genCoreBusyPct)} % |`,
    `| (b)/(a) | ${fmt(ratio, 2)} ${ratio >= TARGETS.replicationHeartbeatRatio ? `≥ ${TARGETS.replicationHeartbeatRatio} ✅` : `< ${TARGETS.replicationHeartbeatRatio} ❌`} | | | ${fmt(cpuRatio, 2)} | | |`,
  ].join('\n');

  const pb = med.peers.b;
  const pc = med.peers.c;
  const peerTable = [
    '| During (b), per peer | B | C |',
    '|---|--:|--:|',
    `| tasks A delivered /s (% of A's heartbeats) | ${fmt(pb.tasksSentPerSec)} (${fmt((100 * pb.tasksSentPerSec) / b.rps)} %) | ${fmt(pc.tasksSentPerSec)} (${fmt((100 * pc.tasksSentPerSec) / b.rps)} %) |`,
    `| batches /s · tasks per batch | ${fmt(pb.batchesSentPerSec)} · ${fmt(pb.tasksPerBatch)} | ${fmt(pc.batchesSentPerSec)} · ${fmt(pc.tasksPerBatch)} |`,
    `| heartbeats received from A /s (peer's renewals_total{origin="peer"}) | ${fmt(pb.receivedPerSec)} | ${fmt(pc.receivedPerSec)} |`,
    `| heartbeats dropped · changes lost · batch failures | ${fmt(pb.heartbeatsDropped)} · ${fmt(pb.changesLost)} · ${fmt(pb.batchFailures)} | ${fmt(pc.heartbeatsDropped)} · ${fmt(pc.changesLost)} · ${fmt(pc.batchFailures)} |`,
    `| queue depth after · last batch's queue time | ${fmt(pb.queueDepthAfter)} · ${fmt(pb.lastLagMs)} ms | ${fmt(pc.queueDepthAfter)} · ${fmt(pc.lastLagMs)} ms |`,
    `| peer server CPU (% of a core, on core 1) | ${fmt(pb.cpuPct)} % | ${fmt(pc.cpuPct)} % |`,
  ].join('\n');
  return { lagTable, hbTable, peerTable, ratio, cpuRatio };
}

// ---------------------------------------------------------------------------------------------------------------
// Main

async function main() {
  const started = new Date();
  pinSelf();
  const m = machine();
  const out = [];
  const print = (s = '') => {
    out.push(s);
    console.log(s);
  };
  print('# Benchmark');
  print();
  print(`- CPU: ${m.cpu}${m.cpuMHz ? ` @ ${m.cpuMHz} MHz` : ''}, ${m.cores} cores; memory ${m.memoryGiB} GiB; ${m.kernel}`);
  print(`- Node ${m.node} (server, bare baseline and load generator); pinning: ${m.pinning}`);
  print(
    `- ${CONFIG.runs} run(s) × ${CONFIG.seconds} s per measurement (+${CONFIG.warmupSeconds} s warm-up), medians; ` +
      `${CONFIG.connections} connections (${CONFIG.fullConnections} for full fetches); delta retention ${CONFIG.deltaRetentionMs} ms; ` +
      `lease ${LEASE_SECS} s`,
  );
  print();
  if (m.node !== process.version) console.error(`bench: warning: generator runs on ${process.version}, servers on ${m.node}; use \`npm run bench\``);

  const results = { started: started.toISOString(), machine: m, config: { ...CONFIG, skip: [...CONFIG.skip] }, shapes: null, steady: null, replication: null, notes: [] };
  const notes = results.notes;

  const part = async (name, fn) => {
    try {
      await fn();
    } catch (err) {
      results.failed = true;
      notes.push(`${name} FAILED: ${String(err && err.message ? err.message : err).split('\n').slice(0, 6).join(' | ')}`);
      console.error(`bench: ${name} failed: ${err && err.stack ? err.stack : err}`);
    }
  };

  if (!CONFIG.skip.has('shapes')) await part('request shapes', async () => {
    const refs = fleet(CONFIG.apps, CONFIG.perApp);
    console.error(`bench: request shapes on ${refs.length} instances (${CONFIG.apps} apps × ${CONFIG.perApp})`);
    const runs = [];
    for (let r = 1; r <= CONFIG.runs; r++) runs.push(await shapesRun(r, refs));
    const med = { ours: {}, bare: {} };
    for (const shape of SHAPES) {
      for (const who of ['ours', 'bare']) {
        // Runs during which other processes took CPU are left out of the median when undisturbed runs exist.
        const all = runs.map((r) => r[who][shape.key]).filter(Boolean);
        const clean = all.filter((m) => !(m.otherCpuPct > DISTURBED_PCT));
        med[who][shape.key] = { ...medians(clean.length ? clean : all), runsUsed: clean.length || all.length, runsDisturbed: all.length - clean.length };
        if (clean.length && clean.length < all.length) {
          notes.push(`${shape.label} (${who}): median of ${clean.length} undisturbed run(s); ${all.length - clean.length} run(s) with other processes on the CPUs left out.`);
        }
      }
    }
    const checks = runs[runs.length - 1].checks;
    for (const key of ['fullJsonInstances', 'fullGzipInstances', 'instancesAtEnd']) {
      if (checks[key] !== refs.length) notes.push(`${key}: the full registry held ${checks[key]} instances, expected ${refs.length}.`);
    }
    if (checks.deltaInstances !== Math.min(CONFIG.deltaChanges, refs.length)) {
      notes.push(`The delta held ${checks.deltaInstances} instances, expected the ${CONFIG.deltaChanges} just changed.`);
    }
    if (runs.some((r) => !r.checks.deltaStable)) notes.push('The delta changed during its measurement (retention too short for BENCH_SECONDS?).');
    results.shapes = { runs, medians: med, checks };
    print(`## Request shapes — ${fmt(refs.length)} instances (${CONFIG.apps} apps × ${CONFIG.perApp}), closed loop`);
    print();
    print(shapesTable(med, checks, notes));
    print();
    print(
      `Registration: ${fmt(refs.length)} distinct instances, ${CONFIG.registerConcurrency} concurrent. Heartbeats cycle through ${fmt(Math.min(CONFIG.heartbeatTargets, refs.length))} instances. ` +
        `Delta: ${checks.deltaInstances} changed instances. CPU µs/req = user+system time of the server process / requests (the kernel's loopback softirq work is charged to no process and not included). ` +
        `Bare = node:http replaying our exact response bytes. Client: ${CONFIG.client === 'autocannon' ? 'autocannon' : 'raw keep-alive sockets (bench/load.js)'}.`,
    );
    print();
  });

  if (!CONFIG.skip.has('steady') && CONFIG.steadyRuns > 0) await part('steady load', async () => {
    const refs = fleet(CONFIG.steadyApps, CONFIG.steadyPerApp);
    console.error(`bench: steady load on ${refs.length} instances`);
    const runs = [];
    for (let r = 1; r <= CONFIG.steadyRuns; r++) runs.push(await steadyRun(r, refs));
    // As for the request shapes: runs disturbed by other processes are left out when undisturbed runs exist.
    const clean = runs.filter((r) => !(r.otherCpuPct > DISTURBED_PCT));
    const used = clean.length ? clean : runs;
    if (clean.length && clean.length < runs.length) {
      notes.push(`steady: median of ${clean.length} undisturbed run(s); ${runs.length - clean.length} run(s) with other processes on the CPUs left out.`);
    }
    const streams = {};
    for (const s of used[0].load.streams) streams[s.name] = medians(used.map((r) => r.load.streams.find((x) => x.name === s.name)));
    const med = {
      ...medians(used.map((r) => ({ ...r, registration: undefined, load: undefined, sendLagP99Ms: r.load.sendLagP99Ms, connections: r.load.connections, maxInFlight: r.load.maxInFlight }))),
      registration: medians(used.map((r) => r.registration)),
      streams,
      runsUsed: used.length,
    };
    for (const s of Object.values(streams)) {
      if (s.achievedRps < 0.98 * s.target) notes.push(`steady ${s.name}: achieved ${fmt(s.achievedRps)}/s of ${fmt(s.target)}/s.`);
    }
    if (med.otherCpuPct > DISTURBED_PCT) notes.push(`steady: other processes used ${fmt(med.otherCpuPct)} % of a core meanwhile — numbers may be disturbed.`);
    if (med.sendLagP99Ms > 5) notes.push(`steady: the generator sent late (p99 ${ms(med.sendLagP99Ms)} ms); latencies include it.`);
    results.steady = { runs, medians: med };
    print(`## Steady load — ${fmt(refs.length)} instances, open loop for ${CONFIG.steadySeconds} s`);
    print();
    print(steadyTable(med));
    print();
    print(
      'Open loop: each request is sent at its scheduled time whatever the server does, and its latency is counted from ' +
        'that time, so queueing behind a slow response is measured, not hidden. Heartbeats walk the whole fleet; delta polls ' +
        `use Accept: application/json; churn re-registers instances so the delta keeps changing.`,
    );
    print();
  });

  if (!CONFIG.skip.has('replication')) await part('replication', async () => {
    const n = CONFIG.replicationInstances;
    const refs = fleet(Math.ceil(n / 100), 100).slice(0, n);
    console.error(`bench: replication across three local zones, ${n} instances`);
    const runs = [];
    for (let r = 1; r <= CONFIG.runs; r++) runs.push(await replicationRun(r, refs));
    const pick = (list, f) => medians(list.map(f));
    // As for the request shapes: heartbeat measurements during which other processes took CPU are left out of the
    // median when undisturbed ones exist (zone A's peers B and C are not "other": their CPU is subtracted).
    const undisturbed = (key, label) => {
      const clean = runs.filter((r) => !(r[key].otherCpuPct > DISTURBED_PCT));
      if (clean.length && clean.length < runs.length) {
        notes.push(`replication heartbeats (${label}): median of ${clean.length} undisturbed run(s); ${runs.length - clean.length} run(s) with other processes on the CPUs left out.`);
      }
      return clean.length ? clean : runs;
    };
    const aRuns = undisturbed('standalone', 'standalone');
    const bRuns = undisturbed('zoneA', 'zone A');
    const med = {
      lag: {
        ...pick(runs, (r) => ({ ...r.lag, perPeer: undefined, batches: undefined })),
        perPeer: { b: pick(runs, (r) => r.lag.perPeer.b), c: pick(runs, (r) => r.lag.perPeer.c) },
        batches: { b: pick(runs, (r) => r.lag.batches.b), c: pick(runs, (r) => r.lag.batches.c) },
      },
      standalone: { ...pick(aRuns, (r) => r.standalone), runsUsed: aRuns.length },
      zoneA: { ...pick(bRuns, (r) => ({ ...r.zoneA, peers: undefined })), runsUsed: bRuns.length },
      peers: { b: pick(bRuns, (r) => r.zoneA.peers.b), c: pick(bRuns, (r) => r.zoneA.peers.c) },
      // Each run's (b)/(a), for a sense of the spread (the table shows the ratio of the medians).
      perRunHeartbeatRatios: runs.map((r) => r.zoneA.rps / r.standalone.rps),
      perRunCpuRatios: runs.map((r) => r.zoneA.serverCpuUsPerReq / r.standalone.serverCpuUsPerReq),
    };
    const tables = replicationTables(med);
    med.heartbeatRatio = tables.ratio;
    med.cpuPerRequestRatio = tables.cpuRatio;
    results.replication = { runs, medians: med };
    for (const r of runs) {
      if (r.lag.timedOut) notes.push(`replication: B or C did not hold all ${n} instances ${CONFIG.replicationTimeoutSeconds} s after the last registration (B ${r.lag.perPeer.b.visible}, C ${r.lag.perPeer.c.visible}).`);
      if (r.lag.negativeLags) notes.push(`replication: ${r.lag.negativeLags} lag(s) were negative — a peer's lastUpdatedTimestamp before A's (not expected on one machine clock).`);
    }
    if (PINNING && Number.isFinite(med.zoneA.serverCoreBusyPct)) {
      const a = med.zoneA;
      if (a.serverCoreBusyPct >= 85 && a.genCoreBusyPct < 85) {
        notes.push(`replication heartbeats (zone A): core 0 (zone A) was ${fmt(a.serverCoreBusyPct)} % busy, core 1 (generator, B, C) ${fmt(a.genCoreBusyPct)} %: throughput was bounded by zone A's own CPU, so (b)/(a) measures what replication costs A, not the shared core.`);
      } else if (a.genCoreBusyPct >= 85) {
        notes.push(`replication heartbeats (zone A): core 1 (generator, B and C) was ${fmt(a.genCoreBusyPct)} % busy: (b)'s throughput may be bounded by the shared core, not by zone A — compare CPU µs/req.`);
      }
    }
    for (const [label, m] of [['standalone', med.standalone], ['zone A', med.zoneA]]) {
      if (m.otherCpuPct > DISTURBED_PCT) notes.push(`replication heartbeats (${label}): other processes used ${fmt(m.otherCpuPct)} % of a core meanwhile — numbers may be disturbed.`);
      if (m.errors || m.non2xx || m.timeouts) notes.push(`replication heartbeats (${label}): ${fmt(m.errors)} errors, ${fmt(m.timeouts)} timeouts, ${fmt(m.non2xx)} non-2xx (median per run).`);
    }
    print(`## Replication — three zones on 127.0.0.1`);
    print();
    print(
      `Zone A pinned to core 0; zones B and C and the load generator share core 1${PINNING ? '' : ' (not pinned here: no taskset or < 2 cores)'}. ` +
        `Default replication settings (batches of up to 250 tasks, 20 ms batching delay, one batch in flight per peer).`,
    );
    print();
    print(`### Lag — ${fmt(n)} registrations on zone A at ${fmt(CONFIG.replicationRate)}/s`);
    print();
    print(tables.lagTable);
    print();
    print(
      'Lag of an instance = its lastUpdatedTimestamp on B (or C) − on A: each server stamps it with its own clock (the same ' +
        'machine clock here) when it applies the registration, and a change is visible to the next fetch, so this is the ' +
        'replication lag without any polling error. Read from one full JSON fetch of each zone after B and C held every ' +
        'instance. Resolution 1 ms (the timestamps are whole milliseconds; each lag is within ±1 ms).',
    );
    print();
    print(`### Heartbeat cost of replication — ${fmt(Math.min(CONFIG.heartbeatTargets, n))} instances, ${CONFIG.connections} connections, ${CONFIG.seconds} s`);
    print();
    print(tables.hbTable);
    print();
    print(tables.peerTable);
    print();
    print(
      `Target: (b)/(a) req/s ≥ ${TARGETS.replicationHeartbeatRatio} (replication costs the heartbeat path less than 20 % of its throughput). ` +
        'Server CPU µs/req = zone A\'s (or the standalone server\'s) user+system time / heartbeats answered, including the replication it does. ' +
        "In (b), core 1 runs the generator *and* B and C, so (b)'s throughput may be bounded by core 1 rather than by A: compare CPU µs/req and core 0 busy. " +
        'Each peer\'s queue holds one pending heartbeat per instance (a newer one replaces the older), so A legitimately ' +
        'delivers fewer heartbeats than it receives when heartbeats for an instance arrive faster than batches leave; ' +
        'that is coalescing, not loss (dropped counts only heartbeats expired or pushed out of a full queue).',
    );
    print();
  });

  if (notes.length) {
    print('Notes:');
    for (const n of notes) print(`- ${n}`);
    print();
  }
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  results.finished = new Date().toISOString();
  results.markdown = out.join('\n');
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  console.error(`bench: results in ${path.relative(ROOT, file)} (${((Date.now() - started.getTime()) / 1000).toFixed(0)} s)`);
  return results.failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`bench: failed: ${err && err.stack ? err.stack : err}`);
    killAll();
    process.exit(1);
  },
);
