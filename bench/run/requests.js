'use strict';
// The request shapes the benchmark sends (registration, heartbeat, full and delta fetches) and the closed-loop
// measurements every scenario shares: registering a fleet, measuring a shape, and what a measurement cost in CPU.
const { registrationBody, heartbeatPath, registrationPath } = require('../instances');
const { withCpu, closedLoop, autocannonLoop } = require('../load');
const { CONFIG, LEASE_SECS } = require('./config');
const { PINNING, awaitQuiet, assertAlive } = require('./processes');

const JSON_ACCEPT = { accept: 'application/json' };
/** @typedef {import('../load').RequestSpec} RequestSpec */
/**
 * A request shape; `ratioTarget` is the least ours / bare throughput it should reach: a registration parses and stores
 * a body the bare server only reads, a heartbeat touches the registry, a fetch only writes bytes kept ready.
 * @typedef {{ key: string, label: string, ratioTarget: number, spec?: RequestSpec }} Shape
 */

/** @type {Shape[]} */
const SHAPES = [
  { key: 'register', label: 'registration (POST, ~1 KB JSON)', ratioTarget: 0.6 },
  { key: 'heartbeat', label: 'heartbeat (PUT)', ratioTarget: 0.85 },
  { key: 'fullJson', label: 'full fetch JSON', ratioTarget: 0.9, spec: { method: 'GET', path: '/eureka/apps', headers: JSON_ACCEPT } },
  {
    key: 'fullGzip',
    label: 'full fetch JSON gzip',
    ratioTarget: 0.9,
    spec: { method: 'GET', path: '/eureka/apps', headers: { ...JSON_ACCEPT, 'accept-encoding': 'gzip' } },
  },
  { key: 'fullXml', label: 'full fetch XML', ratioTarget: 0.9, spec: { method: 'GET', path: '/eureka/apps', headers: { accept: 'application/xml' } } },
  { key: 'delta', label: 'delta fetch JSON', ratioTarget: 0.9, spec: { method: 'GET', path: '/eureka/apps/delta', headers: JSON_ACCEPT } },
];

const registerSpec = (ref, opts) => ({
  method: 'POST',
  path: registrationPath(ref),
  headers: { 'content-type': 'application/json', accept: 'application/json' },
  body: registrationBody(ref, { durationSecs: LEASE_SECS, ...opts }),
});
const heartbeatSpec = (ref) => ({ method: 'PUT', path: heartbeatPath(ref), headers: JSON_ACCEPT });

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

/**
 * Unmeasured warm-up (unless `warmup` is false), then a measured closed-loop run of `seconds` with the server's CPU
 * time.
 */
async function measureClosed(proc, requests, connections, waitForQuiet = true, seconds = CONFIG.seconds, warmup = true) {
  const loop = CONFIG.client === 'autocannon' ? autocannonLoop : closedLoop;
  const opts = { port: proc.port, requests, connections };
  if (waitForQuiet) await awaitQuiet(proc);
  if (warmup && CONFIG.warmupSeconds > 0) await loop({ ...opts, seconds: CONFIG.warmupSeconds });
  const measured = await withCpu(proc.pid, () => loop({ ...opts, seconds }));
  assertAlive(proc);
  return summarize(measured);
}

/** Sends each registration once, closed loop, after waiting for a quiet machine unless told not to; fails unless all were accepted. */
async function registerAll(proc, count, spec, expectStatus, waitForQuiet = true) {
  if (waitForQuiet) await awaitQuiet(proc);
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

/** The request of a fetch shape (all but registration and heartbeat have one). */
function specOf(key) {
  const spec = SHAPES.find((s) => s.key === key)?.spec;
  if (!spec) throw new Error(`no request for shape ${key}`);
  return spec;
}

module.exports = { JSON_ACCEPT, SHAPES, specOf, registerSpec, heartbeatSpec, countInstances, measureClosed, registerAll, summarize };
