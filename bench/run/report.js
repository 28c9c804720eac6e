'use strict';
// Reporting: number formats, medians over runs, and the markdown tables of each part.
const { median } = require('../load');
const { CONFIG, TARGETS, DISTURBED_PCT } = require('./config');
const { SHAPES } = require('./requests');

const fmt = (v, digits = 0) => (typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const ms = (v) => (typeof v === 'number' && Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : '–');
const bytes = (v) => (!Number.isFinite(v) ? '–' : v >= 1e6 ? `${(v / 1e6).toFixed(2)} MB` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} kB` : `${Math.round(v)} B`);

/**
 * Median of each numeric field over runs.
 * @param {(object | undefined)[]} list
 * @returns {Record<string, number>}
 */
function medians(list) {
  /** @type {Record<string, number>} */
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
    // The median over runs of each run's median slice ratio (ours and bare measured in turns): not the ratio of the
    // medians, which would compare slices measured at different moments.
    const ratio = med.ratios?.[shape.key] ?? o.rps / b.rps;
    const target = !Number.isFinite(ratio) ? '–' : `≥ ${shape.ratioTarget} ${ratio >= shape.ratioTarget ? '✅' : '❌'}`;
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

function watchTables(med) {
  const ok = (cond) => (cond ? '✅' : '❌');
  const w = med.wake;
  const hbRatio = w.hbWithRps / w.hbWithoutRps;
  const perRun = (list, digits) => list.map((v) => fmt(v, digits)).join(', ');
  const wakeTable = [
    '| Metric | Value | Target |',
    '|---|--:|:-:|',
    `| watchers parked | ${fmt(w.watchers)} from ${fmt(w.addresses)} loopback addresses, wait=${CONFIG.watchWaitSeconds}s; server's gauge ${fmt(w.parkedOnServer)}; connected and parked in ${ms(w.parkMs / 1000)} s | |`,
    `| last watcher's answer after the write's 204 (${fmt(w.changes)} changes) | p50 ${ms(w.lastP50Ms)} ms · p90 ${ms(w.lastP90Ms)} ms · p99 ${ms(w.lastP99Ms)} ms · max ${ms(w.lastMaxMs)} ms | p99 < ${fmt(TARGETS.watchWakeP99Ms)} ms ${ok(w.lastP99Ms < TARGETS.watchWakeP99Ms && w.missing === 0)} |`,
    `| the same, every change of every run (${fmt(med.pooledLast.count)}) | p50 ${ms(med.pooledLast.p50)} ms · p99 ${ms(med.pooledLast.p99)} ms · max ${ms(med.pooledLast.max)} ms | |`,
    `| last watcher's answer after the write was sent | p50 ${ms(w.lastFromSendP50Ms)} ms · p99 ${ms(w.lastFromSendP99Ms)} ms (the write itself: p50 ${ms(w.writeP50Ms)} ms) | |`,
    `| first watcher's answer after the 204 | p50 ${ms(w.firstP50Ms)} ms | |`,
    `| every watcher's answer after the 204 (${fmt(w.answers)} answers) | p50 ${ms(w.everyP50Ms)} ms · p90 ${ms(w.everyP90Ms)} ms · p99 ${ms(w.everyP99Ms)} ms · max ${ms(w.everyMaxMs)} ms | |`,
    `| answers missing · without the change · sockets lost · answered outside a change | ${fmt(w.missing)} · ${fmt(w.unchanged)} · ${fmt(w.lost)} · ${fmt(w.answeredOutside)} | 0 ${ok(w.missing + w.unchanged + w.lost === 0)} |`,
    `| CPU per change: server · generator | ${fmt(w.serverCpuMsPerChange)} ms (${fmt(w.serverCpuUsPerWatcher, 1)} µs per watcher) · ${fmt(w.genCpuMsPerChange)} ms | |`,
    `| server RSS per parked watcher | ${fmt(w.rssPerWatcherBytes)} B (RSS ${fmt(w.rssBefore / 2 ** 20)} → ${fmt(w.rssAfter / 2 ** 20)} MiB) | < ${fmt(TARGETS.watchBytesPerWatcher)} B ${ok(w.rssPerWatcherBytes < TARGETS.watchBytesPerWatcher)} |`,
    `| server V8 heap per parked watcher: used · committed · external | ${fmt(w.heapPerWatcherBytes)} B (used ${fmt(w.heapBefore / 2 ** 20)} → ${fmt(w.heapAfter / 2 ** 20)} MiB) · ${fmt(w.heapTotalPerWatcherBytes)} B · ${fmt(w.externalPerWatcherBytes)} B | |`,
    `| kernel TCP memory per watcher (both ends) | ${fmt(w.kernelTcpPerWatcherBytes)} B | |`,
    `| heartbeats (PUT, closed loop): without (before · after) · with the watchers parked | ${fmt(w.hbWithoutRps)} /s (${fmt(w.hbWithoutBeforeRps)} · ${fmt(w.hbWithoutAfterRps)}) · ${fmt(w.hbWithRps)} /s (p99 ${ms(w.hbWithoutP99)} · ${ms(w.hbWithP99)} ms; ${fmt(w.hbWithoutCpuUsPerReq, 1)} · ${fmt(w.hbWithCpuUsPerReq, 1)} CPU µs/req) | |`,
    `| heartbeats with / without (each run's: ${perRun(med.perRunHeartbeatRatios, 2)}) | ${fmt(hbRatio, 2)} | ≥ ${TARGETS.watchHeartbeatRatio} ${ok(hbRatio >= TARGETS.watchHeartbeatRatio)} |`,
  ].join('\n');
  const bareRow = (label, b) =>
    `| ${label} | ${ms(b.lastP50Ms)} | ${ms(b.lastP99Ms)} | ${ms(b.everyP50Ms)} | ${ms(b.writeP50Ms)} | ${fmt(b.serverCpuMsPerChange)} | ${fmt(b.serverCpuUsPerWatcher, 1)} | ${fmt(b.rssPerWatcherBytes)} B | ${fmt(b.heapPerWatcherBytes)} B |`;
  const bareTable = med.bare && med.bare.http && Number.isFinite(med.bare.http.lastP50Ms)
    ? [
        `| One change to ${fmt(w.watchers)} watchers | last after the 204, p50 ms | p99 ms | every watcher p50 ms | the write's 204, p50 ms | server CPU ms per change | µs per watcher | RSS per parked watcher | heap used per parked watcher |`,
        '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
        bareRow('ours', w),
        bareRow('bare node:http: writeHead + end per watcher', med.bare.http),
        bareRow('bare node:net: one socket.write per watcher', med.bare.raw),
      ].join('\n')
    : '';
  const z = med.zones;
  const zoneTable = [
    '| Metric | Value | Target |',
    '|---|--:|:-:|',
    `| registrations on zone A | ${fmt(z.registrations)}, one every ${fmt(CONFIG.watchZoneIntervalMs)} ms · A's 204 p50 ${ms(z.registerP50Ms)} ms · p99 ${ms(z.registerP99Ms)} ms | |`,
    `| watcher on C: A's 204 → C's watch answer holding the instance | p50 ${ms(z.cP50Ms)} ms · p90 ${ms(z.cP90Ms)} ms · p99 ${ms(z.cP99Ms)} ms · max ${ms(z.cMaxMs)} ms; ${fmt(z.seenByC)} of ${fmt(z.registrations)} seen | p99 < ${fmt(TARGETS.watchZoneP99Ms)} ms ${ok(z.cP99Ms < TARGETS.watchZoneP99Ms && z.seenByC === z.registrations)} |`,
    `| watcher on A (no replication, for reference) | p50 ${ms(z.aP50Ms)} ms · p90 ${ms(z.aP90Ms)} ms · p99 ${ms(z.aP99Ms)} ms · max ${ms(z.aMaxMs)} ms; ${fmt(z.seenByA)} seen | |`,
    `| C's watch answers · instances per answer · full fetches · failures | ${fmt(z.cAnswers)} · ${fmt(z.seenByC / z.cAnswers, 2)} · ${fmt(z.cFullFetches)} · ${fmt(z.cFailures)} | |`,
  ].join('\n');
  return { wakeTable, bareTable, zoneTable, hbRatio };
}

/** The top self-time functions of a CPU profile summary (bench/cpu-profile.js). */
function profileTable(profile) {
  const rows = ['| Self time | % | Function | Where |', '|--:|--:|---|---|'];
  for (const t of profile.top) rows.push(`| ${fmt(t.selfMs)} ms | ${fmt(t.pct, 1)} | \`${t.name}\` | ${t.where} |`);
  return rows.join('\n');
}

module.exports = { fmt, ms, bytes, medians, shapesTable, steadyTable, replicationTables, watchTables, profileTable };
