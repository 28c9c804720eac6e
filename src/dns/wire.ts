// The DNS wire format at the edge: dns-packet decodes each query and encodes each record; an answer is those
// encoded records put together behind a 12-byte header and the query's own question bytes (echoed as sent, case
// included), cut to the size the transport allows with the TC bit set when answer records had to be left out.
import * as dnsPacket from 'dns-packet';

/** Response codes the server answers with (RFC 1035, 6891 for BADVERS). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;
export type Rcode = keyof typeof RCODE;

/** A DNS record as dns-packet encodes it. */
export type DnsRecord = dnsPacket.Answer;

/** Plain DNS over UDP: the most a client without EDNS0 accepts, bytes (RFC 1035). */
export const PLAIN_UDP_BYTES = 512;

/** Most bytes of a DNS message over TCP (its 2-byte length prefix). */
export const MAX_TCP_MESSAGE_BYTES = 65535;

/** Header flag bits (RFC 1035 4.1.1). */
const QR = 0x8000;
const OPCODE_MASK = 0x7800;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const CD = 0x0010;
const HEADER_BYTES = 12;
// Past these a query is not one a resolver sends: refused before anything is decoded.
const MAX_ADDITIONALS = 2;

// dns-packet exports the codec of one resource record too; its typings leave it out.
const recordCodec = (dnsPacket as unknown as { answer: { encode(record: DnsRecord): Buffer } }).answer;

/** A query read from the wire. */
export interface Query {
  readonly id: number;
  /** The query's header flags (RD and CD are echoed). */
  readonly flags: number;
  /** The question section exactly as sent. */
  readonly question: Buffer;
  readonly qname: string;
  /** Record type as dns-packet names it (A, AAAA, SRV, ANY, UNKNOWN_65280, …). */
  readonly qtype: string;
  /** Class as dns-packet names it (IN, ANY, CH, …). */
  readonly qclass: string;
  /** The client's EDNS0 OPT record, when it sent one. */
  readonly edns?: { readonly udpPayloadBytes: number; readonly version: number };
}

/** What a datagram or TCP message turned out to be. */
export type ReadOutcome =
  | { readonly kind: 'query'; readonly query: Query }
  /** A header was there, the rest is not a query we can read: answer `rcode` with the header only. */
  | { readonly kind: 'error'; readonly id: number; readonly flags: number; readonly rcode: 'FORMERR' | 'NOTIMP' }
  /** Shorter than a header, or a response: nothing is answered (answering a response could start a loop). */
  | { readonly kind: 'drop' };

/** Reads one DNS message; never throws. */
export function readQuery(message: Buffer): ReadOutcome {
  if (message.length < HEADER_BYTES) return { kind: 'drop' };
  const id = message.readUInt16BE(0);
  const flags = message.readUInt16BE(2);
  if ((flags & QR) !== 0) return { kind: 'drop' };
  if ((flags & OPCODE_MASK) !== 0) return { kind: 'error', id, flags, rcode: 'NOTIMP' };
  const formerr = { kind: 'error', id, flags, rcode: 'FORMERR' } as const;
  // One question, nothing in the answer and authority sections (RFC 9619); OPT (and at most one more) in additional.
  if (message.readUInt16BE(4) !== 1 || message.readUInt16BE(6) !== 0 || message.readUInt16BE(8) !== 0 || message.readUInt16BE(10) > MAX_ADDITIONALS) return formerr;
  const questionEnd = endOfQuestion(message);
  if (questionEnd === undefined) return formerr;
  let decoded: dnsPacket.DecodedPacket;
  try {
    decoded = dnsPacket.decode(message);
  } catch {
    return formerr;
  }
  const q = decoded.questions?.[0];
  if (q === undefined) return formerr;
  let edns: Query['edns'];
  for (const rr of decoded.additionals ?? []) {
    if (rr.type !== 'OPT') continue;
    // RFC 6891 6.1.1: more than one OPT, or one not owned by the root, is FORMERR.
    if (edns !== undefined || rr.name !== '.') return formerr;
    edns = { udpPayloadBytes: rr.udpPayloadSize, version: rr.ednsVersion };
  }
  const query: Query = { id, flags, question: message.subarray(HEADER_BYTES, questionEnd), qname: q.name, qtype: q.type, qclass: q.class ?? 'IN', edns };
  return { kind: 'query', query };
}

