// Async ids made before the server does anything, so that Node's tick objects keep one shape.
//
// Every `process.nextTick` (eight of them per request in Node's HTTP machinery) builds a small object whose first
// field is a fresh async id, read from a Float64Array: a heap number or a small integer, depending on which code
// read it and whether V8 had optimized that code yet. V8 records the shape of that object where nextTick defines
// its fields and, for this kind of record, gives up at the first other shape it meets ("megamorphic"): from then on
// the optimized nextTick defines every field of every tick object through the runtime. Whether that happens depends
// on the order in which V8 optimized what makes ids, hence on what the process did before its first requests.
// Measured with heartbeats over kept connections: a server with 8 listening sockets ended up that way in 5 runs of 6
// (the record megamorphic; a probe of 200,000 nextTick calls ~500 ns each instead of ~150; heartbeats 23.7 µs of CPU
// each instead of 16.9, 20-25 % fewer a second), a server with one socket in none of 12. With ids made first, before
// the server's own code runs, 8 sockets kept the fast record in every run (26 of 26 on the built server, heartbeats
// as cheap as with one socket) and one socket in 24 of 26: the warm-up makes the slow record rare, it does not rule
// it out, and which step inside V8 it settles was not traced further. 3,000 ids were not always enough (1 run of 6
// slow with 8 sockets); 20,000 take a few milliseconds.
import { AsyncResource } from 'node:async_hooks';

/** How many async ids the warm-up makes. */
export const ASYNC_ID_WARMUP = 20_000;

/** Makes `count` async ids (an AsyncResource each, dropped at once; without async hooks nothing else is done). */
export function warmAsyncIds(count: number = ASYNC_ID_WARMUP): number {
  let last = 0;
  for (let i = 0; i < count; i++) last = new AsyncResource('warm-up').asyncId();
  return last;
}
