// What a connection may hold at the listener: header and request timeouts (slow clients are cut in seconds, not
// minutes), and a cap on the connections open from one client address.
import { Server, ServerOptions } from 'node:http';
import { Socket } from 'node:net';
import { Settings } from '../config/settings';
import { Logger } from '../observability/logger';

/** How often a warning about one capped address may repeat, ms. */
export const CAP_WARNING_INTERVAL_MS = 60_000;

/** node:http server options from the settings: keep-alive, header and request timeouts. */
export function listenerOptions(s: Pick<Settings, 'headersTimeoutMs' | 'requestTimeoutMs'>): ServerOptions & { readonly headersTimeout: number } {
  const headersTimeout = s.headersTimeoutMs;
  return {
    // Longer than the 60 s idle timeout of common load balancers, so that they, not we, close idle connections.
    keepAliveTimeout: 65_000,
    headersTimeout,
    // Node refuses a request timeout below the headers timeout.
    requestTimeout: Math.max(s.requestTimeoutMs, headersTimeout),
    // Node checks both timeouts every 30 s by default, which would let a 10 s timeout run to 40 s.
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeout / 4))),
  };
}

/**
 * Closes at once every connection beyond `max` open ones from one remote address (0: no cap), counted over all of
 * `servers` (the listening sockets of one port). Memory is one map entry per address with open connections; a warning
 * names an address at most once per CAP_WARNING_INTERVAL_MS.
 */
export function capConnectionsPerAddress(servers: readonly Server[], max: number, logger: Logger, nowMs: () => number): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  // Address → when it was last named in a warning; entries older than the interval are pruned as it grows.
  const warnedAt = new Map<string, number>();
  const warn = (address: string): void => {
    const now = nowMs();
    const last = warnedAt.get(address);
    if (last !== undefined && now - last < CAP_WARNING_INTERVAL_MS) return;
    if (warnedAt.size >= 1024) for (const [a, at] of warnedAt) if (now - at >= CAP_WARNING_INTERVAL_MS) warnedAt.delete(a);
    warnedAt.set(address, now);
    logger.warn('closing connections over maxConnectionsPerAddress from this address (logged once a minute)', { address, maxConnectionsPerAddress: max });
  };
  const onConnection = (socket: Socket): void => {
    const address = socket.remoteAddress;
    // Gone before it was counted.
    if (address === undefined) return;
    const count = open.get(address) ?? 0;
    if (count >= max) {
      socket.destroy();
      warn(address);
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left === 0) open.delete(address);
      else open.set(address, left);
    });
  };
  for (const server of servers) server.on('connection', onConnection);
}
