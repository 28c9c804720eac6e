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
// Settings (environment variables, defaults in CONFIG): SOAK_SECONDS (attack, 100), SOAK_WARMUP_SECONDS (8),
// SOAK_RECOVERY_SECONDS (60), SOAK_GOOD_APPS × SOAK_GOOD_PER_APP (10 × 10), SOAK_HEARTBEAT_MS (1000),
// SOAK_LEASE_SECS (6), SOAK_TRAP_LEASE_SECS (30), SOAK_RENEWAL_WINDOW_MS (5000), SOAK_DELTA_POLL_MS (5000), SOAK_DELTA_RETENTION_MS (30000), SOAK_MONITOR_MS (1000), SOAK_HOSTILE_REQUESTS (10000),
// SOAK_HOSTILE_CONCURRENCY (48), SOAK_SLOW_CONNECTIONS (400), SOAK_SLOW_TRICKLE_MS (5000), SOAK_OVERSIZED (30),
// SOAK_OVERSIZED_MB (20), SOAK_BATCH_BOMBS (10), SOAK_RSS_SETTLED_MB (64), SOAK_SERVER (dist/cli.js),
// SOAK_SERVER_ARGS (extra server flags, space-separated). Quick check: SOAK_SECONDS=20 SOAK_HOSTILE_REQUESTS=2000
// SOAK_RECOVERY_SECONDS=15 npm run soak.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const http = require('node:http');
const zlib = require('node:zlib');
const { spawn } = require('node:child_process');
const { registrationBody } = require('./instances');
const { Samples, cpuMs, machineCpuMs, memory } = require('./load');
const { num } = require('./env');

const ROOT = path.resolve(__dirname, '..');
const MB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------------------------
// Configuration


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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const elapsed = () => (Date.now() - t0) / 1000;
const log = (msg) => console.error(`soak [${elapsed().toFixed(0).padStart(3)} s] ${msg}`);

/** Deterministic PRNG (mulberry32), so two runs send the same attack. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(20261202);

// ---------------------------------------------------------------------------------------------------------------
// Resources: everything opened is closed however the run ends

/** @type {Set<net.Socket>} */
const sockets = new Set();
const track = (socket) => {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
  return socket;
};
const timers = new Set();
const every = (ms, fn) => {
  const h = setInterval(fn, ms);
  timers.add(h);
  return h;
};
const later = (ms, fn) => {
  const h = setTimeout(() => {
    timers.delete(h);
    fn();
  }, ms);
  timers.add(h);
  return h;
};
const clearTimers = () => {
  for (const h of timers) clearInterval(h); // clearInterval clears timeouts too
  timers.clear();
};

let child = null;
let tempDir = null;
let peerServer = null;

function killEverything() {
  clearTimers();
  for (const s of sockets) s.destroy();
  if (child && child.exitCode === null && child.signalCode === null) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  if (peerServer) peerServer.close();
  peerServer = null;
  if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
}
process.on('exit', killEverything);
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(signal, () => {
    console.error(`\nsoak: ${signal}, stopping the server`);
    killEverything();
    process.exit(code);
  });
}

/** A free TCP port on `host` (free now; it is bound right after). */
function freePort(host) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics: per kind of request, outcomes by status class

/** Phase of the run, for latency and memory: register, warmup, attack, drain, recovery, done. */
let phase = 'register';

class KindStats {
  constructor(name, group) {
    this.name = name;
    this.group = group; // 'good' | 'hostile'
    this.sent = 0;
    /** status class (2xx…5xx) or outcome without a status (reset, timeout, aborted, held). */
    this.classes = {};
    this.statuses = {};
    this.latency = new Samples(1024);
  }
  record(outcome, ms) {
    if (typeof outcome === 'number') {
      const cls = `${Math.floor(outcome / 100)}xx`;
      this.classes[cls] = (this.classes[cls] || 0) + 1;
      this.statuses[outcome] = (this.statuses[outcome] || 0) + 1;
      if (ms !== undefined) this.latency.push(ms);
    } else {
      this.classes[outcome] = (this.classes[outcome] || 0) + 1;
    }
  }
}
/** @type {Map<string, KindStats>} */
const kinds = new Map();
const kind = (name, group = 'hostile') => {
  let k = kinds.get(name);
  if (!k) kinds.set(name, (k = new KindStats(name, group)));
  return k;
};

// ---------------------------------------------------------------------------------------------------------------
// The server and its dummy peer

const server = { port: 0, pid: 0, exited: null, head: '', tail: '', warnLines: 0, errorLines: 0 };

/** The dummy peer: answers startup sync with an empty registry and every replication batch item with 200. */
function startPeer(port) {
  const peer = { batches: 0, items: 0, syncs: 0, other: 0 };
  peerServer = http.createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size <= 32 * MB) chunks.push(c);
    });
    req.on('end', () => {
      const url = req.url || '/';
      if (req.method === 'GET' && /^\/eureka\/apps\/?$/.test(url)) {
        peer.syncs++;
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"applications":{"versions__delta":"1","apps__hashcode":"","application":[]}}');
      }
      if (req.method === 'POST' && /^\/eureka\/peerreplication\/batch\/?$/.test(url)) {
        let n = 0;
        try {
          n = JSON.parse(Buffer.concat(chunks).toString('utf8')).replicationList.length;
        } catch {
          res.writeHead(400);
          return res.end();
        }
        peer.batches++;
        peer.items += n;
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ responseList: Array.from({ length: n }, () => ({ statusCode: 200 })) }));
      }
      peer.other++;
      res.writeHead(404);
      res.end();
    });
  });
  peerServer.on('connection', (s) => track(s));
  return new Promise((resolve, reject) => {
    peerServer.once('error', reject);
    peerServer.listen(port, PEER_ADDR, () => resolve(peer));
  });
}

async function startServer(port, peerPort) {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'eureka-soak-'));
  const selfUrl = `http://127.0.0.1:${port}/eureka/`;
  const zonesFile = path.join(tempDir, 'zones.json');
  fs.writeFileSync(zonesFile, JSON.stringify({ region: 'soak', zones: { 'soak-a': [selfUrl, `http://${PEER_ADDR}:${peerPort}/eureka/`] }, settings: {} }, null, 2));
  const args = [
    '-r',
    path.join(__dirname, 'orphan-guard.js'),
    path.join(ROOT, CONFIG.server),
    ...['--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn'],
    ...['--config', zonesFile, '--zone', 'soak-a', '--self-url', selfUrl],
    ...['--sync-attempts', '2', '--sync-retry-wait-ms', '200', '--sync-failure-mode', 'serve'],
    ...['--lease-duration-secs', String(CONFIG.leaseSecs), '--lease-renewal-interval-secs', '1', '--eviction-interval-ms', '1000', '--renewal-window-ms', String(CONFIG.renewalWindowMs), '--delta-retention-ms', String(CONFIG.deltaRetentionMs)],
    ...CONFIG.serverExtraArgs,
  ];
  child = spawn(NODE, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  server.port = port;
  server.pid = child.pid;
  server.args = args.slice(2);
  const keep = (chunk) => {
    const text = chunk.toString();
    server.warnLines += (text.match(/warn/gi) || []).length;
    server.errorLines += (text.match(/error/gi) || []).length;
    server.tail = (server.tail + text).slice(-6000);
    if (server.head.length < 3000) server.head = (server.head + text).slice(0, 3000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.stdin.on('error', () => {});
  child.on('exit', (code, signal) => {
    server.exited = { code, signal, atSecs: elapsed(), phase };
    if (!stopping) log(`SERVER EXITED (code ${code}, signal ${signal}) during ${phase}`);
  });
  const deadline = Date.now() + 20000;
  for (;;) {
    if (server.exited) throw new Error(`server exited during start-up (code ${server.exited.code}):\n${server.tail}`);
    const res = await goodRequest('GET', '/eureka/apps/delta', undefined, 2000, null);
    if (typeof res.status === 'number' && res.status === 200) break;
    if (Date.now() > deadline) throw new Error(`server did not answer 200 on 127.0.0.1:${port} within 20 s:\n${server.tail}`);
    await sleep(100);
  }
}
let stopping = false;

async function stopServer() {
  stopping = true;
  if (!child || server.exited) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const h = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(h);
}

// ---------------------------------------------------------------------------------------------------------------
// Good clients: keep-alive node:http from 127.0.0.1, as real Eureka clients

const goodAgent = new http.Agent({ keepAlive: true, maxSockets: 24, localAddress: GOOD_ADDR });
let goodInFlight = 0;

/**
 * One request of the good fleet. `stats` (a KindStats or null) records the outcome.
 * @returns {Promise<{ status: number | string, body: Buffer | null, ms: number }>}
 */
function goodRequest(method, reqPath, body, timeoutMs, stats) {
  return new Promise((resolve) => {
    const started = performance.now();
    const headers = { accept: 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    let settled = false;
    goodInFlight++;
    const done = (status, buf) => {
      if (settled) return;
      settled = true;
      goodInFlight--;
      const ms = performance.now() - started;
      if (stats) {
        stats.sent++;
        stats.record(status, ms);
      }
      resolve({ status, body: buf, ms });
    };
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path: reqPath, headers, agent: goodAgent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => done(res.statusCode, Buffer.concat(chunks)));
      res.on('error', () => done('reset', null));
    });
    req.setTimeout(timeoutMs, () => {
      done('timeout', null);
      req.destroy();
    });
    req.on('error', () => done('reset', null));
    req.end(body);
  });
}

