// Anti-entropy rounds between two registries joined in-process (each side's answers called directly), on a manual
// clock: what a round sends, what it repairs, which copy wins, and how a peer that cannot compare is treated.
import { ManualClock } from '../../src/domain/clock';
import { Registry } from '../../src/domain/registry';
import { AntiEntropy } from '../../src/replication/anti-entropy';
import { PeerClient, PeerExchange } from '../../src/replication/peer-client';
import { makeInstance } from '../helpers/instances';
import { RecordingLogger } from '../helpers/replication-fixtures';

const LIMITS = { maxNameLength: 256, maxMetadataEntries: 64, maxVipAddresses: 16, defaultRenewalIntervalSecs: 30, defaultDurationSecs: 90 };
const OPTIONS = { intervalMs: 1000, jitterFraction: 0, random: () => 0.5, maxRepairItems: 2, maxRepairBytes: 1 << 20 };
const NEVER = { after: () => () => undefined };
const URL = 'http://b/eureka/';

function link(answer: (path: string, body: string) => PeerExchange | Promise<PeerExchange>): PeerClient & { paths: string[] } {
  const paths: string[] = [];
  return {
    url: URL,
    paths,
    compare: async (path, body) => {
      paths.push(path);
      return answer(path, body);
    },
    sendBatch: async () => ({ kind: 'failed', reason: 'unused' }),
    fetchRegistry: async () => ({ kind: 'failed', reason: 'unused' }),
    close: () => undefined,
  };
}

function pair() {
  const clock = new ManualClock();
  const registry = () => new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 1000 });
  const a = registry();
  const b = registry();
  const logger = new RecordingLogger();
  const bSide = new AntiEntropy(b, clock, NEVER, logger, [], LIMITS, OPTIONS);
  const toB = link((path, body) => {
    const out = path === 'digest' ? bSide.answerDigest(body) : path === 'versions' ? bSide.answerVersions(body) : JSON.stringify(bSide.applyRepairs(body));
    return out === undefined ? { kind: 'answer', status: 400, body: '' } : { kind: 'answer', status: 200, body: out };
  });
  const aSide = new AntiEntropy(a, clock, NEVER, logger, [toB], LIMITS, OPTIONS);
  const held = (r: Registry) => [...r.leases()].map((l) => `${l.record.instance.id}:${l.record.instance.status}:${JSON.stringify(l.record.instance.metadata)}`).sort();
  return { clock, a, b, aSide, bSide, toB, logger, held };
}

