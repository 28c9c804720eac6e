// Anti-entropy between three real zone servers: divergence made behind replication's back (changes applied as if
// replicated, so never forwarded) is found by the digest comparison and repaired within a few intervals, in both
// directions; an in-sync region exchanges digests only.
import { request } from 'node:http';
import { Cluster } from '../helpers/cluster';
import { makeInstance } from '../helpers/instances';
import { waitFor } from '../helpers/wait';

const INTERVAL_MS = 300;
const FLAGS = ['--anti-entropy-interval-ms', String(INTERVAL_MS), '--anti-entropy-jitter-fraction', '0'];

/** The agreed state of every instance a server holds, sorted: what the comparison must make equal. */
function agreed(cluster: Cluster, i: number): string[] {
  return [...cluster.server(i).registry.leases()]
    .map((l) => {
      const x = l.record.instance;
      return JSON.stringify([x.app, x.id, x.status, x.overriddenStatus, l.record.statusSource, x.metadata]);
    })
    .sort();
}

const converged = (cluster: Cluster): boolean => {
  const a = JSON.stringify(agreed(cluster, 0));
  return a === JSON.stringify(agreed(cluster, 1)) && a === JSON.stringify(agreed(cluster, 2));
};

describe('anti-entropy', () => {
  let cluster: Cluster;

  afterEach(async () => {
    await cluster?.close();
  });

  it('brings an instance only one server holds to the others, and removes one only it lost', async () => {
    cluster = await Cluster.started({ flags: FLAGS });
    const [a, b, c] = [0, 1, 2].map((i) => cluster.server(i).registry);
    // Made as if replicated: nothing forwards them.
    a.register(makeInstance({ id: 'only-on-a' }), true);
    for (const r of [a, b, c]) r.register(makeInstance({ id: 'everywhere' }), true);
    // Cancelled on B (remembered there), never replicated.
    b.cancel('ORDERS', 'everywhere');
    await waitFor(() => converged(cluster), 'the three registries to agree', 10_000);
    expect(agreed(cluster, 2).map((s) => JSON.parse(s)[1])).toEqual(['only-on-a']);
  });

  it('repairs a status, an override and metadata that differ, the newer copy winning', async () => {
    cluster = await Cluster.started({ flags: FLAGS });
    const [a, b, c] = [0, 1, 2].map((i) => cluster.server(i).registry);
    for (const r of [a, b, c]) r.register(makeInstance({ id: 'i-1', lastDirtyTimestamp: 1 }), true);
    // Later changes on C only (as replicated: not forwarded).
    c.statusUpdate('ORDERS', 'i-1', 'OUT_OF_SERVICE', undefined, true);
    c.updateMetadata('ORDERS', 'i-1', { k: 'v' }, true);
    await waitFor(() => converged(cluster), 'the three registries to agree', 10_000);
    const lease = cluster.server(0).registry.lease('ORDERS', 'i-1');
    expect(lease?.record.instance).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE', metadata: expect.objectContaining({ k: 'v' }) });
    // The override and the operators' metadata are held as such: a client re-registering keeps both.
    cluster.server(1).registry.register(makeInstance({ id: 'i-1', lastDirtyTimestamp: 1 }));
    expect(cluster.server(1).registry.lease('ORDERS', 'i-1')?.record.instance).toMatchObject({ status: 'OUT_OF_SERVICE', metadata: expect.objectContaining({ k: 'v' }) });
  });

  it('reports each peer in sync, with nothing to repair, once they agree', async () => {
    cluster = await Cluster.started({ flags: FLAGS });
    cluster.server(0).registry.register(makeInstance({ id: 'x' }));
    type Status = { peers: { url: string; comparison?: { state: string; appsDiffering: number; inSyncSince: number; comparisons: number } }[] };
    const status = async (): Promise<Status> => (await (await fetch(`http://127.0.0.1:${cluster.ports[0]}/eureka/status`)).json()) as Status;
    await waitFor(async () => (await status()).peers.every((p) => p.comparison?.state === 'in-sync' && p.comparison.comparisons >= 2), 'both peers reported in sync', 10_000);
    for (const p of (await status()).peers) expect(p.comparison).toMatchObject({ state: 'in-sync', appsDiffering: 0, inSyncSince: expect.any(Number) });
    expect(converged(cluster)).toBe(true);
  });
  it('answers a malformed comparison request 400 and a stranger 403', async () => {
    cluster = await Cluster.started({ flags: FLAGS });
    const post = (path: string, body: string, localAddress = '127.0.0.1') =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: cluster.ports[0], method: 'POST', path: `/eureka/peerreplication/${path}`, localAddress, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(body);
      });
    expect(await post('digest', '{"root":"nope"}')).toBe(400);
    expect(await post('versions', '{"apps":"A"}')).toBe(400);
    expect(await post('repair', '{"items":{}}')).toBe(400);
    expect(await post('digest', '{"root":"0000000000000000"}')).toBe(200);
    expect(await post('digest', '{"root":"0000000000000000"}', '127.0.0.2')).toBe(403);
  });
});
