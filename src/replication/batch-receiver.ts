// Applying a peer's batch: each item as the REST call it stands for, marked as replicated (never forwarded again),
// each with its own status code. Unlike Eureka, an invalid Register is answered 400 instead of a silent 200, and a
// batch of more items than a peer ever sends (replicationBatchSize) is refused whole, so the answer stays bounded.
import { Clock } from '../domain/clock';
import { parseStatus } from '../domain/model';
import { RegistrationLimits } from '../domain/registration';
import { Registry } from '../domain/registry';
import { instanceJson } from '../codecs/json';
import { bodyShapeLimits, closingQuote, jsonShapeError, replicationBatchJsonCaps } from '../codecs/body-shape';
import { acceptInstance, DecodeError, parseTimestamp } from '../codecs/instance-decoder';
import { REPLICATION_ACTIONS, ReplicationAction, ReplicationItemResult, ReplicationListResponse } from './protocol';

/** What applying a batch needs. */
export interface BatchReceiverDeps {
  readonly registry: Registry;
  readonly clock: Clock;
  readonly limits: RegistrationLimits;
  /** Most items a batch may hold (replicationBatchSize); more: the whole batch is refused, nothing applied. */
  readonly maxItems: number;
}

/** The per-item answers, or why the whole body is unreadable (a 400). */
export type BatchOutcome = { readonly response: ReplicationListResponse } | { readonly error: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Applies a batch body (JSON text of a ReplicationList); refuses the whole of it when unreadable or too long. */
export function applyBatch(body: string, deps: BatchReceiverDeps): BatchOutcome {
  const tooMany = { error: `replicationList holds more than ${deps.maxItems} items (replicationBatchSize)` };
  // Counted on the text first: a body of millions of tiny items would otherwise cost its parse before being refused.
  if (countListItems(body, deps.maxItems) > deps.maxItems) return tooMany;
  // No object larger or deeper than a registration: JSON.parse slows down sharply on one huge object.
  const shape = jsonShapeError(body, replicationBatchJsonCaps(bodyShapeLimits(deps.limits.maxMetadataEntries)));
  if (shape !== undefined) return { error: shape };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { error: 'cannot parse request body' };
  }
  const list = isObject(parsed) ? parsed['replicationList'] : undefined;
  if (!Array.isArray(list)) return { error: 'replicationList must be an array' };
  if (list.length > deps.maxItems) return tooMany;
  return { response: { responseList: list.map((item) => applyItem(item, deps)) } };
}

/**
 * The number of elements in the arrays that are values of the top-level object (in a ReplicationList, its one
 * list), read off the text without parsing it; stops counting once past `limit`. Malformed text is left to JSON.parse.
 */
export function countListItems(text: string, limit: number): number {
  let depth = 0;
  let inList = false;
  let awaitingItem = false;
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inList && depth === 2 && awaitingItem && c > 32 && c !== 44 /* , */ && c !== 93 /* ] */) {
      if (++count > limit) return count;
      awaitingItem = false;
    }
    if (c === 34 /* " */) {
      const close = closingQuote(text, i);
      if (close < 0) return count;
      i = close;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
      if (depth === 2 && c === 91) {
        inList = true;
        awaitingItem = true;
      }
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      if (depth === 2) inList = false;
      depth--;
    } else if (c === 44 && inList && depth === 2) {
      awaitingItem = true;
    }
  }
  return count;
}

function applyItem(item: unknown, deps: BatchReceiverDeps): ReplicationItemResult {
  if (!isObject(item)) return { statusCode: 400 };
  const action = item['action'] as ReplicationAction;
  const app = typeof item['appName'] === 'string' ? item['appName'].toUpperCase() : '';
  const id = typeof item['id'] === 'string' ? item['id'] : '';
  if (!REPLICATION_ACTIONS.includes(action)) return { statusCode: 400 };
  const dirty = parseTimestamp(item['lastDirtyTimestamp']);
  if (dirty === null) return { statusCode: 400 };
  const { registry } = deps;
  // When the change happened at the server that took it (the instance's lastUpdatedTimestamp), if the item says.
  const info = item['instanceInfo'];
  const originAt = isObject(info) ? parseTimestamp(info['lastUpdatedTimestamp']) ?? undefined : undefined;
  try {
    switch (action) {
      case 'Register': {
        const valid = acceptInstance(item['instanceInfo'], app, deps.limits, deps.clock.now());
        if ('error' in valid) return { statusCode: 400 };
        // A copy older than a cancel held here is answered 200 too: the sender has nothing to retry.
        const outcome = registry.register(valid.ok, true, originAt, item['health'] === 'down').kind;
        return { statusCode: outcome === 'registered' || outcome === 'stale' ? 200 : 400 };
      }
      case 'Heartbeat': {
        if (!app || !id) return { statusCode: 400 };
        const outcome = registry.renew(app, id, { isReplication: true, lastDirtyTimestamp: dirty, overriddenStatus: parseStatus(item['overriddenStatus']) });
        if (outcome === 'ok') return { statusCode: 200 };
        if (outcome === 'not-found') return { statusCode: 404 };
        return { statusCode: 409, responseEntity: JSON.parse(instanceJson(outcome.conflict)) };
      }
      case 'Cancel':
        return { statusCode: app && id && registry.cancel(app, id, true, originAt) === 'ok' ? 200 : 404 };
      case 'StatusUpdate': {
        const status = parseStatus(item['status']);
        if (!status || !app || !id) return { statusCode: 400 };
        return { statusCode: registry.statusUpdate(app, id, status, dirty, true, originAt) === 'ok' ? 200 : 404 };
      }
      case 'DeleteStatusOverride': {
        const status = item['status'] === undefined || item['status'] === null ? undefined : parseStatus(item['status']);
        if (!app || !id) return { statusCode: 400 };
        return { statusCode: registry.deleteStatusOverride(app, id, status, dirty, true, originAt) === 'ok' ? 200 : 404 };
      }
      case 'MetadataUpdate': {
        const entries = metadataEntries(item['metadata'], deps.limits.maxMetadataEntries);
        if (!app || !id || entries === undefined) return { statusCode: 400 };
        return { statusCode: registry.updateMetadata(app, id, entries, true, originAt) === 'ok' ? 200 : 404 };
      }
    }
  } catch (e) {
    if (e instanceof DecodeError) return { statusCode: 400 };
    throw e;
  }
}

// The entries of a MetadataUpdate: string values only, at most as many as a registration may hold.
function metadataEntries(raw: unknown, max: number): Record<string, string> | undefined {
  if (!isObject(raw)) return undefined;
  const keys = Object.keys(raw);
  if (keys.length > max) return undefined;
  const out: Record<string, string> = Object.create(null);
  for (const k of keys) {
    const v = raw[k];
    if (typeof v !== 'string') return undefined;
    out[k] = v;
  }
  return out;
}
