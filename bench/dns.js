'use strict';
// What the DNS interface costs against a bare node:dgram server: the same query (SRV of an app with 3 instances, with
// EDNS0 as dig sends it) from the same load generator, answered by our server (pinned to core 0) and by
// bench/bare-dns-server.js (same Node, same core) replaying the exact bytes ours answered. The generator (this process,
// core 1) keeps BENCH_DNS_IN_FLIGHT queries in flight from one UDP socket, each answer releasing the next, ids
// rotating; a query unanswered after 500 ms counts as lost and its slot is reused. Queries per second, latency from
// send to answer (p50 / p99), and the server's CPU per query; each run measures both servers, medians are reported.
//
// Usage: npm run build && node bench/dns.js     (BENCH_DNS_SECONDS, BENCH_DNS_WARMUP_SECONDS, BENCH_DNS_RUNS,
//        BENCH_DNS_IN_FLIGHT). Also a part of `npm run bench` (bench/run.js). Target: ours ≥ 0.7 × bare queries/s.
const dgram = require('node:dgram');
const fs = require('node:fs');
const path = require('node:path');
const dnsPacket = require('dns-packet');
const { num } = require('./env');
const { Samples, median, request, withCpu } = require('./load');
const { DISTURBED_PCT } = require('./run/config');
const { machine, pinSelf, freePort, sleep, startProcess, stopProcess, serverArgs, serverScript, assertAlive, awaitQuiet } = require('./run/processes');

const CONFIG = {
  seconds: num('BENCH_DNS_SECONDS', 5),
  warmupSeconds: num('BENCH_DNS_WARMUP_SECONDS', 1),
  runs: Math.max(1, Math.floor(num('BENCH_DNS_RUNS', 3))),
  inFlight: Math.max(1, Math.floor(num('BENCH_DNS_IN_FLIGHT', 64))),
};
const TARGET_RATIO = 0.7;
const APP = 'ORDERS';
const QNAME = 'orders.registry';
const LOST_AFTER_MS = 500;

/** The benchmarked query: SRV of the app, EDNS0 with a 1232-byte buffer. */
const QUERY = dnsPacket.encode({
  type: 'query',
  id: 0,
  flags: dnsPacket.RECURSION_DESIRED,
  questions: [{ type: 'SRV', name: QNAME }],
  additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
});

function registerBody(n) {
  return JSON.stringify({
    instance: {
      instanceId: `orders-${n}`,
      app: APP,
      hostName: `orders-${n}.internal`,
      ipAddr: `10.0.0.${n}`,
      status: 'UP',
      port: { $: 8080, '@enabled': 'true' },
      securePort: { $: 8443, '@enabled': 'false' },
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 3600 },
      metadata: { zone: 'us-east-1a' },
      vipAddress: 'orders',
    },
  });
}

