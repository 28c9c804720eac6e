// Who counts as a peer with authentication off: a zone server whose zones file lists one peer (a scripted peer
// client, no sockets) at 127.0.0.1, and callers that bind their sockets to 127.0.0.1 (the peer's address) or
// 127.0.0.2 (anyone else on the network).
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { HostLookup } from '../../src/config/peer-addresses';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/observability/logger';
import { RunningServer, startServer } from '../../src/server';
import { FAST_FLAGS, freePorts } from '../helpers/cluster';
import { ReceivedItem, ScriptedPeerClient } from '../helpers/replication-peer-client';
import { waitFor } from '../helpers/wait';
import { authFlags, AUTH, instanceBody, TempDir } from './support';

jest.setTimeout(30_000);

const PEER = '127.0.0.1';
const STRANGER = '127.0.0.2';
const REPLICATED = { 'x-netflix-discovery-replication': 'true' };

interface Zone {
  readonly server: RunningServer;
  readonly port: number;
  /** What the server replicated to its one peer. */
  readonly peer: ScriptedPeerClient;
}

let dir: TempDir;
let zone: Zone | undefined;
beforeEach(() => {
  dir = new TempDir();
});
afterEach(async () => {
  await zone?.server.close();
  zone = undefined;
  dir.cleanup();
});

/** Starts a server in zone a of a two-zone file whose zone b server is at `peerHost`; the peer is a scripted client. */
async function startZone(flags: readonly string[] = [], options: { peerHost?: string; lookup?: HostLookup } = {}): Promise<Zone> {
  const [port, peerPort] = await freePorts(2);
  const zones = { a: [`http://127.0.0.1:${port}/eureka/`], b: [`http://${options.peerHost ?? PEER}:${peerPort}/eureka/`] };
  const configFile = dir.file('zones.json', { region: 'test', zones, settings: {} });
  const peer = new ScriptedPeerClient(zones.b[0]);
  const argv = ['--config', configFile, '--zone', 'a', '--host', '127.0.0.1', '--port', String(port), ...FAST_FLAGS, '--sync-failure-mode', 'serve', ...flags];
  const server = await startServer(loadConfig(argv, {}), { logger: silentLogger, peerClient: () => peer, lookup: options.lookup });
  zone = { server, port, peer };
  await server.ready;
  return zone;
}

interface Reply {
  readonly status: number;
  readonly body: Buffer;
}

/** One request on a fresh connection from local address `from` to the zone's server. */
function send(from: string, method: string, path: string, options: { body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { accept: 'application/json', ...options.headers };
    if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = Buffer.byteLength(options.body);
    }
    const req = request({ host: '127.0.0.1', port: zone?.port, localAddress: from, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    // The server may answer (403, 413) before taking the whole body.
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    req.end(options.body);
  });
}

