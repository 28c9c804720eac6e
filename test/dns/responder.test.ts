// Messages in, answers out, without sockets: the response codes, the question echoed as sent, EDNS0, truncation
// within 512 bytes or the client's size (never more than the query allows), rotation, and answers that follow the
// registry's revision.
import * as dnsPacket from 'dns-packet';
import { DnsResponder } from '../../src/dns/responder';
import { InstanceInfo } from '../../src/domain/model';
import { makeRegistry, RegistryFixture } from '../domain/registry-fixture';
import { makeInstance } from '../helpers/instances';

let f: RegistryFixture;
let readsAllowed: boolean;
let responder: DnsResponder;

beforeEach(() => {
  f = makeRegistry({ maxInstancesPerApp: 5000 });
  readsAllowed = true;
  responder = new DnsResponder(f.registry, { domain: 'registry', ttlSecs: 5, maxUdpBytes: 1232, allowsReads: () => readsAllowed });
});

function register(n: number, overrides: Partial<InstanceInfo> = {}): void {
  f.registry.register(makeInstance({ id: `o-${n}`, hostName: `o-${n}.internal`, ipAddr: `10.0.${n >> 8}.${n & 255}`, ...overrides }));
}

/** A query as dns-packet encodes it; `udpPayloadSize` adds an EDNS0 OPT record. */
function query(name: string, type: dnsPacket.RecordType = 'A', options: { id?: number; udpPayloadSize?: number; ednsVersion?: number; flags?: number } = {}): Buffer {
  const additionals: dnsPacket.Answer[] = options.udpPayloadSize === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: options.udpPayloadSize, extendedRcode: 0, ednsVersion: options.ednsVersion ?? 0, flags: 0, flag_do: false, options: [] }];
  return dnsPacket.encode({ type: 'query', id: options.id ?? 4242, flags: options.flags ?? dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }], additionals });
}

function answer(message: Buffer, transport: 'udp' | 'tcp' = 'udp') {
  const out = responder.respond(message, transport, 0);
  if (out === undefined) throw new Error('no answer');
  return { bytes: out, packet: dnsPacket.decode(out) as dnsPacket.DecodedPacket & { rcode: string } };
}

