// The DNS listeners: one UDP socket and one TCP server on the same port, handing each message to the responder.
// UDP: a token bucket per source address (answers past it are dropped or replaced by an empty truncated reply, never
// larger than the query). TCP (RFC 7766): 2-byte length framing, queries answered in order, a cap on connections,
// an idle timeout, and a connection cut when it sends an oversized message or stops reading its answers.
import { createSocket, RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, Server, Socket } from 'node:net';
import { Clock } from '../domain/clock';
import { Logger } from '../observability/logger';
import { DnsStatus } from '../observability/server-status';
import { KeyedRateLimiter } from '../security/rate-limit';
import { DnsResponder } from './responder';

/** Where and how the DNS interface listens. */
export interface DnsServerOptions {
  readonly host: string;
  /** 0: a free port, the same for UDP and TCP. */
  readonly port: number;
  readonly domain: string;
  readonly ttlSecs: number;
  /** UDP queries per second per source address; 0: no limit. */
  readonly rateLimitPerSourcePerSec: number;
  readonly tcpMaxConnections: number;
  readonly tcpIdleTimeoutMs: number;
}

// A query is a few dozen bytes; 4 KB leaves room for any EDNS0 option a client adds.
const MAX_QUERY_BYTES = 4096;
// Answers a TCP client has not read yet, bytes: past it the client is not reading and the connection is cut.
const MAX_TCP_PENDING_BYTES = 1 << 20;
// Tries at binding TCP to the port UDP got when the port is 0 (another process may hold that TCP port).
const BIND_ATTEMPTS = 8;

/** What operators see of a DNS interface that is switched off. */
export function dnsOffStatus(domain: string, ttlSecs: number): DnsStatus {
  return { enabled: false, domain, ttlSecs, queries: [], truncated: 0, malformed: 0, rateLimited: { dropped: 0, truncated: 0 }, tcp: { open: 0, refused: 0 } };
}

/** The DNS interface of one zone server: listen(), close(), and its state for operators. */
export class DnsServer {
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private boundPort: number | undefined;
  private readonly limiter: KeyedRateLimiter | undefined;
  private readonly connections = new Set<Socket>();
  private slip = 0;
  private rateLimitedDropped = 0;
  private rateLimitedTruncated = 0;
  private tcpRefused = 0;

  constructor(
    private readonly responder: DnsResponder,
    private readonly options: DnsServerOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.limiter = options.rateLimitPerSourcePerSec > 0 ? new KeyedRateLimiter(options.rateLimitPerSourcePerSec) : undefined;
  }

  /** The port UDP and TCP listen on; undefined before listen(). */
  get port(): number | undefined {
    return this.boundPort;
  }

  /** Binds UDP, then TCP on the same port; resolves with the port. */
  async listen(): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const udp = await this.bindUdp(this.options.port);
      const port = udp.address().port;
      try {
        this.tcp = await this.bindTcp(port);
        this.udp = udp;
        this.boundPort = port;
        return port;
      } catch (e) {
        await new Promise<void>((resolve) => udp.close(() => resolve()));
        if (this.options.port !== 0 || attempt >= BIND_ATTEMPTS || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      }
    }
  }

  /** Closes both listeners and every TCP connection. */
  async close(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    for (const socket of this.connections) socket.destroy();
    await Promise.all([
      udp === undefined ? undefined : new Promise<void>((resolve) => udp.close(() => resolve())),
      tcp === undefined ? undefined : new Promise<void>((resolve) => tcp.close(() => resolve())),
    ]);
  }

  /** The DNS interface as operators see it. */
  status(): DnsStatus {
    const s = this.responder.stats();
    return {
      enabled: true,
      host: this.boundPort === undefined ? undefined : this.options.host,
      port: this.boundPort,
      domain: this.options.domain,
      ttlSecs: this.options.ttlSecs,
      queries: s.queries,
      truncated: s.truncated,
      malformed: s.malformed,
      rateLimited: { dropped: this.rateLimitedDropped, truncated: this.rateLimitedTruncated },
      tcp: { open: this.connections.size, refused: this.tcpRefused },
    };
  }

  private bindUdp(port: number): Promise<UdpSocket> {
    const socket = createSocket({ type: isIPv6(this.options.host) ? 'udp6' : 'udp4' });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, this.options.host, () => {
        socket.off('error', reject);
        socket.on('error', (e) => this.logger.warn('dns: udp socket error', { error: e.message }));
        socket.on('message', (message, from) => this.onDatagram(socket, message, from));
        resolve(socket);
      });
    });
  }

  private onDatagram(socket: UdpSocket, message: Buffer, from: RemoteInfo): void {
    const now = this.clock.now();
    if (this.limiter !== undefined && this.limiter.take(from.address, now) > 0) {
      // As BIND's response rate limiting (slip 2): half are dropped, half get a reply that only says "use TCP".
      if ((this.slip++ & 1) === 0) {
        this.rateLimitedDropped++;
        return;
      }
      const reply = this.responder.truncatedReply(message);
      if (reply === undefined) return;
      this.rateLimitedTruncated++;
      this.send(socket, reply, from);
      return;
    }
    if (message.length > MAX_QUERY_BYTES) {
      this.responder.countMalformed();
      return;
    }
    const answer = this.responder.respond(message, 'udp', now);
    if (answer !== undefined) this.send(socket, answer, from);
  }

  // Without a callback: a failed send is reported as the socket's 'error' (logged), and no request object is kept.
  private send(socket: UdpSocket, answer: Buffer, to: RemoteInfo): void {
    socket.send(answer, to.port, to.address);
  }

  private bindTcp(port: number): Promise<Server> {
    const server = createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    server.maxConnections = this.options.tcpMaxConnections;
    server.on('drop', () => {
      this.tcpRefused++;
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: this.options.host, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (e) => this.logger.warn('dns: tcp listener error', { error: e.message }));
        resolve(server);
      });
    });
  }

  private onConnection(socket: Socket): void {
    this.connections.add(socket);
    socket.setTimeout(this.options.tcpIdleTimeoutMs, () => socket.destroy());
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (length > MAX_QUERY_BYTES) {
          this.responder.countMalformed();
          socket.destroy();
          return;
        }
        if (pending.length < 2 + length) break;
        const message = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        const answer = this.responder.respond(message, 'tcp', this.clock.now());
        if (answer === undefined) {
          // Nothing to answer on a stream means the client is not speaking DNS: stop reading it.
          socket.destroy();
          return;
        }
        const framed = Buffer.allocUnsafe(2 + answer.length);
        framed.writeUInt16BE(answer.length, 0);
        answer.copy(framed, 2);
        socket.write(framed);
        if (socket.writableLength > MAX_TCP_PENDING_BYTES) {
          socket.destroy();
          return;
        }
      }
      // The rest of a message never exceeds 2 + MAX_QUERY_BYTES: copy it out of the chunk it shares memory with.
      if (pending.length > 0) pending = Buffer.from(pending);
    });
  }
}
