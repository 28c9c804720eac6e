// How V8 decides what to collect and when, for a server that holds a large registry for hours and makes a steady
// stream of short-lived objects and buffers. Both switches are process-wide, so the command line entry applies them
// before the server starts.
//
// Counting buffers in the heap limit. By default V8 starts a full collection whenever about 64 MB of buffers were
// allocated since the last one, whatever the heap's size: at 250,000 instances (a 400 MB heap, 300 MB of encoded
// segments) the normal churn of changes, fetches and peer batches (10-15 MB of buffers a second) set off a full
// marking of the heap every 3-7 s, each taking about half a second of CPU and, on a single core, the request latency
// with it (p99 0.5-0.8 s for heartbeats). With external memory counted in V8's global limit, the buffers grow the
// limit with the heap as objects do, and a full collection comes when heap plus buffers have grown by V8's usual
// factor: measured on the same load, collections came every ~55 s instead of every 3-7 s, and resident memory rose to
// 2 GB between them (1.2 GB without): a trade of memory for latency, so it is a setting (gcCountsExternalMemory), off
// by default.
//
// Allocation-site pretenuring. V8 watches where objects are made, and once most objects made at one place outlive
// two young collections it makes that place's later objects directly in the old generation, where only a full
// collection frees them. A registry's places mostly make objects of both kinds: the code that encodes a segment makes
// the records a first full fetch keeps (so V8 decides to pretenure it) and, from then on, the transient strings of
// every segment a change re-encodes, which then pile up in the old generation. Measured on the zone-share benchmark
// (250,000 instances): objects promoted out of the young generation 4.9 → 1.7 MB/s, full collections every ~58 s
// instead of every ~30 s, the same CPU. Off by default (gcPretenuring); V8's default back with the setting.
import { setFlagsFromString } from 'node:v8';

/** The V8 flag; V8 13 (Node 24) has it, older releases reject it. */
export const EXTERNAL_MEMORY_FLAG = '--external-memory-accounted-in-global-limit';

/** The V8 flag that stops allocation-site pretenuring (every V8 since 2014 knows it). */
export const NO_PRETENURING_FLAG = '--no-allocation-site-pretenuring';
export const PRETENURING_FLAG = '--allocation-site-pretenuring';

/**
 * Counts buffers in V8's global heap limit, when this V8 knows the flag (13 and later; Node 24); returns whether it
 * did.
 */
export function countExternalMemoryInHeapLimit(v8Version = process.versions.v8): boolean {
  if (Number(v8Version.split('.')[0]) < 13) return false;
  setFlagsFromString(EXTERNAL_MEMORY_FLAG);
  return true;
}

/**
 * Stops V8 from allocating objects directly in the old generation because of where they are made. V8 reads the flag
 * whenever it weighs its survival counts (after young collections), so it takes effect when set at run time; but a
 * decision made before stays, so the command line entry sets it before loading the rest of the server (set after
 * the modules had loaded, the zone-share benchmark promoted 88 MB in 20 s instead of 25-32).
 */
export function stopAllocationSitePretenuring(): void {
  setFlagsFromString(NO_PRETENURING_FLAG);
}

/** V8's default again (gcPretenuring). */
export function restoreAllocationSitePretenuring(): void {
  setFlagsFromString(PRETENURING_FLAG);
}
