'use strict';
// `npm run bench`: throughput, latency and CPU cost of the registry's hot paths, and its behaviour under a steady
// fleet-sized load, on this machine.
//
//  1. Request shapes on a 10,000-instance registry (100 apps × 100): registration, heartbeat, full fetch (JSON,
//     JSON+gzip, XML) and delta fetch — closed-loop throughput, p50/p99 latency, server CPU time per request.
//  2. The same shapes against bench/bare-server.js, a bare node:http server replaying the exact bytes ours sent,
//     to show what the registry costs on top of Node's HTTP layer (ours/bare; targets per shape in run/requests.js:
//     registration ≥ 0.6, heartbeat ≥ 0.85, fetches ≥ 0.9). Both run side by side and
//     are measured in turns, slice by slice, so that the machine's drift moves both alike.
//  3. Steady load: 100,000 instances (1000 apps × 100) — resident memory (target < 1 GiB), then an open-loop mix of
//     heartbeats and delta polls at a fleet's rates (each instance heartbeats and polls every 30 s: 3,333/s each), with
//     latency from the scheduled send time (target p99 < 50 ms).
//  4. Replication across three zones on this machine: the lag until 1,000 registrations on zone A are applied by
//     zones B and C (from the servers' own lastUpdatedTimestamp, p99 target < 1 s), and heartbeat throughput and CPU
//     of zone A replicating to B and C against a standalone server (target ≥ 0.8 of its throughput). Zone A is pinned
//     to core 0; B and C share core 1 with the load generator.
//  5. The long-poll watch (GET /eureka/apps/delta?since=R&wait=D): 10,000 watchers parked on one server — time from a
//     change's answer to the last watcher's answer (target p99 < 100 ms over the changes), server memory per parked
//     watcher (target < 8 KB), heartbeat throughput with them parked (target ≥ 0.9 of without); and, on three local
//     zones, a registration on zone A reaching a client watching zone C (target p99 < 100 ms).
//  6. The DNS interface (bench/dns.js): queries per second and p99 of an SRV query for an app with 3 instances, against
//     bench/bare-dns-server.js, a bare node:dgram server answering the same bytes (target ≥ 0.7 × its queries/s).
//  7. Anti-entropy, health checks and startup sync at fleet scale (bench/anti-entropy.js, health-checks.js, startup-sync.js).
//  8. Zone share (bench/zone-share.js): one zone server's share of a three-zone region of 250,000 instances — its own
//     zone's heartbeats and delta polls, the other zones' heartbeats as peer batches, changes and full fetches, open
//     loop (targets: heartbeat and delta p99 < 50 ms, RSS < 1.5 GiB), the offered load stated against the bare server.
//  9. Failure storm (bench/failure-storm.js): three zones of 60,000 instances, zone C killed, its 20,000 clients
//     re-register and fetch on A and B within 30 s (targets: no errors, p99 < 1 s, no self-preservation); full fetches
//     as stated, and the Java client's delta fetches.
// Each part runs BENCH_RUNS times on a fresh server; medians are reported. The server (ours or bare) is pinned to
// core 0 and this process — the load generator — to core 1, so they never compete for a core.
// Results: markdown on stdout, everything (every run, every number) in bench/results/<timestamp>.json.
//
// Settings (environment variables; defaults and meaning in CONFIG, bench/run/config.js): BENCH_SECONDS (5), BENCH_WARMUP_SECONDS (1),
// BENCH_RUNS (3), BENCH_CONNECTIONS (32), BENCH_FULL_CONNECTIONS (4), BENCH_APPS × BENCH_PER_APP (100 × 100),
// BENCH_HEARTBEAT_TARGETS, BENCH_DELTA_CHANGES, BENCH_DELTA_RETENTION_MS, BENCH_REGISTER_CONCURRENCY,
// BENCH_STEADY_SECONDS (20), BENCH_STEADY_RUNS (= BENCH_RUNS), BENCH_STEADY_APPS × BENCH_STEADY_PER_APP (1000 × 100),
// BENCH_STEADY_HEARTBEAT_RATE / _DELTA_RATE (3333), BENCH_STEADY_CHURN (1/s), BENCH_STEADY_SOCKETS (256),
// BENCH_STEADY_WARMUP_SECONDS (2), BENCH_QUIET_WAIT_SECONDS (30), BENCH_CLIENT (raw | autocannon), BENCH_SERVER (dist/cli.js),
// BENCH_SLICES (10: turns ours and the bare server take per shape), BENCH_BASELINE (another build's cli.js measured in the
// bare server's place, for before/after comparisons),
// BENCH_REPLICATION_RATE (200/s), BENCH_REPLICATION_INSTANCES (1000), BENCH_REPLICATION_TIMEOUT_SECONDS (30),
// BENCH_REPLICATION_POLL_MS (200), BENCH_WATCHERS (10000), BENCH_WATCH_CHANGES (25), BENCH_WATCH_WAIT_SECONDS (60),
// BENCH_WATCH_ADDRESSES (39), BENCH_WATCH_ZONE_REGISTRATIONS (200), BENCH_WATCH_ZONE_INTERVAL_MS (50),
// BENCH_WATCH_CPU_PROF (a directory: profile the watched server, print its top functions during the wakes),
// BENCH_DNS_SECONDS, BENCH_DNS_RUNS, BENCH_DNS_IN_FLIGHT (bench/dns.js), BENCH_SYNC_APPS (1000) × BENCH_SYNC_PER_APP (250)
// instances for the startup sync,
// BENCH_SKIP (comma-separated: shapes, bare, steady, replication, watch, watch-bare, anti-entropy, health-checks, dns,
// startup-sync, zone-share, failure-storm).
// Zone share (defaults and meaning in bench/zone-share.js CONFIG): BENCH_ZONE_SHARE_SECONDS (120), BENCH_ZONE_SHARE_WARMUP_SECONDS (15),
// BENCH_ZONE_SHARE_HELPER_CORES (1: the collector's threads beside the generator; 0: a one-core server),
// BENCH_ZONE_SHARE_APPS × BENCH_ZONE_SHARE_PER_APP (1000 × 250), BENCH_ZONE_SHARE_DELTA_CHANGES (1800: 10/s × 180 s),
// BENCH_ZONE_SHARE_CHURN (10/s), BENCH_ZONE_SHARE_FULL_RATE (5/s), BENCH_ZONE_SHARE_BATCH_MS (20: one batch per peer
// per 20 ms; 90 makes them 250 items), BENCH_ZONE_SHARE_SOCKETS (256), BENCH_ZONE_SHARE_BARE_SECONDS (4),
// BENCH_ZONE_SHARE_CPU_PROF (a directory: profile the server, print its top functions over the measured window),
// BENCH_ZONE_SHARE_DROP (streams left out, e.g. change,full: what each part of the load costs).  ≈ 4 min.
// Failure storm (bench/failure-storm.js CONFIG): BENCH_STORM_VARIANTS (full,delta), BENCH_STORM_APPS × BENCH_STORM_PER_APP
// (600 × 100), BENCH_STORM_RAMP_SECONDS (30), BENCH_STORM_BEFORE_SECONDS (60), BENCH_STORM_AFTER_SECONDS (35),
// BENCH_STORM_SOCKETS (256), BENCH_STORM_CAPACITY_SECONDS (5).  ≈ 3 min per variant.
// Quick check: BENCH_SECONDS=2 BENCH_RUNS=1 BENCH_STEADY_SECONDS=5 npm run bench   (≈ 1 min; defaults ≈ 6 min, + ≈ 1 min replication)
// Replication only: BENCH_SKIP=shapes,bare,steady,watch npm run bench   (≈ 1 min)
// Watch only: BENCH_SKIP=shapes,bare,steady,replication,anti-entropy npm run bench   (≈ 2 min per run; ≈ 1.5 min with watch-bare skipped)
// Anti-entropy only: BENCH_SKIP=shapes,bare,steady,replication,watch npm run bench   (≈ 1 min)
// Zone share or failure storm alone: npm run build && node bench/zone-share.js (or bench/failure-storm.js)
// This file runs the parts and prints; bench/run/ holds the rest: config.js (settings, targets), processes.js (servers
// started pinned with taskset and the orphan guard, always stopped), requests.js (request shapes and closed-loop
// measurement), shapes.js, steady.js, replication.js and watch.js (the parts), report.js (medians and tables);
// bench/watchers.js holds the watch clients and bench/cpu-profile.js reads CPU profiles.
const fs = require('node:fs');
const path = require('node:path');
const { fleet } = require('./instances');
const { Samples, median } = require('./load');
const { ROOT, CONFIG, TARGETS, DISTURBED_PCT, LEASE_SECS } = require('./run/config');
const { PINNING, machine, pinSelf, killAll } = require('./run/processes');
const { SHAPES } = require('./run/requests');
const { shapesRun } = require('./run/shapes');
const { steadyRun } = require('./run/steady');
const { replicationRun } = require('./run/replication');
const { watchRun } = require('./run/watch');
const antiEntropyBench = require('./anti-entropy');
const startupSyncBench = require('./startup-sync');
const dnsBench = require('./dns');
const zoneShareBench = require('./zone-share');
const failureStormBench = require('./failure-storm');
const { execFileSync } = require('node:child_process');
const { fmt, ms, medians, shapesTable, steadyTable, replicationTables, watchTables, profileTable } = require('./run/report');

