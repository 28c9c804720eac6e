// This client and eureka-js-client 4.5.0 on one real zone server: each sees the instances the other registers,
// status changes and deregistrations.
import { Eureka, EurekaConfig, EurekaLogger } from 'eureka-js-client';
import { EurekaClient, EurekaClientOptions } from '../../src/client/eureka-client';
import { silentClientLogger } from '../../src/client/logger';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/observability/logger';
import { RunningServer, startServer } from '../../src/server';
import { waitFor } from '../helpers/wait';

const quiet: EurekaLogger = { error() {}, warn() {}, info() {}, debug() {} };

let server: RunningServer;
let jsClients: Eureka[] = [];
let ours: EurekaClient[] = [];

beforeEach(async () => {
  server = await startServer(loadConfig(['--port', '0', '--host', '127.0.0.1', '--log-level', 'error'], {}), { logger: silentLogger });
});

afterEach(async () => {
  await Promise.all(ours.map((c) => c.stop()));
  await Promise.all(jsClients.map((c) => new Promise<void>((resolve) => c.stop(() => resolve()))));
  ours = [];
  jsClients = [];
  await server.close();
});

function jsClient(shouldUseDelta = false): Eureka {
  const config: EurekaConfig = {
    logger: quiet,
    cwd: __dirname,
    shouldUseDelta,
    eureka: { host: '127.0.0.1', port: server.port, servicePath: '/eureka/apps/', heartbeatInterval: 200, registryFetchInterval: 100, maxRetries: 0 },
    instance: {
      app: 'jqservice',
      hostName: 'jq-host-1',
      ipAddr: '127.0.0.1',
      port: { $: 8081, '@enabled': true },
      vipAddress: 'jq.test.something.com',
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    },
  };
  const c = new Eureka(config);
  jsClients.push(c);
  return c;
}

const startJs = (c: Eureka): Promise<void> => new Promise((resolve, reject) => c.start((e) => (e ? reject(e) : resolve())));
const stopJs = (c: Eureka): Promise<void> => new Promise((resolve) => c.stop(() => resolve()));

function ourClient(options: Partial<EurekaClientOptions> = {}): EurekaClient {
  const c = new EurekaClient({
    instance: { app: 'ourapp', hostName: 'our-host-1', ipAddr: '127.0.0.1', port: 8082, vipAddress: 'our.vip', metadata: { lang: 'ts' } },
    servers: [server.eurekaUrl],
    heartbeatIntervalMs: 200,
    registryFetchIntervalMs: 100,
    logger: silentClientLogger,
    ...options,
  });
  ours.push(c);
  return c;
}

describe('interoperability with eureka-js-client 4.5.0', () => {
  it('this client sees an instance eureka-js-client registered, by app and VIP, and its deregistration', async () => {
    const js = jsClient();
    await startJs(js);
    // Polling: the deltas between changes are what must keep matching (a watch answers only on changes).
    const client = ourClient({ watch: false });
    await client.start();
    await waitFor(() => client.getInstancesByAppId('jqservice').length === 1, 'JQSERVICE to appear');
    const [found] = client.getInstancesByAppId('JQSERVICE');
    // No instanceId from eureka-js-client: the id is its hostName, as its heartbeat URLs expect.
    expect(found).toMatchObject({ id: 'jq-host-1', app: 'JQSERVICE', hostName: 'jq-host-1', status: 'UP', port: { port: 8081, enabled: true }, vipAddress: 'jq.test.something.com' });
    expect(client.getInstancesByVipAddress('jq.test.something.com').map((i) => i.id)).toEqual(['jq-host-1']);
    expect(client.chooseInstance('jq.test.something.com')?.id).toBe('jq-host-1');
    // eureka-js-client heartbeats without lastDirtyTimestamp; deltas keep matching.
    const deltas = client.stats.deltaFetches;
    await waitFor(() => client.stats.deltaFetches > deltas + 2, 'deltas');
    expect(client.stats.reconciliations).toBe(0);
    await stopJs(js);
    await waitFor(() => client.getInstancesByAppId('JQSERVICE', { status: 'any' }).length === 0, 'JQSERVICE to leave');
  });

  it('eureka-js-client sees an instance this client registered, follows its status, and its deregistration', async () => {
    const client = ourClient();
    await client.start();
    const js = jsClient();
    await startJs(js);
    await waitFor(() => js.getInstancesByAppId('OURAPP').length === 1, 'eureka-js-client to see OURAPP');
    const [found] = js.getInstancesByAppId('ourapp');
    expect(found).toMatchObject({ instanceId: 'our-host-1:ourapp:8082', app: 'OURAPP', hostName: 'our-host-1', status: 'UP', port: { $: 8082, '@enabled': 'true' }, vipAddress: 'our.vip', metadata: { lang: 'ts' } });
    expect(js.getInstancesByVipAddress('our.vip')).toHaveLength(1);
    // eureka-js-client filters UP instances: DOWN makes it disappear there, UP brings it back.
    await client.setStatus('DOWN');
    await waitFor(() => js.getInstancesByAppId('OURAPP').length === 0, 'eureka-js-client to drop the DOWN instance');
    await client.setStatus('UP');
    await waitFor(() => js.getInstancesByAppId('OURAPP').length === 1, 'eureka-js-client to list it again');
    await client.stop();
    await waitFor(() => js.getInstancesByAppId('OURAPP').length === 0, 'eureka-js-client to see the deregistration');
  });

  it('eureka-js-client in delta mode picks up an instance this client registers later', async () => {
    const js = jsClient(true);
    await startJs(js);
    const client = ourClient();
    await client.start();
    await waitFor(() => js.getInstancesByVipAddress('our.vip').length === 1, 'OURAPP by delta');
    expect(js.getInstancesByVipAddress('our.vip')[0]).toMatchObject({ hostName: 'our-host-1', actionType: 'ADDED' });
  });
});
