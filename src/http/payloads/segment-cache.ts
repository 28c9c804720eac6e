// An `applications` document per format (the full registry, GET /apps, and the delta, GET /apps/delta), kept as
// segments of encoded bytes across changes: a change re-encodes only the segment of its application, and the document
// is its head, the segments in the source's order and its tail, handed to the socket as a list of buffers. The gzip
// variant is one gzip member stitched from per-segment DEFLATE pieces (see stitched-gzip.ts), so a change recompresses
// only its segment, and the one after it when it changed the last few records (each piece is compressed against the
// last DICTIONARY_BYTES of the segment before it: alone, the first records of each would compress poorly).
// A segment's plain bytes are kept only while plain readers come: gzip readers (Java clients, eureka-js-client,
// browsers) never read them, and its DEFLATE piece holds the same bytes in a fortieth of the memory; a plain reader
// who comes later gets them inflated from the piece, byte for byte.
import { Format } from '../../codecs/negotiate';
import { CODECS } from '../../codecs/documents';
import { keep, keptConcat } from '../../codecs/kept-bytes';
import { Pieces } from '../../codecs/record-fragments';
import { InstanceRecord, InstanceView } from '../../domain/model';
import { RenewalCarry } from './renewal-carry';
import { SegmentSource } from './segment-sources';
import { crc32, crc32Combine, crc32Shift, FAST_LEVEL, GZIP_HEADER, gzipTrailer, inflatePiece, inflatePieceSync, PieceDeflater, storedBlocks, THOROUGH_LEVEL, Throttle } from './stitched-gzip';

/**
 * Applications smaller than this, in instances, share a segment with their neighbours (up to this many instances in
 * all), so that a fleet of small applications is neither thousands of tiny writes nor thousands of tiny DEFLATE
 * pieces, which compress poorly. A larger application is a segment of its own, encoded in parts of this many
 * instances: a change re-encodes and recompresses the part its instance is in (and the parts after it when an
 * instance left), not the whole application.
 */
export const SEGMENT_INSTANCES = 64;

/**
 * Instances a segment of the delta aims at: smaller than the full registry's, because every change re-encodes and
 * recompresses its delta segment (the delta holds each changed instance once, and clients poll it all day), while the
 * document has few segments either way (10 changes a second over 180 s: 1,800 instances, about 110 segments).
 */
export const DELTA_SEGMENT_INSTANCES = 16;

/**
 * Longest time a segment keeps the lastRenewalTimestamps it was encoded with, ms, as long as full fetches come: heartbeats
 * never re-encode (Eureka's cached payloads are as old, its read-write cache expiring after 180 s).
 */
export const RENEWAL_MAX_AGE_MS = 180_000;

/** Most instances re-encoded per full fetch and format only because their segment is older than RENEWAL_MAX_AGE_MS. */
export const RENEWAL_REFRESH_INSTANCES = 2048;

/**
 * Bytes of the segment before that a piece is compressed against. A piece's first records compress well only with a
 * record before them to refer to, and one is enough: on bench instances a 2 KB dictionary saved as much as DEFLATE's
 * whole 32 KB window (17 % of a 100-instance piece, 8 % of a 250-instance one). Kept short so that a change to a
 * segment leaves the next segment's piece valid unless it touched the segment's last few records.
 */
export const DICTIONARY_BYTES = 4096;

/**
 * How long after a plain read of a format its segments keep their plain bytes, ms. Past it, a segment whose DEFLATE
 * piece exists drops them (keeping its last DICTIONARY_BYTES, what the piece after it is compressed against): at
 * 250,000 instances the plain JSON is about 300 MB, its pieces about 7. A plain reader afterwards waits for them to be
 * inflated (about a second of the thread pool at that size), and they are kept again for as long.
 */
export const PLAIN_KEEP_MS = 600_000;

/**
 * A document laid out within a second of the one before (plus the burst staleness, see BURST_STALENESS_MS) and after
 * more changed applications than this is a burst of changes (a zone's clients moving here; not a registry filled while
 * nobody read it): until BURST_QUIET_MS after the last such document the segments keep their plain bytes. In a burst
 * nearly every change's neighbour is compressed again against the changed end, and with its plain bytes dropped it would be
 * inflated first: one more trip to the thread pool and back for every change, when those trips are what readers wait
 * for.
 */
