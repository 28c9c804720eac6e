// EurekaClient's registry watch against a region of real zone servers (three zones on 127.0.0.1, replicating to
// each other): a change registered in another zone arrives by the watch, failover when the watched server closes,
// a restarted server (a new identity) fetched in full and watched again, and a region going down under a watch.
// The poll interval is a minute, beyond every deadline here: what arrives in time arrived by the watch.
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

/** A fetch-only client of the region in zone `zone`, watching. */
function watcher(zone: number, options: Partial<EurekaClientOptions> = {}): EurekaClient {
  const client = new EurekaClient({
    servers: cluster.configFile,
    zone: zoneName(zone),
    shouldRegister: false,
    registryFetchIntervalMs: 60_000,
    watchWaitMs: 20_000,
    requestTimeoutMs: 1000,
    quarantineMs: 300,
    logger: silentClientLogger,
    ...options,
  });
  clients.push(client);
  return client;
}

/** The X-Registry-Server token server `i` answers with now. */
async function serverId(i: number): Promise<string> {
  const res = await axios.get(`${cluster.urls[i]}apps/`, { headers: { accept: 'application/json' } });
  return String(res.headers['x-registry-server']);
}

const watching = (client: EurekaClient, i: number) => client.watchState()?.server === cluster.urls[i];
const arrivalOf = (client: EurekaClient, id: string) =>
  nextEmitted<[RegistryInstance]>(client, 'instanceAdded', `${id} to arrive`, (i) => i.id === id, 15_000);

async function register(server: number, id: string): Promise<void> {
  expect((await cluster.client(server).register({ id, durationSecs: 60 })).status).toBe(204);
}

describe('EurekaClient watch in a three-zone region', () => {
  it('a client watching zone c sees a registration made in zone a by a watched delta', async () => {
    const client = watcher(2);
    await client.start();
    await waitFor(() => watching(client, 2), 'the client to watch zone c');
    expect(client.watchState()?.serverId).toBe(await serverId(2));
    const updates: RegistryUpdate[] = [];
    client.on('registryUpdated', (u) => updates.push(u));
    const arrival = arrivalOf(client, 'a-1');
    await register(0, 'a-1');
    await arrival;
    expect(updates.some((u) => u.kind === 'delta' && u.server === cluster.urls[2] && u.changes.some((c) => c.type === 'added' && c.instance.id === 'a-1'))).toBe(true);
    expect(client.stats).toMatchObject({ fullFetches: 1, reconciliations: 0, watchResets: 0, watchFailures: 0 });
    expect(client.stats.watchAnswers).toBeGreaterThanOrEqual(1);
    expect(client.registry.hashcode()).toBe(cluster.server(2).registry.hashcode());
  });

  it('fails over to the next zone when its server closes, and watches there', async () => {
    const client = watcher(0);
    await client.start();
    await waitFor(() => watching(client, 0), 'the client to watch zone a');
    await cluster.stop(0);
    await waitFor(() => watching(client, 1), 'the watch to move to zone b');
    expect(client.stats.watchResets).toBeGreaterThanOrEqual(1);
    expect(client.watchState()?.serverId).toBe(await serverId(1));
    const arrival = arrivalOf(client, 'c-1');
    await register(2, 'c-1');
    await arrival;
    expect(client.currentServer()?.url).toBe(cluster.urls[1]);
  });

  it('fetches the full registry from a restarted server (a new identity) and watches it again', async () => {
    const client = watcher(0, { watchWaitMs: 2000 });
    await client.start();
    await waitFor(() => watching(client, 0), 'the client to watch zone a');
    const before = client.watchState()?.serverId;
    const updates: RegistryUpdate[] = [];
    client.on('registryUpdated', (u) => updates.push(u));
    await cluster.restart(0);
    await cluster.server(0).ready;
    const after = await serverId(0);
    expect(after).not.toBe(before);
    await waitFor(() => watching(client, 0) && client.watchState()?.serverId === after, 'the client to watch the restarted server', 15_000);
    expect(updates.some((u) => u.kind === 'full' && u.reason === 'watch-reset' && u.server === cluster.urls[0])).toBe(true);
    const arrival = arrivalOf(client, 'a-2');
    await register(0, 'a-2');
    await arrival;
  });

  it('keeps its copy while every server is down, then fetches and watches the first one back', async () => {
    const client = watcher(0, { registryFetchIntervalMs: 100 });
    await register(0, 'a-1');
    await client.start();
    await waitFor(() => watching(client, 0) && client.getInstancesByAppId('ORDERS').length === 1, 'the client to watch zone a with a-1');
    await Promise.all([0, 1, 2].map((i) => cluster.stop(i)));
    await waitFor(() => client.watchState() === undefined && (client.registryAgeMs() ?? 0) > 300, 'the client to poll with an ageing copy');
    expect(client.getInstancesByAppId('ORDERS').map((i) => i.id)).toEqual(['a-1']);
    await cluster.start(2, ['--sync-failure-mode', 'serve']);
    await cluster.server(2).ready;
    await waitFor(() => watching(client, 2), 'the client to watch zone c', 15_000);
    // Zone c came back empty: the full fetch says so.
    expect(client.getInstancesByAppId('ORDERS')).toEqual([]);
    const arrival = arrivalOf(client, 'c-1');
    await register(2, 'c-1');
    await arrival;
  });
});
