import { instanceJson } from '../../src/codecs/json';
import { ManualClock } from '../../src/domain/clock';
import { LOSS_SUMMARY_MS, PeerNode, PeerNodeOptions, ResultHandler, toItem } from '../../src/replication/peer-node';
import { encodeReplicationList } from '../../src/replication/protocol';
import { makeInstance } from '../helpers/instances';
import { peerTask, RecordingLogger, TASK_EXPIRY_MS, viewOf } from '../helpers/replication-fixtures';
import { allOk, failed, later, ok, retry, ScriptedPeerClient } from '../helpers/replication-peer-client';
import { ManualScheduler } from '../helpers/replication-scheduler';

const OPTIONS: PeerNodeOptions = { batchSize: 250, maxBatchingDelayMs: 500, maxPending: 10_000, retryBaseMs: 100, retryMaxMs: 5000, random: () => 0.5 };

/** Records what the node asks its handler to do. */
class RecordingHandler implements ResultHandler {
  readonly missing: [PeerNode, string, string][] = [];
  readonly newer: [PeerNode, string, string, unknown][] = [];
  missingOnPeer(node: PeerNode, app: string, id: string): void {
    this.missing.push([node, app, id]);
  }
  newerOnPeer(node: PeerNode, app: string, id: string, entity: unknown): void {
    this.newer.push([node, app, id, entity]);
  }
}

function setup(options: Partial<PeerNodeOptions> = {}, client = new ScriptedPeerClient()) {
  const clock = new ManualClock();
  const scheduler = new ManualScheduler(clock);
  const handler = new RecordingHandler();
  const logger = new RecordingLogger();
  const node = new PeerNode(client, handler, clock, scheduler, logger, { ...OPTIONS, ...options });
  return { clock, scheduler, handler, logger, node, client };
}

/** Sends a batch that the (retrying) client refuses, and returns the pause the node schedules afterwards. */
async function pauseAfterNextSend(s: ReturnType<typeof setup>): Promise<number> {
  const [delay] = s.scheduler.delays();
  await s.scheduler.advance(delay);
  const delays = s.scheduler.delays();
  expect(delays).toHaveLength(1);
  return delays[0];
}