export const BURST_CHANGES = 8;
export const BURST_QUIET_MS = 10_000;
const BURST_WINDOW_MS = 1000;

/**
 * During a burst, how long after it was laid out a full registry document may still be served, ms (see
 * SegmentCache.servableAgeMs). When a zone's 20,000 clients re-register here within 30 s, nearly every segment changes
 * between two layouts: a document that must hold every change made before its reader came is the whole registry
 * encoded and compressed again for nearly every fetch, back to back. Measured on the failure-storm benchmark (60,000
 * instances, two servers sharing a core, one slow hour): fetches p99 4.7 s when always fresh, 0.46 s with documents
 * up to a second old. The response cache also serves the last gzip document that is ready while the next one is
 * compressed, up to twice this long after it was laid out. Eureka serves payloads up to 30 s old at all times.
 */
export const BURST_STALENESS_MS = 1000;

// Below this many plain bytes to inflate, a plain document is inflated inline: cheaper than trips to the thread pool.
const INLINE_INFLATE_BYTES = 256 * 1024;
// Pieces compressed (and segments inflated) at once on the thread pool, per zlib level, leaving threads to file, DNS
// and password work.
const MAX_DEFLATES_IN_FLIGHT = 2;
const FORMATS: readonly Format[] = ['json', 'xml'];
const TAILS: Readonly<Record<Format, Buffer>> = { json: Buffer.from(CODECS.json.applicationsTail), xml: Buffer.from(CODECS.xml.applicationsTail) };

/** One segment's bytes in one format, never changed once built (the DEFLATE piece is added when first asked for). */
interface Encoded {
  /** Unique among encodings: what a piece compressed after this one remembers, without holding its bytes. */
  readonly id: number;
  readonly format: Format;
  /**
   * The codec's application separator (JSON: `,`) then the segment's applications, joined by it; undefined while
   * dropped (see PLAIN_KEEP_MS): then a landed piece holds them, and `end` their last bytes.
   */
  plain: Buffer | undefined;
  /** Bytes of `plain`, held or not. */
  readonly length: number;
  /** While `plain` is dropped: its bytes from `endStart` on (what a piece after it is compressed against). */
  end: Buffer | undefined;
  /** Where `end` starts in the plain bytes: the last DICTIONARY_BYTES, never in the leading separator. */
  readonly endStart: number;
  /** The plain bytes being inflated again for a plain reader. */
  inflating?: Promise<Buffer>;
  /** Bytes of the leading separator, left out when the segment comes first. */
  readonly lead: number;
  readonly crc: number;
  readonly shift: number;
  /** CRC-32 of the plain bytes without the leading separator. */
  readonly contentCrc: number;
  /** When encoded, ms: the lastRenewalTimestamps are those of that moment. */
  readonly encodedAt: number;
  /**
   * zlib level of its pieces: thorough when encoded for a first document or an age refresh (once, budgeted), fast
   * when a change made it (paid per change: under a storm of changes, every piece).
   */
  readonly level: number;
  /**
   * For a part of a large application: the records it encoded, in order, and whether it ends the application. A
   * later encoding of the application keeps the part while the same records are at its place. Also for a segment of
   * the live registry (not snapshots), whose next encoding writes the same records with the same renewal times.
   */
  readonly records?: readonly InstanceRecord[];
  /** With `records`, where renewals move: the lastRenewalTimestamp each was written with. */
  readonly renewals?: Float64Array;
  readonly last?: boolean;
  /** The DEFLATE piece when the segment comes first: the plain bytes without separator, no dictionary. */
  first?: Piece;
  /** The DEFLATE piece after another segment: the separator as stored blocks, then the rest against its end. */
  next?: Piece;
  /** Bytes counted in the cache's total (plain or its end, and pieces); 0 once replaced. */
  counted: number;
}

interface Piece {
  /** Id of the encoding it was last found valid after; 0 for `first`. */
  after: number;
  /**
   * The end of the segment before that it was compressed against (its dictionary, without this one's separator): the
   * piece stays valid after any encoding that ends with the same bytes. None for `first`. Not counted in the cache's
   * bytes (at most DICTIONARY_BYTES a segment).
   */
  readonly tail: Buffer | undefined;
  deflated: Buffer | Promise<Buffer>;
  /** Bytes counted for it while its segment's bytes are counted. */
  counted: number;
}