/** One query and its answer, over a socket of its own. */
function queryOnce(port, message) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no DNS answer on 127.0.0.1:${port} within 2 s`));
    }, 2000);
    socket.on('message', (answer) => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    });
    socket.send(message, port, '127.0.0.1');
  });
}

/**
 * Closed loop over one UDP socket: `inFlight` queries outstanding, each answer sends the next; warm-up first, then
 * `seconds` measured.
 * @returns {Promise<{ answers: number, qps: number, p50: number, p90: number, p99: number, max: number, lost: number, bytesPerAnswer: number }>}
 */
function udpLoad(port, inFlight, warmupSeconds, seconds) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    /** @type {Map<number, number>} id → send time (performance.now()) */
    const outstanding = new Map();
    const latencies = new Samples(1 << 20);
    let counter = 0;
    let measuring = false;
    let stopping = false;
    let answers = 0;
    let lost = 0;
    let bytes = 0;
    let measureStart = 0;
    const send = () => {
      let id = counter++ & 0xffff;
      while (outstanding.has(id)) id = counter++ & 0xffff;
      const q = Buffer.from(QUERY);
      q.writeUInt16BE(id, 0);
      outstanding.set(id, performance.now());
      socket.send(q, port, '127.0.0.1');
    };
    socket.on('message', (answer) => {
      const id = answer.readUInt16BE(0);
      const sentAt = outstanding.get(id);
      if (sentAt === undefined) return;
      outstanding.delete(id);
      if (measuring) {
        latencies.push(performance.now() - sentAt);
        answers++;
        bytes += answer.length;
      }
      if (!stopping) send();
    });
    const sweep = setInterval(() => {
      const now = performance.now();
      for (const [id, at] of outstanding) {
        if (now - at < LOST_AFTER_MS) continue;
        outstanding.delete(id);
        if (measuring) lost++;
        if (!stopping) send();
      }
    }, 50);
    socket.bind(0, '127.0.0.1', () => {
      for (let i = 0; i < inFlight; i++) send();
      setTimeout(() => {
        measuring = true;
        measureStart = performance.now();
        setTimeout(() => {
          measuring = false;
          stopping = true;
          const wallS = (performance.now() - measureStart) / 1000;
          setTimeout(() => {
            clearInterval(sweep);
            socket.close();
            resolve({ answers, qps: answers / wallS, ...latencies.percentiles(), lost, bytesPerAnswer: answers ? bytes / answers : NaN });
          }, LOST_AFTER_MS);
        }, seconds * 1000);
      }, warmupSeconds * 1000);
    });
  });
}

/** Measures one server (a started process answering DNS on `dnsPort`). */
async function measure(proc, dnsPort) {
  await awaitQuiet(proc);
  const m = await withCpu(proc.pid, () => udpLoad(dnsPort, CONFIG.inFlight, CONFIG.warmupSeconds, CONFIG.seconds));
  assertAlive(proc);
  // The warm-up and the drain are inside withCpu's window: CPU per query is over the measured answers plus those.
  const r = m.result;
  const totalS = CONFIG.warmupSeconds + CONFIG.seconds;
  return {
    ...r,
    serverCpuUsPerQuery: (m.serverCpuMs * 1000) / Math.max(1, r.qps * totalS),
    serverCpuPct: (m.serverCpuMs / m.wallMs) * 100,
    genCpuPct: (m.genCpuMs / m.wallMs) * 100,
    otherCpuPct: (m.otherCpuMs / m.wallMs) * 100,
  };
}

async function runOnce(run) {
  const log = (msg) => console.error(`  [dns ${run}] ${msg}`);
  const port = await freePort();
  const flags = [...serverArgs(port), '--dns-enabled', 'true', '--dns-port', '0', '--dns-host', '127.0.0.1', '--dns-rate-limit-per-source-per-sec', '0'];
  const ours = await startProcess('ours (dns)', serverScript(), flags, port);
  let oursResult;
  let answer;
  try {
    for (let n = 1; n <= 3; n++) {
      const res = await request(port, { method: 'POST', path: `/eureka/apps/${APP}`, headers: { 'content-type': 'application/json' }, body: registerBody(n) });
      if (res.status !== 204) throw new Error(`registration answered ${res.status}`);
    }
    const status = JSON.parse((await request(port, { method: 'GET', path: '/eureka/status', headers: { accept: 'application/json' } })).body.toString('utf8'));
    const dnsPort = status.dns.port;
    answer = await queryOnce(dnsPort, QUERY);
    const decoded = dnsPacket.decode(answer);
    const srv = (decoded.answers || []).filter((a) => a.type === 'SRV').length;
    if (srv !== 3 || decoded.flag_tc) throw new Error(`our answer holds ${srv} SRV records (tc ${decoded.flag_tc}), expected 3`);
    log(`ours: ${CONFIG.inFlight} in flight, ${CONFIG.seconds} s`);
    oursResult = await measure(ours, dnsPort);
  } finally {
    await stopProcess(ours);
  }
  const barePort = await freePort();
  const bare = await startProcess('bare (dgram)', path.join(__dirname, 'bare-dns-server.js'), [String(barePort), answer.toString('hex')], barePort);
  let bareResult;
  try {
    const { dnsPort } = JSON.parse((await request(barePort, { method: 'GET', path: '/' })).body.toString('utf8'));
    log(`bare: ${CONFIG.inFlight} in flight, ${CONFIG.seconds} s`);
    bareResult = await measure(bare, dnsPort);
  } finally {
    await stopProcess(bare);
  }
  log(`ours ${oursResult.qps.toFixed(0)} q/s p99 ${oursResult.p99.toFixed(3)} ms; bare ${bareResult.qps.toFixed(0)} q/s p99 ${bareResult.p99.toFixed(3)} ms`);
  return { ours: oursResult, bare: bareResult, answerBytes: answer.length };
}

/** Runs the part; returns the numbers and the markdown. */
async function run() {
  const runs = [];
  for (let r = 1; r <= CONFIG.runs; r++) {
    runs.push(await runOnce(r));
    await sleep(200);
  }
  // As the other parts do: runs during which other processes took CPU are left out when undisturbed runs exist.
  const clean = runs.filter((r) => !(r.ours.otherCpuPct > DISTURBED_PCT) && !(r.bare.otherCpuPct > DISTURBED_PCT));
  const used = clean.length ? clean : runs;
  const med = (who, key) => median(used.map((r) => r[who][key]));
  const row = (who) => ({ qps: med(who, 'qps'), p50: med(who, 'p50'), p99: med(who, 'p99'), cpu: med(who, 'serverCpuUsPerQuery'), lost: med(who, 'lost'), gen: med(who, 'genCpuPct'), other: med(who, 'otherCpuPct') });
  const ours = row('ours');
  const bare = row('bare');
  const ratio = ours.qps / bare.qps;
  const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—');
  const lines = [
    `DNS: SRV of an app with 3 instances (EDNS0, ${runs[0].answerBytes}-byte answer: 3 SRV + 3 A), ${CONFIG.inFlight} queries in flight from one UDP socket, ${CONFIG.seconds} s measured (+${CONFIG.warmupSeconds} s warm-up), ${CONFIG.runs} runs, medians of ${used.length === runs.length ? 'all' : `the ${used.length} undisturbed`}`,
    '',
    '| server | queries/s | p50 | p99 | server CPU µs/query | lost | generator CPU | other CPU |',
    '|---|--:|--:|--:|--:|--:|--:|--:|',
    `| ours | ${fmt(ours.qps)} | ${fmt(ours.p50, 3)} ms | ${fmt(ours.p99, 3)} ms | ${fmt(ours.cpu, 1)} | ${fmt(ours.lost)} | ${fmt(ours.gen, 1)} % | ${fmt(ours.other, 1)} % |`,
    `| bare node:dgram | ${fmt(bare.qps)} | ${fmt(bare.p50, 3)} ms | ${fmt(bare.p99, 3)} ms | ${fmt(bare.cpu, 1)} | ${fmt(bare.lost)} | ${fmt(bare.gen, 1)} % | ${fmt(bare.other, 1)} % |`,
    '',
    `ours / bare: ${fmt(ratio, 2)} × the queries per second (target ≥ ${TARGET_RATIO}${ratio >= TARGET_RATIO ? ', met' : ', NOT met'}), ${fmt(bare.cpu / ours.cpu, 2)} × in CPU per query; per run: ${runs.map((r) => `${fmt(r.ours.qps / r.bare.qps, 2)}${used.includes(r) ? '' : ' (disturbed)'}`).join(', ')}.`,
    'Bare = bench/bare-dns-server.js: node:dgram answering every datagram with the bytes ours answered, the id copied in. Latency: send to answer, as the generator sees it. ' +
      'CPU columns are % of one core: a generator near 100 % bounds both servers alike, and other CPU above a few % means another process disturbed the run.',
  ];
  return { result: { machine: machine(), config: CONFIG, ours, bare, ratio, runsUsed: used.length, runs }, markdown: lines.join('\n') };
}

async function main() {
  pinSelf();
  const { result, markdown } = await run();
  console.log(markdown);
  const dir = path.resolve(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `dns-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(result, null, 2));
  console.error(`results: ${file}`);
}

module.exports = { run };

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exitCode = 1;
  });
}
