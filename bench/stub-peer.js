'use strict';
// A stand-in for peer zone servers, for benchmarks that simulate one server's share of a region: it takes the
// server's replication batches and answers each item 200 (with the header by which zone-registry peers make
// themselves known), answers a comparison digest with the sender's own root (registries agree), startup sync with an
// empty registry and readiness with 200. So the server measured pays for replicating to its peers as it would in a
// region, while the peers cost the benchmark machine next to nothing. One process listens on every port given.
//
// Usage: node bench/stub-peer.js <port> [<port> ...]
// GET /stub/stats on any port: { "<port>": { batches, items, digests, other } } received so far.
const http = require('node:http');

const ports = process.argv.slice(2).map(Number);
if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p <= 0)) {
  console.error('usage: node bench/stub-peer.js <port> [<port> ...]');
  process.exit(2);
}

/** @type {Record<string, { batches: number, items: number, digests: number, other: number }>} */
const stats = {};
/** Batch answers by item count: a batch's answer depends on nothing else. @type {Map<number, Buffer>} */
const answers = new Map();
const answerFor = (n) => {
  let a = answers.get(n);
  if (!a) {
    a = Buffer.from(`{"responseList":[${Array(n).fill('{"statusCode":200}').join(',')}]}`);
    answers.set(n, a);
  }
  return a;
};
const EMPTY_REGISTRY = Buffer.from('{"applications":{"versions__delta":"1","apps__hashcode":"","application":[]}}');
const ACTION = Buffer.from('"action":"');

/** Items in a batch body: one "action" key each (instances hold no such key). */
function countItems(body) {
  let n = 0;
  for (let at = body.indexOf(ACTION); at >= 0; at = body.indexOf(ACTION, at + ACTION.length)) n++;
  return n;
}

function serve(port) {
  const mine = (stats[port] = { batches: 0, items: 0, digests: 0, other: 0 });
  const json = (res, status, body, extra = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, 'x-registry-server': `stub-${port}`, ...extra });
    res.end(body);
  };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = req.url || '';
      if (req.method === 'POST' && url.includes('/peerreplication/batch')) {
        const n = countItems(Buffer.concat(chunks));
        mine.batches++;
        mine.items += n;
        return json(res, 200, answerFor(n));
      }
      if (req.method === 'POST' && url.includes('/peerreplication/digest')) {
        // The sender's root back: this peer holds the same registry, nothing to compare further.
        mine.digests++;
        return json(res, 200, Buffer.concat(chunks));
      }
      if (req.method === 'GET' && url.startsWith('/stub/stats')) return json(res, 200, Buffer.from(JSON.stringify(stats)));
      if (req.method === 'GET' && url.startsWith('/health/')) return json(res, 200, Buffer.from('{"status":"UP"}'));
      if (req.method === 'GET' && /^\/eureka\/apps\/?(\?|$)/.test(url)) return json(res, 200, EMPTY_REGISTRY);
      mine.other++;
      json(res, 404, Buffer.from('{}'));
    });
  });
  server.keepAliveTimeout = 65000;
  server.listen(port, '127.0.0.1');
  return server;
}

const servers = ports.map(serve);
const stop = () => {
  for (const s of servers) s.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