describe('DnsResponder', () => {
  describe('respond', () => {
    it('answers authoritatively, echoing id, question (its case too) and RD, without recursion available', () => {
      register(1);
      const { packet } = answer(query('Orders.Registry', 'A', { id: 77 }));
      expect(packet).toMatchObject({ id: 77, type: 'response', rcode: 'NOERROR', flag_aa: true, flag_rd: true, flag_ra: false, flag_tc: false });
      expect(packet.questions).toEqual([{ name: 'Orders.Registry', type: 'A', class: 'IN' }]);
      expect(packet.answers).toEqual([expect.objectContaining({ name: 'orders.registry', type: 'A', ttl: 5, data: '10.0.0.1' })]);
      expect(answer(query('ORDERS.registry', 'A')).packet.answers).toEqual(packet.answers);
    });

    it('answers an app of thousands of instances with what a TCP message holds, the first in registry order', () => {
      for (let n = 1; n <= 3000; n++) register(n);
      for (const type of ['A', 'SRV'] as const) {
        const { bytes, packet } = answer(query('orders.registry', type), 'tcp');
        expect(bytes.length).toBeLessThanOrEqual(65535);
        expect(packet.flag_tc).toBe(false);
        expect(packet.answers!.length).toBeGreaterThan(type === 'A' ? 2000 : 1000);
        expect(packet.answers!.length).toBeLessThan(3000);
      }
    });

    it('refuses names outside the domain, non-IN classes and zone transfers', () => {
      expect(answer(query('example.com')).packet).toMatchObject({ rcode: 'REFUSED', flag_aa: false, answers: [] });
      const chaos = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'TXT', name: 'version.bind', class: 'CH' }] });
      expect(answer(chaos).packet.rcode).toBe('REFUSED');
      expect(answer(query('registry', 'AXFR')).packet.rcode).toBe('REFUSED');
    });

    it('answers NXDOMAIN with the SOA for an unknown name', () => {
      const { packet } = answer(query('nothing.registry'));
      expect(packet).toMatchObject({ rcode: 'NXDOMAIN', flag_aa: true, answers: [] });
      expect(packet.authorities).toEqual([expect.objectContaining({ type: 'SOA', name: 'registry' })]);
    });

    it('answers SERVFAIL while registry reads are refused (a failed startup sync), REFUSED outside the domain still', () => {
      register(1);
      readsAllowed = false;
      expect(answer(query('orders.registry')).packet).toMatchObject({ rcode: 'SERVFAIL', answers: [] });
      expect(answer(query('example.com')).packet.rcode).toBe('REFUSED');
      readsAllowed = true;
      expect(answer(query('orders.registry')).packet.rcode).toBe('NOERROR');
    });

    it('shows a change at the next query: registration, status change, cancel', () => {
      register(1);
      expect(answer(query('orders.registry')).packet.answers).toHaveLength(1);
      register(2);
      expect(answer(query('orders.registry')).packet.answers).toHaveLength(2);
      f.registry.statusUpdate('ORDERS', 'o-1', 'OUT_OF_SERVICE', undefined);
      expect(answer(query('orders.registry')).packet.answers?.map((a) => 'data' in a && a.data)).toEqual(['10.0.0.2']);
      f.registry.cancel('ORDERS', 'o-2');
      expect(answer(query('orders.registry')).packet).toMatchObject({ rcode: 'NOERROR', answers: [] });
      f.registry.cancel('ORDERS', 'o-1');
      expect(answer(query('orders.registry')).packet.rcode).toBe('NXDOMAIN');
    });

    it('rotates the order of the records from one answer to the next', () => {
      for (let n = 1; n <= 3; n++) register(n);
      const firsts = [0, 1, 2].map(() => {
        const a = answer(query('orders.registry')).packet.answers!;
        expect(a.map((r) => 'data' in r && r.data).sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
        return 'data' in a[0] && a[0].data;
      });
      expect(new Set(firsts).size).toBe(3);
    });

    it('answers FORMERR to a header followed by nonsense, and to several questions', () => {
      const garbage = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([0x40, 0xff, 0xff])]);
      expect(answer(garbage).packet).toMatchObject({ id: 0x1234, rcode: 'FORMERR', questions: [] });
      const two = dnsPacket.encode({ type: 'query', id: 5, questions: [{ type: 'A', name: 'a.registry' }, { type: 'A', name: 'b.registry' }] });
      expect(answer(two).packet.rcode).toBe('FORMERR');
      const twoOpts = query('orders.registry', 'A', { udpPayloadSize: 1232 });
      const doubled = Buffer.concat([twoOpts, twoOpts.subarray(twoOpts.length - 11)]);
      doubled.writeUInt16BE(2, 10);
      expect(answer(doubled).packet.rcode).toBe('FORMERR');
    });

    it('answers NOTIMP to another opcode, and drops responses and what is shorter than a header', () => {
      const notify = query('orders.registry');
      notify.writeUInt16BE(4 << 11, 2);
      const { bytes } = answer(notify);
      expect(bytes.readUInt16BE(2) & 0x000f).toBe(4);
      expect((bytes.readUInt16BE(2) >> 11) & 0xf).toBe(4);
      const response = query('orders.registry');
      response.writeUInt16BE(0x8000, 2);
      expect(responder.respond(response, 'udp', 0)).toBeUndefined();
      expect(responder.respond(Buffer.alloc(11), 'udp', 0)).toBeUndefined();
      expect(responder.stats().malformed).toBe(2);
    });

    it('answers an EDNS0 query with an OPT record, and BADVERS to an unknown EDNS version', () => {
      register(1);
      const { packet } = answer(query('orders.registry', 'A', { udpPayloadSize: 4096 }));
      expect(packet.additionals).toEqual([expect.objectContaining({ type: 'OPT', udpPayloadSize: 1232 })]);
      const bad = answer(query('orders.registry', 'A', { udpPayloadSize: 4096, ednsVersion: 1 })).packet;
      expect(bad.answers).toEqual([]);
      expect(bad.additionals).toEqual([expect.objectContaining({ type: 'OPT', extendedRcode: 1 })]);
    });

    it('truncates a UDP answer to 512 bytes without EDNS0, setting TC, and answers it whole over TCP', () => {
      for (let n = 1; n <= 60; n++) register(n);
      const udp = answer(query('orders.registry', 'SRV'));
      expect(udp.bytes.length).toBeLessThanOrEqual(512);
      expect(udp.packet.flag_tc).toBe(true);
      expect(udp.packet.answers!.length).toBeGreaterThan(0);
      expect(udp.packet.answers!.length).toBeLessThan(60);
      expect(udp.packet.additionals).toEqual([]);
      const tcp = answer(query('orders.registry', 'SRV'), 'tcp');
      expect(tcp.packet.flag_tc).toBe(false);
      expect(tcp.packet.answers).toHaveLength(60);
      expect(tcp.packet.additionals).toHaveLength(60);
    });

    it('fits a UDP answer in the client\'s EDNS0 size, capped at maxUdpBytes and never under 512', () => {
      for (let n = 1; n <= 60; n++) register(n);
      expect(answer(query('orders.registry', 'A', { udpPayloadSize: 900 })).bytes.length).toBeLessThanOrEqual(900);
      expect(answer(query('orders.registry', 'A', { udpPayloadSize: 65535 })).bytes.length).toBeLessThanOrEqual(1232);
      const tiny = answer(query('orders.registry', 'A', { udpPayloadSize: 100 }));
      expect(tiny.bytes.length).toBeLessThanOrEqual(512);
      expect(tiny.bytes.length).toBeGreaterThan(400);
    });

    it('leaves out additional records that do not fit without setting TC', () => {
      // 7 SRV records fit in 512 bytes, their 7 addresses do not all.
      for (let n = 1; n <= 7; n++) register(n);
      const { bytes, packet } = answer(query('orders.registry', 'SRV'));
      expect(bytes.length).toBeLessThanOrEqual(512);
      expect(packet.flag_tc).toBe(false);
      expect(packet.answers).toHaveLength(7);
      expect(packet.additionals!.length).toBeLessThan(7);
    });

    it('counts answers by transport, type and response code', () => {
      register(1);
      answer(query('orders.registry'));
      answer(query('orders.registry'));
      answer(query('nothing.registry', 'SRV'), 'tcp');
      answer(query('example.com', 'MX'));
      expect(responder.stats().queries).toEqual([
        { transport: 'udp', type: 'A', rcode: 'NOERROR', count: 2 },
        { transport: 'udp', type: 'other', rcode: 'REFUSED', count: 1 },
        { transport: 'tcp', type: 'SRV', rcode: 'NXDOMAIN', count: 1 },
      ]);
    });
  });

  describe('truncatedReply', () => {
    it('answers with header, question and OPT only, TC set, never longer than the query', () => {
      register(1);
      for (const q of [query('orders.registry'), query('orders.registry', 'SRV', { udpPayloadSize: 4096 })]) {
        const out = responder.truncatedReply(q)!;
        expect(out.length).toBeLessThanOrEqual(q.length);
        expect(dnsPacket.decode(out)).toMatchObject({ flag_tc: true, answers: [], questions: [expect.objectContaining({ name: 'orders.registry' })] });
      }
      expect(responder.truncatedReply(Buffer.alloc(5))).toBeUndefined();
    });
  });
});
