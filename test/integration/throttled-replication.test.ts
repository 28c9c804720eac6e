// Replication to a real peer that rate-limits us (auth off, so peers are not exempt): its 429s make the sender
// wait as Retry-After asks, and every acknowledged registration still reaches it.
import { APP, Cluster } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

const A = 0;
const B = 1;

let cluster: Cluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('zone replication', () => {
  describe('to a peer with a per-client rate limit', () => {
    it('delivers every registration acknowledged on A to B, losing none', async () => {
      const c = (cluster = await Cluster.create({ size: 2 }));
      await c.start(A);
      await c.start(B, ['--rate-limit-requests-per-client-per-sec', '5']);
      await Promise.all([c.server(A).ready, c.server(B).ready]);
      const ids = Array.from({ length: 120 }, (_, i) => `orders-${i}`);
      for (const id of ids) expect((await c.client(A).register({ id, renewalIntervalSecs: 30, durationSecs: 600 })).status).toBe(204);

      const onB = (): number => ids.filter((id) => c.server(B).registry.lease(APP, id) !== undefined).length;
      await waitFor(() => onB() === ids.length || c.peerStats(A, B).stats.changesLost > 0, 'every registration on B, or one lost', 20_000);
      const { stats } = c.peerStats(A, B);
      expect(stats.changesLost).toBe(0);
      expect(onB()).toBe(ids.length);
      expect(stats.batchFailures).toBeGreaterThan(0);
      expect(stats.lastError).toBe('peer answered 429');
    });
  });
});