const register = (from: string, id: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Reply> =>
  send(from, 'POST', '/eureka/apps/ORDERS', { body: instanceBody('ORDERS', id, extra), headers });

/** A batch Register item as a peer sends it. */
const registerItem = (id: string, extra: Record<string, unknown> = {}) => ({
  action: 'Register',
  appName: 'ORDERS',
  id,
  lastDirtyTimestamp: 1_700_000_000_000,
  status: 'UP',
  instanceInfo: JSON.parse(instanceBody('ORDERS', id, { lastDirtyTimestamp: '1700000000000', ...extra })).instance,
});
const batch = (...items: unknown[]): string => JSON.stringify({ replicationList: items });
const postBatch = (from: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> =>
  send(from, 'POST', '/eureka/peerreplication/batch', { body, headers: { ...REPLICATED, ...headers } });

const lease = (id: string) => zone?.server.registry.lease('ORDERS', id);
const override = (id: string) => zone?.server.registry.statusOverrides().get(`ORDERS/${id}`);
const forwarded = (action: string, id: string) => (zone?.peer.items ?? []).some((i: ReceivedItem) => i.action === action && i.id === id);

/** Waits until `marker` (written after the writes in question) reached the peer: replication is in order, so they would have too. */
async function afterReplicationOf(marker: string): Promise<void> {
  expect((await register(STRANGER, marker)).status).toBe(204);
  await waitFor(() => forwarded('Register', marker), `${marker} to reach the peer`);
}

describe('zone server with authentication off', () => {
  describe('POST /eureka/peerreplication/batch', () => {
    it('applies a batch from a peer address as replicated (200, not sent back to peers)', async () => {
      await startZone();
      const reply = await postBatch(PEER, batch(registerItem('b-1')));
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body.toString())).toEqual({ responseList: [{ statusCode: 200 }] });
      expect(lease('b-1')).toBeDefined();
      await afterReplicationOf('marker');
      expect(forwarded('Register', 'b-1')).toBe(false);
    });

    it('answers 403 with an empty body to a batch from any other address, and applies nothing', async () => {
      await startZone();
      const reply = await postBatch(STRANGER, batch(registerItem('b-2')));
      expect({ status: reply.status, body: reply.body.length }).toEqual({ status: 403, body: 0 });
      expect(lease('b-2')).toBeUndefined();
    });

    it('answers 400 with nothing applied to more items than replicationBatchSize, and applies a full batch', async () => {
      await startZone(['--replication-batch-size', '3']);
      const tooMany = await postBatch(PEER, batch(...['c-1', 'c-2', 'c-3', 'c-4'].map((id) => registerItem(id))));
      expect(tooMany.status).toBe(400);
      expect(['c-1', 'c-2', 'c-3', 'c-4'].map((id) => lease(id))).toEqual([undefined, undefined, undefined, undefined]);
      const full = await postBatch(PEER, batch(...['c-1', 'c-2', 'c-3'].map((id) => registerItem(id))));
      expect(full.status).toBe(200);
      expect(['c-1', 'c-2', 'c-3'].every((id) => lease(id) !== undefined)).toBe(true);
    });

    it('answers a gzip bomb of 16 MB of {} items with 400 or 413 and a short body, even from a peer, without memory ballooning', async () => {
      await startZone();
      // ~16 MB inflated (under the old limit of maxBodyBytes × replicationBatchSize), ~16 KB on the wire.
      const bomb = gzipSync(`{"replicationList":[${'{},'.repeat(5_300_000)}{}]}`, { level: 9 });
      expect(bomb.length).toBeLessThan(64 * 1024);
      const rssBefore = process.memoryUsage().rss;
      const replies = await Promise.all(Array.from({ length: 8 }, () => postBatch(PEER, bomb, { 'content-encoding': 'gzip' })));
      for (const reply of replies) {
        expect([400, 413]).toContain(reply.status);
        expect(reply.body.length).toBeLessThan(1024);
      }
      // Each answered bomb used to cost ~100 MB of response alone.
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(400 * 1024 * 1024);
      expect(zone?.server.registry.size).toBe(0);
    });

    it('answers 400 to a body of a million {} items that fits maxReplicationBodyBytes', async () => {
      await startZone(['--max-replication-body-bytes', String(4 * 1024 * 1024)]);
      const reply = await postBatch(PEER, `{"replicationList":[${'{},'.repeat(999_999)}{}]}`);
      expect(reply.status).toBe(400);
      expect(reply.body.length).toBeLessThan(1024);
    });

    it('answers 413 to a body over maxReplicationBodyBytes', async () => {
      await startZone(['--max-replication-body-bytes', '2048']);
      const reply = await postBatch(PEER, batch(registerItem('d-1', { metadata: { filler: 'x'.repeat(4096) } })));
      expect(reply.status).toBe(413);
      expect(lease('d-1')).toBeUndefined();
    });
  });

  describe('a write with the replication header', () => {
    it('from another address is a client write: replicated onwards', async () => {
      await startZone();
      expect((await register(STRANGER, 'forged-1', {}, REPLICATED)).status).toBe(204);
      await waitFor(() => forwarded('Register', 'forged-1'), 'the forged register to be replicated onwards');
      expect((await send(STRANGER, 'DELETE', '/eureka/apps/ORDERS/forged-1', { headers: REPLICATED })).status).toBe(200);
      await waitFor(() => forwarded('Cancel', 'forged-1'), 'the forged cancel to be replicated onwards');
    });

    it('from a peer address is replicated: not sent back to peers', async () => {
      await startZone();
      expect((await register(PEER, 'peer-1', {}, REPLICATED)).status).toBe(204);
      await afterReplicationOf('marker');
      expect(forwarded('Register', 'peer-1')).toBe(false);
    });
  });

  describe('PUT /eureka/apps/:app/:id?overriddenstatus=', () => {
    it('is ignored from another address, header or not', async () => {
      await startZone();
      expect((await register(STRANGER, 'hb-1')).status).toBe(204);
      expect((await send(STRANGER, 'PUT', '/eureka/apps/ORDERS/hb-1?status=UP&overriddenstatus=OUT_OF_SERVICE', { headers: REPLICATED })).status).toBe(200);
      expect(override('hb-1')).toBeUndefined();
      expect(lease('hb-1')?.record.instance.status).toBe('UP');
    });

    it("repairs a missing override from a peer's heartbeat", async () => {
      await startZone();
      expect((await register(STRANGER, 'hb-2')).status).toBe(204);
      expect((await send(PEER, 'PUT', '/eureka/apps/ORDERS/hb-2?status=UP&overriddenstatus=OUT_OF_SERVICE', { headers: REPLICATED })).status).toBe(200);
      expect(override('hb-2')).toBe('OUT_OF_SERVICE');
      expect(lease('hb-2')?.record.instance.status).toBe('OUT_OF_SERVICE');
    });
  });

  describe('overriddenStatus in a registration body', () => {
    it("is ignored in a client's registration, from any address", async () => {
      await startZone();
      expect((await register(STRANGER, 'o-1', { overriddenStatus: 'OUT_OF_SERVICE' })).status).toBe(204);
      expect((await register(PEER, 'o-2', { overriddenStatus: 'OUT_OF_SERVICE' })).status).toBe(204);
      for (const id of ['o-1', 'o-2']) {
        expect(override(id)).toBeUndefined();
        expect(lease(id)?.record.instance).toMatchObject({ status: 'UP', overriddenStatus: 'UNKNOWN' });
      }
    });

    it("cannot undo an operator's override", async () => {
      await startZone();
      expect((await register(STRANGER, 'o-3')).status).toBe(204);
      expect((await send(PEER, 'PUT', '/eureka/apps/ORDERS/o-3/status?value=OUT_OF_SERVICE')).status).toBe(200);
      expect((await register(STRANGER, 'o-3', { overriddenStatus: 'UP' })).status).toBe(204);
      expect(override('o-3')).toBe('OUT_OF_SERVICE');
      expect(lease('o-3')?.record.instance.status).toBe('OUT_OF_SERVICE');
    });

    it("is honoured in a peer's replicated registration and batch", async () => {
      await startZone();
      expect((await register(PEER, 'o-4', { overriddenStatus: 'OUT_OF_SERVICE' }, REPLICATED)).status).toBe(204);
      expect((await postBatch(PEER, batch(registerItem('o-5', { overriddenStatus: 'OUT_OF_SERVICE' })))).status).toBe(200);
      for (const id of ['o-4', 'o-5']) {
        expect(override(id)).toBe('OUT_OF_SERVICE');
        expect(lease(id)?.record.instance.status).toBe('OUT_OF_SERVICE');
      }
    });
  });

  describe('peerAllowedAddresses', () => {
    it('makes more addresses peers', async () => {
      await startZone(['--peer-allowed-addresses', `192.0.2.1, ${STRANGER}/32`]);
      expect((await postBatch(STRANGER, batch(registerItem('w-1')))).status).toBe(200);
      expect((await postBatch('127.0.0.3', batch(registerItem('w-2')))).status).toBe(403);
    });

    it('stops the start when an entry is not an address or range', async () => {
      await expect(startZone(['--peer-allowed-addresses', 'peer-b.internal'])).rejects.toThrow('Invalid setting peerAllowedAddresses: "peer-b.internal" is not an IP address or CIDR range');
    });
  });

  describe('peerAddressCheck false', () => {
    it('trusts the header and the batch route from anyone, as Eureka does', async () => {
      await startZone(['--peer-address-check', 'false']);
      expect((await postBatch(STRANGER, batch(registerItem('t-1')))).status).toBe(200);
      expect((await register(STRANGER, 't-2', {}, REPLICATED)).status).toBe(204);
      await afterReplicationOf('marker');
      expect(forwarded('Register', 't-2')).toBe(false);
    });
  });

  describe('peer host names', () => {
    it("are resolved at start: requests from their addresses are a peer's", async () => {
      const lookup: HostLookup = async (host) => (host === 'zone-b.test' ? [STRANGER] : Promise.reject(new Error(`ENOTFOUND ${host}`)));
      await startZone([], { peerHost: 'zone-b.test', lookup });
      expect((await postBatch(STRANGER, batch(registerItem('n-1')))).status).toBe(200);
      expect((await postBatch(PEER, batch(registerItem('n-2')))).status).toBe(403);
    });

    it('are resolved again every peerAddressRefreshMs', async () => {
      let address = PEER;
      await startZone(['--peer-address-refresh-ms', '1000'], { peerHost: 'zone-b.test', lookup: async () => [address] });
      expect((await postBatch(STRANGER, batch(registerItem('n-3')))).status).toBe(403);
      address = STRANGER;
      await waitFor(async () => (await postBatch(STRANGER, batch(registerItem('n-3')))).status === 200, 'the new address to be resolved', 10_000, 100);
    });
  });

  describe('rate limits', () => {
    it('never throttle a peer address; other addresses get 429', async () => {
      await startZone(['--rate-limit-requests-per-client-per-sec', '2', '--rate-limit-full-fetches-per-sec', '1']);
      const fromPeer = [];
      for (let i = 0; i < 12; i++) fromPeer.push((await postBatch(PEER, batch(registerItem(`r-${i}`)))).status, (await send(PEER, 'GET', '/eureka/apps/')).status);
      expect(new Set(fromPeer)).toEqual(new Set([200]));
      const fromStranger = [];
      for (let i = 0; i < 12; i++) fromStranger.push((await register(STRANGER, `s-${i}`)).status);
      expect(fromStranger).toContain(429);
    });
  });
});

