// What the registry answers for a DNS name: the A, AAAA and SRV records of the UP instances a name selects, the
// addresses of SRV targets as additional records, or NXDOMAIN / no data with the domain's SOA (negative caching).
// Reads the registry through its public read API only; the same registry state always gives the same records.
import { InstanceInfo, zoneOf } from '../domain/model';
import { Registry } from '../domain/registry';
import { DnsName, familyOf, isHostName, labelOfAddress, RESERVED_LABELS } from './names';
import { DnsRecord } from './wire';

/** The registry reads an answer needs. */
export type RegistryReads = Pick<Registry, 'application' | 'applicationSize' | 'byVip' | 'revision'>;

/** How answers are spelled. */
export interface AnswerOptions {
  /** The domain, normalised (names.parseDomain). */
  readonly domain: string;
  /** TTL of every record and the SOA minimum, seconds. */
  readonly ttlSecs: number;
}

/** An answer before encoding: its rcode and records. */
export interface Records {
  readonly rcode: 'NOERROR' | 'NXDOMAIN';
  readonly answers: readonly DnsRecord[];
  /** The SOA of a negative answer (NXDOMAIN, or no records of the asked type). */
  readonly authority: readonly DnsRecord[];
  readonly additionals: readonly DnsRecord[];
}

/** SRV priority and weight of every target: all equal, clients choose among them at random (as Consul does). */
const SRV_PRIORITY = 1;
const SRV_WEIGHT = 1;

/**
 * Most bytes of answer records, and of additional records, one answer is built with: what a TCP message holds beside
 * its header, the longest question and an OPT record. An app with more instances than that (about 1,100 SRV or 2,000
 * A records) is answered with the first of them in registry order; building more would cost CPU for bytes no
 * transport can carry.
 */
export const MAX_SECTION_BYTES = 65535 - 12 - 259 - 11;

// Encoded size of a record: owner name, type, class, TTL, data length, data (dns-packet does not compress names).
const nameBytes = (name: string): number => Buffer.byteLength(name) + 2;
const recordBytes = (owner: string, dataBytes: number): number => nameBytes(owner) + 10 + dataBytes;

/**
 * The records answering `qtype` for `name` (a parsed query name; `owner` its spelling in lower case, the owner of
 * the records). `isZone` says whether a label is some instance's zone (a name with children but no records).
 */
export function answerFor(registry: RegistryReads, name: DnsName, owner: string, qtype: string, options: AnswerOptions, isZone: (label: string) => boolean): Records {
  const soa = (): DnsRecord => soaRecord(options, registry.revision);
  const nxdomain = (): Records => ({ rcode: 'NXDOMAIN', answers: [], authority: [soa()], additionals: [] });
  const records = (answers: DnsRecord[], additionals: DnsRecord[] = []): Records =>
    answers.length === 0 ? { rcode: 'NOERROR', answers, authority: [soa()], additionals: [] } : { rcode: 'NOERROR', answers, authority: [], additionals };
  switch (name.kind) {
    case 'apex':
      return records(qtype === 'SOA' || qtype === 'ANY' ? [soa()] : []);
    case 'parent':
      return records([]);
    case 'addr': {
      const type = name.family === 4 ? 'A' : 'AAAA';
      return records(qtype === type || qtype === 'ANY' ? [{ name: owner, type, ttl: options.ttlSecs, class: 'IN', data: name.address }] : []);
    }
    case 'app':
    case 'service': {
      const app = name.app.toUpperCase();
      if (registry.applicationSize(app) === 0) {
        // A single label that is no app may still be a zone or a reserved label: names exist below it.
        if (name.kind === 'app' && name.zone === undefined && (RESERVED_LABELS.includes(name.app) || isZone(name.app))) return records([]);
        return nxdomain();
      }
      const zone = name.zone;
      const selected = zone === undefined ? [...registry.application(app)].map((l) => l.record.instance) : inZone(registry.application(app), zone);
      if (selected.length === 0) return nxdomain();
      const secure = name.kind === 'service' && name.secure;
      const wantsAddresses = name.kind === 'app' && (qtype === 'A' || qtype === 'AAAA' || qtype === 'ANY');
      return build(selected, owner, qtype, wantsAddresses, qtype === 'SRV' || qtype === 'ANY', secure, options, records);
    }
    case 'vip': {
      const kind = name.secure ? 'svip' : 'vip';
      // DNS names have no case, Eureka's VIPs do: DNS finds the VIPs spelled in lower case (as clients usually spell them).
      const leases = registry.byVip(kind, name.vip);
      if (leases.length === 0) return nxdomain();
      const wantsAddresses = qtype === 'A' || qtype === 'AAAA' || qtype === 'ANY';
      return build(leases.map((l) => l.record.instance), owner, qtype, wantsAddresses, qtype === 'SRV' || qtype === 'ANY', name.secure, options, records);
    }
    case 'unknown':
      return nxdomain();
  }
}

