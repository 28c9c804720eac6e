'use strict';
// Parts 1 and 2: each request shape on our server and on bench/bare-server.js replaying the exact bytes ours
// answered, measured in interleaved slices.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { memory, request, median, closedLoop } = require('../load');
const { CONFIG } = require('./config');
const { tempDirs, sleep, startOurs, startBare, stopProcess, awaitQuiet, serverScript } = require('./processes');
const { medians } = require('./report');
const { SHAPES, specOf, registerSpec, heartbeatSpec, countInstances, measureClosed, registerAll } = require('./requests');

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

/**
 * Measures one load on our server and the bare one in turn, slice by slice (ours then bare, bare then ours, …) after a
 * warm-up of each: a machine whose speed drifts during the part (other tenants, frequency changes; on the shared
 * benchmark machine one server's throughput moves by a third from one second to the next) then moves both alike. Each
 * server's figures are the medians over its slices; `ratio` is the median of the slices' ours / bare throughputs.
 * Without a bare server (BENCH_SKIP=bare), ours alone. With a `floor` server (registrations: the bare server that also
 * parses and keeps each body), it takes its turn in every slice too, and `floorRatio` is the median of its slices'
 * throughputs over the bare server's, `oursToFloor` of ours over its.
 * @param {import('./processes').Proc} ours
 * @param {import('./processes').Proc | undefined} bare
 * @param {(proc: import('./processes').Proc, slice: number) => Promise<object>} measure one slice of the load on a server
 * @param {number} [slices]
 * @param {import('./processes').Proc} [floor]
 * @returns {Promise<{ ours: object, bare: object | undefined, ratio: number, ratios: number[], floor?: object, floorRatio?: number, oursToFloor?: number }>}
 */
async function interleaved(ours, bare, measure, slices = CONFIG.slices, floor = undefined) {
  const procs = [ours, bare, floor].filter((p) => p !== undefined);
  /** @type {Map<object, object[]>} */ const got = new Map(procs.map((p) => [p, []]));
  const ratios = [];
  const floorRatios = [];
  const oursToFloor = [];
  for (let i = 0; i < slices; i++) {
    for (const proc of i % 2 === 0 ? procs : [...procs].reverse()) got.get(proc)?.push(await measure(proc, i));
    const rps = (/** @type {object} */ p) => /** @type {{ rps: number }} */ (got.get(p)?.[i]).rps;
    if (bare !== undefined) ratios.push(rps(ours) / rps(bare));
    if (bare !== undefined && floor !== undefined) floorRatios.push(rps(floor) / rps(bare));
    if (floor !== undefined) oursToFloor.push(rps(ours) / rps(floor));
  }
  const of = (/** @type {object | undefined} */ p) => (p === undefined ? undefined : medians(/** @type {object[]} */ (got.get(p))));
  const result = { ours: of(ours), bare: of(bare), ratio: ratios.length ? median(ratios) : NaN, ratios };
  return floor === undefined ? result : { ...result, floor: of(floor), floorRatio: floorRatios.length ? median(floorRatios) : NaN, oursToFloor: median(oursToFloor) };
}

/**
 * One slice of a closed-loop load (CONFIG.seconds split into CONFIG.slices). A server's first slice waits for a quiet
 * machine and is warmed up; the others follow at once (a slice disturbed all the same is flagged by its other-CPU
 * share).
 */
const sliceOf =
  (/** @type {import('../load').RequestSpec[]} */ requests, /** @type {number} */ connections, /** @type {boolean} */ waitForQuiet) =>
  (/** @type {import('./processes').Proc} */ proc, /** @type {number} */ slice) =>
    measureClosed(proc, requests, connections, waitForQuiet && slice === 0, CONFIG.seconds / CONFIG.slices, slice === 0);

/**
 * One run of part 1 and 2: our server and the bare server replaying its bytes, side by side. Ours answers each shape
 * first (its answer is captured for the bare server), then both are measured in interleaved slices.
 * @returns {Promise<{ ours: Record<string, object>, bare: Record<string, object>, ratios: Record<string, number>, sliceRatios: Record<string, number[]>, checks: object, floor?: { floor: object, floorRatio: number, oursToFloor: number } }>}
 */
