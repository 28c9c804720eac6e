// The watch hub with the injected clock and scheduler: who is woken, when, how often, and what is bounded.
import { ManualClock } from '../../src/domain/clock';
import { Registry } from '../../src/domain/registry';
import { jitteredWaitMs, WakeReason, WatchHub } from '../../src/watch/watch-hub';
import { makeInstance } from '../helpers/instances';
import { ManualScheduler, settle } from '../helpers/replication-scheduler';

function setup(options: { maxWatchers?: number; random?: () => number; maxWaitMs?: number } = {}) {
  const clock = new ManualClock();
  const scheduler = new ManualScheduler(clock);
  const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 1000 });
  const hub = new WatchHub(registry, scheduler, { maxWaitMs: options.maxWaitMs ?? 300_000, maxWatchers: options.maxWatchers ?? 100, random: options.random ?? (() => 0) });
  const answers: WakeReason[] = [];
  const park = (waitMs = 30_000) => hub.park(waitMs, (reason) => answers.push(reason));
  return { clock, scheduler, registry, hub, answers, park };
}

describe('WatchHub', () => {
  describe('park', () => {
    it('answers every parked watcher once, after the turn in which the registry changed', async () => {
      const { registry, hub, answers, park } = setup();
      park();
      park();
      registry.register(makeInstance({ id: 'a' }));
      expect(answers).toEqual([]);
      await settle(1);
      expect(answers).toEqual(['change', 'change']);
      expect(hub.size).toBe(0);
    });

    it('wakes watchers once for several changes made in the same turn', async () => {
      const { registry, answers, park } = setup();
      park();
      registry.register(makeInstance({ id: 'a' }));
      registry.register(makeInstance({ id: 'b' }));
      registry.cancel('ORDERS', 'a');
      await settle(1);
      expect(answers).toEqual(['change']);
    });

    it('does not wake anyone on heartbeats', async () => {
      const { registry, hub, answers, park } = setup();
      registry.register(makeInstance({ id: 'a' }));
      await settle(1);
      park();
      registry.renew('ORDERS', 'a', { isReplication: false });
      registry.renew('ORDERS', 'a', { isReplication: true });
      await settle(2);
      expect(answers).toEqual([]);
      expect(hub.size).toBe(1);
    });

    it.each([
      ['a cancel', (r: Registry) => r.cancel('ORDERS', 'a')],
      ['an eviction', (r: Registry) => void r.evict('ORDERS', 'a')],
      ['a status override', (r: Registry) => r.statusUpdate('ORDERS', 'a', 'OUT_OF_SERVICE', undefined)],
      ['a metadata update', (r: Registry) => r.updateMetadata('ORDERS', 'a', { k: 'v' })],
      ['a replicated registration', (r: Registry) => void r.register(makeInstance({ id: 'b' }), true)],
      ['an override carried by a peer heartbeat', (r: Registry) => void r.renew('ORDERS', 'a', { isReplication: true, overriddenStatus: 'DOWN' })],
    ])('wakes watchers on %s', async (_what, change) => {
      const { registry, answers, park } = setup();
      registry.register(makeInstance({ id: 'a' }));
      await settle(1);
      park();
      change(registry);
      await settle(1);
      expect(answers).toEqual(['change']);
    });

    it('answers when the wait runs out, not before', async () => {
      const { scheduler, hub, answers, park } = setup();
      park(10_000);
      await scheduler.advance(9_999);
      expect(answers).toEqual([]);
      await scheduler.advance(1);
      expect(answers).toEqual(['timeout']);
      expect(hub.size).toBe(0);
    });

    it('clamps a wait longer than the maximum', async () => {
      const { scheduler, answers, park } = setup({ maxWaitMs: 60_000 });
      park(3_600_000);
      await scheduler.advance(60_000);
      expect(answers).toEqual(['timeout']);
    });

    it('adds up to a sixteenth of the wait at random', async () => {
      const { scheduler, answers, park } = setup({ random: () => 0.999 });
      park(16_000);
      await scheduler.advance(16_000);
      expect(answers).toEqual([]);
      await scheduler.advance(999);
      expect(answers).toEqual(['timeout']);
    });

    it('forgets a cancelled watcher and its timer', async () => {
      const { registry, scheduler, hub, answers, park } = setup();
      const parked = park();
      parked.cancel();
      expect(hub.size).toBe(0);
      expect(scheduler.pending).toBe(0);
      registry.register(makeInstance({ id: 'a' }));
      await scheduler.advance(60_000);
      expect(answers).toEqual([]);
    });

    it('cancels the timer of a watcher woken by a change', async () => {
      const { registry, scheduler, answers, park } = setup();
      park();
      registry.register(makeInstance({ id: 'a' }));
      await settle(1);
      expect(scheduler.pending).toBe(0);
      await scheduler.advance(60_000);
      expect(answers).toEqual(['change']);
    });
  });

  describe('admits', () => {
    it('refuses past maxWatchers, counting parked watchers and the other watches it shares the cap with', () => {
      const { hub, park } = setup({ maxWatchers: 3 });
      let streams = 1;
      hub.shareCapWith(() => streams);
      park();
      expect(hub.admits()).toBe(true);
      park();
      expect(hub.admits()).toBe(false);
      streams = 0;
      expect(hub.admits()).toBe(true);
      expect(hub.stats.refused).toBe(1);
    });

    it('admits nothing with maxWatchers 0', () => {
      expect(setup({ maxWatchers: 0 }).hub.admits()).toBe(false);
    });
  });

  describe('close', () => {
    it('answers every parked watcher with shutdown, then answers new ones at once', async () => {
      const { registry, hub, answers, park } = setup();
      park();
      park();
      hub.close();
      expect(answers).toEqual(['shutdown', 'shutdown']);
      park();
      expect(answers).toEqual(['shutdown', 'shutdown', 'shutdown']);
      expect(hub.admits()).toBe(false);
      registry.register(makeInstance({ id: 'a' }));
      await settle(1);
      expect(answers).toHaveLength(3);
      expect(hub.stats.answered).toEqual({ change: 0, timeout: 0, shutdown: 3 });
    });
  });

  describe('jitteredWaitMs', () => {
    it('stays within the clamped wait and a sixteenth more', () => {
      for (const r of [0, 0.5, 0.999999]) {
        const wait = jitteredWaitMs(32_000, 300_000, () => r);
        expect(wait).toBeGreaterThanOrEqual(32_000);
        expect(wait).toBeLessThanOrEqual(34_000);
      }
      expect(jitteredWaitMs(-5, 300_000, () => 0.5)).toBe(0);
      expect(jitteredWaitMs(600_000, 300_000, () => 0)).toBe(300_000);
    });
  });
});
