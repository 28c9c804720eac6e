// The real eureka-js-client 4.5.0 against a real zone server on 127.0.0.1 (contract §15, §19.4 test 1): register,
// heartbeats, registry fetches (full and delta), re-registration after a heartbeat 404, deregistration.
import { Eureka, EurekaConfig, EurekaLogger } from 'eureka-js-client';
import { loadConfig } from '../../src/config/config';
import { RegistryEvent } from '../../src/domain/registry';
import { silentLogger } from '../../src/observability/logger';
import { RunningServer, startServer } from '../../src/server';
import { nextEvent, waitFor } from '../helpers/wait';

const quietClientLogger: EurekaLogger = { error() {}, warn() {}, info() {}, debug() {} };
const DATA_CENTER = { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' };

let server: RunningServer;
let clients: Eureka[] = [];

beforeEach(async () => {
  server = await startServer(loadConfig(['--port', '0', '--host', '127.0.0.1', '--log-level', 'error'], {}), { logger: silentLogger });
});

afterEach(async () => {
  // Clients first (their DELETE needs the server), then the server; a client already stopped just gets a 404.
  await Promise.all(clients.map((c) => stop(c).catch(() => undefined)));
  clients = [];
  await server.close();
});

interface ClientOptions {
  app?: string;
  hostName?: string;
  vipAddress?: string;
  port?: number;
  shouldUseDelta?: boolean;
  /** Receives the relative URI of every request the client makes ('' = full fetch, 'delta', 'APP/id', …). */
  onRequest?: (method: string, uri: string) => void;
}

function newClient(o: ClientOptions = {}): Eureka {
  const config: EurekaConfig = {
    logger: quietClientLogger,
    cwd: __dirname, // no eureka-client.yml here
    shouldUseDelta: o.shouldUseDelta ?? false,
    requestMiddleware: (options, done) => {
      o.onRequest?.(options.method ?? 'GET', options.uri);
      done(options);
    },
    eureka: { host: '127.0.0.1', port: server.port, servicePath: '/eureka/apps/', heartbeatInterval: 300, registryFetchInterval: 300, maxRetries: 0 },
    instance: {
      app: o.app ?? 'jqservice',
      hostName: o.hostName ?? 'jq-host-1',
      ipAddr: '127.0.0.1',
      port: { $: o.port ?? 8080, '@enabled': true },
      vipAddress: o.vipAddress ?? 'jq.test.something.com',
      dataCenterInfo: DATA_CENTER,
    },
  };
  const client = new Eureka(config);
  clients.push(client);
  return client;
}

const start = (c: Eureka): Promise<void> => new Promise((resolve, reject) => c.start((error) => (error ? reject(error) : resolve())));
const stop = (c: Eureka): Promise<void> => new Promise((resolve, reject) => c.stop((error) => (error ? reject(error) : resolve())));

const isRenewalOf =
  (app: string, id: string) =>
  (e: RegistryEvent): boolean =>
    e.type === 'renewed' && e.app === app && e.id === id;

describe('eureka-js-client 4.5.0', () => {
  describe('start()', () => {
    it('registers the instance under its upper-cased app and its hostName', async () => {
      const client = newClient();
      await start(client);
      const lease = server.registry.lease('JQSERVICE', 'jq-host-1');
      expect(lease).toBeDefined();
      expect(lease?.record.instance).toMatchObject({
        app: 'JQSERVICE',
        id: 'jq-host-1',
        hostName: 'jq-host-1',
        ipAddr: '127.0.0.1',
        status: 'UP',
        port: { port: 8080, enabled: true },
        vipAddress: 'jq.test.something.com',
      });
      expect(client.instanceId).toBe('jq-host-1');
    });

    it('fetches the registry and finds itself by app and VIP', async () => {
      const client = newClient();
      await start(client);
      // start() fetched right after registering; the fetch interval keeps it fresh.
      await waitFor(() => client.getInstancesByAppId('JQSERVICE').length === 1, 'the client to see itself');
      const [self] = client.getInstancesByAppId('jqservice');
      expect(self).toMatchObject({ app: 'JQSERVICE', hostName: 'jq-host-1', status: 'UP', port: { $: 8080 } });
      expect(client.getInstancesByVipAddress('jq.test.something.com')).toHaveLength(1);
    });
  });

  describe('PUT /apps/{app}/{id} heartbeats', () => {
    it('renews the lease every heartbeatInterval with 200', async () => {
      const client = newClient();
      let heartbeats = 0;
      client.on('heartbeat', () => heartbeats++);
      await start(client);
      const registeredAt = server.registry.lease('JQSERVICE', 'jq-host-1')?.lastRenewalTimestamp ?? 0;
      let renewals = 0;
      const unsubscribe = server.registry.subscribe((e) => {
        if (isRenewalOf('JQSERVICE', 'jq-host-1')(e)) renewals++;
      });
      try {
        await waitFor(() => renewals >= 2 && heartbeats >= 2, 'two heartbeats');
      } finally {
        unsubscribe();
      }
      expect(server.registry.lease('JQSERVICE', 'jq-host-1')?.lastRenewalTimestamp).toBeGreaterThan(registeredAt);
    });

    it('re-registers after a heartbeat answered 404 (instance cancelled on the server)', async () => {
      const client = newClient();
      await start(client);
      const reregistered = nextEvent(server.registry, (e) => e.type === 'registered' && e.view.record.instance.id === 'jq-host-1', 're-registration');
      expect(server.registry.cancel('JQSERVICE', 'jq-host-1')).toBe('ok');
      await reregistered;
      expect(server.registry.lease('JQSERVICE', 'jq-host-1')?.record.instance.status).toBe('UP');
    });

    it('comes back UP after an operator removes its status override (UNKNOWN → 404 → re-register)', async () => {
      const client = newClient();
      await start(client);
      server.registry.statusUpdate('JQSERVICE', 'jq-host-1', 'OUT_OF_SERVICE', undefined);
      expect(server.registry.lease('JQSERVICE', 'jq-host-1')?.record.instance.status).toBe('OUT_OF_SERVICE');
      const reregistered = nextEvent(server.registry, (e) => e.type === 'registered' && e.view.record.instance.id === 'jq-host-1', 're-registration');
      server.registry.deleteStatusOverride('JQSERVICE', 'jq-host-1', undefined, undefined);
      expect(server.registry.lease('JQSERVICE', 'jq-host-1')?.record.instance.status).toBe('UNKNOWN');
      await reregistered;
      expect(server.registry.lease('JQSERVICE', 'jq-host-1')?.record.instance.status).toBe('UP');
    });
  });

  describe('GET /apps registry fetches', () => {
    it('finds an instance of another app by app id and by VIP after a fetch', async () => {
      const client = newClient();
      await start(client);
      const other = newClient({ app: 'otherapp', hostName: 'other-host', vipAddress: 'other.vip', port: 9090 });
      await start(other);
      await waitFor(() => client.getInstancesByAppId('OTHERAPP').length === 1, 'the first client to see OTHERAPP');
      const [found] = client.getInstancesByAppId('OTHERAPP');
      expect(found).toMatchObject({ app: 'OTHERAPP', hostName: 'other-host', vipAddress: 'other.vip', status: 'UP', port: { $: 9090, '@enabled': 'true' } });
      expect(client.getInstancesByVipAddress('other.vip')).toEqual([expect.objectContaining({ hostName: 'other-host' })]);
      // And the other way round.
      await waitFor(() => other.getInstancesByVipAddress('jq.test.something.com').length === 1, 'the second client to see JQSERVICE');
    });

    it('stops listing an instance that deregistered', async () => {
      const client = newClient();
      await start(client);
      const other = newClient({ app: 'otherapp', hostName: 'other-host', vipAddress: 'other.vip' });
      await start(other);
      await waitFor(() => client.getInstancesByAppId('OTHERAPP').length === 1, 'OTHERAPP to appear');
      await stop(other);
      await waitFor(() => client.getInstancesByAppId('OTHERAPP').length === 0, 'OTHERAPP to disappear');
    });

    it('sees a newly registered instance through GET /apps/delta when shouldUseDelta is on', async () => {
      const uris: string[] = [];
      const client = newClient({ shouldUseDelta: true, onRequest: (method, uri) => method === 'GET' && uris.push(uri) });
      await start(client);
      expect(uris).toEqual(['']); // the first fetch is a full one
      await waitFor(() => uris.includes('delta'), 'a delta fetch');
      const other = newClient({ app: 'otherapp', hostName: 'other-host', vipAddress: 'other.vip' });
      await start(other);
      const fetchesBefore = uris.length;
      await waitFor(() => client.getInstancesByAppId('OTHERAPP').length === 1, 'OTHERAPP to arrive by delta');
      expect(client.getInstancesByVipAddress('other.vip')).toEqual([expect.objectContaining({ hostName: 'other-host', actionType: 'ADDED' })]);
      // Only delta fetches after the first full one.
      expect(uris.slice(1).every((u) => u === 'delta')).toBe(true);
      expect(uris.length).toBeGreaterThan(fetchesBefore);
    });
  });

  describe('stop()', () => {
    it('deregisters the instance (DELETE answered 200)', async () => {
      const client = newClient();
      await start(client);
      expect(server.registry.lease('JQSERVICE', 'jq-host-1')).toBeDefined();
      const deregistered = new Promise<void>((resolve) => client.once('deregistered', () => resolve()));
      await stop(client);
      await deregistered;
      expect(server.registry.lease('JQSERVICE', 'jq-host-1')).toBeUndefined();
      expect(server.registry.size).toBe(0);
    });
  });
});
