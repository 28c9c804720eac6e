'use strict';
// Memory held per change in the delta log: registers and cancels N instances with realistic ~1 KB JSON bodies
// through the path a registration takes (body bytes → text → decode → validate → register; cancel), optionally
// serving the delta in JSON and XML every few changes as polling clients make the server do, then forces a
// collection and reports heap + external bytes per delta entry held.
//
// Usage: npm run build --silent && node --expose-gc bench/delta-memory.js [N] [--no-fetch | --json] [--keep] [--big] [--xml]
//   N          changes to hold (default 20,000)
//   --no-fetch do not serve the delta while churning (no cached encodings)
//   --json     serve the delta in JSON only (XML too by default)
//   --keep     register only, no cancels: leases and ADDED entries held instead of DELETED ones
//   --big      bodies near the default maxBodyBytes (100 metadata entries of 500 characters)
//   --xml      register with XML bodies (as Java clients configured for XML send them) instead of JSON
const path = require('node:path');
const { registrationBody, instanceRef } = require('./instances');

const dist = (p) => require(path.join(__dirname, '..', 'dist', p));
const { ManualClock } = dist('domain/clock');
const { Registry } = dist('domain/registry');
const { validateRegistration } = dist('domain/registration');
const { CODECS } = dist('codecs/documents');
const { decodeDefaults } = dist('codecs/instance-decoder');
const { ResponseCache } = dist('http/payloads/response-cache');
const { defaultSettings } = dist('config/settings');

if (typeof global.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}

const args = process.argv.slice(2);
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 20000);
const fetch = !args.includes('--no-fetch');
const fetchFormats = args.includes('--json') ? ['json'] : ['json', 'xml'];
const keep = args.includes('--keep');
const xml = args.includes('--xml');
const big = args.includes('--big');
const FETCH_EVERY = 500;

const s = defaultSettings();
const limits = {
  maxNameLength: s.maxNameLength,
  maxMetadataEntries: s.maxMetadataEntries,
  maxVipAddresses: s.maxVipAddresses,
  defaultRenewalIntervalSecs: s.leaseRenewalIntervalSecs,
  defaultDurationSecs: s.leaseDurationSecs,
};

function measure() {
  /** @type {() => void} */ (global.gc)();
  /** @type {() => void} */ (global.gc)();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external };
}

const clock = new ManualClock(1_700_000_000_000);
// Retention longer than the run and no byte budget: every change stays held.
const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 3_600_000, maxInstancesPerApp: 1_000_000 });
let cache = new ResponseCache(registry, clock, { maxStalenessMs: 0, maxNamedBytes: s.responseCacheMaxBytes, serverId: 'bench' });
const perApp = 100;
const refs = Array.from({ length: n }, (_, i) => instanceRef(Math.floor(i / perApp), i % perApp, perApp));
// Bodies arrive as bytes; built up front so they are not counted. XML bodies are the JSON ones as this server
// encodes them, which is the shape Java clients send.
const format = xml ? 'xml' : 'json';
const bodies = refs.map((ref) => {
  let json = registrationBody(ref, { now: clock.now() });
  if (big) {
    const body = JSON.parse(json);
    for (let k = 0; k < 100; k++) body.instance.metadata[`key-${k}`] = `${ref.index}-${k}-`.padEnd(500, 'x');
    json = JSON.stringify(body);
  }
  if (!xml) return Buffer.from(json);
  const scratch = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 1000, maxInstancesPerApp: 1 });
  const decoded = CODECS.json.decodeInstance(json, decodeDefaults(limits, clock.now()));
  const valid = validateRegistration(decoded, ref.app, limits);
  if ('error' in valid) throw new Error(valid.error);
  return Buffer.from(CODECS.xml.instance(scratch.register(valid.ok).view));
});

const before = measure();
const started = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  const text = bodies[i].toString('utf8');
  const decoded = CODECS[format].decodeInstance(text, decodeDefaults(limits, clock.now()));
  const valid = validateRegistration(decoded, refs[i].app, limits);
  if ('error' in valid) throw new Error(valid.error);
  registry.register(valid.ok);
  if (!keep) registry.cancel(refs[i].app, refs[i].id);
  clock.advance(1);
  if (fetch && i % FETCH_EVERY === FETCH_EVERY - 1) {
    for (const f of fetchFormats) cache.get('delta', '', f, false);
  }
}
const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
// The cached delta payloads are the response cache's, not what the log holds per change: dropped before measuring.
cache = undefined;
const after = measure();
const held = registry.deltaSize;
const heap = after.heap - before.heap;
const external = after.external - before.external;
const bodyBytes = bodies.reduce((sum, b) => sum + b.length, 0) / n;
const perEntry = (heap + external) / held;
console.log(
  JSON.stringify(
    {
      changes: n,
      mode: keep ? 'register' : 'register+cancel',
      bodies: format,
      deltaFetches: fetch ? fetchFormats.join('+') : 'none',
      deltaEntries: held,
      bodyBytes: Math.round(bodyBytes),
      heapBytes: heap,
      externalBytes: external,
      bytesPerEntry: Math.round(perEntry),
      estimatedBytesPerEntry: Math.round(registry.deltaBytes / held),
      // Delta builds included.
      changesPerSec: Math.round((n * (keep ? 1 : 2)) / (elapsedMs / 1000)),
    },
    null,
    2,
  ),
);
// Keeps the registry (and its delta log) alive until after the measurement.
if (registry.size < 0) console.log(registry.revision);
