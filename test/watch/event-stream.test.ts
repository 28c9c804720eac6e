// Event streams with the injected clock and scheduler: what a stream says, in what order, and when it is ended.
import { ManualClock } from '../../src/domain/clock';
import { Registry } from '../../src/domain/registry';
import { EventStreams, StreamSink } from '../../src/watch/event-stream';
import { makeInstance } from '../helpers/instances';
import { ManualScheduler } from '../helpers/replication-scheduler';

const KEEP_ALIVE_MS = 15_000;

class Sink implements StreamSink {
  text = '';
  ended = false;
  accept = true;
  write(chunk: string): boolean {
    this.text += chunk;
    return this.accept;
  }
  end(): void {
    this.ended = true;
  }
  /** Parsed events: name, id and data of each (comments and retry lines left out). */
  events(): { event: string; id?: number; data: Record<string, unknown> }[] {
    return this.text
      .split('\n\n')
      .filter((block) => block.includes('event: '))
      .map((block) => {
        const field = (name: string) => block.split('\n').find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
        const id = field('id');
        return { event: field('event') as string, id: id === undefined ? undefined : Number(id), data: JSON.parse(field('data') as string) };
      });
  }
}

function setup(deltaRetentionMs = 180_000) {
  const clock = new ManualClock();
  const scheduler = new ManualScheduler(clock);
  const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs, maxInstancesPerApp: 1000 });
  const streams = new EventStreams(registry, clock, scheduler, { keepAliveMs: KEEP_ALIVE_MS, serverId: 'server-1' });
  return { clock, scheduler, registry, streams };
}

describe('EventStreams', () => {
  describe('open', () => {
    it('starts with the retry delay and a ready event at the current revision', () => {
      const { registry, streams } = setup();
      registry.register(makeInstance({ id: 'a' }));
      const sink = new Sink();
      streams.open(sink, {});
      expect(sink.text.startsWith('retry: 3000\n\n')).toBe(true);
      expect(sink.events()).toEqual([{ event: 'ready', id: 1, data: { revision: 1, server: 'server-1' } }]);
      expect(streams.size).toBe(1);
    });

    it('sends each later change with its revision as id, action, app and the instance', () => {
      const { registry, streams } = setup();
      const sink = new Sink();
      streams.open(sink, {});
      registry.register(makeInstance({ id: 'a' }));
      registry.statusUpdate('ORDERS', 'a', 'OUT_OF_SERVICE', undefined);
      registry.cancel('ORDERS', 'a');
      const changes = sink.events().filter((e) => e.event === 'change');
      expect(changes.map((e) => [e.id, e.data.action, e.data.app, e.data.revision])).toEqual([
        [1, 'ADDED', 'ORDERS', 1],
        [2, 'MODIFIED', 'ORDERS', 2],
        [3, 'DELETED', 'ORDERS', 3],
      ]);
      expect((changes[1].data.instance as { status: string }).status).toBe('OUT_OF_SERVICE');
      expect((changes[0].data.instance as { instanceId: string }).instanceId).toBe('a');
    });

    it('sends nothing for heartbeats', () => {
      const { registry, streams } = setup();
      registry.register(makeInstance({ id: 'a' }));
      const sink = new Sink();
      streams.open(sink, {});
      const before = sink.text;
      registry.renew('ORDERS', 'a', { isReplication: false });
      expect(sink.text).toBe(before);
    });

    it('resumes after a revision: the missed changes, oldest first, then ready', () => {
      const { registry, streams } = setup();
      registry.register(makeInstance({ id: 'a' }));
      registry.register(makeInstance({ id: 'b' }));
      registry.register(makeInstance({ id: 'c' }));
      const sink = new Sink();
      streams.open(sink, { since: 1 });
      expect(sink.events().map((e) => [e.event, e.id])).toEqual([
        ['change', 2],
        ['change', 3],
        ['ready', 3],
      ]);
    });

    it('sends reset when the log no longer covers the revision, or it is ahead of ours', () => {
      const { clock, registry, streams } = setup(1_000);
      registry.register(makeInstance({ id: 'a' }));
      clock.advance(2_000);
      registry.register(makeInstance({ id: 'b' }));
      const old = new Sink();
      streams.open(old, { since: 0 });
      expect(old.events().map((e) => e.event)).toEqual(['reset', 'ready']);
      expect(old.events()[0].data).toEqual({ revision: 2, server: 'server-1' });
      const ahead = new Sink();
      streams.open(ahead, { since: 99 });
      expect(ahead.events().map((e) => e.event)).toEqual(['reset', 'ready']);
    });

    it('keeps only the changes of the app asked for, in the resume and live', () => {
      const { registry, streams } = setup();
      registry.register(makeInstance({ app: 'BILLING', id: 'x' }));
      registry.register(makeInstance({ app: 'ORDERS', id: 'a' }));
      const sink = new Sink();
      streams.open(sink, { app: 'ORDERS', since: 0 });
      registry.register(makeInstance({ app: 'BILLING', id: 'y' }));
      registry.register(makeInstance({ app: 'ORDERS', id: 'b' }));
      expect(sink.events().filter((e) => e.event === 'change').map((e) => e.id)).toEqual([2, 4]);
    });

    it('ends a stream whose opening cannot be written', () => {
      const { streams } = setup();
      const sink = new Sink();
      sink.accept = false;
      streams.open(sink, {});
      expect(sink.ended).toBe(true);
      expect(streams.size).toBe(0);
    });
  });

  describe('keep-alive', () => {
    it('writes a comment to every stream each period', async () => {
      const { scheduler, streams } = setup();
      const sink = new Sink();
      streams.open(sink, {});
      await scheduler.advance(KEEP_ALIVE_MS * 2);
      expect(sink.text.match(/^: keep-alive$/gm)).toHaveLength(2);
    });
  });

  describe('backlog', () => {
    it('ends a stream whose client reads too slowly and forgets it', () => {
      const { registry, streams } = setup();
      const slow = new Sink();
      const fast = new Sink();
      streams.open(slow, {});
      streams.open(fast, {});
      slow.accept = false;
      registry.register(makeInstance({ id: 'a' }));
      expect(slow.ended).toBe(true);
      expect(fast.ended).toBe(false);
      expect(streams.size).toBe(1);
    });
  });

  describe('close', () => {
    it('ends every stream, forgets a closed one, and opens no more', () => {
      const { registry, streams } = setup();
      const a = new Sink();
      const b = new Sink();
      const handle = streams.open(a, {});
      streams.open(b, {});
      handle.close();
      expect(streams.size).toBe(1);
      streams.close();
      expect(b.ended).toBe(true);
      expect(a.ended).toBe(false);
      const late = new Sink();
      streams.open(late, {});
      expect(late.ended).toBe(true);
      const before = b.text;
      registry.register(makeInstance({ id: 'a' }));
      expect(b.text).toBe(before);
    });
  });
});
