'use strict';
// Event-loop cost of "one change, then the next full fetch" at fleet scale: the full registry rebuilt from scratch as
// the response cache did before segments (encode every record's cached fragments into one buffer, gzip the whole
// on the thread pool) against the segment cache (re-encode the changed application's segment, recompress it, write
// the segments as a list of buffers). Each fetch goes over a real socket to a client in another process that reads
// and discards, so writing is counted too.
//
// Usage: npm run build --silent && node bench/segment-rebuild.js [perApp ...]   (default: 100 250)
//   BENCH_APPS   applications (default 1000)
//   BENCH_ROUNDS changes (each followed by one fetch) per variant and shape, medians and the slowest reported (default 11)
//
// Per shape (format × plain/gzip) it reports, for before and after: `build` — event-loop time from the change until
// the payload is ready; `served` — event-loop time until the response was handed to the socket in full (this
// includes the kernel copying the body into the socket, the same cost for both); `wall` — until the client had the
// last byte. Event-loop time is performance.eventLoopUtilization's active time: all JavaScript and I/O callbacks,
// not the thread pool's compression.
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { promisify } = require('node:util');
const { gzip } = require('node:zlib');
const { performance } = require('node:perf_hooks');
const { instanceRef, registrationBody } = require('./instances');
const { num } = require('./env');

const dist = (p) => require(path.join(__dirname, '..', 'dist', p));
const { ManualClock } = dist('domain/clock');
const { Registry } = dist('domain/registry');
const { validateRegistration } = dist('domain/registration');
const { CODECS } = dist('codecs/documents');
const { decodeDefaults } = dist('codecs/instance-decoder');
const { ResponseCache } = dist('http/payloads/response-cache');
const { writeParts } = dist('http/body');
const { defaultSettings } = dist('config/settings');

const gzipAsync = promisify(gzip);
const APPS = num('BENCH_APPS', 1000);
const ROUNDS = num('BENCH_ROUNDS', 11);
const perApps = process.argv.slice(2).map(Number).filter((n) => n > 0);
/** @type {{ format: 'json' | 'xml', gzipped: boolean }[]} */
const SHAPES = [
  { format: 'json', gzipped: false },
  { format: 'json', gzipped: true },
  { format: 'xml', gzipped: false },
  { format: 'xml', gzipped: true },
];

const s = defaultSettings();
const limits = {
  maxNameLength: s.maxNameLength,
  maxMetadataEntries: s.maxMetadataEntries,
  maxVipAddresses: s.maxVipAddresses,
  defaultRenewalIntervalSecs: s.leaseRenewalIntervalSecs,
  defaultDurationSecs: s.leaseDurationSecs,
};

/**
 * Registers an instance from its registration body, the path a client's registration takes.
 * @param {any} registry
 * @param {any} clock
 * @param {import('./instances').InstanceRef} ref
 * @param {string} version
 */
function register(registry, clock, ref, version) {
  const decoded = CODECS.json.decodeInstance(registrationBody(ref, { now: clock.now(), version }), decodeDefaults(limits, clock.now()));
  const valid = validateRegistration(decoded, ref.app, limits);
  if ('error' in valid) throw new Error(valid.error);
  registry.register(valid.ok);
}

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** @param {number} ms */
const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
/** @param {number} bytes */
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/**
 * The full registry as the response cache built it before segments: one buffer per revision and format, its gzip
 * compressed on the thread pool.
 * @param {any} registry
 */
function fromScratchCache(registry) {
  /** @type {Map<string, { revision: number, body: Buffer, gzip?: Promise<Buffer> }>} */
  const entries = new Map();
  return {
    /**
     * @param {'json' | 'xml'} format
     * @param {boolean} gzipped
     * @returns {Buffer | Promise<Buffer>}
     */
    get(format, gzipped) {
      let entry = entries.get(format);
      if (entry === undefined || entry.revision !== registry.revision) {
        const body = CODECS[format].applications(registry.applications(), 1, registry.hashcode()).toBuffer();
        entry = { revision: registry.revision, body };
        entries.set(format, entry);
      }
      if (!gzipped) return entry.body;
      return (entry.gzip ??= gzipAsync(entry.body));
    },
  };
}

