// How V8 decides what to collect and when, for a server that holds a large registry for hours and makes a steady
// stream of short-lived objects and buffers. The switches are process-wide, so the command line entry applies them:
// its defaults before it loads the rest of the server, the configured values once it has read them.
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
// (250,000 instances): objects promoted out of the young generation in 20 s 98 → 25-32 MB, full collections every
// ~80 s instead of every ~30 s, the same CPU. Off by default (gcPretenuring); V8's default back with the setting. A
// place decided on while the modules load stays pretenured: set after the modules had loaded, the same benchmark
// promoted 88 MB in 20 s instead of 25-32, hence before.
//
// How far the old generation grows between full collections. V8 picks the factor from how fast it collects and how
// fast the program allocates, for throughput: under the zone share's steady load it sometimes chose about 3 % (8 MB
// over a 290 MB heap, its smallest step), a full collection every 16-20 s, each stalling the one core 0.3-0.45 s.
// gcHeapGrowingPercent fixes it (default 100: the old generation may double); the 64 MB of buffers that start a
// collection on their own still come first at that load (every ~80 s).
import { setFlagsFromString } from 'node:v8';
import { Settings } from '../config/settings';

/** The V8 flag; V8 13 (Node 24) has it, older releases reject it. */
export const EXTERNAL_MEMORY_FLAG = '--external-memory-accounted-in-global-limit';

/** The V8 flags that stop and restore allocation-site pretenuring (every V8 since 2014 knows them). */
export const NO_PRETENURING_FLAG = '--no-allocation-site-pretenuring';
export const PRETENURING_FLAG = '--allocation-site-pretenuring';

/** The settings that tune V8's collector. */
export type GcSettings = Pick<Settings, 'gcPretenuring' | 'gcHeapGrowingPercent' | 'gcCountsExternalMemory'>;

/** The V8 flag fixing the old generation's growth factor (0: V8 picks it). */
export const heapGrowingFlag = (percent: number): string => `--heap-growing-percent=${percent}`;

/**
 * Sets V8's collector as `settings` say. V8 reads these flags each time it decides (after collections), so they take
 * effect when set at run time; calling it again with other values changes them (buffers, once counted, stay counted).
 */
export function applyGcSettings(settings: GcSettings, v8Version = process.versions.v8): void {
  setFlagsFromString(settings.gcPretenuring ? PRETENURING_FLAG : NO_PRETENURING_FLAG);
  setFlagsFromString(heapGrowingFlag(settings.gcHeapGrowingPercent));
  if (settings.gcCountsExternalMemory) countExternalMemoryInHeapLimit(v8Version);
}

/**
 * Counts buffers in V8's global heap limit, when this V8 knows the flag (13 and later; Node 24); returns whether it
 * did.
 */
export function countExternalMemoryInHeapLimit(v8Version = process.versions.v8): boolean {
  if (Number(v8Version.split('.')[0]) < 13) return false;
  setFlagsFromString(EXTERNAL_MEMORY_FLAG);
  return true;
}
