// The addresses peers connect from, for recognising them while authentication is off: the peers' hosts (IP literals
// as written, host names resolved through DNS at start and again every peerAddressRefreshMs) plus the
// peerAllowedAddresses setting. The peers are the config file's plus those peer DNS discovery adds (update()).
import { lookup as dnsLookup } from 'node:dns/promises';
import { Logger } from '../observability/logger';
import { AddressEntry, AddressSet, canonicalAddress } from '../codecs/address-set';

/** Resolves a host name to all its addresses. */
export type HostLookup = (host: string) => Promise<readonly string[]>;

/** dns.promises.lookup with all: true (what the peer client's connections resolve through too). */
export const systemLookup: HostLookup = async (host) => (await dnsLookup(host, { all: true })).map((a) => a.address);

/** The host of a peer URL (credentials and IPv6 brackets removed), lower-cased. */
export function peerHost(url: string): string {
  return new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/** The current set of peer addresses; `refresh()` resolves the host names again. */
export class PeerAddresses {
  private set: AddressSet;
  private literals: readonly AddressEntry[] = [];
  private names: readonly string[] = [];
  // Last good addresses of each host name: a failed lookup keeps them, so a DNS outage does not turn peers away.
  private readonly resolved = new Map<string, readonly string[]>();

  constructor(
    peerUrls: readonly string[],
    private readonly extra: readonly AddressEntry[],
    private readonly lookup: HostLookup,
    private readonly logger: Logger,
  ) {
    this.split(peerUrls);
    this.set = this.build();
  }

  /**
   * Follows a change of the peer set: literals count at once, host names keep what they resolved to, and `learned`
   * (host name → addresses a DNS answer just gave) counts at once too, before the next refresh() looks them up.
   */
  update(peerUrls: readonly string[], learned: ReadonlyMap<string, readonly string[]>): void {
    this.split(peerUrls);
    const names = new Set(this.names);
    for (const name of [...this.resolved.keys()]) if (!names.has(name)) this.resolved.delete(name);
    for (const [name, addresses] of learned) {
      if (names.has(name)) this.resolved.set(name, addresses.map(canonicalAddress).filter((a): a is string => a !== undefined));
    }
    this.set = this.build();
  }

  /** Whether a socket's remoteAddress belongs to a peer. */
  has(remoteAddress: string | undefined): boolean {
    return this.set.has(remoteAddress);
  }

  /** Whether any peer is given by host name now (else refresh() has nothing to resolve). */
  get hasHostNames(): boolean {
    return this.names.length > 0;
  }

  /** Resolves every peer host name again (lookups in parallel); never rejects. */
  async refresh(): Promise<void> {
    if (this.names.length === 0) return;
    await Promise.all(
      this.names.map(async (name) => {
        try {
          const addresses = (await this.lookup(name)).map(canonicalAddress).filter((a): a is string => a !== undefined);
          // A peer dropped while its name was being looked up stays dropped.
          if (this.names.includes(name)) this.resolved.set(name, addresses);
        } catch (e) {
          this.logger.warn('cannot resolve a peer host name; its requests count as a client\'s until it resolves', {
            host: name,
            kept: (this.resolved.get(name) ?? []).join(', ') || 'none',
            error: e instanceof Error ? e.message : String(e),
          });
        }
      }),
    );
    this.set = this.build();
  }

  private split(peerUrls: readonly string[]): void {
    const literals: AddressEntry[] = [];
    const names = new Set<string>();
    for (const url of peerUrls) {
      const host = peerHost(url);
      const address = canonicalAddress(host);
      if (address !== undefined) literals.push({ address });
      else names.add(host);
    }
    this.literals = literals;
    this.names = [...names];
  }

  private build(): AddressSet {
    const fromNames = [...this.resolved.values()].flat().map((address) => ({ address }));
    return new AddressSet([...this.literals, ...fromNames, ...this.extra]);
  }
}
