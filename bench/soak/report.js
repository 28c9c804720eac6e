'use strict';
// Reporting: the targets judged, the markdown tables on stdout and everything in bench/results/soak-<time>.json.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ROOT, MB, CONFIG, TARGETS, GOOD_ADDR, NON_PEER_ADDR, PEER_ADDR } = require('./config');
const { t0, kinds, server } = require('./state');
const { good } = require('./good-clients');
const { rss, selfPreservation, heap, heapOf } = require('./monitors');
const { traps, attack } = require('./mixed-stream');
const { slow, oversized, bombs } = require('./connection-attacks');
const { fmtMs, fmtMB, medianOf } = require('./format');

const BENCH_DIR = path.resolve(__dirname, '..');

/** Prints the markdown report, writes bench/results/soak-<time>.json; 0 when every target was met, else 1. */
function report({ peer, cpu, final, crashed, trapLeft, loadStart, loadEnd, serverMetrics, trapRemaining, trapExpired }) {
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
  /** @type {Record<string, number>} */
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
  p(`- Self-preservation (not a target): ${selfPreservation.everActive ? `engaged at ${selfPreservation.firstActiveAtSecs} s` : 'never engaged after the start-up window'}; at the end ${lastSp ? `${lastSp.active ? 'active' : 'inactive'} (${lastSp.cause}), expected ${lastSp.expectedRenewalsPerMin} renewals/min vs ${lastSp.renewalsLastMin} counted, ${lastSp.instances} instances registered, lease expiry ${lastSp.leaseExpirationEnabled ? 'enabled' : 'SUSPENDED'}` : 'unknown'}; ${traps.count} trap instances registered (${CONFIG.trapLeaseSecs} s leases, never renewed), ${trapRemaining ?? 'unknown'} still registered at the end, where ${traps.count === trapExpired ? 'none' : `at most ${traps.count - trapExpired}`} should be${serverMetrics ? `; ${serverMetrics.evictions} evictions in all` : ''}.`);
  p(`- Dummy peer received ${peer.batches} replication batches (${peer.items} items), ${peer.syncs} startup-sync fetches.`);
  p(`- Server log: ${server.warnLines} lines mentioning warn, ${server.errorLines} mentioning error.`);
  p(`- Mixed stream: at most ${attack.maxMixedInFlight} in flight (cap ${CONFIG.hostileConcurrency}).`);
  p();
  if (missed.length) p(`MISSED ${missed.length} target(s): ${missed.map((t) => t.name).join('; ')}`);
  else p('All targets met.');
  console.log(out.join('\n'));
  if (crashed) console.error(`\nserver output (tail):\n${server.tail}`);

  const dir = path.join(BENCH_DIR, 'results');
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
    attack: { mixedSent: attack.mixedSent, maxMixedInFlight: attack.maxMixedInFlight, trapInstances: traps.count, trapRemaining, trapLeaseRunOut: trapExpired },
  };
  fs.writeFileSync(file, JSON.stringify(json, (_k, v) => (v === Infinity ? 'Infinity' : v), 2));
  console.error(`soak: results in ${path.relative(ROOT, file)}`);
  return missed.length === 0 ? 0 : 1;
}

module.exports = { report };
