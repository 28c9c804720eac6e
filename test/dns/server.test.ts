// The DNS listeners with hand-built packets: UDP answers that never exceed what the query allows, garbage dropped or
// answered FORMERR, the per-source rate limit (dropped or an empty truncated reply), and TCP's framing, pipelining,
// bounds on message size and connections, and idle timeout.
import { createSocket, Socket as UdpSocket } from 'node:dgram';
import { connect, Socket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { DnsResponder } from '../../src/dns/responder';
import { DnsServer, DnsServerOptions } from '../../src/dns/server';
import { systemClock } from '../../src/domain/clock';
import { silentLogger } from '../../src/observability/logger';
import { makeRegistry, RegistryFixture } from '../domain/registry-fixture';
import { makeInstance } from '../helpers/instances';
import { waitFor } from '../helpers/wait';

const BASE: DnsServerOptions = { host: '127.0.0.1', port: 0, domain: 'registry', ttlSecs: 5, rateLimitPerSourcePerSec: 0, tcpMaxConnections: 16, tcpIdleTimeoutMs: 10_000 };

let f: RegistryFixture;
let server: DnsServer | undefined;
const closers: (() => void)[] = [];

async function start(options: Partial<DnsServerOptions> = {}): Promise<number> {
  f = makeRegistry({ maxInstancesPerApp: 1000 });
  for (let n = 1; n <= 100; n++) f.registry.register(makeInstance({ id: `o-${n}`, ipAddr: `10.0.0.${n}`, hostName: `o-${n}.internal` }));
  server = new DnsServer(new DnsResponder(f.registry, { domain: 'registry', ttlSecs: 5, maxUdpBytes: 1232 }), { ...BASE, ...options }, systemClock, silentLogger);
  return server.listen();
}

afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await server?.close();
  server = undefined;
});

function query(name: string, type: dnsPacket.RecordType, id: number, udpPayloadSize?: number): Buffer {
  const additionals: dnsPacket.Answer[] = udpPayloadSize === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }];
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }], additionals });
}

/** A UDP client socket collecting every datagram it receives. */
function udpClient(): { socket: UdpSocket; received: Buffer[] } {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  closers.push(() => socket.close());
  return { socket, received };
}

/** A TCP client socket collecting the bytes it receives and whether it closed. */
async function tcpClient(port: number): Promise<{ socket: Socket; data: () => Buffer; closed: () => boolean }> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let closed = false;
  socket.on('data', (c) => chunks.push(c));
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', () => undefined);
  closers.push(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, data: () => Buffer.concat(chunks), closed: () => closed };
}

const framed = (message: Buffer): Buffer => Buffer.concat([Buffer.from([message.length >> 8, message.length & 255]), message]);

