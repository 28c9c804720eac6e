// Exhaustiveness: a switch over a union ends in unreachable(value), so a member nobody handles fails to compile.

/** Marks a branch the types prove cannot run: it only compiles when `value` is `never`; reaching it is a bug. */
export function unreachable(value: never): never {
  const kind = typeof value === 'object' && value !== null && 'type' in value ? (value as { type: unknown }).type : value;
  throw new Error(`unreachable: unhandled ${String(kind)}`);
}