describe('PeerNode', () => {
  describe('enqueue', () => {
    it('sends nothing before the oldest task has waited maxBatchingDelayMs', async () => {
      const s = setup();
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      await s.scheduler.advance(499);
      expect(s.client.bodies).toHaveLength(0);
      expect(s.node.queueDepth).toBe(1);
    });

    it('sends the pending tasks as one batch once the oldest has waited maxBatchingDelayMs', async () => {
      const s = setup();
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      await s.scheduler.advance(200);
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'b'));
      await s.scheduler.advance(300);
      expect(s.client.batches).toEqual([
        [
          { appName: 'ORDERS', id: 'a', action: 'Cancel' },
          { appName: 'ORDERS', id: 'b', action: 'Cancel' },
        ],
      ]);
      expect(s.node.queueDepth).toBe(0);
    });

    it('sends at once when batchSize tasks are pending', async () => {
      const s = setup({ batchSize: 3 });
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'b'));
      await s.scheduler.runDue();
      expect(s.client.bodies).toHaveLength(0);
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'c'));
      await s.scheduler.runDue();
      expect(s.client.batches.map((b) => b.map((i) => i.id))).toEqual([['a', 'b', 'c']]);
    });

    it('splits a long queue into batches of batchSize', async () => {
      const s = setup({ batchSize: 2 });
      for (const id of ['a', 'b', 'c', 'd', 'e']) s.node.enqueue(peerTask(s.clock, 'Cancel', id));
      await s.scheduler.advance(500);
      expect(s.client.batches.map((b) => b.map((i) => i.id))).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    });

    it('sends fewer tasks when a batch body would pass maxBatchBytes, the rest first in the next batch', async () => {
      const register = (clock: ManualClock, id: string) => peerTask(clock, 'Register', id, { view: viewOf(makeInstance({ id, metadata: { pad: 'x'.repeat(1000) } })) });
      // Exactly two of these fit.
      const budget = Buffer.byteLength(encodeReplicationList(['a', 'b'].map((id) => toItem(register(new ManualClock(), id)))));
      const s = setup({ maxBatchBytes: budget });
      for (const id of ['a', 'b', 'c', 'd', 'e']) s.node.enqueue(register(s.clock, id));
      await s.scheduler.advance(500);
      await s.scheduler.runDue();
      await s.scheduler.runDue();
      expect(s.client.batches.map((b) => b.map((i) => i.id))).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
      expect(Math.max(...s.client.bodies.map((b) => Buffer.byteLength(b)))).toBe(budget);
      expect(s.node.stats).toMatchObject({ changesLost: 0, tasksSent: 5 });
    });

    it('sends a task alone when it is larger than maxBatchBytes by itself', async () => {
      const s = setup({ maxBatchBytes: 100 });
      s.node.enqueue(peerTask(s.clock, 'Register', 'a', { view: viewOf(makeInstance({ id: 'a' })) }));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'b'));
      await s.scheduler.advance(500);
      await s.scheduler.runDue();
      expect(s.client.batches.map((b) => b.map((i) => i.id))).toEqual([['a'], ['b']]);
    });

    it('keeps one wake-up for several tasks waiting on the same batch', () => {
      const s = setup();
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      s.clock.advance(100);
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'b'));
      expect(s.scheduler.pending).toBe(1);
      expect(s.scheduler.delays()).toEqual([400]);
    });

    it('sends only the newest of two heartbeats for the same instance', async () => {
      const s = setup();
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', 'a', { status: 'UP', lastDirtyTimestamp: 1 }));
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', 'a', { status: 'DOWN', lastDirtyTimestamp: 2 }));
      await s.scheduler.advance(500);
      expect(s.client.items).toEqual([{ appName: 'ORDERS', id: 'a', lastDirtyTimestamp: 2, status: 'DOWN', action: 'Heartbeat' }]);
    });

    it('encodes each task as the §12.4 item of its action', async () => {
      const s = setup();
      const view = viewOf(makeInstance({ lastDirtyTimestamp: 1717999999000 }));
      s.node.enqueue(peerTask(s.clock, 'Register', '10.0.0.7:orders:8080', { view, status: 'UP', lastDirtyTimestamp: 1717999999000 }));
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', '10.0.0.7:orders:8080', { status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE', lastDirtyTimestamp: 1717999999000 }));
      s.node.enqueue(peerTask(s.clock, 'Cancel', '10.0.0.9:billing:8081', {}, 'BILLING'));
      s.node.enqueue(peerTask(s.clock, 'StatusUpdate', '10.0.0.8:orders:8080', { status: 'OUT_OF_SERVICE', lastDirtyTimestamp: 1717999990000 }));
      s.node.enqueue(peerTask(s.clock, 'DeleteStatusOverride', '10.0.0.8:orders:8080', { status: 'UNKNOWN', lastDirtyTimestamp: 1717999990000 }));
      await s.scheduler.advance(500);
      expect(s.client.bodies).toEqual([
        encodeReplicationList([
          { appName: 'ORDERS', id: '10.0.0.7:orders:8080', lastDirtyTimestamp: 1717999999000, status: 'UP', instanceJson: instanceJson(view), action: 'Register' },
          { appName: 'ORDERS', id: '10.0.0.7:orders:8080', lastDirtyTimestamp: 1717999999000, overriddenStatus: 'OUT_OF_SERVICE', status: 'OUT_OF_SERVICE', action: 'Heartbeat' },
          { appName: 'BILLING', id: '10.0.0.9:billing:8081', action: 'Cancel' },
          { appName: 'ORDERS', id: '10.0.0.8:orders:8080', lastDirtyTimestamp: 1717999990000, status: 'OUT_OF_SERVICE', action: 'StatusUpdate' },
          { appName: 'ORDERS', id: '10.0.0.8:orders:8080', lastDirtyTimestamp: 1717999990000, status: 'UNKNOWN', action: 'DeleteStatusOverride' },
        ]),
      ]);
      expect(s.client.items[0].instanceInfo).toMatchObject({ instanceId: '10.0.0.7:orders:8080', app: 'ORDERS' });
    });

    it('ignores tasks after close', async () => {
      const s = setup();
      s.node.close();
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      await s.scheduler.advance(1000);
      expect(s.client.bodies).toHaveLength(0);
      expect(s.scheduler.pending).toBe(0);
    });
  });

  describe('close', () => {
    it('cancels a pending wake-up and closes the client', async () => {
      const s = setup();
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      s.node.close();
      expect(s.scheduler.pending).toBe(0);
      expect(s.client.closed).toBe(true);
      await s.scheduler.advance(1000);
      expect(s.client.bodies).toHaveLength(0);
    });

    it('ignores the answer to a batch in flight and sends nothing more', async () => {
      const s = setup({ batchSize: 1 });
      s.client.hold = true;
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'b'));
      await s.scheduler.runDue();
      expect(s.client.inFlight).toBe(1);
      s.node.close();
      s.client.release();
      await s.scheduler.advance(10_000);
      expect(s.client.bodies).toHaveLength(1);
      expect(s.node.stats.batchesSent).toBe(0);
    });
  });

  describe('sending', () => {
    it('keeps only one batch in flight and sends the next when the first is answered', async () => {
      const s = setup({ batchSize: 2 });
      s.client.hold = true;
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'b'));
      await s.scheduler.runDue();
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'c'));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'd'));
      await s.scheduler.advance(5000);
      expect(s.client.bodies).toHaveLength(1);
      expect(s.client.inFlight).toBe(1);
      expect(s.node.queueDepth).toBe(2);
      s.client.release();
      await s.scheduler.runDue();
      expect(s.client.batches.map((b) => b.map((i) => i.id))).toEqual([['a', 'b'], ['c', 'd']]);
    });

    it('records the delivery in its stats', async () => {
      const s = setup();
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      await s.scheduler.advance(100);
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'b'));
      await s.scheduler.advance(400);
      expect(s.node.stats).toMatchObject({ batchesSent: 1, tasksSent: 2, batchFailures: 0, consecutiveFailures: 0, lastSuccessAt: s.clock.now(), lastLagMs: 500 });
    });

    it('exposes the client url', () => {
      expect(setup().node.url).toBe('http://peer-a:8761/eureka/');
    });
  });

  describe('on a retry result', () => {
    it('requeues the batch and sends the same tasks again after the backoff', async () => {
      const s = setup({ random: () => 0 });
      s.client.answer(retry('connect ECONNREFUSED'));
      s.node.enqueue(peerTask(s.clock, 'Register', 'a', { view: viewOf(), status: 'UP', lastDirtyTimestamp: 1 }));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'b'));
      await s.scheduler.advance(500);
      expect(s.client.bodies).toHaveLength(1);
      expect(s.node.queueDepth).toBe(2);
      expect(s.scheduler.delays()).toEqual([50]);
      await s.scheduler.advance(49);
      expect(s.client.bodies).toHaveLength(1);
      await s.scheduler.advance(1);
      expect(s.client.bodies).toHaveLength(2);
      expect(s.client.bodies[1]).toBe(s.client.bodies[0]);
      expect(s.node.queueDepth).toBe(0);
      expect(s.node.stats).toMatchObject({ batchesSent: 1, tasksSent: 2, changesLost: 0, consecutiveFailures: 0 });
    });

    it('records the failure in its stats and logs once while the peer keeps failing', async () => {
      const s = setup({ random: () => 0 }, new ScriptedPeerClient(undefined, retry('ECONNRESET: socket hang up')));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      await s.scheduler.advance(500);
      const firstFailureAt = s.clock.now();
      await pauseAfterNextSend(s);
      await pauseAfterNextSend(s);
      expect(s.node.stats).toMatchObject({ batchFailures: 3, consecutiveFailures: 3, lastError: 'ECONNRESET: socket hang up', lastFailureAt: s.clock.now(), batchesSent: 0 });
      expect(s.clock.now()).toBeGreaterThan(firstFailureAt);
      expect(s.logger.messages('warn').filter((m) => m === 'replication to peer failing')).toHaveLength(1);
    });

    it('doubles the pause per consecutive failure up to retryMaxMs', async () => {
      // random 0 gives the lowest jitter factor, 0.5: pauses are half of base × 2^(failures − 1), capped.
      const s = setup({ retryBaseMs: 100, retryMaxMs: 3000, random: () => 0 }, new ScriptedPeerClient(undefined, retry()));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a', {}, 'ORDERS', 3_600_000));
      await s.scheduler.advance(500);
      const pauses = [s.scheduler.delays()[0]];
      for (let i = 0; i < 7; i++) pauses.push(await pauseAfterNextSend(s));
      expect(pauses).toEqual([50, 100, 200, 400, 800, 1500, 1500, 1500]);
    });

    it('pauses a full retryBaseMs × 2^(failures − 1) with the highest jitter', async () => {
      // (0.99 rather than 0.999…: epoch-millisecond clock values cannot hold a pause of 99.99995 ms exactly.)
      const s = setup({ retryBaseMs: 100, retryMaxMs: 5000, random: () => 0.99 }, new ScriptedPeerClient(undefined, retry()));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a', {}, 'ORDERS', 3_600_000));
      await s.scheduler.advance(500);
      const pauses = [s.scheduler.delays()[0]];
      for (let i = 0; i < 7; i++) pauses.push(await pauseAfterNextSend(s));
      const nominal = [100, 200, 400, 800, 1600, 3200, 5000, 5000];
      pauses.forEach((p, i) => {
        expect(p).toBeLessThan(nominal[i]);
        expect(p).toBeCloseTo(nominal[i] * 0.995, 3);
      });
    });

    it.each([
      [0, 100],
      [0.25, 125],
      [0.5, 150],
      [0.75, 175],
    ])('scales the pause by 0.5 + random/2 (random %d → %d ms of a 200 ms backoff)', async (random, expected) => {
      const s = setup({ retryBaseMs: 200, random: () => random });
      s.client.answer(retry());
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      await s.scheduler.advance(500);
      expect(s.scheduler.delays()).toEqual([expected]);
    });

    it('keeps every pause between half and all of the nominal backoff for any random value', async () => {
      for (const random of [0, 0.1, 0.33, 0.5, 0.9, 0.99]) {
        const s = setup({ retryBaseMs: 100, retryMaxMs: 800, random: () => random }, new ScriptedPeerClient(undefined, retry()));
        s.node.enqueue(peerTask(s.clock, 'Cancel', 'a', {}, 'ORDERS', 3_600_000));
        await s.scheduler.advance(500);
        const pauses = [s.scheduler.delays()[0]];
        for (let i = 0; i < 5; i++) pauses.push(await pauseAfterNextSend(s));
        [100, 200, 400, 800, 800, 800].forEach((nominal, i) => {
          expect(pauses[i]).toBeGreaterThanOrEqual(nominal / 2);
          expect(pauses[i]).toBeLessThan(nominal);
        });
      }
    });

    it('starts again from retryBaseMs after a successful batch', async () => {
      const s = setup({ random: () => 0 });
      s.client.answer(retry(), retry(), retry());
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      await s.scheduler.advance(500);
      await pauseAfterNextSend(s);
      expect(await pauseAfterNextSend(s)).toBe(200);
      expect(s.node.stats.consecutiveFailures).toBe(3);
      await s.scheduler.advance(200); // delivered
      expect(s.node.stats).toMatchObject({ consecutiveFailures: 0, batchesSent: 1 });
      s.client.answer(retry());
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'b'));
      await s.scheduler.advance(500);
      expect(s.scheduler.delays()).toEqual([50]);
    });

    it('holds tasks queued during the pause until it ends, then sends them after the requeued ones', async () => {
      const s = setup({ retryBaseMs: 1000, random: () => 0 }); // pause 500 ms
      s.client.answer(retry());
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      await s.scheduler.advance(500);
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'b'));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'c'));
      await s.scheduler.advance(499);
      expect(s.client.bodies).toHaveLength(1);
      await s.scheduler.advance(1);
      expect(s.client.batches.map((b) => b.map((i) => i.id))).toEqual([['a'], ['a', 'b', 'c']]);
    });

    it('sends a newer task instead of the failed one it replaced while the batch was in flight', async () => {
      const s = setup({ random: () => 0 });
      s.client.hold = true;
      s.client.answer(retry());
      s.node.enqueue(peerTask(s.clock, 'StatusUpdate', 'a', { status: 'OUT_OF_SERVICE', lastDirtyTimestamp: 1 }));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'b'));
      await s.scheduler.advance(500);
      expect(s.client.inFlight).toBe(1);
      s.node.enqueue(peerTask(s.clock, 'StatusUpdate', 'a', { status: 'UP', lastDirtyTimestamp: 2 }));
      s.client.release();
      await s.scheduler.advance(500);
      expect(s.client.batches[1]).toEqual([
        { appName: 'ORDERS', id: 'a', lastDirtyTimestamp: 2, status: 'UP', action: 'StatusUpdate' },
        { appName: 'ORDERS', id: 'b', action: 'Cancel' },
      ]);
      expect(s.node.stats.changesLost).toBe(0);
    });
  });

  describe('on a later result (429 or 503)', () => {
    it('requeues the batch and sends it again once the Retry-After wait is over', async () => {
      const s = setup({ random: () => 0 });
      s.client.answer(later(2000));
      s.node.enqueue(peerTask(s.clock, 'Register', 'a', { view: viewOf(), status: 'UP', lastDirtyTimestamp: 1 }));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'b'));
      await s.scheduler.advance(500);
      expect(s.node.queueDepth).toBe(2);
      expect(s.scheduler.delays()).toEqual([2000]);
      await s.scheduler.advance(1999);
      expect(s.client.bodies).toHaveLength(1);
      await s.scheduler.advance(1);
      expect(s.client.bodies).toEqual([s.client.bodies[0], s.client.bodies[0]]);
      expect(s.node.stats).toMatchObject({ batchesSent: 1, tasksSent: 2, changesLost: 0, heartbeatsDropped: 0, batchFailures: 1, consecutiveFailures: 0 });
    });

    it.each<[string, number | undefined, number]>([
      ['the backoff when Retry-After is shorter', 10, 50],
      ['the backoff when there is no Retry-After', undefined, 50],
      ['retryMaxMs when Retry-After is longer', 3_600_000, 5000],
    ])('waits %s', async (_what, retryAfterMs, expected) => {
      const s = setup({ retryBaseMs: 100, retryMaxMs: 5000, random: () => 0 });
      s.client.answer(later(retryAfterMs));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      await s.scheduler.advance(500);
      expect(s.scheduler.delays()).toEqual([expected]);
    });

    it('says the peer is throttling us in its stats and logs it once while it lasts', async () => {
      const s = setup({ random: () => 0 }, new ScriptedPeerClient(undefined, later(1000)));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      await s.scheduler.advance(500);
      await pauseAfterNextSend(s);
      await pauseAfterNextSend(s);
      expect(s.node.stats).toMatchObject({ batchFailures: 3, consecutiveFailures: 3, lastError: 'peer answered 429', lastFailureAt: s.clock.now() });
      expect(s.logger.lines.filter((l) => l.level === 'warn').map((l) => [l.message, l.fields?.['retryAfterMs']])).toEqual([['peer is throttling replication', 1000]]);
    });

    it('logs when a peer that was unreachable starts throttling us, and when it becomes unreachable again', async () => {
      const s = setup({ random: () => 0 });
      s.client.answer(retry(), later(100), later(100), retry(), ok({ statusCode: 200 }));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      await s.scheduler.advance(500);
      for (let i = 0; i < 3; i++) await pauseAfterNextSend(s);
      await s.scheduler.advance(s.scheduler.delays()[0]);
      expect(s.logger.messages('warn')).toEqual(['replication to peer failing', 'peer is throttling replication', 'replication to peer failing']);
      expect(s.node.stats).toMatchObject({ batchesSent: 1, changesLost: 0 });
    });

    it('loses nothing while the peer asks us to wait for longer than the task expiry, new tasks included', async () => {
      const s = setup({ retryMaxMs: 5000, random: () => 0 }, new ScriptedPeerClient(undefined, later(5000)));
      s.node.enqueue(peerTask(s.clock, 'Register', 'a', { view: viewOf(), status: 'UP', lastDirtyTimestamp: 1 }));
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', 'b'));
      await s.scheduler.advance(TASK_EXPIRY_MS * 2);
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'c'));
      await s.scheduler.advance(TASK_EXPIRY_MS * 2);
      const throttledAttempts = s.client.bodies.length;
      expect(throttledAttempts).toBeGreaterThan(20);
      s.client.fallback = allOk;
      await s.scheduler.advance(5000);
      expect(s.client.bodies).toHaveLength(throttledAttempts + 1);
      expect(s.client.batches.at(-1)!.map((i) => `${i.action} ${i.id}`)).toEqual(['Register a', 'Heartbeat b', 'Cancel c']);
      expect(s.node.stats).toMatchObject({ changesLost: 0, heartbeatsDropped: 0, batchesSent: 1, consecutiveFailures: 0 });
      expect(s.node.queueDepth).toBe(0);
    });

    it('lets tasks age again once the peer stops asking us to wait', async () => {
      const s = setup({ retryBaseMs: 1000, retryMaxMs: 1000, random: () => 0 });
      s.client.answer(...Array.from({ length: 10 }, () => later(1000)));
      s.client.fallback = retry();
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      await s.scheduler.advance(TASK_EXPIRY_MS);
      expect(s.node.stats.changesLost).toBe(0);
      await s.scheduler.advance(TASK_EXPIRY_MS);
      expect(s.node.stats.changesLost).toBe(1);
      expect(s.node.queueDepth).toBe(0);
    });

    it('still bounds the queue while the peer asks us to wait, dropping heartbeats first', async () => {
      const s = setup({ maxPending: 3 }, new ScriptedPeerClient(undefined, later(5000)));
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', 'h1'));
      s.node.enqueue(peerTask(s.clock, 'Register', 'r1', { view: viewOf(), status: 'UP', lastDirtyTimestamp: 1 }));
      await s.scheduler.advance(500);
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'c1'));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'c2'));
      expect(s.node.stats).toMatchObject({ heartbeatsDropped: 1, changesLost: 0 });
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'c3'));
      expect(s.node.stats).toMatchObject({ heartbeatsDropped: 1, changesLost: 1 });
      expect(s.node.queueDepth).toBe(3);
    });
  });

  describe('lost changes in the log', () => {
    it('logs the first lost change with its instance, those within the next LOSS_SUMMARY_MS as one line, then the next alone again', async () => {
      const s = setup({ maxPending: 2 }, new ScriptedPeerClient(undefined, later(60_000)));
      const lossLines = () => s.logger.lines.filter((l) => l.level === 'warn' && l.message.startsWith('replicated change'));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'c0'));
      await s.scheduler.advance(500);
      for (let i = 1; i <= 7; i++) s.node.enqueue(peerTask(s.clock, 'Cancel', `c${i}`));
      const lost = s.node.stats.changesLost;
      expect(lost).toBeGreaterThanOrEqual(3);
      expect(lossLines()).toEqual([{ level: 'warn', message: 'replicated change not delivered', fields: expect.objectContaining({ action: 'Cancel', reason: 'overflow' }) }]);
      // Each of the others is a debug line with its instance.
      expect(s.logger.lines.filter((l) => l.level === 'debug' && l.message === 'replicated change not delivered')).toHaveLength(lost - 1);
      await s.scheduler.advance(LOSS_SUMMARY_MS);
      expect(lossLines()).toHaveLength(2);
      expect(lossLines()[1]).toEqual({ level: 'warn', message: 'replicated changes not delivered', fields: { peer: s.node.url, changes: lost - 1, reasons: `overflow=${lost - 1}`, seconds: LOSS_SUMMARY_MS / 1000 } });
      // A quiet interval ends the count; the next loss is logged with its instance.
      await s.scheduler.advance(LOSS_SUMMARY_MS);
      expect(lossLines()).toHaveLength(2);
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'c8'));
      expect(lossLines()).toHaveLength(3);
      expect(lossLines()[2].message).toBe('replicated change not delivered');
      s.node.close();
      expect(s.scheduler.pending).toBe(0);
    });
  });

  describe('on a failed result', () => {
    it('drops the batch, counting changes as lost and heartbeats as dropped', async () => {
      const s = setup();
      s.client.answer(failed('peer answered 500'));
      s.node.enqueue(peerTask(s.clock, 'Register', 'a', { view: viewOf(), status: 'UP', lastDirtyTimestamp: 1 }));
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', 'b', { status: 'UP', lastDirtyTimestamp: 1 }));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'c'));
      await s.scheduler.advance(500);
      expect(s.node.queueDepth).toBe(0);
      expect(s.node.stats).toMatchObject({ changesLost: 2, heartbeatsDropped: 1, batchFailures: 1, lastError: 'peer answered 500', batchesSent: 0 });
      await s.scheduler.advance(60_000);
      expect(s.client.bodies).toHaveLength(1);
      expect(s.logger.messages('warn')).toContain('replicated change not delivered');
    });

    it('sends the next tasks without a pause', async () => {
      const s = setup();
      s.client.answer(failed());
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      await s.scheduler.advance(500);
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'b'));
      await s.scheduler.advance(500);
      expect(s.client.batches.map((b) => b.map((i) => i.id))).toEqual([['a'], ['b']]);
      expect(s.node.stats.batchesSent).toBe(1);
    });
  });

  describe('per-item results', () => {
    it('asks the handler to register an instance the peer answered 404 for on a heartbeat', async () => {
      const s = setup();
      s.client.answer(ok({ statusCode: 200 }, { statusCode: 404 }));
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', 'a'));
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', 'b', {}, 'BILLING'));
      await s.scheduler.advance(500);
      expect(s.handler.missing).toEqual([[s.node, 'BILLING', 'b']]);
      expect(s.handler.newer).toEqual([]);
    });

    it('asks the handler to register an instance the peer answered 404 for on a metadata update', async () => {
      const s = setup();
      s.client.answer(ok({ statusCode: 404 }));
      s.node.enqueue(peerTask(s.clock, 'MetadataUpdate', 'a', { view: viewOf(makeInstance({ id: 'a' })), metadata: { k: 'v' } }));
      await s.scheduler.advance(500);
      expect(s.handler.missing).toEqual([[s.node, 'ORDERS', 'a']]);
    });

    it("keeps an instance's Register ahead of its metadata update in one batch: the update does not replace it", async () => {
      const s = setup();
      const view = viewOf(makeInstance({ id: 'a' }));
      s.node.enqueue(peerTask(s.clock, 'Register', 'a', { view }));
      s.node.enqueue(peerTask(s.clock, 'MetadataUpdate', 'a', { view, metadata: { k: 'v' } }));
      await s.scheduler.advance(500);
      expect(s.client.batches.map((b) => b.map((i) => i.action))).toEqual([['Register', 'Register']]);
    });

    it("hands the peer's newer copy to the handler on a heartbeat answered 409 with an entity", async () => {
      const s = setup();
      const entity = { instanceId: 'a', app: 'ORDERS', lastDirtyTimestamp: '99' };
      s.client.answer(ok({ statusCode: 409, responseEntity: entity }));
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', 'a'));
      await s.scheduler.advance(500);
      expect(s.handler.newer).toEqual([[s.node, 'ORDERS', 'a', entity]]);
      expect(s.handler.missing).toEqual([]);
    });

    it('does nothing for a heartbeat answered 409 without an entity', async () => {
      const s = setup();
      s.client.answer(ok({ statusCode: 409 }));
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', 'a'));
      await s.scheduler.advance(500);
      expect(s.handler.newer).toEqual([]);
      expect(s.handler.missing).toEqual([]);
    });

    it('does not re-register for a 404 answered to anything but a heartbeat', async () => {
      const s = setup();
      s.client.answer(ok({ statusCode: 404 }, { statusCode: 404 }, { statusCode: 404 }));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'a'));
      s.node.enqueue(peerTask(s.clock, 'StatusUpdate', 'b', { status: 'DOWN' }));
      s.node.enqueue(peerTask(s.clock, 'DeleteStatusOverride', 'c'));
      await s.scheduler.advance(500);
      expect(s.handler.missing).toEqual([]);
      expect(s.logger.lines.filter((l) => l.message === 'peer refused a replicated change').map((l) => l.fields?.['action'])).toEqual(['StatusUpdate', 'DeleteStatusOverride']);
    });

    it('ignores every per-item result when the result list is shorter than the batch', async () => {
      const s = setup();
      s.client.answer(ok({ statusCode: 404 }));
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', 'a'));
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', 'b'));
      await s.scheduler.advance(500);
      expect(s.handler.missing).toEqual([]);
      expect(s.logger.messages('warn')).toContain('peer answered a batch with a different number of results');
      expect(s.node.stats.batchesSent).toBe(1);
    });

    it('ignores every per-item result when the result list is longer than the batch', async () => {
      const s = setup();
      s.client.answer(ok({ statusCode: 404 }, { statusCode: 404 }));
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', 'a'));
      await s.scheduler.advance(500);
      expect(s.handler.missing).toEqual([]);
    });
  });

  describe('expiry while the peer is down', () => {
    it('stops retrying a task once it has expired and counts it as lost', async () => {
      const s = setup({ retryBaseMs: 1000, retryMaxMs: 4000 }, new ScriptedPeerClient(undefined, retry()));
      s.node.enqueue(peerTask(s.clock, 'Register', 'a', { view: viewOf(), status: 'UP', lastDirtyTimestamp: 1 }));
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', 'b'));
      await s.scheduler.advance(TASK_EXPIRY_MS - 1);
      const attempts = s.client.bodies.length;
      expect(attempts).toBeGreaterThan(3);
      expect(s.node.stats.changesLost).toBe(0);
      await s.scheduler.advance(10_000);
      expect(s.client.bodies.length).toBeLessThanOrEqual(attempts + 1);
      expect(s.node.queueDepth).toBe(0);
      expect(s.node.stats).toMatchObject({ changesLost: 1, heartbeatsDropped: 1 });
      // Nothing left to wake for once the loss line's interval is over.
      await s.scheduler.advance(LOSS_SUMMARY_MS);
      expect(s.scheduler.pending).toBe(0);
      const lastSent = s.client.batches.at(-1)!;
      expect(lastSent.map((i) => i.id)).toEqual(['a', 'b']);
    });

    it('drops tasks that expired before their batch left without sending them', async () => {
      const s = setup({ maxBatchingDelayMs: 1000 });
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'short', {}, 'ORDERS', 500));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'long'));
      await s.scheduler.advance(1000);
      expect(s.client.items.map((i) => i.id)).toEqual(['long']);
      expect(s.node.stats.changesLost).toBe(1);
    });

    it('sends tasks queued after the outage once the peer is back', async () => {
      const s = setup({ retryBaseMs: 1000, retryMaxMs: 4000, random: () => 0 }, new ScriptedPeerClient(undefined, retry()));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'old'));
      await s.scheduler.advance(TASK_EXPIRY_MS + 5000);
      expect(s.node.queueDepth).toBe(0);
      s.client.fallback = (items) => ok(...items.map(() => ({ statusCode: 200 })));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'new'));
      await s.scheduler.advance(5000);
      expect(s.client.batches.at(-1)!.map((i) => i.id)).toEqual(['new']);
      expect(s.node.stats).toMatchObject({ batchesSent: 1, consecutiveFailures: 0, changesLost: 1 });
    });
  });

  describe('overflow', () => {
    it('drops heartbeats first and then the oldest change, counting a lost register', async () => {
      const s = setup({ maxPending: 3 }, new ScriptedPeerClient(undefined, retry()));
      s.node.enqueue(peerTask(s.clock, 'Register', 'r1', { view: viewOf(), status: 'UP', lastDirtyTimestamp: 1 }));
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', 'h1'));
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', 'h2'));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'c1'));
      expect(s.node.stats).toMatchObject({ heartbeatsDropped: 1, changesLost: 0 });
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'c2'));
      expect(s.node.stats).toMatchObject({ heartbeatsDropped: 2, changesLost: 0 });
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'c3'));
      expect(s.node.stats).toMatchObject({ heartbeatsDropped: 2, changesLost: 1 });
      expect(s.node.queueDepth).toBe(3);
      const lost = s.logger.lines.find((l) => l.message === 'replicated change not delivered');
      expect(lost?.fields).toMatchObject({ action: 'Register', id: 'r1', reason: 'overflow' });
      await s.scheduler.advance(500);
      expect(s.client.items.map((i) => i.id)).toEqual(['c1', 'c2', 'c3']);
    });

    it('drops heartbeats first when requeueing a failed batch overflows the queue', async () => {
      const s = setup({ maxPending: 3, batchSize: 2, random: () => 0 });
      s.client.hold = true;
      s.client.answer(retry());
      s.node.enqueue(peerTask(s.clock, 'Heartbeat', 'h1'));
      s.node.enqueue(peerTask(s.clock, 'Register', 'r1', { view: viewOf(), status: 'UP', lastDirtyTimestamp: 1 }));
      await s.scheduler.runDue(); // [h1, r1] in flight
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'c1'));
      s.node.enqueue(peerTask(s.clock, 'Cancel', 'c2'));
      s.client.release();
      await s.scheduler.runDue();
      expect(s.node.stats).toMatchObject({ heartbeatsDropped: 1, changesLost: 0 });
      expect(s.node.queueDepth).toBe(3);
      await s.scheduler.advance(1000);
      expect(s.client.items.slice(2).map((i) => i.id)).toEqual(['r1', 'c1', 'c2']);
    });
  });
  describe('toItem', () => {
    it('sends a metadata update as a Register until the peer answers as a zone-registry server, then as MetadataUpdate', () => {
      const clock = new ManualClock();
      const task = peerTask(clock, 'MetadataUpdate', 'a', { view: viewOf(makeInstance({ id: 'a', metadata: { k: 'v' } })), metadata: { k: 'v' } });
      expect(toItem(task)).toMatchObject({ action: 'Register', instanceJson: expect.any(String) });
      expect(toItem(task).metadata).toBeUndefined();
      expect(toItem(task, true)).toMatchObject({ action: 'MetadataUpdate', metadata: { k: 'v' } });
    });

    it("says a Register's DOWN is a health verdict to zone-registry peers only", () => {
      const clock = new ManualClock();
      const view = viewOf(makeInstance({ id: 'a', status: 'DOWN' }));
      const held = peerTask(clock, 'Register', 'a', { view: { ...view, record: { ...view.record, statusSource: 'health' } }, status: 'DOWN' });
      expect(toItem(held, true)).toMatchObject({ action: 'Register', status: 'DOWN', health: 'down' });
      expect(toItem(held)).not.toHaveProperty('health');
      expect(toItem(peerTask(clock, 'Register', 'a', { view, status: 'DOWN' }), true)).not.toHaveProperty('health');
      expect(toItem(peerTask(clock, 'Heartbeat', 'a', { view: held.payload.view, status: 'DOWN' }), true)).not.toHaveProperty('health');
    });

    it('learns from the batch answer whether the peer is a zone-registry server', async () => {
      const client = new ScriptedPeerClient();
      const s = setup({}, client);
      client.fallback = (items) => ({ ...(allOk(items) as { kind: 'ok'; response: { responseList: { statusCode: number }[] } }), server: 'peer-1' });
      const task = (): ReturnType<typeof peerTask> => peerTask(s.clock, 'MetadataUpdate', 'a', { view: viewOf(makeInstance({ id: 'a' })), metadata: { k: 'v' } });
      s.node.enqueue(task());
      await s.scheduler.advance(500);
      s.node.enqueue(task());
      await s.scheduler.advance(500);
      expect(client.bodies.map((b) => JSON.parse(b).replicationList[0].action)).toEqual(['Register', 'MetadataUpdate']);
    });
  });
});