interface Segment {
  /** Application names, in the source's order. */
  apps: string[];
  instances: number;
  /** Its bytes in each format: one encoding, or a large application's parts in order. */
  readonly encoded: Record<Format, Encoded[] | undefined>;
  /** A large application's parts since a change, until it is encoded again (which reuses the unchanged ones). */
  readonly previous: Record<Format, Encoded[] | undefined>;
}

/** The document in one format at one moment: its plain and gzip bodies, each built on demand. */
export interface SegmentedDocument {
  /** Moves with every assembly of this format: a different document, different bytes. */
  readonly generation: number;
  /** Bytes of the plain body. */
  readonly bytes: number;
  /**
   * The plain body; `now`, ms: the read's time (plain bytes are kept PLAIN_KEEP_MS after it). Inflated off the event
   * loop when many of its segments dropped their plain bytes.
   */
  plain(now: number): DocumentBody | Promise<DocumentBody>;
  /** The gzip body (one gzip member); compressed off the event loop for large segments. */
  gzip(): DocumentBody | Promise<DocumentBody>;
}

/** A body in parts, written one after the other. */
export interface DocumentBody {
  readonly parts: readonly Buffer[];
  readonly bytes: number;
}

/** Tuning of a {@link SegmentCache}; defaults: the constants above. */
export interface SegmentCacheOptions {
  /** See SEGMENT_INSTANCES. */
  readonly segmentInstances?: number;
  /** See RENEWAL_MAX_AGE_MS, ms (a source of snapshots never ages). */
  readonly renewalMaxAgeMs?: number;
  /** See RENEWAL_REFRESH_INSTANCES. */
  readonly renewalRefreshInstances?: number;
  /** See PLAIN_KEEP_MS, ms (0: plain bytes dropped as soon as their piece exists). */
  readonly plainKeepMs?: number;
  /** See BURST_STALENESS_MS, ms (0: documents are never served stale). */
  readonly burstStalenessMs?: number;
  /** Segments shorter than this keep their plain bytes, bytes; default twice DICTIONARY_BYTES (a dropped one keeps that much). */
  readonly shedMinBytes?: number;
}

const newSegment = (): Segment => ({ apps: [], instances: 0, encoded: { json: undefined, xml: undefined }, previous: { json: undefined, xml: undefined } });

export class SegmentCache {
  private segments: Segment[] = [];
  private readonly segmentOf = new Map<string, Segment>();
  private readonly sizes = new Map<string, number>();
  private readonly documents: Record<Format, SegmentedDocument | undefined> = { json: undefined, xml: undefined };
  // A change not yet in the format's document.
  private readonly changed: Record<Format, boolean> = { json: true, xml: true };
  // The source's revision each format's document was laid out at (its head).
  private readonly laidOutAt: Record<Format, number> = { json: -1, xml: -1 };
  // When the oldest segment of the format passes RENEWAL_MAX_AGE_MS, ms.
  private readonly refreshAt: Record<Format, number> = { json: 0, xml: 0 };
  // Until when the format's segments keep their plain bytes (PLAIN_KEEP_MS after its last plain read), ms.
  private readonly plainWantedUntil: Record<Format, number> = { json: 0, xml: 0 };
  // Until when they keep them because of a burst of changes (BURST_QUIET_MS after it), ms.
  private readonly burstUntil: Record<Format, number> = { json: 0, xml: 0 };
  // Changed applications since the format's document was laid out, and when that was, ms.
  private readonly changesSinceLayout: Record<Format, number> = { json: 0, xml: 0 };
  private readonly laidOutTime: Record<Format, number> = { json: -Infinity, xml: -Infinity };
  private generation = 0;
  private encodings = 0;
  private heldBytes = 0;
  private readonly deflater = new PieceDeflater(MAX_DEFLATES_IN_FLIGHT);
  private readonly inflates = new Throttle(MAX_DEFLATES_IN_FLIGHT);
  private readonly unsubscribe: () => void;
  private readonly segmentInstances: number;
  private readonly renewalMaxAgeMs: number;
  private readonly renewalRefreshInstances: number;
  private readonly plainKeepMs: number;
  private readonly burstStalenessMs: number;
  private readonly shedMinBytes: number;

