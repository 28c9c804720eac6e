// How V8 decides when to collect, for a server that keeps its payloads' bytes outside the JavaScript heap. By
// default V8 starts a full collection whenever about 64 MB of buffers were allocated since the last one, whatever
// the heap's size: at 250,000 instances (a 400 MB heap, 300 MB of encoded segments) the normal churn of changes,
// fetches and peer batches (10-15 MB of buffers a second) set off a full marking of the heap every 3-7 s, each taking
// about half a second of CPU and, on a single core, the request latency with it (p99 0.5-0.8 s for heartbeats). With
// external memory counted in V8's global limit, the buffers grow the limit with the heap as objects do, and a full
// collection comes when heap plus buffers have grown by V8's usual factor: measured on the same load, collections came
// every ~55 s instead of every 3-7 s, and resident memory rose to 2 GB between them (1.2 GB without): a trade of memory
// for latency, so it is a setting (gcCountsExternalMemory), off by default.
import { setFlagsFromString } from 'node:v8';

/** The V8 flag; V8 13 (Node 24) has it, older releases reject it. */
export const EXTERNAL_MEMORY_FLAG = '--external-memory-accounted-in-global-limit';

/**
 * Counts buffers in V8's global heap limit, when this V8 knows the flag (13 and later; Node 24); returns whether it
 * did. Process-wide, so the command line entry calls it before the server starts.
 */
export function countExternalMemoryInHeapLimit(v8Version = process.versions.v8): boolean {
  if (Number(v8Version.split('.')[0]) < 13) return false;
  setFlagsFromString(EXTERNAL_MEMORY_FLAG);
  return true;
}
