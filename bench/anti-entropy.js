'use strict';
// The cost of one anti-entropy comparison between two servers holding 100,000 instances over 1,000 applications:
// in sync, and with 1 % of the instances differing (in 1 % of the applications, and spread over all of them). Both
// servers run in this process, joined by a PeerClient that calls the other side's answers directly, so the CPU time
// of each side and the bytes each way are measured exactly (process.cpuUsage around each side's work; the request
// and answer bodies' lengths). No network: what is measured is what the comparison costs the servers.
//
// Usage: npm run build && node bench/anti-entropy.js        (BENCH_AE_APPS, BENCH_AE_PER_APP, BENCH_AE_RUNS)
// Also run as a part of `npm run bench` (bench/run.js). Targets when in sync: < 5 ms CPU and < 64 KB per peer per round.
const path = require('node:path');
const { num } = require('./env');

const DIST = path.resolve(__dirname, '../dist');
const { ManualClock } = require(path.join(DIST, 'domain/clock'));
const { Registry } = require(path.join(DIST, 'domain/registry'));
const { AntiEntropy } = require(path.join(DIST, 'replication/anti-entropy'));
const { silentLogger } = require(path.join(DIST, 'observability/logger'));

const CONFIG = {
  apps: Math.floor(num('BENCH_AE_APPS', 1000)),
  perApp: Math.floor(num('BENCH_AE_PER_APP', 100)),
  runs: Math.max(1, Math.floor(num('BENCH_AE_RUNS', 5))),
};
const TARGETS = { inSyncCpuMs: 5, inSyncBytes: 64 * 1024 };
const LIMITS = { maxNameLength: 256, maxMetadataEntries: 128, maxVipAddresses: 16, defaultRenewalIntervalSecs: 30, defaultDurationSecs: 90 };
const NEVER = { after: () => () => undefined };

