'use strict';
// What active health checks cost the server: 10,000 instances probed every 10 s (1,000 probes a second), against the
// same fleet without probing, in the same run. Each run starts a fresh server (pinned to core 0) with health checks
// off and then on, registers the fleet, lets one probe interval pass under heartbeat load, then measures the server's
// CPU and heartbeat latency (open loop) over BENCH_HC_SECONDS. The probe target is a separate process on core 1 (with
// this load generator): one HTTP listener on 127.0.0.1 answering 200 on /health/<n>, so every instance's health URL is
// on its own registered host (127.0.0.1) and distinct by path.
//
// Usage: npm run build && node bench/health-checks.js     (BENCH_HC_INSTANCES, BENCH_HC_INTERVAL_MS, BENCH_HC_SECONDS,
//        BENCH_HC_HEARTBEAT_RATE, BENCH_HC_RUNS, BENCH_HC_CONCURRENCY)
// Internally also: node bench/health-checks.js target PORT (the probe target).
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { num } = require('./env');
const { median, openLoop, request, withCpu } = require('./load');
const { PINNING, machine, pinSelf, freePort, sleep, startProcess, stopProcess, serverArgs, serverScript, assertAlive } = require('./run/processes');
const { registerAll } = require('./run/requests');

const CONFIG = {
  instances: Math.max(1, Math.floor(num('BENCH_HC_INSTANCES', 10_000))),
  intervalMs: Math.max(100, Math.floor(num('BENCH_HC_INTERVAL_MS', 10_000))),
  seconds: num('BENCH_HC_SECONDS', 20),
  heartbeatRate: num('BENCH_HC_HEARTBEAT_RATE', 1000),
  runs: Math.max(1, Math.floor(num('BENCH_HC_RUNS', 2))),
  concurrency: Math.max(1, Math.floor(num('BENCH_HC_CONCURRENCY', 32))),
};
const PER_APP = 100;

// ---------------------------------------------------------------------------------------------------------------
// The probe target (child process)

function serveTarget(port) {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 15 });
    res.end('{"status":"UP"}');
  });
  server.listen(port, '127.0.0.1');
}

// ---------------------------------------------------------------------------------------------------------------
// The fleet

const ref = (n) => {
  const app = `BENCH-HC-${String(Math.floor(n / PER_APP)).padStart(4, '0')}`;
  return { app, id: `hc-${n}` };
};

function registerSpec(n, targetPort) {
  const { app, id } = ref(n);
  const body = JSON.stringify({
    instance: {
      instanceId: id,
      app,
      hostName: '127.0.0.1',
      ipAddr: '127.0.0.1',
      status: 'UP',
      port: { $: targetPort, '@enabled': 'true' },
      securePort: { $: 443, '@enabled': 'false' },
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 },
      metadata: { zone: 'us-east-1a', version: '2.14.3' },
      healthCheckUrl: `http://127.0.0.1:${targetPort}/health/${n}`,
      vipAddress: app.toLowerCase(),
    },
  });
  return { method: 'POST', path: `/eureka/apps/${app}`, headers: { 'content-type': 'application/json', accept: 'application/json' }, body };
}

const heartbeatSpec = (n) => {
  const { app, id } = ref(n);
  return { method: 'PUT', path: `/eureka/apps/${app}/${id}`, headers: { accept: 'application/json' } };
};

async function healthStats(port) {
  const res = await request(port, { method: 'GET', path: '/eureka/status', headers: { accept: 'application/json' } });
  return JSON.parse(res.body.toString('utf8')).healthChecks;
}

/** Probe durations' p50 / p99 from the histogram counts (upper bounds of their buckets), ms. */
function durationPercentiles(counts) {
  const bounds = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, Infinity];
  const total = counts.reduce((a, b) => a + b, 0);
  const at = (q) => {
    let seen = 0;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i];
      if (seen >= q * total) return bounds[i];
    }
    return NaN;
  };
  return { p50: at(0.5), p99: at(0.99) };
}

// ---------------------------------------------------------------------------------------------------------------
// One run