/** The good fleet: `apps` × `perApp` instances, SOAK-GOOD-00 … with distinct hosts. */
function goodFleet() {
  const renewalSecs = Math.ceil(CONFIG.heartbeatMs / 1000);
  const out = [];
  for (let a = 0; a < CONFIG.goodApps; a++) {
    for (let n = 0; n < CONFIG.goodPerApp; n++) {
      const index = a * CONFIG.goodPerApp + n;
      const appLower = `soak-good-${String(a).padStart(2, '0')}`;
      const ipAddr = `10.77.${(index >> 8) & 255}.${index & 255}`;
      const hostName = `good-${index}.soak.internal`;
      const ref = { app: appLower.toUpperCase(), appLower, id: `${hostName}:${appLower}:8080`, hostName, ipAddr, index };
      const now = Date.now();
      const doc = JSON.parse(registrationBody(ref, { now, durationSecs: CONFIG.leaseSecs }));
      doc.instance.leaseInfo.renewalIntervalInSecs = renewalSecs;
      ref.dirty = now;
      ref.doc = doc;
      ref.body = JSON.stringify(doc);
      ref.inFlight = false;
      out.push(ref);
    }
  }
  return out;
}

const good = {
  refs: [],
  /** id → first loss: { atSecs, phase, why } */
  lost: new Map(),
  lossEvents: 0,
  /** id → first time seen not UP during the run */
  notUp: new Map(),
  notUpObservations: 0,
  heartbeat: { warmup: new Samples(), attack: new Samples(), drain: new Samples(), recovery: new Samples() },
  heartbeatFailed: { warmup: 0, attack: 0, drain: 0, recovery: 0 },
  heartbeatsSkipped: 0,
  reRegistrations: 0,
  pollFailures: 0,
  running: false,
};

function markLost(ref, why) {
  good.lossEvents++;
  if (!good.lost.has(ref.id)) {
    good.lost.set(ref.id, { atSecs: +elapsed().toFixed(1), phase, why });
    if (good.lost.size <= 3) log(`good instance lost: ${ref.id} (${why})${good.lost.size === 3 ? '; further losses only counted' : ''}`);
  }
}

async function registerGood(ref) {
  const res = await goodRequest('POST', `/eureka/apps/${ref.app}`, ref.body, 10000, kind('good register', 'good'));
  return res.status;
}

async function heartbeat(ref) {
  if (ref.inFlight) {
    good.heartbeatsSkipped++;
    return;
  }
  ref.inFlight = true;
  const p = phase;
  const res = await goodRequest('PUT', `/eureka/apps/${ref.app}/${ref.id}?status=UP&lastDirtyTimestamp=${ref.dirty}`, undefined, 10000, kind('good heartbeat', 'good'));
  ref.inFlight = false;
  const samples = good.heartbeat[p];
  if (res.status === 200) {
    if (samples) samples.push(res.ms);
    return;
  }
  // A failed heartbeat is worse than any slow one: it enters the percentiles as infinitely slow.
  if (samples) samples.push(Infinity);
  if (p in good.heartbeatFailed) good.heartbeatFailed[p]++;
  if (res.status === 404 && good.running) {
    markLost(ref, 'heartbeat answered 404');
    // What a Eureka client does on 404: register again.
    good.reRegistrations++;
    await registerGood(ref);
  }
}

/** Reads one good app and checks that each of its good instances is there and UP. */
async function checkApp(app, refs, final = false) {
  const res = await goodRequest('GET', `/eureka/apps/${app}`, undefined, 10000, kind(final ? 'good final check' : 'good app poll', 'good'));
  const result = { absent: [], notUp: [] };
  if (res.status !== 200 && res.status !== 404) {
    good.pollFailures++;
    return result;
  }
  const statuses = new Map();
  if (res.status === 200) {
    try {
      const doc = JSON.parse(res.body.toString('utf8'));
      const list = doc.application.instance;
      for (const inst of Array.isArray(list) ? list : [list]) statuses.set(inst.instanceId, inst.status);
    } catch {
      good.pollFailures++;
      return result;
    }
  }
  for (const ref of refs) {
    const status = statuses.get(ref.id);
    if (status === undefined) result.absent.push(ref.id);
    else if (status !== 'UP') result.notUp.push(ref.id);
    if (final || !good.running) continue;
    if (status === undefined) markLost(ref, `missing from GET /eureka/apps/${app}`);
    else if (status !== 'UP') {
      good.notUpObservations++;
      if (!good.notUp.has(ref.id)) {
        good.notUp.set(ref.id, { atSecs: +elapsed().toFixed(1), phase, status });
        if (good.notUp.size <= 3) log(`good instance not UP: ${ref.id} is ${status}${good.notUp.size === 3 ? '; further ones only counted' : ''}`);
      }
    }
  }
  return result;
}

function startGoodTraffic() {
  good.running = true;
  const refs = good.refs;
  refs.forEach((ref, i) => {
    later((i * CONFIG.heartbeatMs) / refs.length, () => {
      if (!good.running) return;
      heartbeat(ref);
      every(CONFIG.heartbeatMs, () => good.running && heartbeat(ref));
    });
  });
  // Every instance polls the delta once per deltaPollMs: one poll every deltaPollMs / N overall.
  const deltaStats = kind('good delta poll', 'good');
  every(Math.max(5, CONFIG.deltaPollMs / refs.length), () => {
    if (good.running) goodRequest('GET', '/eureka/apps/delta', undefined, 10000, deltaStats);
  });
  const byApp = new Map();
  for (const ref of refs) byApp.set(ref.app, [...(byApp.get(ref.app) || []), ref]);
  [...byApp].forEach(([app, appRefs], i) => {
    later((i * CONFIG.monitorMs) / byApp.size, () => {
      every(CONFIG.monitorMs, () => good.running && checkApp(app, appRefs));
    });
  });
  return byApp;
}

// ---------------------------------------------------------------------------------------------------------------
// Monitors: resident memory every second, self-preservation every two

const rss = { timeline: [], baseline: NaN, peak: 0, peakAtSecs: 0, recoveredAfterSecs: null, final: NaN, samplerFailures: 0 };
const selfPreservation = { timeline: [], everActive: false, firstActiveAtSecs: null };

function sampleRss() {
  if (server.exited) return;
  try {
    const { rss: bytes } = memory(server.pid);
    rss.timeline.push({ t: +elapsed().toFixed(1), phase, rssMB: +(bytes / MB).toFixed(1) });
    if ((phase === 'attack' || phase === 'drain' || phase === 'recovery') && bytes > rss.peak) {
      rss.peak = bytes;
      rss.peakAtSecs = +elapsed().toFixed(1);
    }
    return bytes;
  } catch {
    rss.samplerFailures++;
    return NaN;
  }
}
const lastRss = () => (rss.timeline.length ? rss.timeline[rss.timeline.length - 1].rssMB * MB : NaN);

