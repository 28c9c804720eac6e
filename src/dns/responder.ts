// One DNS message in, the answer out (or nothing): REFUSED outside the domain, SERVFAIL while registry reads are
// refused, FORMERR/NOTIMP for what is not a plain query, otherwise the registry's records. The encoded records of a
// name are kept until the registry's revision moves, so a repeated query costs a lookup and a copy, and any change
// (register, cancel, status, eviction, a peer's) is visible to the next query. Counts every answer for the metrics.
import { Registry } from '../domain/registry';
import { zoneOf } from '../domain/model';
import { DNS_QUERY_TYPES, DNS_RCODES, DnsQueryCount, DnsQueryType, DnsRcode } from '../observability/server-status';
import { answerFor, RegistryReads } from './answers';
import { parseName } from './names';
import { assemble, EncodedSections, encodeRecords, MAX_TCP_MESSAGE_BYTES, optRecord, PLAIN_UDP_BYTES, Rcode, readQuery } from './wire';

/** Settings of the answers. */
export interface ResponderOptions {
  /** The domain, normalised (names.parseDomain). */
  readonly domain: string;
  readonly ttlSecs: number;
  /** Largest UDP answer to an EDNS0 client, bytes (at least 512). */
  readonly maxUdpBytes: number;
  /** False while a failed startup sync keeps registry reads refused: answers are SERVFAIL (resolvers try another server). */
  readonly allowsReads?: (now: number) => boolean;
}

/** The transport a message came over. */
export type Transport = 'udp' | 'tcp';

interface Prepared {
  readonly rcode: Rcode;
  readonly sections: EncodedSections;
}

// Names, and encoded bytes, kept per revision; past either the cache starts over (random names must not grow it
// without bound). An answer holds at most ~128 KB (answers.MAX_SECTION_BYTES twice).
const MAX_CACHED_NAMES = 4096;
const MAX_CACHED_BYTES = 32 * 1024 * 1024;
const TRANSPORTS: readonly Transport[] = ['udp', 'tcp'];

/** Answers DNS messages from the registry. */
export class DnsResponder {
  private readonly cache = new Map<string, Prepared>();
  private cachedRevision = -1;
  private cachedBytes = 0;
  private zones: { readonly revision: number; readonly names: ReadonlySet<string> } | undefined;
  private rotation = 0;
  private readonly opt: Buffer;
  private readonly badVersionOpt: Buffer;
  private readonly counts = new Float64Array(TRANSPORTS.length * DNS_QUERY_TYPES.length * DNS_RCODES.length);
  private truncatedCount = 0;
  private malformedCount = 0;

  constructor(
    private readonly registry: RegistryReads & Pick<Registry, 'applications'>,
    private readonly options: ResponderOptions,
  ) {
    this.opt = optRecord(options.maxUdpBytes);
    this.badVersionOpt = optRecord(options.maxUdpBytes, true);
  }

