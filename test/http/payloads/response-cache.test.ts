// The response cache's bounds: named payloads (per app, per VIP) within a byte budget and an entry count, least
// recently used dropped first; the full registry and the delta outside the budget; bytes shown in its stats.
import { gunzipSync } from 'node:zlib';
import { Registry } from '../../../src/domain/registry';
import { MAX_NAMED_ENTRIES, MAX_SINCE_CHANGES, NAMED_IDLE_MS, Payload, ResponseCache } from '../../../src/http/payloads/response-cache';
import { BURST_CHANGES, BURST_QUIET_MS } from '../../../src/http/payloads/segment-cache';
import { ManualClock } from '../../../src/domain/clock';
import { makeInstance } from '../../helpers/instances';

const T0 = 1_700_000_000_000;

function setup(maxNamedBytes: number): { registry: Registry; cache: ResponseCache; clock: ManualClock } {
  const clock = new ManualClock(T0);
  const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 10_000 });
  return { registry, clock, cache: new ResponseCache(registry, clock, { maxStalenessMs: 0, maxNamedBytes, serverId: 'test-server' }) };
}

// One instance per VIP name `v0`…`v{n-1}`, each in its own app.
function registerVips(registry: Registry, n: number): void {
  for (let v = 0; v < n; v++) registry.register(makeInstance({ app: `APP-${v}`, id: `i-${v}`, vipAddress: `v${v}` }));
}

async function body(p: Payload | Promise<Payload> | undefined): Promise<Buffer> {
  if (p === undefined) throw new Error('no payload');
  const b = (await p).body;
  return Buffer.isBuffer(b) ? b : Buffer.concat(b);
}

