import { TurnBatch } from '../../src/http/turn-batch';

describe('TurnBatch', () => {
  it('runs the jobs of one turn together, in order, after the turn', async () => {
    const batch = new TurnBatch();
    const ran: string[] = [];
    const a = batch.run(() => (ran.push('a'), 1));
    const b = batch.run(() => (ran.push('b'), 2));
    expect(ran).toEqual([]);
    // Queued after both: the batch has run by then, in one piece.
    const seenAfter = new Promise<string[]>((resolve) => setImmediate(() => resolve([...ran])));
    await expect(a).resolves.toBe(1);
    await expect(b).resolves.toBe(2);
    await expect(seenAfter).resolves.toEqual(['a', 'b']);
  });

  it("gives a job's error to its caller alone", async () => {
    const batch = new TurnBatch();
    const failing = batch.run(() => {
      throw new Error('bad');
    });
    const fine = batch.run(() => 'ok');
    await expect(failing).rejects.toThrow('bad');
    await expect(fine).resolves.toBe('ok');
  });

  it('runs a job queued by a later turn in that turn', async () => {
    const batch = new TurnBatch();
    await expect(batch.run(() => 1)).resolves.toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    await expect(batch.run(() => 2)).resolves.toBe(2);
    // A job queued while a batch runs goes to the next one, and still runs.
    await expect(batch.run(() => batch.run(() => 3))).resolves.toBe(3);
  });
});

describe('TurnBatch.defer', () => {
  it('runs deferred functions and jobs in the order queued, and tells of a throwing one without dropping the rest', async () => {
    const errors: unknown[] = [];
    const batch = new TurnBatch((e) => errors.push(e));
    const ran: string[] = [];
    batch.defer(() => ran.push('reply 1'));
    const job = batch.run(() => ran.push('job'));
    batch.defer(() => {
      throw new Error('broken');
    });
    batch.defer(() => ran.push('reply 2'));
    expect(ran).toEqual([]);
    await job;
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).toEqual(['reply 1', 'job', 'reply 2']);
    expect(errors).toEqual([new Error('broken')]);
  });
});
