// With authentication off, who may act as a peer: requests from the peers' addresses. Deliberate difference from
// Eureka, which believes the x-netflix-discovery-replication header from anyone. With authentication on the `peer`
// credential decides (access.ts) and this gate is not built.
import { IncomingMessage } from 'node:http';
import { Logger } from '../observability/logger';
import { AddressMatcher } from '../codecs/address-set';
import { HttpSecurity } from './config';

const WARN_EVERY_MS = 60_000;

/** Admits peer-only requests from peer addresses; warns (at most once a minute) about refused batches. */
export class PeerGate {
  private warnedAtMs = -Infinity;

  constructor(
    private readonly addresses: AddressMatcher,
    private readonly logger: Logger,
  ) {}

  /** The gate, when addresses decide: authentication off and `peerAddressCheck` on; undefined otherwise. */
  static of(security: HttpSecurity | undefined, logger: Logger): PeerGate | undefined {
    if (security?.peerAddresses === undefined || security.verifier !== undefined || security.peerAddressCheck === false) return undefined;
    return new PeerGate(security.peerAddresses, logger);
  }

  /** Whether the request comes from a peer; `isBatch`: a refusal is worth a warning. `nowMs`: monotonic. */
  admits(req: IncomingMessage, isBatch: boolean, nowMs: number): boolean {
    const from = req.socket.remoteAddress;
    if (this.addresses.has(from)) return true;
    // A real peer whose connections come from an address its name does not resolve to (NAT, another interface).
    if (isBatch && nowMs - this.warnedAtMs >= WARN_EVERY_MS) {
      this.warnedAtMs = nowMs;
      this.logger.warn("refused a replication batch from an address that is not a peer's; if a peer connects from there, add it to peerAllowedAddresses", { from });
    }
    return false;
  }
}
