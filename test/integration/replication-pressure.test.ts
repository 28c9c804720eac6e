// Replication to a real peer under pressure: one that rate-limits its clients still takes every acknowledged
// registration from its peers (recognised by address with auth off, so never throttled; a peer that does answer 429
// is waited for, see throttled-peer.test.ts), and churn never sends it a change out of order.
import { request } from 'node:http';
import { APP, Cluster } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

const A = 0;
const B = 1;

let cluster: Cluster | undefined;

/** The status of a GET sent from the loopback address `from`. */
function statusFrom(from: string, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress: from, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('zone replication', () => {
  describe('to a peer with a per-client rate limit', () => {
    it('delivers every registration acknowledged on A to B without a single 429, losing none', async () => {
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
      expect(stats.batchFailures).toBe(0);
      // The limit is real: a client from another address is throttled.
      const statuses = await Promise.all(Array.from({ length: 20 }, () => statusFrom('127.0.0.2', c.ports[B], '/eureka/apps/delta')));
      expect(statuses).toContain(429);
    });
  });

  describe('under churn', () => {
    it('never makes a peer refuse a status change that overtook its register', async () => {
      const c = (cluster = await Cluster.started({ size: 2 }));
      const ids = Array.from({ length: 30 }, (_, i) => `orders-${i}`);
      for (const id of ids) {
        await c.client(A).register({ id, renewalIntervalSecs: 30, durationSecs: 600 });
        await c.client(A).setStatus(id, 'OUT_OF_SERVICE');
        await c.client(A).register({ id, renewalIntervalSecs: 30, durationSecs: 600 });
      }
      const outOfServiceOnB = (): number => ids.filter((id) => c.server(B).registry.lease(APP, id)?.record.instance.status === 'OUT_OF_SERVICE').length;
      await waitFor(() => outOfServiceOnB() === ids.length, 'every instance OUT_OF_SERVICE on B', 10_000);
      expect(c.logs.filter((l) => l.message === 'peer refused a replicated change')).toEqual([]);
      expect(c.peerStats(A, B).stats.changesLost).toBe(0);
    });
  });
});