/** A registration body's worth of instance: ~1 KB of fields like a Spring client's. */
function instance(app, i) {
  const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return {
    id: `${host}:${app.toLowerCase()}:8080`, instanceId: `${host}:${app.toLowerCase()}:8080`, app, hostName: host, ipAddr: host,
    status: 'UP', overriddenStatus: 'UNKNOWN', port: { port: 8080, enabled: true }, securePort: { port: 8443, enabled: false }, countryId: 1,
    dataCenterInfo: { name: 'MyOwn', className: 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo' },
    renewalIntervalSecs: 30, durationSecs: 90, metadata: { 'management.port': '8081', zone: 'us-east-1a', version: '1.4.2' },
    homePageUrl: `http://${host}:8080/`, statusPageUrl: `http://${host}:8081/actuator/info`, healthCheckUrl: `http://${host}:8081/actuator/health`,
    vipAddress: app.toLowerCase(), secureVipAddress: app.toLowerCase(), lastDirtyTimestamp: 1_700_000_000_000,
  };
}

/** Two servers with the same registry, each comparing with the other through a metered in-process link. */
function pair() {
  const clock = new ManualClock(1_700_000_100_000);
  const make = () => new Registry({ clock, defaultLeaseDurationMs: 3_600_000, deltaRetentionMs: 1000, maxInstancesPerApp: 1_000_000, deltaMaxBytes: 1 << 20 });
  const a = make();
  const b = make();
  for (let app = 0; app < CONFIG.apps; app++) {
    const name = `APP-${app}`;
    for (let i = 0; i < CONFIG.perApp; i++) {
      const x = instance(name, app * CONFIG.perApp + i);
      a.register(x, true, 1_700_000_000_000);
      b.register(x, true, 1_700_000_000_000);
    }
  }
  const meter = { peerCpuUs: 0, sentBytes: 0, receivedBytes: 0, requests: 0 };
  const options = { intervalMs: 30_000, jitterFraction: 0, random: Math.random, maxRepairItems: 250, maxRepairBytes: 1 << 20 };
  let bSide;
  const link = {
    url: 'http://b/eureka/',
    async compare(p, body) {
      const t = process.cpuUsage();
      const out = p === 'digest' ? bSide.answerDigest(body) : p === 'versions' ? bSide.answerVersions(body) : JSON.stringify(bSide.applyRepairs(body));
      const d = process.cpuUsage(t);
      meter.peerCpuUs += d.user + d.system;
      meter.sentBytes += Buffer.byteLength(body);
      meter.receivedBytes += Buffer.byteLength(out);
      meter.requests++;
      return { kind: 'answer', status: 200, body: out };
    },
    sendBatch: async () => ({ kind: 'failed', reason: 'unused' }),
    fetchRegistry: async () => ({ kind: 'failed', reason: 'unused' }),
    close() {},
  };
  const aSide = new AntiEntropy(a, clock, NEVER, silentLogger, [link], LIMITS, options);
  bSide = new AntiEntropy(b, clock, NEVER, silentLogger, [], LIMITS, options);
  return { a, b, aSide, bSide, meter, clock };
}

/** One round from A to B: CPU of each side (ms), bytes each way, requests, instances repaired. */
async function round(p) {
  Object.assign(p.meter, { peerCpuUs: 0, sentBytes: 0, receivedBytes: 0, requests: 0 });
  const t = process.cpuUsage();
  await p.aSide.runRound();
  const d = process.cpuUsage(t);
  const stats = p.aSide.statsFor('http://b/eureka/');
  return {
    initiatorCpuMs: (d.user + d.system - p.meter.peerCpuUs) / 1000,
    peerCpuMs: p.meter.peerCpuUs / 1000,
    sentBytes: p.meter.sentBytes,
    receivedBytes: p.meter.receivedBytes,
    requests: p.meter.requests,
    appsDiffering: stats.appsDiffering,
  };
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

/** Runs the three cases CONFIG.runs times each; medians. */
async function run() {
  const cases = {};
  const record = (name, r) => (cases[name] ??= []).push(r);
  for (let k = 0; k < CONFIG.runs; k++) {
    const p = pair();
    await round(p); // warm-up: code paths compiled
    record('in sync', await round(p));
    const total = CONFIG.apps * CONFIG.perApp;
    const differing = Math.max(1, Math.round(total / 100));
    // 1 % of the instances, in 1 % of the applications: a later change on A that B missed.
    p.clock.advance(1000);
    for (let n = 0; n < differing; n++) {
      const app = n % Math.max(1, Math.round(CONFIG.apps / 100));
      p.a.updateMetadata(`APP-${app}`, instance(`APP-${app}`, app * CONFIG.perApp + (Math.floor(n / Math.max(1, Math.round(CONFIG.apps / 100))) % CONFIG.perApp)).id, { build: `b${k}-${n}` }, true);
    }
    record('1 % differing, in 1 % of the apps', await round(p));
    record('in sync again', await round(p));
    // 1 % of the instances spread over every application.
    p.clock.advance(1000);
    for (let n = 0; n < differing; n++) {
      const app = n % CONFIG.apps;
      p.a.updateMetadata(`APP-${app}`, instance(`APP-${app}`, app * CONFIG.perApp + (n % CONFIG.perApp)).id, { spread: `s${k}-${n}` }, true);
    }
    record('1 % differing, spread over all apps', await round(p));
  }
  const rows = Object.entries(cases).map(([name, rs]) => ({
    name,
    initiatorCpuMs: median(rs.map((r) => r.initiatorCpuMs)),
    peerCpuMs: median(rs.map((r) => r.peerCpuMs)),
    sentBytes: median(rs.map((r) => r.sentBytes)),
    receivedBytes: median(rs.map((r) => r.receivedBytes)),
    requests: median(rs.map((r) => r.requests)),
    appsDiffering: median(rs.map((r) => r.appsDiffering)),
  }));
  const inSync = rows[0];
  const checks = [
    { name: `in sync: CPU per side < ${TARGETS.inSyncCpuMs} ms`, ok: inSync.initiatorCpuMs < TARGETS.inSyncCpuMs && inSync.peerCpuMs < TARGETS.inSyncCpuMs },
    { name: `in sync: bytes per round < ${TARGETS.inSyncBytes / 1024} KB`, ok: inSync.sentBytes + inSync.receivedBytes < TARGETS.inSyncBytes },
  ];
  return { config: CONFIG, rows, checks };
}

/** The results as a markdown table. */
function table(result) {
  const kb = (b) => (b < 1024 ? `${b} B` : `${(b / 1024).toFixed(1)} KB`);
  const lines = [
    `Anti-entropy: one comparison round between two servers of ${(CONFIG.apps * CONFIG.perApp).toLocaleString('en')} instances over ${CONFIG.apps.toLocaleString('en')} applications (${CONFIG.runs} runs, medians)`,
    '',
    '| Case | Initiator CPU | Peer CPU | Sent | Received | Requests | Apps differing |',
    '|---|---|---|---|---|---|---|',
    ...result.rows.map((r) => `| ${r.name} | ${r.initiatorCpuMs.toFixed(2)} ms | ${r.peerCpuMs.toFixed(2)} ms | ${kb(r.sentBytes)} | ${kb(r.receivedBytes)} | ${r.requests} | ${r.appsDiffering} |`),
    '',
    ...result.checks.map((c) => `- ${c.ok ? 'met' : 'MISSED'}: ${c.name}`),
  ];
  return lines.join('\n');
}

module.exports = { run, table };

if (require.main === module) {
  run().then(
    (result) => {
      console.log(table(result));
      process.exit(result.checks.every((c) => c.ok) ? 0 : 1);
    },
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
}
