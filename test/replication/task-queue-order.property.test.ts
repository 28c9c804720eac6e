// A peer's TaskQueue under random client writes: delivered through it with random batches and requeues, changes
// reach a peer registry in causal order (nothing refused, same end state as applying them one by one), and the
// queue's bound and size hold.
import fc from 'fast-check';
import { ManualClock } from '../../src/domain/clock';
import { InstanceInfo, InstanceStatus } from '../../src/domain/model';
import { RegistrationLimits } from '../../src/domain/registration';
import { Registry, RegistryEvent } from '../../src/domain/registry';
import { applyBatch } from '../../src/replication/batch-receiver';
import { PeerTask, TaskPayload, toItem } from '../../src/replication/peer-node';
import { encodeReplicationList, ReplicationAction, ReplicationItemResult } from '../../src/replication/protocol';
import { TaskQueue } from '../../src/replication/task-queue';
import { makeInstance } from '../helpers/instances';

const LIMITS: RegistrationLimits = { maxNameLength: 256, maxMetadataEntries: 64, maxVipAddresses: 16, defaultRenewalIntervalSecs: 30, defaultDurationSecs: 90 };
const IDS = ['i0', 'i1', 'i2'];

type Op =
  | { readonly kind: 'register'; readonly id: string; readonly status: InstanceStatus }
  | { readonly kind: 'status'; readonly id: string; readonly status: InstanceStatus; readonly dirty: boolean }
  | { readonly kind: 'deleteOverride'; readonly id: string; readonly interim?: InstanceStatus }
  | { readonly kind: 'cancel'; readonly id: string }
  | { readonly kind: 'heartbeat'; readonly id: string }
  | { readonly kind: 'send'; readonly fail: boolean };

const id = fc.constantFrom(...IDS);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('register' as const), id, status: fc.constantFrom<InstanceStatus>('UP', 'DOWN', 'STARTING', 'OUT_OF_SERVICE') }),
  fc.record({ kind: fc.constant('status' as const), id, status: fc.constantFrom<InstanceStatus>('OUT_OF_SERVICE', 'UP', 'DOWN'), dirty: fc.boolean() }),
  fc.record({ kind: fc.constant('deleteOverride' as const), id, interim: fc.constantFrom<InstanceStatus | undefined>(undefined, 'UP') }),
  fc.record({ kind: fc.constant('cancel' as const), id }),
  fc.record({ kind: fc.constant('heartbeat' as const), id }),
  fc.record({ kind: fc.constant('send' as const), fail: fc.boolean() }),
);

function registry(clock: ManualClock): Registry {
  return new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 100 });
}

const statusOf = (i: InstanceInfo): TaskPayload => ({ status: i.status, lastDirtyTimestamp: i.lastDirtyTimestamp, overriddenStatus: i.overriddenStatus !== 'UNKNOWN' ? i.overriddenStatus : undefined });

/** The task PeerNodes queues for a client-originated event (every heartbeat forwarded). */
function taskOf(event: RegistryEvent, local: Registry, now: number): PeerTask | undefined {
  const task = (action: ReplicationAction, i: InstanceInfo, payload: TaskPayload): PeerTask => ({ action, app: i.app, id: i.id, payload, queuedAt: now, expiresAt: now + 3_600_000 });
  switch (event.type) {
    case 'registered':
      return task('Register', event.view.record.instance, { view: { record: event.view.record, lastRenewalTimestamp: event.view.lastRenewalTimestamp }, ...statusOf(event.view.record.instance) });
    case 'renewed': {
      const lease = local.lease(event.app, event.id);
      return lease && task('Heartbeat', lease.record.instance, statusOf(lease.record.instance));
    }
    // As PeerNodes sends them: with the instance as the change left it (the time of the change).
    case 'cancelled':
      return task('Cancel', event.view.record.instance, { view: { record: event.view.record, lastRenewalTimestamp: event.view.lastRenewalTimestamp } });
    case 'status-updated':
    case 'status-override-deleted': {
      const i = event.view.record.instance;
      return task(event.type === 'status-updated' ? 'StatusUpdate' : 'DeleteStatusOverride', i, { status: i.status, lastDirtyTimestamp: i.lastDirtyTimestamp, view: { record: event.view.record, lastRenewalTimestamp: event.view.lastRenewalTimestamp } });
    }
    default:
      return undefined;
  }
}

/** What a peer holds for each instance. */
function stateOf(peer: Registry): unknown[] {
  return IDS.map((i) => {
    const lease = peer.lease('ORDERS', i);
    const override = peer.statusOverrides().get(`ORDERS/${i}`);
    return lease ? { i, status: lease.record.instance.status, overriddenStatus: lease.record.instance.overriddenStatus, dirty: lease.record.instance.lastDirtyTimestamp, override } : { i, absent: true, override };
  });
}