  constructor(
    private readonly source: SegmentSource,
    options: SegmentCacheOptions = {},
  ) {
    this.segmentInstances = options.segmentInstances ?? SEGMENT_INSTANCES;
    // Snapshots never age: their renewal times are the ones they were taken with.
    this.renewalMaxAgeMs = source.snapshots ? Number.POSITIVE_INFINITY : (options.renewalMaxAgeMs ?? RENEWAL_MAX_AGE_MS);
    this.renewalRefreshInstances = options.renewalRefreshInstances ?? RENEWAL_REFRESH_INSTANCES;
    this.plainKeepMs = options.plainKeepMs ?? PLAIN_KEEP_MS;
    this.burstStalenessMs = options.burstStalenessMs ?? BURST_STALENESS_MS;
    this.shedMinBytes = options.shedMinBytes ?? 2 * DICTIONARY_BYTES;
    for (const app of source.applicationNames()) this.append(app, source.applicationSize(app));
    this.unsubscribe = source.subscribe(this.onChange);
  }

  /** Bytes held: plain segments of both formats (or their ends) plus the DEFLATE pieces built so far. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Stops following the source, and closes its compression streams. */
  close(): void {
    this.unsubscribe();
    this.deflater.close();
  }

  /**
   * The document in `format` as of now: the same object while nothing changed, else a new one that re-encodes
   * the changed segments and, within RENEWAL_REFRESH_INSTANCES, the ones past RENEWAL_MAX_AGE_MS.
   */
  document(format: Format, now: number): SegmentedDocument {
    const current = this.documents[format];
    if (this.isCurrent(current, format, now)) return current as SegmentedDocument;
    return this.assemble(format, now);
  }

  /**
   * How long after it was laid out a document in `format` may still be served at `now`, ms: BURST_STALENESS_MS (as
   * configured) during a burst of changes, else 0 (every change is in the next document).
   */
  servableAgeMs(format: Format, now: number): number {
    return now < this.burstUntil[format] ? this.burstStalenessMs : 0;
  }

  /** Whether `document` is what {@link document} would answer now (nothing changed since it was laid out). */
  isCurrent(document: SegmentedDocument | undefined, format: Format, now: number): boolean {
    return document !== undefined && document === this.documents[format] && !this.changed[format] && now < this.refreshAt[format] && this.laidOutAt[format] === this.source.revision;
  }

  // The segment of a changed application is re-encoded.
  private readonly onChange = (app: string): void => {
    const size = this.source.applicationSize(app);
    this.changed.json = this.changed.xml = true;
    this.changesSinceLayout.json++;
    this.changesSinceLayout.xml++;
    const segment = this.segmentOf.get(app);
    if (segment === undefined) {
      if (size > 0) this.append(app, size);
      return;
    }
    if (size > 0) this.invalidate(segment);
    else this.discard(segment);
    const before = this.sizes.get(app) as number;
    segment.instances += size - before;
    if (size > 0) {
      this.sizes.set(app, size);
      return;
    }
    // The source forgets an app with no instances: it comes back last.
    segment.apps.splice(segment.apps.indexOf(app), 1);
    this.segmentOf.delete(app);
    this.sizes.delete(app);
  };

  // A new app goes last, into the last segment while that stays small.
  private append(app: string, size: number): void {
    const last = this.segments[this.segments.length - 1];
    let segment = last;
    if (last === undefined || last.instances + size > this.segmentInstances) {
      segment = newSegment();
      this.segments.push(segment);
    } else {
      this.invalidate(segment);
    }
    segment.apps.push(app);
    segment.instances += size;
    this.segmentOf.set(app, segment);
    this.sizes.set(app, size);
  }

  // The segment is encoded again before its next document; a large application's parts are kept for that.
  private invalidate(segment: Segment): void {
    for (const format of FORMATS) {
      const encoded = segment.encoded[format];
      if (encoded === undefined) continue;
      segment.encoded[format] = undefined;
      if (encoded[0].records !== undefined) segment.previous[format] = encoded;
      else for (const e of encoded) this.uncount(e);
    }
  }

  // The segment's bytes are of no further use (its applications moved or left).
  private discard(segment: Segment): void {
    this.invalidate(segment);
    for (const format of FORMATS) {
      for (const e of segment.previous[format] ?? []) this.uncount(e);
      segment.previous[format] = undefined;
    }
  }