// Where the question section ends: its name must be plain labels (a compression pointer in the only name there is
// points into the header), then type and class.
function endOfQuestion(message: Buffer): number | undefined {
  let at = HEADER_BYTES;
  for (;;) {
    if (at >= message.length) return undefined;
    const len = message[at];
    if (len === 0) break;
    if (len > 63) return undefined;
    at += len + 1;
  }
  const end = at + 1 + 4;
  return end <= message.length ? end : undefined;
}

/** Encodes each record (a name, type, class, TTL and data) on its own. */
export function encodeRecords(records: readonly DnsRecord[]): Buffer[] {
  return records.map((r) => recordCodec.encode(r));
}

/** The OPT record the server answers an EDNS0 query with: its own UDP size, and BADVERS when asked. */
export function optRecord(udpPayloadBytes: number, badVersion = false): Buffer {
  return recordCodec.encode({ type: 'OPT', name: '.', udpPayloadSize: udpPayloadBytes, extendedRcode: badVersion ? RCODE.BADVERS >> 4 : 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] });
}

/** The records of an answer, encoded (see encodeRecords). */
export interface EncodedSections {
  readonly answers: readonly Buffer[];
  /** The SOA of a negative answer, for resolvers' negative caching. */
  readonly authority: readonly Buffer[];
  readonly additionals: readonly Buffer[];
}

/** The header of an answer. */
export interface AnswerHeader {
  readonly id: number;
  /** The query's flags (RD, CD and the opcode are echoed). */
  readonly queryFlags: number;
  readonly rcode: Rcode;
  readonly authoritative: boolean;
  /** Force the TC bit (an answer to a rate-limited query); set anyway when records had to be left out. */
  readonly truncated?: boolean;
}

const NO_SECTIONS: EncodedSections = { answers: [], authority: [], additionals: [] };

/**
 * Puts an answer together: header, the question as sent (when there is one), the answer records starting at
 * `rotation` (mod their number), authority, additional records, then `opt`; within `limitBytes`. When the answer
 * records and authority do not all fit, those that fit are kept, the rest (and every additional record) left out and
 * TC set; additional records that do not fit are left out without TC (RFC 2181 9).
 */
export function assemble(header: AnswerHeader, question: Buffer | undefined, sections: EncodedSections = NO_SECTIONS, opt: Buffer | undefined, limitBytes: number, rotation = 0): Buffer {
  const { answers, authority, additionals } = sections;
  const base = HEADER_BYTES + (question?.length ?? 0) + (opt?.length ?? 0);
  let needed = base;
  for (const a of answers) needed += a.length;
  for (const a of authority) needed += a.length;
  let truncated = header.truncated === true;
  let answerCount = answers.length;
  let authorityCount = authority.length;
  let additionalCount = 0;
  let size = needed;
  if (truncated) {
    answerCount = authorityCount = 0;
    size = base;
  } else if (needed > limitBytes) {
    truncated = true;
    authorityCount = 0;
    size = base;
    answerCount = 0;
    const n = answers.length;
    while (answerCount < n) {
      const next = answers[(rotation + answerCount) % n].length;
      if (size + next > limitBytes) break;
      size += next;
      answerCount++;
    }
  } else {
    while (additionalCount < additionals.length && size + additionals[additionalCount].length <= limitBytes) size += additionals[additionalCount++].length;
  }
  const out = Buffer.allocUnsafe(size);
  const code = RCODE[header.rcode];
  const flags = QR | (header.queryFlags & (OPCODE_MASK | RD | CD)) | (header.authoritative ? AA : 0) | (truncated ? TC : 0) | (code & 0xf);
  out.writeUInt16BE(header.id, 0);
  out.writeUInt16BE(flags, 2);
  out.writeUInt16BE(question === undefined ? 0 : 1, 4);
  out.writeUInt16BE(answerCount, 6);
  out.writeUInt16BE(authorityCount, 8);
  out.writeUInt16BE(additionalCount + (opt === undefined ? 0 : 1), 10);
  let at = HEADER_BYTES;
  if (question !== undefined) at += question.copy(out, at);
  const n = answers.length;
  for (let i = 0; i < answerCount; i++) at += answers[(rotation + i) % n].copy(out, at);
  for (let i = 0; i < authorityCount; i++) at += authority[i].copy(out, at);
  for (let i = 0; i < additionalCount; i++) at += additionals[i].copy(out, at);
  if (opt !== undefined) opt.copy(out, at);
  return out;
}
