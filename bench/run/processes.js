'use strict';
// Process control: the machine and core pinning (taskset), servers started pinned with the orphan guard preloaded
// and always stopped, free ports, and waiting for other processes to leave the CPUs alone before a measurement.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { spawn, execFileSync } = require('node:child_process');
const { cpuMs, machineCpuMs, request } = require('../load');
const { ROOT, CONFIG } = require('./config');

const BENCH_DIR = path.resolve(__dirname, '..');

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

/**
 * Re-pins every thread of `pid` but its main one (V8's GC helpers, the libuv pool, the inspector) to `cores` (as
 * taskset takes them): the main thread keeps its core, the helpers may also run on others. Threads created later
 * inherit the main thread's pinning, so call it once the process has started its pools. `nice`: their niceness
 * (19: they run only when nothing else wants the cores).
 */
function pinHelperThreads(pid, cores, nice = 0) {
  if (!PINNING) return 0;
  let moved = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    if (tid === String(pid)) continue;
    try {
      execFileSync('taskset', ['-p', '-c', cores, tid], { stdio: 'ignore' });
      if (nice) execFileSync('renice', ['-n', String(nice), '-p', tid], { stdio: 'ignore' });
      moved++;
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return moved;
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
for (const [signal, code] of /** @type {[NodeJS.Signals, number][]} */ ([['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]])) {
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
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A server the benchmark started: `output` is the tail of its stdout and stderr, `exited` how it ended (null while
 * it runs).
 * @typedef {{ name: string, pid: number, port: number, child: import('node:child_process').ChildProcess, output: () => string,
 *   exited: () => { code: number | null, signal: NodeJS.Signals | null } | null }} Proc
 */

/**
 * Starts a Node script pinned to `core` (0: the server's; the replication phase puts peers on 1; or a taskset list such as "0,1") and waits until it answers HTTP on `port`.
 * `nodeOptions` go to node itself, before the script (e.g. --cpu-prof).
 * @param {string} name
 * @param {string} script
 * @param {string[]} args
 * @param {number} port
 * @param {number | string} [core]
 * @param {string[]} [nodeOptions]
 * @returns {Promise<Proc>}
 */
async function startProcess(name, script, args, port, core = 0, nodeOptions = []) {
  const nodeArgs = [...nodeOptions, '-r', path.join(BENCH_DIR, 'orphan-guard.js'), script, ...args];
  const [cmd, argv] = PINNING ? ['taskset', ['-c', String(core), NODE, ...nodeArgs]] : [NODE, nodeArgs];
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let tail = '';
  const keep = (chunk) => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  if (CONFIG.serverLogDir) {
    fs.mkdirSync(CONFIG.serverLogDir, { recursive: true });
    const file = fs.createWriteStream(path.join(CONFIG.serverLogDir, `${name.replace(/[^\w.-]+/g, '-')}-${child.pid}.log`));
    child.stdout.pipe(file);
    child.stderr.pipe(file);
  }
  child.stdin.on('error', () => {}); // the child may exit first
  let exited = /** @type {{ code: number | null, signal: NodeJS.Signals | null } | null} */ (null);
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
  return { name, pid: /** @type {number} */ (child.pid), port, child, output, exited: () => exited };
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

function serverScript(entry = CONFIG.server) {
  const script = path.resolve(ROOT, entry);
  if (!fs.existsSync(script)) throw new Error(`${entry} not found: run \`npm run build\` first (npm run bench does, via prebench)`);
  return script;
}

async function startOurs(script = serverScript(), name = 'ours') {
  const port = await freePort();
  return startProcess(name, script, serverArgs(port), port);
}

/** The bare server replaying the captures in `dir`; with `keepRegistrations`, the registry floor (see bare-server.js). */
async function startBare(dir, keepRegistrations = false) {
  const port = await freePort();
  const args = [String(port), dir, ...(keepRegistrations ? ['--keep-registrations'] : [])];
  return startProcess(keepRegistrations ? 'floor' : 'bare', path.join(BENCH_DIR, 'bare-server.js'), args, port);
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

module.exports = {
  pinHelperThreads,
  PINNING,
  machine,
  pinSelf,
  tempDirs,
  killAll,
  freePort,
  sleep,
  startProcess,
  stopProcess,
  serverArgs,
  serverScript,
  startOurs,
  startBare,
  awaitQuiet,
  assertAlive,
};
