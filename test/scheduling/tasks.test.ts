import { alwaysExpire, Evictor } from '../../src/domain/eviction';
import { SelfPreservation } from '../../src/domain/self-preservation';
import { silentLogger } from '../../src/observability/logger';
import { evictionTask, nextTurn } from '../../src/scheduling/tasks';
import { makeRegistry } from '../domain/registry-fixture';
import { makeInstance } from '../helpers/instances';

describe('evictionTask in slices', () => {
  function setup() {
    const { registry, clock, events } = makeRegistry();
    for (let i = 0; i < 10; i++) registry.register(makeInstance({ id: `i${i}`, durationSecs: 30 }));
    const sp = new SelfPreservation(clock, { enabled: false, renewalPercentThreshold: 0.85, minInstances: 10, windowMs: 60_000, minRenewalIntervalSecs: 10, maxRenewalIntervalSecs: 300 }, clock.now() - 60_000);
    const evictor = new Evictor(registry, alwaysExpire, { intervalMs: 5000, maxFraction: 1, random: () => 0 });
    const evicted = () => events.filter((e) => e.type === 'evicted').length;
    return { registry, clock, sp, evictor, evicted };
  }

  it('evicts what expired, walking the registry a slice per turn of the event loop', async () => {
    const { clock, sp, evictor, evicted, registry } = setup();
    let pauses = 0;
    const task = evictionTask(evictor, sp, clock, silentLogger, { size: 3, pause: () => (pauses++, nextTurn()) });
    clock.advance(30_001);
    await task();
    expect(evicted()).toBe(10);
    expect(registry.size).toBe(0);
    expect(pauses).toBe(3);
  });

  it('skips a period whose pass is still walking', async () => {
    const { clock, sp, evictor, evicted } = setup();
    let release: () => void = () => undefined;
    const task = evictionTask(evictor, sp, clock, silentLogger, { size: 2, pause: () => new Promise<void>((resolve) => (release = resolve)) });
    clock.advance(30_001);
    const first = task();
    expect(first).toBeInstanceOf(Promise);
    // The next period comes while the first pass waits between slices: nothing more is started.
    expect(task()).toBeUndefined();
    for (let i = 0; i < 5; i++) {
      release();
      await nextTurn();
    }
    await first;
    expect(evicted()).toBe(10);
    // The pass over, the next period runs one again.
    expect(task()).toBeInstanceOf(Promise);
  });
});
