// Time as a dependency: the core never reads the wall clock, it is handed a Clock.

/** A source of the current time in epoch milliseconds. */
export interface Clock {
  now(): number;
}

/** The wall clock: the one place in the server and the client library that reads Date.now(). */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to: for tests and simulations. */
export class ManualClock implements Clock {
  constructor(private current = 1_700_000_000_000) {}
  now(): number {
    return this.current;
  }
  /** Moves time forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.current += ms;
  }
  set(ms: number): void {
    this.current = ms;
  }
}