async function shapesRun(run, refs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eureka-bench-'));
  tempDirs.add(dir);
  /** @type {Record<string, object>} */ const ours = {};
  /** @type {Record<string, object>} */ const bare = {};
  /** @type {Record<string, number>} */ const ratios = {};
  /** @type {Record<string, number[]>} */ const sliceRatios = {};
  const checks = {};
  const hbRequests = refs.slice(0, Math.max(1, Math.min(CONFIG.heartbeatTargets, refs.length))).map(heartbeatSpec);
  const log = (msg) => console.error(`  [run ${run}] ${msg}`);
  /** @type {import('./processes').Proc | undefined} */ let proc;
  /** @type {import('./processes').Proc | undefined} */ let bareProc;
  /** @type {import('./processes').Proc | undefined} */ let floorProc;
  /** @type {{ floor: object, floorRatio: number, oursToFloor: number } | undefined} */ let floor;
  const record = (key, m) => {
    ours[key] = m.ours;
    if (m.bare) bare[key] = m.bare;
    ratios[key] = m.ratio;
    sliceRatios[key] = m.ratios;
  };
  try {
    proc = await startOurs();
    log(`ours: pid ${proc.pid}, port ${proc.port}; registering ${refs.length} instances`);
    // The first registration's response is the one the bare server replays.
    const first = await request(proc.port, registerSpec(refs[0]));
    if (first.status >= 300) throw new Error(`registration refused: ${first.status} ${first.body.toString().slice(0, 300)}`);
    saveCapture(dir, 'register', first);
    checks.registerBytes = first.body.length;
    if (CONFIG.baseline) {
      bareProc = await startOurs(serverScript(CONFIG.baseline), 'baseline');
      log(`baseline ${CONFIG.baseline}: pid ${bareProc.pid}, port ${bareProc.port}`);
      const res = await request(bareProc.port, registerSpec(refs[0]));
      if (res.status !== first.status) throw new Error(`baseline: registration answered ${res.status}, ours ${first.status}`);
    } else if (!CONFIG.skip.has('bare')) {
      bareProc = await startBare(dir);
      floorProc = await startBare(dir, true);
      log(`bare: pid ${bareProc.pid}, port ${bareProc.port}; floor (bare, parsing and keeping registrations): pid ${floorProc.pid}, port ${floorProc.port}`);
    }
    // Registrations in as many chunks as slices (fewer for a tiny fleet), each chunk sent to both servers in turn. As
    // for every other shape, a server's first slice waits for a quiet machine and is warmed up (CONFIG.warmupSeconds,
    // the first instance re-registered, which leaves the registry as it was) and the others follow at once: outside
    // the bench, 1,000 registrations sent after a pause cost up to 2-3 × the CPU each of the same sent without one, on
    // both servers (the processor's caches cold, the VM's core woken up).
    const rest = refs.length - 1;
    const chunk = Math.max(1, Math.ceil(rest / CONFIG.slices));
    const registered = await interleaved(
      proc,
      bareProc,
      async (p, slice) => {
        if (slice === 0) {
          await awaitQuiet(p);
          if (CONFIG.warmupSeconds > 0) {
            await closedLoop({ port: p.port, connections: CONFIG.registerConcurrency, seconds: CONFIG.warmupSeconds, requests: [registerSpec(refs[0])] });
          }
        }
        const from = 1 + slice * chunk;
        return registerAll(p, Math.min(chunk, refs.length - from), (i) => registerSpec(refs[from + i]), first.status, false);
      },
      Math.ceil(rest / chunk),
      floorProc,
    );
    record('register', registered);
    if (registered.floor !== undefined) floor = { floor: registered.floor, floorRatio: /** @type {number} */ (registered.floorRatio), oursToFloor: /** @type {number} */ (registered.oursToFloor) };
    // Only registrations are measured on it.
    await stopProcess(floorProc);
    floorProc = undefined;
    const registeredAt = Date.now();

    const hb = await request(proc.port, hbRequests[0]);
    if (hb.status >= 300) throw new Error(`heartbeat refused: ${hb.status} ${hb.body.toString().slice(0, 300)}`);
    saveCapture(dir, 'heartbeat', hb);
    checks.heartbeatBytes = hb.body.length;
    log('heartbeats');
    record('heartbeat', await interleaved(proc, bareProc, sliceOf(hbRequests, CONFIG.connections, true)));

    for (const shape of SHAPES.filter((s) => s.key.startsWith('full'))) {
      const spec = specOf(shape.key);
      const res = await request(proc.port, spec);
      if (res.status !== 200) throw new Error(`${shape.label}: status ${res.status} ${res.body.toString().slice(0, 300)}`);
      saveCapture(dir, shape.key, res);
      if (shape.key !== 'fullXml') checks[`${shape.key}Instances`] = countInstances(res);
      checks[`${shape.key}Bytes`] = res.body.length;
      log(`${shape.label} (${(res.body.length / 1e6).toFixed(2)} MB)`);
      record(shape.key, await interleaved(proc, bareProc, sliceOf([spec], CONFIG.fullConnections, true)));
    }

    // Delta: wait until the bulk registrations have left the delta, then change a few instances, as a live fleet does.
    const wait = registeredAt + CONFIG.deltaRetentionMs + 500 - Date.now();
    if (wait > 0) {
      log(`waiting ${(wait / 1000).toFixed(1)} s for the registrations to leave the delta`);
      await sleep(wait);
    }
    await awaitQuiet(proc); // now, not between the changes and their measurement: they must stay in the delta
    // A baseline build holds its own registry: it is sent the same changes.
    for (const p of CONFIG.baseline && bareProc ? [proc, bareProc] : [proc]) {
      for (let i = 0; i < Math.min(CONFIG.deltaChanges, refs.length); i++) {
        const ref = refs[Math.floor((i * refs.length) / CONFIG.deltaChanges)];
        const res = await request(p.port, registerSpec(ref, { version: `2.15.${run}` }));
        if (res.status >= 300) throw new Error(`${p.name}: re-registration refused: ${res.status}`);
      }
    }
    const deltaSpec = specOf('delta');
    const delta = await request(proc.port, deltaSpec);
    if (delta.status !== 200) throw new Error(`delta: status ${delta.status} ${delta.body.toString().slice(0, 300)}`);
    saveCapture(dir, 'delta', delta);
    checks.deltaInstances = countInstances(delta);
    checks.deltaBytes = delta.body.length;
    log(`delta (${checks.deltaInstances} instances, ${delta.body.length} bytes)`);
    record('delta', await interleaved(proc, bareProc, sliceOf([deltaSpec], CONFIG.connections, false)));
    const deltaAfter = await request(proc.port, deltaSpec);
    checks.deltaStable = countInstances(deltaAfter) === checks.deltaInstances;
    // No lease may have expired meanwhile (that would have changed what was measured).
    checks.instancesAtEnd = countInstances(await request(proc.port, specOf('fullGzip')));
    ours.memory = memory(proc.pid);
  } finally {
    await stopProcess(proc);
    await stopProcess(bareProc);
    await stopProcess(floorProc);
    fs.rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
  return { ours, bare, ratios, sliceRatios, checks, floor };
}

module.exports = { shapesRun, saveCapture };