describe('zone server with authentication on', () => {
  const auth = (): string[] => authFlags(dir);

  describe('POST /eureka/peerreplication/batch', () => {
    it('takes peer credentials as the proof, from any address', async () => {
      await startZone(auth());
      expect((await postBatch(STRANGER, batch(registerItem('a-1')), { authorization: AUTH.peer })).status).toBe(200);
      expect((await postBatch(PEER, batch(registerItem('a-2')), { authorization: AUTH.orders })).status).toBe(403);
    });
  });

  describe('overriddenStatus in a registration body', () => {
    it('is honoured from an admin and ignored from a client', async () => {
      await startZone(auth());
      expect((await register(STRANGER, 'a-3', { overriddenStatus: 'OUT_OF_SERVICE' }, { authorization: AUTH.ops })).status).toBe(204);
      expect((await register(PEER, 'a-4', { overriddenStatus: 'OUT_OF_SERVICE' }, { authorization: AUTH.orders })).status).toBe(204);
      expect(override('a-3')).toBe('OUT_OF_SERVICE');
      expect(override('a-4')).toBeUndefined();
    });
  });

  describe('rate limits', () => {
    it('throttle a peer address without peer credentials', async () => {
      await startZone([...auth(), '--rate-limit-requests-per-client-per-sec', '1']);
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await send(PEER, 'GET', '/eureka/apps/ORDERS')).status);
      expect(statuses).toContain(429);
    });
  });
});