/** What the server's V8 heap holds (used) and reserves (total), and its external memory, from its /metrics. */
const heap = { timeline: [] };

async function sampleHeap() {
  const res = await goodRequest('GET', '/metrics', undefined, 10000, null);
  if (res.status !== 200) return;
  const text = res.body.toString('utf8');
  const value = (name) => Number((new RegExp(`^${name} (\\S+)$`, 'm').exec(text) || [])[1]) / MB;
  heap.timeline.push({ t: +elapsed().toFixed(1), phase, usedMB: +value('nodejs_heap_size_used_bytes').toFixed(1), totalMB: +value('nodejs_heap_size_total_bytes').toFixed(1), externalMB: +value('nodejs_external_memory_bytes').toFixed(1) });
}

/** Heap figures of one phase: the mean of the last samples before it ended, and the peak. */
function heapOf(phases, last = 3) {
  const samples = heap.timeline.filter((h) => phases.includes(h.phase));
  if (samples.length === 0) return null;
  const tail = samples.slice(-last);
  const mean = (k) => +(tail.reduce((a, h) => a + h[k], 0) / tail.length).toFixed(1);
  return { usedMB: mean('usedMB'), totalMB: mean('totalMB'), externalMB: mean('externalMB'), peakUsedMB: Math.max(...samples.map((h) => h.usedMB)), peakTotalMB: Math.max(...samples.map((h) => h.totalMB)) };
}

async function sampleStatus() {
  const res = await goodRequest('GET', '/eureka/status', undefined, 10000, kind('good status poll', 'good'));
  if (res.status !== 200) return;
  try {
    const doc = JSON.parse(res.body.toString('utf8'));
    const sp = doc.selfPreservation || {};
    selfPreservation.timeline.push({
      t: +elapsed().toFixed(1),
      phase,
      active: sp.active,
      cause: sp.cause,
      expectedRenewalsPerMin: sp.expectedRenewalsPerMin,
      renewalsLastMin: sp.renewalsLastMin,
      instances: doc.registry ? doc.registry.instances : undefined,
      leaseExpirationEnabled: doc.leaseExpirationEnabled,
    });
    // The start-up window (expiry waits one renewal window after opening) is not the trap's doing.
    if (sp.active && sp.cause !== 'startup-window' && !selfPreservation.everActive) {
      selfPreservation.everActive = true;
      selfPreservation.firstActiveAtSecs = +elapsed().toFixed(1);
      log(`self-preservation engaged (${sp.reason || sp.cause})`);
    }
  } catch {
    /* an unreadable status is not a soak figure */
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Hostile requests over raw sockets (paths, headers and bodies no well-behaved client would send)

const hostileAddr = (() => {
  let i = 0;
  return () => HOSTILE_ADDRS[i++ % HOSTILE_ADDRS.length];
})();

/**
 * Sends one request on a new connection from `localAddress` and resolves with the status of the first response line
 * (or reset / timeout / aborted). `abortAfter`: write only that many bytes, then close the connection.
 * @param {{ method: string, path: string, headers?: Record<string,string>, body?: string | Buffer, localAddress: string,
 *   timeoutMs?: number, abortAfter?: number, contentLength?: number }} spec
 */
function rawRequest(spec) {
  const body = spec.body === undefined ? undefined : Buffer.isBuffer(spec.body) ? spec.body : Buffer.from(spec.body, 'utf8');
  let head = `${spec.method} ${spec.path} HTTP/1.1\r\nhost: 127.0.0.1:${server.port}\r\nconnection: close\r\n`;
  for (const [k, v] of Object.entries(spec.headers || {})) head += `${k}: ${v}\r\n`;
  const length = spec.contentLength ?? (body ? body.length : undefined);
  if (length !== undefined) head += `content-length: ${length}\r\n`;
  const bytes = body ? Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), body]) : Buffer.from(head + '\r\n', 'latin1');
  return new Promise((resolve) => {
    const started = performance.now();
    let settled = false;
    let response = '';
    const socket = track(net.connect({ host: '127.0.0.1', port: server.port, localAddress: spec.localAddress }));
    const finish = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ outcome, ms: performance.now() - started });
    };
    const timer = setTimeout(() => finish('timeout'), spec.timeoutMs ?? 15000);
    socket.on('connect', () => {
      if (spec.abortAfter === undefined) return socket.write(bytes);
      socket.write(bytes.subarray(0, Math.min(bytes.length, spec.abortAfter)));
      setTimeout(() => finish('aborted'), 20);
    });
    socket.on('data', (chunk) => {
      response += chunk.toString('latin1', 0, Math.min(chunk.length, 64));
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(response);
      if (m) finish(Number(m[1]));
      else if (response.length >= 12) finish('garbage');
    });
    socket.on('error', () => finish('reset'));
    socket.on('close', () => finish('reset'));
  });
}

async function hostile(name, spec) {
  const stats = kind(name);
  stats.sent++;
  const { outcome, ms } = await rawRequest(spec);
  stats.record(outcome, ms);
  return outcome;
}

// Bodies built once.
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };
const XML_HEADERS = { 'content-type': 'application/xml', accept: 'application/xml' };
const LIMIT = 64 * 1024 - 512; // under the default maxBodyBytes, so the parsers see them

function instanceDoc(app, id, extra = {}) {
  const ref = { app, appLower: app.toLowerCase(), id, hostName: `${id.replace(/[^a-z0-9-]/gi, '-')}.hostile.internal`, ipAddr: '10.66.0.1', index: 0 };
  const doc = JSON.parse(registrationBody(ref, { durationSecs: CONFIG.leaseSecs }));
  Object.assign(doc.instance, extra);
  return doc;
}

const XML_INSTANCE_INNER = (app, id) =>
  `<instanceId>${id}</instanceId><hostName>${id}.hostile.internal</hostName><app>${app}</app><ipAddr>10.66.0.2</ipAddr>` +
  `<status>UP</status><port enabled="true">8080</port><dataCenterInfo class="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"><name>MyOwn</name></dataCenterInfo>` +
  `<leaseInfo><renewalIntervalInSecs>30</renewalIntervalInSecs><durationInSecs>${CONFIG.leaseSecs}</durationInSecs></leaseInfo><vipAddress>${app.toLowerCase()}</vipAddress>`;

const BODIES = (() => {
  const fill = (unit, budget) => unit.repeat(Math.floor(budget / unit.length));
  const attrs = [];
  for (let i = 0, len = 0; len < LIMIT - 2000; i++) {
    const a = ` a${i}="x"`;
    attrs.push(a);
    len += a.length;
  }
  const xmlAttrs = `<instance${attrs.join('')}>${XML_INSTANCE_INNER('SOAK-XML', 'xml-attrs')}</instance>`;
  const metadata = `<metadata>${fill('<k>v</k>', 8000)}</metadata>`;
  const inner = XML_INSTANCE_INNER('SOAK-XML', 'xml-elements');
  const xmlElements = `<instance>${inner}${metadata}${fill('<e>x</e>', LIMIT - 100 - inner.length - metadata.length)}</instance>`;
  const depth = Math.floor((LIMIT - 2000) / 7);
  const xmlDeep = `<instance>${XML_INSTANCE_INNER('SOAK-XML', 'xml-deep')}${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</instance>`;
  const lol = `<!DOCTYPE instance [<!ENTITY a "${'a'.repeat(64)}">` + Array.from({ length: 9 }, (_, i) => `<!ENTITY ${'b'.repeat(i + 1)} "${`&${i === 0 ? 'a' : 'b'.repeat(i)};`.repeat(10)}">`).join('') + ']>';
  const xmlEntities = `${lol}<instance>${XML_INSTANCE_INNER('SOAK-XML', 'xml-entities')}<metadata><k>&bbbbbbbbb;</k></metadata></instance>`;
  const jsonDeepArrays = `{"instance":${'['.repeat(LIMIT / 2 - 20)}${']'.repeat(LIMIT / 2 - 20)}}`;
  const nest = Math.floor((LIMIT - 100) / 8);
  const jsonDeepObjects = `{"instance":{"app":"SOAK-JSON","metadata":${'{"a":'.repeat(nest)}1${'}'.repeat(nest)}}}`;
  const base = instanceDoc('SOAK-JSON', 'json-array');
  const jsonArrayField = JSON.stringify({ instance: { ...base.instance, metadata: { list: 'x' }, extra: new Array(Math.floor((LIMIT - 2000) / 2)).fill(0) } });
  const jsonTopArray = `[${new Array(Math.floor(LIMIT / 3)).fill('{}').join(',')}]`;
  const jsonMetadata = JSON.stringify({ instance: { ...base.instance, metadata: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, 'v'])) } });
  const regBody = JSON.stringify(instanceDoc('SOAK-ABORT', 'abort-0'));
  return { xmlAttrs, xmlElements, xmlDeep, xmlEntities, jsonDeepArrays, jsonDeepObjects, jsonArrayField, jsonTopArray, jsonMetadata: jsonMetadata.length <= LIMIT ? jsonMetadata : jsonMetadata.slice(0, LIMIT), regBody };
})();

