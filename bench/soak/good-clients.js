'use strict';
// The good fleet: keep-alive node:http clients from 127.0.0.1 that register, heartbeat, poll the delta and watch their
// apps as real Eureka clients do, and record every good instance lost or seen not UP.
const http = require('node:http');
const { registrationBody } = require('../instances');
const { Samples } = require('../load');
const { CONFIG, GOOD_ADDR } = require('./config');
const { elapsed, log, run, kind, server } = require('./state');
const { every, later } = require('./resources');

const goodAgent = new http.Agent({ keepAlive: true, maxSockets: 24, localAddress: GOOD_ADDR });
let goodInFlight = 0;

/** Good requests sent and not yet answered. */
const goodRequestsInFlight = () => goodInFlight;

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
/**
 * A good instance: its identity, the registration it sends (document and body), the lastDirtyTimestamp its
 * heartbeats carry, and whether a heartbeat of it is unanswered.
 * @typedef {{ app: string, appLower: string, id: string, hostName: string, ipAddr: string, index: number, dirty: number,
 *   doc: any, body: string, inFlight: boolean }} GoodRef
 */

/** @returns {GoodRef[]} */
function goodFleet() {
  const renewalSecs = Math.ceil(CONFIG.heartbeatMs / 1000);
  /** @type {GoodRef[]} */
  const out = [];
  for (let a = 0; a < CONFIG.goodApps; a++) {
    for (let n = 0; n < CONFIG.goodPerApp; n++) {
      const index = a * CONFIG.goodPerApp + n;
      const appLower = `soak-good-${String(a).padStart(2, '0')}`;
      const ipAddr = `10.77.${(index >> 8) & 255}.${index & 255}`;
      const hostName = `good-${index}.soak.internal`;
      const ref = /** @type {GoodRef} */ ({ app: appLower.toUpperCase(), appLower, id: `${hostName}:${appLower}:8080`, hostName, ipAddr, index });
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
  refs: /** @type {GoodRef[]} */ ([]),
  /** id → first loss: { atSecs, phase, why } */
  lost: /** @type {Map<string, { atSecs: number, phase: string, why: string }>} */ (new Map()),
  lossEvents: 0,
  /** id → first time seen not UP during the run */
  notUp: /** @type {Map<string, { atSecs: number, phase: string, status: string }>} */ (new Map()),
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
    good.lost.set(ref.id, { atSecs: +elapsed().toFixed(1), phase: run.phase, why });
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
  const p = run.phase;
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
  const result = { absent: /** @type {string[]} */ ([]), notUp: /** @type {string[]} */ ([]) };
  if (res.status !== 200 && res.status !== 404) {
    good.pollFailures++;
    return result;
  }
  const statuses = new Map();
  if (res.status === 200) {
    try {
      const doc = JSON.parse(/** @type {Buffer} */ (res.body).toString('utf8'));
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
        good.notUp.set(ref.id, { atSecs: +elapsed().toFixed(1), phase: run.phase, status });
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

module.exports = { goodAgent, goodRequestsInFlight, goodRequest, goodFleet, good, registerGood, checkApp, startGoodTraffic };
