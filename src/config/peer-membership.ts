// The peers of this server as they stand now: the config file's (fixed for the life of the process) plus those the
// peer DNS name lists (they come and go). Replication, anti-entropy and the peer-address check follow its changes.

/** A peer found through DNS: its base URL and the addresses its host resolved to (empty for an IP literal). */
export interface DiscoveredPeer {
  readonly url: string;
  readonly addresses: readonly string[];
}

/** What changed in one update: peer URLs (as configured, credentials included) that came and went. */
export interface PeerChange {
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/** The current peer set; listeners hear every change of its URLs or of the addresses learned for them. */
export class PeerMembership {
  private readonly fixed: readonly string[];
  private discovered = new Map<string, DiscoveredPeer>();
  private current: readonly string[];
  private readonly listeners = new Set<(change: PeerChange) => void>();

  /** @param fixed the config file's peer URLs: never dropped. */
  constructor(fixed: readonly string[]) {
    this.fixed = [...new Set(fixed)];
    this.current = this.fixed;
  }

  /** Every peer URL now: the config file's first, then the discovered ones in the order DNS last listed them. */
  get urls(): readonly string[] {
    return this.current;
  }

  /** Host name → addresses, as the last DNS answer resolved the discovered peers' hosts. */
  learnedAddresses(): ReadonlyMap<string, readonly string[]> {
    const learned = new Map<string, readonly string[]>();
    for (const peer of this.discovered.values()) if (peer.addresses.length > 0) learned.set(new URL(peer.url).hostname.toLowerCase(), peer.addresses);
    return learned;
  }

  /** Replaces the discovered peers with `peers` (a URL of the config file is not listed twice); tells listeners what changed. */
  setDiscovered(peers: readonly DiscoveredPeer[]): PeerChange {
    const fixed = new Set(this.fixed);
    const next = new Map<string, DiscoveredPeer>();
    for (const peer of peers) if (!fixed.has(peer.url) && !next.has(peer.url)) next.set(peer.url, peer);
    const added = [...next.keys()].filter((url) => !this.discovered.has(url));
    const removed = [...this.discovered.keys()].filter((url) => !next.has(url));
    const addressesMoved = [...next.values()].some((p) => !sameList(p.addresses, this.discovered.get(p.url)?.addresses));
    this.discovered = next;
    this.current = [...this.fixed, ...next.keys()];
    const change = { added, removed };
    if (added.length > 0 || removed.length > 0 || addressesMoved) for (const listener of [...this.listeners]) listener(change);
    return change;
  }

  /** Calls `listener` after every change; returns what detaches it. */
  subscribe(listener: (change: PeerChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function sameList(a: readonly string[], b: readonly string[] | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}
