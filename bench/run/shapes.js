'use strict';
// Parts 1 and 2: each request shape on our server, then the same shapes on bench/bare-server.js replaying the exact
// bytes ours answered.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { memory, request } = require('../load');
const { CONFIG } = require('./config');
const { tempDirs, sleep, startOurs, startBare, stopProcess, awaitQuiet } = require('./processes');
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
      const spec = specOf(shape.key);
      const res = await request(proc.port, spec);
      if (res.status !== 200) throw new Error(`${shape.label}: status ${res.status} ${res.body.toString().slice(0, 300)}`);
      saveCapture(dir, shape.key, res);
      if (shape.key !== 'fullXml') checks[`${shape.key}Instances`] = countInstances(res);
      checks[`${shape.key}Bytes`] = res.body.length;
      log(`ours: ${shape.label} (${(res.body.length / 1e6).toFixed(2)} MB)`);
      ours[shape.key] = await measureClosed(proc, [spec], CONFIG.fullConnections);
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
    const deltaSpec = specOf('delta');
    const delta = await request(proc.port, deltaSpec);
    if (delta.status !== 200) throw new Error(`delta: status ${delta.status} ${delta.body.toString().slice(0, 300)}`);
    saveCapture(dir, 'delta', delta);
    checks.deltaInstances = countInstances(delta);
    checks.deltaBytes = delta.body.length;
    log(`ours: delta (${checks.deltaInstances} instances, ${delta.body.length} bytes)`);
    ours.delta = await measureClosed(proc, [deltaSpec], CONFIG.connections, false);
    const deltaAfter = await request(proc.port, deltaSpec);
    checks.deltaStable = countInstances(deltaAfter) === checks.deltaInstances;
    // No lease may have expired meanwhile (that would have changed what was measured).
    checks.instancesAtEnd = countInstances(await request(proc.port, specOf('fullGzip')));
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
        bare[shape.key] = await measureClosed(proc, [specOf(shape.key)], conns);
      }
    }
  } finally {
    await stopProcess(proc);
    fs.rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
  return { ours, bare, checks };
}

module.exports = { shapesRun, saveCapture };
