// The DNS interface through a real resolver (Node's dns.promises.Resolver, c-ares) pointed at a zone server's port:
// A, AAAA and SRV answers before and after a registration, a DOWN status, a cancel, an eviction and a change
// replicated from another zone; a big answer truncated over UDP and fetched whole over TCP; the counters.
import { createSocket } from 'node:dgram';
import { promises as dns } from 'node:dns';
import * as dnsPacket from 'dns-packet';
import { DnsStatus } from '../../src/observability/server-status';
import { RunningServer } from '../../src/server';
import { Cluster } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';
import { parseProm, registerOver, sample, startTestServer } from '../observability/support';

const DNS_FLAGS = ['--dns-enabled', 'true', '--dns-port', '0', '--dns-host', '127.0.0.1'];

function resolverOf(port: number): dns.Resolver {
  const resolver = new dns.Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`127.0.0.1:${port}`]);
  return resolver;
}

/** The resolver's answer, or its error code (ENOTFOUND for NXDOMAIN, ENODATA for no records, EREFUSED …). */
async function outcome<T>(lookup: Promise<T>): Promise<T | string> {
  try {
    return await lookup;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

const sortedAddresses = async (lookup: Promise<string[]>): Promise<string[] | string> => {
  const r = await outcome(lookup);
  return typeof r === 'string' ? r : [...r].sort();
};

/** One UDP query, by hand: the raw answer. */
function udpQuery(port: number, message: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('no UDP answer within 5 s'));
    }, 5000);
    socket.on('message', (answer) => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    });
    socket.send(message, port, '127.0.0.1');
  });
}

