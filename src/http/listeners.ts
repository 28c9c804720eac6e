// The listening sockets of the server's one port. Node accepts at most one new connection per listening socket per
// turn of its event loop (its libuv accepts once and waits for the next poll rather than until the queue is empty).
// A server busy writing large answers turns every 20-200 ms, so a burst of reconnecting clients (a zone's failure
// sends thousands) waited in the kernel's accept queue for seconds: measured in the failure-storm bench, 100-260
// connections queued on each survivor for 2-3 s, their first requests answered after 1.7-5.5 s, while every request
// the servers had read was answered within 0.25 s. Several sockets bound to the same port (SO_REUSEPORT), each a
// server with the same request listener, accept as many connections per turn; the kernel spreads new connections
// over them.
import { Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';

/**
 * Whether this Node and platform let several sockets listen on one port (`reusePort`: Node 22.12 and 23.1 onwards, on
 * Linux; elsewhere the option is ignored or refused).
 */
export function canSharePort(nodeVersion = process.versions.node, platform: string = process.platform): boolean {
  if (platform !== 'linux') return false;
  const [major, minor] = nodeVersion.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** Where and how the server listens. */
export interface ListenAt {
  readonly port: number;
  readonly host: string;
  readonly backlog: number;
}

/** The servers listening, the first the one whose address is the server's. */
export interface Listening {
  readonly servers: readonly Server[];
  readonly port: number;
}

/**
 * Listens with every server of `servers` on one port: the first alone when the port cannot be shared or only one is
 * given, else all of them with `reusePort`. A port given (not 0) is first bound alone for a moment, so that a server
 * already listening there, another instance of this one included, fails this start with EADDRINUSE instead of sharing
 * its connections with it. A further socket the system refuses is left out (`onRefused`); the first one's error fails
 * the call.
 */
export async function listenAll(servers: readonly Server[], at: ListenAt, shareable: boolean, onRefused: (error: Error) => void): Promise<Listening> {
  const [first, ...others] = servers;
  const sharing = shareable && others.length > 0;
  if (sharing && at.port !== 0) await bindAlone(at.port, at.host);
  await listenOn(first, { port: at.port, host: at.host, backlog: at.backlog, ...(sharing && { reusePort: true }) });
  const port = (first.address() as { port: number }).port;
  const listening = [first];
  if (sharing) {
    for (const server of others) {
      try {
        await listenOn(server, { port, host: at.host, backlog: at.backlog, reusePort: true });
        listening.push(server);
      } catch (e) {
        onRefused(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }
  return { servers: listening, port };
}

function listenOn(server: Server, options: ListenAt & { readonly reusePort?: boolean }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

// Binds the port without sharing it and lets it go: EADDRINUSE when anyone listens there.
function bindAlone(port: number, host: string): Promise<void> {
  const probe = createNetServer();
  return new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
