// The names the DNS interface serves, read from a query name: what a name asks for (an app, an app in a zone, an
// SRV service, a VIP, an address) or that it lies outside the domain. Pure: strings in, a value out. Names are
// case-insensitive (RFC 4343): every part of a name is read in lower case, a VIP's too.
import { isIPv4, isIPv6 } from 'node:net';

/** What a query name under the domain asks for. */
export type DnsName =
  /** The domain itself: its SOA. */
  | { readonly kind: 'apex' }
  /** `<app>.<domain>`, `<app>.<zone>.<domain>`: A/AAAA (and SRV) of the app's UP instances. */
  | { readonly kind: 'app'; readonly app: string; readonly zone?: string }
  /** `_<app>._tcp[.<zone>].<domain>` (the port) or `_<app>._tls[.<zone>].<domain>` (the secure port): SRV. */
  | { readonly kind: 'service'; readonly app: string; readonly secure: boolean; readonly zone?: string }
  /** `<vip>.vip.<domain>` / `<vip>.svip.<domain>`: the instances listing the (secure) VIP, in lower case. */
  | { readonly kind: 'vip'; readonly vip: string; readonly secure: boolean }
  /** `<hex>.addr.<domain>`: the address spelled in hex (8 digits: IPv4, 32: IPv6), what SRV targets are. */
  | { readonly kind: 'addr'; readonly address: string; readonly family: 4 | 6 }
  /** A name with no records of its own that names below it need (`vip.<domain>`, `_tcp.<domain>`, a zone). */
  | { readonly kind: 'parent'; readonly label: string }
  /** Under the domain, in no form above: NXDOMAIN. */
  | { readonly kind: 'unknown' };

/** Labels with a meaning of their own right under the domain (an app or zone of that name cannot be reached). */
export const RESERVED_LABELS: readonly string[] = ['vip', 'svip', 'addr', '_tcp', '_tls'];

/** Longest DNS name in text form without the trailing dot (RFC 1035: 255 octets on the wire). */
const MAX_NAME_CHARS = 253;

/**
 * Checks and normalises a domain setting: lower case, no leading or trailing dot, 1–63 character labels of letters,
 * digits, `-` and `_`. Returns the domain or a reason.
 */
export function parseDomain(raw: string): { readonly domain: string } | { readonly error: string } {
  const domain = raw.trim().toLowerCase().replace(/^\.+|\.+$/g, '');
  if (domain === '') return { error: 'empty (the root cannot be served)' };
  if (domain.length > 200) return { error: 'longer than 200 characters (names under it would not fit)' };
  for (const label of domain.split('.')) {
    if (!/^[a-z0-9_-]{1,63}$/.test(label)) return { error: `"${label}" is not a DNS label (1–63 letters, digits, - or _)` };
  }
  return { domain };
}

/**
 * What `qname` (as decoded from a query, without the trailing dot) asks for under `domain` (as parseDomain gives
 * it), or 'outside' when it is not under it.
 */
export function parseName(qname: string, domain: string): DnsName | 'outside' {
  if (qname.length > MAX_NAME_CHARS) return 'outside';
  const lower = qname.toLowerCase();
  if (lower === domain) return { kind: 'apex' };
  if (!lower.endsWith(domain) || lower.charCodeAt(lower.length - domain.length - 1) !== 46 /* . */) return 'outside';
  const head = lower.slice(0, lower.length - domain.length - 1);
  // Only printable ASCII names are served: records are owned by the name as read, and a label of other bytes may not
  // survive being written again (an international name arrives as punycode, which is ASCII).
  if (head === '' || head.startsWith('.') || head.includes('..') || !/^[!-~]+$/.test(head)) return { kind: 'unknown' };
  const lowered = head.split('.');
  const top = lowered[lowered.length - 1];
  const n = lowered.length;
  if (n === 1) return { kind: 'app', app: lowered[0] };
  if (top === 'vip' || top === 'svip') return { kind: 'vip', vip: lowered.slice(0, -1).join('.'), secure: top === 'svip' };
  if (top === 'addr') {
    if (n !== 2) return { kind: 'unknown' };
    const address = addressFromLabel(lowered[0]);
    return address === undefined ? { kind: 'unknown' } : { kind: 'addr', ...address };
  }
  const service = (first: string, proto: string, zone?: string): DnsName | undefined => {
    if (first.length < 2 || !first.startsWith('_') || (proto !== '_tcp' && proto !== '_tls')) return undefined;
    return zone === undefined ? { kind: 'service', app: first.slice(1), secure: proto === '_tls' } : { kind: 'service', app: first.slice(1), secure: proto === '_tls', zone };
  };
  if (n === 2) {
    if (lowered[0] === '_tcp' || lowered[0] === '_tls') return { kind: 'parent', label: lowered[0] };
    return service(lowered[0], lowered[1]) ?? { kind: 'app', app: lowered[0], zone: lowered[1] };
  }
  if (n === 3) return service(lowered[0], lowered[1], lowered[2]) ?? { kind: 'unknown' };
  return { kind: 'unknown' };
}

/** The address spelled by an `addr` label, or undefined. */
export function addressFromLabel(label: string): { readonly address: string; readonly family: 4 | 6 } | undefined {
  if (!/^[0-9a-f]+$/.test(label)) return undefined;
  if (label.length === 8) {
    const octets = [0, 2, 4, 6].map((i) => parseInt(label.slice(i, i + 2), 16));
    return { address: octets.join('.'), family: 4 };
  }
  if (label.length === 32) {
    const groups = [];
    for (let i = 0; i < 32; i += 4) groups.push(parseInt(label.slice(i, i + 4), 16).toString(16));
    return { address: groups.join(':'), family: 6 };
  }
  return undefined;
}

/** The `addr` label of an IP address (IPv4: 8 hex digits, IPv6: 32), or undefined when `ip` is not one. */
export function labelOfAddress(ip: string): string | undefined {
  if (isIPv4(ip)) return ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('');
  if (!isIPv6(ip)) return undefined;
  const groups = ipv6Groups(ip);
  return groups?.map((g) => g.toString(16).padStart(4, '0')).join('');
}

/** The address family of an IP address (4 or 6), or undefined when `ip` is not one. */
export function familyOf(ip: string): 4 | 6 | undefined {
  return isIPv4(ip) ? 4 : isIPv6(ip) ? 6 : undefined;
}

/** Whether `host` can stand as a DNS name (an SRV target outside the domain): LDH labels, at most 253 characters. */
export function isHostName(host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name === '' || name.length > MAX_NAME_CHARS) return false;
  return name.split('.').every((l) => /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(l));
}

// The eight 16-bit groups of a valid IPv6 address (zone index dropped, embedded IPv4 and :: expanded).
function ipv6Groups(ip: string): number[] | undefined {
  let text = ip.split('%')[0];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1].split('.').map(Number);
    text = `${text.slice(0, -v4[1].length)}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const [left, right] = text.split('::');
  const head = left === '' ? [] : left.split(':');
  const tail = right === undefined || right === '' ? [] : right.split(':');
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (right === undefined && missing !== 0)) return undefined;
  return [...head, ...Array<string>(missing).fill('0'), ...tail].map((g) => parseInt(g, 16));
}