/** The messages of a TCP stream (2-byte length prefixes). */
function unframe(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at + 2 <= stream.length) {
    const len = stream.readUInt16BE(at);
    if (at + 2 + len > stream.length) break;
    out.push(stream.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return out;
}

describe('DnsServer', () => {
  describe('UDP', () => {
    it('never answers with more than 512 bytes without EDNS0, nor more than the EDNS0 size or maxUdpBytes with it', async () => {
      const port = await start();
      const { socket, received } = udpClient();
      socket.send(query('orders.registry', 'SRV', 1), port, '127.0.0.1');
      socket.send(query('orders.registry', 'A', 2, 700), port, '127.0.0.1');
      socket.send(query('orders.registry', 'ANY' as dnsPacket.RecordType, 3, 65535), port, '127.0.0.1');
      await waitFor(() => received.length === 3, 'three answers');
      const byId = new Map(received.map((m) => [m.readUInt16BE(0), m]));
      expect(byId.get(1)!.length).toBeLessThanOrEqual(512);
      expect(byId.get(2)!.length).toBeLessThanOrEqual(700);
      expect(byId.get(3)!.length).toBeLessThanOrEqual(1232);
      for (const m of received) expect(dnsPacket.decode(m).flag_tc).toBe(true);
    });

    it('answers FORMERR to a header followed by garbage and nothing to what is shorter than a header', async () => {
      const port = await start();
      const { socket, received } = udpClient();
      socket.send(Buffer.from([0xab, 0xcd, 0x01]), port, '127.0.0.1');
      socket.send(Buffer.from([0x11, 0x22, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1]), port, '127.0.0.1');
      socket.send(query('example.com', 'A', 3), port, '127.0.0.1');
      await waitFor(() => received.length === 2, 'two answers');
      expect(dnsPacket.decode(received[0])).toMatchObject({ id: 0x1122, flags: expect.any(Number), questions: [] });
      expect(received[0].readUInt16BE(2) & 0xf).toBe(1);
      expect(received[0].length).toBe(12);
      expect(received[1].readUInt16BE(0)).toBe(3);
      expect(received[1].readUInt16BE(2) & 0xf).toBe(5);
      expect(server!.status().malformed).toBe(1);
    });

    it('past the per-source rate, drops half the queries and answers the rest empty and truncated, no larger than the query', async () => {
      const port = await start({ rateLimitPerSourcePerSec: 1 });
      const { socket, received } = udpClient();
      const q = query('orders.registry', 'SRV', 7, 4096);
      for (let i = 0; i < 20; i++) socket.send(q, port, '127.0.0.1');
      await waitFor(() => server!.status().rateLimited.dropped + server!.status().rateLimited.truncated + received.filter((m) => dnsPacket.decode(m).answers!.length > 0).length >= 20, 'every query to be handled');
      await waitFor(() => received.length === 20 - server!.status().rateLimited.dropped, 'every reply to arrive');
      const full = received.filter((m) => dnsPacket.decode(m).answers!.length > 0);
      const empty = received.filter((m) => dnsPacket.decode(m).answers!.length === 0);
      expect(full.length).toBeGreaterThanOrEqual(1);
      expect(empty.length).toBeGreaterThanOrEqual(5);
      for (const m of empty) {
        expect(m.length).toBeLessThanOrEqual(q.length);
        expect(dnsPacket.decode(m).flag_tc).toBe(true);
      }
      expect(server!.status().rateLimited.dropped).toBeGreaterThanOrEqual(5);
    });
  });

  describe('TCP', () => {
    it('answers pipelined queries in order, each whole, with a length prefix', async () => {
      const port = await start();
      const client = await tcpClient(port);
      client.socket.write(Buffer.concat([framed(query('orders.registry', 'SRV', 1)), framed(query('nothing.registry', 'A', 2))]));
      await waitFor(() => unframe(client.data()).length === 2, 'two answers');
      const [first, second] = unframe(client.data()).map((m) => dnsPacket.decode(m) as dnsPacket.DecodedPacket & { rcode: string });
      expect(first).toMatchObject({ id: 1, flag_tc: false });
      expect(first.answers).toHaveLength(100);
      expect(second).toMatchObject({ id: 2, rcode: 'NXDOMAIN' });
    });

    it('answers a query split across writes', async () => {
      const port = await start();
      const client = await tcpClient(port);
      const bytes = framed(query('orders.registry', 'A', 5));
      client.socket.write(bytes.subarray(0, 1));
      await new Promise((resolve) => setImmediate(resolve));
      client.socket.write(bytes.subarray(1, 9));
      await new Promise((resolve) => setImmediate(resolve));
      client.socket.write(bytes.subarray(9));
      await waitFor(() => unframe(client.data()).length === 1, 'the answer');
      expect(dnsPacket.decode(unframe(client.data())[0]).answers).toHaveLength(100);
    });

    it('closes a connection announcing a message larger than any query, or sending what is not a query', async () => {
      const port = await start();
      const big = await tcpClient(port);
      big.socket.write(Buffer.from([0xff, 0xff, 0, 0]));
      await waitFor(big.closed, 'the oversized connection to close');
      const garbage = await tcpClient(port);
      garbage.socket.write(framed(Buffer.from('hello')));
      await waitFor(garbage.closed, 'the garbage connection to close');
    });

    it('closes connections past dnsTcpMaxConnections and idle ones after dnsTcpIdleTimeoutMs', async () => {
      const port = await start({ tcpMaxConnections: 2, tcpIdleTimeoutMs: 300 });
      const kept = [await tcpClient(port), await tcpClient(port)];
      await waitFor(() => server!.status().tcp.open === 2, 'two connections open');
      const third = await tcpClient(port);
      await waitFor(third.closed, 'the third connection to be closed');
      expect(server!.status().tcp.refused).toBe(1);
      await waitFor(() => kept.every((c) => c.closed()), 'idle connections to be closed', 5000);
      expect(server!.status().tcp.open).toBe(0);
    });
  });

  describe('listen', () => {
    it('listens on an IPv6 address with a udp6 socket', async () => {
      await start({ host: '::1' });
      const port = server!.port!;
      const socket = createSocket('udp6');
      const received: Buffer[] = [];
      socket.on('message', (m) => received.push(m));
      closers.push(() => socket.close());
      socket.send(query('orders.registry', 'A', 6), port, '::1');
      await waitFor(() => received.length === 1, 'the answer over IPv6');
      expect(dnsPacket.decode(received[0]).answers!.length).toBeGreaterThan(0);
      expect(server!.status()).toMatchObject({ host: '::1', port });
    });

    it('binds UDP and TCP on the same port, and a fixed port that is taken fails the start', async () => {
      const port = await start();
      const other = new DnsServer(new DnsResponder(f.registry, { domain: 'registry', ttlSecs: 5, maxUdpBytes: 1232 }), { ...BASE, port }, systemClock, silentLogger);
      await expect(other.listen()).rejects.toThrow(/EADDRINUSE/);
      const client = await tcpClient(port);
      client.socket.write(framed(query('orders.registry', 'A', 1)));
      await waitFor(() => unframe(client.data()).length === 1, 'a TCP answer on the UDP port');
    });
  });
});
