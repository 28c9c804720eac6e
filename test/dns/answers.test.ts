// The records a registry state gives for each kind of name: only UP instances, A or AAAA by address family, SRV
// targets under addr. with their addresses as additional records, zones and VIPs, and the negative answers.
import { answerFor, addressOf } from '../../src/dns/answers';
import { DnsName, parseName } from '../../src/dns/names';
import { DnsRecord } from '../../src/dns/wire';
import { DATA_CENTER_CLASS, InstanceInfo } from '../../src/domain/model';
import { makeRegistry, RegistryFixture } from '../domain/registry-fixture';
import { makeInstance } from '../helpers/instances';

const OPTIONS = { domain: 'registry', ttlSecs: 5 };
let f: RegistryFixture;

beforeEach(() => {
  f = makeRegistry();
});

function register(id: string, ip: string, overrides: Partial<InstanceInfo> = {}): void {
  const outcome = f.registry.register(makeInstance({ id, hostName: `${id}.internal`, ipAddr: ip, ...overrides }));
  expect(outcome.kind).toBe('registered');
}

function ask(qname: string, qtype: string, isZone: (label: string) => boolean = () => false) {
  const name = parseName(qname, 'registry') as DnsName;
  return answerFor(f.registry, name, qname, qtype, OPTIONS, isZone);
}

const data = (records: readonly DnsRecord[]): unknown[] => records.map((r) => ('data' in r ? r.data : undefined));

