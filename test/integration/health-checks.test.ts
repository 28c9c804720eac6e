// Active health checks across three real zone servers on 127.0.0.1 and real HTTP services: an instance whose
// heartbeats go on while its /health hangs is DOWN in every zone, and UP again once it answers; when its client
// fails over, the new server takes the check (and the verdict) over; when most probes fail at once the safety valve
// holds every mark DOWN back.
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { APP, Cluster, EurekaHttp, Heartbeats, http, ListedInstance } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

const A = 0;
const B = 1;
const C = 2;
const ALL = [A, B, C];

const FLAGS = [
  '--health-checks-enabled', 'true',
  '--health-check-interval-ms', '300',
  '--health-check-timeout-ms', '150',
  '--health-check-failures-before-down', '3',
  '--health-check-successes-before-up', '2',
  '--health-check-valve-min-instances', '4',
  '--lease-duration-secs', '10',
];

/** How an instance's /health behaves. */
type Behaviour = 'ok' | 'hang' | 'fail';

/** A real HTTP service on 127.0.0.1: /health/<id> answers by the behaviour set for <id> (default ok). */
class Service {
  readonly behaviour = new Map<string, Behaviour>();
  readonly probes = new Map<string, number>();
  private readonly hanging = new Set<ServerResponse>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<Service> {
    let service: Service | undefined;
    const server = createServer((req, res) => service?.answer(req, res));
    service = new Service(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return service;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(id: string): string {
    return `http://127.0.0.1:${this.port}/health/${id}`;
  }

  close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const id = (req.url ?? '').replace('/health/', '');
    this.probes.set(id, (this.probes.get(id) ?? 0) + 1);
    const behaviour = this.behaviour.get(id) ?? 'ok';
    if (behaviour === 'ok') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"UP"}');
    if (behaviour === 'fail') return void res.writeHead(500).end();
    this.hanging.add(res);
    res.on('close', () => this.hanging.delete(res));
  }
}

let cluster: Cluster;
let service: Service;
let heartbeats: Heartbeats[] = [];

beforeEach(async () => {
  service = await Service.start();
  cluster = await Cluster.started({ size: 3, flags: FLAGS });
});

afterEach(async () => {
  await Promise.all(heartbeats.map((h) => h.stop()));
  heartbeats = [];
  await cluster.close();
  await service.close();
});

const client = (i: number): EurekaHttp => cluster.client(i);

function beat(i: number, ids: readonly string[]): Heartbeats {
  const h = new Heartbeats(client(i), ids, 200);
  heartbeats.push(h);
  return h;
}

/** Registers `id` on server `on` as its own client would: hostName and ipAddr 127.0.0.1, its health URL on the service. */
async function register(on: number, id: string): Promise<void> {
  const body = {
    instance: {
      instanceId: id,
      app: APP,
      hostName: '127.0.0.1',
      ipAddr: '127.0.0.1',
      status: 'UP',
      port: { $: service.port, '@enabled': 'true' },
      vipAddress: APP.toLowerCase(),
      healthCheckUrl: service.url(id),
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: 1, durationInSecs: 10 },
    },
  };
  const res = await http(cluster.ports[on], 'POST', `/eureka/apps/${APP}`, JSON.stringify(body));
  if (res.status !== 204) throw new Error(`registration of ${id} answered ${res.status}`);
}

/** Waits until `check` holds for the instance as GET /eureka/apps/ORDERS lists it on every server of `on`. */
async function waitOn(on: readonly number[], id: string, what: string, check: (i: ListedInstance | undefined) => boolean, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => (await Promise.all(on.map((s) => client(s).instance(id)))).every(check), `${what} on servers ${on.join(', ')}`, timeoutMs, 50);
}

interface HealthStatus {
  readonly instances: { probed: number };
  readonly markedDownTotal: number;
  readonly withheldTotal: number;
  readonly valve: { engaged: boolean; engagements: number };
}

async function healthStatus(i: number): Promise<HealthStatus> {
  return (await client(i).status() as unknown as { healthChecks: HealthStatus }).healthChecks;
}

