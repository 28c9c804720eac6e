// Selection strategies with a seeded random: round-robin order, uniform random, weights from metadata, own zone
// first.
import { pickRandom, pickWeighted, preferZone, Selector, weightOf } from '../../src/client/selection';
import { inst, seededRandom } from './helpers';

const five = [0, 1, 2, 3, 4].map((n) => inst({ id: `o-${n}` }));

function tally(pick: () => { id: string } | undefined, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const id = pick()?.id ?? 'none';
    out[id] = (out[id] ?? 0) + 1;
  }
  return out;
}

describe('Selector', () => {
  it('round-robin cycles through the candidates in order, one sequence per key', () => {
    const s = new Selector(seededRandom(1), undefined);
    expect(Array.from({ length: 7 }, () => s.choose('orders', five, 'round-robin')?.id)).toEqual(['o-0', 'o-1', 'o-2', 'o-3', 'o-4', 'o-0', 'o-1']);
    expect(s.choose('billing', five, 'round-robin')?.id).toBe('o-0');
    expect(s.choose('orders', [], 'round-robin')).toBeUndefined();
  });

  it('random picks every candidate about equally often, reproducibly with a seed', () => {
    const a = new Selector(seededRandom(42), undefined);
    const b = new Selector(seededRandom(42), undefined);
    const seqA = Array.from({ length: 20 }, () => a.choose('k', five, 'random')?.id);
    const seqB = Array.from({ length: 20 }, () => b.choose('k', five, 'random')?.id);
    expect(seqA).toEqual(seqB);
    const counts = tally(() => a.choose('k', five, 'random'), 5000);
    for (const i of five) expect(counts[i.id]).toBeGreaterThan(850); // 1000 expected each
  });

  it('weighted follows metadata weight (default 1; 0 never chosen)', () => {
    const candidates = [inst({ id: 'heavy', metadata: { weight: '3' } }), inst({ id: 'plain' }), inst({ id: 'drained', metadata: { weight: '0' } })];
    const s = new Selector(seededRandom(7), undefined);
    const counts = tally(() => s.choose('k', candidates, 'weighted'), 8000);
    expect(counts['drained']).toBeUndefined();
    expect(counts['heavy'] / counts['plain']).toBeGreaterThan(2.6);
    expect(counts['heavy'] / counts['plain']).toBeLessThan(3.4);
  });

  it('zone-aware takes the own zone while it has candidates, the other zones otherwise', () => {
    const a1 = inst({ id: 'a1', metadata: { zone: 'zone-a' } });
    const a2 = inst({ id: 'a2', metadata: { zone: 'zone-a' } });
    const b1 = inst({ id: 'b1', metadata: { zone: 'zone-b' } });
    const c1 = inst({ id: 'c1', metadata: { zone: 'zone-c' } });
    const s = new Selector(seededRandom(3), 'zone-a');
    expect(Array.from({ length: 4 }, () => s.choose('k', [a1, b1, a2, c1], 'zone-aware')?.id)).toEqual(['a1', 'a2', 'a1', 'a2']);
    expect(new Set(Array.from({ length: 4 }, () => s.choose('k2', [b1, c1], 'zone-aware')?.id))).toEqual(new Set(['b1', 'c1']));
    // Without an own zone it is plain round-robin.
    expect(new Selector(seededRandom(3), undefined).choose('k', [b1, a1], 'zone-aware')?.id).toBe('b1');
  });
});

describe('selection helpers', () => {
  it('weightOf reads metadata weight, 1 when absent or malformed', () => {
    expect(weightOf(inst({ id: 'a' }))).toBe(1);
    expect(weightOf(inst({ id: 'a', metadata: { weight: '2.5' } }))).toBe(2.5);
    expect(weightOf(inst({ id: 'a', metadata: { weight: 'heavy' } }))).toBe(1);
    expect(weightOf(inst({ id: 'a', metadata: { weight: '-4' } }))).toBe(1);
    expect(weightOf(inst({ id: 'a', metadata: { weight: '0' } }))).toBe(0);
  });

  it('pickWeighted maps the random point onto cumulative weights; all-zero weights pick nothing', () => {
    const c = [inst({ id: 'a', metadata: { weight: '1' } }), inst({ id: 'b', metadata: { weight: '0' } }), inst({ id: 'c', metadata: { weight: '3' } })];
    expect(pickWeighted(c, () => 0)?.id).toBe('a');
    expect(pickWeighted(c, () => 0.24)?.id).toBe('a');
    expect(pickWeighted(c, () => 0.26)?.id).toBe('c');
    expect(pickWeighted(c, () => 0.999999)?.id).toBe('c');
    expect(pickWeighted([inst({ id: 'z', metadata: { weight: '0' } })], () => 0.5)).toBeUndefined();
  });

  it('pickRandom and preferZone', () => {
    expect(pickRandom([], () => 0.5)).toBeUndefined();
    expect(pickRandom(['x', 'y'], () => 0.99999)).toBe('y');
    const amazon = { ...inst({ id: 'aws' }), dataCenterInfo: { name: 'Amazon', className: 'com.netflix.appinfo.AmazonInfo', metadata: { 'availability-zone': 'us-east-1a' } } };
    expect(preferZone([inst({ id: 'x' }), amazon], 'us-east-1a')).toEqual([amazon]);
    expect(preferZone([inst({ id: 'x' })], 'us-east-1a')).toHaveLength(1);
  });
});
