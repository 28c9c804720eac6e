'use strict';
// Startup sync at fleet scale: zone A holds 250,000 instances (1,000 applications × 250); zone B starts with A as
// its peer and copies A's registry before it reports ready. Measured: the time from B's start to its readiness
// (/health/ready answering 200) and to holding every instance, B's CPU time meanwhile, and how long B's event loop
// was held (heartbeats sent to B during the sync, every 20 ms, and their longest answer time), A's CPU time for
// serving the sync, and both servers' RSS afterwards.
//
// A is filled through POST /peerreplication/batch (250 registrations per request, as a peer would send them; bench/fill.js),
// which is quicker than 250,000 registrations and leaves the same registry. Both servers run as child processes on the
// Node of the npm scripts, started with the same flags `npm start` accepts.
//
// Pinning on 2 cores (taskset): B on core 0, A with this process on core 1, as two servers of a zone set live on two
// machines. Unpinned, the servers inherited this process's affinity: inside `npm run bench` (which pins itself to core
// 1) both shared one core and B's readiness measured A's serving and B's installing one after the other (12.1 s for
// 7.4 s of B's CPU and 4.6 s of A's), where run on its own they overlapped (6.9-8.1 s).
//
// Usage: npm run build && node bench/startup-sync.js      (BENCH_SYNC_APPS, BENCH_SYNC_PER_APP, BENCH_SYNC_RUNS)
// Also run as a part of `npm run bench` (bench/run.js). Target: ready in < 10 s at 250,000 instances.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { spawn } = require('node:child_process');
const { num } = require('./env');
const { cpuMs, memory } = require('./load');
const { fleet } = require('./instances');
const { BATCH_ITEMS, fillThroughPeerBatches } = require('./fill');
const { PINNING } = require('./run/processes');

const ROOT = path.resolve(__dirname, '..');
const NODE = fs.existsSync(path.join(ROOT, 'node_modules/.bin/node')) ? path.join(ROOT, 'node_modules/.bin/node') : process.execPath;
const CONFIG = {
  apps: Math.floor(num('BENCH_SYNC_APPS', 1000)),
  perApp: Math.floor(num('BENCH_SYNC_PER_APP', 250)),
  runs: Math.max(1, Math.floor(num('BENCH_SYNC_RUNS', 1))),
  /** Batches in flight while filling A. */
  fillConcurrency: 4,
  /** Period of the heartbeats sent to B during its sync, ms. */
  probeEveryMs: 20,
};
const TARGETS = { readyMs: 10_000 };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** One request on loopback; resolves with status and body text, never rejects (status 0 on a network error). */
function call(port, method, urlPath, body, headers = {}) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, agent, headers: { accept: 'application/json', ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end(body);
  });
}

/** A free port on loopback. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = require('node:net').createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts a zone server of the two-zone set-up on `core` (when pinning); resolves once it accepts connections, with the
 * time it was spawned.
 * @param {string} file
 * @param {string} zone
 * @param {number} port
 * @param {number} core
 * @returns {Promise<{ proc: import('node:child_process').ChildProcess, startedAt: number }>}
 */
async function startServer(file, zone, port, core) {
  const args = [
    path.join(ROOT, 'dist/cli.js'),
    '--config', file, '--zone', zone, '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn',
    '--max-instances-per-app', '100000', '--max-replication-body-bytes', String(8 << 20),
    // The comparison rounds would add their own load to the measurement; startup sync is what is measured.
    '--anti-entropy-interval-ms', '3600000',
  ];
  const nodeArgs = ['--max-old-space-size=4096', ...args];
  const proc = PINNING
    ? spawn('taskset', ['-c', String(core), NODE, ...nodeArgs], { stdio: ['ignore', 'ignore', 'inherit'] })
    : spawn(NODE, nodeArgs, { stdio: ['ignore', 'ignore', 'inherit'] });
  const startedAt = performance.now();
  for (let i = 0; i < 500; i++) {
    if (proc.exitCode !== null) throw new Error(`zone ${zone} exited with ${proc.exitCode}`);
    if ((await call(port, 'GET', '/health/live')).status === 200) return { proc, startedAt };
    await sleep(10);
  }
  throw new Error(`zone ${zone} did not start`);
}

/** @param {{ proc: import('node:child_process').ChildProcess } | undefined} server */
function stop(server) {
  const proc = server?.proc;
  if (!proc || proc.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', resolve);
    proc.kill('SIGKILL');
  });
}

/** Fills A through peer batches; resolves with the instances it holds. */
async function fill(portA) {
  const refs = fleet(CONFIG.apps, CONFIG.perApp);
  await fillThroughPeerBatches(portA, refs, { concurrency: CONFIG.fillConcurrency });
  return refs;
}

/** Instances a server holds, from /eureka/status. */
async function held(port) {
  const res = await call(port, 'GET', '/eureka/status');
  try {
    const doc = JSON.parse(res.body);
    return Number(doc.registry?.instances ?? doc.instances ?? NaN);
  } catch {
    return NaN;
  }
}

