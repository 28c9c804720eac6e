'use strict';
// Process control: the server as a child process (orphan guard preloaded), its dummy replication peer in this
// process, free ports, and stopping everything however the run ends.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const http = require('node:http');
const { spawn } = require('node:child_process');
const { ROOT, MB, CONFIG, PEER_ADDR, NODE } = require('./config');
const { sleep, elapsed, log, run, server } = require('./state');
const { sockets, track, clearTimers } = require('./resources');
const { goodRequest } = require('./good-clients');

const BENCH_DIR = path.resolve(__dirname, '..');

/** @type {import('node:child_process').ChildProcessWithoutNullStreams | null} */
let child = null;
/** @type {string | null} */
let tempDir = null;
/** @type {http.Server | null} */
let peerServer = null;

function killEverything() {
  clearTimers();
  for (const s of sockets) s.destroy();
  if (child && child.exitCode === null && child.signalCode === null) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  if (peerServer) peerServer.close();
  peerServer = null;
  if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
}
process.on('exit', killEverything);
for (const [signal, code] of /** @type {[NodeJS.Signals, number][]} */ ([['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]])) {
  process.on(signal, () => {
    console.error(`\nsoak: ${signal}, stopping the server`);
    killEverything();
    process.exit(code);
  });
}

/** A free TCP port on `host` (free now; it is bound right after). */
function freePort(host) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/** The dummy peer: answers startup sync with an empty registry and every replication batch item with 200. */
function startPeer(port) {
  const peer = { batches: 0, items: 0, syncs: 0, other: 0 };
  const srv = http.createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size <= 32 * MB) chunks.push(c);
    });
    req.on('end', () => {
      const url = req.url || '/';
      if (req.method === 'GET' && /^\/eureka\/apps\/?$/.test(url)) {
        peer.syncs++;
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"applications":{"versions__delta":"1","apps__hashcode":"","application":[]}}');
      }
      if (req.method === 'POST' && /^\/eureka\/peerreplication\/batch\/?$/.test(url)) {
        let n = 0;
        try {
          n = JSON.parse(Buffer.concat(chunks).toString('utf8')).replicationList.length;
        } catch {
          res.writeHead(400);
          return res.end();
        }
        peer.batches++;
        peer.items += n;
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ responseList: Array.from({ length: n }, () => ({ statusCode: 200 })) }));
      }
      peer.other++;
      res.writeHead(404);
      res.end();
    });
  });
  peerServer = srv;
  srv.on('connection', (s) => track(s));
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, PEER_ADDR, () => resolve(peer));
  });
}

async function startServer(port, peerPort) {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'eureka-soak-'));
  const selfUrl = `http://127.0.0.1:${port}/eureka/`;
  const zonesFile = path.join(tempDir, 'zones.json');
  fs.writeFileSync(zonesFile, JSON.stringify({ region: 'soak', zones: { 'soak-a': [selfUrl, `http://${PEER_ADDR}:${peerPort}/eureka/`] }, settings: {} }, null, 2));
  const args = [
    '-r',
    path.join(BENCH_DIR, 'orphan-guard.js'),
    path.join(ROOT, CONFIG.server),
    ...['--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn'],
    ...['--config', zonesFile, '--zone', 'soak-a', '--self-url', selfUrl],
    ...['--sync-attempts', '2', '--sync-retry-wait-ms', '200', '--sync-failure-mode', 'serve'],
    ...['--lease-duration-secs', String(CONFIG.leaseSecs), '--lease-renewal-interval-secs', '1', '--eviction-interval-ms', '1000', '--renewal-window-ms', String(CONFIG.renewalWindowMs), '--delta-retention-ms', String(CONFIG.deltaRetentionMs)],
    ...CONFIG.serverExtraArgs,
  ];
  child = spawn(NODE, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  server.port = port;
  server.pid = /** @type {number} */ (child.pid);
  server.args = args.slice(2);
  const keep = (chunk) => {
    const text = chunk.toString();
    server.warnLines += (text.match(/warn/gi) || []).length;
    server.errorLines += (text.match(/error/gi) || []).length;
    server.tail = (server.tail + text).slice(-6000);
    if (server.head.length < 3000) server.head = (server.head + text).slice(0, 3000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.stdin.on('error', () => {});
  child.on('exit', (code, signal) => {
    server.exited = { code, signal, atSecs: elapsed(), phase: run.phase };
    if (!stopping) log(`SERVER EXITED (code ${code}, signal ${signal}) during ${run.phase}`);
  });
  const deadline = Date.now() + 20000;
  for (;;) {
    if (server.exited) throw new Error(`server exited during start-up (code ${server.exited.code}):\n${server.tail}`);
    const res = await goodRequest('GET', '/eureka/apps/delta', undefined, 2000, null);
    if (typeof res.status === 'number' && res.status === 200) break;
    if (Date.now() > deadline) throw new Error(`server did not answer 200 on 127.0.0.1:${port} within 20 s:\n${server.tail}`);
    await sleep(100);
  }
}
let stopping = false;

async function stopServer() {
  stopping = true;
  const proc = child;
  if (!proc || server.exited) return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const h = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(h);
}

module.exports = { killEverything, freePort, startPeer, startServer, stopServer };
