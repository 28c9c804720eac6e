// Encoded registry payloads (full, delta, per app, per VIP × JSON/XML × plain/gzip), cached as bytes for the
// registry revision they were built at. A change invalidates them for the next read (Eureka serves a 30 s old copy);
// heartbeats never do; a burst of writes between two reads costs one rebuild. Named payloads (per app, per VIP: names
// come from clients) are bounded by bytes and count, least recently used dropped first; the full registry and the
// delta are few, always wanted, and too costly to rebuild per read, so they are kept outside that budget. Both are
// assembled from per-application segments (segment-cache.ts): a change re-encodes only its application's.
import { gzip, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { Clock } from '../../domain/clock';
import { InstanceView } from '../../domain/model';
import { Registry } from '../../domain/registry';
import { appsHashcode, countStatuses } from '../../domain/apps-hashcode';
import { CODECS } from '../../codecs/documents';
import { contentTypeFor, Format } from '../../codecs/negotiate';
import { headerList, Reply } from '../errors';
import { keep } from '../../codecs/kept-bytes';
import { JoiningOptions, RunJoiner } from './joined-runs';
import { Pieces } from '../../codecs/record-fragments';
import { DELTA_SEGMENT_INSTANCES, DocumentBody, SegmentCache, SegmentCacheOptions, SegmentedDocument } from './segment-cache';
import { deltaSource, fullRegistrySource } from './segment-sources';

const gzipAsync = promisify(gzip);
// Below this size compressing inline is cheaper than a trip to the thread pool.
const INLINE_GZIP_BYTES = 64 * 1024;
/** Most named payloads kept (VIP names come from clients); the least recently used are dropped past this. */
export const MAX_NAMED_ENTRIES = 4096;
/** A per-app or per-VIP payload nobody has read for this long is dropped, ms: names come and go with clients. */
export const NAMED_IDLE_MS = 60_000;

/**
 * Most changes a watch's own delta holds. A reader further behind gets the plain delta instead (shared, cached):
 * every change in the log is the latest state of its instance, so the ones it already has apply again harmlessly,
 * and a client cycling through `since` values can only make the server encode small documents.
 */
export const MAX_SINCE_CHANGES = 64;

/** Granularity at which changes age out of a served delta, ms: at most one rebuild a step for aging alone. */
export const DELTA_AGING_STEP_MS = 1000;

/** What a payload is of: the full registry, the delta, one app, or one (secure) VIP. */
export type PayloadKind = 'apps' | 'delta' | 'app' | 'vip' | 'svip';

/**
 * Headers of every registry read: the revision the body reflects, the server's identity (a restart or another server
 * means revisions do not compare) and the watch forms this server offers. Stock Eureka sends none of them.
 */
export const REVISION_HEADER = 'x-registry-revision';
export const SERVER_HEADER = 'x-registry-server';
export const WATCH_HEADER = 'x-registry-watch';
/** Value of WATCH_HEADER: the long-poll on the delta and the event stream. */
export const WATCH_FORMS = 'delta, events';

// Keys of the payloads without a name (full registry, delta), built once rather than per fetch.
const NAMELESS_KEYS = Object.fromEntries(
  (['apps', 'delta', 'app', 'vip', 'svip'] as const).map((k) => [k, { json: `${k}\u0000\u0000json`, xml: `${k}\u0000\u0000xml` }]),
) as Record<PayloadKind, Record<Format, string>>;

/** Cached bytes of one payload, and the whole 200 response for them. */
export interface Payload {
  /** The bytes: one buffer, or several written one after the other (the full registry). */
  readonly body: Buffer | readonly Buffer[];
  /** Body size, bytes. */
  readonly bytes: number;
  /** Strong validator for If-None-Match. */
  readonly etag: string;
  /** Registry revision the payload was built at. */
  readonly revision: number;
  /** The response, headers included, built once: a fetch allocates nothing to answer. */
  readonly reply: Reply;
  /** The 304 for a matching If-None-Match, built once too. */
  readonly notModified: Reply;
}

/** Identity headers of a registry read at `revision` (also sent with 410 and 304). */
export function revisionHeaders(revision: number, serverId: string): Record<string, string> {
  return { [REVISION_HEADER]: String(revision), [SERVER_HEADER]: serverId, [WATCH_HEADER]: WATCH_FORMS };
}

function payload(body: Buffer | readonly Buffer[], bytes: number, etag: string, format: Format, gzipped: boolean, revision: number, serverId: string): Payload {
  const identity = revisionHeaders(revision, serverId);
  const headers: Record<string, string | number> = { 'content-type': contentTypeFor(format), etag, vary: 'Accept, Accept-Encoding', 'content-length': bytes, ...identity };
  if (gzipped) headers['content-encoding'] = 'gzip';
  const notModifiedHeaders = { etag, ...identity, 'content-length': 0 };
  const notModified: Reply = Object.freeze({ status: 304, headers: Object.freeze(notModifiedHeaders), headerList: headerList(notModifiedHeaders) });
  return {
    body,
    bytes,
    etag,
    revision,
    reply: Object.freeze({ status: 200, headers: Object.freeze(headers), headerList: headerList(headers), body }),
    notModified,
  };
}

/** Options of the response cache. */
export interface ResponseCacheOptions {
  /** How long a payload may be served after a change, ms (0: never); never for the watch's deltas. */
  readonly maxStalenessMs: number;
  /** Budget of the named payloads, bytes (plain + gzip); the most recently built one is kept even past it. */
  readonly maxNamedBytes: number;
  /** This server's identity, sent with every payload (see SERVER_HEADER). */
  readonly serverId: string;
  /** How the full registry's and the delta's parts are joined for writing (see joined-runs.ts); default its constants. */
  readonly joining?: JoiningOptions;
  /** Tuning of the full registry's and the delta's segments (default: segment-cache.ts's constants). */
  readonly segments?: SegmentCacheOptions;
}

/** A gzip document being compressed off the event loop, and the one readers who came meanwhile share after it. */
interface GzipBuild {
  /** Settles (never rejects) when the compression is done. */
  readonly done: Promise<void>;
  next?: Promise<Payload>;
}

interface Entry {
  readonly builtAt: number;
  readonly format: Format;
  readonly version: string;
  readonly revision: number;
  /** Strong validator of the plain variant (the gzip one's adds `-gzip`). */
  readonly etag: string;
  /** Built with the entry, except the full registry's and the delta's: when first read. */
  plain?: Payload | Promise<Payload>;
  readonly named: boolean;
  /** The full registry's or the delta's: its bytes are the segment cache's, counted there. */
  readonly document?: SegmentedDocument;
  /** The document's joiners (their joined bytes are counted there). */
  readonly joiners?: Joiners;
  gzip?: Payload | Promise<Payload>;
  /** Plain plus gzip body bytes, once the gzip variant exists. */
  bytes: number;
  /** False once dropped or replaced: a gzip finishing later is not counted. */
  held: boolean;
  /** Last read or build, ms. */
  usedAt: number;
}

/** How one nameless document's plain and gzip variants are joined for writing. */
interface Joiners {
  readonly plain: RunJoiner;
  readonly gzip: RunJoiner;
}

/** Counters for the operators' surface. */
export interface ResponseCacheStats {
  hits: number;
  rebuilds: number;
  /** Body bytes held (plain + gzip), full registry and delta (their segments) included. */
  readonly bytes: number;
  /** Payloads held, full registry and delta included. */
  entries: number;
  /** Named payloads dropped to stay within the byte or entry bound. */
  evictions: number;
}

export class ResponseCache {
  // The full registry and the delta per format: outside the budget.
  private readonly nameless = new Map<string, Entry>();
  // Per app and per VIP: least recently used first.
  private readonly named = new Map<string, Entry>();
  private namedBytes = 0;
  // Bytes of the entries' own bodies (the full registry's and the delta's are their segments').
  private entryBytes = 0;
  private readonly segments: Record<'apps' | 'delta', SegmentCache>;
  // The gzip document being compressed per key (full registry or delta, per format), and the build that follows it.
  private readonly gzipBuilds = new Map<string, GzipBuild>();
  // Per format, the full registry's last gzip document that was ready during a burst of changes, served while the one
  // after it is compressed (see segmented); none outside a burst.
  private readonly lastZipped = new Map<string, { readonly builtAt: number; readonly payload: Payload }>();
  // Per nameless key, plain and gzip: the runs its documents are written in.
  private readonly joiners = new Map<string, Joiners>();
  readonly stats: ResponseCacheStats;

  constructor(
    private readonly registry: Registry,
    private readonly clock: Clock,
    private readonly options: ResponseCacheOptions,
  ) {
    this.segments = {
      apps: new SegmentCache(fullRegistrySource(registry), options.segments),
      delta: new SegmentCache(deltaSource(registry), { segmentInstances: DELTA_SEGMENT_INSTANCES, ...options.segments }),
    };
    const held = (): number => {
      let joined = 0;
      for (const j of this.joiners.values()) joined += j.plain.bytes + j.gzip.bytes;
      return this.entryBytes + this.segments.apps.bytes + this.segments.delta.bytes + joined;
    };
    this.stats = {
      hits: 0,
      rebuilds: 0,
      get bytes() {
        return held();
      },
      entries: 0,
      evictions: 0,
    };
  }

  /** Stops following the registry (the segments). */
  close(): void {
    this.lastZipped.clear();
    this.segments.apps.close();
    this.segments.delta.close();
  }

  /** This server's identity (see SERVER_HEADER). */
  get serverId(): string {
    return this.options.serverId;
  }

  /**
   * The payload for a key, or undefined when there is nothing to serve (an app without instances).
   * Gzip variants of large payloads are compressed off the event loop, once, and shared by concurrent readers.
   */
  get(kind: PayloadKind, name: string, format: Format, gzipped: boolean): Payload | Promise<Payload> | undefined {
    const now = this.clock.now();
    // The delta ages by whole steps: changes leaving the window one by one would otherwise rebuild it on every poll.
    if (kind === 'delta') this.registry.pruneDelta(now - (now % DELTA_AGING_STEP_MS));
    if (kind === 'apps' || kind === 'delta') return this.segmented(kind, format, gzipped, now);
    const isNamed = name !== '';
    const key = isNamed ? `${kind}\u0000${name}\u0000${format}` : NAMELESS_KEYS[kind][format];
    const version = `${this.registry.revision}`;
    const entries = isNamed ? this.named : this.nameless;
    // Built (and its tag spelt) only on a miss: a hit allocates nothing here.
    const entry = this.lookup(entries, isNamed, key, version, now, this.options.maxStalenessMs) ?? this.store(entries, isNamed, key, version, now, format, `${kind}-${format}`, this.build(kind, name, format));
    return this.answer(entry, gzipped);
  }

  /**
   * The delta of the changes after `revision` (the watch): only those changes, `versions__delta` and the hashcode of
   * the registry now; 'gone' when the delta log no longer covers `revision` or it is ahead of ours. Readers at the
   * same revision share one payload per format until the next change; it is never served stale. Past
   * MAX_SINCE_CHANGES, the plain delta (a superset).
   */
  since(revision: number, format: Format, gzipped: boolean): Payload | Promise<Payload> | 'gone' {
    const now = this.clock.now();
    const changes = this.registry.deltaSince(revision, now);
    if (changes === 'gone') return 'gone';
    if (changes.length > MAX_SINCE_CHANGES) return this.get('delta', '', format, gzipped) as Payload | Promise<Payload>;
    const current = this.registry.revision;
    const key = `since\u0000${revision}\u0000${format}`;
    const version = `${current}`;
    const entry =
      this.lookup(this.named, true, key, version, now, 0) ??
      this.store(this.named, true, key, version, now, format, `since${revision}-${format}`, CODECS[format].applications(groupByApp(changes), current, this.registry.hashcode()));
    return this.answer(entry, gzipped) as Payload | Promise<Payload>;
  }

  // The entry under `key` when it is of `version` (or younger than `staleMs`), marked used; undefined on a miss.
  private lookup(entries: Map<string, Entry>, isNamed: boolean, key: string, version: string, now: number, staleMs: number): Entry | undefined {
    if (isNamed) this.dropIdle(now);
    const entry = entries.get(key);
    if (entry === undefined || (entry.version !== version && now - entry.builtAt >= staleMs)) return undefined;
    this.stats.hits++;
    entry.usedAt = now;
    if (isNamed) {
      entries.delete(key);
      entries.set(key, entry);
    }
    return entry;
  }

  // Holds a freshly built payload under `key`, replacing what was there.
  private store(entries: Map<string, Entry>, isNamed: boolean, key: string, version: string, now: number, format: Format, tagSuffix: string, body: Pieces | undefined): Entry {
    this.stats.rebuilds++;
    const bytes = body?.toBuffer() ?? Buffer.alloc(0);
    const etag = `"${version}-${tagSuffix}"`;
    const plain = payload(bytes, bytes.length, etag, format, false, this.registry.revision, this.options.serverId);
    const old = entries.get(key);
    if (old) this.drop(entries, key, old);
    const entry: Entry = { builtAt: now, version, revision: this.registry.revision, format, etag, plain, named: isNamed, bytes: 0, held: true, usedAt: now };
    entries.set(key, entry);
    this.stats.entries++;
    this.account(entry, plain.bytes);
    return entry;
  }

  // What a read gets from an entry: nothing for an empty body (an app without instances), else plain or gzip.
  private answer(entry: Entry, gzipped: boolean): Payload | Promise<Payload> | undefined {
    const plain = entry.plain as Payload;
    if (plain.bytes === 0) return undefined;
    return gzipped ? this.gzipOf(entry) : plain;
  }

  // The full registry or the delta: the segment cache's document of now, unless the one held is younger than
  // maxStalenessMs (the full registry's, during a burst of changes, than the segment cache's servable age).
  // gzip: one compression at a time per document. A reader who finds the document changed while one is under way
  // waits for it, then shares the next build with every reader who came meanwhile: it has every change made before
  // they came (none is served late), and a storm of changes and fetches compresses one document per build time rather
  // than one per fetch, most of them outdated before they were done. During a burst of changes, a reader gets the last
  // full registry whose gzip is ready instead of waiting, within twice the servable age (readyDuringBurst).
  private segmented(kind: 'apps' | 'delta', format: Format, gzipped: boolean, now: number): Payload | Promise<Payload> {
    const key = NAMELESS_KEYS[kind][format];
    let entry = this.nameless.get(key);
    // The full registry may also be served a little stale during a burst of changes (see BURST_STALENESS_MS); the delta
    // never is beyond maxStalenessMs.
    const staleMs = kind === 'apps' ? Math.max(this.options.maxStalenessMs, this.segments.apps.servableAgeMs(format, now)) : this.options.maxStalenessMs;
    const fresh = entry !== undefined && (now - entry.builtAt < staleMs || this.segments[kind].isCurrent(entry.document, format, now));
    // During a burst, the last gzip document that is ready, while the one after it is compressed: up to twice the
    // servable age after it was laid out.
    const ready = gzipped && kind === 'apps' ? this.readyDuringBurst(key, format, now) : undefined;
    if (gzipped && !fresh) {
      const building = this.gzipBuilds.get(key);
      if (building !== undefined && ready !== undefined) return this.hit(ready);
      if (building !== undefined) return (building.next ??= building.done.then(() => this.segmented(kind, format, true, this.clock.now())));
    }
    const document = fresh ? (entry as Entry).document : this.segments[kind].document(format, now);
    if (entry !== undefined && entry.document === document) {
      this.stats.hits++;
      entry.usedAt = now;
    } else {
      const doc = document as SegmentedDocument;
      const revision = this.registry.revision;
      // Heartbeats age a segment's lastRenewalTimestamps, and changes age out of the delta, into a new document
      // without a new revision.
      const version = `${revision}.${doc.generation}`;
      this.stats.rebuilds++;
      if (entry) this.drop(this.nameless, key, entry);
      // A small document is one buffer, a large one runs of its parts (joined-runs.ts): a read of the delta in parts
      // cost about 5 µs more than in one buffer (request-shapes bench), and each run is joined once, not per document.
      let joiners = this.joiners.get(key);
      if (joiners === undefined) this.joiners.set(key, (joiners = { plain: new RunJoiner(this.options.joining), gzip: new RunJoiner(this.options.joining) }));
      entry = { builtAt: now, version, revision, format, etag: `"${version}-${kind}-${format}"`, named: false, document: doc, joiners, bytes: 0, held: true, usedAt: now };
      this.nameless.set(key, entry);
      this.stats.entries++;
    }
    if (!gzipped) return this.plainOf(entry, now);
    const zipped = this.gzipOf(entry);
    if (zipped instanceof Promise && !this.gzipBuilds.has(key)) {
      const built = entry;
      const building: GzipBuild = {
        done: zipped.then(
          (payload) => {
            this.finished(key, building);
            if (kind === 'apps') this.rememberDuringBurst(key, format, built.builtAt, payload);
          },
          () => this.finished(key, building),
        ),
      };
      this.gzipBuilds.set(key, building);
    }
    if (!(zipped instanceof Promise)) {
      if (kind === 'apps') this.rememberDuringBurst(key, format, entry.builtAt, zipped);
      return zipped;
    }
    // Counted above, as a hit or a rebuild.
    return ready ?? zipped;
  }

  // Keeps a full registry gzip document that is ready, during a burst of changes (see readyDuringBurst).
  private rememberDuringBurst(key: string, format: Format, builtAt: number, payload: Payload): void {
    if (this.segments.apps.servableAgeMs(format, this.clock.now()) > 0 && (this.lastZipped.get(key)?.builtAt ?? -Infinity) <= builtAt) this.lastZipped.set(key, { builtAt, payload });
  }

  private hit(payload: Payload): Payload {
    this.stats.hits++;
    return payload;
  }

  // The full registry's last gzip document ready during a burst of changes, if laid out less than twice the servable
  // age ago; forgotten once the burst is over.
  private readyDuringBurst(key: string, format: Format, now: number): Payload | undefined {
    const last = this.lastZipped.get(key);
    if (last === undefined) return undefined;
    const age = this.segments.apps.servableAgeMs(format, now);
    if (age === 0) {
      this.lastZipped.delete(key);
      return undefined;
    }
    return now - last.builtAt < 2 * age ? last.payload : undefined;
  }

  private finished(key: string, building: GzipBuild): void {
    if (this.gzipBuilds.get(key) === building) this.gzipBuilds.delete(key);
  }

  // The full registry's or the delta's plain variant, its segments' plain bytes inflated again if they were dropped.
  private plainOf(entry: Entry, now: number): Payload | Promise<Payload> {
    const document = entry.document as SegmentedDocument;
    // Read every time: each plain read keeps the segments' plain bytes for longer.
    const built = document.plain(now);
    if (entry.plain !== undefined) return entry.plain;
    const done = (body: DocumentBody): Payload =>
      (entry.plain = payload((entry.joiners as Joiners).plain.body(body.parts, body.bytes), body.bytes, entry.etag, entry.format, false, entry.revision, this.options.serverId));
    return (entry.plain = built instanceof Promise ? built.then(done) : done(built));
  }

  private gzipOf(entry: Entry): Payload | Promise<Payload> {
    if (entry.gzip) return entry.gzip;
    const etag = entry.etag.slice(0, -1) + '-gzip"';
    if (entry.document !== undefined) {
      // Its DEFLATE pieces are small (1-2 KB each for 64 instances): written in runs, or as one buffer when small.
      const done = (body: DocumentBody): Payload => (entry.gzip = payload((entry.joiners as Joiners).gzip.body(body.parts, body.bytes), body.bytes, etag, entry.format, true, entry.revision, this.options.serverId));
      const built = entry.document.gzip();
      return (entry.gzip = built instanceof Promise ? built.then(done) : done(built));
    }
    const body = (entry.plain as Payload).body as Buffer;
    if (body.length < INLINE_GZIP_BYTES) {
      const zipped = keep(gzipSync(body));
      const gzipped = payload(zipped, zipped.length, etag, entry.format, true, entry.revision, this.options.serverId);
      entry.gzip = gzipped;
      this.account(entry, zipped.length);
      return gzipped;
    }
    const pending = gzipAsync(body).then((zipped) => {
      const body = keep(zipped);
      const gzipped = payload(body, body.length, etag, entry.format, true, entry.revision, this.options.serverId);
      entry.gzip = gzipped;
      this.account(entry, body.length);
      return gzipped;
    });
    entry.gzip = pending;
    return pending;
  }

  // Least recently used first, so the idle ones are at the head: O(1) when there are none.
  private dropIdle(now: number): void {
    for (const [key, entry] of this.named) {
      if (now - entry.usedAt < NAMED_IDLE_MS) return;
      this.drop(this.named, key, entry);
      this.stats.evictions++;
    }
  }

  // Adds bytes to a held entry, then drops least recently used named payloads past the bounds, never the newest.
  private account(entry: Entry, bytes: number): void {
    if (!entry.held) return;
    entry.bytes += bytes;
    this.entryBytes += bytes;
    if (!entry.named) return;
    this.namedBytes += bytes;
    while (this.named.size > 1 && (this.namedBytes > this.options.maxNamedBytes || this.named.size > MAX_NAMED_ENTRIES)) {
      const [oldestKey, oldest] = this.named.entries().next().value as [string, Entry];
      if (oldest === entry) break;
      this.drop(this.named, oldestKey, oldest);
      this.stats.evictions++;
    }
  }

  private drop(entries: Map<string, Entry>, key: string, entry: Entry): void {
    entries.delete(key);
    entry.held = false;
    this.stats.entries--;
    this.entryBytes -= entry.bytes;
    if (entry.named) this.namedBytes -= entry.bytes;
  }

  // undefined for an app without instances: cached as empty, answered 404.
  private build(kind: 'app' | 'vip' | 'svip', name: string, format: Format): Pieces | undefined {
    const codec = CODECS[format];
    switch (kind) {
      case 'app': {
        const views = [...this.registry.application(name)];
        return views.length === 0 ? undefined : codec.application(name, views);
      }
      case 'vip':
      case 'svip': {
        // Exact, case-sensitive match against each comma-separated entry, untrimmed, as Eureka does.
        const matches: readonly InstanceView[] = this.registry.byVip(kind, name);
        // A fresh Applications object in Eureka: versions__delta -1, hashcode over the subset.
        return codec.applications(groupByApp(matches), -1, appsHashcode(countStatuses(matches.map((m) => m.record.instance.status))));
      }
    }
  }
}

function groupByApp(views: readonly InstanceView[]): Map<string, InstanceView[]> {
  const apps = new Map<string, InstanceView[]>();
  for (const v of views) {
    const app = v.record.instance.app;
    const list = apps.get(app);
    if (list) list.push(v);
    else apps.set(app, [v]);
  }
  return apps;
}
