// A fault-injecting TCP proxy on 127.0.0.1: pipes every connection to a target port until cut(), which resets the
// live connections and every new one until heal(); `latencyMs` delays every chunk, both ways, keeping their order.
// Stands in front of a zone server (or on one link between two) so a test can partition it or slow it down.
import { createConnection, createServer, Server, Socket } from 'node:net';
import { AddressInfo } from 'node:net';

/** Counters, for assertions and for telling a test's failure apart from the proxy's. */
export interface TcpProxyStats {
  /** Connections piped to the target. */
  accepted: number;
  /** Connections reset on arrival because the proxy was cut. */
  refused: number;
  /** Live connections reset by cut(). */
  severed: number;
}

export class TcpProxy {
  readonly stats: TcpProxyStats = { accepted: 0, refused: 0, severed: 0 };
  private readonly live = new Set<Socket>();
  private isCut = false;
  /** Delay added to every chunk forwarded, either way, ms (0: none); applies to live connections at once. */
  latencyMs = 0;

  private constructor(
    private readonly server: Server,
    /** Port the proxy listens on. */
    readonly port: number,
    /** Port it forwards to, on 127.0.0.1. */
    readonly targetPort: number,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Starts a proxy on a free port of 127.0.0.1 in front of `targetPort` (which need not be listening yet). */
  static async start(targetPort: number): Promise<TcpProxy> {
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new TcpProxy(server, (server.address() as AddressInfo).port, targetPort);
  }

  /** True while connections are being reset. */
  get cutOff(): boolean {
    return this.isCut;
  }

  /** Connections currently open through the proxy (both legs counted once). */
  get openConnections(): number {
    return this.live.size / 2;
  }

  /** Resets every live connection; new ones are reset on arrival until heal(). */
  cut(): void {
    this.isCut = true;
    const sockets = [...this.live];
    this.stats.severed += sockets.length / 2;
    for (const s of sockets) reset(s);
    this.live.clear();
  }

  /** Lets connections through again. */
  heal(): void {
    this.isCut = false;
  }

  /** Resets the live connections (what is in flight is lost) but lets new ones through. */
  sever(): void {
    this.cut();
    this.heal();
  }

  /** Resets everything and stops listening. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.isCut) {
      this.stats.refused++;
      reset(client);
      return;
    }
    this.stats.accepted++;
    const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
    this.live.add(client);
    this.live.add(upstream);
    const teardown = (): void => {
      this.live.delete(client);
      this.live.delete(upstream);
      reset(client);
      reset(upstream);
    };
    // An error on either leg ends both at once; a close ends the other leg once what it sent has been delivered.
    // Either way the caller sees a reset, as with a dead peer.
    client.on('error', teardown);
    upstream.on('error', teardown);
    this.forward(client, upstream, teardown);
    this.forward(upstream, client, teardown);
    client.resume();
  }

  // Like from.pipe(to), but each chunk leaves `latencyMs` after it arrived, never before the one ahead of it;
  // `closed` runs once `from` has closed and everything it sent has been written to `to`.
  private forward(from: Socket, to: Socket, closed: () => void): void {
    const pending: { at: number; chunk: Buffer | null }[] = [];
    let timer: NodeJS.Timeout | undefined;
    let fromClosed = false;
    const write = (chunk: Buffer | null): void => {
      if (to.destroyed) return;
      if (chunk === null) to.end();
      else to.write(chunk);
    };
    const release = (): void => {
      timer = undefined;
      const now = Date.now();
      while (pending.length > 0 && pending[0].at <= now) write(pending.shift()!.chunk);
      if (pending.length > 0) timer = setTimeout(release, pending[0].at - now);
      else if (fromClosed) closed();
    };
    from.on('data', (chunk: Buffer) => {
      if (this.latencyMs <= 0 && pending.length === 0) return write(chunk);
      const at = Math.max(Date.now() + this.latencyMs, pending.length > 0 ? pending[pending.length - 1].at : 0);
      pending.push({ at, chunk });
      timer ??= setTimeout(release, at - Date.now());
    });
    from.on('end', () => (pending.length === 0 ? write(null) : pending.push({ at: pending[pending.length - 1].at, chunk: null })));
    from.on('close', () => {
      fromClosed = true;
      if (pending.length === 0 || to.destroyed) {
        clearTimeout(timer);
        closed();
      }
    });
  }
}

/** Ends a socket with a TCP RST (closer to a partition than a polite FIN); never throws or emits unhandled errors. */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  socket.on('error', () => undefined);
  // Once our FIN is queued a reset adds nothing, and resetting then leaves the event loop spinning (Node 20 and 24).
  if (socket.writableEnded) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