  private uncount(encoded: Encoded): void {
    this.heldBytes -= encoded.counted;
    encoded.counted = 0;
  }

  // Drops emptied segments, splits grown ones, encodes what changed, and lays the document out.
  private assemble(format: Format, now: number): SegmentedDocument {
    this.regroup();
    const codec = CODECS[format];
    let budget = this.renewalRefreshInstances;
    let oldest = Infinity;
    let agedLeft = false;
    const encodeds: Encoded[] = [];
    for (const segment of this.segments) {
      let encoded = segment.encoded[format];
      if (encoded !== undefined && now - encodedAt(encoded) >= this.renewalMaxAgeMs) {
        if (budget > 0) {
          budget -= segment.instances;
          for (const e of encoded) this.uncount(e);
          encoded = undefined;
        } else {
          agedLeft = true;
        }
      }
      if (encoded === undefined) {
        // A segment a change emptied out of a document already laid out; else a first encoding (or, above, an age refresh).
        const changed = segment.encoded[format] === undefined && this.documents[format] !== undefined;
        encoded = this.encode(segment, format, now, changed ? FAST_LEVEL : THOROUGH_LEVEL);
        segment.encoded[format] = encoded;
      }
      const at = encodedAt(encoded);
      if (at < oldest) oldest = at;
      for (const e of encoded) encodeds.push(e);
    }
    // While documents are served stale, layouts come at most once per burstStalenessMs: the window stretches as much.
    if (this.changesSinceLayout[format] > BURST_CHANGES && now - this.laidOutTime[format] < BURST_WINDOW_MS + this.burstStalenessMs) this.burstUntil[format] = now + BURST_QUIET_MS;
    this.changesSinceLayout[format] = 0;
    this.laidOutTime[format] = now;
    this.changed[format] = false;
    this.refreshAt[format] = agedLeft ? now : oldest + this.renewalMaxAgeMs;
    this.laidOutAt[format] = this.source.revision;
    const head = Buffer.from(codec.applicationsHead(this.source.versionsDelta(), this.source.hashcode()), 'utf8');
    const tail = TAILS[format];
    let bytes = head.length + tail.length;
    for (let i = 0; i < encodeds.length; i++) bytes += i === 0 ? encodeds[i].length - encodeds[i].lead : encodeds[i].length;
    let plain: DocumentBody | Promise<DocumentBody> | undefined;
    let gzipped: DocumentBody | Promise<DocumentBody> | undefined;
    const document: SegmentedDocument = {
      generation: ++this.generation,
      bytes,
      plain: (at) => {
        this.plainWantedUntil[format] = at + this.plainKeepMs;
        return (plain ??= this.plain(head, encodeds, tail, bytes));
      },
      gzip: () => (gzipped ??= this.gzip(format, now, head, encodeds, tail, bytes)),
    };
    this.documents[format] = document;
    return document;
  }

  private regroup(): void {
    let regrouped: Segment[] | undefined;
    for (let i = 0; i < this.segments.length; i++) {
      const segment = this.segments[i];
      const keep = segment.apps.length > 0 && (segment.apps.length === 1 || segment.instances <= 2 * this.segmentInstances);
      if (keep) {
        regrouped?.push(segment);
        continue;
      }
      regrouped ??= this.segments.slice(0, i);
      if (segment.apps.length > 0) regrouped.push(...this.split(segment));
    }
    if (regrouped !== undefined) this.segments = regrouped;
  }

  // A segment grown past twice the target, in runs of up to SEGMENT_INSTANCES (an app larger alone).
  private split(segment: Segment): Segment[] {
    this.discard(segment);
    const out: Segment[] = [];
    let run: Segment | undefined;
    for (const app of segment.apps) {
      const size = this.sizes.get(app) as number;
      if (run === undefined || (run.instances > 0 && run.instances + size > this.segmentInstances)) {
        run = newSegment();
        out.push(run);
      }
      run.apps.push(app);
      run.instances += size;
      this.segmentOf.set(app, run);
    }
    return out;
  }