function inZone(leases: Iterable<{ readonly record: { readonly instance: InstanceInfo } }>, zone: string): InstanceInfo[] {
  const out: InstanceInfo[] = [];
  for (const l of leases) if (zoneOf(l.record.instance)?.toLowerCase() === zone) out.push(l.record.instance);
  return out;
}

/** An instance's IP address: its ipAddr, else its hostName when that is an IP; undefined when neither is. */
export function addressOf(instance: Pick<InstanceInfo, 'ipAddr' | 'hostName'>): { readonly ip: string; readonly family: 4 | 6 } | undefined {
  for (const candidate of [instance.ipAddr, instance.hostName]) {
    const family = familyOf(candidate);
    if (family !== undefined) return { ip: candidate, family };
  }
  return undefined;
}

/** The SRV target of an address: `<hex>.addr.<domain>`, which this server resolves. */
export function addrName(ip: string, domain: string): string | undefined {
  const label = labelOfAddress(ip);
  return label === undefined ? undefined : `${label}.addr.${domain}`;
}

function build(
  instances: readonly InstanceInfo[],
  owner: string,
  qtype: string,
  wantsAddresses: boolean,
  wantsSrv: boolean,
  secure: boolean,
  options: AnswerOptions,
  records: (answers: DnsRecord[], additionals?: DnsRecord[]) => Records,
): Records {
  const ttl = options.ttlSecs;
  const answers: DnsRecord[] = [];
  const additionals: DnsRecord[] = [];
  let answerBytes = 0;
  let additionalBytes = 0;
  const addresses = new Set<string>();
  const services = new Set<string>();
  const glued = new Set<string>();
  for (const i of instances) {
    // Only UP: DOWN, STARTING, OUT_OF_SERVICE and UNKNOWN instances take no traffic (what Eureka clients filter on).
    if (i.status !== 'UP') continue;
    const address = addressOf(i);
    if (wantsAddresses && address !== undefined && !addresses.has(address.ip)) {
      const type = address.family === 4 ? 'A' : 'AAAA';
      if (qtype === type || qtype === 'ANY') {
        const size = recordBytes(owner, address.family === 4 ? 4 : 16);
        if (answerBytes + size > MAX_SECTION_BYTES) break;
        answerBytes += size;
        addresses.add(address.ip);
        answers.push({ name: owner, type, ttl, class: 'IN', data: address.ip });
      }
    }
    if (!wantsSrv) continue;
    const port = secure ? i.securePort : i.port;
    if (!port.enabled) continue;
    // An instance without an IP is still reachable by its host name, resolved elsewhere (no additional record).
    const target = address !== undefined ? addrName(address.ip, options.domain) : isHostName(i.hostName) ? i.hostName.replace(/\.$/, '') : undefined;
    if (target === undefined) continue;
    const key = `${target} ${port.port}`;
    if (services.has(key)) continue;
    const size = recordBytes(owner, 6 + nameBytes(target));
    if (answerBytes + size > MAX_SECTION_BYTES) break;
    answerBytes += size;
    services.add(key);
    answers.push({ name: owner, type: 'SRV', ttl, class: 'IN', data: { priority: SRV_PRIORITY, weight: SRV_WEIGHT, port: port.port, target } });
    const glue = address === undefined || glued.has(target) ? 0 : recordBytes(target, address.family === 4 ? 4 : 16);
    if (address !== undefined && glue > 0 && additionalBytes + glue <= MAX_SECTION_BYTES) {
      additionalBytes += glue;
      glued.add(target);
      additionals.push({ name: target, type: address.family === 4 ? 'A' : 'AAAA', ttl, class: 'IN', data: address.ip });
    }
  }
  return records(answers, additionals);
}

/** The domain's SOA; its serial is the registry revision (mod 2^32), its minimum the TTL (negative caching). */
export function soaRecord(options: AnswerOptions, revision: number): DnsRecord {
  const { domain, ttlSecs } = options;
  return {
    name: domain,
    type: 'SOA',
    ttl: ttlSecs,
    class: 'IN',
    data: { mname: domain, rname: `hostmaster.${domain}`, serial: revision >>> 0, refresh: 3600, retry: 600, expire: 86400, minimum: ttlSecs },
  };
}
