'use strict';
// The baseline: a bare node:http server that answers each benchmarked request shape with the exact bytes our server
// sent for it (status, headers, body — captured by run.js just before), choosing the reply with nothing more than a
// switch on method, path and Accept / Accept-Encoding. Run on the same Node, pinned to the same core, it measures what
// Node's HTTP layer alone costs for those bytes, so ours/bare tells how much the registry adds on top.
//
// With --keep-registrations it is the floor of any registry instead: each registration body is also parsed
// (JSON.parse) and the instance kept in a map by application and id, nothing more (no checks, no indexes, no change log,
// no encodings): what a registration must cost at the least, measured beside ours and the bare server.
//
// Usage: node bench/bare-server.js <port> <responses-dir> [--keep-registrations]
//   <responses-dir>/responses.json: { "<shape>": { "status": 200, "headers": {...}, "file": "<shape>.bin" }, ... }
//   shapes: register (POST), heartbeat (PUT), fullJson, fullGzip, fullXml (GET /eureka/apps), delta (GET /eureka/apps/delta)
const http = require('node:http');
// The same process-wide remedy as our server's (held while it runs): one of Node's tick objects, without which a
// collection may drop the shape V8 recorded for them and every nextTick after it costs several times as much
// (src/scheduling/tick-shape.ts). The baseline is then what a bare server does at its best, not on a bad draw.
require(require('node:path').join(__dirname, '..', 'dist', 'scheduling', 'tick-shape.js')).holdTickShape();
const fs = require('node:fs');
const path = require('node:path');

const [port, dir] = [Number(process.argv[2]), process.argv[3]];
const keepRegistrations = process.argv[4] === '--keep-registrations';
if (!port || !dir || (process.argv[4] !== undefined && !keepRegistrations)) {
  console.error('usage: node bench/bare-server.js <port> <responses-dir> [--keep-registrations]');
  process.exit(2);
}
/** @type {Map<string, Map<string, object>>} the kept instances by application and id (--keep-registrations) */
const kept = new Map();
/** Parses a registration body and keeps its instance; a body that is not one is answered all the same. */
function keep(/** @type {Buffer[]} */ chunks) {
  try {
    const instance = JSON.parse((chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8')).instance;
    let app = kept.get(instance.app);
    if (app === undefined) kept.set(instance.app, (app = new Map()));
    app.set(instance.instanceId, { instance, lastRenewalTimestamp: Date.now() });
  } catch {
    // answered as any other: this server measures cost, not correctness
  }
}

/** @typedef {[number, string[], Buffer]} Reply status, headers as a flat array, body */
/**
 * A shape's Reply, read from the captures when first asked for: the benchmark captures a shape just before measuring
 * it, while this server already runs. A shape not captured yet answers 404 (and is looked for again next time: the
 * start-up probe asks for the delta long before it is captured).
 * @returns {Reply | undefined}
 */
const load = (shape) => {
  const s = JSON.parse(fs.readFileSync(path.join(dir, 'responses.json'), 'utf8'))[shape];
  if (!s) return undefined;
  const body = fs.readFileSync(path.join(dir, s.file));
  const headers = [];
  for (const [k, v] of Object.entries(s.headers)) headers.push(k, v);
  headers.push('content-length', String(body.length));
  return /** @type {Reply} */ ([s.status, headers, body]);
};
/** @type {Reply | undefined} */ let register;
/** @type {Reply | undefined} */ let heartbeat;
/** @type {Reply | undefined} */ let fullJson;
/** @type {Reply | undefined} */ let fullGzip;
/** @type {Reply | undefined} */ let fullXml;
/** @type {Reply | undefined} */ let delta;
const notFound = /** @type {Reply} */ ([404, ['content-length', '0'], Buffer.alloc(0)]);

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
    case 'POST': // registration: read the body as any server must (and keep it, as a registry must), then answer
      if (keepRegistrations) {
        /** @type {Buffer[]} */ const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          keep(chunks);
          reply(res, (register ??= load('register')) ?? notFound);
        });
        return;
      }
      req.on('end', () => reply(res, (register ??= load('register')) ?? notFound));
      req.resume();
      return;
    case 'PUT': // heartbeat
      return reply(res, (heartbeat ??= load('heartbeat')) ?? notFound);
    case 'GET':
      switch (req.url) {
        case '/eureka/apps': {
          const json = (req.headers.accept || '').includes('json');
          const gzip = (req.headers['accept-encoding'] || '').includes('gzip');
          return reply(res, !json ? (fullXml ??= load('fullXml')) ?? notFound : gzip ? (fullGzip ??= load('fullGzip')) ?? notFound : (fullJson ??= load('fullJson')) ?? notFound);
        }
        case '/eureka/apps/delta':
          return reply(res, (delta ??= load('delta')) ?? notFound);
      }
  }
  reply(res, notFound);
});
// Same keep-alive behaviour as a typical server: keep idle connections for the duration of a run.
server.keepAliveTimeout = 65000;
server.listen(port, '127.0.0.1');

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// run.js starts this with `-r bench/orphan-guard.js`, as it does our server, so it never outlives the harness.