/** ~16 KB of gzip that inflates to ~16 MB of `{"replicationList":[{},{},…]}`: just under 256 × the default body limit. */
function batchBomb() {
  const inflated = 16_000_000;
  const prefix = '{"replicationList":[';
  const items = Math.floor((inflated - prefix.length - 2) / 3);
  const text = prefix + '{},'.repeat(items - 1) + '{}]}';
  return { gzip: zlib.gzipSync(Buffer.from(text, 'latin1'), { level: 9 }), inflatedBytes: text.length, items };
}

// Names for the VIP bomb: 64 distinct 3-character names per registration (64 × 4 − 1 = 255 characters).
const VIP_NAMES_PER_REG = 64;
let vipNext = 0;
const vipName = (n) => `v${n.toString(36).padStart(3, '0')}`.slice(-3);
const registeredVips = [];

let seq = 0;
const churnIds = [];
let trapCount = 0;
/** Trap instances still registered at the end (their leases ran out long before), null when unknown. */
let trapRemaining = null;
/** What the server's /metrics said at the end: 5xx it recorded (including answers to clients already gone). */
let serverMetrics = null;

/** Reads /metrics: request counts with a 5xx code by method and route, evictions, status overrides by origin. */
async function scrapeMetrics() {
  const res = await goodRequest('GET', '/metrics', undefined, 10000, null);
  if (res.status !== 200) return null;
  const out = { server5xx: 0, server5xxByRoute: {}, evictions: 0, statusOverrides: {} };
  for (const line of res.body.toString('utf8').split('\n')) {
    let m = /^zone_registry_http_request_duration_seconds_count\{(.*)\} (\S+)$/.exec(line);
    if (m) {
      const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (/^5/.test(labels.code || '') && Number(m[2]) > 0) {
        out.server5xx += Number(m[2]);
        const key = `${labels.method} ${labels.route} ${labels.code}`;
        out.server5xxByRoute[key] = (out.server5xxByRoute[key] || 0) + Number(m[2]);
      }
      continue;
    }
    if ((m = /^zone_registry_evictions_total (\S+)$/.exec(line))) out.evictions = Number(m[1]);
    else if ((m = /^zone_registry_status_overrides_total\{(.*)\} (\S+)$/.exec(line))) out.statusOverrides[m[1]] = Number(m[2]);
  }
  return out;
}

/** When each trap registration was sent, ms since the epoch. */
const trapRegisteredAt = [];
/** Trap registrations whose lease had run out (with a few seconds for the eviction pass) when the end was checked. */
let trapExpired = 0;

