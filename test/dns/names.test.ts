// Query names: what each form under the domain asks for, what lies outside it, and the addr labels SRV targets use.
import fc from 'fast-check';
import { addressFromLabel, isHostName, labelOfAddress, parseDomain, parseName } from '../../src/dns/names';

describe('names', () => {
  describe('parseDomain', () => {
    it('normalises case and leading or trailing dots', () => {
      expect(parseDomain('Registry.')).toEqual({ domain: 'registry' });
      expect(parseDomain('.svc.Cluster.local')).toEqual({ domain: 'svc.cluster.local' });
    });

    it('refuses the root, empty labels and characters no label may hold', () => {
      expect(parseDomain('.')).toHaveProperty('error');
      expect(parseDomain('a..b')).toHaveProperty('error');
      expect(parseDomain('my registry')).toHaveProperty('error');
      expect(parseDomain(`${'a'.repeat(64)}.b`)).toHaveProperty('error');
    });
  });

  describe('parseName', () => {
    const parse = (qname: string) => parseName(qname, 'registry');

    it('reads the apex, an app, an app in a zone, whatever the case', () => {
      expect(parse('REGISTRY')).toEqual({ kind: 'apex' });
      expect(parse('Orders.Registry')).toEqual({ kind: 'app', app: 'orders' });
      expect(parse('orders.US-East-1a.registry')).toEqual({ kind: 'app', app: 'orders', zone: 'us-east-1a' });
    });

    it('reads SRV service names for the port (_tcp) and the secure port (_tls), in a zone too', () => {
      expect(parse('_orders._tcp.registry')).toEqual({ kind: 'service', app: 'orders', secure: false });
      expect(parse('_orders._TLS.registry')).toEqual({ kind: 'service', app: 'orders', secure: true });
      expect(parse('_orders._tcp.us-east-1a.registry')).toEqual({ kind: 'service', app: 'orders', secure: false, zone: 'us-east-1a' });
    });

    it('reads VIP names, dotted ones included, in lower case', () => {
      expect(parse('orders.vip.registry')).toEqual({ kind: 'vip', vip: 'orders', secure: false });
      expect(parse('Orders.Example.com.SVIP.registry')).toEqual({ kind: 'vip', vip: 'orders.example.com', secure: true });
    });

    it('reads addr names of IPv4 and IPv6 addresses', () => {
      expect(parse('0a000007.addr.registry')).toEqual({ kind: 'addr', address: '10.0.0.7', family: 4 });
      expect(parse('FD000000000000000000000000000007.addr.registry')).toEqual({ kind: 'addr', address: 'fd00:0:0:0:0:0:0:7', family: 6 });
    });

    it('says which names have only children: _tcp and _tls under a zone', () => {
      expect(parse('_tls.us-east-1a.registry')).toEqual({ kind: 'parent', label: '_tls' });
      // Right under the domain the label could be an app's: the answer decides (see answerFor).
      expect(parse('_tcp.registry')).toEqual({ kind: 'app', app: '_tcp' });
    });

    it('calls unknown what is under the domain in no known form', () => {
      expect(parse('a.b.c.d.registry')).toEqual({ kind: 'unknown' });
      expect(parse('xyz.addr.registry')).toEqual({ kind: 'unknown' });
      expect(parse('0a000007.x.addr.registry')).toEqual({ kind: 'unknown' });
      expect(parse('.vip.registry')).toEqual({ kind: 'unknown' });
      expect(parse('\u00e4pp.registry')).toEqual({ kind: 'unknown' });
      expect(parse('has space.registry')).toEqual({ kind: 'unknown' });
    });

    it('calls outside what is not under the domain, suffixes that only look alike included', () => {
      expect(parse('example.com')).toBe('outside');
      expect(parse('myregistry')).toBe('outside');
      expect(parse('orders.myregistry')).toBe('outside');
      expect(parse('.')).toBe('outside');
      expect(parse(`${'a.'.repeat(130)}registry`)).toBe('outside');
    });

    it('works under a multi-label domain', () => {
      expect(parseName('orders.svc.example.com', 'svc.example.com')).toEqual({ kind: 'app', app: 'orders' });
      expect(parseName('svc.example.com', 'svc.example.com')).toEqual({ kind: 'apex' });
      expect(parseName('example.com', 'svc.example.com')).toBe('outside');
    });

    it('never throws, whatever the name', () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 300 }), (qname) => {
          const parsed = parseName(qname, 'registry');
          expect(parsed === 'outside' || typeof parsed.kind === 'string').toBe(true);
        }),
        { numRuns: 500 },
      );
    });
  });

  describe('labelOfAddress', () => {
    it('spells IPv4 in 8 and IPv6 in 32 hex digits, and nothing else', () => {
      expect(labelOfAddress('10.0.0.7')).toBe('0a000007');
      expect(labelOfAddress('::1')).toBe('00000000000000000000000000000001');
      expect(labelOfAddress('::ffff:10.0.0.7')).toBe('00000000000000000000ffff0a000007');
      expect(labelOfAddress('fd00::7')).toBe('fd000000000000000000000000000007');
      expect(labelOfAddress('orders.internal')).toBeUndefined();
    });

    it('gives back the same address through addressFromLabel', () => {
      const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
      fc.assert(
        fc.property(fc.oneof(v4, fc.ipV6()), (ip) => {
          const label = labelOfAddress(ip);
          expect(label).toBeDefined();
          const back = addressFromLabel(label!);
          expect(back).toBeDefined();
          expect(labelOfAddress(back!.address)).toBe(label);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('isHostName', () => {
    it('accepts DNS host names and refuses what cannot be one', () => {
      expect(isHostName('orders-1.internal.example.com')).toBe(true);
      expect(isHostName('orders-1.internal.')).toBe(true);
      expect(isHostName('-bad.example')).toBe(false);
      expect(isHostName('has space')).toBe(false);
      expect(isHostName('')).toBe(false);
    });
  });
});
