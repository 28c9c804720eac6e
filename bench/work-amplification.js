'use strict';
// What one more microsecond of work per request costs a server on this machine, in the request-shape benchmark's own
// setting (server pinned to core 0, load generator to core 1, a closed loop of 32 keep-alive connections). A bare
// node:http server answers a fixed response and, before each answer, spins for a set number of microseconds; the spin
// changes every 1,000 requests, round robin, so that every setting sees the same moments of the machine. Printed per
// setting: the server's CPU per request (process user + system time) and what it cost beyond the spin.
//
// On the 2-core VM the benchmark runs on, a server made slower by its own work also pays more in the kernel for each
// answer: its generator waits more often, and waking it up is charged to the writer. A ratio against the bare server
// (ours / bare) therefore counts each microsecond our server adds at more than a microsecond.
//
// Usage: node bench/work-amplification.js [seconds=40] [spins µs=0,5,15,30] [body bytes=24345]
const http = require('node:http');
const { spawn } = require('node:child_process');
const { closedLoop } = require('./load');

const ROUND = 1000;

function serve() {
  const [port, spins, bytes] = [Number(process.argv[3]), process.argv[4].split(',').map(Number), Number(process.argv[5])];
  const body = Buffer.alloc(bytes, 'x');
  const headers = ['content-type', 'application/json', 'content-length', String(body.length)];
  let setting = 0;
  let count = 0;
  let last = process.cpuUsage();
  const spent = spins.map(() => ({ us: 0, requests: 0 }));
  const spin = (us) => {
    const end = process.hrtime.bigint() + BigInt(us * 1000);
    while (process.hrtime.bigint() < end);
  };
  http
    .createServer((_req, res) => {
      if (++count === ROUND) {
        const now = process.cpuUsage();
        spent[setting].us += now.user + now.system - last.user - last.system;
        spent[setting].requests += count;
        count = 0;
        setting = (setting + 1) % spins.length;
        last = process.cpuUsage();
      }
      if (spins[setting] > 0) spin(spins[setting]);
      res.writeHead(200, headers);
      res.end(body);
    })
    .listen(port, '127.0.0.1', () => process.send?.('listening'));
  process.on('message', () => process.send?.(spent.map((s, i) => ({ spinUs: spins[i], cpuUs: s.us / s.requests, requests: s.requests }))));
}

async function measure() {
  const seconds = Number(process.argv[2] ?? 40);
  const spins = process.argv[3] ?? '0,5,15,30';
  const bytes = Number(process.argv[4] ?? 24345);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const pinned = process.platform === 'linux';
  const args = [__filename, 'serve', String(port), spins, String(bytes)];
  const child = pinned
    ? spawn('taskset', ['-c', '0', process.execPath, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    : spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', () => reject(new Error('server exited')));
    });
    const r = await closedLoop({ port, connections: 32, seconds, requests: [{ method: 'GET', path: '/', headers: { accept: 'application/json' } }] });
    const spent = await new Promise((resolve) => {
      child.once('message', resolve);
      child.send('report');
    });
    console.log(`${Math.round(r.rps)} requests/s over ${seconds} s, ${bytes}-byte answers; the generator ${pinned ? 'pinned to core 1' : 'unpinned'}`);
    const base = spent[0].cpuUs - spent[0].spinUs;
    for (const s of spent) {
      const beyond = s.cpuUs - s.spinUs;
      console.log(`spin ${String(s.spinUs).padStart(3)} µs: ${s.cpuUs.toFixed(1).padStart(6)} µs of CPU a request, ${beyond.toFixed(1)} beyond the spin (${(beyond - base >= 0 ? '+' : '') + (beyond - base).toFixed(1)} against no spin), ${s.requests} requests`);
    }
  } finally {
    child.kill();
  }
}

if (process.argv[2] === 'serve') serve();
else {
  if (process.platform === 'linux' && !process.env.WORK_AMPLIFICATION_CHILD) {
    // The generator on core 1, as in the request shapes.
    const self = spawn('taskset', ['-c', '1', process.execPath, __filename, ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, WORK_AMPLIFICATION_CHILD: '1' } });
    self.on('exit', (code) => process.exit(code ?? 1));
  } else {
    measure().catch((e) => {
      console.error(e);
      process.exit(1);
    });
  }
}
