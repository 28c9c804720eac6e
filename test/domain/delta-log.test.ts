import { DeltaLog, estimatedChangeBytes } from '../../src/domain/delta-log';
import { InstanceView } from '../../src/domain/model';
import { makeInstance } from '../helpers/instances';

const T0 = 1_700_000_000_000;
const RETENTION = 180_000;

function view(id: string, revision: number, metadata: Record<string, string> = {}, app?: string): InstanceView {
  return {
    record: {
      instance: makeInstance({ id, metadata, ...(app === undefined ? {} : { app }) }),
      statusSource: 'client',
      actionType: 'ADDED',
      lastUpdatedTimestamp: T0,
      registrationTimestamp: T0,
      serviceUpTimestamp: T0,
      evictionTimestamp: 0,
      revision,
    },
    lastRenewalTimestamp: T0,
  };
}

describe('DeltaLog', () => {
  describe('record', () => {
    it('keeps one entry per key with the latest view', () => {
      const log = new DeltaLog(RETENTION);
      const first = view('a', 1);
      const second = view('a', 2);
      log.record('ORDERS/a', first, T0);
      log.record('ORDERS/a', second, T0 + 1_000);
      expect(log.size).toBe(1);
      expect(log.changes(T0 + 1_000)).toEqual([second]);
    });

    it('moves a changed key to the end so the log stays ordered by change time', () => {
      const log = new DeltaLog(RETENTION);
      const a1 = view('a', 1);
      const b = view('b', 2);
      const a2 = view('a', 3);
      log.record('ORDERS/a', a1, T0);
      log.record('ORDERS/b', b, T0 + 1_000);
      log.record('ORDERS/a', a2, T0 + 2_000);
      expect(log.changes(T0 + 2_000)).toEqual([b, a2]);
    });

    it('drops the oldest changes once the estimated bytes pass maxBytes, and counts them', () => {
      const one = estimatedChangeBytes(view('a', 1).record.instance);
      const log = new DeltaLog(RETENTION, 2 * one + one / 2);
      log.record('ORDERS/a', view('a', 1), T0);
      log.record('ORDERS/b', view('b', 2), T0);
      log.record('ORDERS/a', view('a', 3), T0);
      expect(log.droppedEarly).toBe(0);
      const c = view('c', 4);
      log.record('ORDERS/c', c, T0);
      expect(log.changes(T0).map((v) => v.record.revision)).toEqual([3, 4]);
      expect(log.droppedEarly).toBe(1);
      expect(log.bytes).toBe(2 * one);
    });

    it('keeps the latest change even when it alone is larger than maxBytes', () => {
      const log = new DeltaLog(RETENTION, 1);
      log.record('ORDERS/a', view('a', 1), T0);
      log.record('ORDERS/b', view('b', 2), T0);
      expect(log.changes(T0).map((v) => v.record.revision)).toEqual([2]);
    });
  });

  describe('bytes', () => {
    it('follows replaced and pruned entries back to zero', () => {
      const log = new DeltaLog(RETENTION);
      log.record('ORDERS/a', view('a', 1), T0);
      log.record('ORDERS/a', view('a', 2, { big: 'x'.repeat(1000) }), T0 + 1);
      log.record('ORDERS/b', view('b', 3), T0 + 2);
      expect(log.bytes).toBe(estimatedChangeBytes(view('a', 2, { big: 'x'.repeat(1000) }).record.instance) + estimatedChangeBytes(view('b', 3).record.instance));
      log.prune(T0 + RETENTION + 10);
      expect(log.bytes).toBe(0);
    });
  });

  describe('estimatedChangeBytes', () => {
    it('grows with the metadata an instance carries', () => {
      const small = estimatedChangeBytes(view('a', 1).record.instance);
      const large = estimatedChangeBytes(view('a', 1, { key: 'v'.repeat(10_000) }).record.instance);
      expect(large - small).toBeGreaterThanOrEqual(3 * 10_000);
    });
  });

  describe('prune', () => {
    it('drops entries older than the retention window and returns how many', () => {
      const log = new DeltaLog(RETENTION);
      log.record('ORDERS/a', view('a', 1), T0);
      log.record('ORDERS/b', view('b', 2), T0 + 10_000);
      expect(log.prune(T0 + RETENTION + 1)).toBe(1);
      expect(log.size).toBe(1);
    });

    it('keeps an entry exactly retention old', () => {
      const log = new DeltaLog(RETENTION);
      log.record('ORDERS/a', view('a', 1), T0);
      expect(log.prune(T0 + RETENTION)).toBe(0);
      expect(log.size).toBe(1);
    });

    it('keeps a re-recorded key by its latest change time', () => {
      const log = new DeltaLog(RETENTION);
      log.record('ORDERS/a', view('a', 1), T0);
      log.record('ORDERS/b', view('b', 2), T0 + 1_000);
      log.record('ORDERS/a', view('a', 3), T0 + 100_000);
      expect(log.prune(T0 + RETENTION + 1_001)).toBe(1);
      expect(log.changes(T0 + RETENTION + 1_001).map((v) => v.record.revision)).toEqual([3]);
    });
  });

  describe('changes', () => {
    it('prunes before answering', () => {
      const log = new DeltaLog(RETENTION);
      const b = view('b', 2);
      log.record('ORDERS/a', view('a', 1), T0);
      log.record('ORDERS/b', b, T0 + 60_000);
      expect(log.changes(T0 + RETENTION + 1)).toEqual([b]);
      expect(log.size).toBe(1);
    });

    it('returns an empty list when every change is past retention', () => {
      const log = new DeltaLog(RETENTION);
      log.record('ORDERS/a', view('a', 1), T0);
      expect(log.changes(T0 + RETENTION + 1)).toEqual([]);
    });
  });

  describe('changesSince', () => {
    const revisions = (out: InstanceView[] | 'gone'): number[] | 'gone' => (out === 'gone' ? out : out.map((v) => v.record.revision));

    it('returns only the changes recorded after the revision, oldest first', () => {
      const log = new DeltaLog(RETENTION);
      for (let r = 1; r <= 5; r++) log.record(`ORDERS/${r}`, view(String(r), r), T0 + r);
      expect(revisions(log.changesSince(3, 5))).toEqual([4, 5]);
      expect(revisions(log.changesSince(0, 5))).toEqual([1, 2, 3, 4, 5]);
      expect(revisions(log.changesSince(5, 5))).toEqual([]);
    });

    it('gives the latest state of an instance changed before and after the revision once', () => {
      const log = new DeltaLog(RETENTION);
      log.record('ORDERS/a', view('a', 1), T0);
      log.record('ORDERS/b', view('b', 2), T0);
      log.record('ORDERS/a', view('a', 3), T0);
      expect(revisions(log.changesSince(0, 3))).toEqual([2, 3]);
      expect(revisions(log.changesSince(2, 3))).toEqual([3]);
    });

    it('answers gone for a revision ahead of the newest one (another server or before a restart)', () => {
      const log = new DeltaLog(RETENTION);
      log.record('ORDERS/a', view('a', 1), T0);
      expect(log.changesSince(2, 1)).toBe('gone');
    });

    it('answers gone once a change after the revision has aged out, and covers the revisions after it', () => {
      const log = new DeltaLog(RETENTION);
      log.record('ORDERS/a', view('a', 1), T0);
      log.record('ORDERS/b', view('b', 2), T0 + 1_000);
      log.record('ORDERS/c', view('c', 3), T0 + 60_000);
      log.prune(T0 + RETENTION + 1_001);
      expect(log.coveredFrom).toBe(2);
      expect(log.changesSince(1, 3)).toBe('gone');
      expect(revisions(log.changesSince(2, 3))).toEqual([3]);
    });

    it('does not lose coverage when only a replaced change ages out', () => {
      const log = new DeltaLog(RETENTION);
      log.record('ORDERS/a', view('a', 1), T0);
      log.record('ORDERS/a', view('a', 2), T0 + 60_000);
      log.prune(T0 + RETENTION + 1);
      expect(log.coveredFrom).toBe(0);
      expect(revisions(log.changesSince(0, 2))).toEqual([2]);
    });

    it('answers gone for revisions whose changes left early to stay within the byte budget', () => {
      const one = estimatedChangeBytes(view('a', 1).record.instance);
      const log = new DeltaLog(RETENTION, one * 2);
      for (let r = 1; r <= 4; r++) log.record(`ORDERS/${r}`, view(String(r), r), T0);
      expect(log.coveredFrom).toBe(2);
      expect(log.changesSince(1, 4)).toBe('gone');
      expect(revisions(log.changesSince(2, 4))).toEqual([3, 4]);
    });

    it('agrees with a plain filter over thousands of changes, replaced and pruned ones among them', () => {
      const log = new DeltaLog(RETENTION);
      const latest = new Map<string, number>();
      let now = T0;
      for (let r = 1; r <= 5_000; r++) {
        const key = `ORDERS/${(r * 7919) % 1_300}`;
        now += 100;
        log.record(key, view(key, r), now);
        latest.set(key, r);
      }
      log.prune(now);
      const alive = [...latest.values()].filter((r) => r > log.coveredFrom).sort((a, b) => a - b);
      for (const since of [log.coveredFrom, 3_500, 4_990, 5_000]) {
        expect(revisions(log.changesSince(since, 5_000))).toEqual(alive.filter((r) => r > since));
      }
    });
  });

  describe('per application', () => {
    const ids = (log: DeltaLog, app: string): string[] => [...log.application(app)].map((v) => v.record.instance.id);

    it('lists applications in the order their first change came, each application oldest change first', () => {
      const log = new DeltaLog(RETENTION);
      log.record('B/1', view('1', 1, {}, 'B'), T0);
      log.record('A/2', view('2', 2, {}, 'A'), T0);
      log.record('B/3', view('3', 3, {}, 'B'), T0);
      log.record('B/1', view('1', 4, {}, 'B'), T0);
      expect([...log.applicationNames()]).toEqual(['B', 'A']);
      expect(ids(log, 'B')).toEqual(['3', '1']);
      expect(log.applicationSize('B')).toBe(2);
      expect(ids(log, 'C')).toEqual([]);
    });

    it('keeps an application whose only change is replaced in its place', () => {
      const log = new DeltaLog(RETENTION);
      log.record('A/1', view('1', 1, {}, 'A'), T0);
      log.record('B/2', view('2', 2, {}, 'B'), T0);
      log.record('A/1', view('1', 3, {}, 'A'), T0);
      expect([...log.applicationNames()]).toEqual(['A', 'B']);
    });

    it('lets an application leave with its last change and come back last', () => {
      const log = new DeltaLog(RETENTION);
      log.record('A/1', view('1', 1, {}, 'A'), T0);
      log.record('B/2', view('2', 2, {}, 'B'), T0 + 10_000);
      log.prune(T0 + RETENTION + 1);
      expect([...log.applicationNames()]).toEqual(['B']);
      log.record('A/3', view('3', 3, {}, 'A'), T0 + RETENTION + 1);
      expect([...log.applicationNames()]).toEqual(['B', 'A']);
    });

    it('tells listeners which application moved: recorded, replaced, aged out or dropped for bytes', () => {
      const big = { note: 'x'.repeat(2000) };
      const log = new DeltaLog(RETENTION, 3 * estimatedChangeBytes(view('1', 1, big, 'A').record.instance));
      const heard: string[] = [];
      const stop = log.subscribe((app) => heard.push(app));
      log.record('A/1', view('1', 1, big, 'A'), T0);
      log.record('B/2', view('2', 2, big, 'B'), T0 + 10_000);
      log.record('A/1', view('1', 3, big, 'A'), T0 + 10_000);
      expect(heard).toEqual(['A', 'B', 'A']);
      heard.length = 0;
      log.record('C/3', view('3', 4, big, 'C'), T0 + 10_000);
      log.record('D/4', view('4', 5, big, 'D'), T0 + 10_000);
      // The fourth change passed the budget: the oldest (B's) left.
      expect(heard).toEqual(['C', 'D', 'B']);
      heard.length = 0;
      log.prune(T0 + 10_000 + RETENTION + 1);
      expect(heard.sort()).toEqual(['A', 'C', 'D']);
      expect([...log.applicationNames()]).toEqual([]);
      stop();
      log.record('E/5', view('5', 6, big, 'E'), T0 + 10_000 + RETENTION + 1);
      expect(heard.sort()).toEqual(['A', 'C', 'D']);
    });
  });

  describe('size', () => {
    it('counts entries without pruning', () => {
      const log = new DeltaLog(RETENTION);
      log.record('ORDERS/a', view('a', 1), T0);
      log.record('ORDERS/b', view('b', 2), T0);
      expect(log.size).toBe(2);
    });
  });
});
