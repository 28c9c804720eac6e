// The comparison's wire format: what a peer may send is bounded and checked; what we send reads back the same.
import { hashText } from '../../src/domain/digest';
import {
  decodeDigestAnswer,
  decodeDigestRequest,
  decodeRepairs,
  decodeVersionsAnswer,
  decodeVersionsRequest,
  encodeDigestAnswer,
  encodeDigestRequest,
  encodeRepairItem,
  encodeVersionsAnswer,
  MAX_VERSION_APPS,
  repairListOf,
} from '../../src/replication/anti-entropy-protocol';
import { makeInstance } from '../helpers/instances';
import { viewOf } from '../helpers/replication-fixtures';

const LIMITS = { maxNameLength: 64, maxMetadataEntries: 4, maxVipAddresses: 4, defaultRenewalIntervalSecs: 30, defaultDurationSecs: 90 };

describe('anti-entropy protocol', () => {
  describe('digest', () => {
    it('reads back what it writes', () => {
      const root = hashText('root');
      expect(decodeDigestRequest(encodeDigestRequest(root))).toEqual(root);
      const answer = decodeDigestAnswer(encodeDigestAnswer(root, [['A', hashText('a')]]), 10);
      expect(answer?.root).toEqual(root);
      expect([...(answer?.apps ?? [])]).toEqual([['A', hashText('a')]]);
      expect(decodeDigestAnswer(encodeDigestAnswer(root), 10)?.apps).toBeUndefined();
    });

    it.each(['', 'null', '[]', '{"root":1}', '{"root":"xyz"}', '{"root":"0123456789ABCDEF"}'])('refuses the request %j', (body) => {
      expect(decodeDigestRequest(body)).toBeUndefined();
    });

    it('refuses an answer with more applications than expected or a bad digest', () => {
      const root = hashText('r');
      expect(decodeDigestAnswer(encodeDigestAnswer(root, [['A', root], ['B', root]]), 1)).toBeUndefined();
      expect(decodeDigestAnswer('{"root":"0000000000000000","apps":{"A":"nope"}}', 10)).toBeUndefined();
    });
  });

  describe('versions', () => {
    it('bounds the applications a request may name and their names', () => {
      expect(decodeVersionsRequest(JSON.stringify({ apps: ['A', 'B'] }), 64)).toEqual(['A', 'B']);
      expect(decodeVersionsRequest(JSON.stringify({ apps: Array.from({ length: MAX_VERSION_APPS + 1 }, (_, i) => `A${i}`) }), 64)).toBeUndefined();
      expect(decodeVersionsRequest(JSON.stringify({ apps: ['x'.repeat(65)] }), 64)).toBeUndefined();
      expect(decodeVersionsRequest(JSON.stringify({ apps: [1] }), 64)).toBeUndefined();
    });

    it('reads back copies and removals, unknown lastDirtyTimestamp included', () => {
      const text = encodeVersionsAnswer([
        ['A', [['i1', { kind: 'instance', fingerprint: '0123456789abcdef', lastDirtyTimestamp: 5, at: 7 }], ['i2', { kind: 'removed', lastDirtyTimestamp: undefined, at: 9 }]]],
      ]);
      const read = decodeVersionsAnswer(text, ['A', 'B'], 10);
      expect([...(read?.get('A') ?? [])]).toEqual([
        ['i1', { kind: 'instance', fingerprint: '0123456789abcdef', lastDirtyTimestamp: 5, at: 7 }],
        ['i2', { kind: 'removed', lastDirtyTimestamp: undefined, at: 9 }],
      ]);
      expect(read?.get('B')?.size).toBe(0);
    });

    it.each([
      ['a malformed entry', '{"apps":{"A":[["i1","zz",1,2]]}}'],
      ['a negative time', '{"apps":{"A":[["i1",null,1,-2]]}}'],
      ['too many entries', '{"apps":{"A":[["a",null,1,2],["b",null,1,2]]}}'],
    ])('refuses an answer with %s', (_what, text) => {
      expect(decodeVersionsAnswer(text, ['A'], 1)).toBeUndefined();
    });
  });

  describe('repairs', () => {
    it('reads back a copy with its status source, time and overlay, and a removal', () => {
      const view = viewOf(makeInstance({ id: 'i1', status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE', metadata: { k: 'v' } }), 1_700_000_000_000);
      const body = repairListOf([
        encodeRepairItem({ kind: 'instance', view: { ...view, record: { ...view.record, statusSource: 'override' } }, overlay: { k: 'v' } }),
        encodeRepairItem({ kind: 'removed', app: 'ORDERS', id: 'i2', lastDirtyTimestamp: undefined, at: 5 }),
      ]);
      const [copy, removal] = decodeRepairs(body, LIMITS, 10, 1_700_000_000_000) ?? [];
      expect(copy).toMatchObject({ kind: 'instance', statusSource: 'override', at: 1_700_000_000_000, overlay: { k: 'v' }, instance: { id: 'i1', status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' } });
      expect(removal).toEqual({ kind: 'removed', app: 'ORDERS', id: 'i2', lastDirtyTimestamp: undefined, at: 5 });
    });

    it("reads back a copy held DOWN by a health check with its source 'health'", () => {
      const view = viewOf(makeInstance({ id: 'i1', status: 'DOWN' }), 1_700_000_000_000);
      const body = repairListOf([encodeRepairItem({ kind: 'instance', view: { ...view, record: { ...view.record, statusSource: 'health' } } })]);
      expect(decodeRepairs(body, LIMITS, 10, 1_700_000_000_000)).toEqual([expect.objectContaining({ kind: 'instance', statusSource: 'health', instance: expect.objectContaining({ status: 'DOWN' }) })]);
    });

    it('marks items it cannot accept invalid, and refuses a body with too many', () => {
      const items = [
        { kind: 'instance', statusSource: 'client', at: 1, instanceInfo: { app: 'A' } },
        { kind: 'instance', statusSource: 'nobody', at: 1, instanceInfo: {} },
        { kind: 'removed', app: 'A', id: 'x'.repeat(65), lastDirtyTimestamp: null, at: 1 },
        { kind: 'what' },
      ];
      expect(decodeRepairs(JSON.stringify({ items }), LIMITS, 10, 0)).toEqual(['invalid', 'invalid', 'invalid', 'invalid']);
      expect(decodeRepairs(JSON.stringify({ items }), LIMITS, 3, 0)).toBeUndefined();
      expect(decodeRepairs('not json', LIMITS, 3, 0)).toBeUndefined();
    });
  });
});