async function oneRun(dir) {
  const [portA, portB] = [await freePort(), await freePort()];
  const file = path.join(dir, 'zones.json');
  const zones = { a: [`http://127.0.0.1:${portA}/eureka/`], b: [`http://127.0.0.1:${portB}/eureka/`] };
  fs.writeFileSync(file, JSON.stringify({ region: 'bench', zones, settings: { syncFailureMode: 'serve', syncAttempts: 1 } }));
  let a;
  let b;
  try {
    a = await startServer(file, 'a', portA, 1);
    const pidA = /** @type {number} */ (a.proc.pid);
    const t0 = performance.now();
    const refs = await fill(portA);
    const fillMs = performance.now() - t0;
    const holdsA = await held(portA);
    if (holdsA !== refs.length) throw new Error(`A holds ${holdsA} of ${refs.length} instances`);
    const aCpu0 = cpuMs(pidA);

    b = await startServer(file, 'b', portB, 0);
    const pidB = /** @type {number} */ (b.proc.pid);
    const started = b.startedAt;
    // Heartbeats to B while it syncs: for an instance B does not hold yet they answer 503 (sync in progress) or 204;
    // what matters is how long each waits for B's event loop.
    let probing = true;
    let longestProbeMs = 0;
    let probes = 0;
    const probeLoop = (async () => {
      const ref = refs[refs.length - 1];
      while (probing) {
        const p0 = performance.now();
        await call(portB, 'PUT', `/eureka/apps/${ref.app}/${ref.id}`);
        longestProbeMs = Math.max(longestProbeMs, performance.now() - p0);
        probes++;
        await sleep(CONFIG.probeEveryMs);
      }
    })();
    let readyMs = NaN;
    for (;;) {
      if ((await call(portB, 'GET', '/health/ready')).status === 200) {
        readyMs = performance.now() - started;
        break;
      }
      if (performance.now() - started > 120_000) break;
      await sleep(20);
    }
    probing = false;
    await probeLoop;
    const holdsB = await held(portB);
    const result = {
      instances: refs.length,
      fillSeconds: fillMs / 1000,
      readyMs,
      holdsB,
      bCpuMs: cpuMs(pidB),
      aCpuMs: cpuMs(pidA) - aCpu0,
      longestProbeMs,
      probes,
      rssA: memory(pidA).rss,
      rssB: memory(pidB).rss,
    };
    return result;
  } finally {
    await stop(b);
    await stop(a);
  }
}

/** Runs the part; returns the median run (by readiness time). */
async function startupSyncBench(log = (m) => console.error(m)) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eureka-bench-sync-'));
  const runs = [];
  try {
    for (let i = 0; i < CONFIG.runs; i++) {
      log(`  [startup sync ${i + 1}/${CONFIG.runs}] ${CONFIG.apps * CONFIG.perApp} instances on A, then B starts`);
      runs.push(await oneRun(dir));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    agent.destroy();
  }
  runs.sort((x, y) => x.readyMs - y.readyMs);
  return runs[Math.floor(runs.length / 2)];
}

/** The part's report lines (markdown). */
function report(r) {
  const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');
  const ok = r.readyMs < TARGETS.readyMs && r.holdsB === r.instances;
  return [
    `### Startup sync of ${fmt(r.instances)} instances (${fmt(CONFIG.apps)} applications) from one peer`,
    '',
    PINNING ? 'B on core 0; A and the load generator (heartbeats to B) on core 1.' : 'Not pinned (no taskset or fewer than 2 cores).',
    '',
    '| Measure | Value | Target |',
    '|---|---|---|',
    `| B ready (start → /health/ready 200) | ${fmt(r.readyMs / 1000, 1)} s | < ${TARGETS.readyMs / 1000} s ${ok ? '✅' : '❌'} |`,
    `| instances held by B when ready | ${fmt(r.holdsB)} of ${fmt(r.instances)} | all |`,
    `| B's CPU from start to ready (process start included) | ${fmt(r.bCpuMs / 1000, 1)} s | |`,
    `| A's CPU serving the sync | ${fmt(r.aCpuMs / 1000, 1)} s | |`,
    `| longest heartbeat answer from B during its sync (${fmt(r.probes)} sent, one per ${CONFIG.probeEveryMs} ms) | ${fmt(r.longestProbeMs)} ms | |`,
    `| RSS after: A · B | ${fmt(r.rssA / 2 ** 20)} MiB · ${fmt(r.rssB / 2 ** 20)} MiB | |`,
    `| filling A (peer batches of ${BATCH_ITEMS}, not a target) | ${fmt(r.fillSeconds, 1)} s | |`,
  ];
}

module.exports = { startupSyncBench, report, TARGETS };

if (require.main === module) {
  startupSyncBench()
    .then((r) => {
      console.log(report(r).join('\n'));
      console.log(JSON.stringify(r));
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