  /** The answer to `message` received over `transport` at `now` (ms), or undefined when it is not answered. */
  respond(message: Buffer, transport: Transport, now: number): Buffer | undefined {
    const read = readQuery(message);
    if (read.kind === 'drop') {
      this.malformedCount++;
      return undefined;
    }
    if (read.kind === 'error') {
      this.count(transport, 'other', read.rcode);
      return assemble({ id: read.id, queryFlags: read.flags, rcode: read.rcode, authoritative: false }, undefined, undefined, undefined, PLAIN_UDP_BYTES);
    }
    const q = read.query;
    const type = queryType(q.qtype);
    const limit = transport === 'tcp' ? MAX_TCP_MESSAGE_BYTES : q.edns === undefined ? PLAIN_UDP_BYTES : Math.min(this.options.maxUdpBytes, Math.max(PLAIN_UDP_BYTES, q.edns.udpPayloadBytes));
    const opt = q.edns === undefined ? undefined : this.opt;
    const bare = (rcode: Rcode, authoritative = false): Buffer => {
      this.count(transport, type, rcode);
      return assemble({ id: q.id, queryFlags: q.flags, rcode, authoritative }, q.question, undefined, opt, limit);
    };
    // RFC 6891 6.1.3: only version 0 is known; the answer says BADVERS and carries our OPT.
    if (q.edns !== undefined && q.edns.version !== 0) {
      this.count(transport, type, 'BADVERS');
      return assemble({ id: q.id, queryFlags: q.flags, rcode: 'BADVERS', authoritative: false }, q.question, undefined, this.badVersionOpt, limit);
    }
    if (q.qclass !== 'IN' && q.qclass !== 'ANY') return bare('REFUSED');
    // No zone transfers, and no recursion ever: a name outside the domain is refused, not looked up.
    if (q.qtype === 'AXFR' || q.qtype === 'IXFR') return bare('REFUSED');
    const revision = this.registry.revision;
    if (revision !== this.cachedRevision || this.cache.size >= MAX_CACHED_NAMES || this.cachedBytes > MAX_CACHED_BYTES) {
      this.cache.clear();
      this.cachedBytes = 0;
      this.cachedRevision = revision;
    }
    // Names have no case: every spelling of a name shares its entry, and records are owned by the lower-case name.
    const owner = q.qname.toLowerCase();
    const key = `${q.qtype} ${owner}`;
    let prepared = this.cache.get(key);
    if (prepared === undefined) {
      const name = parseName(owner, this.options.domain);
      if (name === 'outside') return bare('REFUSED');
      const records = answerFor(this.registry, name, owner, q.qtype, this.options, (label) => this.isZone(label));
      const sections = { answers: encodeRecords(records.answers), authority: encodeRecords(records.authority), additionals: encodeRecords(records.additionals) };
      prepared = { rcode: records.rcode, sections };
      this.cache.set(key, prepared);
      for (const section of [sections.answers, sections.authority, sections.additionals]) for (const b of section) this.cachedBytes += b.length;
    }
    // Checked per query, after the name: what is outside the domain is refused whatever the sync's state.
    if (this.options.allowsReads !== undefined && !this.options.allowsReads(now)) return bare('SERVFAIL');
    const rotation = this.rotation;
    this.rotation = (rotation + 1) & 0x3fffffff;
    const out = assemble({ id: q.id, queryFlags: q.flags, rcode: prepared.rcode, authoritative: true }, q.question, prepared.sections, opt, limit, rotation);
    // TC is bit 9 of the flags (byte 2, 0x02).
    if ((out[2] & 0x02) !== 0) this.truncatedCount++;
    this.count(transport, type, prepared.rcode);
    return out;
  }

  /**
   * The reply to a rate-limited UDP query: header, question and OPT, TC set, no records: never larger than the
   * query, and a real client asks again over TCP. Undefined when `message` would not be answered at all.
   */
  truncatedReply(message: Buffer): Buffer | undefined {
    const read = readQuery(message);
    if (read.kind !== 'query') return undefined;
    const q = read.query;
    return assemble({ id: q.id, queryFlags: q.flags, rcode: 'NOERROR', authoritative: false, truncated: true }, q.question, undefined, q.edns === undefined ? undefined : this.opt, PLAIN_UDP_BYTES);
  }

  /** Answers counted since start (only the combinations seen), and the other counters. */
  stats(): { readonly queries: DnsQueryCount[]; readonly truncated: number; readonly malformed: number } {
    const queries: DnsQueryCount[] = [];
    TRANSPORTS.forEach((transport, t) =>
      DNS_QUERY_TYPES.forEach((type, y) =>
        DNS_RCODES.forEach((rcode, r) => {
          const count = this.counts[(t * DNS_QUERY_TYPES.length + y) * DNS_RCODES.length + r];
          if (count > 0) queries.push({ transport, type, rcode, count });
        }),
      ),
    );
    return { queries, truncated: this.truncatedCount, malformed: this.malformedCount };
  }

  /** Counts a message that was not answered (shorter than a header, or cut off on a TCP connection). */
  countMalformed(): void {
    this.malformedCount++;
  }

  private count(transport: Transport, type: DnsQueryType, rcode: Rcode): void {
    const t = transport === 'udp' ? 0 : 1;
    this.counts[(t * DNS_QUERY_TYPES.length + DNS_QUERY_TYPES.indexOf(type)) * DNS_RCODES.length + DNS_RCODES.indexOf(rcode as DnsRcode)]++;
  }

  // Zones some instance is in (lower case), kept per revision: asked only for a single label that is no app.
  private isZone(label: string): boolean {
    const revision = this.registry.revision;
    if (this.zones?.revision !== revision) {
      const names = new Set<string>();
      for (const [, leases] of this.registry.applications()) {
        for (const lease of leases) {
          const zone = zoneOf(lease.record.instance);
          if (zone !== undefined) names.add(zone.toLowerCase());
        }
      }
      this.zones = { revision, names };
    }
    return this.zones.names.has(label);
  }
}

function queryType(qtype: string): DnsQueryType {
  return qtype === 'A' || qtype === 'AAAA' || qtype === 'SRV' || qtype === 'ANY' || qtype === 'SOA' ? qtype : 'other';
}
