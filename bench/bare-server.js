'use strict';
// The baseline: a bare node:http server that answers each benchmarked request shape with the exact bytes our server
// sent for it (status, headers, body — captured by run.js just before), choosing the reply with nothing more than a
// switch on method, path and Accept / Accept-Encoding. Run on the same Node, pinned to the same core, it measures what
// Node's HTTP layer alone costs for those bytes, so ours/bare tells how much the registry adds on top.
//
// Usage: node bench/bare-server.js <port> <responses-dir>
//   <responses-dir>/responses.json: { "<shape>": { "status": 200, "headers": {...}, "file": "<shape>.bin" }, ... }
//   shapes: register (POST), heartbeat (PUT), fullJson, fullGzip, fullXml (GET /eureka/apps), delta (GET /eureka/apps/delta)
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const [port, dir] = [Number(process.argv[2]), process.argv[3]];
if (!port || !dir) {
  console.error('usage: node bench/bare-server.js <port> <responses-dir>');
  process.exit(2);
}

const spec = JSON.parse(fs.readFileSync(path.join(dir, 'responses.json'), 'utf8'));
/** @typedef {[number, string[], Buffer]} Reply status, headers as a flat array, body */
/** Each shape as a Reply; a missing shape answers 404. */
const load = (shape) => {
  const s = spec[shape];
  if (!s) return /** @type {Reply} */ ([404, ['content-length', '0'], Buffer.alloc(0)]);
  const body = fs.readFileSync(path.join(dir, s.file));
  const headers = [];
  for (const [k, v] of Object.entries(s.headers)) headers.push(k, v);
  headers.push('content-length', String(body.length));
  return /** @type {Reply} */ ([s.status, headers, body]);
};
const R = {
  register: load('register'),
  heartbeat: load('heartbeat'),
  fullJson: load('fullJson'),
  fullGzip: load('fullGzip'),
  fullXml: load('fullXml'),
  delta: load('delta'),
  notFound: /** @type {Reply} */ ([404, ['content-length', '0'], Buffer.alloc(0)]),
};

/**
 * @param {http.ServerResponse} res
 * @param {Reply} reply
 */
function reply(res, [status, headers, body]) {
  res.writeHead(status, headers);
  res.end(body);
}

const server = http.createServer((req, res) => {
  switch (req.method) {
    case 'POST': // registration: read the body as any server must, then answer
      req.on('end', () => reply(res, R.register));
      req.resume();
      return;
    case 'PUT': // heartbeat
      return reply(res, R.heartbeat);
    case 'GET':
      switch (req.url) {
        case '/eureka/apps': {
          const json = (req.headers.accept || '').includes('json');
          const gzip = (req.headers['accept-encoding'] || '').includes('gzip');
          return reply(res, !json ? R.fullXml : gzip ? R.fullGzip : R.fullJson);
        }
        case '/eureka/apps/delta':
          return reply(res, R.delta);
      }
  }
  reply(res, R.notFound);
});
// Same keep-alive behaviour as a typical server: keep idle connections for the duration of a run.
server.keepAliveTimeout = 65000;
server.listen(port, '127.0.0.1');

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// run.js starts this with `-r bench/orphan-guard.js`, as it does our server, so it never outlives the harness.
