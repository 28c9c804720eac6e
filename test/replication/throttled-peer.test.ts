// A PeerNode with the real HTTP client against a fake peer on 127.0.0.1 that answers 429 with Retry-After for a
// while: nothing is lost, the wait is honoured. Time is a ManualClock, so "honoured" is counted in requests.
import { ManualClock } from '../../src/domain/clock';
import { HttpPeerClient } from '../../src/replication/peer-client';
import { PeerNode, ResultHandler } from '../../src/replication/peer-node';
import { FakePeer, Refusal } from '../helpers/fake-peer';
import { peerTask, RecordingLogger, viewOf } from '../helpers/replication-fixtures';
import { ManualScheduler } from '../helpers/replication-scheduler';
import { makeInstance } from '../helpers/instances';
import { waitFor } from '../helpers/wait';

const IGNORE: ResultHandler = { missingOnPeer: () => undefined, newerOnPeer: () => undefined };

interface Setup {
  readonly peer: FakePeer;
  readonly clock: ManualClock;
  readonly scheduler: ManualScheduler;
  readonly node: PeerNode;
  readonly logger: RecordingLogger;
}

let open: Setup | undefined;

async function setup(refuse: (n: number, clock: ManualClock) => Refusal | undefined): Promise<Setup> {
  const peer = new FakePeer();
  const clock = new ManualClock();
  peer.refuse = (n) => refuse(n, clock);
  const url = await peer.start();
  const scheduler = new ManualScheduler(clock);
  const logger = new RecordingLogger();
  const client = new HttpPeerClient(url, 5000, { clock });
  const node = new PeerNode(client, IGNORE, clock, scheduler, logger, { batchSize: 50, maxBatchingDelayMs: 20, maxPending: 10_000, retryBaseMs: 100, retryMaxMs: 5000, random: () => 0.5 });
  open = { peer, clock, scheduler, node, logger };
  return open;
}

afterEach(async () => {
  open?.node.close();
  await open?.peer.close();
  open = undefined;
});

const answered = (s: Setup): number => s.node.stats.batchesSent + s.node.stats.batchFailures;

/** Moves time to the next wake-up and waits for the peer's answer to that batch to be handled (and any sent at once after it). */
async function sendNext(s: Setup): Promise<void> {
  const before = answered(s);
  const [delay] = s.scheduler.delays();
  await s.scheduler.advance(delay);
  await waitFor(() => answered(s) > before, 'the peer to answer a batch');
}

/** Lets the node send whatever is due until the peer has answered `count` batches in all. */
async function untilAnswered(s: Setup, count: number): Promise<void> {
  await waitFor(async () => {
    if (s.scheduler.pending > 0) await s.scheduler.advance(Math.max(0, s.scheduler.delays()[0]));
    return answered(s) >= count;
  }, `${count} batches answered`);
}

function registerAll(s: Setup, count: number, expiryMs?: number): void {
  for (let i = 0; i < count; i++) {
    const id = `10.0.0.${i}:orders:8080`;
    s.node.enqueue(peerTask(s.clock, 'Register', id, { view: viewOf(makeInstance({ id })), status: 'UP', lastDirtyTimestamp: 1 }, 'ORDERS', expiryMs));
  }
}

describe('PeerNode', () => {
  describe('against a peer answering 429 with Retry-After', () => {
    it('delivers every change once the peer lets it through, waiting as long as Retry-After says', async () => {
      const s = await setup((n) => (n <= 4 ? { status: 429, headers: { 'retry-after': '2' } } : undefined));
      registerAll(s, 120);
      for (let n = 1; n <= 4; n++) {
        await sendNext(s);
        expect(s.peer.requests).toBe(n);
        expect(s.scheduler.delays()).toEqual([2000]);
        await s.scheduler.advance(1999);
        expect(s.peer.requests).toBe(n);
      }
      await untilAnswered(s, 4 + 3);
      expect(s.peer.requests).toBe(4 + 3);
      expect(new Set(s.peer.items.map((i) => i.id)).size).toBe(120);
      expect(s.peer.items.every((i) => i.action === 'Register')).toBe(true);
      expect(s.node.stats).toMatchObject({ changesLost: 0, batchesSent: 3, tasksSent: 120, batchFailures: 4, lastError: 'peer answered 429' });
      expect(s.logger.messages('warn')).toEqual(['peer is throttling replication']);
    });

    it('loses nothing when the peer keeps us waiting well past the task expiry, with an HTTP-date Retry-After', async () => {
      const date = (clock: ManualClock): string => new Date(clock.now() + 3000).toUTCString();
      const s = await setup((n, clock) => (n <= 5 ? { status: n % 2 === 0 ? 503 : 429, headers: { 'retry-after': date(clock) } } : undefined));
      registerAll(s, 10, 1000);
      for (let n = 1; n <= 5; n++) {
        await sendNext(s);
        const [delay] = s.scheduler.delays();
        expect(delay).toBeGreaterThan(2000);
        expect(delay).toBeLessThanOrEqual(3000);
      }
      await untilAnswered(s, 6);
      expect(s.peer.requests).toBe(6);
      expect(s.peer.items.map((i) => i.action)).toEqual(Array(10).fill('Register'));
      expect(s.node.stats).toMatchObject({ changesLost: 0, batchesSent: 1, consecutiveFailures: 0 });
      expect(s.node.queueDepth).toBe(0);
    });
  });
});
