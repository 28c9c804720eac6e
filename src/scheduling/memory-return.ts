// Giving memory back after a load spike. V8 keeps the heap it grew to during a burst (hostile or not) committed long
// after the garbage is gone: an ordinary collection frees the objects but not the pages, so resident memory stays
// at its peak. Once the spike is over (the heap stopped growing) and much of it is free, this task runs V8's
// memory-reducing full collection, which compacts and returns the free pages — as Java's G1 does with its periodic
// collections (JEP 346). It pauses the server for the time a full collection of the live heap takes (about 1 ms per
// MB of live objects), at most once per period and only when there is memory to give back. Node 22 and later (the
// npm scripts run Node 24); on Node 20 the collection is an ordinary one and the memory stays.
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Logger } from '../observability/logger';

/** A full, memory-reducing collection. */
export type ReducingCollection = () => void;

/** Heap figures, bytes (process.memoryUsage()'s, and the young generation's share of heapUsed). */
export interface HeapUsage {
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly rss: number;
  /**
   * Bytes of heapUsed in the young generation (V8's new spaces): objects made since the last young collection, at a
   * quiet moment nearly all garbage. Absent: counted as live.
   */
  readonly youngUsed?: number;
}

/** The young generation's spaces, by V8's names. */
const YOUNG_SPACES = new Set(['new_space', 'new_large_object_space']);

/** The process's heap figures, with its young generation's bytes in use. */
export function heapUsage(): HeapUsage {
  const { heapTotal, heapUsed, rss } = process.memoryUsage();
  let youngUsed = 0;
  for (const space of getHeapSpaceStatistics()) if (YOUNG_SPACES.has(space.space_name)) youngUsed += space.space_used_size;
  return { heapTotal, heapUsed, rss, youngUsed };
}

let collection: ReducingCollection | undefined;

/**
 * V8's memory-reducing full collection. `gc` is reachable only with --expose-gc; the flag is set for contexts created
 * from here on, so a fresh context hands the function over without a command-line flag.
 */
export function reducingCollection(): ReducingCollection {
  if (collection === undefined) {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (options?: object) => void;
    collection = () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  }
  return collection;
}

/**
 * Most live heap a memory-reducing collection is run over, bytes: it pauses the server about 1 ms per MB live, so a
 * fleet-sized registry (700 MB live at 250,000 instances) would stall for most of a second.
 */
export const MAX_LIVE_BYTES = 256 * 1024 * 1024;

/** Growth of the committed heap between two periods that still counts as settled (1/16). */
const SETTLED_GROWTH = 1 + 1 / 16;

/**
 * Most of the last period the event loop may have been busy for memory to be given back now: a server still serving
 * a load would hand the collection's pause to its clients (232-244 ms for a 30 MB live heap after a spike of full
 * fetches, on a slow day of the benchmark machine). It waits for a quieter period; the memory is not needed until then.
 */
export const MAX_BUSY_SHARE = 0.5;

/** The share of the time since its previous call that the event loop was busy (0–1), from Node's own accounting. */
export function eventLoopBusyShare(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const share = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return share;
  };
}

/**
 * The task: run every period; gives memory back when the heap stopped growing, at least `minFreeBytes` of it is
 * free, and the free part is at least as large as the live part (a spike left it twice the size it needs: a big heap
 * that is simply full is not one), the live part is small enough to pause for (MAX_LIVE_BYTES), and the event loop
 * was busy for at most MAX_BUSY_SHARE of the period (`busy`: the share since its previous call). The live part is
 * what is in use outside the young generation: the young generation's objects are mostly garbage, and counted as
 * live they made the decision hang on how much of it a reading happened to catch (after a hostile minute, 97 MB
 * committed and 24-54 MB in use from one reading to the next: memory given back within a minute in one run, not in
 * the next).
 */
export function memoryReturnTask(
  minFreeBytes: number,
  logger: Logger,
  usage: () => HeapUsage = heapUsage,
  collect: () => ReducingCollection = reducingCollection,
  busy: () => number = eventLoopBusyShare(),
): () => void {
  let previousTotal = Number.POSITIVE_INFINITY;
  return () => {
    // Read every period, so that each reading covers one period.
    const busyShare = busy();
    const before = usage();
    const free = before.heapTotal - before.heapUsed;
    const live = before.heapUsed - (before.youngUsed ?? 0);
    // Still growing: the spike is not over, and a collection now would only make V8 grow the heap again. A heap that
    // stopped growing still moves by a few MB between periods (V8 resizes its young generation): that is settled.
    const settled = before.heapTotal <= previousTotal * SETTLED_GROWTH;
    previousTotal = before.heapTotal;
    if (!settled || free < minFreeBytes || free < live || live > MAX_LIVE_BYTES || busyShare > MAX_BUSY_SHARE) return;
    const started = performance.now();
    collect()();
    const after = usage();
    previousTotal = after.heapTotal;
    logger.info('returned memory after a load spike', {
      rssMB: Math.round(before.rss / 1048576),
      rssAfterMB: Math.round(after.rss / 1048576),
      heapCommittedMB: Math.round(before.heapTotal / 1048576),
      heapCommittedAfterMB: Math.round(after.heapTotal / 1048576),
      pauseMs: Math.round(performance.now() - started),
    });
  };
}