describe('health checks', () => {
  describe('an instance whose service hangs while its heartbeats go on', () => {
    it('is DOWN on every zone, as a status change by the health check, and UP again once it answers', async () => {
      await register(A, 'orders-1');
      await beat(A, ['orders-1']).start();
      await waitOn(ALL, 'orders-1', 'orders-1 UP', (i) => i?.status === 'UP');
      await waitFor(async () => (service.probes.get('orders-1') ?? 0) >= 2, 'orders-1 probed');

      service.behaviour.set('orders-1', 'hang');
      await waitOn(ALL, 'orders-1', 'orders-1 DOWN', (i) => i?.status === 'DOWN');
      for (const s of ALL) {
        const record = cluster.server(s).registry.lease(APP, 'orders-1')?.record;
        expect(record?.statusSource).toBe('health');
        // A status change, not an operator's override: no override anywhere.
        expect(record?.instance.overriddenStatus).toBe('UNKNOWN');
        expect(cluster.server(s).registry.statusOverrides().size).toBe(0);
      }
      // Only the server its client talks to probes it.
      expect((await healthStatus(A)).instances.probed).toBe(1);
      for (const s of [B, C]) expect((await healthStatus(s)).instances.probed).toBe(0);
      expect((await healthStatus(A)).markedDownTotal).toBe(1);

      service.behaviour.set('orders-1', 'ok');
      await waitOn(ALL, 'orders-1', 'orders-1 UP again', (i) => i?.status === 'UP');
      for (const s of ALL) expect(cluster.server(s).registry.lease(APP, 'orders-1')?.record.statusSource).toBe('client');
    }, 60_000);

    it('is taken over by the server its client fails over to, which clears the verdict once the service answers', async () => {
      await register(A, 'orders-1');
      const toA = beat(A, ['orders-1']);
      await toA.start();
      service.behaviour.set('orders-1', 'hang');
      await waitOn(ALL, 'orders-1', 'orders-1 DOWN', (i) => i?.status === 'DOWN');
      await waitFor(() => cluster.server(B).registry.isHealthDown(APP, 'orders-1'), 'B to hold the verdict A sent');

      // The client moves to B: A lets go after two renewal intervals, B probes from its first heartbeat.
      await toA.stop();
      await beat(B, ['orders-1']).start();
      await waitFor(async () => (await healthStatus(B)).instances.probed === 1, 'B to probe orders-1');
      await waitFor(async () => (await healthStatus(A)).instances.probed === 0, 'A to let orders-1 go', 15_000);
      // B took the verdict over: still DOWN everywhere while the service hangs.
      for (const s of ALL) expect((await client(s).instance('orders-1'))?.status).toBe('DOWN');

      service.behaviour.set('orders-1', 'ok');
      await waitOn(ALL, 'orders-1', 'orders-1 UP again', (i) => i?.status === 'UP');
    }, 60_000);
  });

  describe('the safety valve', () => {
    it('holds every mark DOWN back while most probes fail at once, and says so', async () => {
      const ids = ['orders-1', 'orders-2', 'orders-3', 'orders-4', 'orders-5'];
      for (const id of ids) await register(A, id);
      await beat(A, ids).start();
      await waitFor(async () => ids.every((id) => (service.probes.get(id) ?? 0) >= 1), 'every instance probed');

      for (const id of ids) service.behaviour.set(id, 'fail');
      await waitFor(async () => (await healthStatus(A)).valve.engaged, 'the valve to engage on A', 15_000);
      // Long enough for three failures in a row each: withheld, not marked.
      await waitFor(async () => (await healthStatus(A)).withheldTotal >= ids.length, 'marks DOWN withheld', 15_000);
      for (const s of ALL) for (const id of ids) expect((await client(s).instance(id))?.status).toBe('UP');
      expect((await healthStatus(A)).markedDownTotal).toBe(0);
      expect(cluster.logs.filter((l) => l.server === A && l.message.startsWith('health-check safety valve engaged'))).toHaveLength(1);
      const metrics = (await http(cluster.ports[A], 'GET', '/metrics')).text;
      expect(metrics).toMatch(/^zone_registry_health_valve_engaged 1$/m);

      // Most recover, one stays broken: the valve lets go and that one alone is marked DOWN.
      for (const id of ids) service.behaviour.set(id, id === 'orders-5' ? 'fail' : 'ok');
      await waitOn(ALL, 'orders-5', 'orders-5 DOWN', (i) => i?.status === 'DOWN');
      expect((await healthStatus(A)).valve.engaged).toBe(false);
      for (const id of ids.slice(0, 4)) expect((await client(A).instance(id))?.status).toBe('UP');
      expect(cluster.logs.filter((l) => l.server === A && l.message.startsWith('health-check safety valve released'))).toHaveLength(1);
    }, 60_000);
  });
});
