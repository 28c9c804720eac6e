// The watch's query parameters as values: a revision (`since`, Last-Event-ID) and a wait (`30s`, `500ms`, `5m`, or a
// bare number of seconds). Unparseable input is an error message for a 400, never an exception.

/** A parsed parameter, or the message of the 400 it earns. */
export type Parsed<T> = { readonly value: T } | { readonly error: string };

const REVISION = /^\d{1,16}$/;
const WAIT = /^(\d{1,9})(ms|s|m)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** A revision: a decimal integer from 0 to 2^53 − 1. */
export function parseRevision(raw: string, name: string): Parsed<number> {
  const value = REVISION.test(raw) ? Number(raw) : NaN;
  return Number.isSafeInteger(value) ? { value } : { error: `${name} must be a revision: a whole number from 0 (got ${JSON.stringify(raw.slice(0, 40))})` };
}

/** A wait in ms from `30s`, `500ms`, `5m` or `30` (seconds). */
export function parseWaitMs(raw: string): Parsed<number> {
  const match = WAIT.exec(raw);
  if (match === null) return { error: `wait must be a duration like 30s, 500ms or 5m (got ${JSON.stringify(raw.slice(0, 40))})` };
  return { value: Number(match[1]) * UNIT_MS[match[2] ?? 's'] };
}
