// Real clients against a server with authentication on and anonymous reads off (so every fetch must authenticate):
// eureka-js-client 4.5.0 with an Authorization header from its requestMiddleware, a Java-shaped client (raw HTTP
// with the §4.2 body and Basic auth, as Spring sends for http://user:pass@host:8761/eureka/), and this package's
// EurekaClient given the credentials in its server URL.
import { Eureka, EurekaConfig, EurekaLogger } from 'eureka-js-client';
import { EurekaClient } from '../../src/client/eureka-client';
import { silentClientLogger } from '../../src/client/logger';
import { RunningServer } from '../../src/server';
import { waitFor } from '../helpers/wait';
import { AUTH, authFlags, call, javaBody, PW, start, TempDir } from './support';

const quiet: EurekaLogger = { error() {}, warn() {}, info() {}, debug() {} };

let dir: TempDir;
let server: RunningServer;

beforeAll(async () => {
  dir = new TempDir();
  server = await start(authFlags(dir, ['--auth-anonymous-reads', 'false']));
  await server.ready;
});

afterAll(async () => {
  await server.close();
  dir.cleanup();
});

describe('eureka-js-client 4.5.0', () => {
  const newClient = (authorization: string | undefined, hostName: string, requests: string[] = []): Eureka => {
    const config: EurekaConfig = {
      logger: quiet,
      cwd: __dirname,
      shouldUseDelta: true,
      requestMiddleware: (requestOpts, done) => {
        requests.push(`${requestOpts.method ?? 'GET'} ${requestOpts.uri}`);
        if (authorization) requestOpts.headers = { ...requestOpts.headers, authorization };
        done(requestOpts);
      },
      eureka: { host: '127.0.0.1', port: server.port, servicePath: '/eureka/apps/', heartbeatInterval: 200, registryFetchInterval: 200, maxRetries: 0 },
      instance: {
        app: 'jqservice',
        hostName,
        ipAddr: '127.0.0.1',
        port: { $: 8080, '@enabled': true },
        vipAddress: 'jq.test.something.com',
        dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      },
    };
    return new Eureka(config);
  };
  const startClient = (c: Eureka): Promise<void> => new Promise((resolve, reject) => c.start((e) => (e ? reject(e) : resolve())));
  const stopClient = (c: Eureka): Promise<void> => new Promise((resolve, reject) => c.stop((e) => (e ? reject(e) : resolve())));

  it('registers, heartbeats, fetches (full and delta) and deregisters with Basic credentials from requestMiddleware', async () => {
    const requests: string[] = [];
    const client = newClient(AUTH.orders, 'jq-auth-1', requests);
    let heartbeats = 0;
    client.on('heartbeat', () => heartbeats++);
    try {
      await startClient(client);
      expect(server.registry.lease('JQSERVICE', 'jq-auth-1')).toBeDefined();
      // The first fetch is a full one (GET apps/), answered 200 or the client would not list itself.
      await waitFor(() => client.getInstancesByAppId('JQSERVICE').length === 1, 'the client to see itself');
      await waitFor(() => heartbeats >= 2, 'two heartbeats (200)');
      // Another app registers; the client can only learn of it through an authenticated delta.
      expect((await call(server.port, 'POST', '/eureka/apps/ORDERS', { body: javaBody(), headers: { authorization: AUTH.orders } })).status).toBe(204);
      await waitFor(() => client.getInstancesByAppId('ORDERS').length === 1, 'ORDERS to arrive by delta');
      expect(requests).toContain('GET delta');
      expect((await call(server.port, 'DELETE', '/eureka/apps/ORDERS/10.0.0.7:orders:8080', { headers: { authorization: AUTH.orders } })).status).toBe(200);
    } finally {
      await stopClient(client);
    }
    expect(server.registry.lease('JQSERVICE', 'jq-auth-1')).toBeUndefined();
  });

  it('fails to register without credentials (401)', async () => {
    const client = newClient(undefined, 'jq-anon-1');
    try {
      await expect(startClient(client)).rejects.toThrow(/status: 401/);
      expect(server.registry.lease('JQSERVICE', 'jq-anon-1')).toBeUndefined();
    } finally {
      await stopClient(client).catch(() => undefined);
    }
  });
});

describe('a Java-shaped client with Basic auth', () => {
  // What DiscoveryClient sends (Jersey/RestTemplate): JSON both ways, gzip accepted, its identity headers.
  const JAVA_HEADERS = {
    accept: 'application/json',
    'accept-encoding': 'identity',
    'discoveryidentity-name': 'DefaultClient',
    'discoveryidentity-version': '1.4',
    'discoveryidentity-id': '10.0.0.7',
    authorization: AUTH.orders,
  };
  const ID = '10.0.0.7:orders:8080';

  it('registers, heartbeats, fetches full and delta, and cancels', async () => {
    const reg = await call(server.port, 'POST', '/eureka/apps/ORDERS', { body: javaBody(), headers: { ...JAVA_HEADERS, 'content-type': 'application/json' } });
    expect(reg.status).toBe(204);
    const beat = await call(server.port, 'PUT', `/eureka/apps/ORDERS/${ID}?status=UP&lastDirtyTimestamp=1699999999000`, { headers: JAVA_HEADERS });
    expect(beat.status).toBe(200);
    const full = await call(server.port, 'GET', '/eureka/apps/', { headers: JAVA_HEADERS });
    expect(full.status).toBe(200);
    const apps = JSON.parse(full.text).applications.application as { name: string; instance: { instanceId: string }[] }[];
    expect(apps.find((a) => a.name === 'ORDERS')?.instance.map((i) => i.instanceId)).toContain(ID);
    const delta = await call(server.port, 'GET', '/eureka/apps/delta', { headers: JAVA_HEADERS });
    expect(delta.status).toBe(200);
    expect(delta.text).toContain(ID);
    // The same requests without the Authorization header are refused.
    const { authorization: _omitted, ...anonymous } = JAVA_HEADERS;
    expect((await call(server.port, 'GET', '/eureka/apps/', { headers: anonymous })).status).toBe(401);
    expect((await call(server.port, 'PUT', `/eureka/apps/ORDERS/${ID}`, { headers: anonymous })).status).toBe(401);
    expect((await call(server.port, 'DELETE', `/eureka/apps/ORDERS/${ID}`, { headers: JAVA_HEADERS })).status).toBe(200);
    expect(server.registry.lease('ORDERS', ID)).toBeUndefined();
  });
});

describe('EurekaClient (this package) with credentials in the server URL', () => {
  it('sends them as Basic auth: registers, heartbeats and fetches', async () => {
    const client = new EurekaClient({
      instance: { app: 'orders', hostName: 'lib-1.test', ipAddr: '127.0.0.1', port: 8080, instanceId: 'lib-1', leaseRenewalIntervalSecs: 1, leaseDurationSecs: 10 },
      servers: [`http://orders-svc:${PW.orders}@127.0.0.1:${server.port}/eureka/`],
      heartbeatIntervalMs: 100,
      registryFetchIntervalMs: 100,
      requestTimeoutMs: 1000,
      logger: silentClientLogger,
    });
    try {
      await client.start();
      expect(server.registry.lease('ORDERS', 'lib-1')).toBeDefined();
      await waitFor(() => client.stats.heartbeats >= 2, 'two heartbeats');
      await waitFor(() => client.getInstancesByAppId('ORDERS').some((i) => i.id === 'lib-1'), 'the client to see itself');
    } finally {
      await client.stop();
    }
    expect(server.registry.lease('ORDERS', 'lib-1')).toBeUndefined();
  });
});
