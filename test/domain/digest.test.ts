// The digest arithmetic: an exact FNV-1a 64 in 32-bit halves, fingerprints over the agreed fields only, and per-app
// and registry digests that do not depend on the order of updates.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { agreedText, EMPTY_HASH, fingerprint, Hash64, hashHex, hashText, parseHashHex, RegistryDigest, sameHash, xorHash } from '../../src/domain/digest';
import { InstanceRecord } from '../../src/domain/model';
import { makeInstance } from '../helpers/instances';

function record(overrides: Partial<InstanceRecord> & { instance?: InstanceRecord['instance'] } = {}): InstanceRecord {
  return {
    instance: makeInstance({ id: 'a' }),
    statusSource: 'client',
    actionType: 'ADDED',
    lastUpdatedTimestamp: 1,
    registrationTimestamp: 1,
    serviceUpTimestamp: 1,
    evictionTimestamp: 0,
    revision: 1,
    ...overrides,
  };
}

describe('digest', () => {
  describe('hashText', () => {
    it('is the first 64 bits of SHA-1 of the UTF-8 bytes', () => {
      expect(hashHex(hashText(''))).toBe('da39a3ee5e6b4b0d');
      expect(hashHex(hashText('é'))).toBe(createHash('sha1').update(Buffer.from('é', 'utf8')).digest('hex').slice(0, 16));
    });
  });

  describe('parseHashHex', () => {
    it('reads what hashHex writes and nothing else', () => {
      const h = hashText('orders');
      expect(sameHash(parseHashHex(hashHex(h)) as Hash64, h)).toBe(true);
      for (const bad of ['', 'xyz', '0123456789abcdeF', '0123456789abcde', 42]) expect(parseHashHex(bad)).toBeUndefined();
    });
  });

  describe('fingerprint', () => {
    it('ignores lease and server times', () => {
      const a = record();
      const b = record({ lastUpdatedTimestamp: 99, registrationTimestamp: 99, serviceUpTimestamp: 99, revision: 7, actionType: 'MODIFIED' });
      expect(sameHash(fingerprint(a), fingerprint(b))).toBe(true);
    });

    it.each([
      ['status', record({ instance: makeInstance({ id: 'a', status: 'DOWN' }) })],
      ['overriddenStatus', record({ instance: makeInstance({ id: 'a', overriddenStatus: 'OUT_OF_SERVICE' }) })],
      ['status source', record({ statusSource: 'override' })],
      ['metadata', record({ instance: makeInstance({ id: 'a', metadata: { k: 'v' } }) })],
      ['lastDirtyTimestamp', record({ instance: makeInstance({ id: 'a', lastDirtyTimestamp: 5 }) })],
      ['hostName', record({ instance: makeInstance({ id: 'a', hostName: 'elsewhere' }) })],
    ])('changes with the %s', (_field, other) => {
      expect(sameHash(fingerprint(record()), fingerprint(other))).toBe(false);
    });

    it('reads metadata by content, not insertion order', () => {
      const a = record({ instance: makeInstance({ id: 'a', metadata: { x: '1', y: '2' } }) });
      const b = record({ instance: makeInstance({ id: 'a', metadata: { y: '2', x: '1' } }) });
      expect(agreedText(a)).toBe(agreedText(b));
    });
  });

  describe('RegistryDigest', () => {
    it('is the XOR of the fingerprints, per app and overall, whatever the order of updates', () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.constantFrom('A', 'B', 'C'), fc.integer({ min: 0, max: 9 }), fc.option(fc.string({ maxLength: 8 }))), { maxLength: 60 }), (ops) => {
          const digest = new RegistryDigest();
          const live = new Map<string, Hash64>();
          for (const [app, n, value] of ops) {
            const h = value === null ? undefined : hashText(value);
            digest.set(app, `i${n}`, h);
            if (h === undefined) live.delete(`${app}/i${n}`);
            else live.set(`${app}/i${n}`, h);
          }
          let root = EMPTY_HASH;
          const perApp = new Map<string, Hash64>();
          for (const [key, h] of live) {
            root = xorHash(root, h);
            const app = key.split('/')[0];
            perApp.set(app, xorHash(perApp.get(app) ?? EMPTY_HASH, h));
          }
          expect(sameHash(digest.root, root)).toBe(true);
          for (const app of ['A', 'B', 'C']) expect(sameHash(digest.app(app), perApp.get(app) ?? EMPTY_HASH)).toBe(true);
          expect([...digest.applications()].map(([a]) => a).sort()).toEqual([...perApp.keys()].sort());
          expect(digest.size).toBe(live.size);
        }),
      );
    });

    it('returns to empty when every instance leaves', () => {
      const digest = new RegistryDigest();
      digest.set('A', '1', hashText('x'));
      digest.set('A', '2', hashText('y'));
      digest.set('A', '1', undefined);
      digest.set('A', '2', undefined);
      digest.set('A', '3', undefined);
      expect(sameHash(digest.root, EMPTY_HASH)).toBe(true);
      expect([...digest.applications()]).toEqual([]);
    });
  });
});
