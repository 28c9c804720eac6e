'use strict';
// Zone share: one zone server's share of a three-zone region of 250,000 instances (1,000 apps × 250), simulated on
// one server. The server is zone a of a zones file whose zones b and c are bench/stub-peer.js (one process on the
// generator's core) answering its replication batches 200 item by item, so the server pays for replicating its own
// zone's heartbeats and changes to two peers as it would in the region. Filled through peer batches (bench/fill.js),
// then an open loop: its own zone's clients (a third of the instances, those whose metadata zone is a) heartbeat and
// poll the delta (JSON, gzip, as Java clients ask) every 30 s; the other two zones' heartbeats arrive as peer batches,
// each peer sending one batch per replicationMaxBatchingDelayMs (20 ms) as our servers do (at most 250 items); plus
// re-registrations of own-zone instances with a new metadata version (changes) and full gzip fetches.
//
// The delta is held at the size it has in a region at that change rate: Eureka's 180 s of retention at 10 changes/s
// is 1,800 changes. Rather than wait 180 s for the fill to leave it, the server's --delta-max-bytes is sized to that
// many changes (from the server's own estimate of a change's bytes) and as many re-registrations are sent before the
// load: the fill's registrations leave the delta at once, and the delta measured holds what a region's would.
//
// The offered load is stated against bench/bare-server.js (node:http replaying the bytes ours answered, same core)
// measured in the same run, two ways: the request count over the bare server's heartbeat throughput (the simple
// figure), and the share of the bare server's time the mix takes, Σ rate / bare throughput of that request (each
// request weighed by what its bytes cost node:http alone; > 1 means no server could carry it on this core).
//
// The server's request thread runs on core 0 and its helper threads (the collector's markers and sweepers, the libuv
// pool) on core 1 beside the generator, as the README's sizing deploys a server of this size (two cores);
// BENCH_ZONE_SHARE_HELPER_CORES=0 measures a one-core server instead.
//
// Usage: npm run build && node bench/zone-share.js      (also a part of `npm run bench`; settings: see CONFIG; ≈ 4 min)
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { num } = require('./env');
const { fleet, heartbeatPath, registrationBody, registrationPath } = require('./instances');
const { BATCH_ITEMS, heartbeatItem, batchBody, fillThroughPeerBatches } = require('./fill');
const { cpuMs, cpuSnapshot, cpuSince, memory, request, withCpu, openLoop, closedLoop } = require('./load');
const { ROOT, CONFIG: BENCH, DISTURBED_PCT } = require('./run/config');
const { PINNING, pinHelperThreads, tempDirs, freePort, startProcess, stopProcess, startBare, serverScript, awaitQuiet, assertAlive } = require('./run/processes');
const { saveCapture } = require('./run/shapes');
const { topSelfTime } = require('./cpu-profile');
const { loopStats } = require('./run/stalls');

