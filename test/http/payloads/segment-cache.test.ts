// The full registry and the delta assembled from per-application segments: under random changes and reads each is byte
// for byte the document a from-scratch encoding gives (JSON and XML), its gzip variant decompresses to it, ETags move with the
// content only, renewal times age out within their bound, and the bytes it holds are counted and released.
import { createHash } from 'node:crypto';
import { constants as zlibConstants, deflateRawSync, gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { CODECS } from '../../../src/codecs/documents';
import { Pieces } from '../../../src/codecs/record-fragments';
import { Format } from '../../../src/codecs/negotiate';
import { ManualClock } from '../../../src/domain/clock';
import { InstanceStatus, InstanceView } from '../../../src/domain/model';
import { Registry } from '../../../src/domain/registry';
import { Payload, ResponseCache } from '../../../src/http/payloads/response-cache';
import { fullRegistrySource } from '../../../src/http/payloads/segment-sources';
import { BURST_QUIET_MS, BURST_CHANGES, PLAIN_KEEP_MS, SegmentCache, SegmentCacheOptions, SegmentedDocument } from '../../../src/http/payloads/segment-cache';
import { JoiningOptions, ONE_BUFFER_MAX_BYTES, RUN_BYTES } from '../../../src/http/payloads/joined-runs';
import { makeInstance } from '../../helpers/instances';

const T0 = 1_700_000_000_000;
const FORMATS: readonly Format[] = ['json', 'xml'];
const APPS = ['A', 'B', 'C', 'D', 'E'];
const IDS = ['i0', 'i1', 'i2', 'i3'];
const STATUSES: readonly InstanceStatus[] = ['UP', 'DOWN', 'STARTING', 'OUT_OF_SERVICE'];
// Text that is not ASCII or needs escaping, so that sizes and escapes are exercised.
const TEXTS = ['plain', 'é€ü', '<&>"\'', 'a,b]}'];

type Op =
  | { readonly kind: 'register'; readonly app: string; readonly id: string; readonly status: InstanceStatus; readonly text: string; readonly later: boolean }
  | { readonly kind: 'cancel' | 'evict' | 'deleteOverride'; readonly app: string; readonly id: string }
  | { readonly kind: 'status'; readonly app: string; readonly id: string; readonly status: InstanceStatus }
  | { readonly kind: 'metadata'; readonly app: string; readonly id: string; readonly text: string }
  | { readonly kind: 'heartbeat'; readonly app: string; readonly id: string; readonly carried?: InstanceStatus }
  | { readonly kind: 'read'; readonly format: Format; readonly gzipped: boolean };

const app = fc.constantFrom(...APPS);
const id = fc.constantFrom(...IDS);
const status = fc.constantFrom(...STATUSES);
const text = fc.constantFrom(...TEXTS);
const changes: fc.Arbitrary<Op>[] = [
  fc.record({ kind: fc.constant('register' as const), app, id, status, text, later: fc.boolean() }),
  fc.record({ kind: fc.constantFrom('cancel' as const, 'evict' as const, 'deleteOverride' as const), app, id }),
  fc.record({ kind: fc.constant('status' as const), app, id, status }),
  fc.record({ kind: fc.constant('metadata' as const), app, id, text }),
];
const read = fc.record({ kind: fc.constant('read' as const), format: fc.constantFrom(...FORMATS), gzipped: fc.boolean() });
const heartbeat = fc.record({ kind: fc.constant('heartbeat' as const), app, id, carried: fc.constantFrom<InstanceStatus | undefined>(undefined, 'OUT_OF_SERVICE') });

// Pieces served as they are (no joining), so that what the segments hold is what a read sees; see 'joining'.
function setup(segments: SegmentCacheOptions, joining: JoiningOptions = { runBytes: 0, oneBufferMaxBytes: 0 }): { registry: Registry; clock: ManualClock; cache: ResponseCache } {
  const clock = new ManualClock(T0);
  const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 100 });
  return { registry, clock, cache: new ResponseCache(registry, clock, { maxStalenessMs: 0, maxNamedBytes: 1 << 20, serverId: 'test', segments, joining }) };
}

