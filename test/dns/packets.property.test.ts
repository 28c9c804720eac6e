// Property: no datagram makes the DNS interface throw, crash or answer more than the query allows. Random bytes and
// valid queries with random mutations (bit flips, cuts, appended bytes, forged counts) go to the responder directly
// and then over a real UDP socket; afterwards the server still answers a plain query.
import { createSocket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { DnsResponder } from '../../src/dns/responder';
import { DnsServer } from '../../src/dns/server';
import { systemClock } from '../../src/domain/clock';
import { silentLogger } from '../../src/observability/logger';
import { makeRegistry, RegistryFixture } from '../domain/registry-fixture';
import { makeInstance } from '../helpers/instances';
import { waitFor } from '../helpers/wait';

const MAX_UDP = 1232;
let f: RegistryFixture;
let responder: DnsResponder;

beforeAll(() => {
  f = makeRegistry({ maxInstancesPerApp: 1000 });
  for (let n = 1; n <= 80; n++) {
    f.registry.register(makeInstance({ id: `o-${n}`, ipAddr: n % 3 === 0 ? `fd00::${n}` : `10.0.0.${n}`, hostName: `o-${n}.internal`, metadata: { zone: `z${n % 2}` }, vipAddress: 'orders,shop' }));
  }
  responder = new DnsResponder(f.registry, { domain: 'registry', ttlSecs: 5, maxUdpBytes: MAX_UDP });
});

/** The most a UDP answer to `message` may hold: 512, or the size its one OPT record advertises, up to MAX_UDP. */
function allowedBytes(message: Buffer): number {
  try {
    const decoded = dnsPacket.decode(message);
    const opts = (decoded.additionals ?? []).filter((a) => a.type === 'OPT');
    if (opts.length === 1 && opts[0].type === 'OPT') return Math.min(MAX_UDP, Math.max(512, opts[0].udpPayloadSize));
  } catch {
    // Not decodable: only a 12-byte FORMERR may come back.
  }
  return 512;
}

const NAMES = ['orders.registry', '_orders._tcp.registry', '_orders._tls.z1.registry', 'orders.z0.registry', 'shop.vip.registry', '0a000001.addr.registry', 'registry', 'nothing.registry', 'example.com', 'vip.registry'];
// ANY is a query type only; the typings list record types.
const TYPES = ['A', 'AAAA', 'SRV', 'ANY', 'SOA', 'TXT', 'MX', 'AXFR'] as dnsPacket.RecordType[];

const validQuery = fc.record({
  id: fc.nat(0xffff),
  name: fc.constantFrom(...NAMES),
  type: fc.constantFrom(...TYPES),
  udpPayloadSize: fc.option(fc.nat(0xffff), { nil: undefined }),
  rd: fc.boolean(),
}).map(({ id, name, type, udpPayloadSize, rd }) =>
  dnsPacket.encode({
    type: 'query',
    id,
    flags: rd ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ type, name }],
    additionals: udpPayloadSize === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
  }),
);

type Mutation = { kind: 'flip'; at: number; bit: number } | { kind: 'cut'; at: number } | { kind: 'append'; bytes: Uint8Array } | { kind: 'count'; field: number; value: number } | { kind: 'set'; at: number; value: number };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(200), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(200) }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ kind: fc.constant('count' as const), field: fc.integer({ min: 2, max: 5 }), value: fc.nat(0xffff) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(200), value: fc.nat(255) }),
);

function mutate(message: Buffer, mutations: readonly Mutation[]): Buffer {
  let out = Buffer.from(message);
  for (const m of mutations) {
    if (m.kind === 'flip' && out.length > 0) out[m.at % out.length] ^= 1 << m.bit;
    if (m.kind === 'set' && out.length > 0) out[m.at % out.length] = m.value;
    if (m.kind === 'cut') out = out.subarray(0, m.at % (out.length + 1));
    if (m.kind === 'append') out = Buffer.concat([out, m.bytes]);
    if (m.kind === 'count' && out.length >= 12) out.writeUInt16BE(m.value, m.field * 2);
  }
  return out;
}

const packets = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
  fc.tuple(validQuery, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([q, ms]) => mutate(q, ms)),
  validQuery,
);

function checkAnswer(message: Buffer, answer: Buffer | undefined, transport: 'udp' | 'tcp'): void {
  if (message.length < 12) {
    expect(answer).toBeUndefined();
    return;
  }
  if (answer === undefined) return;
  expect(answer.readUInt16BE(0)).toBe(message.readUInt16BE(0));
  expect(answer[2] & 0x80).toBe(0x80);
  expect(answer.length).toBeLessThanOrEqual(transport === 'udp' ? allowedBytes(message) : 65535);
  // What we send must itself be a well-formed message.
  expect(() => dnsPacket.decode(answer)).not.toThrow();
}

describe('DNS packets (property)', () => {
  describe('DnsResponder.respond', () => {
    it('never throws and never answers more than the query allows, whatever arrives', () => {
      fc.assert(
        fc.property(packets, (message) => {
          checkAnswer(message, responder.respond(message, 'udp', 0), 'udp');
          checkAnswer(message, responder.respond(message, 'tcp', 0), 'tcp');
          const slip = responder.truncatedReply(message);
          if (slip !== undefined) expect(slip.length).toBeLessThanOrEqual(message.length);
        }),
        { numRuns: 3000 },
      );
    });
  });

  describe('DnsServer over UDP', () => {
    it('keeps answering after a stream of random and mutated datagrams, each answer within bounds', async () => {
      const server = new DnsServer(responder, { host: '127.0.0.1', port: 0, domain: 'registry', ttlSecs: 5, rateLimitPerSourcePerSec: 0, tcpMaxConnections: 4, tcpIdleTimeoutMs: 1000 }, systemClock, silentLogger);
      const port = await server.listen();
      const socket = createSocket('udp4');
      const answers: Buffer[] = [];
      socket.on('message', (m) => answers.push(m));
      try {
        // In batches the socket buffer holds (a few hundred datagrams), each handled before the next is sent.
        const sent = fc.sample(packets, 400);
        const handled = (): number => server.status().malformed + server.status().queries.reduce((n, q) => n + q.count, 0);
        for (let i = 0; i < sent.length; i += 50) {
          const batch = sent.slice(i, i + 50);
          const before = handled();
          for (const message of batch) socket.send(message, port, '127.0.0.1');
          await waitFor(() => handled() === before + batch.length, `batch ${i / 50 + 1} to be handled`);
        }
        socket.send(dnsPacket.encode({ type: 'query', id: 0xbeef, questions: [{ type: 'A', name: 'orders.registry' }] }), port, '127.0.0.1');
        await waitFor(() => answers.some((a) => a.readUInt16BE(0) === 0xbeef), 'the plain query to be answered after the fuzzing');
        for (const a of answers) expect(a.length).toBeLessThanOrEqual(MAX_UDP);
      } finally {
        socket.close();
        await server.close();
      }
    });
  });
});