describe('AntiEntropy', () => {
  describe('runRound', () => {
    it('sends only the digest when the peer holds the same', async () => {
      const { a, b, aSide, toB } = pair();
      for (const r of [a, b]) r.register(makeInstance({ id: 'x' }), true);
      await aSide.runRound();
      expect(toB.paths).toEqual(['digest']);
      expect(aSide.statsFor(URL)).toMatchObject({ state: 'in-sync', appsDiffering: 0, comparisons: 1 });
    });

    it('sends the copies the peer lacks or holds older, in requests of at most maxRepairItems', async () => {
      const { a, b, aSide, toB, clock, held } = pair();
      for (const id of ['1', '2', '3']) a.register(makeInstance({ id }), true);
      b.register(makeInstance({ id: '1' }), true);
      clock.advance(1000);
      a.updateMetadata('ORDERS', '1', { k: 'v' }, true);
      // The round comes an interval after the change (one just made is left out once: see 'settling').
      clock.advance(OPTIONS.intervalMs);
      await aSide.runRound();
      expect(held(b)).toEqual(held(a));
      expect(toB.paths).toEqual(['digest', 'versions', 'repair', 'repair']);
      expect(aSide.statsFor(URL)).toMatchObject({ state: 'repairing', appsDiffering: 1, instancesRepaired: 3 });
      await aSide.runRound();
      expect(aSide.statsFor(URL)?.state).toBe('in-sync');
    });

    it('repairs a peer that missed a health verdict, verdict included', async () => {
      const { a, b, aSide, toB, clock } = pair();
      for (const r of [a, b]) r.register(makeInstance({ id: 'x' }), true);
      clock.advance(1000);
      a.healthVerdict('ORDERS', 'x', 'down');
      // The round comes an interval after the change (one just made is left out once: see 'settling').
      clock.advance(OPTIONS.intervalMs);
      await aSide.runRound();
      expect(toB.paths).toEqual(['digest', 'versions', 'repair']);
      expect(b.lease('ORDERS', 'x')!.record).toMatchObject({ statusSource: 'health', instance: expect.objectContaining({ status: 'DOWN' }) });
      expect(b.isHealthDown('ORDERS', 'x')).toBe(true);
      await aSide.runRound();
      expect(aSide.statsFor(URL)).toMatchObject({ state: 'in-sync' });
    });

    it('sends nothing the peer holds newer: the peer sends it in its own round', async () => {
      const { a, b, aSide, clock } = pair();
      a.register(makeInstance({ id: '1' }), true);
      b.register(makeInstance({ id: '1' }), true);
      clock.advance(1000);
      b.statusUpdate('ORDERS', '1', 'OUT_OF_SERVICE', undefined, true);
      await aSide.runRound();
      expect(b.lease('ORDERS', '1')?.record.instance.status).toBe('OUT_OF_SERVICE');
      expect(a.lease('ORDERS', '1')?.record.instance.status).toBe('UP');
    });

    it('sends a removal it remembers to a peer still holding an older copy', async () => {
      const { a, b, aSide, clock } = pair();
      for (const r of [a, b]) r.register(makeInstance({ id: '1' }), true);
      clock.advance(1000);
      a.cancel('ORDERS', '1');
      // The round comes an interval after the change (one just made is left out once: see 'settling').
      clock.advance(OPTIONS.intervalMs);
      await aSide.runRound();
      expect(b.lease('ORDERS', '1')).toBeUndefined();
      expect(b.cancelTombstone('ORDERS', '1')).toBeDefined();
    });

    it('does not push an instance whose lease has expired here', async () => {
      const { a, aSide, b, clock } = pair();
      a.register(makeInstance({ id: '1', durationSecs: 10 }), true);
      clock.advance(11_000);
      await aSide.runRound();
      expect(b.size).toBe(0);
    });

    it('skips a peer that does not know the comparison (404), saying so once', async () => {
      const clock = new ManualClock();
      const a = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 10 });
      const logger = new RecordingLogger();
      const java = link(() => ({ kind: 'answer', status: 404, body: '' }));
      const side = new AntiEntropy(a, clock, NEVER, logger, [java], LIMITS, OPTIONS);
      a.register(makeInstance({ id: '1' }));
      await side.runRound();
      await side.runRound();
      expect(side.statsFor(URL)).toMatchObject({ state: 'unsupported', failures: 0 });
      expect(logger.lines.filter((l) => l.message.includes('does not compare'))).toHaveLength(1);
      expect(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
    });

    it('counts a failing peer and keeps its last error', async () => {
      const { a } = pair();
      const clock = new ManualClock();
      const logger = new RecordingLogger();
      const down = link(() => ({ kind: 'error', reason: 'ECONNREFUSED' }));
      const side = new AntiEntropy(a, clock, NEVER, logger, [down], LIMITS, OPTIONS);
      await side.runRound();
      expect(side.statsFor(URL)).toMatchObject({ state: 'failing', failures: 1, lastError: 'ECONNREFUSED', inSyncSince: 0 });
    });
  });

  describe('settling', () => {
    it('leaves an application that just changed here out of one round, and compares it in the next whatever happens', async () => {
      const { a, b, aSide, toB, clock, held } = pair();
      for (const r of [a, b]) r.register(makeInstance({ id: '1' }), true);
      a.register(makeInstance({ app: 'BILLING', id: '9' }), true);
      clock.advance(OPTIONS.intervalMs);
      // ORDERS changes right before the round: its change is most likely on its way by replication.
      a.updateMetadata('ORDERS', '1', { k: 'v' }, true);
      await aSide.runRound();
      expect(aSide.statsFor(URL)).toMatchObject({ appsDiffering: 2, instancesRepaired: 1 });
      expect(b.lease('BILLING', '9')).toBeDefined();
      expect(b.lease('ORDERS', '1')!.record.instance.metadata).toEqual({});
      // It changes again right before the next round: compared this time all the same.
      a.updateMetadata('ORDERS', '1', { k: 'w' }, true);
      await aSide.runRound();
      expect(held(b)).toEqual(held(a));
      expect(toB.paths.filter((p) => p === 'versions')).toHaveLength(2);
    });

    it('remembers only the last few seconds of changes when no round runs', () => {
      const { a, aSide, clock } = pair();
      for (let n = 0; n < 5000; n++) {
        a.register(makeInstance({ app: `APP-${n}`, id: 'x' }), true);
        a.cancel(`APP-${n}`, 'x');
        clock.advance(10);
      }
      // 5000 applications came and went over 50 s; the settling time is 500 ms here.
      const remembered = (): number => (aSide as unknown as { changedAt: Map<string, number> }).changedAt.size;
      expect(remembered()).toBeLessThanOrEqual(4096);
      // A burst of 10,000 applications within the settling time: the oldest are forgotten, at most 4,096 kept.
      for (let n = 0; n < 10_000; n++) a.register(makeInstance({ app: `BURST-${n}`, id: 'x' }), true);
      expect(remembered()).toBe(4096);
    });
  });

  describe('catchUp', () => {
    // The digest a side would hold had it fingerprinted every change: the same registry, digested from scratch.
    const fresh = (r: Registry, clock: ManualClock) => new AntiEntropy(r, clock, NEVER, new RecordingLogger(), [], LIMITS, OPTIONS).digest;

    it('leaves changes unhashed while deferred, then rebuilds a digest equal to one built from scratch, changes during the rebuild included', async () => {
      const { clock, a, aSide } = pair();
      a.register(makeInstance({ app: 'OLD', id: 'gone-while-deferred' }));
      a.register(makeInstance({ app: 'OLD', id: 'kept' }));
      aSide.defer();
      for (let i = 0; i < 50; i++) a.register(makeInstance({ app: `APP-${i % 5}`, id: `i-${i}` }));
      a.cancel('OLD', 'gone-while-deferred', false);
      // Deferred: the digest still holds what it held before, not the 50 instances installed since.
      expect(aSide.digest.size).toBe(2);

      const rebuilding = aSide.catchUp(7);
      // Between slices the registry keeps changing: a new instance, a cancel, a status change.
      for (let turn = 0; turn < 3; turn++) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        a.register(makeInstance({ app: 'APP-1', id: `late-${turn}` }));
        a.cancel('APP-2', `i-${2 + 5 * turn}`, false);
        a.statusUpdate('APP-3', `i-${3 + 5 * turn}`, 'OUT_OF_SERVICE', undefined, false);
      }
      await rebuilding;
      const expected = fresh(a, clock);
      expect(aSide.digest.size).toBe(a.size);
      expect(aSide.digest.root).toEqual(expected.root);
      expect([...aSide.digest.applications()].sort()).toEqual([...expected.applications()].sort());
      // And incremental again afterwards.
      a.register(makeInstance({ app: 'APP-4', id: 'after' }));
      expect(aSide.digest.root).toEqual(fresh(a, clock).root);
    });

    it('makes a round wait for the rebuild, so that the first comparison after a sync sees the registry as it is', async () => {
      const { a, b, aSide, toB } = pair();
      for (let i = 0; i < 20; i++) {
        a.register(makeInstance({ app: 'SAME', id: `i-${i}` }), true, 1_000);
        b.register(makeInstance({ app: 'SAME', id: `i-${i}` }), true, 1_000);
      }
      aSide.defer();
      aSide.catchUp(3);
      await aSide.runRound();
      // Equal registries: one digest exchange, nothing more.
      expect(toB.paths).toEqual(['digest']);
      expect(aSide.statsFor(URL)).toMatchObject({ state: 'in-sync' });
    });
  });
});
