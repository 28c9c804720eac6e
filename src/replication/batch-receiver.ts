// Applying a peer's batch: each item as the REST call it stands for, marked as replicated (never forwarded again),
// each with its own status code. Unlike Eureka, an invalid Register is answered 400 instead of a silent 200.
import { Clock } from '../domain/clock';
import { parseStatus } from '../domain/model';
import { RegistrationLimits } from '../domain/registration';
import { Registry } from '../domain/registry';
import { instanceJson } from '../codecs/json';
import { acceptInstance, DecodeError, parseTimestamp } from '../codecs/instance-decoder';
import { REPLICATION_ACTIONS, ReplicationAction, ReplicationItemResult, ReplicationListResponse } from './protocol';

/** What applying a batch needs. */
export interface BatchReceiverDeps {
  readonly registry: Registry;
  readonly clock: Clock;
  readonly limits: RegistrationLimits;
}

/** The per-item answers, or why the whole body is unreadable (a 400). */
export type BatchOutcome = { readonly response: ReplicationListResponse } | { readonly error: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function applyBatch(body: string, deps: BatchReceiverDeps): BatchOutcome {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { error: 'cannot parse request body' };
  }
  const list = isObject(parsed) ? parsed['replicationList'] : undefined;
  if (!Array.isArray(list)) return { error: 'replicationList must be an array' };
  return { response: { responseList: list.map((item) => applyItem(item, deps)) } };
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
  try {
    switch (action) {
      case 'Register': {
        const valid = acceptInstance(item['instanceInfo'], app, deps.limits, deps.clock.now());
        if ('error' in valid) return { statusCode: 400 };
        return { statusCode: registry.register(valid.ok, true).kind === 'registered' ? 200 : 400 };
      }
      case 'Heartbeat': {
        if (!app || !id) return { statusCode: 400 };
        const outcome = registry.renew(app, id, { isReplication: true, lastDirtyTimestamp: dirty, overriddenStatus: parseStatus(item['overriddenStatus']) });
        if (outcome === 'ok') return { statusCode: 200 };
        if (outcome === 'not-found') return { statusCode: 404 };
        return { statusCode: 409, responseEntity: JSON.parse(instanceJson(outcome.conflict)) };
      }
      case 'Cancel':
        return { statusCode: app && id && registry.cancel(app, id, true) === 'ok' ? 200 : 404 };
      case 'StatusUpdate': {
        const status = parseStatus(item['status']);
        if (!status || !app || !id) return { statusCode: 400 };
        return { statusCode: registry.statusUpdate(app, id, status, dirty, true) === 'ok' ? 200 : 404 };
      }
      case 'DeleteStatusOverride': {
        const status = item['status'] === undefined || item['status'] === null ? undefined : parseStatus(item['status']);
        if (!app || !id) return { statusCode: 400 };
        return { statusCode: registry.deleteStatusOverride(app, id, status, dirty, true) === 'ok' ? 200 : 404 };
      }
    }
  } catch (e) {
    if (e instanceof DecodeError) return { statusCode: 400 };
    throw e;
  }
}