async function runOnce(mode, targetPort, run) {
  const log = (msg) => console.error(`  [health ${run} ${mode}] ${msg}`);
  const port = await freePort();
  const flags = [
    ...serverArgs(port),
    '--health-checks-enabled', String(mode === 'on'),
    '--health-check-interval-ms', String(CONFIG.intervalMs),
    '--health-check-concurrency', String(CONFIG.concurrency),
  ];
  const proc = await startProcess(`ours (checks ${mode})`, serverScript(), flags, port);
  try {
    log(`registering ${CONFIG.instances} instances`);
    await registerAll(proc, CONFIG.instances, (i) => registerSpec(i, targetPort), 204);
    const n = CONFIG.instances;
    const stride = 7919 % n === 0 ? 1 : 7919;
    const streams = [{ name: 'heartbeat', rate: CONFIG.heartbeatRate, next: (k) => heartbeatSpec((k * stride) % n) }];
    // One whole interval first: every instance probed once, probes spread.
    log(`warm-up: ${CONFIG.intervalMs / 1000} s of heartbeats`);
    await openLoop({ port, streams, seconds: CONFIG.intervalMs / 1000, maxSockets: 64 });
    const before = mode === 'on' ? await healthStats(port) : undefined;
    log(`measuring: ${CONFIG.heartbeatRate}/s heartbeats for ${CONFIG.seconds} s`);
    const measured = await withCpu(proc.pid, () => openLoop({ port, streams, seconds: CONFIG.seconds, maxSockets: 64 }));
    const after = mode === 'on' ? await healthStats(port) : undefined;
    assertAlive(proc);
    const hb = measured.result.streams[0];
    const out = {
      mode,
      serverCpuPct: (measured.serverCpuMs / measured.wallMs) * 100,
      otherCpuPct: (measured.otherCpuMs / measured.wallMs) * 100,
      heartbeat: { rps: hb.achievedRps, p50: hb.p50, p99: hb.p99, max: hb.max, errors: hb.errors, non2xx: hb.non2xx },
    };
    if (before && after) {
      const count = (s) => s.probes.healthy + s.probes.unhealthy + s.probes.timeout + s.probes.error;
      const deltaCounts = after.durations.counts.map((c, i) => c - before.durations.counts[i]);
      out.probes = {
        perSec: (count(after) - count(before)) / (measured.wallMs / 1000),
        failed: count(after) - count(before) - (after.probes.healthy - before.probes.healthy),
        markedDown: after.markedDownTotal,
        probed: after.instances.probed,
        durationMs: durationPercentiles(deltaCounts),
        meanMs: ((after.durations.sumSecs - before.durations.sumSecs) / Math.max(1, after.durations.count - before.durations.count)) * 1000,
      };
    }
    log(`server CPU ${out.serverCpuPct.toFixed(1)} %, heartbeat p99 ${hb.p99.toFixed(2)} ms${out.probes ? `, ${out.probes.perSec.toFixed(0)} probes/s` : ''}`);
    return out;
  } finally {
    await stopProcess(proc);
  }
}

async function main() {
  pinSelf();
  const targetPort = await freePort();
  const target = await startProcess('health target', __filename, ['target', String(targetPort)], targetPort, PINNING ? 1 : 0);
  /** @type {{ off: any[], on: any[] }} */
  const results = { off: [], on: [] };
  try {
    for (let run = 1; run <= CONFIG.runs; run++) {
      for (const mode of /** @type {const} */ (['off', 'on'])) results[mode].push(await runOnce(mode, targetPort, run));
      await sleep(200);
    }
  } finally {
    await stopProcess(target);
  }
  const med = (mode, pick) => median(results[mode].map(pick));
  const row = (mode) => ({
    serverCpuPct: med(mode, (r) => r.serverCpuPct),
    heartbeatP50: med(mode, (r) => r.heartbeat.p50),
    heartbeatP99: med(mode, (r) => r.heartbeat.p99),
    heartbeatErrors: med(mode, (r) => r.heartbeat.errors + r.heartbeat.non2xx),
    otherCpuPct: med(mode, (r) => r.otherCpuPct),
  });
  const on = row('on');
  const off = row('off');
  const probes = {
    perSec: med('on', (r) => r.probes.perSec),
    failed: med('on', (r) => r.probes.failed),
    markedDown: med('on', (r) => r.probes.markedDown),
    p50Ms: med('on', (r) => r.probes.durationMs.p50),
    p99Ms: med('on', (r) => r.probes.durationMs.p99),
    meanMs: med('on', (r) => r.probes.meanMs),
  };
  const result = { machine: machine(), config: CONFIG, off, on, probes, runs: results };
  const lines = [
    `Health checks: ${CONFIG.instances.toLocaleString('en')} instances probed every ${CONFIG.intervalMs / 1000} s (concurrency ${CONFIG.concurrency}), ${CONFIG.heartbeatRate}/s heartbeats (open loop), ${CONFIG.seconds} s measured, ${CONFIG.runs} runs, medians`,
    '',
    '| | server CPU | heartbeat p50 / p99 | heartbeat errors | other CPU |',
    '|---|--:|--:|--:|--:|',
    `| checks off | ${off.serverCpuPct.toFixed(1)} % | ${off.heartbeatP50.toFixed(2)} / ${off.heartbeatP99.toFixed(2)} ms | ${off.heartbeatErrors} | ${off.otherCpuPct.toFixed(1)} % |`,
    `| checks on | ${on.serverCpuPct.toFixed(1)} % | ${on.heartbeatP50.toFixed(2)} / ${on.heartbeatP99.toFixed(2)} ms | ${on.heartbeatErrors} | ${on.otherCpuPct.toFixed(1)} % |`,
    '',
    `Probes: ${probes.perSec.toFixed(0)}/s, ${probes.failed} failed, ${probes.markedDown} marked DOWN; duration mean ${probes.meanMs.toFixed(2)} ms, p50 ≤ ${probes.p50Ms} ms, p99 ≤ ${probes.p99Ms} ms (histogram bucket bounds, median over runs).`,
    `Probing costs ${(on.serverCpuPct - off.serverCpuPct).toFixed(1)} % of a core: ${(((on.serverCpuPct - off.serverCpuPct) * 10_000) / Math.max(1, probes.perSec)).toFixed(0)} µs of server CPU per probe.`,
  ];
  console.log(lines.join('\n'));
  const dir = path.resolve(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `health-checks-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(result, null, 2));
  console.error(`results: ${file}`);
}

if (process.argv[2] === 'target') {
  serveTarget(Number(process.argv[3]));
} else if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exitCode = 1;
  });
}