  // The segment's bytes: its applications in one encoding, or a large application in parts, reusing those of its
  // previous parts whose records are still the ones at their place (an age refresh has none to reuse). Records
  // encoded before are written with the renewal times they had (see SegmentSource.snapshots).
  private encode(segment: Segment, format: Format, now: number, level: number): Encoded[] {
    const codec = CODECS[format];
    const separator = codec.applicationSeparator;
    const remember = this.source.snapshots;
    const reuse = segment.previous[format];
    segment.previous[format] = undefined;
    const carry = this.source.snapshots ? undefined : new RenewalCarry(reuse, now, this.renewalMaxAgeMs);
    let encoded: Encoded[];
    if (segment.apps.length > 1 || segment.instances <= this.segmentInstances) {
      const out = new Pieces();
      const written: InstanceView[] | undefined = carry === undefined ? undefined : [];
      for (const app of segment.apps) {
        if (separator !== '') out.addMeasured(separator, separator.length);
        const views = this.source.application(app);
        codec.writeApplication(out, app, carry === undefined ? views : carry.views(views, written as InstanceView[]), remember);
      }
      encoded = [this.encoding(format, out.toBuffer(), separator.length, carry?.encodedAt ?? now, level, written)];
    } else {
      const app = segment.apps[0];
      const all = this.source.application(app);
      const views = carry === undefined ? Array.from(all) : carry.views(all, []);
      const size = this.segmentInstances;
      const count = Math.ceil(views.length / size);
      encoded = [];
      for (let k = 0; k < count; k++) {
        const run = views.slice(k * size, (k + 1) * size);
        const last = k === count - 1;
        const held = reuse?.[k];
        if (held !== undefined && held.last === last && sameRecords(held.records, run)) {
          encoded.push(held);
          continue;
        }
        const out = new Pieces();
        if (k === 0 && separator !== '') out.addMeasured(separator, separator.length);
        codec.writeApplicationPart(out, app, run, { first: k === 0, last }, remember);
        encoded.push(this.encoding(format, out.toBuffer(), k === 0 ? separator.length : 0, carry?.encodedAtOf(run) ?? now, level, run, last));
      }
    }
    if (reuse !== undefined) for (const e of reuse) if (!encoded.includes(e)) this.uncount(e);
    return encoded;
  }

  // `encodedAt`: now, or when the oldest renewal time it carries was written.
  private encoding(format: Format, plain: Buffer, lead: number, encodedAt: number, level: number, run?: readonly InstanceView[], last?: boolean): Encoded {
    const crc = crc32(plain);
    this.heldBytes += plain.length;
    return {
      id: ++this.encodings,
      format,
      plain,
      length: plain.length,
      end: undefined,
      endStart: Math.max(lead, plain.length - DICTIONARY_BYTES),
      lead,
      crc,
      shift: crc32Shift(plain.length),
      contentCrc: lead === 0 ? crc : crc32(plain.subarray(lead)),
      encodedAt,
      level,
      counted: plain.length,
      records: run?.map((v) => v.record),
      renewals: run !== undefined && !this.source.snapshots ? Float64Array.from(run, (v) => v.lastRenewalTimestamp) : undefined,
      last,
    };
  }

  // The head, each segment's plain bytes (inflated again where dropped) and the tail.
  private plain(head: Buffer, encodeds: readonly Encoded[], tail: Buffer, bytes: number): DocumentBody | Promise<DocumentBody> {
    const build = (): DocumentBody => {
      const parts: Buffer[] = [head];
      for (let i = 0; i < encodeds.length; i++) {
        const e = encodeds[i];
        const plain = this.plainOf(e);
        parts.push(i === 0 && e.lead > 0 ? plain.subarray(e.lead) : plain);
      }
      parts.push(tail);
      return { parts, bytes };
    };
    let missing = 0;
    for (const e of encodeds) if (e.plain === undefined) missing += e.length;
    if (missing <= INLINE_INFLATE_BYTES) return build();
    const inflated: Promise<Buffer>[] = [];
    for (const e of encodeds) if (e.plain === undefined) inflated.push(this.inflateOffLoop(e));
    return Promise.all(inflated).then(build);
  }

  // The plain bytes of `e`: held, or inflated now from its piece and held again.
  private plainOf(e: Encoded): Buffer {
    if (e.plain !== undefined) return e.plain;
    const source = inflationSource(e);
    return this.restore(e, inflatePieceSync(source.deflated, source.dictionary));
  }