function run(ops: readonly Op[], batchSize: number): { refused: string[]; reference: unknown[]; queued: unknown[] } {
  const clock = new ManualClock();
  const local = registry(clock);
  const reference = registry(clock);
  const queued = registry(clock);
  const queue = new TaskQueue<TaskPayload>({ batchSize, maxBatchingDelayMs: 0, maxPending: 10_000 });
  const deliver = (peer: Registry, tasks: readonly PeerTask[]): ReplicationItemResult[] => {
    const outcome = applyBatch(encodeReplicationList(tasks.map((t) => toItem(t))), { registry: peer, clock, limits: LIMITS, maxItems: Number.MAX_SAFE_INTEGER });
    if (!('response' in outcome)) throw new Error(outcome.error);
    return outcome.response.responseList;
  };
  const refused: string[] = [];
  const send = (tasks: readonly PeerTask[]): void => {
    deliver(queued, tasks).forEach((r, k) => {
      const t = tasks[k];
      if (r.statusCode === 404 && (t.action === 'StatusUpdate' || t.action === 'DeleteStatusOverride')) refused.push(`${t.action} ${t.id}`);
      if (r.statusCode === 400) refused.push(`${t.action} ${t.id}: 400`);
    });
  };
  local.subscribe((event) => {
    const task = taskOf(event, local, clock.now());
    if (!task) return;
    deliver(reference, [task]);
    queue.offer(task);
  });
  for (const o of ops) {
    clock.advance(1);
    switch (o.kind) {
      case 'register':
        local.register(makeInstance({ id: o.id, status: o.status, lastDirtyTimestamp: clock.now() }));
        break;
      case 'status':
        local.statusUpdate('ORDERS', o.id, o.status, o.dirty ? clock.now() : undefined);
        break;
      case 'deleteOverride':
        local.deleteStatusOverride('ORDERS', o.id, o.interim, clock.now());
        break;
      case 'cancel':
        local.cancel('ORDERS', o.id);
        break;
      case 'heartbeat':
        local.renew('ORDERS', o.id, { isReplication: false });
        break;
      case 'send': {
        const { batch, expired } = queue.takeBatch(clock.now());
        if (expired.length > 0) throw new Error('nothing should expire here');
        if (o.fail) queue.requeue(batch, clock.now());
        else send(batch);
      }
    }
  }
  for (let { batch } = queue.takeBatch(clock.now()); batch.length > 0; { batch } = queue.takeBatch(clock.now())) send(batch);
  if (queue.size !== 0) throw new Error(`drained queue reports size ${queue.size}`);
  return { refused, reference: stateOf(reference), queued: stateOf(queued) };
}

describe('TaskQueue', () => {
  describe('takeBatch', () => {
    it('delivers any sequence of changes in causal order: nothing refused, same end state as the original sequence', () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 60, size: 'max' }), fc.integer({ min: 1, max: 5 }), (ops, batchSize) => {
          const { refused, reference, queued } = run(ops, batchSize);
          expect(refused).toEqual([]);
          expect(queued).toEqual(reference);
        }),
        { numRuns: 400, seed: 20261202 },
      );
    });

    it('never holds more than maxPending tasks, and its size is what a drain returns, whatever is offered, sent or requeued', () => {
      const action = fc.constantFrom<ReplicationAction>('Register', 'StatusUpdate', 'DeleteStatusOverride', 'Cancel', 'Heartbeat');
      const step = fc.oneof(fc.record({ action, id: fc.integer({ min: 0, max: 6 }) }), fc.constantFrom('send' as const, 'fail' as const));
      fc.assert(
        fc.property(fc.array(step, { maxLength: 80, size: 'max' }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), (steps, batchSize, maxPending) => {
          const queue = new TaskQueue<null>({ batchSize, maxBatchingDelayMs: 0, maxPending });
          for (const st of steps) {
            if (st === 'send' || st === 'fail') {
              const { batch } = queue.takeBatch(0);
              expect(batch.length).toBeLessThanOrEqual(batchSize);
              if (st === 'fail') queue.requeue(batch, 0);
            } else {
              queue.offer({ action: st.action, app: 'ORDERS', id: `i${st.id}`, payload: null, queuedAt: 0, expiresAt: 1000 });
            }
            expect(queue.size).toBeLessThanOrEqual(maxPending);
          }
          let drained = 0;
          const size = queue.size;
          for (let { batch } = queue.takeBatch(0); batch.length > 0; { batch } = queue.takeBatch(0)) drained += batch.length;
          expect(drained).toBe(size);
          expect(queue.size).toBe(0);
          expect(queue.nextReleaseAt(0)).toBeUndefined();
        }),
        { numRuns: 300, seed: 20261203 },
      );
    });

    it.each<[string, Op[]]>([
      [
        'a register, a status change and a re-register of a new instance',
        [
          { kind: 'register', id: 'i0', status: 'UP' },
          { kind: 'status', id: 'i0', status: 'OUT_OF_SERVICE', dirty: true },
          { kind: 'register', id: 'i0', status: 'UP' },
        ],
      ],
      [
        'a register, a cancel and a re-register',
        [
          { kind: 'register', id: 'i0', status: 'UP' },
          { kind: 'cancel', id: 'i0' },
          { kind: 'register', id: 'i0', status: 'UP' },
        ],
      ],
      [
        'a register, an override, its removal and a re-register',
        [
          { kind: 'register', id: 'i0', status: 'UP' },
          { kind: 'status', id: 'i0', status: 'OUT_OF_SERVICE', dirty: false },
          { kind: 'deleteOverride', id: 'i0' },
          { kind: 'register', id: 'i0', status: 'UP' },
        ],
      ],
    ])('ends the peer as the original sequence does for %s, one task per batch', (_what, ops) => {
      const { refused, reference, queued } = run(ops, 1);
      expect(refused).toEqual([]);
      expect(queued).toEqual(reference);
    });
  });
});