const CONFIG = {
  /**
   * Measured seconds of the open loop. Long enough to hold the full collections that come every 35-80 s under this load
   * (a 30 s window held one about half the time, and its figure then said more about where the window fell).
   */
  seconds: num('BENCH_ZONE_SHARE_SECONDS', 120),
  /**
   * Unmeasured seconds of the same mix first. They also hold the one full collection that follows a fill: the first
   * full build encodes every segment (about 300 MB of plain JSON at 250,000 instances) and drops the plain bytes once
   * the gzip pieces exist, and V8's memory reducer collects them 4-6 s after the fill's own collections, which with
   * 5 s of warm-up fell in the window's first second (p99 86 · 109 ms, every other second calm). The window measures
   * the share a server carries in a region, not its first minute.
   */
  warmupSeconds: num('BENCH_ZONE_SHARE_WARMUP_SECONDS', 15),
  apps: Math.floor(num('BENCH_ZONE_SHARE_APPS', 1000)),
  perApp: Math.floor(num('BENCH_ZONE_SHARE_PER_APP', 250)),
  /**
   * Every client heartbeats and polls the delta this often, s (Eureka's default). Longer scales the clients' load
   * down with the same registry: on a day this machine is several times slower, the share of its time the morning's
   * load took (the offered-load line) can be offered again, for diagnosis; the target is at 30.
   */
  clientIntervalSecs: num('BENCH_ZONE_SHARE_INTERVAL_SECS', 30),
  /** Changes held in the delta: the change rate × Eureka's 180 s retention. */
  deltaChanges: Math.floor(num('BENCH_ZONE_SHARE_DELTA_CHANGES', 1800)),
  /** Re-registrations of own-zone instances with a new metadata version, per s. */
  churnRate: num('BENCH_ZONE_SHARE_CHURN', 10),
  /** Full fetches (JSON, gzip) per s. */
  fullRate: num('BENCH_ZONE_SHARE_FULL_RATE', 5),
  /**
   * Streams left out of the mix, comma-separated (heartbeat, delta, change, full, batch-b, batch-c): to see what each
   * part of the load costs the server (their rows then read "not sent").
   */
  drop: new Set((process.env.BENCH_ZONE_SHARE_DROP || '').split(',').map((s) => s.trim()).filter(Boolean)),
  /** Each peer sends a batch this often, ms (our servers' replicationMaxBatchingDelayMs); capped at 250 items. */
  batchMs: Math.max(1, num('BENCH_ZONE_SHARE_BATCH_MS', 20)),
  /** Most connections the open-loop generator opens. */
  sockets: Math.floor(num('BENCH_ZONE_SHARE_SOCKETS', 256)),
  /** Closed-loop seconds per request shape on the bare server (after BENCH_WARMUP_SECONDS). */
  bareSeconds: num('BENCH_ZONE_SHARE_BARE_SECONDS', 4),
  /** A directory: profile the server (node --cpu-prof) and report its top functions over the measured window; empty: none. */
  cpuProf: process.env.BENCH_ZONE_SHARE_CPU_PROF || '',
  /** Extra server flags, space-separated (e.g. `--log-level info`: its log's tail is printed at the end); empty: none. */
  serverArgs: (process.env.BENCH_ZONE_SHARE_SERVER_ARGS || '').split(' ').filter(Boolean),
  /** Extra flags to node running the server, space-separated (e.g. `--max-semi-space-size=64`); empty: none. */
  serverNodeArgs: (process.env.BENCH_ZONE_SHARE_NODE_ARGS || '').split(' ').filter(Boolean),
  /** Cores the server (with its GC and thread-pool threads) may run on, as taskset takes them; default its own core 0. */
  serverCores: process.env.BENCH_ZONE_SHARE_SERVER_CORES || '0',
  /**
   * Cores the server's helper threads (V8's concurrent marking and sweeping, the libuv pool) run on once filled, its
   * request thread staying on serverCores. Default core 1 (beside the generator and the stub peers): the two cores the
   * README's sizing gives a server of this size, one for the requests and one for the collector, whose marking of the
   * 300 MB heap takes 0.2-0.4 s of CPU at each full collection. `0` (or empty): everything on core 0, a one-core server.
   */
  helperCores: process.env.BENCH_ZONE_SHARE_HELPER_CORES ?? (PINNING ? '1' : ''),
  /** Niceness of those helper threads (0-19; 19: only idle time), with helperCores. */
  helperNice: Math.floor(num('BENCH_ZONE_SHARE_HELPER_NICE', 0)),
};
const TARGETS = { p99Ms: 50, rssBytes: 1.5 * 1024 ** 3 };
/** Lease asked for: longer than fill + waits + measurement, so nothing expires while measured (renewals come every 30 s anyway). */
const LEASE_SECS = 600;
const JSON_GZIP = { accept: 'application/json', 'accept-encoding': 'gzip' };
const PEER_HEADERS = { 'content-type': 'application/json', accept: 'application/json', 'accept-encoding': 'gzip', 'x-netflix-discovery-replication': 'true' };
const DELTA = { method: 'GET', path: '/eureka/apps/delta', headers: JSON_GZIP };
const FULL = { method: 'GET', path: '/eureka/apps', headers: JSON_GZIP };

const hrUs = () => Number(process.hrtime.bigint() / 1000n);
const loadAverage = () => Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

/** The server's estimate of what one change holds in its delta log (dist/domain/delta-log.js), bytes. */
function changeBytes(ref) {
  const { estimatedChangeBytes } = require(path.join(ROOT, 'dist/domain/delta-log.js'));
  const inst = JSON.parse(registrationBody(ref, { version: '3.0.0000' })).instance;
  return estimatedChangeBytes({ ...inst, id: inst.instanceId, dataCenterInfo: { name: inst.dataCenterInfo.name } });
}