function apply(registry: Registry, clock: ManualClock, op: Op): void {
  switch (op.kind) {
    case 'register':
      if (op.later) clock.advance(1000);
      registry.register(makeInstance({ app: op.app, id: op.id, status: op.status, hostName: `${op.id}.${op.text}`, metadata: op.text === 'plain' ? {} : { note: op.text } }));
      return;
    case 'cancel':
      registry.cancel(op.app, op.id);
      return;
    case 'evict':
      registry.evict(op.app, op.id);
      return;
    case 'deleteOverride':
      // Without an override it only renews the lease (as Eureka does): a heartbeat, which the properties with
      // heartbeats cover; here only the removal of an override is a change.
      if (registry.statusOverrides().has(`${op.app}/${op.id}`)) registry.deleteStatusOverride(op.app, op.id, undefined, undefined);
      return;
    case 'status':
      registry.statusUpdate(op.app, op.id, op.status, undefined);
      return;
    case 'metadata':
      registry.updateMetadata(op.app, op.id, { [`k-${op.text}`]: op.text });
      return;
    case 'heartbeat':
      clock.advance(7_000);
      registry.renew(op.app, op.id, { isReplication: op.carried !== undefined, overriddenStatus: op.carried });
      return;
    case 'read':
      return;
  }
}

const fromScratch = (registry: Registry, format: Format): Buffer => CODECS[format].applications(registry.applications(), 1, registry.hashcode()).toBuffer();

const joined = (body: Buffer | readonly Buffer[]): Buffer => (Buffer.isBuffer(body) ? body : Buffer.concat(body));

async function fetch(cache: ResponseCache, format: Format, gzipped: boolean): Promise<Payload> {
  const p = cache.get('apps', '', format, gzipped);
  if (p === undefined) throw new Error('no full registry');
  return p;
}

async function plainOf(cache: ResponseCache, format: Format, gzipped: boolean): Promise<{ payload: Payload; plain: Buffer }> {
  const payload = await fetch(cache, format, gzipped);
  const body = joined(payload.body);
  expect(body.length).toBe(payload.bytes);
  expect(payload.reply.headers?.['content-length']).toBe(body.length);
  return { payload, plain: gzipped ? gunzipSync(body) : body };
}

// A document's plain parts, which must be held (not waiting to be inflated).
function partsOf(document: SegmentedDocument, now: number): readonly Buffer[] {
  const body = document.plain(now);
  if (body instanceof Promise) throw new Error('plain bytes not held');
  return body.parts;
}

// lastRenewalTimestamp values, blanked so documents can be compared apart from them.
const RENEWALS = /("lastRenewalTimestamp":|<lastRenewalTimestamp>)(\d+)/g;
const blanked = (doc: Buffer): string => doc.toString('utf8').replace(RENEWALS, '$1_');
const renewals = (doc: Buffer): number[] => [...doc.toString('utf8').matchAll(RENEWALS)].map((m) => Number(m[2]));

