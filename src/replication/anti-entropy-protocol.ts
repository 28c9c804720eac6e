// The comparison between zone-registry peers on the wire (POST {context}/peerreplication/digest, /versions, /repair):
// encoding, and decoding that bounds and checks everything a peer sends. Zone-registry servers only: a Java Eureka
// peer answers 404 and is skipped.
import { instanceJson } from '../codecs/json';
import { acceptInstance } from '../codecs/instance-decoder';
import { Hash64, hashHex, parseHashHex } from '../domain/digest';
import { InstanceView, StatusSource } from '../domain/model';
import { RegistrationLimits } from '../domain/registration';
import { Repair } from '../domain/registry';
import { InstanceVersion } from '../domain/versions';

/** Most applications one versions request may name. */
export const MAX_VERSION_APPS = 256;

/** Paths under {context}/peerreplication/. */
export const COMPARISON_PATHS = { digest: 'digest', versions: 'versions', repair: 'repair' } as const;

/** The digest exchange: ours, and theirs per application when the roots differ. */
export interface DigestAnswer {
  readonly root: Hash64;
  /** Per application; absent when the roots are equal. */
  readonly apps?: ReadonlyMap<string, Hash64>;
}

/** Every copy and removal of one application a peer holds, by instance id. */
export type AppVersions = ReadonlyMap<string, InstanceVersion>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `{"root":"<hex>"}` */
export const encodeDigestRequest = (root: Hash64): string => JSON.stringify({ root: hashHex(root) });

/** The root a digest request carries; undefined when malformed. */
export function decodeDigestRequest(text: string): Hash64 | undefined {
  const body = parse(text);
  return isObject(body) ? parseHashHex(body['root']) : undefined;
}

/** `{"root":"<hex>","apps":{"APP":"<hex>",…}}`, apps only when given. */
export function encodeDigestAnswer(root: Hash64, apps?: Iterable<[string, Hash64]>): string {
  const out: Record<string, unknown> = { root: hashHex(root) };
  if (apps) {
    const map: Record<string, string> = {};
    for (const [name, h] of apps) map[name] = hashHex(h);
    out['apps'] = map;
  }
  return JSON.stringify(out);
}

/** A peer's digest answer; undefined when malformed. */
export function decodeDigestAnswer(text: string, maxApps: number): DigestAnswer | undefined {
  const body = parse(text);
  if (!isObject(body)) return undefined;
  const root = parseHashHex(body['root']);
  if (root === undefined) return undefined;
  if (body['apps'] === undefined) return { root };
  if (!isObject(body['apps'])) return undefined;
  const entries = Object.entries(body['apps']);
  if (entries.length > maxApps) return undefined;
  const apps = new Map<string, Hash64>();
  for (const [name, hex] of entries) {
    const h = parseHashHex(hex);
    if (h === undefined) return undefined;
    apps.set(name, h);
  }
  return { root, apps };
}

/** `{"apps":["A",…]}` */
export const encodeVersionsRequest = (apps: readonly string[]): string => JSON.stringify({ apps });

/** The application names a versions request asks for; undefined when malformed or too many. */
export function decodeVersionsRequest(text: string, maxNameLength: number): string[] | undefined {
  const body = parse(text);
  const apps = isObject(body) ? body['apps'] : undefined;
  if (!Array.isArray(apps) || apps.length > MAX_VERSION_APPS) return undefined;
  if (!apps.every((a): a is string => typeof a === 'string' && a.length > 0 && a.length <= maxNameLength)) return undefined;
  return apps;
}

/** `{"apps":{"A":[["id","fingerprint",dirty,at] | ["id",null,dirty|null,at], …]}}` */
export function encodeVersionsAnswer(apps: Iterable<[string, Iterable<[string, InstanceVersion]>]>): string {
  const out: Record<string, unknown[]> = {};
  for (const [name, versions] of apps) {
    const list: unknown[] = [];
    for (const [id, v] of versions) list.push(v.kind === 'instance' ? [id, v.fingerprint, v.lastDirtyTimestamp, v.at] : [id, null, v.lastDirtyTimestamp ?? null, v.at]);
    out[name] = list;
  }
  return JSON.stringify({ apps: out });
}