describe('DNS interface', () => {
  describe('a standalone server, through a real resolver', () => {
    let server: RunningServer;
    let resolver: dns.Resolver;
    let eureka: string;

    beforeAll(async () => {
      server = await startTestServer([...DNS_FLAGS, '--eviction-interval-ms', '100']);
      resolver = resolverOf(server.dnsPort!);
      eureka = server.eurekaUrl;
    });
    afterAll(() => server.close());

    it('listens on a port of its own, UDP and TCP alike', () => {
      expect(server.dnsPort).toBeGreaterThan(0);
      expect(server.dnsPort).not.toBe(server.port);
    });

    it('resolves an app once it registers, and no longer once it cancels', async () => {
      expect(await outcome(resolver.resolve4('orders.registry'))).toBe('ENOTFOUND');
      await registerOver(eureka, { app: 'orders', instanceId: 'o-1', ipAddr: '10.0.0.1', hostName: 'o-1.internal', port: 8081 });
      await registerOver(eureka, { app: 'orders', instanceId: 'o-2', ipAddr: '10.0.0.2', hostName: 'o-2.internal', port: 8082 });
      expect(await sortedAddresses(resolver.resolve4('orders.registry'))).toEqual(['10.0.0.1', '10.0.0.2']);
      const srv = await resolver.resolveSrv('_orders._tcp.registry');
      expect(srv.map((r) => [r.name, r.port, r.priority, r.weight]).sort()).toEqual([
        ['0a000001.addr.registry', 8081, 1, 1],
        ['0a000002.addr.registry', 8082, 1, 1],
      ]);
      // The SRV targets resolve here too.
      expect(await resolver.resolve4(srv.find((r) => r.port === 8082)!.name)).toEqual(['10.0.0.2']);

      expect((await fetch(`${eureka}apps/ORDERS/o-1`, { method: 'DELETE' })).status).toBe(200);
      expect(await resolver.resolve4('orders.registry')).toEqual(['10.0.0.2']);
      expect((await fetch(`${eureka}apps/ORDERS/o-2`, { method: 'DELETE' })).status).toBe(200);
      expect(await outcome(resolver.resolve4('orders.registry'))).toBe('ENOTFOUND');
    });

    it('leaves out an instance that reports DOWN or is taken out of service, and takes it back when UP', async () => {
      await registerOver(eureka, { app: 'billing', instanceId: 'b-1', ipAddr: '10.0.1.1', hostName: 'b-1.internal' });
      await registerOver(eureka, { app: 'billing', instanceId: 'b-2', ipAddr: '10.0.1.2', hostName: 'b-2.internal' });
      await registerOver(eureka, { app: 'billing', instanceId: 'b-1', ipAddr: '10.0.1.1', hostName: 'b-1.internal', status: 'DOWN', lastDirtyTimestamp: 1_800_000_000_000 });
      expect(await resolver.resolve4('billing.registry')).toEqual(['10.0.1.2']);
      expect((await fetch(`${eureka}apps/BILLING/b-2/status?value=OUT_OF_SERVICE`, { method: 'PUT' })).status).toBe(200);
      // Known app, no UP instance: no data, not NXDOMAIN.
      expect(await outcome(resolver.resolve4('billing.registry'))).toBe('ENODATA');
      await registerOver(eureka, { app: 'billing', instanceId: 'b-1', ipAddr: '10.0.1.1', hostName: 'b-1.internal', status: 'UP', lastDirtyTimestamp: 1_800_000_000_001 });
      expect(await resolver.resolve4('billing.registry')).toEqual(['10.0.1.1']);
    });

    it('resolves IPv6 instances with AAAA, one zone and a VIP', async () => {
      await registerOver(eureka, { app: 'catalog', instanceId: 'c-1', ipAddr: '10.0.2.1', hostName: 'c-1.internal', vipAddress: 'catalog-api', metadata: { zone: 'us-east-1a' } });
      await registerOver(eureka, { app: 'catalog', instanceId: 'c-2', ipAddr: 'fd00::2:2', hostName: 'c-2.internal', vipAddress: 'catalog-api', metadata: { zone: 'us-east-1b' } });
      expect(await resolver.resolve6('catalog.registry')).toEqual(['fd00::2:2']);
      expect(await resolver.resolve4('catalog.registry')).toEqual(['10.0.2.1']);
      expect(await outcome(resolver.resolve4('catalog.us-east-1b.registry'))).toBe('ENODATA');
      expect(await resolver.resolve6('catalog.us-east-1b.registry')).toEqual(['fd00::2:2']);
      expect(await sortedAddresses(resolver.resolve4('catalog-api.vip.registry'))).toEqual(['10.0.2.1']);
      const srv = await resolver.resolveSrv('_catalog._tcp.us-east-1b.registry');
      expect(srv).toEqual([expect.objectContaining({ name: 'fd000000000000000000000000020002.addr.registry', port: 8080, priority: 1, weight: 1 })]);
      expect(await resolver.resolve6(srv[0].name)).toEqual(['fd00::2:2']);
    });

    it('forgets an instance evicted when its lease expired', async () => {
      await registerOver(eureka, { app: 'shortlived', instanceId: 's-1', ipAddr: '10.0.3.1', hostName: 's-1.internal', durationInSecs: 1 });
      expect(await resolver.resolve4('shortlived.registry')).toEqual(['10.0.3.1']);
      await waitFor(async () => (await outcome(resolver.resolve4('shortlived.registry'))) === 'ENOTFOUND', 'the evicted instance to leave DNS', 10_000, 100);
    });

    it('refuses names outside its domain and answers NXDOMAIN under it', async () => {
      expect(await outcome(resolver.resolve4('example.com'))).toBe('EREFUSED');
      expect(await outcome(resolver.resolve4('nothing.registry'))).toBe('ENOTFOUND');
      expect(await outcome(resolver.resolveSrv('_nothing._tcp.registry'))).toBe('ENOTFOUND');
      expect((await resolver.resolveSoa('registry')).minttl).toBe(5);
    });

    it('truncates an answer too big for UDP, and the resolver gets all of it over TCP', async () => {
      for (let n = 1; n <= 40; n++) {
        await registerOver(eureka, { app: 'fleet', instanceId: `f-${n}`, ipAddr: `10.1.0.${n}`, hostName: `f-${n}.internal`, port: 9000 + n });
      }
      const query = dnsPacket.encode({ type: 'query', id: 9, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'SRV', name: 'fleet.registry' }] });
      const udp = await udpQuery(server.dnsPort!, query);
      expect(udp.length).toBeLessThanOrEqual(512);
      expect(dnsPacket.decode(udp).flag_tc).toBe(true);

      const tcpBefore = await tcpAnswers(eureka);
      const srv = await resolver.resolveSrv('fleet.registry');
      expect(srv).toHaveLength(40);
      expect(new Set(srv.map((r) => r.port)).size).toBe(40);
      expect(await resolver.resolve4('fleet.registry')).toHaveLength(40);
      expect(await tcpAnswers(eureka)).toBeGreaterThan(tcpBefore);
    });

    it('counts the queries in /metrics and /eureka/status', async () => {
      await outcome(resolver.resolve4('nothing.registry'));
      const samples = parseProm(await (await fetch(`${eureka.replace(/eureka\/$/, '')}metrics`)).text());
      expect(sample(samples, 'zone_registry_dns_queries_total', { transport: 'udp', type: 'A', rcode: 'NXDOMAIN' })).toBeGreaterThanOrEqual(1);
      expect(sample(samples, 'zone_registry_dns_queries_total', { transport: 'udp', type: 'A', rcode: 'REFUSED' })).toBeGreaterThanOrEqual(1);
      expect(sample(samples, 'zone_registry_dns_truncated_total')).toBeGreaterThanOrEqual(1);
      const status = await statusOf(eureka);
      expect(status.dns).toMatchObject({ enabled: true, host: '127.0.0.1', port: server.dnsPort, domain: 'registry', ttlSecs: 5 });
    });
  });

  describe('two zones', () => {
    let cluster: Cluster;
    beforeAll(async () => {
      cluster = await Cluster.started({ size: 2, flags: DNS_FLAGS });
    });
    afterAll(() => cluster.close());

    it('resolves on zone B an instance registered on zone A, and forgets it once A cancels it', async () => {
      const b = resolverOf(cluster.server(1).dnsPort!);
      expect(await outcome(b.resolve4('orders.registry'))).toBe('ENOTFOUND');
      expect((await cluster.client(0).register({ id: 'o-1', durationSecs: 60 })).status).toBe(204);
      await waitFor(async () => Array.isArray(await outcome(b.resolveSrv('_orders._tcp.registry'))), 'zone B to resolve the replicated instance');
      expect(await b.resolve4('orders.registry')).toEqual(['127.0.0.1']);
      expect(await b.resolveSrv('_orders._tcp.registry')).toEqual([expect.objectContaining({ name: '7f000001.addr.registry', port: 8080, priority: 1, weight: 1 })]);
      expect((await cluster.client(0).cancel('o-1')).status).toBe(200);
      await waitFor(async () => (await outcome(b.resolve4('orders.registry'))) === 'ENOTFOUND', 'zone B to forget the cancelled instance');
    });

    it('gives each server its own DNS port and says so in /eureka/status', async () => {
      const ports = [cluster.server(0).dnsPort, cluster.server(1).dnsPort];
      expect(new Set(ports).size).toBe(2);
      const status = await statusOf(cluster.urls[1]);
      expect(status.dns.port).toBe(ports[1]);
    });
  });
});

/** The DNS part of a server's /eureka/status. */
async function statusOf(eureka: string): Promise<{ dns: DnsStatus }> {
  return (await (await fetch(`${eureka}status`, { headers: { accept: 'application/json' } })).json()) as { dns: DnsStatus };
}

/** DNS answers a server sent over TCP so far, from /eureka/status. */
async function tcpAnswers(eureka: string): Promise<number> {
  const status = await statusOf(eureka);
  return status.dns.queries.filter((q) => q.transport === 'tcp').reduce((sum, q) => sum + q.count, 0);
}