describe('SegmentCache', () => {
  describe('document', () => {
    it('is byte for byte the from-scratch document after any changes, in JSON and XML, plain and gzip', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.oneof(...changes, read, read), { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom(0, PLAIN_KEEP_MS), async (ops, segmentInstances, plainKeepMs) => {
          const { registry, clock, cache } = setup({ segmentInstances, plainKeepMs, shedMinBytes: 0 });
          const seen = new Map<string, Buffer>();
          const last = new Map<string, { etag: string; revision: number }>();
          try {
            for (const op of [...ops, { kind: 'read', format: 'json', gzipped: true } as const, { kind: 'read', format: 'xml', gzipped: false } as const]) {
              apply(registry, clock, op);
              if (op.kind !== 'read') continue;
              const { payload, plain } = await plainOf(cache, op.format, op.gzipped);
              expect(plain.equals(fromScratch(registry, op.format))).toBe(true);
              // An ETag names one content; it moves with every revision.
              const known = seen.get(payload.etag);
              if (known) expect(known.equals(plain)).toBe(true);
              seen.set(payload.etag, plain);
              const key = `${op.format}-${op.gzipped}`;
              const before = last.get(key);
              if (before && before.revision !== registry.revision) expect(payload.etag).not.toBe(before.etag);
              if (before && before.revision === registry.revision) expect(payload.etag).toBe(before.etag);
              last.set(key, { etag: payload.etag, revision: registry.revision });
            }
            // Nothing stays counted once every application left.
            for (const a of APPS) for (const i of IDS) registry.cancel(a, i);
            for (const format of FORMATS) for (const gzipped of [false, true]) await fetch(cache, format, gzipped);
            expect(cache.stats.bytes).toBe(0);
          } finally {
            cache.close();
          }
        }),
        { numRuns: 300 },
      );
    });

    it('differs from the from-scratch document only in renewal times, never newer than the lease, and not past their bound', async () => {
      const maxAgeMs = 60_000;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.oneof(...changes, heartbeat, heartbeat, read), { minLength: 1, maxLength: 60 }), async (ops) => {
          const { registry, clock, cache } = setup({ segmentInstances: 2, renewalMaxAgeMs: maxAgeMs, plainKeepMs: 0, shedMinBytes: 0 });
          try {
            for (const op of ops) {
              apply(registry, clock, op);
              if (op.kind !== 'read') continue;
              const { plain } = await plainOf(cache, op.format, op.gzipped);
              const expected = fromScratch(registry, op.format);
              expect(blanked(plain)).toBe(blanked(expected));
              renewals(plain).forEach((shown, i) => expect(shown).toBeLessThanOrEqual(renewals(expected)[i]));
            }
            // Every segment is past its age now: all are encoded again (within the per-read budget), as from scratch.
            clock.advance(maxAgeMs);
            for (const format of FORMATS) expect((await plainOf(cache, format, true)).plain.equals(fromScratch(registry, format))).toBe(true);
          } finally {
            cache.close();
          }
        }),
        { numRuns: 200 },
      );
    });

    it('is byte for byte the from-scratch delta after any changes, heartbeats and aging, in JSON and XML, plain and gzip', async () => {
      const age = fc.record({ kind: fc.constant('age' as const), ms: fc.constantFrom(1_000, 30_000, 90_000) });
      await fc.assert(
        fc.asyncProperty(fc.array(fc.oneof(...changes, heartbeat, age, read, read), { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom(0, PLAIN_KEEP_MS), async (ops, segmentInstances, plainKeepMs) => {
          const { registry, clock, cache } = setup({ segmentInstances, plainKeepMs, shedMinBytes: 0 });
          const seen = new Map<string, Buffer>();
          try {
            for (const op of [...ops, { kind: 'read', format: 'json', gzipped: true } as const, { kind: 'read', format: 'xml', gzipped: false } as const]) {
              if (op.kind === 'age') clock.advance(op.ms);
              else apply(registry, clock, op);
              if (op.kind !== 'read') continue;
              const p = await cache.get('delta', '', op.format, op.gzipped);
              if (p === undefined) throw new Error('no delta');
              const body = joined(p.body);
              expect(body.length).toBe(p.bytes);
              const plain = op.gzipped ? gunzipSync(body) : body;
              // The log's changes in time order, grouped by application in the log's order of applications.
              const changed = registry.deltaChanges(clock.now());
              const apps = new Map<string, InstanceView[]>();
              for (const app of registry.deltaApplicationNames()) apps.set(app, changed.filter((v) => v.record.instance.app === app));
              expect([...apps.values()].flat()).toHaveLength(changed.length);
              expect(plain.equals(CODECS[op.format].applications(apps, registry.revision, registry.hashcode()).toBuffer())).toBe(true);
              const known = seen.get(`${p.etag}`);
              if (known) expect(known.equals(plain)).toBe(true);
              seen.set(p.etag, plain);
            }
            // Nothing stays counted once every change aged out.
            clock.advance(181_000);
            for (const format of FORMATS) for (const gzipped of [false, true]) await cache.get('delta', '', format, gzipped);
            for (const a of APPS) for (const i of IDS) registry.cancel(a, i);
            clock.advance(181_000);
            for (const format of FORMATS) for (const gzipped of [false, true]) {
              await cache.get('apps', '', format, gzipped);
              await cache.get('delta', '', format, gzipped);
            }
            expect(cache.stats.bytes).toBe(0);
          } finally {
            cache.close();
          }
        }),
        { numRuns: 300 },
      );
    });

    it('keeps the same document across heartbeats within the age bound', () => {
      const { registry, clock } = setup({});
      registry.register(makeInstance({ id: 'a' }));
      const segments = new SegmentCache(fullRegistrySource(registry));
      const first = segments.document('json', clock.now());
      clock.advance(30_000);
      registry.renew('ORDERS', 'a', { isReplication: false });
      expect(segments.document('json', clock.now())).toBe(first);
      segments.close();
    });

    it('encodes only the segment of the changed application', () => {
      const { registry, clock } = setup({});
      for (const a of APPS) for (const i of IDS) registry.register(makeInstance({ app: a, id: i }));
      const segments = new SegmentCache(fullRegistrySource(registry), { segmentInstances: IDS.length });
      const before = partsOf(segments.document('xml', clock.now()), clock.now());
      registry.updateMetadata('C', 'i1', { zone: 'b' });
      const after = partsOf(segments.document('xml', clock.now()), clock.now());
      expect(after).toHaveLength(before.length);
      const changed = after.map((part, n) => part !== before[n]);
      // Of the segments between head and tail, only C's.
      expect(changed.slice(1, -1)).toEqual(APPS.map((a) => a === 'C'));
      segments.close();
    });

    it('puts an application that emptied and came back last, as the registry lists it', () => {
      const { registry, clock } = setup({});
      for (const a of ['A', 'B', 'C']) registry.register(makeInstance({ app: a, id: 'x' }));
      const segments = new SegmentCache(fullRegistrySource(registry), { segmentInstances: 2 });
      segments.document('xml', clock.now());
      registry.cancel('A', 'x');
      registry.register(makeInstance({ app: 'A', id: 'y' }));
      expect(Buffer.concat(partsOf(segments.document('xml', clock.now()), clock.now())).equals(fromScratch(registry, 'xml'))).toBe(true);
      expect([...registry.applications()].map(([name]) => name)).toEqual(['B', 'C', 'A']);
      segments.close();
    });

    it('splits a shared segment whose applications grew past twice its size', () => {
      const { registry, clock } = setup({});
      for (const a of ['A', 'B']) registry.register(makeInstance({ app: a, id: 'x' }));
      const segments = new SegmentCache(fullRegistrySource(registry), { segmentInstances: 2 });
      expect(partsOf(segments.document('json', clock.now()), clock.now())).toHaveLength(3);
      for (const i of IDS) registry.register(makeInstance({ app: 'A', id: i }));
      const parts = partsOf(segments.document('json', clock.now()), clock.now());
      // Head, A's five instances in parts of two, B, tail.
      expect(parts).toHaveLength(6);
      expect(Buffer.concat(parts).equals(fromScratch(registry, 'json'))).toBe(true);
      segments.close();
    });

    it('refreshes aged segments within the per-read budget, the rest on later reads', () => {
      const { registry, clock } = setup({});
      for (const a of APPS) registry.register(makeInstance({ app: a, id: 'x' }));
      const segments = new SegmentCache(fullRegistrySource(registry), { segmentInstances: 1, renewalMaxAgeMs: 1000, renewalRefreshInstances: 2 });
      segments.document('json', clock.now());
      clock.advance(5000);
      for (const a of APPS) registry.renew(a, 'x', { isReplication: false });
      const fresh = (): number => renewals(Buffer.concat(partsOf(segments.document('json', clock.now()), clock.now()))).filter((t) => t === clock.now()).length;
      expect(fresh()).toBe(2);
      expect(fresh()).toBe(4);
      expect(fresh()).toBe(5);
      const settled = segments.document('json', clock.now());
      expect(segments.document('json', clock.now())).toBe(settled);
      segments.close();
    });

    it('compresses segments past 16 KB off the event loop into one gzip member', async () => {
      // Segments of 100 and 200 instances, each far over 16 KB.
      const { registry, clock, cache } = setup({ segmentInstances: 200 });
      for (let n = 0; n < 300; n++) registry.register(makeInstance({ app: `APP-${n % 3}`, id: `i-${n}`, metadata: { pad: 'p'.repeat(400) } }));
      for (let n = 0; n < 40; n++) registry.register(makeInstance({ app: `SMALL-${n}`, id: 'x' }));
      const first = cache.get('apps', '', 'xml', true);
      expect(first).toBeInstanceOf(Promise);
      const zipped = joined((await fetch(cache, 'xml', true)).body);
      expect(gunzipSync(zipped).equals(fromScratch(registry, 'xml'))).toBe(true);
      // One member: the header once.
      expect(zipped.indexOf(Buffer.from([0x1f, 0x8b, 0x08]), 1)).toBe(-1);
      registry.cancel('APP-1', 'i-1');
      clock.advance(1);
      expect(gunzipSync(joined((await fetch(cache, 'xml', true)).body)).equals(fromScratch(registry, 'xml'))).toBe(true);
      cache.close();
    });
  });

  describe('memory', () => {
    // A kept slice of Node's shared pool slab or of zlib's working chunk would keep the whole of it alive.
    const owns = (b: Buffer, lead = 0): boolean => b.byteOffset <= lead && b.buffer.byteLength <= b.length + lead;

    it('keeps every segment and DEFLATE piece in memory of its own, compressed inline or off the event loop', async () => {
      const { registry, clock } = setup({});
      // Small segments (compressed inline) and one application of 200 large instances (its parts off the event loop).
      for (const a of APPS) for (const i of IDS) registry.register(makeInstance({ app: a, id: i }));
      for (let n = 0; n < 200; n++) registry.register(makeInstance({ app: 'LARGE', id: `i-${n}`, metadata: { pad: 'p'.repeat(400) } }));
      const segments = new SegmentCache(fullRegistrySource(registry), { segmentInstances: 8 });
      for (const format of FORMATS) {
        registry.updateMetadata('C', 'i1', { zone: format });
        const document = segments.document(format, clock.now());
        const parts = partsOf(document, clock.now()).slice(1, -1);
        expect(parts.length).toBeGreaterThan(APPS.length);
        // The first segment is served without its leading separator.
        parts.forEach((part, n) => expect(owns(part, n === 0 ? 1 : 0)).toBe(true));
        const gzip = await document.gzip();
        gzip.parts.slice(1, -1).forEach((piece) => expect(owns(piece)).toBe(true));
        expect(gunzipSync(Buffer.concat(gzip.parts)).equals(fromScratch(registry, format))).toBe(true);
      }
      segments.close();
    });
  });

  describe('plain bytes', () => {
    it('are dropped once their pieces exist when no plain reader came lately, and inflated byte for byte for the next', async () => {
      const { registry, clock, cache } = setup({ segmentInstances: 50 }, {});
      for (let n = 0; n < 400; n++) registry.register(makeInstance({ app: `APP-${n % 4}`, id: `i-${n}`, metadata: { pad: `${n}`.repeat(100) } }));
      const plainBytes = fromScratch(registry, 'json').length;
      await fetch(cache, 'json', true);
      // Only the pieces, and the end of each segment that a piece after it is compressed against.
      const zippedOnly = cache.stats.bytes;
      expect(zippedOnly).toBeLessThan(plainBytes / 2);
      // A plain reader waits for them to be inflated off the event loop, then finds them held.
      const inflating = cache.get('apps', '', 'json', false);
      expect(inflating).toBeInstanceOf(Promise);
      expect(joined((await inflating)!.body).equals(fromScratch(registry, 'json'))).toBe(true);
      expect(cache.stats.bytes).toBeGreaterThan(plainBytes);
      // Changes and gzip reads within PLAIN_KEEP_MS of it keep them.
      registry.updateMetadata('APP-1', 'i-1', { pad: 'changed' });
      clock.advance(PLAIN_KEEP_MS - 1);
      expect(gunzipSync(joined((await fetch(cache, 'json', true)).body)).equals(fromScratch(registry, 'json'))).toBe(true);
      expect(cache.get('apps', '', 'json', false)).not.toBeInstanceOf(Promise);
      // Past it, the next gzip build drops them again; a change re-encodes its segment, which a plain reader then
      // finds held while the others are inflated.
      clock.advance(PLAIN_KEEP_MS);
      registry.updateMetadata('APP-2', 'i-2', { pad: 'changed again' });
      expect(gunzipSync(joined((await fetch(cache, 'json', true)).body)).equals(fromScratch(registry, 'json'))).toBe(true);
      expect(cache.stats.bytes).toBeLessThan(plainBytes / 2);
      expect(joined((await fetch(cache, 'json', false)).body).equals(fromScratch(registry, 'json'))).toBe(true);
      cache.close();
    });

    it('are kept through a burst of changes, and dropped once it is over', async () => {
      const { registry, clock, cache } = setup({ segmentInstances: 4 }, {});
      // Segments of four applications, each about 12 KB of JSON.
      for (let n = 0; n < 40; n++) registry.register(makeInstance({ app: `APP-${n}`, id: 'i-0', metadata: { pad: `${n}`.repeat(3000 / String(n).length) } }));
      await fetch(cache, 'json', true);
      const dropped = cache.stats.bytes;
      // A document laid out after more than BURST_CHANGES changed applications: the changed segments keep their plain bytes.
      for (let n = 0; n < 4 * (BURST_CHANGES + 1); n += 4) registry.register(makeInstance({ app: `APP-${n}`, id: 'i-1' }));
      clock.advance(1);
      await fetch(cache, 'json', true);
      const burst = cache.stats.bytes;
      expect(burst).toBeGreaterThan(dropped + (BURST_CHANGES + 1) * 6000);
      // A single change within BURST_QUIET_MS drops nothing; after it, the next document drops them.
      registry.register(makeInstance({ app: 'APP-1', id: 'i-1' }));
      clock.advance(BURST_QUIET_MS - 2);
      await fetch(cache, 'json', true);
      expect(cache.stats.bytes).toBeGreaterThanOrEqual(burst);
      registry.register(makeInstance({ app: 'APP-2', id: 'i-1' }));
      clock.advance(2);
      expect(gunzipSync(joined((await fetch(cache, 'json', true)).body)).equals(fromScratch(registry, 'json'))).toBe(true);
      expect(cache.stats.bytes).toBeLessThan(burst - (BURST_CHANGES + 1) * 6000);
      // As many changes while nobody read for a while (a registry filling up) are no burst.
      const quiet = cache.stats.bytes;
      clock.advance(5_000);
      for (let n = 0; n < 4 * (BURST_CHANGES + 1); n += 4) registry.register(makeInstance({ app: `APP-${n}`, id: 'i-2' }));
      await fetch(cache, 'json', true);
      expect(cache.stats.bytes).toBeLessThan(quiet + 6000);
      cache.close();
    });

    it('recompresses a piece after a change from its own inflated bytes when the segment before changed its end', async () => {
      const { registry, clock, cache } = setup({ segmentInstances: 6, plainKeepMs: 0, shedMinBytes: 0 });
      const register = (app: string, n: number, version: string): void =>
        void registry.register(makeInstance({ app, id: `i-${n}`, metadata: { pad: `${app}${n}`.repeat(300), version } }));
      for (const a of ['A', 'B', 'C']) for (let n = 0; n < 6; n++) register(a, n, 'v1');
      await fetch(cache, 'xml', true);
      // A's last instance: B's piece, whose plain bytes were dropped, is compressed again against A's new end.
      register('A', 5, 'v2');
      clock.advance(1);
      expect(gunzipSync(joined((await fetch(cache, 'xml', true)).body)).equals(fromScratch(registry, 'xml'))).toBe(true);
      // A first segment whose successor held only a piece after it: B comes first once A leaves.
      for (let n = 0; n < 6; n++) registry.cancel('A', `i-${n}`);
      clock.advance(1);
      expect(gunzipSync(joined((await fetch(cache, 'xml', true)).body)).equals(fromScratch(registry, 'xml'))).toBe(true);
      expect(joined((await fetch(cache, 'xml', false)).body).equals(fromScratch(registry, 'xml'))).toBe(true);
      cache.close();
    });
  });

  describe('compression levels', () => {
    it('compresses a first document thoroughly and what a change recompresses fast', async () => {
      const { registry, clock, cache } = setup({});
      for (let n = 0; n < 20; n++) registry.register(makeInstance({ app: 'ONLY', id: `i-${n}`, metadata: { pad: `${n}`.repeat(50) } }));
      // One application, one segment, first in the document: its piece is the application's JSON without dictionary.
      const piece = async (): Promise<Buffer> => ((await cache.get('apps', '', 'json', true))!.body as readonly Buffer[])[1];
      const content = (): Buffer => {
        const out = new Pieces();
        CODECS.json.writeApplication(out, 'ONLY', registry.application('ONLY'));
        return out.toBuffer();
      };
      const deflated = (level: number): Buffer => deflateRawSync(content(), { finishFlush: zlibConstants.Z_SYNC_FLUSH, level });
      expect(deflated(3).equals(deflated(6))).toBe(false);
      expect((await piece()).equals(deflated(6))).toBe(true);
      registry.cancel('ONLY', 'i-7');
      clock.advance(1);
      expect((await piece()).equals(deflated(3))).toBe(true);
      cache.close();
    });
  });

  describe('an application larger than a segment', () => {
    it.each(FORMATS)('is encoded in parts (%s): a change re-encodes its part, a removal the parts from its place on, growth the last', (format) => {
      const { registry, clock } = setup({});
      const segments = new SegmentCache(fullRegistrySource(registry), { segmentInstances: 3 });
      const register = (id: string, version = 'v1'): void => void registry.register(makeInstance({ app: 'BIG', id, metadata: { version } }));
      registry.register(makeInstance({ app: 'A0', id: 'x' }));
      for (let n = 0; n < 8; n++) register(`i${n}`);
      const document = (): readonly Buffer[] => {
        clock.advance(1);
        const parts = partsOf(segments.document(format, clock.now()), clock.now());
        expect(Buffer.concat(parts).equals(fromScratch(registry, format))).toBe(true);
        return parts;
      };
      {
        // Head, A0, BIG in parts of three (i0-i2, i3-i5, i6-i7), tail.
        const d1 = document();
        expect(d1).toHaveLength(6);
        register('i4', 'v2');
        const d2 = document();
        expect(d2[2]).toBe(d1[2]);
        expect(d2[3]).not.toBe(d1[3]);
        expect(d2[4]).toBe(d1[4]);
        // i1 leaves: every part from its place on holds other instances now (i0 i2 i3, i4 i5 i6, i7).
        registry.cancel('BIG', 'i1');
        const d3 = document();
        expect(d3).toHaveLength(6);
        for (const k of [2, 3, 4]) expect(d3[k]).not.toBe(d2[k]);
        // Two more join the last part, which ends the application: only it changes.
        register('i8');
        register('i9');
        const d4 = document();
        expect(d4).toHaveLength(6);
        expect(d4[2]).toBe(d3[2]);
        expect(d4[3]).toBe(d3[3]);
        expect(d4[4]).not.toBe(d3[4]);
      }
      segments.close();
    });
  });

  describe('what a change recompresses', () => {
    it('is its own piece, and the next one only when it changed the end that piece was compressed against', async () => {
      const { registry, clock, cache } = setup({ segmentInstances: 6 });
      // Three applications of six instances, a segment each, each longer than the dictionary.
      const register = (app: string, n: number, version: string): void =>
        void registry.register(makeInstance({ app, id: `i-${n}`, metadata: { pad: `${app}${n}`.repeat(300), version } }));
      for (const a of ['A', 'B', 'C']) for (let n = 0; n < 6; n++) register(a, n, 'v1');
      const read = async (): Promise<readonly Buffer[]> => {
        const zipped = (await cache.get('apps', '', 'json', true))!.body as readonly Buffer[];
        const plain = (await cache.get('apps', '', 'json', false))!.body as readonly Buffer[];
        expect(gunzipSync(Buffer.concat(zipped)).equals(Buffer.concat(plain))).toBe(true);
        // Header and head, the three pieces, then the tail and trailer.
        expect(zipped).toHaveLength(5);
        return zipped.slice(1, 4);
      };
      const [a1, b1, c1] = await read();
      expect(b1.length).toBeGreaterThan(0);

      // A's first instance: A's end is as it was, so B's piece still holds.
      register('A', 0, 'v2');
      clock.advance(1);
      const [a2, b2, c2] = await read();
      expect(a2).not.toBe(a1);
      expect(b2).toBe(b1);
      expect(c2).toBe(c1);

      // A's last instance: B's piece was compressed against it, so it is compressed again; C's is not.
      register('A', 5, 'v2');
      clock.advance(1);
      const [a3, b3, c3] = await read();
      expect(a3).not.toBe(a2);
      expect(b3).not.toBe(b2);
      expect(c3).toBe(c2);
      cache.close();
    });
  });

  describe('renewal times across a change', () => {
    it.each(FORMATS)('are those the unchanged records were written with (%s), so a change after heartbeats leaves the next piece as it was', async (format) => {
      const { registry, clock, cache } = setup({ segmentInstances: 6 });
      const register = (app: string, n: number, version: string): void =>
        void registry.register(makeInstance({ app, id: `i-${n}`, metadata: { pad: `${app}${n}`.repeat(300), version } }));
      // A: a large application in parts of six; B: a segment of its own after it.
      for (let n = 0; n < 12; n++) register('A', n, 'v1');
      for (let n = 0; n < 6; n++) register('B', n, 'v1');
      const read = async (): Promise<{ pieces: readonly Buffer[]; plain: Buffer }> => {
        const zipped = (await cache.get('apps', '', format, true))!.body as readonly Buffer[];
        return { pieces: zipped.slice(1, -1), plain: gunzipSync(Buffer.concat(zipped)) };
      };
      const before = await read();
      // Every instance heartbeats, then A's first instance changes.
      clock.advance(10_000);
      for (const a of ['A', 'B']) for (let n = 0; n < (a === 'A' ? 12 : 6); n++) registry.renew(a, `i-${n}`, { isReplication: false });
      register('A', 0, 'v2');
      clock.advance(1);
      const after = await read();
      // A's first part is new; its second part and B's piece are the very same bytes.
      expect(after.pieces[0]).not.toBe(before.pieces[0]);
      expect(after.pieces.slice(1)).toEqual(before.pieces.slice(1));
      after.pieces.slice(1).forEach((piece, i) => expect(piece).toBe(before.pieces[i + 1]));
      // The document is the registry's, its unchanged records with the renewal times of before the heartbeats.
      const expected = fromScratch(registry, format);
      expect(blanked(after.plain)).toBe(blanked(expected));
      const shown = renewals(after.plain);
      const now = renewals(expected);
      expect(shown.filter((t, i) => t === now[i])).toHaveLength(1);
      shown.forEach((t, i) => expect(t).toBeLessThanOrEqual(now[i]));
      cache.close();
    });
  });

  describe('one gzip build at a time', () => {
    it('has readers who came during a build after a change share the next one, which has every change made before they came', async () => {
      // Segments of 100 and 200 instances, each far over 16 KB.
      const { registry, clock, cache } = setup({ segmentInstances: 200 });
      for (let n = 0; n < 300; n++) registry.register(makeInstance({ app: `APP-${n % 3}`, id: `i-${n}`, metadata: { pad: 'p'.repeat(400) } }));
      // A plain reader came: the segments keep their plain bytes.
      await fetch(cache, 'json', false);
      const building = cache.get('apps', '', 'json', true);
      expect(building).toBeInstanceOf(Promise);
      // Nothing changed: the build under way is this reader's document.
      expect(cache.get('apps', '', 'json', true)).toBe(building);
      registry.cancel('APP-1', 'i-1');
      const rebuilds = cache.stats.rebuilds;
      const second = cache.get('apps', '', 'json', true);
      registry.cancel('APP-2', 'i-2');
      const third = cache.get('apps', '', 'json', true);
      expect(second).toBeInstanceOf(Promise);
      // Both wait for the first build and share the next: no document was laid out for either yet.
      expect(third).toBe(second);
      expect(cache.stats.rebuilds).toBe(rebuilds);
      // The first build is the document of before the changes.
      expect(gunzipSync(joined((await building!).body)).equals(fromScratch(registry, 'json'))).toBe(false);
      const [a, b] = await Promise.all([second, third]);
      expect(a).toBe(b);
      expect(gunzipSync(joined(a!.body)).equals(fromScratch(registry, 'json'))).toBe(true);
      expect(cache.stats.rebuilds).toBe(rebuilds + 1);
      // A plain reader never waits, even while a gzip build is under way.
      registry.cancel('APP-0', 'i-0');
      const fourth = cache.get('apps', '', 'json', true);
      expect(fourth).toBeInstanceOf(Promise);
      registry.cancel('APP-0', 'i-3');
      const plain = cache.get('apps', '', 'json', false) as Payload;
      expect(plain).not.toBeInstanceOf(Promise);
      expect(joined(plain.body).equals(fromScratch(registry, 'json'))).toBe(true);
      await fourth;
      clock.advance(1);
      cache.close();
    });
  });

  describe('bytes', () => {
    it('counts plain and DEFLATE bytes of both formats, and releases them as applications leave', async () => {
      const { registry, cache } = setup({ segmentInstances: 2 });
      for (const a of APPS) for (const i of IDS) registry.register(makeInstance({ app: a, id: i }));
      let expected = 0;
      for (const format of FORMATS) {
        // Between head and tail: the segments' plain bytes (the first one's separator too) and DEFLATE pieces.
        const plain = (await fetch(cache, format, false)).body as readonly Buffer[];
        const zipped = (await fetch(cache, format, true)).body as readonly Buffer[];
        expected += CODECS[format].applicationSeparator.length;
        for (const parts of [plain, zipped]) expected += parts.slice(1, -1).reduce((n, b) => n + b.length, 0);
      }
      expect(cache.stats.bytes).toBe(expected);
      for (const a of APPS) for (const i of IDS) registry.cancel(a, i);
      for (const format of FORMATS) await fetch(cache, format, true);
      expect(cache.stats.bytes).toBe(0);
      cache.close();
    });
  });
  describe('joining', () => {
    it('serves a small gzip document as one buffer, the pieces joined once per revision and counted', async () => {
      const { registry, cache } = setup({ segmentInstances: 2 }, {});
      for (const a of APPS) for (const i of IDS) registry.register(makeInstance({ app: a, id: i }));
      const before = cache.stats.bytes;
      const zipped = await fetch(cache, 'json', true);
      expect(Buffer.isBuffer(zipped.body)).toBe(true);
      expect(gunzipSync(zipped.body as Buffer).equals(fromScratch(registry, 'json'))).toBe(true);
      expect(cache.stats.bytes).toBeGreaterThanOrEqual(before + (zipped.body as Buffer).length);
      expect((await fetch(cache, 'json', true)).body).toBe(zipped.body);
      cache.close();
    });

    it('writes a large gzip document in runs, and a change re-joins only the runs around its piece', async () => {
      const { registry, clock, cache } = setup({ segmentInstances: 2 }, {});
      // Padding that does not compress, so that the gzip document is well over one buffer's size.
      const pad = (n: number): string => ['a', 'b', 'c', 'd'].map((k) => createHash('sha512').update(`${k}${n}`).digest('hex')).join('');
      for (let n = 0; n < 400; n++) registry.register(makeInstance({ app: `APP-${n % 100}`, id: `i-${n}`, metadata: { pad: pad(n) } }));
      const first = await fetch(cache, 'json', true);
      const runs = first.body as readonly Buffer[];
      expect(Array.isArray(runs)).toBe(true);
      expect(first.bytes).toBeGreaterThan(ONE_BUFFER_MAX_BYTES);
      // Runs of small pieces, not a buffer per piece of 2 instances.
      expect(runs.length).toBeLessThan(Math.ceil(first.bytes / RUN_BYTES) + 40);
      registry.updateMetadata('APP-50', 'i-50', { pad: 'changed' });
      clock.advance(1);
      const second = await fetch(cache, 'json', true);
      expect(gunzipSync(joined(second.body)).equals(fromScratch(registry, 'json'))).toBe(true);
      const kept = new Set(runs);
      const rejoined = (second.body as readonly Buffer[]).slice(1, -1).filter((b) => !kept.has(b));
      expect(rejoined.reduce((n, b) => n + b.length, 0)).toBeLessThanOrEqual(3 * RUN_BYTES);
      cache.close();
    });
  });
});
