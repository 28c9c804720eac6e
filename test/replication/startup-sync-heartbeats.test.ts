// Heartbeats a restarted server gets while its startup sync still waits for a peer: an unknown instance answers 503
// (clients try elsewhere or retry, instead of re-registering what the sync is about to bring), a known one 200, a
// peer's replicated heartbeat 404 (so it sends the registration); once the sync is over, unknown means 404 again.
import { applicationsDocumentJson } from '../../src/codecs/json';
import { loadConfig } from '../../src/config/config';
import { InstanceInfo } from '../../src/domain/model';
import { silentLogger } from '../../src/observability/logger';
import { RegistryFetch } from '../../src/replication/peer-client';
import { RunningServer, startServer } from '../../src/server';
import { makeRegistry } from '../domain/registry-fixture';
import { makeInstance } from '../helpers/instances';
import { ScriptedPeerClient } from '../helpers/replication-peer-client';
import { waitFor } from '../helpers/wait';
import { call, instanceBody, TempDir } from '../security/support';

/** A peer whose registry fetch answers only when the test calls answer(). */
class SlowSyncPeer extends ScriptedPeerClient {
  private pending: ((r: RegistryFetch) => void)[] = [];

  override fetchRegistry(): Promise<RegistryFetch> {
    this.fetches++;
    return new Promise((resolve) => this.pending.push(resolve));
  }

  /** Answers every fetch waiting now. */
  answerFetch(result: RegistryFetch): this {
    for (const resolve of this.pending.splice(0)) resolve(result);
    return this;
  }
}

function registryDocument(instances: InstanceInfo[]): string {
  const peer = makeRegistry();
  for (const i of instances) peer.registry.register(i);
  return applicationsDocumentJson(peer.registry.applications(), 1, peer.registry.hashcode());
}

const SELF = 'http://127.0.0.1:1/eureka/';
const PEER = 'http://127.0.0.1:2/eureka/';

let dir: TempDir;
let server: RunningServer | undefined;
beforeEach(() => {
  dir = new TempDir();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  dir.cleanup();
});

/** A server of zone a whose one peer (zone b) is `peer`. */
async function startWith(peer: SlowSyncPeer, flags: readonly string[] = []): Promise<RunningServer> {
  const config = dir.file('zones.json', { region: 'us-east-1', zones: { 'us-east-1a': [SELF], 'us-east-1b': [PEER] }, settings: {} });
  const argv = ['--config', config, '--zone', 'us-east-1a', '--self-url', SELF, '--host', '127.0.0.1', '--port', '0', '--log-level', 'error', ...flags];
  server = await startServer(loadConfig(argv, {}), { logger: silentLogger, peerClient: () => peer });
  return server;
}

const heartbeat = (port: number, id: string, headers: Record<string, string> = {}) => call(port, 'PUT', `/eureka/apps/ORDERS/${id}?status=UP&lastDirtyTimestamp=1`, { headers });

describe('startup sync and heartbeats', () => {
  describe('PUT /apps/{app}/{id}', () => {
    it('answers 503 for an unknown instance while sync waits for a peer, 200 for a known one, and 404 after sync', async () => {
      const peer = new SlowSyncPeer(PEER);
      const { port, ready } = await startWith(peer);
      await waitFor(() => peer.fetches > 0, 'the sync to ask the peer');
      expect((await call(port, 'POST', '/eureka/apps/ORDERS', { body: instanceBody('ORDERS', 'known') })).status).toBe(204);

      const unknown = await heartbeat(port, 'from-peer');
      expect(unknown.status).toBe(503);
      expect(unknown.text).toBe('');
      expect(unknown.headers['retry-after']).toBe('5');
      expect((await heartbeat(port, 'known')).status).toBe(200);
      // A peer's 404 makes it send the registration: replicated heartbeats keep Eureka's answer.
      expect((await heartbeat(port, 'from-peer', { 'x-netflix-discovery-replication': 'true' })).status).toBe(404);

      peer.answerFetch({ kind: 'ok', body: registryDocument([makeInstance({ id: 'from-peer' })]) });
      await ready;
      expect((await heartbeat(port, 'from-peer')).status).toBe(200);
      expect((await heartbeat(port, 'never-seen')).status).toBe(404);
      expect((await heartbeat(port, 'known')).status).toBe(200);
    });

    it('answers 404 for an unknown instance once sync has given up on the peers', async () => {
      const peer = new SlowSyncPeer(PEER);
      const { port } = await startWith(peer, ['--sync-attempts', '1', '--sync-failure-mode', 'refuse', '--sync-retry-wait-ms', '600000']);
      await waitFor(() => peer.fetches > 0, 'the sync to ask the peer');
      expect((await heartbeat(port, 'o-1')).status).toBe(503);
      peer.answerFetch({ kind: 'failed', reason: 'connect ECONNREFUSED' });
      await waitFor(async () => (await heartbeat(port, 'o-1')).status === 404, 'heartbeats to answer 404 after the sync gave up');
      // Reads stay refused meanwhile: sync has given up for now, not succeeded.
      expect((await call(port, 'GET', '/eureka/apps')).status).toBe(403);
    });
  });
});
