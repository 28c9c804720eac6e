// The dashboard's recent registrations and removals: ring buffers fed by registry events.
import { ManualClock } from '../../src/domain/clock';
import { Registry } from '../../src/domain/registry';
import { RecentChanges, RingBuffer } from '../../src/observability/recent-changes';
import { makeInstance } from '../helpers/instances';

describe('RingBuffer', () => {
  it('keeps the newest items, newest first, and overwrites the oldest past its capacity', () => {
    const ring = new RingBuffer<number>(3);
    expect(ring.newest()).toEqual([]);
    ring.push(1);
    ring.push(2);
    expect(ring.newest()).toEqual([2, 1]);
    for (let i = 3; i <= 7; i++) ring.push(i);
    expect(ring.size).toBe(3);
    expect(ring.newest()).toEqual([7, 6, 5]);
    expect(ring.newest(2)).toEqual([7, 6]);
    expect(ring.newest(10)).toEqual([7, 6, 5]);
  });

  it('refuses a capacity below one', () => {
    expect(() => new RingBuffer(0)).toThrow(RangeError);
  });
});

describe('RecentChanges', () => {
  it('records registrations, re-registrations, cancels and evictions with their origin, and ignores heartbeats', () => {
    const clock = new ManualClock(1_700_000_000_000);
    const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 100 });
    const recent = new RecentChanges(registry, () => clock.now(), 1000);
    registry.register(makeInstance({ id: 'a', metadata: { zone: 'us-east-1a' } }));
    clock.advance(1000);
    registry.register(makeInstance({ id: 'b' }), true);
    registry.register(makeInstance({ id: 'a', metadata: { zone: 'us-east-1a' }, lastDirtyTimestamp: 2 }));
    registry.renew('ORDERS', 'a', { isReplication: false });
    registry.cancel('ORDERS', 'a');
    registry.evict('ORDERS', 'b');

    expect(recent.registrations.newest().map((c) => [c.kind, c.id, c.origin])).toEqual([
      ['re-registered', 'a', 'client'],
      ['registered', 'b', 'peer'],
      ['registered', 'a', 'client'],
    ]);
    const first = recent.registrations.newest()[2];
    expect(first).toMatchObject({ at: 1_700_000_000_000, app: 'ORDERS', hostName: '10.0.0.7', ipAddr: '10.0.0.7', port: 8080, status: 'UP', zone: 'us-east-1a' });
    expect(recent.removals.newest().map((c) => [c.kind, c.id, c.origin])).toEqual([
      ['evicted', 'b', 'server'],
      ['cancelled', 'a', 'client'],
    ]);

    recent.close();
    registry.register(makeInstance({ id: 'c' }));
    expect(recent.registrations.size).toBe(3);
  });

  it('keeps the last 1000 of each kind by default', () => {
    const clock = new ManualClock();
    const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 10_000 });
    const recent = new RecentChanges(registry, () => clock.now());
    for (let i = 0; i < 1200; i++) registry.register(makeInstance({ id: `i-${i}` }));
    expect(recent.registrations.size).toBe(1000);
    expect(recent.registrations.newest(1)[0].id).toBe('i-1199');
    expect(recent.registrations.newest()[999].id).toBe('i-200');
  });
});