describe('ResponseCache', () => {
  describe('the full registry during a burst of changes', () => {
    const burstSetup = (burstStalenessMs: number): { registry: Registry; cache: ResponseCache; clock: ManualClock } => {
      const clock = new ManualClock(T0);
      const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 10_000 });
      const cache = new ResponseCache(registry, clock, { maxStalenessMs: 0, maxNamedBytes: 1 << 20, serverId: 'test-server', segments: { burstStalenessMs } });
      return { registry, clock, cache };
    };
    const full = async (cache: ResponseCache, gzipped = false): Promise<Payload> => (await cache.get('apps', '', 'json', gzipped)) as Payload;
    const holds = async (cache: ResponseCache, app: string, gzipped = false): Promise<boolean> => {
      const bytes = await body(cache.get('apps', '', 'json', gzipped));
      return (gzipped ? gunzipSync(bytes) : bytes).toString('utf8').includes(`"${app}"`);
    };
    // More than BURST_CHANGES applications changed between two layouts less than a second apart.
    const burst = async (registry: Registry, cache: ResponseCache, clock: ManualClock): Promise<void> => {
      registry.register(makeInstance({ app: 'FIRST', id: 'i-0' }));
      await full(cache);
      for (let n = 0; n <= BURST_CHANGES; n++) registry.register(makeInstance({ app: `BURST-${n}`, id: `i-${n}` }));
      clock.advance(100);
      expect(await holds(cache, `BURST-${BURST_CHANGES}`)).toBe(true);
    };

    // Reads the gzip full registry until it holds `app` (its compression runs on the thread pool), within 10 s.
    const eventuallyZipped = async (cache: ResponseCache, app: string): Promise<number> => {
      const deadline = Date.now() + 10_000;
      let reads = 1;
      while (!(await holds(cache, app, true))) {
        if (Date.now() > deadline) throw new Error(`the gzip full registry never held ${app}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        reads++;
      }
      return reads;
    };

    it('serves the last document up to burstStalenessMs after it was laid out, then one with every change', async () => {
      const { registry, cache, clock } = burstSetup(1000);
      await burst(registry, cache, clock);
      const during = await full(cache);
      expect(await holds(cache, `BURST-${BURST_CHANGES}`, true)).toBe(true);
      registry.register(makeInstance({ app: 'LATE', id: 'i-1' }));
      clock.advance(500);
      const stale = await full(cache);
      expect(stale.etag).toBe(during.etag);
      expect(await holds(cache, 'LATE')).toBe(false);
      expect(await holds(cache, 'LATE', true)).toBe(false);
      clock.advance(500);
      const next = await full(cache);
      expect(next.revision).toBe(registry.revision);
      expect(await holds(cache, 'LATE')).toBe(true);
      // The gzip one: the last that was ready while the next is compressed (here, once more at least), then the next.
      expect(await eventuallyZipped(cache, 'LATE')).toBeGreaterThan(1);
    });

    it('makes a gzip reader wait for the next document once the last ready one is twice burstStalenessMs old', async () => {
      const { registry, cache, clock } = burstSetup(1000);
      await burst(registry, cache, clock);
      expect(await holds(cache, `BURST-${BURST_CHANGES}`, true)).toBe(true);
      registry.register(makeInstance({ app: 'LATE', id: 'i-1' }));
      clock.advance(2000);
      expect(await holds(cache, 'LATE', true)).toBe(true);
    });

    it('never serves the delta stale', async () => {
      const { registry, cache, clock } = burstSetup(1000);
      await burst(registry, cache, clock);
      await body(cache.get('delta', '', 'json', false));
      registry.register(makeInstance({ app: 'LATE', id: 'i-1' }));
      clock.advance(10);
      expect((await body(cache.get('delta', '', 'json', false))).toString('utf8')).toContain('"LATE"');
    });

    it('holds every change in the next document with burstStalenessMs 0, and outside a burst', async () => {
      const never = burstSetup(0);
      await burst(never.registry, never.cache, never.clock);
      never.registry.register(makeInstance({ app: 'LATE', id: 'i-1' }));
      never.clock.advance(10);
      expect(await holds(never.cache, 'LATE')).toBe(true);

      const { registry, cache, clock } = burstSetup(1000);
      await burst(registry, cache, clock);
      // BURST_QUIET_MS after the burst's last layout, and after two quiet ones.
      clock.advance(BURST_QUIET_MS);
      await full(cache);
      registry.register(makeInstance({ app: 'QUIET', id: 'i-1' }));
      clock.advance(2000);
      await full(cache);
      registry.register(makeInstance({ app: 'LATE', id: 'i-2' }));
      clock.advance(10);
      expect(await holds(cache, 'LATE')).toBe(true);
    });
  });

  describe('get', () => {
    it('keeps named payloads within the byte budget however many distinct VIPs are read', async () => {
      const { registry, cache } = setup(16 * 1024);
      registerVips(registry, 256);
      for (let v = 0; v < 256; v++) {
        await body(cache.get('vip', `v${v}`, 'json', false));
        await body(cache.get('vip', `v${v}`, 'xml', true));
      }
      expect(cache.stats.bytes).toBeGreaterThan(8 * 1024);
      expect(cache.stats.bytes).toBeLessThanOrEqual(16 * 1024);
      expect(cache.stats.evictions).toBeGreaterThan(0);
    });

    it('counts plain and gzip bytes of each payload', async () => {
      const { registry, cache } = setup(1 << 20);
      registerVips(registry, 1);
      const plain = await body(cache.get('vip', 'v0', 'json', false));
      expect(cache.stats).toMatchObject({ bytes: plain.length, entries: 1 });
      const gzipped = await body(cache.get('vip', 'v0', 'json', true));
      expect(gunzipSync(gzipped).equals(plain)).toBe(true);
      expect(cache.stats.bytes).toBe(plain.length + gzipped.length);
    });

    it('counts a gzip compressed off the event loop once it lands, and not for a payload replaced meanwhile', async () => {
      const { registry, cache } = setup(64 << 20);
      for (let n = 0; n < 200; n++) registry.register(makeInstance({ id: `i-${n}`, vipAddress: 'big' }));
      const plain = await body(cache.get('vip', 'big', 'json', false));
      expect(plain.length).toBeGreaterThan(64 * 1024);
      const gzipped = await body(cache.get('vip', 'big', 'json', true));
      expect(cache.stats.bytes).toBe(plain.length + gzipped.length);

      const pending = cache.get('vip', 'big', 'xml', true);
      registry.register(makeInstance({ id: 'i-late', vipAddress: 'big' }));
      const rebuilt = await body(cache.get('vip', 'big', 'xml', false));
      await pending;
      expect(cache.stats.bytes).toBe(plain.length + gzipped.length + rebuilt.length);
    });

    it('drops the least recently used payload first, not the oldest built', async () => {
      const { registry, cache } = setup(1 << 20);
      registerVips(registry, 4);
      const size = (await body(cache.get('vip', 'v0', 'json', false))).length;
      const tight = setup(3 * size + size / 2);
      registerVips(tight.registry, 4);
      for (const name of ['v0', 'v1', 'v2']) tight.cache.get('vip', name, 'json', false);
      tight.cache.get('vip', 'v0', 'json', false);
      tight.cache.get('vip', 'v3', 'json', false);
      const rebuilds = tight.cache.stats.rebuilds;
      tight.cache.get('vip', 'v0', 'json', false);
      tight.cache.get('vip', 'v2', 'json', false);
      tight.cache.get('vip', 'v3', 'json', false);
      expect(tight.cache.stats.rebuilds).toBe(rebuilds);
      tight.cache.get('vip', 'v1', 'json', false);
      expect(tight.cache.stats.rebuilds).toBe(rebuilds + 1);
      expect(tight.cache.stats.evictions).toBe(2);
    });

    it('keeps the full registry and the delta outside the budget', async () => {
      const { registry, cache } = setup(0);
      registerVips(registry, 3);
      const full = await body(cache.get('apps', '', 'json', false));
      const delta = await body(cache.get('delta', '', 'xml', false));
      cache.get('vip', 'v0', 'json', false);
      cache.get('vip', 'v1', 'json', false);
      const rebuilds = cache.stats.rebuilds;
      cache.get('apps', '', 'json', false);
      cache.get('delta', '', 'xml', false);
      expect(cache.stats.rebuilds).toBe(rebuilds);
      expect(cache.stats.entries).toBe(3);
      expect(cache.stats.bytes).toBeGreaterThan(full.length + delta.length);
    });

    it('keeps the newest payload even when it alone exceeds the budget', async () => {
      const { registry, cache } = setup(16);
      registerVips(registry, 2);
      cache.get('vip', 'v0', 'json', false);
      cache.get('vip', 'v1', 'json', false);
      const rebuilds = cache.stats.rebuilds;
      cache.get('vip', 'v1', 'json', false);
      expect(cache.stats.rebuilds).toBe(rebuilds);
      expect(cache.stats.entries).toBe(1);
    });

    it(`holds at most ${MAX_NAMED_ENTRIES} named payloads`, () => {
      const { cache } = setup(64 << 20);
      for (let v = 0; v <= MAX_NAMED_ENTRIES; v++) cache.get('vip', `none-${v}`, 'json', false);
      expect(cache.stats.entries).toBe(MAX_NAMED_ENTRIES);
      expect(cache.stats.evictions).toBe(1);
    });

    it('drops named payloads nobody has read for a minute, and keeps the ones still read', async () => {
      const { registry, cache, clock } = setup(1 << 20);
      registerVips(registry, 3);
      for (const v of ['v0', 'v1', 'v2']) await body(cache.get('vip', v, 'json', true));
      clock.advance(NAMED_IDLE_MS / 2);
      await body(cache.get('vip', 'v1', 'json', false));
      const full = await body(cache.get('apps', '', 'json', false));
      clock.advance(NAMED_IDLE_MS / 2);
      const kept = await body(cache.get('vip', 'v1', 'json', false));
      expect(cache.stats).toMatchObject({ entries: 2, evictions: 2 }); // v1 and the full registry
      // v1, and the full registry's segments and the one buffer they are joined into.
      expect(cache.stats.bytes).toBeLessThan(kept.length + 2 * full.length + 4096);
    });

    it('releases the bytes of a payload it rebuilds', async () => {
      const { registry, cache } = setup(1 << 20);
      registerVips(registry, 1);
      await body(cache.get('vip', 'v0', 'json', true));
      registry.register(makeInstance({ app: 'APP-0', id: 'i-1', vipAddress: 'v0' }));
      const plain = await body(cache.get('vip', 'v0', 'json', false));
      expect(cache.stats).toMatchObject({ bytes: plain.length, entries: 1 });
    });

    it('serves the full registry as it was for maxStalenessMs after a change, then with the change', async () => {
      const clock = new ManualClock(T0);
      const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 10_000 });
      const cache = new ResponseCache(registry, clock, { maxStalenessMs: 5000, maxNamedBytes: 1 << 20, serverId: 'test-server' });
      registry.register(makeInstance({ id: 'a' }));
      const first = await body(cache.get('apps', '', 'json', false));
      registry.register(makeInstance({ id: 'b' }));
      clock.advance(4999);
      expect((await body(cache.get('apps', '', 'json', false))).equals(first)).toBe(true);
      clock.advance(1);
      expect((await body(cache.get('apps', '', 'json', false))).toString()).toContain('"instanceId":"b"');
      cache.close();
    });
  });
  describe('since', () => {
    const ids = (doc: Buffer): string[] =>
      (JSON.parse(doc.toString()).applications.application as { instance: { instanceId: string }[] }[]).flatMap((a) => a.instance.map((i) => i.instanceId));

    it('holds only the changes after the revision while they are few', async () => {
      const { registry, cache } = setup(1 << 20);
      for (let i = 0; i < 5; i++) registry.register(makeInstance({ id: `i-${i}` }));
      const payload = cache.since(3, 'json', false);
      if (payload === 'gone') throw new Error('gone');
      expect(ids(await body(payload))).toEqual(['i-3', 'i-4']);
      expect((await payload).revision).toBe(5);
    });

    it('answers a reader far behind with the shared plain delta, which holds every change after its revision', async () => {
      const { registry, cache } = setup(1 << 20);
      const n = MAX_SINCE_CHANGES * 2;
      for (let i = 0; i < n; i++) registry.register(makeInstance({ id: `i-${i}` }));
      const plain = await body(cache.get('delta', '', 'json', false));
      const rebuilds = cache.stats.rebuilds;
      for (let since = 0; since < MAX_SINCE_CHANGES - 1; since++) {
        const payload = cache.since(since, 'json', false);
        if (payload === 'gone') throw new Error('gone');
        expect((await body(payload)).equals(plain)).toBe(true);
      }
      expect(cache.stats.rebuilds).toBe(rebuilds);
      const near = cache.since(n - MAX_SINCE_CHANGES, 'json', false);
      if (near === 'gone') throw new Error('gone');
      expect(ids(await body(near))).toHaveLength(MAX_SINCE_CHANGES);
    });

    it('answers gone for a revision ahead of the registry', () => {
      const { cache } = setup(1 << 20);
      expect(cache.since(1, 'json', false)).toBe('gone');
    });
  });
});