  // {@link plainOf} on the thread pool, a few at a time, once per encoding however many readers wait.
  private inflateOffLoop(e: Encoded): Promise<Buffer> {
    if (e.plain !== undefined) return Promise.resolve(e.plain);
    if (e.inflating !== undefined) return e.inflating;
    const source = inflationSource(e);
    const pending = this.inflates.run(() => inflatePiece(source.deflated, source.dictionary)).then(
      (out) => this.restore(e, out),
      (error: unknown) => {
        e.inflating = undefined;
        throw error;
      },
    );
    e.inflating = pending;
    return pending;
  }

  // Holds `out` (a piece's inflated bytes: the segment's without its separator when it came first) as e's plain bytes;
  // checked against the CRC the bytes had when encoded.
  private restore(e: Encoded, out: Buffer): Buffer {
    e.inflating = undefined;
    if (e.plain !== undefined) return e.plain;
    const missing = e.length - out.length;
    const plain = keptConcat(missing > 0 ? [SEPARATORS[e.format].subarray(0, missing), out] : [out], e.length);
    if (plain.length !== e.length || crc32(plain) !== e.crc) throw new Error(`segment ${e.id}: inflated bytes differ from the encoded ones`);
    e.plain = plain;
    if (e.counted > 0) {
      const delta = plain.length - (e.end?.length ?? 0);
      e.counted += delta;
      this.heldBytes += delta;
    }
    e.end = undefined;
    return plain;
  }

  // Drops e's plain bytes when a landed piece holds them and none is being compressed, keeping their end; not for a
  // segment hardly longer than the end it would keep.
  private shed(e: Encoded): void {
    if (e.plain === undefined || e.length < this.shedMinBytes) return;
    const first = e.first?.deflated;
    const next = e.next?.deflated;
    if (first instanceof Promise || next instanceof Promise || (first === undefined && next === undefined)) return;
    const end = keep(e.plain.subarray(e.endStart));
    if (e.counted > 0) {
      const delta = end.length - e.plain.length;
      e.counted += delta;
      this.heldBytes += delta;
    }
    e.end = end;
    e.plain = undefined;
  }

  // One gzip member: header, the head as stored blocks, each segment's DEFLATE piece, the tail as the final stored
  // block, and the CRC combined from the pieces'. Then, when no plain reader came lately and no burst of changes is
  // under way, the segments drop their plain bytes.
  private gzip(format: Format, now: number, head: Buffer, encodeds: readonly Encoded[], tail: Buffer, bytes: number): DocumentBody | Promise<DocumentBody> {
    const burst = now < this.burstUntil[format];
    const pieces = encodeds.map((e, i) => this.piece(e, i === 0 ? undefined : encodeds[i - 1], burst));
    const build = (deflated: readonly Buffer[]): DocumentBody => {
      if (now >= this.plainWantedUntil[format] && now >= this.burstUntil[format]) for (const e of encodeds) this.shed(e);
      const parts: Buffer[] = [Buffer.concat([GZIP_HEADER, storedBlocks(head, false)])];
      let crc = crc32(head);
      let total = parts[0].length;
      for (let i = 0; i < encodeds.length; i++) {
        const e = encodeds[i];
        crc = i === 0 && e.lead > 0 ? crc32Combine(crc, e.contentCrc, crc32Shift(e.length - e.lead)) : crc32Combine(crc, e.crc, e.shift);
        parts.push(deflated[i]);
        total += deflated[i].length;
      }
      const end = Buffer.concat([storedBlocks(tail, true), gzipTrailer(crc32(tail, crc), bytes)]);
      parts.push(end);
      return { parts, bytes: total + end.length };
    };
    return pieces.some((p) => p instanceof Promise) ? Promise.all(pieces).then(build) : build(pieces as Buffer[]);
  }