/** The mixed stream: each kind builds one request; weights are per 100 requests. */
const MIXED = [
  ['trap: renewalIntervalInSecs 1, never heartbeats', 3, () => {
    const id = `trap-${trapCount++}`;
    const doc = instanceDoc('SOAK-TRAP', id, { leaseInfo: { renewalIntervalInSecs: 1, durationInSecs: CONFIG.trapLeaseSecs } });
    trapRegisteredAt.push(Date.now());
    return { method: 'POST', path: '/eureka/apps/SOAK-TRAP', headers: JSON_HEADERS, body: JSON.stringify(doc), localAddress: hostileAddr() };
  }],
  ['VIP bomb: register 64 VIPs', 2, () => {
    const names = Array.from({ length: VIP_NAMES_PER_REG }, () => vipName(vipNext++));
    registeredVips.push(...names);
    const doc = instanceDoc('SOAK-VIP', `vip-${seq++}`, { vipAddress: names.join(','), secureVipAddress: names.join(',') });
    return { method: 'POST', path: '/eureka/apps/SOAK-VIP', headers: JSON_HEADERS, body: JSON.stringify(doc), localAddress: hostileAddr() };
  }],
  ['VIP bomb: GET distinct /vips/{name}', 15, () => {
    // Mostly names that exist (each its own cached document), some that never did.
    const name = registeredVips.length > 0 && random() < 0.8 ? registeredVips[Math.floor(random() * registeredVips.length)] : `nx${(seq++).toString(36)}`;
    const accept = random() < 0.5 ? 'application/json' : 'application/xml';
    return { method: 'GET', path: `/eureka/${random() < 0.8 ? 'vips' : 'svips'}/${name}`, headers: { accept, 'accept-encoding': random() < 0.5 ? 'gzip' : 'identity' }, localAddress: hostileAddr() };
  }],
  // The reported status stays the good one's: with auth off a stranger may re-register any instance with another
  // status (as it may cancel it), a plain Eureka operation no server can tell from the real client's. What must not
  // stick is the override the forged peer header and the body's overriddenStatus ask for.
  ['forged replicated register (good id, overriddenStatus OUT_OF_SERVICE)', 3, () => {
    const ref = good.refs[Math.floor(random() * good.refs.length)];
    const doc = JSON.parse(ref.body);
    Object.assign(doc.instance, { overriddenStatus: 'OUT_OF_SERVICE', lastDirtyTimestamp: String(Date.now() + 3600e3) });
    return { method: 'POST', path: `/eureka/apps/${ref.app}`, headers: { ...JSON_HEADERS, 'x-netflix-discovery-replication': 'true' }, body: JSON.stringify(doc), localAddress: NON_PEER_ADDR };
  }],
  ['forged replicated heartbeat (good id, overriddenstatus)', 4, () => {
    const ref = good.refs[Math.floor(random() * good.refs.length)];
    return {
      method: 'PUT',
      path: `/eureka/apps/${ref.app}/${ref.id}?status=OUT_OF_SERVICE&overriddenstatus=OUT_OF_SERVICE&lastDirtyTimestamp=${Date.now() + 3600e3}`,
      headers: { accept: 'application/json', 'x-netflix-discovery-replication': 'true' },
      localAddress: NON_PEER_ADDR,
    };
  }],
  ['heartbeat ?overriddenstatus=OUT_OF_SERVICE (good id)', 4, () => {
    const ref = good.refs[Math.floor(random() * good.refs.length)];
    return { method: 'PUT', path: `/eureka/apps/${ref.app}/${ref.id}?status=UP&overriddenstatus=OUT_OF_SERVICE&lastDirtyTimestamp=${ref.dirty}`, headers: { accept: 'application/json' }, localAddress: NON_PEER_ADDR };
  }],
  ['register good id with overriddenStatus OUT_OF_SERVICE', 3, () => {
    const ref = good.refs[Math.floor(random() * good.refs.length)];
    const doc = JSON.parse(ref.body);
    doc.instance.overriddenStatus = 'OUT_OF_SERVICE';
    return { method: 'POST', path: `/eureka/apps/${ref.app}`, headers: JSON_HEADERS, body: JSON.stringify(doc), localAddress: NON_PEER_ADDR };
  }],
  ['XML: thousands of attributes', 3, () => ({ method: 'POST', path: '/eureka/apps/SOAK-XML', headers: XML_HEADERS, body: BODIES.xmlAttrs, localAddress: hostileAddr() })],
  ['XML: thousands of elements', 3, () => ({ method: 'POST', path: '/eureka/apps/SOAK-XML', headers: XML_HEADERS, body: BODIES.xmlElements, localAddress: hostileAddr() })],
  ['XML: deep nesting', 3, () => ({ method: 'POST', path: '/eureka/apps/SOAK-XML', headers: XML_HEADERS, body: BODIES.xmlDeep, localAddress: hostileAddr() })],
  ['XML: entity expansion', 2, () => ({ method: 'POST', path: '/eureka/apps/SOAK-XML', headers: XML_HEADERS, body: BODIES.xmlEntities, localAddress: hostileAddr() })],
  ['JSON: deep nesting', 4, () => ({ method: 'POST', path: '/eureka/apps/SOAK-JSON', headers: JSON_HEADERS, body: random() < 0.5 ? BODIES.jsonDeepArrays : BODIES.jsonDeepObjects, localAddress: hostileAddr() })],
  ['JSON: huge arrays / maps', 4, () => {
    const r = random();
    const body = r < 0.34 ? BODIES.jsonArrayField : r < 0.67 ? BODIES.jsonTopArray : BODIES.jsonMetadata;
    const target = r < 0.67 && random() < 0.3 ? '/eureka/peerreplication/batch' : '/eureka/apps/SOAK-JSON';
    return { method: 'POST', path: target, headers: JSON_HEADERS, body, localAddress: target.includes('batch') ? NON_PEER_ADDR : hostileAddr() };
  }],
  ['malformed gzip', 5, () => {
    const valid = zlib.gzipSync(BODIES.regBody);
    const r = random();
    const body = r < 0.33 ? Buffer.from('this is not gzip at all') : r < 0.66 ? valid.subarray(0, valid.length >> 1) : Buffer.concat([valid.subarray(0, 10), Buffer.alloc(200, 0xff)]);
    return { method: 'POST', path: random() < 0.8 ? '/eureka/apps/SOAK-ABORT' : '/eureka/peerreplication/batch', headers: { ...JSON_HEADERS, 'content-encoding': random() < 0.9 ? 'gzip' : 'br, gzip, deflate' }, body, localAddress: hostileAddr() };
  }],
  ['wrong content type', 5, () => {
    const types = ['text/html', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'image/png', '', 'application/xml'];
    const type = types[Math.floor(random() * types.length)];
    const headers = { accept: 'application/json' };
    if (type) headers['content-type'] = type;
    return { method: 'POST', path: '/eureka/apps/SOAK-ABORT', headers, body: type === 'application/xml' ? BODIES.regBody : random() < 0.5 ? BODIES.regBody : Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]), localAddress: hostileAddr() };
  }],
  ['garbage path / method', 12, () => {
    const paths = [
      '/eureka/apps/%',
      '/eureka/apps/%E0%A4%A',
      '/eureka//apps///x//',
      `/eureka/apps/${'A'.repeat(4000)}`,
      `/eureka/apps/X/${'i'.repeat(300)}`,
      '/eureka/../../etc/passwd',
      '/eureka/apps/a/b/c/d/e/f/g',
      '/eureka/%00/apps',
      `/eureka/vips/${'v'.repeat(300)}`,
      '/eureka/apps/__proto__',
      '/eureka/apps/constructor/prototype',
      '/eureka/instances/%2e%2e%2f',
      `/eureka/${'x/'.repeat(1000)}`,
      '/eureka/apps/SOAK-GOOD-00/%ZZ/status?value=UP',
      '*',
      'http://evil.example/eureka/apps',
    ];
    const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'GET'];
    return { method: methods[Math.floor(random() * methods.length)], path: paths[Math.floor(random() * paths.length)], headers: { accept: 'application/json' }, localAddress: hostileAddr() };
  }],
  ['bad query parameters', 8, () => {
    const ref = good.refs[Math.floor(random() * good.refs.length)];
    const many = Array.from({ length: 2000 }, (_, i) => `p${i}=${i}`).join('&');
    const queries = [
      [`PUT`, `/eureka/apps/${ref.app}/${ref.id}?lastDirtyTimestamp=abc`],
      [`PUT`, `/eureka/apps/${ref.app}/${ref.id}?lastDirtyTimestamp=1e400`],
      [`PUT`, `/eureka/apps/${ref.app}/${ref.id}/status?value=BOGUS&lastDirtyTimestamp=1`],
      [`DELETE`, `/eureka/apps/${ref.app}/${ref.id}/status?value=%ZZ`],
      [`PUT`, `/eureka/apps/SOAK-CHURN/nobody/metadata?${many}`],
      [`GET`, `/eureka/apps?${many}`],
      [`GET`, `/eureka/apps/delta?regions=${'r,'.repeat(2000)}`],
      [`PUT`, `/eureka/apps/SOAK-CHURN/nobody?status=UP&status=DOWN&lastDirtyTimestamp=-1&lastDirtyTimestamp=%`],
      [`PUT`, `/eureka/apps/SOAK-CHURN/nobody?${'%'.repeat(500)}`],
    ];
    const [method, p] = queries[Math.floor(random() * queries.length)];
    return { method, path: p, headers: { accept: 'application/json' }, localAddress: hostileAddr() };
  }],
  ['client aborts mid-body', 5, () => ({
    method: 'POST',
    path: '/eureka/apps/SOAK-ABORT',
    headers: JSON_HEADERS,
    body: BODIES.regBody,
    contentLength: BODIES.regBody.length + 4000,
    abortAfter: 300 + Math.floor(random() * 600),
    localAddress: hostileAddr(),
  })],
  ['churn: register throwaway', 7, () => {
    const id = `churn-${seq++}`;
    churnIds.push(id);
    return { method: 'POST', path: '/eureka/apps/SOAK-CHURN', headers: JSON_HEADERS, body: JSON.stringify(instanceDoc('SOAK-CHURN', id)), localAddress: hostileAddr() };
  }],
  ['churn: cancel throwaway', 7, () => ({ method: 'DELETE', path: `/eureka/apps/SOAK-CHURN/${churnIds.shift() ?? 'never-registered'}`, localAddress: hostileAddr() })],
];

/** The mixed stream in a fixed shuffled order (deterministic), cycled. */
function mixedDeck() {
  const deck = [];
  for (const [name, weight, build] of MIXED) for (let i = 0; i < weight; i++) deck.push({ name, build });
  for (let i = deck.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [deck[i], deck[j]] = [deck[j], deck[i]];
  }
  return deck;
}

const attack = { stop: false, mixedSent: 0, mixedInFlight: 0, maxMixedInFlight: 0, inFlight: new Set() };