async function main() {
  const results = [];
  for (const perApp of perApps.length > 0 ? perApps : [100, 250]) {
    const clock = new ManualClock(1_700_000_000_000);
    const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 100_000 });
    const refs = [];
    for (let a = 0; a < APPS; a++) for (let n = 0; n < perApp; n++) refs.push(instanceRef(a, n, perApp));
    for (const ref of refs) register(registry, clock, ref, '1.0.0');
    const before = fromScratchCache(registry);
    const after = new ResponseCache(registry, clock, { maxStalenessMs: 0, maxNamedBytes: s.responseCacheMaxBytes, serverId: 'bench' });
    /** @type {{ variant: string, format: 'json' | 'xml', gzipped: boolean }} */
    let next = { variant: 'before', format: 'json', gzipped: false };
    /** @type {(m: { readyActive: number, servedActive: number, bytes: number }) => void} */
    let served = () => undefined;
    /** @type {import('node:perf_hooks').EventLoopUtilization} */
    let elu0 = performance.eventLoopUtilization();

    const server = http.createServer((req, res) => {
      req.resume();
      const { variant, format, gzipped } = next;
      const finish = (/** @type {number} */ bytes) => {
        const readyActive = performance.eventLoopUtilization(elu0).active;
        res.on('finish', () => served({ readyActive, servedActive: performance.eventLoopUtilization(elu0).active, bytes }));
      };
      const headers = { 'content-type': format === 'json' ? 'application/json' : 'application/xml', ...(gzipped && { 'content-encoding': 'gzip' }) };
      if (variant === 'before') {
        const body = before.get(format, gzipped);
        const send = (/** @type {Buffer} */ b) => {
          finish(b.length);
          res.writeHead(200, { ...headers, 'content-length': b.length });
          res.end(b);
        };
        if (body instanceof Promise) body.then(send);
        else send(body);
        return;
      }
      const payload = after.get('apps', '', format, gzipped);
      const send = (/** @type {any} */ p) => {
        finish(p.bytes);
        res.writeHead(200, p.reply.headers);
        writeParts(res, p.body);
        res.end();
      };
      if (payload instanceof Promise) payload.then(send);
      else send(payload);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
    const port = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
    // The client: one keep-alive connection, a GET per line on stdin, a line back once the body is read.
    const client = spawn(
      process.execPath,
      [
        '-e',
        `const http = require('node:http');
         const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
         require('node:readline').createInterface({ input: process.stdin }).on('line', () => {
           http.get({ host: '127.0.0.1', port: ${port}, path: '/eureka/apps', agent }, (res) => {
             let n = 0;
             res.on('data', (c) => (n += c.length));
             res.on('end', () => process.stdout.write(n + '\\n'));
           });
         });`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines = require('node:readline').createInterface({ input: /** @type {import('node:stream').Readable} */ (client.stdout) });
    /** @type {((line: string) => void)[]} */
    const waiting = [];
    lines.on('line', (line) => waiting.shift()?.(line));

    /**
     * One change (or none), then one fetch: event-loop active ms until ready and until served, wall ms.
     * @param {string} variant
     * @param {{ format: 'json' | 'xml', gzipped: boolean }} shape
     * @param {boolean} change
     */
    const round = async (variant, shape, change) => {
      next = { variant, ...shape };
      const received = new Promise((resolve) => waiting.push(resolve));
      const done = new Promise((resolve) => (served = resolve));
      const t0 = performance.now();
      elu0 = performance.eventLoopUtilization();
      if (change) {
        // A real content change in a random application: a re-registration with another version.
        const ref = refs[Math.floor(Math.random() * refs.length)];
        clock.advance(1000);
        register(registry, clock, ref, `1.0.${Math.floor(Math.random() * 1e6)}`);
      }
      /** @type {NodeJS.WritableStream} */ (client.stdin).write('GET\n');
      const m = /** @type {{ readyActive: number, servedActive: number, bytes: number }} */ (await done);
      await received;
      return { ready: m.readyActive, served: m.servedActive, wall: performance.now() - t0, bytes: m.bytes };
    };

    // The segment cache's rounds first, every shape, then the from-scratch builds': these keep every record's
    // encoding (about 300 MB of JSON and 400 MB of XML at 250,000 instances) and leave hundreds of MB of garbage a
    // round, and measured after them the segment cache's rounds paid for collecting that heap (gzip medians of 24-28 ms
    // in two runs of four instead of 4-9: full collections of the 715 MB-1.1 GB heap fell in its rounds).
    const rows = SHAPES.map((shape) => ({ instances: APPS * perApp, format: shape.format, gzip: shape.gzipped, before: {}, after: {} }));
    for (const variant of ['after', 'before']) {
      for (const [i, shape] of SHAPES.entries()) {
        // The first fetch of a shape builds what nothing has yet (every segment, a gzip): not what a change costs.
        await round(variant, shape, false);
        const rounds = [];
        for (let r = 0; r < ROUNDS; r++) rounds.push(await round(variant, shape, true));
        /** @type {any} */ (rows[i])[variant] = {
          buildMs: median(rounds.map((x) => x.ready)),
          buildMaxMs: Math.max(...rounds.map((x) => x.ready)),
          servedMs: median(rounds.map((x) => x.served)),
          wallMs: median(rounds.map((x) => x.wall)),
          bytes: rounds[rounds.length - 1].bytes,
        };
      }
    }
    for (const row of rows) {
      results.push(row);
      const b = /** @type {any} */ (row.before);
      const a = /** @type {any} */ (row.after);
      console.error(
        `${row.instances} ${row.format}${row.gzip ? '+gzip' : ''}: build ${fmt(b.buildMs)} → ${fmt(a.buildMs)} ms (slowest of ${ROUNDS} changes ${fmt(a.buildMaxMs)}), served ${fmt(b.servedMs)} → ${fmt(a.servedMs)} ms, wall ${fmt(b.wallMs)} → ${fmt(a.wallMs)} ms, ${mb(b.bytes)} → ${mb(a.bytes)}`,
      );
    }
    const fullBytes = results.filter((r) => r.instances === APPS * perApp).reduce((n, r) => n + /** @type {any} */ (r.before).bytes, 0);
    console.error(`${APPS * perApp}: segment cache holds ${mb(after.stats.bytes)} (the four whole payloads: ${mb(fullBytes)})`);
    client.kill();
    after.close();
    await new Promise((resolve) => server.close(() => resolve(undefined)));
  }

  console.log('| instances | shape | before: build / served / wall (ms) | after: build / served / wall (ms) | after: slowest build (ms) | body before → after |');
  console.log('|--:|---|--:|--:|--:|--:|');
  for (const r of results) {
    const b = /** @type {any} */ (r.before);
    const a = /** @type {any} */ (r.after);
    console.log(
      `| ${r.instances.toLocaleString('en-US')} | ${r.format}${r.gzip ? ' gzip' : ''} | ${fmt(b.buildMs)} / ${fmt(b.servedMs)} / ${fmt(b.wallMs)} | ${fmt(a.buildMs)} / ${fmt(a.servedMs)} / ${fmt(a.wallMs)} | ${fmt(a.buildMaxMs)} | ${mb(b.bytes)} → ${mb(a.bytes)} |`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
