'use strict';
// The watch's baselines: a server that parks every `GET /eureka/apps/delta?since=R&wait=D` with R at or past its own
// revision and, on any POST (a registration), answers it 204 and then every parked poll with the exact bytes our
// server answered a woken watcher with (captured by bench/run/watch.js), X-Registry-Revision set to its own counter.
// Run on the same Node and core as ours, in one of two modes:
//  - http: node:http, each answer through res.writeHead + res.end, as any Node HTTP server writes a response: what
//    Node's HTTP layer alone costs per woken watcher;
//  - raw: node:net with a minimal request reader, each answer one socket.write of bytes built once per change: the
//    floor of one write per watcher on this machine (on loopback, mostly the kernel's TCP, both ends of it).
// It also answers GET /eureka/apps/delta without a wait at once, and GET /metrics with the parked count and heap sizes
// as our server names them. Parked polls are held until a change or until their client goes: the benchmark's waits outlast it.
//
// Usage: node bench/bare-watch-server.js <port> <http|raw> <answer.json>
//   answer.json: { "headers": { "<name>": "<value>", ... }, "body": "<base64>" } (no Content-Length, no revision)
const http = require('node:http');
// The same process-wide remedy as our server's (held while it runs): one of Node's tick objects, without which a
// collection may drop the shape V8 recorded for them and every nextTick after it costs several times as much
// (src/scheduling/tick-shape.ts). The baseline is then what a bare server does at its best, not on a bad draw.
require(require('node:path').join(__dirname, '..', 'dist', 'scheduling', 'tick-shape.js')).holdTickShape();
const net = require('node:net');
const fs = require('node:fs');

const [port, mode, file] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
if (!port || !['http', 'raw'].includes(mode) || !file) {
  console.error('usage: node bench/bare-watch-server.js <port> <http|raw> <answer.json>');
  process.exit(2);
}
const captured = JSON.parse(fs.readFileSync(file, 'utf8'));
const body = Buffer.from(captured.body, 'base64');
let revision = 0;

/** The answer's headers at the current revision, as a flat array for writeHead. */
const headersNow = () => {
  const out = [];
  for (const [k, v] of Object.entries(captured.headers)) out.push(k, v);
  out.push('content-length', String(body.length), 'x-registry-revision', String(revision));
  return out;
};
/** The whole answer at the current revision, as bytes. */
const bytesNow = () => {
  const h = headersNow();
  let head = 'HTTP/1.1 200 OK\r\n';
  for (let i = 0; i < h.length; i += 2) head += `${h[i]}: ${h[i + 1]}\r\n`;
  return Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), body]);
};
/** Whether a GET of `url` parks (a long poll with nothing newer than its revision). */
const parks = (url) => {
  const since = /[?&]since=(\d+)/.exec(url);
  return since !== null && /[?&]wait=/.test(url) && Number(since[1]) >= revision;
};
const metricsText = (parked) => {
  const m = process.memoryUsage();
  return `zone_registry_watchers{kind="long-poll"} ${parked}\nnodejs_heap_size_used_bytes ${m.heapUsed}\nnodejs_heap_size_total_bytes ${m.heapTotal}\nnodejs_external_memory_bytes ${m.external}\n`;
};

if (mode === 'http') {
  /** @type {Set<http.ServerResponse>} */
  let parked = new Set();
  const server = http.createServer((req, res) => {
    if (req.method === 'POST') {
      req.on('end', () => {
        revision++;
        res.writeHead(204);
        res.end();
        const woken = parked;
        parked = new Set();
        const headers = headersNow();
        for (const r of woken) {
          r.writeHead(200, headers);
          r.end(body);
        }
      });
      req.resume();
      return;
    }
    if (req.url === '/metrics') {
      const text = metricsText(parked.size);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    if (parks(/** @type {string} */ (req.url))) {
      parked.add(res);
      res.on('close', () => parked.delete(res));
      return;
    }
    res.writeHead(200, headersNow());
    res.end(body);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(port, '127.0.0.1');
} else {
  /** @type {Set<net.Socket>} */
  let parked = new Set();
  const CRLFCRLF = Buffer.from('\r\n\r\n');
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => parked.delete(socket));
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        const end = pending.indexOf(CRLFCRLF);
        if (end < 0) return;
        const head = pending.toString('latin1', 0, end);
        const length = Number((/\r\ncontent-length:\s*(\d+)/i.exec(head) || [])[1] || 0);
        if (pending.length < end + 4 + length) return;
        pending = pending.subarray(end + 4 + length);
        const [method, url] = head.split(' ', 2);
        if (method === 'POST') {
          revision++;
          socket.write('HTTP/1.1 204 No Content\r\n\r\n');
          const woken = parked;
          parked = new Set();
          const bytes = bytesNow();
          for (const s of woken) s.write(bytes);
        } else if (url === '/metrics') {
          const text = metricsText(parked.size);
          socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
        } else if (parks(url)) parked.add(socket);
        else socket.write(bytesNow());
      }
    });
  });
  server.listen(port, '127.0.0.1');
}
process.on('SIGTERM', () => process.exit(0));
