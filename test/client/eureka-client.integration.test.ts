// EurekaClient against a region of real zone servers (three zones on 127.0.0.1, replicating to each other):
// registration, heartbeats, full and delta fetches, the hashcode reconcile path, failover to another zone and
// back, the cached registry while every server is down, status and metadata changes, deregistration.
import { createServer, Server, Socket } from 'node:net';
import { AddressInfo } from 'node:net';
import axios from 'axios';
import { EurekaClient, EurekaClientOptions, RegistryUpdate } from '../../src/client/eureka-client';
import { RegistryInstance } from '../../src/client/instance';
import { silentClientLogger } from '../../src/client/logger';
import { Cluster, zoneName } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';
import { nextEmitted } from './helpers';

jest.setTimeout(30_000);

let cluster: Cluster;
let clients: EurekaClient[] = [];

beforeEach(async () => {
  cluster = await Cluster.started({ size: 3 });
});

afterEach(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  clients = [];
  await cluster.close();
});

/** A client of the region, in zone a unless told otherwise, with short intervals. */
function newClient(name: string, options: Partial<EurekaClientOptions> = {}): EurekaClient {
  const client = new EurekaClient({
    instance: { app: 'orders', hostName: `${name}.test`, ipAddr: '127.0.0.1', port: 8080, instanceId: name, leaseRenewalIntervalSecs: 1, leaseDurationSecs: 10 },
    servers: cluster.configFile,
    zone: zoneName(0),
    heartbeatIntervalMs: 100,
    registryFetchIntervalMs: 100,
    requestTimeoutMs: 1000,
    quarantineMs: 300,
    registerRetry: { initialDelayMs: 50, maxDelayMs: 200 },
    logger: silentClientLogger,
    ...options,
  });
  clients.push(client);
  return client;
}

const lease = (server: number, id: string, app = 'ORDERS') => cluster.server(server).registry.lease(app, id);

