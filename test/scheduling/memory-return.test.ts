// The memory-return task: a memory-reducing collection only once a spike is over and enough committed heap is free.
import { eventLoopBusyShare, HeapUsage, heapUsage, memoryReturnTask, reducingCollection } from '../../src/scheduling/memory-return';
import { RecordingLogger } from '../helpers/replication-fixtures';

const MB = 1024 * 1024;

function setup(readings: HeapUsage[], busy: number[] = []) {
  const collections: number[] = [];
  const logger = new RecordingLogger();
  let k = 0;
  let b = 0;
  const usage = (): HeapUsage => readings[Math.min(k++, readings.length - 1)];
  const task = memoryReturnTask(64 * MB, logger, usage, () => () => collections.push(k), () => busy[b++] ?? 0);
  return { task, collections, logger };
}

const heap = (totalMB: number, usedMB: number, rssMB = totalMB + 60): HeapUsage => ({ heapTotal: totalMB * MB, heapUsed: usedMB * MB, rss: rssMB * MB });

describe('memoryReturnTask', () => {
  it('collects once the heap stopped growing with enough of it free, and says what it gave back', () => {
    const { task, collections, logger } = setup([heap(100, 90), heap(200, 60), heap(200, 40), heap(40, 20, 100)]);
    task(); // first reading: nothing to compare with, little free
    task(); // grew: the spike is not over
    task(); // settled, 160 MB free: collect
    expect(collections).toHaveLength(1);
    expect(logger.lines.find((l) => l.message === 'returned memory after a load spike')?.fields).toMatchObject({ heapCommittedMB: 200, heapCommittedAfterMB: 40, rssAfterMB: 100 });
  });

  it('leaves a big heap alone that is mostly in use, however much of it is free in bytes (no pause every period)', () => {
    // 250,000 instances: 777 of 896 MB in use; 119 MB free is over the minimum but not a spike's leftover.
    const { task, collections } = setup([heap(896, 777), heap(896, 770), heap(896, 760)]);
    task();
    task();
    task();
    expect(collections).toEqual([]);
  });

  it('leaves a heap alone whose live part would pause the server too long', () => {
    const { task, collections } = setup([heap(1200, 300), heap(1200, 300)]);
    task();
    task();
    expect(collections).toEqual([]);
  });

  it('counts a heap that moves by a few MB between periods as settled (V8 resizing its young generation)', () => {
    // The recovery minute after a spike: 162.6 → 163.3 MB committed, about 50 MB of it in use.
    const { task, collections } = setup([heap(162.6, 150), heap(163.3, 50), heap(60, 45)]);
    task();
    task();
    expect(collections).toHaveLength(1);
  });

  it('does not count the young generation as live: a reading that catches much of it still gives the memory back', () => {
    // After a spike: 160 MB committed, 90 MB in use of which 40 MB young (garbage): 70 MB free against 50 live.
    const young = (totalMB: number, usedMB: number, youngMB: number): HeapUsage => ({ ...heap(totalMB, usedMB), youngUsed: youngMB * MB });
    const { task, collections } = setup([young(160, 90, 40), young(161, 90, 40), young(60, 50, 1)]);
    task();
    task();
    expect(collections).toHaveLength(1);
    // The same reading with nothing young: 70 MB free against 90 live is a heap in use, left alone.
    const counted = setup([young(160, 90, 0), young(161, 90, 0)]);
    counted.task();
    counted.task();
    expect(counted.collections).toEqual([]);
  });

  it('reads the young generation\'s bytes in use from V8, a part of the heap in use', () => {
    const u = heapUsage();
    expect(u.youngUsed).toBeGreaterThanOrEqual(0);
    expect(u.youngUsed).toBeLessThanOrEqual(u.heapUsed);
    expect(u.heapUsed).toBeLessThanOrEqual(u.heapTotal);
  });

  it('leaves a heap alone whose free part is under the minimum', () => {
    const { task, collections } = setup([heap(100, 60), heap(100, 50), heap(100, 45)]);
    task();
    task();
    task();
    expect(collections).toEqual([]);
  });

  it('waits while the server is busy serving, and gives the memory back in the first quieter period', () => {
    // A spike of full fetches is over (the heap settled, most of it free), but delta polls keep the event loop busy.
    const { task, collections } = setup([heap(200, 190), heap(200, 40), heap(200, 40), heap(200, 40), heap(40, 20)], [0.2, 0.9, 0.6, 0.1]);
    task(); // first reading
    task(); // settled and free, but busy 90 % of the period
    task(); // still busy 60 %
    expect(collections).toEqual([]);
    task(); // 10 %: collect
    expect(collections).toHaveLength(1);
  });

  it('measures how busy the event loop was over each period with Node\'s own accounting', () => {
    const share = eventLoopBusyShare();
    const end = performance.now() + 30;
    while (performance.now() < end); // busy
    expect(share()).toBeGreaterThan(0.5);
  });
});

describe('reducingCollection', () => {
  it('gives back to the system the memory a burst of garbage left resident (an ordinary collection does not)', () => {
    let held: unknown[][] = [];
    for (let round = 0; round < 12; round++) {
      held.push(Array.from({ length: 200_000 }, (_, i) => ({ i, s: `burst-${round}-${i}` })));
      if (held.length > 4) held.shift();
    }
    const grown = process.memoryUsage().rss;
    held = [];
    reducingCollection()();
    // Node 20's V8 takes no collection options: there it is an ordinary collection (npm test runs Node 24).
    const reduces = Number(process.versions.node.split('.')[0]) >= 22;
    expect(grown - process.memoryUsage().rss).toBeGreaterThan(reduces ? 32 * MB : -Infinity);
  });
});