describe('answerFor', () => {
  describe('an app name', () => {
    it('gives A records of UP IPv4 instances and AAAA of IPv6 ones, each address once', () => {
      register('o-1', '10.0.0.1');
      register('o-2', '10.0.0.2', { port: { port: 9090, enabled: true } });
      register('o-3', '10.0.0.2');
      register('o-4', 'fd00::4');
      const a = ask('orders.registry', 'A');
      expect(a.rcode).toBe('NOERROR');
      expect(a.answers).toEqual([
        { name: 'orders.registry', type: 'A', ttl: 5, class: 'IN', data: '10.0.0.1' },
        { name: 'orders.registry', type: 'A', ttl: 5, class: 'IN', data: '10.0.0.2' },
      ]);
      expect(data(ask('orders.registry', 'AAAA').answers)).toEqual(['fd00::4']);
    });

    it('leaves out instances that are not UP', () => {
      register('o-1', '10.0.0.1');
      register('o-2', '10.0.0.2', { status: 'DOWN' });
      register('o-3', '10.0.0.3', { status: 'STARTING' });
      register('o-4', '10.0.0.4', { status: 'OUT_OF_SERVICE' });
      expect(data(ask('orders.registry', 'A').answers)).toEqual(['10.0.0.1']);
      expect(f.registry.statusUpdate('ORDERS', 'o-1', 'OUT_OF_SERVICE', undefined)).toBe('ok');
      const none = ask('orders.registry', 'A');
      expect(none.rcode).toBe('NOERROR');
      expect(none.answers).toEqual([]);
      expect(none.authority.map((r) => r.type)).toEqual(['SOA']);
    });

    it('uses a host name that is an IP when ipAddr is not one, and gives no address for neither', () => {
      register('o-1', 'not-an-ip', { hostName: '10.0.0.9' });
      register('o-2', 'not-an-ip', { hostName: 'orders-2.internal' });
      expect(data(ask('orders.registry', 'A').answers)).toEqual(['10.0.0.9']);
      expect(addressOf({ ipAddr: 'x', hostName: 'y' })).toBeUndefined();
    });

    it('gives SRV records whose targets are addr names, with their addresses as additional records', () => {
      register('o-1', '10.0.0.1');
      register('o-2', 'fd00::2', { port: { port: 9090, enabled: true } });
      const srv = ask('orders.registry', 'SRV');
      expect(data(srv.answers)).toEqual([
        { priority: 1, weight: 1, port: 8080, target: '0a000001.addr.registry' },
        { priority: 1, weight: 1, port: 9090, target: 'fd000000000000000000000000000002.addr.registry' },
      ]);
      expect(srv.additionals).toEqual([
        { name: '0a000001.addr.registry', type: 'A', ttl: 5, class: 'IN', data: '10.0.0.1' },
        { name: 'fd000000000000000000000000000002.addr.registry', type: 'AAAA', ttl: 5, class: 'IN', data: 'fd00::2' },
      ]);
    });

    it('targets the host name of an instance without an IP, and skips one whose port is off', () => {
      register('o-1', 'no-ip', { hostName: 'orders-1.internal.example.com' });
      register('o-2', '10.0.0.2', { port: { port: 8080, enabled: false } });
      const srv = ask('_orders._tcp.registry', 'SRV');
      expect(data(srv.answers)).toEqual([{ priority: 1, weight: 1, port: 8080, target: 'orders-1.internal.example.com' }]);
      expect(srv.additionals).toEqual([]);
    });

    it('answers ANY with the addresses and the SRV records', () => {
      register('o-1', '10.0.0.1');
      expect(ask('orders.registry', 'ANY').answers.map((r) => r.type)).toEqual(['A', 'SRV']);
    });

    it('answers another record type with no data and the SOA', () => {
      register('o-1', '10.0.0.1');
      const mx = ask('orders.registry', 'MX');
      expect(mx).toMatchObject({ rcode: 'NOERROR', answers: [], additionals: [] });
      expect(mx.authority).toEqual([expect.objectContaining({ name: 'registry', type: 'SOA', data: expect.objectContaining({ minimum: 5, serial: f.registry.revision }) })]);
    });
  });

  describe('a service name', () => {
    it('gives the port under _tcp and the secure port under _tls', () => {
      register('o-1', '10.0.0.1', { securePort: { port: 8443, enabled: true } });
      register('o-2', '10.0.0.2');
      expect(data(ask('_orders._tcp.registry', 'SRV').answers)).toEqual([
        { priority: 1, weight: 1, port: 8080, target: '0a000001.addr.registry' },
        { priority: 1, weight: 1, port: 8080, target: '0a000002.addr.registry' },
      ]);
      expect(data(ask('_orders._tls.registry', 'SRV').answers)).toEqual([{ priority: 1, weight: 1, port: 8443, target: '0a000001.addr.registry' }]);
      // A service name has SRV records only.
      expect(ask('_orders._tcp.registry', 'A').answers).toEqual([]);
    });
  });

  describe('a zone', () => {
    it('restricts to the instances of that zone, by metadata zone or the Amazon availability zone', () => {
      register('o-1', '10.0.0.1', { metadata: { zone: 'us-east-1a' } });
      register('o-2', '10.0.0.2', { metadata: { zone: 'us-east-1b' } });
      register('o-3', '10.0.0.3', { dataCenterInfo: { name: 'Amazon', className: DATA_CENTER_CLASS.amazon, metadata: { 'availability-zone': 'US-EAST-1A' } } });
      expect(data(ask('orders.us-east-1a.registry', 'A').answers)).toEqual(['10.0.0.1', '10.0.0.3']);
      expect(data(ask('_orders._tcp.us-east-1b.registry', 'SRV').answers)).toEqual([{ priority: 1, weight: 1, port: 8080, target: '0a000002.addr.registry' }]);
    });

    it('is NXDOMAIN for a zone none of the app\'s instances is in', () => {
      register('o-1', '10.0.0.1', { metadata: { zone: 'us-east-1a' } });
      expect(ask('orders.us-east-1c.registry', 'A').rcode).toBe('NXDOMAIN');
    });
  });

  describe('a VIP', () => {
    it('gives the instances listing it, across apps; a secure VIP the secure port', () => {
      register('o-1', '10.0.0.1', { vipAddress: 'orders,shop', secureVipAddress: 'orders-secure', securePort: { port: 8443, enabled: true } });
      f.registry.register(makeInstance({ app: 'SHOP', id: 's-1', ipAddr: '10.0.1.1', vipAddress: 'shop' }));
      expect(data(ask('shop.vip.registry', 'A').answers)).toEqual(['10.0.0.1', '10.0.1.1']);
      expect(data(ask('orders-secure.svip.registry', 'SRV').answers)).toEqual([{ priority: 1, weight: 1, port: 8443, target: '0a000001.addr.registry' }]);
      expect(ask('nothing.vip.registry', 'A').rcode).toBe('NXDOMAIN');
    });

    it('finds a lower-case VIP whatever the case of the query, and never one spelled with capitals', () => {
      register('o-1', '10.0.0.1', { vipAddress: 'orders' });
      register('o-2', '10.0.0.2', { vipAddress: 'Billing' });
      expect(data(ask('ORDERS.vip.registry', 'A').answers)).toEqual(['10.0.0.1']);
      expect(ask('Billing.vip.registry', 'A').rcode).toBe('NXDOMAIN');
    });
  });

  describe('other names', () => {
    it('is NXDOMAIN for an unknown app, with the SOA', () => {
      const nx = ask('nothing.registry', 'A');
      expect(nx.rcode).toBe('NXDOMAIN');
      expect(nx.authority.map((r) => r.type)).toEqual(['SOA']);
    });

    it('answers no data for names with children only: reserved labels and zones', () => {
      for (const qname of ['vip.registry', 'addr.registry', '_tcp.registry', 'us-east-1a.registry']) {
        expect(ask(qname, 'A', (label) => label === 'us-east-1a')).toMatchObject({ rcode: 'NOERROR', answers: [] });
      }
    });

    it('answers the SOA at the apex and an addr name with its address', () => {
      expect(ask('registry', 'SOA').answers.map((r) => r.type)).toEqual(['SOA']);
      expect(ask('registry', 'A')).toMatchObject({ rcode: 'NOERROR', answers: [] });
      expect(data(ask('0a000007.addr.registry', 'A').answers)).toEqual(['10.0.0.7']);
      expect(ask('0a000007.addr.registry', 'AAAA').answers).toEqual([]);
      expect(data(ask('fd000000000000000000000000000007.addr.registry', 'AAAA').answers)).toEqual(['fd00:0:0:0:0:0:0:7']);
    });

    it('is NXDOMAIN for a name in no known form', () => {
      expect(ask('a.b.c.d.registry', 'A').rcode).toBe('NXDOMAIN');
    });
  });
});
