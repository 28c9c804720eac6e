// Digests of what peers must agree on: a 64-bit fingerprint per instance over its agreed fields (not lease times,
// which differ between peers by nature), XOR-combined per application and over the registry. XOR makes every update
// O(1): the old fingerprint leaves, the new one enters, in any order.
import * as crypto from 'node:crypto';
import { InstanceRecord } from './model';

/** A 64-bit value as two unsigned 32-bit halves. */
export interface Hash64 {
  readonly hi: number;
  readonly lo: number;
}

/** The digest of nothing. */
export const EMPTY_HASH: Hash64 = Object.freeze({ hi: 0, lo: 0 });

// One-shot hashing (Node 20.12+) skips the Hash object a stream needs: about twice as fast per call.
const sha1Hex: (text: string) => string =
  typeof crypto.hash === 'function' ? (text) => crypto.hash('sha1', text, 'hex') : (text) => crypto.createHash('sha1').update(text).digest('hex');

/**
 * The first 64 bits of the SHA-1 of a string's UTF-8 bytes. A pure computation (node:crypto's hash, no I/O): about
 * 1 µs for a registration's fields, several times faster than the same in JavaScript arithmetic.
 */
export function hashText(text: string): Hash64 {
  const hex = sha1Hex(text);
  return { hi: parseInt(hex.slice(0, 8), 16), lo: parseInt(hex.slice(8, 16), 16) };
}

/** `a` XOR `b`. */
export function xorHash(a: Hash64, b: Hash64): Hash64 {
  return { hi: (a.hi ^ b.hi) >>> 0, lo: (a.lo ^ b.lo) >>> 0 };
}

/** Equality of two hashes. */
export function sameHash(a: Hash64, b: Hash64): boolean {
  return a.hi === b.hi && a.lo === b.lo;
}

/** 16 lower-case hex digits. */
export function hashHex(h: Hash64): string {
  return h.hi.toString(16).padStart(8, '0') + h.lo.toString(16).padStart(8, '0');
}

/** Parses 16 hex digits; undefined otherwise. */
export function parseHashHex(text: unknown): Hash64 | undefined {
  if (typeof text !== 'string' || !/^[0-9a-f]{16}$/.test(text)) return undefined;
  return { hi: parseInt(text.slice(0, 8), 16), lo: parseInt(text.slice(8), 16) };
}

const SEP = '\u0000';

// Sorted `key=value` pairs: maps compare by content, not by insertion order.
function mapText(map: Readonly<Record<string, string>> | undefined): string {
  if (!map) return '';
  const keys = Object.keys(map).sort();
  let out = '';
  for (const k of keys) out += `${k}=${map[k]}${SEP}`;
  return out;
}

/**
 * The agreed fields of an instance as text: identity, status, override and its source, metadata, lastDirtyTimestamp
 * and the registration fields. Lease and server times (renewals, registration and update times) are left out.
 */
export function agreedText(record: InstanceRecord): string {
  const i = record.instance;
  return [
    i.app,
    i.id,
    i.instanceId ?? '',
    i.hostName,
    i.ipAddr,
    i.sid ?? '',
    i.status,
    i.overriddenStatus,
    record.statusSource,
    `${i.port.port}:${i.port.enabled}`,
    `${i.securePort.port}:${i.securePort.enabled}`,
    i.countryId,
    i.dataCenterInfo.name,
    mapText(i.dataCenterInfo.metadata),
    i.renewalIntervalSecs,
    i.durationSecs,
    mapText(i.metadata),
    i.appGroupName ?? '',
    i.homePageUrl ?? '',
    i.statusPageUrl ?? '',
    i.healthCheckUrl ?? '',
    i.secureHealthCheckUrl ?? '',
    i.vipAddress ?? '',
    i.secureVipAddress ?? '',
    i.asgName ?? '',
    i.lastDirtyTimestamp,
  ].join(SEP);
}

/** The fingerprint of an instance's agreed fields. */
export function fingerprint(record: InstanceRecord): Hash64 {
  return hashText(agreedText(record));
}

interface AppDigest {
  hi: number;
  lo: number;
  count: number;
}

/** Per-application and whole-registry digests, updated one instance at a time. */
export class RegistryDigest {
  private readonly apps = new Map<string, AppDigest>();
  private readonly byInstance = new Map<string, Hash64>();
  private rootHi = 0;
  private rootLo = 0;

  /** Sets the fingerprint of instance `id` of `app` (undefined: the instance is gone). O(1). */
  set(app: string, id: string, hash: Hash64 | undefined): void {
    const key = `${app}/${id}`;
    const old = this.byInstance.get(key);
    if (old === undefined && hash === undefined) return;
    let digest = this.apps.get(app);
    if (digest === undefined) {
      digest = { hi: 0, lo: 0, count: 0 };
      this.apps.set(app, digest);
    }
    if (old !== undefined) this.toggle(digest, old, -1);
    if (hash !== undefined) {
      this.toggle(digest, hash, 1);
      this.byInstance.set(key, hash);
    } else {
      this.byInstance.delete(key);
    }
    if (digest.count === 0) this.apps.delete(app);
  }

  /** The fingerprint held for an instance. */
  instance(app: string, id: string): Hash64 | undefined {
    return this.byInstance.get(`${app}/${id}`);
  }

  /** Digest of the whole registry (EMPTY_HASH when empty). */
  get root(): Hash64 {
    return { hi: this.rootHi, lo: this.rootLo };
  }

  /** Digest of one application (EMPTY_HASH when it has no instance). */
  app(name: string): Hash64 {
    const d = this.apps.get(name);
    return d === undefined ? EMPTY_HASH : { hi: d.hi, lo: d.lo };
  }

  /** Every application with its digest. */
  *applications(): Iterable<[string, Hash64]> {
    for (const [name, d] of this.apps) yield [name, { hi: d.hi, lo: d.lo }];
  }

  /** Instances held. */
  get size(): number {
    return this.byInstance.size;
  }

  private toggle(digest: AppDigest, h: Hash64, delta: 1 | -1): void {
    digest.hi = (digest.hi ^ h.hi) >>> 0;
    digest.lo = (digest.lo ^ h.lo) >>> 0;
    digest.count += delta;
    this.rootHi = (this.rootHi ^ h.hi) >>> 0;
    this.rootLo = (this.rootLo ^ h.lo) >>> 0;
  }
}