  // The segment's DEFLATE piece after `after` (or first): kept until that changes. Compressed on the thread pool, on the
  // deflater's few long-lived streams, off the event loop.
  private piece(e: Encoded, after: Encoded | undefined, burst: boolean): Buffer | Promise<Buffer> {
    const slot = after === undefined ? 'first' : 'next';
    const afterId = after?.id ?? 0;
    const held = e[slot];
    // What a decoder holds when this piece starts: the end of the segment before (never its own separator, absent when
    // it comes first), then this one's separator.
    const tailStart = after === undefined ? 0 : Math.max(after.lead, after.length - DICTIONARY_BYTES + e.lead);
    if (held !== undefined && (held.after === afterId || (after !== undefined && held.tail !== undefined && held.tail.equals(bytesFrom(after, tailStart))))) {
      // Still valid: the segment before is the same, or was re-encoded with the same end.
      held.after = afterId;
      return held.deflated;
    }
    // Inflated off the event loop if dropped, from a piece taken before any is let go.
    const plain = e.plain ?? this.inflateOffLoop(e);
    // Segments only ever move forward (the ones before leave): one that comes first now never follows another again.
    if (slot === 'first' && e.next !== undefined) {
      this.release(e, e.next);
      e.next = undefined;
    }
    const separator = SEPARATORS[e.format].subarray(0, e.lead);
    const prefix = after !== undefined && e.lead > 0 ? storedBlocks(separator, false) : undefined;
    // A copy: the piece must not hold the whole segment before it.
    const tail = after === undefined ? undefined : keep(bytesFrom(after, tailStart));
    const dictionary = tail === undefined ? undefined : Buffer.concat([tail, separator]);
    if (held !== undefined) this.release(e, held);
    const piece: Piece = { after: afterId, tail, deflated: Buffer.alloc(0), counted: 0 };
    e[slot] = piece;
    const land = (out: Buffer): Buffer => {
      // Kept in memory of its own, copied once: zlib's output is a slice of its working chunk.
      const deflated = prefix === undefined ? keep(out) : keptConcat([prefix, out], prefix.length + out.length);
      piece.deflated = deflated;
      if (e[slot] === piece && e.counted > 0) {
        piece.counted = deflated.length;
        e.counted += deflated.length;
        this.heldBytes += deflated.length;
      }
      return deflated;
    };
    const compress = (bytes: Buffer): Promise<Buffer> => this.deflater.deflate(bytes.subarray(e.lead), dictionary, e.level, burst);
    const pending = (plain instanceof Promise ? plain.then(compress) : compress(plain)).then(land, (error: unknown) => {
      if (e[slot] === piece) e[slot] = undefined;
      throw error;
    });
    piece.deflated = pending;
    return pending;
  }

  private release(e: Encoded, piece: Piece): void {
    if (e.counted === 0) return;
    e.counted -= piece.counted;
    this.heldBytes -= piece.counted;
    piece.counted = 0;
  }
}

const SEPARATORS: Readonly<Record<Format, Buffer>> = { json: Buffer.from(CODECS.json.applicationSeparator), xml: Buffer.from(CODECS.xml.applicationSeparator) };

/** e's plain bytes from offset `from` on (at or past its endStart), held or dropped. */
function bytesFrom(e: Encoded, from: number): Buffer {
  return e.plain !== undefined ? e.plain.subarray(from) : (e.end as Buffer).subarray(from - e.endStart);
}

/**
 * A landed piece of `e` to inflate its plain bytes from: after another segment, its separator (stored) then the rest,
 * against the end of that segment it was compressed after; first, the bytes without separator, no dictionary.
 */
function inflationSource(e: Encoded): { readonly deflated: Buffer; readonly dictionary?: Buffer } {
  const next = e.next;
  if (next !== undefined && Buffer.isBuffer(next.deflated) && next.deflated.length > 0) return { deflated: next.deflated, dictionary: next.tail };
  const first = e.first;
  if (first !== undefined && Buffer.isBuffer(first.deflated) && (first.deflated.length > 0 || e.length === e.lead)) return { deflated: first.deflated };
  throw new Error(`segment ${e.id}: neither its plain bytes nor a piece to inflate them from`);
}

/** When the oldest of a segment's encodings was made, ms. */
function encodedAt(encoded: readonly Encoded[]): number {
  let oldest = Infinity;
  for (const e of encoded) if (e.encodedAt < oldest) oldest = e.encodedAt;
  return oldest;
}

/** Whether a part's records are exactly the ones now at its place. */
function sameRecords(records: readonly InstanceRecord[] | undefined, run: readonly InstanceView[]): boolean {
  if (records === undefined || records.length !== run.length) return false;
  for (let i = 0; i < run.length; i++) if (records[i] !== run[i].record) return false;
  return true;
}
