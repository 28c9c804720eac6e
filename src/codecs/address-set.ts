// A set of IP addresses and CIDR ranges, matched against a socket's remoteAddress: how a peer is recognised when
// authentication is off. Pure: resolving host names into addresses is config/peer-addresses.ts's job.
import { BlockList, isIP } from 'node:net';

/** An address or a CIDR range, as parsed from a setting. */
export type AddressEntry = { readonly address: string } | { readonly network: string; readonly prefixBits: number; readonly family: 4 | 6 };

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * The one spelling of an address: IPv4 as is, an IPv4-mapped IPv6 address (what a dual-stack listener reports
 * for IPv4 clients) as its IPv4 address, other IPv6 addresses compressed and lower-cased as node reports them.
 * undefined for anything that is not an IP address.
 */
export function canonicalAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) return address;
  if (family !== 6) return undefined;
  const mapped = MAPPED_V4.exec(address);
  if (mapped && isIP(mapped[1]) === 4) return mapped[1];
  // WHATWG URL serialises IPv6 the way node's inet_ntop does (RFC 5952: longest zero run compressed, lower case).
  const host = new URL(`http://[${address.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
  const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (hexMapped) {
    const hi = parseInt(hexMapped[1], 16);
    const lo = parseInt(hexMapped[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return host;
}

/** Parses a comma-separated list of addresses and CIDR ranges (`10.0.0.5, 10.1.0.0/16, fd00::/8`); error names the bad entry. */
export function parseAddressList(text: string): { readonly entries: readonly AddressEntry[] } | { readonly error: string } {
  const entries: AddressEntry[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const slash = item.indexOf('/');
    if (slash < 0) {
      const address = canonicalAddress(item);
      if (address === undefined) return { error: `"${item}" is not an IP address or CIDR range` };
      entries.push({ address });
      continue;
    }
    const network = item.slice(0, slash);
    const bits = item.slice(slash + 1);
    const family = isIP(network);
    const prefixBits = /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
    if (family === 0 || !(prefixBits <= (family === 4 ? 32 : 128))) return { error: `"${item}" is not an IP address or CIDR range` };
    entries.push({ network, prefixBits, family: family as 4 | 6 });
  }
  return { entries };
}

/** Answers whether a socket's remoteAddress (undefined for a closed socket) is one of a set. */
export interface AddressMatcher {
  has(remoteAddress: string | undefined): boolean;
}

/** Addresses (exact, looked up in a Set) and CIDR ranges. */
export class AddressSet implements AddressMatcher {
  private readonly exact = new Set<string>();
  private readonly ranges: BlockList | undefined;

  constructor(entries: readonly AddressEntry[]) {
    let ranges: BlockList | undefined;
    for (const e of entries) {
      if ('address' in e) {
        this.exact.add(e.address);
      } else {
        ranges ??= new BlockList();
        ranges.addSubnet(e.network, e.prefixBits, e.family === 4 ? 'ipv4' : 'ipv6');
      }
    }
    this.ranges = ranges;
  }

  /** How many exact addresses the set holds (ranges not counted). */
  get size(): number {
    return this.exact.size;
  }

  /** Whether `remoteAddress` (as node reports it; undefined for a closed socket) is in the set. */
  has(remoteAddress: string | undefined): boolean {
    if (remoteAddress === undefined) return false;
    // Sockets report canonical spellings: the common case is one Set lookup.
    if (this.exact.has(remoteAddress)) return true;
    // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d.
    const address = remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.') ? remoteAddress.slice(7) : remoteAddress;
    if (address !== remoteAddress && this.exact.has(address)) return true;
    if (this.ranges === undefined) return false;
    const family = isIP(address);
    return family !== 0 && this.ranges.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}