describe('EurekaClient in a three-zone region', () => {
  it('registers with its own zone, heartbeats, sees itself, and deregisters everywhere on stop', async () => {
    const client = newClient('orders-1');
    let renewals = 0;
    cluster.server(0).registry.subscribe((e) => {
      if (e.type === 'renewed' && e.id === 'orders-1' && !e.isReplication) renewals++;
    });
    await client.start();
    expect(client.currentServer()?.url).toBe(cluster.urls[0]);
    expect(lease(0, 'orders-1')?.record.instance).toMatchObject({ app: 'ORDERS', status: 'UP', metadata: { zone: zoneName(0) }, renewalIntervalSecs: 1, durationSecs: 10 });
    await waitFor(() => renewals >= 3 && client.stats.heartbeats >= 3, 'three heartbeats at the own-zone server');
    await waitFor(() => client.getInstancesByAppId('ORDERS').some((i) => i.id === 'orders-1'), 'the client to see itself');
    // Replicated to the other zones.
    await waitFor(() => lease(1, 'orders-1') !== undefined && lease(2, 'orders-1') !== undefined, 'replication to the other zones');
    const deregistered = nextEmitted(client, 'deregistered', 'the deregistered event');
    await client.stop();
    await deregistered;
    expect(lease(0, 'orders-1')).toBeUndefined();
    await waitFor(() => lease(1, 'orders-1') === undefined && lease(2, 'orders-1') === undefined, 'the cancel to replicate');
  });

  it('fetches the full registry once, then follows changes by delta with matching hashcodes', async () => {
    const watcher = newClient('watcher', { shouldRegister: false, instance: undefined });
    const member = newClient('member-1');
    await member.start();
    await watcher.start();
    await waitFor(() => watcher.getInstancesByAppId('ORDERS').length === 1, 'the watcher to see member-1');
    const events: string[] = [];
    watcher.on('instanceAdded', (i) => events.push(`added ${i.id}`));
    watcher.on('instanceRemoved', (i) => events.push(`removed ${i.id}`));
    watcher.on('statusChanged', (i, previous) => events.push(`status ${i.id} ${previous}→${i.status}`));
    const other = newClient('member-2', { zone: zoneName(1) });
    await other.start();
    await waitFor(() => events.includes('added member-2'), 'member-2 to arrive');
    await cluster.client(1).setStatus('member-2', 'OUT_OF_SERVICE');
    await waitFor(() => events.includes('status member-2 UP→OUT_OF_SERVICE'), 'the status change to arrive');
    expect(watcher.getInstancesByAppId('ORDERS').map((i) => i.id)).toEqual(['member-1']);
    await other.stop();
    await waitFor(() => events.includes('removed member-2'), 'member-2 to leave');
    expect(watcher.stats.fullFetches).toBe(1);
    expect(watcher.stats.deltaFetches).toBeGreaterThanOrEqual(3); // one per change at least
    expect(watcher.stats.reconciliations).toBe(0);
    expect(watcher.registry.hashcode()).toBe(cluster.server(0).registry.hashcode());
  });

  it('does a full fetch when its copy diverges from the server (a delta that lost an entry)', async () => {
    // An axios instance whose interceptor removes app HIDDEN from delta responses while `dropping` is set.
    const http = axios.create();
    let dropping = false;
    http.interceptors.response.use((res) => {
      if (dropping && typeof res.data === 'string' && res.config.url?.endsWith('apps/delta') && res.status === 200) {
        const doc = JSON.parse(res.data);
        doc.applications.application = doc.applications.application.filter((a: { name: string }) => a.name !== 'HIDDEN');
        res.data = JSON.stringify(doc);
      }
      return res;
    });
    // Polling: the interceptor edits `apps/delta` answers (the watch's divergence has its own test).
    const client = newClient('orders-1', { http, watch: false });
    const updates: RegistryUpdate[] = [];
    client.on('registryUpdated', (u) => updates.push(u));
    await client.start();
    await waitFor(() => client.stats.deltaFetches > 0, 'a delta fetch');
    dropping = true;
    expect((await cluster.client(0).register({ id: 'hidden-1', app: 'HIDDEN', durationSecs: 60 })).status).toBe(204);
    await waitFor(() => client.getInstancesByAppId('HIDDEN').length === 1, 'the hidden instance to arrive by a full fetch');
    expect(client.stats.reconciliations).toBeGreaterThanOrEqual(1);
    expect(updates.some((u) => u.kind === 'full' && u.reason === 'reconcile' && u.changes.some((c) => c.type === 'added' && c.instance.id === 'hidden-1'))).toBe(true);
    expect(client.registry.hashcode()).toBe(cluster.server(0).registry.hashcode());
  });

  it('fails over to the next zone when its own zone server stops, and returns once it is back', async () => {
    // Polling, so that fetches from zone b happen without changes (watch failover: watch.integration.test.ts).
    const client = newClient('orders-1', { watch: false });
    await client.start();
    expect(client.currentServer()?.url).toBe(cluster.urls[0]);
    let renewalsAtB = 0;
    cluster.server(1).registry.subscribe((e) => {
      if (e.type === 'renewed' && e.id === 'orders-1' && !e.isReplication) renewalsAtB++;
    });
    await cluster.stop(0);
    await waitFor(() => client.currentServer()?.url === cluster.urls[1], 'failover to zone b');
    await waitFor(() => renewalsAtB >= 2, 'heartbeats at zone b');
    const fetchesBefore = client.stats.deltaFetches + client.stats.fullFetches;
    await waitFor(() => client.stats.deltaFetches + client.stats.fullFetches > fetchesBefore + 2, 'fetches from zone b');
    await cluster.start(0);
    await cluster.server(0).ready;
    let renewalsAtA = 0;
    cluster.server(0).registry.subscribe((e) => {
      if (e.type === 'renewed' && e.id === 'orders-1' && !e.isReplication) renewalsAtA++;
    });
    await waitFor(() => client.currentServer()?.url === cluster.urls[0], 'the return to the own zone');
    await waitFor(() => renewalsAtA >= 2, 'heartbeats at zone a again');
    expect(lease(0, 'orders-1')?.record.instance.status).toBe('UP');
  });

  it('keeps answering from its cached registry while every server is down, and says how old it is', async () => {
    // Polling: a watching client's last fetch is the servers' shutdown answer to its parked watch, which lands as
    // they stop (watch.integration.test.ts covers a region going down under a watch).
    const client = newClient('orders-1', { watch: false });
    const peer = newClient('orders-2');
    await Promise.all([client.start(), peer.start()]);
    await waitFor(() => client.getInstancesByAppId('ORDERS').length === 2, 'both instances');
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    await Promise.all([0, 1, 2].map((i) => cluster.stop(i)));
    const downAt = Date.now();
    await waitFor(() => (client.registryAgeMs() ?? 0) > 600, 'the registry to age');
    expect(client.lastSuccessfulFetchAt).toBeLessThanOrEqual(downAt);
    const now = Date.now();
    // Its age runs from the last fetch that succeeded, which came before the servers went down.
    expect(client.registryAgeMs()).toBeGreaterThanOrEqual(now - downAt);
    expect(client.getInstancesByAppId('ORDERS').map((i) => i.id)).toEqual(['orders-1', 'orders-2']);
    expect(client.chooseInstance('orders', { strategy: 'random' })).toBeDefined();
    expect(errors.some((e) => /no Eureka server answered/.test(e.message))).toBe(true);
    // A server comes back: the registry is current again.
    await cluster.start(2, ['--sync-failure-mode', 'serve']);
    await cluster.server(2).ready;
    await waitFor(() => (client.registryAgeMs() ?? Infinity) < 300, 'a fresh fetch from zone c');
  });

  it('setStatus and setMetadata re-register; other clients see the change and filter on status', async () => {
    const client = newClient('orders-1');
    const watcher = newClient('watcher', { shouldRegister: false, instance: undefined });
    await client.start();
    await watcher.start();
    await waitFor(() => watcher.getInstancesByAppId('ORDERS').length === 1, 'the watcher to see orders-1');
    const dirtyBefore = lease(0, 'orders-1')?.record.instance.lastDirtyTimestamp ?? 0;
    const changed = nextEmitted<[RegistryInstance, string]>(watcher, 'statusChanged', 'the status change at the watcher');
    expect(await client.setStatus('DOWN')).toBe(true);
    expect(lease(0, 'orders-1')?.record.instance.status).toBe('DOWN');
    expect(lease(0, 'orders-1')?.record.instance.lastDirtyTimestamp).toBeGreaterThan(dirtyBefore);
    const [changedInstance, previous] = await changed;
    expect(`${previous}→${changedInstance.status}`).toBe('UP→DOWN');
    expect(watcher.getInstancesByAppId('ORDERS')).toEqual([]);
    expect(watcher.chooseInstance('ORDERS')).toBeUndefined();
    expect(watcher.getInstancesByAppId('ORDERS', { status: 'DOWN' })).toHaveLength(1);
    // Heartbeats keep the DOWN registration (no 404 loop).
    const registrations = client.stats.registrations;
    const beats = client.stats.heartbeats;
    await waitFor(() => client.stats.heartbeats >= beats + 3, 'heartbeats while DOWN');
    expect(client.stats.registrations).toBe(registrations);
    const modified = nextEmitted<[RegistryInstance]>(watcher, 'instanceModified', 'the metadata change at the watcher', (i) => i.metadata['version'] === '2');
    await client.setStatus('UP');
    await client.setMetadata({ version: '2' });
    expect(lease(0, 'orders-1')?.record.instance.metadata).toMatchObject({ version: '2', zone: zoneName(0) });
    await waitFor(() => watcher.getInstancesByAppId('ORDERS', { metadata: { version: '2' } }).length === 1, 'the metadata to arrive');
    expect((await modified)[0].metadata).toMatchObject({ version: '2', zone: zoneName(0) });
  });

  it('re-registers when the server answers a heartbeat 404 (instance cancelled behind its back)', async () => {
    const client = newClient('orders-1');
    await client.start();
    let registrations = 0;
    client.on('registered', () => registrations++);
    expect(cluster.server(0).registry.cancel('ORDERS', 'orders-1')).toBe('ok');
    await waitFor(() => registrations === 1 && lease(0, 'orders-1') !== undefined, 're-registration');
  });

  it('keeps retrying the registration until a server starts', async () => {
    await Promise.all([0, 1, 2].map((i) => cluster.stop(i)));
    const client = newClient('orders-1', { registerRetry: { maxAttempts: 100, initialDelayMs: 50, maxDelayMs: 100 }, quarantineMs: 50 });
    let started = false;
    const starting = client.start().then(() => {
      started = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(started).toBe(false);
    await cluster.start(1, ['--sync-failure-mode', 'serve']);
    await starting;
    expect(lease(1, 'orders-1')).toBeDefined();
    expect(client.currentServer()?.url).toBe(cluster.urls[1]);
  });

  it('moves on when a server accepts connections but never answers (request timeout)', async () => {
    // A black hole: accepts TCP connections and never answers.
    const sockets = new Set<Socket>();
    const hole: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    try {
      const holeUrl = `http://127.0.0.1:${(hole.address() as AddressInfo).port}/eureka/`;
      const client = newClient('orders-1', { servers: [holeUrl, cluster.urls[1]], zone: undefined, requestTimeoutMs: 200, quarantineMs: 10_000 });
      const startedAt = Date.now();
      await client.start();
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(190);
      expect(client.currentServer()?.url).toBe(cluster.urls[1]);
      expect(lease(1, 'orders-1')).toBeDefined();
      // Quarantined: later requests go straight to the server that answers.
      const beats = client.stats.heartbeats;
      await waitFor(() => client.stats.heartbeats >= beats + 3, 'heartbeats');
      expect(client.servers.isQuarantined(holeUrl)).toBe(true);
      await client.stop();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => hole.close(() => resolve()));
    }
  });
});