/** The mixed stream at a fixed rate, at most `hostileConcurrency` in flight; late requests catch up while time is left. */
async function mixedStream(deadlineMs) {
  const deck = mixedDeck();
  const total = CONFIG.hostileRequests;
  const start = Date.now();
  const intervalMs = (CONFIG.attackSeconds * 1000) / Math.max(1, total);
  while (!attack.stop && attack.mixedSent < total && Date.now() < deadlineMs) {
    const due = Math.min(total, Math.floor((Date.now() - start) / intervalMs) + 1);
    while (attack.mixedSent < due && attack.mixedInFlight < CONFIG.hostileConcurrency && !attack.stop) {
      const { name, build } = deck[attack.mixedSent % deck.length];
      attack.mixedSent++;
      attack.mixedInFlight++;
      attack.maxMixedInFlight = Math.max(attack.maxMixedInFlight, attack.mixedInFlight);
      const p = hostile(name, build()).finally(() => {
        attack.mixedInFlight--;
        attack.inFlight.delete(p);
      });
      attack.inFlight.add(p);
    }
    await sleep(5);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Slow-loris connections: headers or body trickled, held until the attack stops, reopened when the server closes them

const slow = { opened: 0, closedByServer: 0, answered: 0, heldToEnd: 0, lifetimesMs: new Samples(), open: new Set() };

function openSlow(i) {
  if (attack.stop) return;
  const bodyMode = i % 2 === 1;
  const stats = kind(bodyMode ? 'slow-loris: body trickled' : 'slow-loris: headers trickled');
  stats.sent++;
  slow.opened++;
  const started = performance.now();
  const socket = track(net.connect({ host: '127.0.0.1', port: server.port, localAddress: SLOW_ADDRS[i % SLOW_ADDRS.length] }));
  const conn = { socket, endedByUs: false, status: null };
  slow.open.add(conn);
  let k = 0;
  let trickle = null;
  socket.on('connect', () => {
    socket.write(
      bodyMode
        ? `POST /eureka/apps/SOAK-LORIS HTTP/1.1\r\nhost: 127.0.0.1:${server.port}\r\ncontent-type: application/json\r\ncontent-length: 60000\r\n\r\n{"instance":{`
        : `POST /eureka/apps/SOAK-LORIS HTTP/1.1\r\nhost: 127.0.0.1:${server.port}\r\ncontent-type: application/json\r\n`,
    );
    // Each connection trickles at its own phase.
    trickle = later(random() * CONFIG.slowTrickleMs, () => {
      trickle = every(CONFIG.slowTrickleMs, () => {
        if (!socket.destroyed) socket.write(bodyMode ? ' ' : `x-slow-${k++}: ${k}\r\n`);
      });
    });
  });
  socket.on('data', (chunk) => {
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(chunk.toString('latin1', 0, 16));
    if (m && conn.status === null) conn.status = Number(m[1]);
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    clearInterval(trickle);
    timers.delete(trickle);
    slow.open.delete(conn);
    const lifetime = performance.now() - started;
    if (conn.endedByUs) {
      slow.heldToEnd++;
      stats.record('held to end');
      return;
    }
    slow.lifetimesMs.push(lifetime);
    if (conn.status !== null) {
      slow.answered++;
      stats.record(conn.status, lifetime);
    } else {
      slow.closedByServer++;
      stats.record('reset');
    }
    // The attacker comes back, after one trickle interval: a server that refuses its connections at once (a
    // per-address cap) must not turn 400 slow connections into a connection storm.
    if (!attack.stop) later(CONFIG.slowTrickleMs, () => openSlow(i));
  });
}

function closeSlow() {
  for (const conn of slow.open) {
    conn.endedByUs = true;
    conn.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Oversized bodies: 20 MB registrations streamed with node:http; does the client read a 413 or get a reset?

const oversized = { results: [], inFlight: new Set() };
const FILL = Buffer.alloc(64 * 1024, 'x');

function sendOversized(i) {
  const declared = i % 2 === 0;
  const name = declared ? 'oversized 20 MB (content-length)' : 'oversized 20 MB (chunked)';
  const stats = kind(name);
  stats.sent++;
  const total = CONFIG.oversizedBytes;
  const prefix = Buffer.from('{"instance":{"app":"SOAK-BIG","hostName":"big","ipAddr":"10.66.0.3","dataCenterInfo":{"name":"MyOwn"},"metadata":{"pad":"');
  const suffix = Buffer.from('"}}}');
  const started = performance.now();
  const p = new Promise((resolve) => {
    let settled = false;
    let written = 0;
    const headers = { 'content-type': 'application/json', accept: 'application/json' };
    if (declared) headers['content-length'] = total;
    const req = http.request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/eureka/apps/SOAK-BIG', headers, agent: false, localAddress: hostileAddr() });
    req.on('socket', (s) => track(s));
    const finish = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const ms = performance.now() - started;
      stats.record(outcome, ms);
      oversized.results.push({ declared, outcome, writtenBytes: written, ms: Math.round(ms) });
      setImmediate(() => req.destroy());
      resolve();
    };
    const timer = setTimeout(() => finish('timeout'), 30000);
    req.on('response', (res) => {
      res.resume();
      finish(res.statusCode);
    });
    req.on('error', () => finish('reset'));
    const pump = () => {
      if (settled) return;
      if (written === 0) {
        req.write(prefix);
        written += prefix.length;
      }
      const end = total - suffix.length;
      while (written < end && !settled) {
        const chunk = end - written >= FILL.length ? FILL : FILL.subarray(0, end - written);
        written += chunk.length;
        if (!req.write(chunk)) return req.once('drain', pump);
      }
      if (!settled) {
        written += suffix.length;
        req.end(suffix);
      }
    };
    pump();
  });
  oversized.inFlight.add(p);
  p.finally(() => oversized.inFlight.delete(p));
  return p;
}

// ---------------------------------------------------------------------------------------------------------------
// Batch bombs: one at a time, alternately from a non-peer address and from the peer's

const bombs = { results: [], inFlight: null, gzipBytes: 0, inflatedBytes: 0, items: 0 };

function sendBomb(i, bomb) {
  const fromPeer = i % 2 === 1;
  const name = fromPeer ? 'batch bomb from the peer address' : 'batch bomb from a non-peer';
  const p = hostile(name, {
    method: 'POST',
    // The peer's own spelling (PeerClient posts to peerreplication/batch/) and the route table's.
    path: fromPeer ? '/eureka/peerreplication/batch/' : '/eureka/peerreplication/batch',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'content-encoding': 'gzip' },
    body: bomb.gzip,
    localAddress: fromPeer ? PEER_ADDR : NON_PEER_ADDR,
    timeoutMs: 60000,
  }).then((outcome) => bombs.results.push({ fromPeer, outcome, atSecs: +elapsed().toFixed(1) }));
  bombs.inFlight = p;
  return p.finally(() => (bombs.inFlight = null));
}

// ---------------------------------------------------------------------------------------------------------------
// The run

async function runAttack(bomb) {
  const seconds = CONFIG.attackSeconds;
  const deadline = Date.now() + seconds * 1000;
  // Slow-loris connections open over the first tenth of the attack (at most 10 s).
  const slowSpreadMs = Math.min(10000, (seconds * 1000) / 10);
  for (let i = 0; i < CONFIG.slowConnections; i++) later((i * slowSpreadMs) / CONFIG.slowConnections, () => openSlow(i));
  // Oversized bodies and bombs spread evenly; two oversized at most in flight, one bomb.
  for (let i = 0; i < CONFIG.oversized; i++) {
    later(((i + 0.5) * seconds * 1000) / CONFIG.oversized, async () => {
      while (oversized.inFlight.size >= 2 && !attack.stop) await sleep(100);
      if (!attack.stop) sendOversized(i);
    });
  }
  const bombQueue = [];
  for (let i = 0; i < CONFIG.batchBombs; i++) {
    later(((i + 0.25) * seconds * 1000) / CONFIG.batchBombs, () => bombQueue.push(i));
  }
  const bombLoop = (async () => {
    let sent = 0;
    while (!attack.stop && sent < CONFIG.batchBombs) {
      if (bombQueue.length > 0 && !bombs.inFlight) {
        sendBomb(bombQueue.shift(), bomb);
        sent++;
      }
      await sleep(50);
    }
  })();
  const progress = every(10000, () => {
    const hb = good.heartbeat.attack.percentiles();
    log(`attack: ${attack.mixedSent}/${CONFIG.hostileRequests} mixed sent (${attack.mixedInFlight} in flight), ${slow.open.size} slow connections open, ${oversized.results.length} oversized, ${bombs.results.length} bombs answered; RSS ${(lastRss() / MB).toFixed(0)} MB; good heartbeat p99 ${fmtMs(hb.p99)}; lost ${good.lost.size}`);
  });
  const crashWatch = every(200, () => {
    if (server.exited) attack.stop = true;
  });
  // The mixed stream may run past the attack window by a bounded 20 s to catch up when the server was slow.
  await mixedStream(deadline + 20000);
  while (Date.now() < deadline && !attack.stop) await sleep(100);
  attack.stop = true;
  clearInterval(progress);
  clearInterval(crashWatch);
  await bombLoop;
}

async function drainAttack() {
  closeSlow();
  const waitFor = [...attack.inFlight, ...oversized.inFlight, ...(bombs.inFlight ? [bombs.inFlight] : [])];
  await Promise.race([Promise.allSettled(waitFor), sleep(15000)]);
}

const fmtMs = (v) => (v === undefined || Number.isNaN(v) ? '–' : v === Infinity ? '∞' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const fmtMB = (bytes) => (Number.isNaN(bytes) ? '–' : `${(bytes / MB).toFixed(0)} MB`);

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
  phase = 'warmup';
  const byApp = startGoodTraffic();
  every(1000, sampleRss);
  every(2000, () => !server.exited && sampleStatus());
  every(2000, () => !server.exited && sampleHeap());
  await sleep(CONFIG.warmupSeconds * 1000);
  const warm = rss.timeline.slice(-3).map((s) => s.rssMB * MB);
  rss.baseline = warm.length ? warm.reduce((a, b) => a + b, 0) / warm.length : sampleRss();

  // Attack.
  log(`attack for ${CONFIG.attackSeconds} s: ${CONFIG.hostileRequests} mixed hostile requests, ${CONFIG.slowConnections} slow connections, ${CONFIG.oversized} oversized bodies, ${CONFIG.batchBombs} batch bombs (baseline RSS ${fmtMB(rss.baseline)})`);
  phase = 'attack';
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
  phase = 'drain';
  log('attack over; closing slow connections, waiting for answers in flight');
  await drainAttack();

  // Recovery: good traffic goes on; wait (bounded) for resident memory to come back near the baseline.
  phase = 'recovery';
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
  phase = 'done';
  clearTimers();
  const deadline = Date.now() + 10000;
  while (goodInFlight > 0 && Date.now() < deadline) await sleep(50);
  const final = { absent: [], notUp: [] };
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
      const list = trap.status === 200 ? JSON.parse(trap.body.toString('utf8')).application.instance : [];
      trapRemaining = Array.isArray(list) ? list.length : 1;
      const cutoff = Date.now() - (CONFIG.trapLeaseSecs + 5) * 1000;
      trapExpired = trapRegisteredAt.filter((t) => t < cutoff).length;
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
  return report({ peer, cpu, final, crashed, trapLeft, loadStart, loadEnd });
}

function report({ peer, cpu, final, crashed, trapLeft, loadStart, loadEnd }) {
  const all = [...kinds.values()];
  const hostileKinds = all.filter((k) => k.group === 'hostile');
  const sum = (list, f) => list.reduce((n, k) => n + f(k), 0);
  const fiveXX = sum(all, (k) => k.classes['5xx'] || 0);
  const hostileSent = sum(hostileKinds, (k) => k.sent);
  const hb = good.heartbeat.attack.percentiles();
  const hbWarm = good.heartbeat.warmup.percentiles();
  const hbRecovery = good.heartbeat.recovery.percentiles();
  const lostIds = new Set([...good.lost.keys(), ...final.absent]);
  const peakGrowth = rss.peak - rss.baseline;
  const oversizedOutcomes = {};
  for (const r of oversized.results) {
    const key = typeof r.outcome === 'number' ? String(r.outcome) : r.outcome;
    oversizedOutcomes[key] = (oversizedOutcomes[key] || 0) + 1;
  }
  const lastSp = trapLeft;

  const targets = [
    {
      name: 'no 5xx (answered, or recorded by the server)',
      ok: fiveXX === 0 && (serverMetrics === null || serverMetrics.server5xx === 0),
      value: `${fiveXX} answered; ${serverMetrics ? `${serverMetrics.server5xx} in the server's /metrics${serverMetrics.server5xx ? ` (${Object.entries(serverMetrics.server5xxByRoute).map(([r, n]) => `${r}: ${n}`).join(', ')})` : ''}` : '/metrics not read'}`,
    },
    { name: 'server stayed alive', ok: !crashed, value: crashed ? `exited during ${crashed.phase} at ${crashed.atSecs} s (code ${crashed.code}, signal ${crashed.signal})` : 'alive' },
    { name: 'no good instance lost', ok: lostIds.size === 0, value: `${lostIds.size} lost (${good.lost.size} during the run, ${final.absent.length} absent at the end; ${good.lossEvents} loss events)` },
    { name: 'every good instance UP at the end', ok: final.notUp.length === 0 && !crashed, value: `${final.notUp.length} not UP at the end (${good.notUp.size} seen not UP during the run)` },
    { name: `RSS peak growth < ${TARGETS.rssGrowthBytes / MB} MB`, ok: !Number.isNaN(peakGrowth) && peakGrowth < TARGETS.rssGrowthBytes && !crashed, value: `${fmtMB(peakGrowth)} (baseline ${fmtMB(rss.baseline)}, peak ${fmtMB(rss.peak)} at ${rss.peakAtSecs} s)` },
    {
      name: `RSS back within ${CONFIG.rssSettledBytes / MB} MB of baseline in ${CONFIG.recoverySeconds} s`,
      ok: rss.recoveredAfterSecs !== null && !crashed,
      value: rss.recoveredAfterSecs !== null ? `after ${rss.recoveredAfterSecs} s (final ${fmtMB(rss.final)}, +${fmtMB(rss.final - rss.baseline)})` : `not back: ${fmtMB(rss.final)} (+${fmtMB(rss.final - rss.baseline)}) after ${CONFIG.recoverySeconds} s`,
    },
    { name: `good heartbeat p99 < ${TARGETS.heartbeatP99Ms} ms during the attack`, ok: hb.p99 < TARGETS.heartbeatP99Ms, value: `p50 ${fmtMs(hb.p50)} ms, p99 ${fmtMs(hb.p99)} ms, max ${fmtMs(hb.max)} ms, ${good.heartbeatFailed.attack} failed` },
    { name: `attack delivered (≥ ${CONFIG.hostileRequests} mixed hostile requests)`, ok: attack.mixedSent >= CONFIG.hostileRequests, value: `${attack.mixedSent} mixed, ${hostileSent} hostile in all` },
  ];
  const missed = targets.filter((t) => !t.ok);

  const out = [];
  const p = (s = '') => out.push(s);
  p('# Soak: hostile load on one zone server');
  p();
  p(`Server ${CONFIG.server} (pid ${server.pid}) on 127.0.0.1:${server.port}, flags: ${server.args.join(' ')}`);
  p(`${good.refs.length} good instances (heartbeat every ${CONFIG.heartbeatMs} ms, lease ${CONFIG.leaseSecs} s, delta poll every ${CONFIG.deltaPollMs} ms, app poll every ${CONFIG.monitorMs} ms) from ${GOOD_ADDR}; attack ${CONFIG.attackSeconds} s from ${NON_PEER_ADDR}, ${PEER_ADDR} (peer), 127.0.0.4–20.`);
  p(
    `Machine: ${os.cpus().length} cores, load average ${loadStart.map((l) => l.toFixed(2)).join(' ')} at start, ${loadEnd.map((l) => l.toFixed(2)).join(' ')} at end` +
      (cpu ? `; during the attack: server ${cpu.serverPct.toFixed(0)} % of a core, this generator ${cpu.generatorPct.toFixed(0)} %, other processes ${cpu.otherPct.toFixed(0)} %.` : '.'),
  );
  p();
  p('## Targets');
  p();
  p('| target | result | |');
  p('|---|---|---|');
  for (const t of targets) p(`| ${t.name} | ${t.value} | ${t.ok ? 'met' : '**MISSED**'} |`);
  p();
  p('## Requests by kind');
  p();
  const classes = ['2xx', '3xx', '4xx', '5xx', 'reset', 'timeout', 'aborted', 'held to end', 'garbage'];
  const used = classes.filter((c) => all.some((k) => k.classes[c]));
  p(`| kind | sent | ${used.join(' | ')} | statuses | p50 ms | p99 ms |`);
  p(`|---|---:|${used.map(() => '---:').join('|')}|---|---:|---:|`);
  for (const group of ['good', 'hostile']) {
    for (const k of all.filter((x) => x.group === group)) {
      const pc = k.latency.percentiles();
      const statuses = Object.entries(k.statuses).map(([s, n]) => `${s}×${n}`).join(' ');
      p(`| ${group === 'good' ? '(good) ' : ''}${k.name} | ${k.sent} | ${used.map((c) => k.classes[c] || '').join(' | ')} | ${statuses} | ${fmtMs(pc.p50)} | ${fmtMs(pc.p99)} |`);
    }
  }
  const totals = (list) => used.map((c) => sum(list, (k) => k.classes[c] || 0));
  p(`| **all good** | ${sum(all.filter((k) => k.group === 'good'), (k) => k.sent)} | ${totals(all.filter((k) => k.group === 'good')).join(' | ')} | | | |`);
  p(`| **all hostile** | ${hostileSent} | ${totals(hostileKinds).join(' | ')} | | | |`);
  p();
  p('Slow-loris rows: a status is what the server answered before closing; reset: closed without an answer; held to end: still open when the attack stopped (p50/p99: lifetime of the connections the server ended).');
  p();
  p('## Details');
  p();
  p(`- Good heartbeats: warm-up p50 ${fmtMs(hbWarm.p50)} / p99 ${fmtMs(hbWarm.p99)} ms; attack p50 ${fmtMs(hb.p50)} / p99 ${fmtMs(hb.p99)} / max ${fmtMs(hb.max)} ms (${good.heartbeatFailed.attack} failed); recovery p50 ${fmtMs(hbRecovery.p50)} / p99 ${fmtMs(hbRecovery.p99)} ms; ${good.heartbeatsSkipped} skipped because the previous one was still unanswered; ${good.reRegistrations} re-registrations after a 404; ${good.pollFailures} app polls failed.`);
  if (good.lost.size) p(`- Lost good instances (first of each): ${[...good.lost].slice(0, 5).map(([id, l]) => `${id} at ${l.atSecs} s (${l.phase}: ${l.why})`).join('; ')}${good.lost.size > 5 ? ` … and ${good.lost.size - 5} more` : ''}.`);
  if (good.notUp.size) p(`- Good instances seen not UP during the run: ${good.notUp.size} (${good.notUpObservations} observations), first at ${Math.min(...[...good.notUp.values()].map((v) => v.atSecs))} s.`);
  const heapWarm = heapOf(['warmup']);
  const heapAttack = heapOf(['attack', 'drain']);
  const heapEnd = heapOf(['recovery']);
  const fmtHeap = (h) => (h ? `${h.usedMB} MB used of ${h.totalMB} MB reserved, ${h.externalMB} MB external` : 'not read');
  p(`- V8 heap (what the server holds vs what V8 keeps reserved): warm-up ${fmtHeap(heapWarm)}; attack peak ${heapAttack ? `${heapAttack.peakUsedMB} MB used of ${heapAttack.peakTotalMB} MB reserved` : 'not read'}; after recovery ${fmtHeap(heapEnd)}.`);
  p(`- Resident memory: baseline ${fmtMB(rss.baseline)}, peak ${fmtMB(rss.peak)} (+${fmtMB(peakGrowth)}) at ${rss.peakAtSecs} s, ${rss.recoveredAfterSecs !== null ? `back within ${CONFIG.rssSettledBytes / MB} MB ${rss.recoveredAfterSecs} s after the attack` : `not back within ${CONFIG.recoverySeconds} s`}, final ${fmtMB(rss.final)}.`);
  p(`- Oversized ${CONFIG.oversizedBytes / MB} MB bodies: ${Object.entries(oversizedOutcomes).map(([o, n]) => `${o}: ${n}`).join(', ') || 'none sent'} (413 read vs reset; median bytes written before the outcome ${fmtMB(medianOf(oversized.results.map((r) => r.writtenBytes)))}).`);
  p(`- Batch bombs (${(bombs.gzipBytes / 1024).toFixed(1)} KB gzip → ${(bombs.inflatedBytes / MB).toFixed(1)} MB, ${bombs.items} items): ${bombs.results.map((b) => `${b.fromPeer ? 'peer' : 'non-peer'} ${b.outcome}`).join(', ') || 'none answered'}.`);
  p(`- Slow connections: ${slow.opened} opened, ${slow.answered} answered by the server, ${slow.closedByServer} closed without an answer, ${slow.heldToEnd} still open at the end of the attack.`);
  p(`- Self-preservation (not a target): ${selfPreservation.everActive ? `engaged at ${selfPreservation.firstActiveAtSecs} s` : 'never engaged after the start-up window'}; at the end ${lastSp ? `${lastSp.active ? 'active' : 'inactive'} (${lastSp.cause}), expected ${lastSp.expectedRenewalsPerMin} renewals/min vs ${lastSp.renewalsLastMin} counted, ${lastSp.instances} instances registered, lease expiry ${lastSp.leaseExpirationEnabled ? 'enabled' : 'SUSPENDED'}` : 'unknown'}; ${trapCount} trap instances registered (${CONFIG.trapLeaseSecs} s leases, never renewed), ${trapRemaining ?? 'unknown'} still registered at the end, where ${trapCount === trapExpired ? 'none' : `at most ${trapCount - trapExpired}`} should be${serverMetrics ? `; ${serverMetrics.evictions} evictions in all` : ''}.`);
  p(`- Dummy peer received ${peer.batches} replication batches (${peer.items} items), ${peer.syncs} startup-sync fetches.`);
  p(`- Server log: ${server.warnLines} lines mentioning warn, ${server.errorLines} mentioning error.`);
  p(`- Mixed stream: at most ${attack.maxMixedInFlight} in flight (cap ${CONFIG.hostileConcurrency}).`);
  p();
  if (missed.length) p(`MISSED ${missed.length} target(s): ${missed.map((t) => t.name).join('; ')}`);
  else p('All targets met.');
  console.log(out.join('\n'));
  if (crashed) console.error(`\nserver output (tail):\n${server.tail}`);

  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `soak-${new Date(t0).toISOString().replace(/[:.]/g, '-')}.json`);
  const kindsJson = all.map((k) => ({ name: k.name, group: k.group, sent: k.sent, classes: k.classes, statuses: k.statuses, ...k.latency.percentiles() }));
  const json = {
    started: new Date(t0).toISOString(),
    config: CONFIG,
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGiB: +(os.totalmem() / 1024 ** 3).toFixed(1), loadStart, loadEnd, attackCpu: cpu, node: process.version },
    server: { args: server.args, crashed: crashed || null, warnLines: server.warnLines, errorLines: server.errorLines, head: server.head, tail: server.tail },
    targets,
    missed: missed.map((t) => t.name),
    kinds: kindsJson,
    good: {
      instances: good.refs.length,
      lost: Object.fromEntries(good.lost),
      lossEvents: good.lossEvents,
      notUpDuringRun: Object.fromEntries(good.notUp),
      final,
      heartbeat: Object.fromEntries(Object.entries(good.heartbeat).map(([ph, s]) => [ph, { count: s.length, ...s.percentiles() }])),
      heartbeatFailed: good.heartbeatFailed,
      heartbeatsSkipped: good.heartbeatsSkipped,
      reRegistrations: good.reRegistrations,
      pollFailures: good.pollFailures,
    },
    heap: { warmup: heapOf(['warmup']), attack: heapOf(['attack', 'drain']), recovery: heapOf(['recovery']), timeline: heap.timeline },
    rss: { ...rss, baselineMB: rss.baseline / MB, peakMB: rss.peak / MB, peakGrowthMB: peakGrowth / MB, finalMB: rss.final / MB },
    oversized: { outcomes: oversizedOutcomes, results: oversized.results },
    bombs: { gzipBytes: bombs.gzipBytes, inflatedBytes: bombs.inflatedBytes, items: bombs.items, results: bombs.results },
    slow: { opened: slow.opened, answered: slow.answered, closedByServer: slow.closedByServer, heldToEnd: slow.heldToEnd, lifetimeMs: slow.lifetimesMs.percentiles() },
    selfPreservation,
    serverMetrics,
    peer,
    attack: { mixedSent: attack.mixedSent, maxMixedInFlight: attack.maxMixedInFlight, trapInstances: trapCount, trapRemaining, trapLeaseRunOut: trapExpired },
  };
  fs.writeFileSync(file, JSON.stringify(json, (k, v) => (v === Infinity ? 'Infinity' : v), 2));
  console.error(`soak: results in ${path.relative(ROOT, file)}`);
  return missed.length === 0 ? 0 : 1;
}

function medianOf(values) {
  const v = values.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  return v.length ? v[v.length >> 1] : NaN;
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
