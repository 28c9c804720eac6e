// Encoded registry payloads (full, delta, per app, per VIP × JSON/XML × plain/gzip), cached as bytes for the
// registry revision they were built at. A change invalidates them for the next read (Eureka serves a 30 s old copy);
// heartbeats never do; a burst of writes between two reads costs one rebuild.
import { gzip, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { Clock } from '../domain/clock';
import { InstanceView } from '../domain/model';
import { Registry } from '../domain/registry';
import { appsHashcode, countStatuses } from '../domain/apps-hashcode';
import { CODECS } from '../codecs/documents';
import { contentTypeFor, Format } from '../codecs/negotiate';
import { Reply } from './errors';
import { Pieces } from '../codecs/record-fragments';

const gzipAsync = promisify(gzip);
// Below this size compressing inline is cheaper than a trip to the thread pool.
const INLINE_GZIP_BYTES = 64 * 1024;
// Distinct keys kept (VIP names come from clients); the oldest built are dropped past this.
const MAX_ENTRIES = 4096;

/** What a payload is of: the full registry, the delta, one app, or one (secure) VIP. */
export type PayloadKind = 'apps' | 'delta' | 'app' | 'vip' | 'svip';

// Keys of the payloads without a name (full registry, delta), built once rather than per fetch.
const NAMELESS_KEYS = Object.fromEntries(
  (['apps', 'delta', 'app', 'vip', 'svip'] as const).map((k) => [k, { json: `${k}\u0000\u0000json`, xml: `${k}\u0000\u0000xml` }]),
) as Record<PayloadKind, Record<Format, string>>;

/** Cached bytes of one payload, and the whole 200 response for them. */
export interface Payload {
  readonly body: Buffer;
  /** Strong validator for If-None-Match. */
  readonly etag: string;
  /** The response, headers included, built once: a fetch allocates nothing to answer. */
  readonly reply: Reply;
}

function payload(body: Buffer, etag: string, format: Format, gzipped: boolean): Payload {
  const headers: Record<string, string | number> = { 'content-type': contentTypeFor(format), etag, vary: 'Accept, Accept-Encoding', 'content-length': body.length };
  if (gzipped) headers['content-encoding'] = 'gzip';
  return { body, etag, reply: Object.freeze({ status: 200, headers: Object.freeze(headers), body }) };
}

interface Entry {
  readonly builtAt: number;
  readonly format: Format;
  readonly version: string;
  readonly plain: Payload;
  gzip?: Payload | Promise<Payload>;
}

/** Counters for the operators' surface. */
export interface ResponseCacheStats {
  hits: number;
  rebuilds: number;
}

export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  readonly stats: ResponseCacheStats = { hits: 0, rebuilds: 0 };

  constructor(
    private readonly registry: Registry,
    private readonly clock: Clock,
    /** How long a payload may be served after a change, ms (0: never). */
    private readonly maxStalenessMs: number,
  ) {}

  /**
   * The payload for a key, or undefined when there is nothing to serve (an app without instances).
   * Gzip variants of large payloads are compressed off the event loop, once, and shared by concurrent readers.
   */
  get(kind: PayloadKind, name: string, format: Format, gzipped: boolean): Payload | Promise<Payload> | undefined {
    const now = this.clock.now();
    if (kind === 'delta') this.registry.pruneDelta(now);
    const key = name === '' ? NAMELESS_KEYS[kind][format] : `${kind}\u0000${name}\u0000${format}`;
    // Aging changes out of the delta log alters the delta without a new revision.
    const version = kind === 'delta' ? `${this.registry.revision}.${this.registry.deltaGeneration}` : `${this.registry.revision}`;
    let entry = this.entries.get(key);
    if (entry && (entry.version === version || now - entry.builtAt < this.maxStalenessMs)) {
      this.stats.hits++;
    } else {
      const body = this.build(kind, name, format, now);
      this.stats.rebuilds++;
      const tag = `"${version}-${kind}-${format}`;
      entry = { builtAt: now, version, format, plain: payload(body?.toBuffer() ?? Buffer.alloc(0), `${tag}"`, format, false) };
      this.entries.delete(key);
      this.entries.set(key, entry);
      if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    }
    if (entry.plain.body.length === 0) return undefined;
    return gzipped ? this.gzipOf(entry) : entry.plain;
  }

  private gzipOf(entry: Entry): Payload | Promise<Payload> {
    if (entry.gzip) return entry.gzip;
    const etag = entry.plain.etag.slice(0, -1) + '-gzip"';
    if (entry.plain.body.length < INLINE_GZIP_BYTES) {
      entry.gzip = payload(gzipSync(entry.plain.body), etag, entry.format, true);
    } else {
      entry.gzip = gzipAsync(entry.plain.body).then((body) => (entry.gzip = payload(body, etag, entry.format, true)));
    }
    return entry.gzip;
  }

  // undefined for an app without instances: cached as empty, answered 404.
  private build(kind: PayloadKind, name: string, format: Format, now: number): Pieces | undefined {
    const codec = CODECS[format];
    switch (kind) {
      case 'apps':
        return codec.applications(this.registry.applications(), 1, this.registry.hashcode());
      case 'delta':
        // The hashcode is the full registry's, from the same instant as the changes (the client's reconcile check).
        return codec.applications(groupByApp(this.registry.deltaChanges(now)), this.registry.revision, this.registry.hashcode());
      case 'app': {
        const views = [...this.registry.application(name)];
        return views.length === 0 ? undefined : codec.application(name, views);
      }
      case 'vip':
      case 'svip': {
        const matches: InstanceView[] = [];
        for (const lease of this.registry.leases()) {
          const i = lease.record.instance;
          const vips = kind === 'vip' ? i.vipAddress : i.secureVipAddress;
          // Exact, case-sensitive match against each comma-separated entry, untrimmed, as Eureka does.
          if (vips !== undefined && vips.split(',').includes(name)) matches.push(lease);
        }
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