async function main() {
  const started = new Date();
  pinSelf();
  const m = machine();
  const out = [];
  const print = (s = '') => {
    out.push(s);
    console.log(s);
  };
  print('# Benchmark');
  print();
  print(`- CPU: ${m.cpu}${m.cpuMHz ? ` @ ${m.cpuMHz} MHz` : ''}, ${m.cores} cores; memory ${m.memoryGiB} GiB; ${m.kernel}`);
  print(`- Node ${m.node} (server, bare baseline and load generator); pinning: ${m.pinning}`);
  print(
    `- ${CONFIG.runs} run(s) × ${CONFIG.seconds} s per measurement (+${CONFIG.warmupSeconds} s warm-up; request shapes in ${CONFIG.slices} slices, ours and bare taking turns), medians; ` +
      `${CONFIG.connections} connections (${CONFIG.fullConnections} for full fetches); delta retention ${CONFIG.deltaRetentionMs} ms; ` +
      `lease ${LEASE_SECS} s`,
  );
  print();
  if (m.node !== process.version) console.error(`bench: warning: generator runs on ${process.version}, servers on ${m.node}; use \`npm run bench\``);

  /** @type {{ started: string, machine: object, config: object, shapes: object | null, steady: object | null, replication: object | null, watch: object | null, antiEntropy: object | null, healthChecks?: string, startupSync?: object, dns?: object, zoneShare?: object, failureStorm?: object, notes: string[], failed?: boolean, finished?: string, markdown?: string }} */
  const results = { started: started.toISOString(), machine: m, config: { ...CONFIG, skip: [...CONFIG.skip] }, shapes: null, steady: null, replication: null, watch: null, antiEntropy: null, notes: [] };
  const notes = results.notes;

  const part = async (name, fn) => {
    try {
      await fn();
    } catch (/** @type {any} */ err) {
      results.failed = true;
      notes.push(`${name} FAILED: ${String(err && err.message ? err.message : err).split('\n').slice(0, 6).join(' | ')}`);
      console.error(`bench: ${name} failed: ${err && err.stack ? err.stack : err}`);
    }
  };

  if (!CONFIG.skip.has('shapes')) await part('request shapes', async () => {
    const refs = fleet(CONFIG.apps, CONFIG.perApp);
    console.error(`bench: request shapes on ${refs.length} instances (${CONFIG.apps} apps × ${CONFIG.perApp})`);
    const runs = [];
    for (let r = 1; r <= CONFIG.runs; r++) runs.push(await shapesRun(r, refs));
    /** @type {{ ours: Record<string, object>, bare: Record<string, object>, ratios: Record<string, number>, floor?: object }} */
    const med = { ours: {}, bare: {}, ratios: {} };
    for (const shape of SHAPES) {
      // The ratio by the same rule: runs in which neither server was disturbed, when there are any.
      const disturbed = (r) => ['ours', 'bare'].some((who) => r[who][shape.key]?.otherCpuPct > DISTURBED_PCT);
      const calm = runs.filter((r) => !disturbed(r));
      med.ratios[shape.key] = median((calm.length ? calm : runs).map((r) => r.ratios[shape.key]));
      for (const who of ['ours', 'bare']) {
        // Runs during which other processes took CPU are left out of the median when undisturbed runs exist.
        const all = runs.map((r) => r[who][shape.key]).filter(Boolean);
        const clean = all.filter((m) => !(m.otherCpuPct > DISTURBED_PCT));
        med[who][shape.key] = { ...medians(clean.length ? clean : all), runsUsed: clean.length || all.length, runsDisturbed: all.length - clean.length };
        if (clean.length && clean.length < all.length) {
          notes.push(`${shape.label} (${who}): median of ${clean.length} undisturbed run(s); ${all.length - clean.length} run(s) with other processes on the CPUs left out.`);
        }
      }
    }
    const checks = runs[runs.length - 1].checks;
    for (const key of ['fullJsonInstances', 'fullGzipInstances', 'instancesAtEnd']) {
      if (checks[key] !== refs.length) notes.push(`${key}: the full registry held ${checks[key]} instances, expected ${refs.length}.`);
    }
    if (checks.deltaInstances !== Math.min(CONFIG.deltaChanges, refs.length)) {
      notes.push(`The delta held ${checks.deltaInstances} instances, expected the ${CONFIG.deltaChanges} just changed.`);
    }
    if (runs.some((r) => !r.checks.deltaStable)) notes.push('The delta changed during its measurement (retention too short for BENCH_SECONDS?).');
    results.shapes = { runs, medians: med, checks };
    print(`## Request shapes — ${fmt(refs.length)} instances (${CONFIG.apps} apps × ${CONFIG.perApp}), closed loop`);
    print();
    print(shapesTable(med, checks, notes));
    print();
    const floors = runs.flatMap((r) => (r.floor === undefined ? [] : [r.floor]));
    if (floors.length) {
      // What any registry pays for a registration at the least, beside the bare server in the same slices.
      const floor = medians(floors.map((f) => f.floor));
      med.floor = { ...floor, floorRatio: median(floors.map((f) => f.floorRatio)), oursToFloor: median(floors.map((f) => f.oursToFloor)) };
      print(
        `Registration floor: the bare server that also parses each body (\`JSON.parse\`) and keeps the instance in a map, ` +
          `nothing more, measured in the same slices: ${fmt(floor.rps)} req/s, ${fmt(floor.serverCpuUsPerReq, 1)} µs of CPU each, ` +
          `**${fmt(med.floor.floorRatio, 2)} × the bare server**; ours is ${fmt(med.floor.oursToFloor, 2)} × it.`,
      );
      print();
    }
    print(
      `Registration: ${fmt(refs.length)} distinct instances, ${CONFIG.registerConcurrency} concurrent. Heartbeats cycle through ${fmt(Math.min(CONFIG.heartbeatTargets, refs.length))} instances. ` +
        `Delta: ${checks.deltaInstances} changed instances. CPU µs/req = user+system time of the server process / requests (the kernel's loopback softirq work is charged to no process and not included). ` +
        `${CONFIG.baseline ? `"Bare" columns: the baseline build ${CONFIG.baseline}, sent the same registrations and changes` : 'Bare = node:http replaying our exact response bytes'}. Client: ${CONFIG.client === 'autocannon' ? 'autocannon' : 'raw keep-alive sockets (bench/load.js)'}.`,
    );
    print();
  });

  if (!CONFIG.skip.has('steady') && CONFIG.steadyRuns > 0) await part('steady load', async () => {
    const refs = fleet(CONFIG.steadyApps, CONFIG.steadyPerApp);
    console.error(`bench: steady load on ${refs.length} instances`);
    const runs = [];
    for (let r = 1; r <= CONFIG.steadyRuns; r++) runs.push(await steadyRun(r, refs));
    // As for the request shapes: runs disturbed by other processes are left out when undisturbed runs exist.
    const clean = runs.filter((r) => !(r.otherCpuPct > DISTURBED_PCT));
    const used = clean.length ? clean : runs;
    if (clean.length && clean.length < runs.length) {
      notes.push(`steady: median of ${clean.length} undisturbed run(s); ${runs.length - clean.length} run(s) with other processes on the CPUs left out.`);
    }
    const streams = {};
    for (const s of used[0].load.streams) streams[s.name] = medians(used.map((r) => r.load.streams.find((x) => x.name === s.name)));
    /** @type {Record<string, any>} */
    const med = {
      ...medians(used.map((r) => ({ ...r, registration: undefined, load: undefined, sendLagP99Ms: r.load.sendLagP99Ms, connections: r.load.connections, maxInFlight: r.load.maxInFlight }))),
      registration: medians(used.map((r) => r.registration)),
      streams,
      runsUsed: used.length,
    };
    for (const s of Object.values(streams)) {
      if (s.achievedRps < 0.98 * s.target) notes.push(`steady ${s.name}: achieved ${fmt(s.achievedRps)}/s of ${fmt(s.target)}/s.`);
    }
    if (med.otherCpuPct > DISTURBED_PCT) notes.push(`steady: other processes used ${fmt(med.otherCpuPct)} % of a core meanwhile — numbers may be disturbed.`);
    if (med.sendLagP99Ms > 5) notes.push(`steady: the generator sent late (p99 ${ms(med.sendLagP99Ms)} ms); latencies include it.`);
    results.steady = { runs, medians: med };
    print(`## Steady load — ${fmt(refs.length)} instances, open loop for ${CONFIG.steadySeconds} s`);
    print();
    print(steadyTable(med));
    print();
    print(
      'Open loop: each request is sent at its scheduled time whatever the server does, and its latency is counted from ' +
        'that time, so queueing behind a slow response is measured, not hidden. Heartbeats walk the whole fleet; delta polls ' +
        `use Accept: application/json; churn re-registers instances so the delta keeps changing.`,
    );
    print();
  });

  if (!CONFIG.skip.has('replication')) await part('replication', async () => {
    const n = CONFIG.replicationInstances;
    const refs = fleet(Math.ceil(n / 100), 100).slice(0, n);
    console.error(`bench: replication across three local zones, ${n} instances`);
    const runs = [];
    for (let r = 1; r <= CONFIG.runs; r++) runs.push(await replicationRun(r, refs));
    const pick = (list, f) => medians(list.map(f));
    // As for the request shapes: heartbeat measurements during which other processes took CPU are left out of the
    // median when undisturbed ones exist (zone A's peers B and C are not "other": their CPU is subtracted).
    const undisturbed = (key, label) => {
      const clean = runs.filter((r) => !(r[key].otherCpuPct > DISTURBED_PCT));
      if (clean.length && clean.length < runs.length) {
        notes.push(`replication heartbeats (${label}): median of ${clean.length} undisturbed run(s); ${runs.length - clean.length} run(s) with other processes on the CPUs left out.`);
      }
      return clean.length ? clean : runs;
    };
    const aRuns = undisturbed('standalone', 'standalone');
    const bRuns = undisturbed('zoneA', 'zone A');
    /** @type {Record<string, any>} */
    const med = {
      lag: {
        ...pick(runs, (r) => ({ ...r.lag, perPeer: undefined, batches: undefined })),
        perPeer: { b: pick(runs, (r) => r.lag.perPeer.b), c: pick(runs, (r) => r.lag.perPeer.c) },
        batches: { b: pick(runs, (r) => r.lag.batches.b), c: pick(runs, (r) => r.lag.batches.c) },
      },
      standalone: { ...pick(aRuns, (r) => r.standalone), runsUsed: aRuns.length },
      zoneA: { ...pick(bRuns, (r) => ({ ...r.zoneA, peers: undefined })), runsUsed: bRuns.length },
      peers: { b: pick(bRuns, (r) => r.zoneA.peers.b), c: pick(bRuns, (r) => r.zoneA.peers.c) },
      // Each run's (b)/(a), for a sense of the spread (the table shows the ratio of the medians).
      perRunHeartbeatRatios: runs.map((r) => r.zoneA.rps / r.standalone.rps),
      perRunCpuRatios: runs.map((r) => r.zoneA.serverCpuUsPerReq / r.standalone.serverCpuUsPerReq),
    };
    const tables = replicationTables(med);
    med.heartbeatRatio = tables.ratio;
    med.cpuPerRequestRatio = tables.cpuRatio;
    results.replication = { runs, medians: med };
    for (const r of runs) {
      if (r.lag.timedOut) notes.push(`replication: B or C did not hold all ${n} instances ${CONFIG.replicationTimeoutSeconds} s after the last registration (B ${r.lag.perPeer.b.visible}, C ${r.lag.perPeer.c.visible}).`);
      if (r.lag.negativeLags) notes.push(`replication: ${r.lag.negativeLags} lag(s) were negative — a peer's lastUpdatedTimestamp before A's (not expected on one machine clock).`);
    }
    if (PINNING && Number.isFinite(med.zoneA.serverCoreBusyPct)) {
      const a = med.zoneA;
      if (a.serverCoreBusyPct >= 85 && a.genCoreBusyPct < 85) {
        notes.push(`replication heartbeats (zone A): core 0 (zone A) was ${fmt(a.serverCoreBusyPct)} % busy, core 1 (generator, B, C) ${fmt(a.genCoreBusyPct)} %: throughput was bounded by zone A's own CPU, so (b)/(a) measures what replication costs A, not the shared core.`);
      } else if (a.genCoreBusyPct >= 85) {
        notes.push(`replication heartbeats (zone A): core 1 (generator, B and C) was ${fmt(a.genCoreBusyPct)} % busy: (b)'s throughput may be bounded by the shared core, not by zone A — compare CPU µs/req.`);
      }
    }
    for (const [label, m] of /** @type {[string, Record<string, number>][]} */ ([['standalone', med.standalone], ['zone A', med.zoneA]])) {
      if (m.otherCpuPct > DISTURBED_PCT) notes.push(`replication heartbeats (${label}): other processes used ${fmt(m.otherCpuPct)} % of a core meanwhile — numbers may be disturbed.`);
      if (m.errors || m.non2xx || m.timeouts) notes.push(`replication heartbeats (${label}): ${fmt(m.errors)} errors, ${fmt(m.timeouts)} timeouts, ${fmt(m.non2xx)} non-2xx (median per run).`);
    }
    print(`## Replication — three zones on 127.0.0.1`);
    print();
    print(
      `Zone A pinned to core 0; zones B and C and the load generator share core 1${PINNING ? '' : ' (not pinned here: no taskset or < 2 cores)'}. ` +
        `Default replication settings (batches of up to 250 tasks, 20 ms batching delay, one batch in flight per peer).`,
    );
    print();
    print(`### Lag — ${fmt(n)} registrations on zone A at ${fmt(CONFIG.replicationRate)}/s`);
    print();
    print(tables.lagTable);
    print();
    print(
      'Lag of an instance = its lastUpdatedTimestamp on B (or C) − on A: each server stamps it with its own clock (the same ' +
        'machine clock here) when it applies the registration, and a change is visible to the next fetch, so this is the ' +
        'replication lag without any polling error. Read from one full JSON fetch of each zone after B and C held every ' +
        'instance. Resolution 1 ms (the timestamps are whole milliseconds; each lag is within ±1 ms).',
    );
    print();
    print(`### Heartbeat cost of replication — ${fmt(Math.min(CONFIG.heartbeatTargets, n))} instances, ${CONFIG.connections} connections, ${CONFIG.seconds} s`);
    print();
    print(tables.hbTable);
    print();
    print(tables.peerTable);
    print();
    print(
      `Target: (b)/(a) req/s ≥ ${TARGETS.replicationHeartbeatRatio} (replication costs the heartbeat path less than 20 % of its throughput). ` +
        'Server CPU µs/req = zone A\'s (or the standalone server\'s) user+system time / heartbeats answered, including the replication it does. ' +
        "In (b), core 1 runs the generator *and* B and C, so (b)'s throughput may be bounded by core 1 rather than by A: compare CPU µs/req and core 0 busy. " +
        'Each peer\'s queue holds one pending heartbeat per instance (a newer one replaces the older), so A legitimately ' +
        'delivers fewer heartbeats than it receives when heartbeats for an instance arrive faster than batches leave; ' +
        'that is coalescing, not loss (dropped counts only heartbeats expired or pushed out of a full queue).',
    );
    print();
  });

  if (!CONFIG.skip.has('watch')) await part('watch', async () => {
    const n = Math.max(1, Math.min(CONFIG.heartbeatTargets, CONFIG.apps * CONFIG.perApp));
    const refs = fleet(Math.ceil(n / 100), 100).slice(0, n);
    console.error(`bench: watch: ${CONFIG.watchers} watchers on one server (${n} instances), then three local zones`);
    const runs = [];
    for (let r = 1; r <= CONFIG.runs; r++) runs.push(await watchRun(r, refs));
    const pooled = (values) => {
      const all = new Samples(values.length);
      for (const v of values) all.push(v);
      return { ...all.percentiles(), count: all.length };
    };
    // As for the request shapes: runs whose heartbeat measurements (any of the three) were disturbed by other
    // processes are left out of the heartbeat medians when undisturbed ones exist.
    const quiet = (r) => ['heartbeatsWithout', 'heartbeatsWith', 'heartbeatsWithoutAfter'].every((k) => !(r.wake[k].otherCpuPct > DISTURBED_PCT));
    const cleanRuns = runs.filter(quiet);
    if (cleanRuns.length && cleanRuns.length < runs.length) notes.push(`watch heartbeats: medians of ${cleanRuns.length} undisturbed run(s); ${runs.length - cleanRuns.length} run(s) with other processes on the CPUs left out.`);
    const hbRuns = new Set(cleanRuns.length ? cleanRuns : runs);
    const hb = (h, used) => (used ? { rps: h.rps, p99: h.p99, cpu: h.serverCpuUsPerReq, other: h.otherCpuPct } : { rps: NaN, p99: NaN, cpu: NaN, other: NaN });
    /** @type {Record<string, any>} */
    const med = {
      wake: medians(
        runs.map((r) => {
          const without = hb(r.wake.heartbeatsWithout, hbRuns.has(r));
          const withW = hb(r.wake.heartbeatsWith, hbRuns.has(r));
          const after = hb(r.wake.heartbeatsWithoutAfter, hbRuns.has(r));
          return {
            ...r.wake,
            hbWithoutBeforeRps: without.rps,
            hbWithoutAfterRps: after.rps,
            hbWithoutRps: (without.rps + after.rps) / 2,
            hbWithRps: withW.rps,
            hbWithoutP99: without.p99,
            hbWithP99: withW.p99,
            hbWithoutCpuUsPerReq: (without.cpu + after.cpu) / 2,
            hbWithCpuUsPerReq: withW.cpu,
            hbOtherCpuPct: Math.max(without.other, withW.other, after.other),
          };
        }),
      ),
      zones: medians(runs.map((r) => r.zones)),
      bare: { http: medians(runs.map((r) => r.bare.http)), raw: medians(runs.map((r) => r.bare.raw)) },
      pooledLast: pooled(runs.flatMap((r) => r.wake.perChange.map((c) => c.lastMs))),
      // Each run's figures, for a sense of the spread (the tables show medians).
      perRunLastP99Ms: runs.map((r) => r.wake.lastP99Ms),
      perRunHeartbeatRatios: runs.map((r) => r.wake.heartbeatRatio),
      perRunZoneCP99Ms: runs.map((r) => r.zones.cP99Ms),
    };
    const tables = watchTables(med);
    med.heartbeatRatio = tables.hbRatio;
    results.watch = { runs, medians: med };
    const w = med.wake;
    if (w.hbOtherCpuPct > DISTURBED_PCT) notes.push(`watch heartbeats: other processes used ${fmt(w.hbOtherCpuPct)} % of a core meanwhile — numbers may be disturbed.`);
    if (w.answeredDuringHeartbeats) notes.push(`watch: ${fmt(w.answeredDuringHeartbeats)} watcher(s) were answered during the heartbeat measurement (a heartbeat woke them?).`);
    if (w.genCpuMsPerChange > 0.8 * w.lastFromSendP50Ms) {
      notes.push(`watch: the generator spent ${fmt(w.genCpuMsPerChange)} ms of CPU per change against a last answer ${ms(w.lastFromSendP50Ms)} ms after the send: the wake latency is partly the generator's own reading time.`);
    }
    for (const r of runs) {
      for (const [label, m] of [['ours', r.wake], ['bare node:http', r.bare.http], ['bare node:net', r.bare.raw]]) {
        if (m && m.otherCpuPct > DISTURBED_PCT) notes.push(`watch run ${runs.indexOf(r) + 1}, changes on ${label}: other processes used ${fmt(m.otherCpuPct)} % of a core meanwhile — latencies may be disturbed.`);
      }
      if (r.wake.missing) notes.push(`watch: ${fmt(r.wake.missing)} watcher answer(s) missing (no answer within 10 s of the change).`);
      if (r.zones.seenByC < r.zones.registrations) notes.push(`watch zones: C's watcher saw ${r.zones.seenByC} of ${r.zones.registrations} registrations within 10 s.`);
    }
    print(`## Watch — long polls on the delta`);
    print();
    print(`### One change to ${fmt(CONFIG.watchers)} parked watchers — one server, ${fmt(n)} instances, ${CONFIG.watchChanges} changes per run`);
    print();
    print(tables.wakeTable);
    print();
    print(
      'Each watcher holds `GET /eureka/apps/delta?since=R&wait=' + `${CONFIG.watchWaitSeconds}s` + '` (JSON) on its own keep-alive socket; the sockets come from ' +
        'several loopback source addresses, as from many hosts (the server caps 512 connections per address). A change is a ' +
        're-registration answered 204; its latency to a watcher runs from the 204 arriving at the writer to the watcher\'s ' +
        'answer (its last byte) read by the generator — both on the generator\'s event loop, so the generator\'s time to read ' +
        `${fmt(CONFIG.watchers)} answers is included. Every watcher re-parks with the answer's X-Registry-Revision once all have answered. ` +
        'Memory: the server\'s RSS (and its V8 heap from /metrics) with the watchers parked minus before, over the watchers, each read 2 s after ' +
        'a full garbage collection (the bench preloads bench/gc-on-signal.js into this server); kernel socket buffers are not in RSS (shown ' +
        'separately, both ends together). Heartbeats: as in the request shapes, without watchers, with them parked, and without again once they are gone ' +
        '("without" is the mean of the two, so the server warming up over the run counts neither way); their CPU µs/req is ' +
        'steadier than req/s on a shared machine.',
    );
    print();
    if (tables.bareTable) {
      print(tables.bareTable);
      print();
      print(
        'The same changes to as many watchers of bench/bare-watch-server.js (same Node, same core), which parks the polls and, on a ' +
          'registration, answers 204 and then every watcher with the bytes ours answered (captured): through node:http as any Node ' +
          'server would, and as one socket.write of pre-built bytes — the floor of one write per watcher here (on loopback the ' +
          "sender's core also runs the receiving side's TCP). Their memory is read as ours, after a full collection.",
      );
      print();
    }
    print(`### A registration on zone A seen by a client watching zone C`);
    print();
    print(tables.zoneTable);
    print();
    print(
      'Three zones on 127.0.0.1 started as in the replication part (default batching: up to 20 ms). The watchers long-poll ' +
        `\`delta?since=R&wait=${30}s\` and re-park after each answer; latency runs from A's 204 arriving at the generator to the ` +
        'watch answer holding the instance.',
    );
    print();
    const profiled = runs.find((r) => r.wake.profile);
    if (profiled) {
      const p = profiled.wake.profile;
      print(`### Server CPU profile during the wakes (${p.file}, ${fmt(p.inWindows)} samples, ${fmt(p.sampledMs)} ms)`);
      print();
      print(profileTable(p));
      print();
    }
  });

  if (!CONFIG.skip.has('anti-entropy')) await part('anti-entropy', async () => {
    console.error('bench: anti-entropy: one comparison round at 100,000 instances (in process)');
    const result = await antiEntropyBench.run();
    results.antiEntropy = result;
    print('## Anti-entropy');
    print();
    print(antiEntropyBench.table(result));
    print();
  });

  if (!CONFIG.skip.has('health-checks')) await part('health checks', async () => {
    console.error('bench: health checks: 10,000 instances probed every 10 s, with and without (bench/health-checks.js)');
    // Its own servers and probe target, pinned as the other parts' are; its table on stdout.
    const out = execFileSync(process.execPath, [path.join(__dirname, 'health-checks.js')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    results.healthChecks = out.trim();
    print('## Health checks');
    print();
    print(out.trim());
    print();
  });

  if (!CONFIG.skip.has('startup-sync')) await part('startup sync', async () => {
    console.error('bench: startup sync: a server joining a zone of 250,000 instances (bench/startup-sync.js)');
    const result = await startupSyncBench.startupSyncBench((m) => console.error(m));
    results.startupSync = result;
    print('## Startup sync at fleet scale');
    print();
    for (const line of startupSyncBench.report(result)) print(line);
    print();
  });

  if (!CONFIG.skip.has('dns')) await part('dns', async () => {
    console.error('bench: dns: SRV queries against ours and a bare node:dgram server (bench/dns.js)');
    const { result, markdown } = await dnsBench.run();
    results.dns = result;
    print('## DNS');
    print();
    print(markdown);
    print();
  });

  if (!CONFIG.skip.has('zone-share')) await part('zone share', async () => {
    console.error("bench: zone share: one zone server's share of a three-zone region of 250,000 instances (bench/zone-share.js)");
    const result = await zoneShareBench.zoneShareBench((m) => console.error(m));
    results.zoneShare = result;
    print('## Zone share at fleet scale');
    print();
    for (const line of zoneShareBench.report(result)) print(line);
    print();
  });

  if (!CONFIG.skip.has('failure-storm')) await part('failure storm', async () => {
    console.error('bench: failure storm: three zones of 60,000 instances, one killed (bench/failure-storm.js)');
    const result = await failureStormBench.failureStormBench((m) => console.error(m));
    results.failureStorm = result;
    print('## Zone failure storm');
    print();
    for (const line of failureStormBench.report(result)) print(line);
  });

  if (notes.length) {
    print('Notes:');
    for (const n of notes) print(`- ${n}`);
    print();
  }
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  results.finished = new Date().toISOString();
  results.markdown = out.join('\n');
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  console.error(`bench: results in ${path.relative(ROOT, file)} (${((Date.now() - started.getTime()) / 1000).toFixed(0)} s)`);
  return results.failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`bench: failed: ${err && err.stack ? err.stack : err}`);
    killAll();
    process.exit(1);
  },
);
