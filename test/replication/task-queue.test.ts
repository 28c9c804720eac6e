import { ReplicationAction } from '../../src/replication/protocol';
import { instanceKey, ReplicationTask, TaskQueue, TaskQueueOptions } from '../../src/replication/task-queue';

const OPTIONS: TaskQueueOptions = { batchSize: 3, maxBatchingDelayMs: 500, maxPending: 5 };
const EXPIRY_MS = 30_000;

function task(action: ReplicationAction, id: string, queuedAt = 0, extra: { app?: string; payload?: string; expiresAt?: number } = {}): ReplicationTask<string> {
  return { action, app: extra.app ?? 'ORDERS', id, payload: extra.payload ?? `${action}:${id}@${queuedAt}`, queuedAt, expiresAt: extra.expiresAt ?? queuedAt + EXPIRY_MS };
}

const describeTask = (t: ReplicationTask<string>): string => `${t.action}:${t.app}/${t.id}`;

/** Drains the queue (without expiring anything) and names its tasks in send order. */
function drain(queue: TaskQueue<string>): string[] {
  const out: string[] = [];
  for (;;) {
    const { batch } = queue.takeBatch(0);
    if (batch.length === 0) return out;
    out.push(...batch.map(describeTask));
  }
}

describe('TaskQueue', () => {
  describe('instanceKey', () => {
    it('keys a task by app and id', () => {
      expect(instanceKey({ app: 'ORDERS', id: 'i1' })).toBe('ORDERS/i1');
    });
  });

  describe('offer', () => {
    it('keeps tasks in the order they were offered', () => {
      const q = new TaskQueue<string>(OPTIONS);
      q.offer(task('Register', 'a'));
      q.offer(task('Heartbeat', 'b'));
      q.offer(task('Cancel', 'c'));
      expect(q.size).toBe(3);
      expect(drain(q)).toEqual(['Register:ORDERS/a', 'Heartbeat:ORDERS/b', 'Cancel:ORDERS/c']);
    });

    it('replaces a pending status change of the same instance, which keeps its place in the queue', () => {
      const q = new TaskQueue<string>({ ...OPTIONS, batchSize: 10 });
      q.offer(task('StatusUpdate', 'a', 0, { payload: 'old' }));
      q.offer(task('Register', 'b'));
      q.offer(task('StatusUpdate', 'a', 10, { payload: 'new' }));
      expect(q.size).toBe(2);
      const { batch } = q.takeBatch(10);
      expect(batch.map(describeTask)).toEqual(['StatusUpdate:ORDERS/a', 'Register:ORDERS/b']);
      expect(batch[0].payload).toBe('new');
    });

    it('keeps different changes of the same instance as separate tasks, in the order they were offered', () => {
      const q = new TaskQueue<string>({ ...OPTIONS, batchSize: 10 });
      q.offer(task('Register', 'a'));
      q.offer(task('Heartbeat', 'a'));
      q.offer(task('StatusUpdate', 'a'));
      expect(drain(q)).toEqual(['Register:ORDERS/a', 'Heartbeat:ORDERS/a', 'StatusUpdate:ORDERS/a']);
    });

    it('keeps the same id in different apps as separate tasks', () => {
      const q = new TaskQueue<string>(OPTIONS);
      q.offer(task('Register', 'a', 0, { app: 'ORDERS' }));
      q.offer(task('Register', 'a', 0, { app: 'BILLING' }));
      expect(q.size).toBe(2);
    });

    it('keeps a cancel after the register it follows, and a re-register after the cancel', () => {
      const q = new TaskQueue<string>({ ...OPTIONS, batchSize: 10 });
      q.offer(task('Register', 'a', 0));
      q.offer(task('Cancel', 'a', 1));
      q.offer(task('Register', 'a', 2));
      expect(drain(q)).toEqual(['Cancel:ORDERS/a', 'Register:ORDERS/a']);
    });

    it('drops nothing while there is room', () => {
      const q = new TaskQueue<string>(OPTIONS);
      for (let i = 0; i < OPTIONS.maxPending; i++) expect(q.offer(task('Register', `r${i}`))).toEqual([]);
      expect(q.size).toBe(OPTIONS.maxPending);
    });

    it('drops the oldest heartbeat first when full, even when older changes are pending', () => {
      const q = new TaskQueue<string>({ ...OPTIONS, batchSize: 10 });
      q.offer(task('Register', 'r1'));
      q.offer(task('Cancel', 'c1'));
      q.offer(task('Heartbeat', 'h1'));
      q.offer(task('Register', 'r2'));
      q.offer(task('Heartbeat', 'h2'));
      const dropped = q.offer(task('StatusUpdate', 's1'));
      expect(dropped.map((d) => [describeTask(d.task), d.reason])).toEqual([['Heartbeat:ORDERS/h1', 'overflow']]);
      expect(q.size).toBe(5);
      expect(drain(q)).toEqual(['Register:ORDERS/r1', 'Cancel:ORDERS/c1', 'Register:ORDERS/r2', 'Heartbeat:ORDERS/h2', 'StatusUpdate:ORDERS/s1']);
    });

    it('drops the oldest task when full and no heartbeat is pending', () => {
      const q = new TaskQueue<string>({ ...OPTIONS, batchSize: 10 });
      for (let i = 1; i <= 5; i++) q.offer(task('Register', `r${i}`));
      const dropped = q.offer(task('Cancel', 'c1'));
      expect(dropped.map((d) => [describeTask(d.task), d.reason])).toEqual([['Register:ORDERS/r1', 'overflow']]);
      expect(drain(q)).toEqual(['Register:ORDERS/r2', 'Register:ORDERS/r3', 'Register:ORDERS/r4', 'Register:ORDERS/r5', 'Cancel:ORDERS/c1']);
    });

    it('drops the incoming heartbeat rather than a pending change when the queue is full of changes', () => {
      const q = new TaskQueue<string>({ ...OPTIONS, batchSize: 10 });
      for (let i = 1; i <= 5; i++) q.offer(task('Register', `r${i}`));
      const dropped = q.offer(task('Heartbeat', 'h1'));
      expect(dropped.map((d) => [describeTask(d.task), d.reason])).toEqual([['Heartbeat:ORDERS/h1', 'overflow']]);
      expect(drain(q)).toEqual(['Register:ORDERS/r1', 'Register:ORDERS/r2', 'Register:ORDERS/r3', 'Register:ORDERS/r4', 'Register:ORDERS/r5']);
    });

    it('drops nothing when the new task replaces a pending one in a full queue', () => {
      const q = new TaskQueue<string>(OPTIONS);
      for (let i = 1; i <= 5; i++) q.offer(task('Heartbeat', `h${i}`));
      expect(q.offer(task('Heartbeat', 'h3', 5))).toEqual([]);
      expect(q.size).toBe(5);
    });

    it('still finds heartbeats to drop after heartbeats were replaced and sent', () => {
      const q = new TaskQueue<string>({ ...OPTIONS, batchSize: 2 });
      q.offer(task('Heartbeat', 'h1'));
      q.offer(task('Heartbeat', 'h1', 1)); // replaced
      q.takeBatch(1); // h1 sent
      q.offer(task('Register', 'r1'));
      q.offer(task('Register', 'r2'));
      q.offer(task('Heartbeat', 'h2'));
      q.offer(task('Register', 'r3'));
      q.offer(task('Register', 'r4'));
      const dropped = q.offer(task('Register', 'r5'));
      expect(dropped.map((d) => describeTask(d.task))).toEqual(['Heartbeat:ORDERS/h2']);
    });

    it('falls back to the oldest task once every heartbeat has been dropped', () => {
      const q = new TaskQueue<string>({ ...OPTIONS, maxPending: 3, batchSize: 10 });
      q.offer(task('Register', 'r1'));
      q.offer(task('Heartbeat', 'h1'));
      q.offer(task('Register', 'r2'));
      expect(q.offer(task('Register', 'r3')).map((d) => describeTask(d.task))).toEqual(['Heartbeat:ORDERS/h1']);
      expect(q.offer(task('Register', 'r4')).map((d) => describeTask(d.task))).toEqual(['Register:ORDERS/r1']);
    });
  });

  describe('offer, for one instance', () => {
    const offered = (...actions: ReplicationAction[]): string[] => {
      const q = new TaskQueue<string>({ ...OPTIONS, batchSize: 10, maxPending: 100 });
      actions.forEach((action, i) => q.offer(task(action, 'a', i)));
      return drain(q).map((d) => d.split(':')[0]);
    };

    it.each<[ReplicationAction[], string[]]>([
      [['Register', 'StatusUpdate', 'Register'], ['Register', 'StatusUpdate', 'Register']],
      [['Register', 'Register'], ['Register']],
      [['Register', 'Cancel', 'Register'], ['Cancel', 'Register']],
      [['Register', 'StatusUpdate', 'Cancel'], ['Cancel']],
      [['Register', 'Heartbeat', 'Cancel'], ['Cancel']],
      [['StatusUpdate', 'StatusUpdate'], ['StatusUpdate']],
      [['DeleteStatusOverride', 'StatusUpdate'], ['StatusUpdate']],
      [['StatusUpdate', 'DeleteStatusOverride'], ['StatusUpdate', 'DeleteStatusOverride']],
      [['DeleteStatusOverride', 'DeleteStatusOverride'], ['DeleteStatusOverride']],
      [['StatusUpdate', 'Register'], ['StatusUpdate', 'Register']],
      [['DeleteStatusOverride', 'Register'], ['DeleteStatusOverride', 'Register']],
      [['Register', 'Heartbeat', 'StatusUpdate'], ['Register', 'Heartbeat', 'StatusUpdate']],
      [['Heartbeat', 'Register'], ['Heartbeat', 'Register']],
      [['Register', 'Heartbeat', 'Heartbeat'], ['Register', 'Heartbeat']],
      [['Heartbeat', 'Register', 'Heartbeat'], ['Register', 'Heartbeat']],
      [['StatusUpdate', 'Heartbeat', 'StatusUpdate'], ['StatusUpdate']],
      [['Register', 'Heartbeat', 'Register'], ['Register']],
      [['Cancel', 'Heartbeat'], ['Cancel', 'Heartbeat']],
    ])('sends %j as %j', (actions, expected) => {
      expect(offered(...actions)).toEqual(expected);
    });

    it('sends the newest of the tasks that replaced each other', () => {
      const q = new TaskQueue<string>({ ...OPTIONS, batchSize: 10 });
      q.offer(task('Register', 'a', 0, { payload: 'r1' }));
      q.offer(task('Register', 'a', 1, { payload: 'r2' }));
      q.offer(task('StatusUpdate', 'a', 2, { payload: 's1' }));
      q.offer(task('StatusUpdate', 'a', 3, { payload: 's2' }));
      expect(q.takeBatch(3).batch.map((t) => t.payload)).toEqual(['r2', 's2']);
    });

    it('counts superseded tasks neither as pending nor as dropped', () => {
      const q = new TaskQueue<string>({ ...OPTIONS, batchSize: 10 });
      expect([q.offer(task('Register', 'a')), q.offer(task('Heartbeat', 'a')), q.offer(task('StatusUpdate', 'a')), q.offer(task('Cancel', 'a'))].flat()).toEqual([]);
      expect(q.size).toBe(1);
    });

    it('keeps the rest of an instance at the head when a batch ends inside it', () => {
      const q = new TaskQueue<string>({ ...OPTIONS, batchSize: 2, maxPending: 10 });
      q.offer(task('Register', 'a'));
      q.offer(task('StatusUpdate', 'a'));
      q.offer(task('Register', 'b'));
      q.offer(task('DeleteStatusOverride', 'a'));
      expect(q.takeBatch(0).batch.map(describeTask)).toEqual(['Register:ORDERS/a', 'StatusUpdate:ORDERS/a']);
      expect(q.takeBatch(0).batch.map(describeTask)).toEqual(['DeleteStatusOverride:ORDERS/a', 'Register:ORDERS/b']);
    });
  });

  describe('nextReleaseAt', () => {
    it('is undefined when nothing is pending', () => {
      expect(new TaskQueue<string>(OPTIONS).nextReleaseAt(1000)).toBeUndefined();
    });

    it('is the oldest task queue time plus the batching delay while the batch is not full', () => {
      const q = new TaskQueue<string>(OPTIONS);
      q.offer(task('Register', 'a', 100));
      q.offer(task('Register', 'b', 300));
      expect(q.nextReleaseAt(350)).toBe(600);
    });

    it('is now once batchSize tasks are pending', () => {
      const q = new TaskQueue<string>(OPTIONS);
      q.offer(task('Register', 'a', 100));
      q.offer(task('Register', 'b', 110));
      q.offer(task('Register', 'c', 120));
      expect(q.nextReleaseAt(130)).toBe(130);
    });

    it('keeps the queue time of an instance whose task is replaced', () => {
      const q = new TaskQueue<string>(OPTIONS);
      q.offer(task('Register', 'a', 100));
      q.offer(task('Register', 'b', 200));
      q.offer(task('Register', 'a', 300));
      expect(q.nextReleaseAt(300)).toBe(600);
    });

    it('follows the oldest task left after a partial batch', () => {
      const q = new TaskQueue<string>({ ...OPTIONS, batchSize: 2 });
      q.offer(task('Register', 'a', 100));
      q.offer(task('StatusUpdate', 'a', 200));
      q.offer(task('Cancel', 'b', 250));
      q.offer(task('StatusUpdate', 'a', 300));
      q.takeBatch(300);
      expect(q.nextReleaseAt(300)).toBe(750);
    });

    it('is in the past for a task that has waited longer than the delay', () => {
      const q = new TaskQueue<string>(OPTIONS);
      q.offer(task('Register', 'a', 100));
      expect(q.nextReleaseAt(5000)).toBe(600);
    });
  });

  describe('takeBatch', () => {
    it('takes at most batchSize tasks from the head and leaves the rest', () => {
      const q = new TaskQueue<string>(OPTIONS);
      for (const id of ['a', 'b', 'c', 'd']) q.offer(task('Register', id));
      const { batch, expired } = q.takeBatch(0);
      expect(batch.map((t) => t.id)).toEqual(['a', 'b', 'c']);
      expect(expired).toEqual([]);
      expect(q.size).toBe(1);
      expect(q.takeBatch(0).batch.map((t) => t.id)).toEqual(['d']);
    });

    it('returns nothing from an empty queue', () => {
      expect(new TaskQueue<string>(OPTIONS).takeBatch(0)).toEqual({ batch: [], expired: [] });
    });

    it('drops expired tasks and reports them as expired', () => {
      const q = new TaskQueue<string>(OPTIONS);
      q.offer(task('Register', 'old', 0, { expiresAt: 1000 }));
      q.offer(task('Heartbeat', 'fresh', 0, { expiresAt: 5000 }));
      const { batch, expired } = q.takeBatch(2000);
      expect(batch.map((t) => t.id)).toEqual(['fresh']);
      expect(expired.map((d) => [d.task.id, d.reason])).toEqual([['old', 'expired']]);
      expect(q.size).toBe(0);
    });

    it('treats a task as expired at its expiry time', () => {
      const q = new TaskQueue<string>(OPTIONS);
      q.offer(task('Cancel', 'a', 0, { expiresAt: 1000 }));
      expect(q.takeBatch(999).batch).toHaveLength(1);
      q.offer(task('Cancel', 'b', 0, { expiresAt: 1000 }));
      expect(q.takeBatch(1000).expired).toHaveLength(1);
    });

    it('does not count expired tasks towards the batch size', () => {
      const q = new TaskQueue<string>({ ...OPTIONS, maxPending: 10 });
      q.offer(task('Register', 'x1', 0, { expiresAt: 10 }));
      q.offer(task('Register', 'x2', 0, { expiresAt: 10 }));
      for (const id of ['a', 'b', 'c', 'd']) q.offer(task('Register', id, 0));
      const { batch, expired } = q.takeBatch(100);
      expect(batch.map((t) => t.id)).toEqual(['a', 'b', 'c']);
      expect(expired.map((d) => d.task.id)).toEqual(['x1', 'x2']);
      expect(q.size).toBe(1);
    });
  });

  describe('pauseExpiry', () => {
    it('keeps a task from expiring while the peer asks us to wait', () => {
      const q = new TaskQueue<string>(OPTIONS);
      q.offer(task('Register', 'a', 0, { expiresAt: 1000 }));
      q.pauseExpiry(500);
      const { batch, expired } = q.takeBatch(60_000);
      expect(expired).toEqual([]);
      expect(batch.map((t) => [t.id, t.expiresAt])).toEqual([['a', 60_500]]);
    });

    it('keeps a task queued during the pause from aging until the pause ends', () => {
      const q = new TaskQueue<string>(OPTIONS);
      q.pauseExpiry(0);
      q.offer(task('Cancel', 'a', 5000, { expiresAt: 6000 }));
      q.resumeExpiry(20_000);
      expect(q.takeBatch(20_999).batch).toHaveLength(1);
      q.offer(task('Cancel', 'b', 5000, { expiresAt: 6000 }));
      expect(q.takeBatch(21_000).expired.map((d) => d.task.id)).toEqual(['b']);
    });

    it('credits a requeued task with the pauses before and after its failed attempt', () => {
      const q = new TaskQueue<string>(OPTIONS);
      q.offer(task('Register', 'a', 0, { expiresAt: 1000 }));
      q.pauseExpiry(100);
      q.resumeExpiry(2100); // 2000 ms credit: now due at 3000
      const { batch } = q.takeBatch(2500);
      q.requeue(batch, 2600);
      q.pauseExpiry(2600);
      q.resumeExpiry(4600); // 2000 ms more: due at 5000
      expect(q.takeBatch(4999).batch.map((t) => t.id)).toEqual(['a']);
    });

    it('ignores a second pause before the first ends', () => {
      const q = new TaskQueue<string>(OPTIONS);
      q.offer(task('Cancel', 'a', 0, { expiresAt: 1000 }));
      q.pauseExpiry(500);
      q.pauseExpiry(800);
      q.resumeExpiry(1500); // 1000 ms credit: due at 2000
      q.resumeExpiry(1900);
      expect(q.takeBatch(2000).expired.map((d) => d.task.id)).toEqual(['a']);
    });
  });

  describe('requeue', () => {
    it('puts a failed batch back at the head, before tasks queued meanwhile', () => {
      const q = new TaskQueue<string>({ ...OPTIONS, batchSize: 2 });
      q.offer(task('Register', 'a'));
      q.offer(task('Register', 'b'));
      const { batch } = q.takeBatch(0);
      q.offer(task('Cancel', 'c', 10));
      expect(q.requeue(batch, 0)).toEqual([]);
      expect(drain(q)).toEqual(['Register:ORDERS/a', 'Register:ORDERS/b', 'Cancel:ORDERS/c']);
    });

    it('drops a failed task that a newer one has replaced meanwhile, sending the newer in its place', () => {
      const q = new TaskQueue<string>({ ...OPTIONS, batchSize: 2 });
      q.offer(task('Register', 'a', 0, { payload: 'old a' }));
      q.offer(task('Cancel', 'b', 0));
      const { batch } = q.takeBatch(0);
      q.offer(task('Heartbeat', 'x', 10));
      q.offer(task('Register', 'a', 20, { payload: 'new a' }));
      expect(q.requeue(batch, 0)).toEqual([]);
      const all: ReplicationTask<string>[] = [];
      for (let b = q.takeBatch(0).batch; b.length > 0; b = q.takeBatch(0).batch) all.push(...b);
      expect(all.map(describeTask)).toEqual(['Register:ORDERS/a', 'Cancel:ORDERS/b', 'Heartbeat:ORDERS/x']);
      expect(all[0].payload).toBe('new a');
    });

    it('keeps the queue times of requeued tasks, so they are due at once', () => {
      const q = new TaskQueue<string>(OPTIONS);
      q.offer(task('Register', 'a', 100));
      const { batch } = q.takeBatch(600);
      q.requeue(batch, 0);
      expect(q.nextReleaseAt(2000)).toBe(600);
    });

    it('drops heartbeats first when the requeued batch and the newer tasks do not fit', () => {
      const q = new TaskQueue<string>({ batchSize: 3, maxBatchingDelayMs: 500, maxPending: 4 });
      q.offer(task('Register', 'r1'));
      q.offer(task('Heartbeat', 'h1'));
      q.offer(task('Register', 'r2'));
      const { batch } = q.takeBatch(0);
      q.offer(task('Register', 'r3', 10));
      q.offer(task('Register', 'r4', 10));
      const dropped = q.requeue(batch, 0);
      expect(dropped.map((d) => [describeTask(d.task), d.reason])).toEqual([['Heartbeat:ORDERS/h1', 'overflow']]);
      expect(drain(q)).toEqual(['Register:ORDERS/r1', 'Register:ORDERS/r2', 'Register:ORDERS/r3', 'Register:ORDERS/r4']);
    });

    it('tracks heartbeats after a requeue so the next overflow still drops one first', () => {
      const q = new TaskQueue<string>({ batchSize: 2, maxBatchingDelayMs: 500, maxPending: 3 });
      q.offer(task('Register', 'r1'));
      q.offer(task('Heartbeat', 'h1'));
      const { batch } = q.takeBatch(0);
      q.requeue(batch, 0);
      q.offer(task('Register', 'r2'));
      const dropped = q.offer(task('Register', 'r3'));
      expect(dropped.map((d) => describeTask(d.task))).toEqual(['Heartbeat:ORDERS/h1']);
    });
  });
});