/** A peer's versions answer, per application asked for; undefined when malformed. */
export function decodeVersionsAnswer(text: string, asked: readonly string[], maxPerApp: number): Map<string, AppVersions> | undefined {
  const body = parse(text);
  const apps = isObject(body) ? body['apps'] : undefined;
  if (!isObject(apps)) return undefined;
  const out = new Map<string, AppVersions>();
  for (const name of asked) {
    const list = apps[name] ?? [];
    if (!Array.isArray(list) || list.length > maxPerApp) return undefined;
    const versions = new Map<string, InstanceVersion>();
    for (const entry of list) {
      if (!Array.isArray(entry) || entry.length !== 4 || typeof entry[0] !== 'string' || !isTime(entry[3])) return undefined;
      const [id, fp, dirty, at] = entry as [string, unknown, unknown, number];
      if (typeof fp === 'string' && /^[0-9a-f]{16}$/.test(fp) && isTime(dirty)) versions.set(id, { kind: 'instance', fingerprint: fp, lastDirtyTimestamp: dirty, at });
      else if (fp === null && (dirty === null || isTime(dirty))) versions.set(id, { kind: 'removed', lastDirtyTimestamp: dirty ?? undefined, at });
      else return undefined;
    }
    out.set(name, versions);
  }
  return out;
}

/** One repair as sent: a copy with what only the server that holds it knows, or a removal. */
export type RepairItem =
  | { readonly kind: 'instance'; readonly view: InstanceView; readonly overlay?: Readonly<Record<string, string>> }
  | { readonly kind: 'removed'; readonly app: string; readonly id: string; readonly lastDirtyTimestamp: number | undefined; readonly at: number };

/** One repair item as JSON text. */
export function encodeRepairItem(item: RepairItem): string {
  if (item.kind === 'removed') return JSON.stringify({ kind: 'removed', app: item.app, id: item.id, lastDirtyTimestamp: item.lastDirtyTimestamp ?? null, at: item.at });
  const overlay = item.overlay && Object.keys(item.overlay).length > 0 ? `,"overlay":${JSON.stringify(item.overlay)}` : '';
  return `{"kind":"instance","statusSource":"${item.view.record.statusSource}","at":${item.view.record.lastUpdatedTimestamp}${overlay},"instanceInfo":${instanceJson(item.view)}}`;
}

/** A repair body from encoded items. */
export const repairListOf = (items: readonly string[]): string => `{"items":[${items.join(',')}]}`;

/** Counts of what a repair request did. */
export interface RepairOutcome {
  applied: number;
  stale: number;
  refused: number;
  invalid: number;
}

/** The repairs of a request body, each checked like a replicated registration; undefined when the body is malformed. */
export function decodeRepairs(text: string, limits: RegistrationLimits, maxItems: number, now: number): (Repair | 'invalid')[] | undefined {
  const body = parse(text);
  const items = isObject(body) ? body['items'] : undefined;
  if (!Array.isArray(items) || items.length > maxItems) return undefined;
  return items.map((item): Repair | 'invalid' => {
    if (!isObject(item)) return 'invalid';
    if (item['kind'] === 'removed') {
      const { app, id, lastDirtyTimestamp: dirty, at } = item;
      if (typeof app !== 'string' || typeof id !== 'string' || !app || !id || app.length > limits.maxNameLength || id.length > limits.maxNameLength) return 'invalid';
      if (!isTime(at) || !(dirty === null || isTime(dirty))) return 'invalid';
      return { kind: 'removed', app: app.toUpperCase(), id, lastDirtyTimestamp: dirty ?? undefined, at };
    }
    if (item['kind'] !== 'instance' || !isTime(item['at'])) return 'invalid';
    const source = item['statusSource'];
    if (source !== 'client' && source !== 'override' && source !== 'health') return 'invalid';
    const info = item['instanceInfo'];
    const app = isObject(info) && typeof info['app'] === 'string' ? info['app'].toUpperCase() : '';
    const accepted = acceptInstance(info, app, limits, now);
    if ('error' in accepted) return 'invalid';
    const overlay = item['overlay'];
    if (overlay !== undefined && (!isObject(overlay) || !Object.values(overlay).every((v) => typeof v === 'string') || Object.keys(overlay).length > limits.maxMetadataEntries)) return 'invalid';
    return { kind: 'instance', instance: accepted.ok, statusSource: source as StatusSource, at: item['at'], overlay: overlay as Record<string, string> | undefined };
  });
}
