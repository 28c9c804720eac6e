// A fault-injecting TCP proxy on 127.0.0.1: pipes every connection to a target port until cut(), which resets the
// live connections and every new one until heal(). Stands in front of a zone server so a test can partition it.
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
    // Any error or close on either leg ends both: the caller sees a reset, as with a dead peer.
    client.on('error', teardown);
    upstream.on('error', teardown);
    client.on('close', teardown);
    upstream.on('close', teardown);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }
}

/** Ends a socket with a TCP RST (closer to a partition than a polite FIN); never throws or emits unhandled errors. */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  socket.on('error', () => undefined);
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