const registerSpec = (ref, version) => ({
  method: 'POST',
  path: registrationPath(ref),
  headers: { 'content-type': 'application/json', accept: 'application/json' },
  body: registrationBody(ref, { durationSecs: LEASE_SECS, version }),
});

async function status(port) {
  const res = await request(port, { method: 'GET', path: '/eureka/status', headers: { accept: 'application/json' } });
  if (res.status !== 200) throw new Error(`GET /eureka/status answered ${res.status}`);
  return JSON.parse(res.body.toString('utf8'));
}

async function stubStats(port) {
  return JSON.parse((await request(port, { method: 'GET', path: '/stub/stats' })).body.toString('utf8'));
}

/** The rates of the mix, per s, and how the peers' heartbeats are batched. */
function plan(n) {
  const own = Math.ceil(n / 3);
  const perPeerItems = (n - own) / 2 / CONFIG.clientIntervalSecs;
  const items = Math.max(1, Math.min(BATCH_ITEMS, Math.round((perPeerItems * CONFIG.batchMs) / 1000)));
  return {
    heartbeat: own / CONFIG.clientIntervalSecs,
    delta: own / CONFIG.clientIntervalSecs,
    peerItems: 2 * perPeerItems,
    itemsPerBatch: items,
    batchesPerPeer: perPeerItems / items,
    churn: CONFIG.churnRate,
    full: CONFIG.fullRate,
  };
}

