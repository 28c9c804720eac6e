'use strict';
// Part 3: a fleet-sized registry under a steady open-loop mix of heartbeats, delta polls and churn.
const { memory, request, withCpu, openLoop } = require('../load');
const { CONFIG } = require('./config');
const { PINNING, sleep, startOurs, stopProcess, awaitQuiet, assertAlive } = require('./processes');
const { specOf, registerSpec, heartbeatSpec, registerAll } = require('./requests');

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
    const deltaSpec = specOf('delta');
    const stride = 7919 % n === 0 ? 1 : 7919;
    let churned = 0; // across warm-up and measurement: every re-registration is a new version
    /** @type {import('../load').Stream[]} */
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

module.exports = { steadyRun };