/** One run: stub peers and ours, filled; delta seeded; replies captured; the open loop; then the bare server. */
async function zoneShareRun(log) {
  const refs = fleet(CONFIG.apps, CONFIG.perApp);
  const n = refs.length;
  // The instances' metadata zone is us-east-1a/b/c by index % 3 (bench/instances.js): zone a's clients are ours.
  const own = refs.filter((r) => r.index % 3 === 0);
  const peerRefs = [refs.filter((r) => r.index % 3 === 1), refs.filter((r) => r.index % 3 === 2)];
  const rates = plan(n);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eureka-bench-share-'));
  tempDirs.add(dir);
  const out = /** @type {Record<string, any>} */ ({ serverCores: CONFIG.serverCores, instances: n, apps: CONFIG.apps, perApp: CONFIG.perApp, seconds: CONFIG.seconds, rates, loadAverageAtStart: loadAverage() });
  let ours;
  let stub;
  try {
    const [port, portB, portC] = [await freePort(), await freePort(), await freePort()];
    const file = path.join(dir, 'zones.json');
    const zones = { a: [`http://127.0.0.1:${port}/eureka/`], b: [`http://127.0.0.1:${portB}/eureka/`], c: [`http://127.0.0.1:${portC}/eureka/`] };
    fs.writeFileSync(file, JSON.stringify({ region: 'bench', zones, settings: {} }, null, 2));
    stub = await startProcess('stub peers', path.join(__dirname, 'stub-peer.js'), [String(portB), String(portC)], portB, 1);
    // The server's floor is 1 MiB (~250 changes): below that the delta holds the seeded changes and some of the fill.
    const deltaMaxBytes = Math.max(2 ** 20, Math.ceil((CONFIG.deltaChanges + 0.5) * changeBytes(own[0])));
    const args = [
      '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn', '--config', file, '--zone', 'a',
      '--max-instances-per-app', '100000', '--delta-max-bytes', String(deltaMaxBytes), ...CONFIG.serverArgs,
    ];
    const profFile = CONFIG.cpuProf ? path.resolve(CONFIG.cpuProf, `zone-share-${Date.now()}.cpuprofile`) : '';
    if (profFile) fs.mkdirSync(path.dirname(profFile), { recursive: true });
    const nodeOptions = [...CONFIG.serverNodeArgs, ...(profFile ? ['--cpu-prof', '--cpu-prof-dir', path.dirname(profFile), '--cpu-prof-name', path.basename(profFile)] : [])];
    out.profileFile = profFile || undefined;
    ours = await startProcess('zone a', serverScript(), args, port, CONFIG.serverCores, nodeOptions);
    log(`zone a: pid ${ours.pid}, port ${port}; stub peers b, c: pid ${stub.pid}; filling ${n} instances through peer batches`);
    const filled = await fillThroughPeerBatches(port, refs, { durationSecs: LEASE_SECS });
    out.fillSeconds = filled.fillMs / 1000;
    out.rssAfterFill = memory(ours.pid).rss;
    if (CONFIG.helperCores && CONFIG.helperCores !== CONFIG.serverCores) out.helperThreadsMoved = { cores: CONFIG.helperCores, nice: CONFIG.helperNice, threads: pinHelperThreads(ours.pid, CONFIG.helperCores, CONFIG.helperNice) };
    const held = (await status(port)).registry.instances;
    if (held !== n) throw new Error(`zone a holds ${held} of ${n} instances after the fill`);

    // The delta at its steady-state size: as many changes as it holds, spread over the own zone as the churn is.
    let churned = 0;
    const churnRef = () => own[(churned++ * 7919) % own.length];
    const seeded = await closedLoop({ port, connections: 16, seconds: 120, count: CONFIG.deltaChanges, spec: () => registerSpec(churnRef(), `3.0.${churned}`) });
    if (!seeded.complete || seeded.non2xx) throw new Error(`seeding the delta: ${JSON.stringify(seeded.statuses)}, ${seeded.errors} errors`);
    const before = await status(port);
    out.deltaEntriesBefore = before.registry.deltaEntries;

    // Replies for the bare server: a heartbeat, a peer batch, the delta and the full registry (JSON, gzip).
    const hb = await request(port, { method: 'PUT', path: heartbeatPath(own[0]), headers: { accept: 'application/json' } });
    const batchRefs = peerRefs[0].slice(0, rates.itemsPerBatch);
    const batchSpec = { method: 'POST', path: '/eureka/peerreplication/batch', headers: PEER_HEADERS, body: batchBody(batchRefs.map((r) => heartbeatItem(r, filled.lastDirtyTimestamp))) };
    const batch = await request(port, batchSpec);
    const delta = await request(port, DELTA);
    const full = await request(port, FULL);
    for (const [key, res] of /** @type {[string, any][]} */ ([['heartbeat', hb], ['register', batch], ['delta', delta], ['fullGzip', full]])) {
      if (res.status !== 200) throw new Error(`capturing ${key}: status ${res.status} ${res.body.toString().slice(0, 200)}`);
      saveCapture(dir, key, res);
    }
    if (!/"responseList":\[\{"statusCode":200\}/.test(batch.body.toString())) throw new Error(`a peer heartbeat batch was not applied: ${batch.body.toString().slice(0, 200)}`);
    out.bytes = { delta: delta.body.length, full: full.body.length, batchRequest: Buffer.byteLength(batchSpec.body) };
    // The libuv pool (off-loop compression) starts with the first gzip answer, after the fill: its threads join the
    // others on the helper cores now.
    if (out.helperThreadsMoved) out.helperThreadsMoved.threads = pinHelperThreads(ours.pid, CONFIG.helperCores, CONFIG.helperNice);

    // The mix. Heartbeats walk the own zone (a stride coprime with its size spreads them over all apps), each peer's
    // batches walk that peer's zone; the walks go on from warm-up into the measurement.
    const hbStride = own.length % 7919 === 0 ? 1 : 7919;
    let hbWalk = 0;
    const peerWalk = [0, 0];
    const peerBatch = (p) => () => {
      const zone = peerRefs[p];
      const items = [];
      for (let i = 0; i < rates.itemsPerBatch; i++) items.push(heartbeatItem(zone[peerWalk[p]++ % zone.length], filled.lastDirtyTimestamp));
      return { method: 'POST', path: '/eureka/peerreplication/batch', headers: PEER_HEADERS, body: batchBody(items) };
    };
    // Clients and peers on connections of their own (a peer's batches do not wait for clients' fetches).
    /** @type {import('./load').Stream[]} */
    const clientStreams = [
      { name: 'heartbeat', rate: rates.heartbeat, next: () => ({ method: 'PUT', path: heartbeatPath(own[(hbWalk++ * hbStride) % own.length]), headers: { accept: 'application/json' } }) },
      { name: 'delta', rate: rates.delta, next: () => DELTA },
      { name: 'change', rate: rates.churn, next: () => registerSpec(churnRef(), `3.0.${churned}`) },
      { name: 'full', rate: rates.full, next: () => FULL },
    ].filter((s) => s.rate > 0 && !CONFIG.drop.has(s.name));
    /** @type {import('./load').Stream[]} */
    const peerStreams = [
      { name: 'batch-b', rate: rates.batchesPerPeer, next: peerBatch(0) },
      { name: 'batch-c', rate: rates.batchesPerPeer, next: peerBatch(1) },
    ].filter((s) => !CONFIG.drop.has(s.name));
    const streams = [...clientStreams, ...peerStreams];
    // The warm-up runs on the connections the measured part goes on with, as a fleet's clients keep theirs (a fresh
    // pool opened at the window's start made its first seconds the slowest).
    const mix = async (seconds, warmupSeconds, onMeasuring) => {
      const [clients, peers] = await Promise.all([
        openLoop({ port, streams: clientStreams, seconds, maxSockets: CONFIG.sockets, warmupSeconds, onMeasuring }),
        openLoop({ port, streams: peerStreams, seconds, maxSockets: 16, warmupSeconds }),
      ]);
      const ordered = streams.map((st) => [...clients.streams, ...peers.streams].find((x) => x.name === st.name));
      return { streams: /** @type {import('./load').StreamResult[]} */ (ordered), sendLagP99Ms: Math.max(clients.sendLagP99Ms, peers.sendLagP99Ms), connections: clients.connections + peers.connections, maxInFlight: clients.maxInFlight + peers.maxInFlight };
    };
    // The server's /metrics is read at the window's start: read once before, so that the first answer's cost (its
    // code not yet compiled: 20-30 ms of the event loop at 100,000 instances, 3-5 ms once warm) is not the window's.
    await loopStats(port);
    await awaitQuiet(ours);
    out.loadAverageAtMeasurement = loadAverage();
    log(`open loop: ${streams.map((s) => `${s.rate.toFixed(s.rate < 100 ? 1 : 0)}/s ${s.name}`).join(' + ')} for ${CONFIG.warmupSeconds} s of warm-up, then ${CONFIG.seconds} s measured (load average ${out.loadAverageAtMeasurement})`);
    const peers0 = before.peers;
    // The window's counters are read when its first request is due (the stub's statistics and the server's /metrics
    // then, during the load: one request each).
    /** @type {any} */ let window0;
    const result = await mix(CONFIG.seconds, CONFIG.warmupSeconds, () => {
      window0 = { cpu: cpuSnapshot(ours.pid), stubCpu: cpuMs(stub.pid), startUs: hrUs(), loop: loopStats(port).catch(() => undefined), stub: stubStats(portB) };
    });
    if (window0 === undefined) throw new Error('the open loop never reached its measured part');
    const stub0 = { stats: await window0.stub };
    const measured = { result, ...cpuSince(window0.cpu) };
    out.measuredWindowUs = [window0.startUs, hrUs()];
    const loop0 = await window0.loop;
    const loop1 = await loopStats(port);
    out.serverLoop = loop0 && loop1 ? { p99Ms: loop1.p99Ms, maxMs: loop1.maxMs, fullCollections: loop1.majors - loop0.majors } : undefined;
    assertAlive(ours);
    assertAlive(stub);
    const stubCpuMs = cpuMs(stub.pid) - window0.stubCpu;
    const stats = await stubStats(portB);
    const after = await status(port);
    const secs = measured.wallMs / 1000;
    const mem = memory(ours.pid);
    out.load = measured.result;
    out.serverCpuPct = (measured.serverCpuMs / measured.wallMs) * 100;
    out.genCpuPct = (measured.genCpuMs / measured.wallMs) * 100;
    out.stubCpuPct = (stubCpuMs / measured.wallMs) * 100;
    out.otherCpuPct = (Math.max(0, measured.otherCpuMs - stubCpuMs) / measured.wallMs) * 100;
    out.serverCoreBusyPct = PINNING ? measured.coreBusyPct[0] : NaN;
    out.genCoreBusyPct = PINNING ? measured.coreBusyPct[1] : NaN;
    out.rssAfterLoad = mem.rss;
    out.peakRss = mem.peakRss;
    out.deltaEntriesAfter = after.registry.deltaEntries;
    out.instancesAfter = after.registry.instances;
    // What zone a replicated to each peer meanwhile (the stub's count) and its own account of it.
    out.replication = ['b', 'c'].map((zone, i) => {
      const p = String([portB, portC][i]);
      const mine = after.peers.find((x) => new URL(x.url).port === p) || {};
      const was = peers0.find((x) => new URL(x.url).port === p) || {};
      return {
        zone,
        itemsPerSec: (stats[p].items - stub0.stats[p].items) / secs,
        batchesPerSec: (stats[p].batches - stub0.stats[p].batches) / secs,
        heartbeatsDropped: mine.heartbeatsDropped - was.heartbeatsDropped,
        changesLost: mine.changesLost - was.changesLost,
        batchFailures: mine.batchFailures - was.batchFailures,
        queueDepthAfter: mine.queueDepth,
      };
    });
  } finally {
    await stopProcess(ours);
    await stopProcess(stub);
    if (ours && CONFIG.serverArgs.length) log(`zone a's output (tail):\n${ours.output()}`);
  }
  // The profile is written as the server exits.
  if (out.profileFile && out.measuredWindowUs && fs.existsSync(out.profileFile)) out.profile = topSelfTime(out.profileFile, { windows: [out.measuredWindowUs], count: 20 });

  // The bare server on the same core, replaying those replies: what node:http alone makes of each request.
  let bare;
  try {
    bare = await startBare(dir);
    log(`bare: pid ${bare.pid}; heartbeat, batch, delta and full fetch, closed loop, ${CONFIG.bareSeconds} s each`);
    const shapes = {
      heartbeat: { requests: own.slice(0, 1000).map((r) => ({ method: 'PUT', path: heartbeatPath(r), headers: { accept: 'application/json' } })), connections: BENCH.connections },
      batch: { requests: [0, 1, 2, 3].map((k) => ({ method: 'POST', path: '/eureka/peerreplication/batch', headers: PEER_HEADERS, body: batchBody(peerRefs[0].slice(k * rates.itemsPerBatch, (k + 1) * rates.itemsPerBatch).map((r) => heartbeatItem(r, 0))) })), connections: BENCH.connections },
      delta: { requests: [DELTA], connections: BENCH.connections },
      full: { requests: [FULL], connections: BENCH.fullConnections },
    };
    out.bare = {};
    for (const [key, s] of Object.entries(shapes)) {
      await awaitQuiet(bare);
      const opts = { port: bare.port, requests: s.requests, connections: s.connections };
      if (BENCH.warmupSeconds > 0) await closedLoop({ ...opts, seconds: BENCH.warmupSeconds });
      const m = await withCpu(bare.pid, () => closedLoop({ ...opts, seconds: CONFIG.bareSeconds }));
      assertAlive(bare);
      out.bare[key] = { rps: m.result.rps, p99: m.result.p99, errors: m.result.errors + m.result.non2xx + m.result.timeouts, cpuUsPerReq: (m.serverCpuMs * 1000) / m.result.requests, otherCpuPct: (m.otherCpuMs / m.wallMs) * 100 };
    }
  } finally {
    await stopProcess(bare);
    fs.rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }

  // Offered load against the bare server's capacity.
  const b = out.bare;
  const batches = 2 * rates.batchesPerPeer;
  out.offered = {
    requestsPerSec: rates.heartbeat + rates.delta + batches + rates.churn + rates.full,
    overBareHeartbeat: (rates.heartbeat + rates.delta + batches + rates.churn + rates.full) / b.heartbeat.rps,
    // Changes are POSTs with a body, as batches are: weighed as one.
    bareTimeShare: rates.heartbeat / b.heartbeat.rps + rates.delta / b.delta.rps + (batches + rates.churn) / b.batch.rps + rates.full / b.full.rps,
  };
  return out;
}

/** Runs the part once. */
async function zoneShareBench(log = (m) => console.error(m)) {
  log(`  [zone share] ${CONFIG.apps * CONFIG.perApp} instances; open loop ${CONFIG.seconds} s`);
  return zoneShareRun((m) => log(`  [zone share] ${m}`));
}

/** What may make the figures mean less than they seem. */
function notesOf(r, streams) {
  const notes = [];
  if (r.otherCpuPct > DISTURBED_PCT) notes.push(`Other processes used ${Math.round(r.otherCpuPct)} % of a core during the measurement: figures may be disturbed.`);
  if (r.load.sendLagP99Ms > 5) notes.push(`The generator sent late (send lag p99 ${Math.round(r.load.sendLagP99Ms)} ms); latencies include it.`);
  const behind = streams.filter((x) => x.achievedRps < 0.98 * x.target).map((x) => `${x.name} ${Math.round((100 * x.achievedRps) / x.target)} %`);
  if (behind.length) notes.push(`Answered within the window, of the rate offered: ${behind.join(', ')}; the rest were late or unanswered (an open loop keeps sending: the backlog shows as latency and errors).`);
  return notes;
}

/** The part's report lines (markdown). */
/**
 * Seconds of the measured window in which both the heartbeats' and the delta polls' p99 stayed under the target, and
 * which seconds did not (1-based, as a reader counts them): a few slow seconds (a full collection each) read
 * differently from a slow window.
 */
function calmSeconds(r) {
  const [hb, delta] = ['heartbeat', 'delta'].map((name) => r.load.streams.find((x) => x.name === name)?.timeline ?? []);
  const seconds = Math.min(hb.length, delta.length);
  const slow = [];
  for (let i = 0; i < seconds; i++) if (!(hb[i].p99 < TARGETS.p99Ms && delta[i].p99 < TARGETS.p99Ms) && (hb[i].count > 0 || delta[i].count > 0)) slow.push(i + 1);
  return { seconds, calm: seconds - slow.length, slow };
}

/** Where the server's threads ran. */
function where(r) {
  const cores = r.serverCores ?? CONFIG.serverCores;
  if (!PINNING) return 'not pinned';
  const moved = r.helperThreadsMoved;
  return moved ? `${cores} · ${moved.cores}, with the generator (${moved.threads} threads${moved.nice ? `, nice ${moved.nice}` : ''})` : `${cores} · ${cores} (one core)`;
}

function report(r) {
  const fmt = (v, d = 0) => (typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');
  const ms = (v) => (typeof v === 'number' && Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : '–');
  const mb = (v) => `${(v / 1e6).toFixed(v < 1e6 ? 3 : 1)} MB`;
  const ok = (c) => (c ? '✅' : '❌');
  const s = Object.fromEntries(r.load.streams.map((x) => [x.name, x]));
  const streams = r.load.streams;
  const errors = streams.reduce((t, x) => t + x.errors + x.non2xx, 0);
  const row = (label, x, target) => {
    if (!x) return `| ${label} | not sent | |`;
    return `| ${label} | ${fmt(x.achievedRps, x.target < 100 ? 1 : 0)} /s of ${fmt(x.target, x.target < 100 ? 1 : 0)} · p50 ${ms(x.p50)} ms · p99 ${ms(x.p99)} ms · max ${ms(x.max)} ms | ${target ? `p99 < ${TARGETS.p99Ms} ms ${ok(x.p99 < TARGETS.p99Ms)}` : ''} |`;
  };
  const batches = [s['batch-b'], s['batch-c']].filter(Boolean);
  const batchP99 = Math.max(...batches.map((x) => x.p99));
  const b = r.bare;
  const rep = r.replication;
  return [
    `### One zone server's share of a three-zone region: ${fmt(r.instances)} instances (${fmt(r.apps)} apps × ${fmt(r.perApp)}), open loop for ${fmt(r.seconds)} s`,
    '',
    '| Metric | Value | Target |',
    '|---|--:|:-:|',
    row(`own zone's heartbeats (${fmt(r.instances / 3)} clients every ${CONFIG.clientIntervalSecs} s)`, s.heartbeat, true),
    row(`own zone's delta polls (JSON, gzip; ${fmt(r.deltaEntriesBefore)} → ${fmt(r.deltaEntriesAfter)} changes, ${mb(r.bytes.delta)} each)`, s.delta, true),
    `| peer batches from b and c (${fmt(r.rates.itemsPerBatch)} Heartbeat items each, ${fmt(r.rates.peerItems)} items/s) | ${fmt(batches.reduce((t, x) => t + x.achievedRps, 0), 1)} /s of ${fmt(2 * r.rates.batchesPerPeer, 1)} · p99 ${ms(batchP99)} ms | |`,
    row('changes (re-registrations, new metadata version)', s.change, false),
    row(`full fetches (JSON, gzip, ${mb(r.bytes.full)})`, s.full, false),
    `| errors / non-2xx | ${fmt(streams.reduce((t, x) => t + x.errors, 0))} / ${fmt(streams.reduce((t, x) => t + x.non2xx, 0))} | 0 ${ok(errors === 0)} |`,
    `| cores: request thread · helper threads (collector, libuv pool) | ${where(r)} | |`,
    `| server CPU | ${fmt(r.serverCpuPct)} % of one core (its core ${fmt(r.serverCoreBusyPct)} % busy incl. network softirq) | |`,
    `| seconds of the window with heartbeat and delta p99 under ${TARGETS.p99Ms} ms (the rest: ${calmSeconds(r).slow.join(', ') || 'none'}) | ${fmt(calmSeconds(r).calm)} of ${fmt(calmSeconds(r).seconds)} | |`,
    ...(r.serverLoop ? [`| the server's own event-loop delay over the window (its /metrics) · full collections in it | p99 ${fmt(r.serverLoop.p99Ms, 1)} ms · max ${fmt(r.serverLoop.maxMs, 1)} ms · ${fmt(r.serverLoop.fullCollections)} | |`] : []),
    `| server RSS: after the fill · after the load (peak) | ${fmt(r.rssAfterFill / 2 ** 20)} MiB · ${fmt(r.rssAfterLoad / 2 ** 20)} MiB (${fmt(r.peakRss / 2 ** 20)} MiB) | < ${fmt(TARGETS.rssBytes / 2 ** 20)} MiB ${ok(r.peakRss < TARGETS.rssBytes)} |`,
    `| zone a → b · c: items/s (batches/s) · dropped · failures | ${rep.map((p) => `${fmt(p.itemsPerSec)} (${fmt(p.batchesPerSec)}) · ${fmt(p.heartbeatsDropped)} · ${fmt(p.batchFailures)}`).join(' \\| ')} | |`,
    `| offered load: requests/s ÷ bare heartbeat req/s | ${fmt(r.offered.requestsPerSec)} ÷ ${fmt(b.heartbeat.rps)} = ${fmt(r.offered.overBareHeartbeat, 2)} | |`,
    `| offered load: share of the bare server's time (Σ rate ÷ bare req/s of that request) | ${fmt(r.offered.bareTimeShare, 2)} | |`,
    `| bare req/s: heartbeat · batch · delta · full | ${fmt(b.heartbeat.rps)} · ${fmt(b.batch.rps)} · ${fmt(b.delta.rps)} · ${fmt(b.full.rps, 1)} | |`,
    `| generator: CPU · send lag p99 · connections; stub peers' CPU | ${fmt(r.genCpuPct)} % · ${ms(r.load.sendLagP99Ms)} ms · ${fmt(r.load.connections)}; ${fmt(r.stubCpuPct)} % | |`,
    `| other processes' CPU · load average (start · measurement) | ${fmt(r.otherCpuPct)} % · ${fmt(r.loadAverageAtStart, 2)} · ${fmt(r.loadAverageAtMeasurement, 2)} | |`,
    `| fill (peer batches of ${BATCH_ITEMS}; not a target) | ${fmt(r.fillSeconds, 1)} s | |`,
    ...notesOf(r, streams).map((line) => `\n${line}`),
    ...(r.profile
      ? ['', `Server CPU profile over the measured window (${r.profileFile}, ${fmt(r.profile.inWindows)} samples, ${fmt(r.profile.sampledMs)} ms):`, '', '| Self time | % | Function | Where |', '|--:|--:|---|---|', ...r.profile.top.map((t) => `| ${fmt(t.selfMs)} ms | ${fmt(t.pct, 1)} | \`${t.name}\` | ${t.where} |`)]
      : []),
  ];
}

module.exports = { zoneShareBench, report, TARGETS, CONFIG };

if (require.main === module) require('./standalone').runStandalone('zone-share', () => zoneShareBench(), report);
