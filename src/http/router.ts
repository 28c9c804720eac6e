// A small path router for the Eureka API: the route table is the one routing truth; matching is a segment walk,
// cheap enough for the heartbeat and fetch hot paths (express costs several times the CPU per request on them).

/** Path parameters by name. */
export type Params = Record<string, string>;

/** One route: method, pattern like `/apps/:app/:id`, and what to call. */
export interface Route<H> {
  readonly method: string;
  readonly pattern: string;
  readonly handler: H;
}

interface Compiled<H> {
  readonly route: Route<H>;
  readonly segments: readonly string[];
}

/** Result of a lookup. */
export type Match<H> = { readonly route: Route<H>; readonly params: Params } | { readonly notAllowed: true } | undefined;

/** Thrown for a path segment that is not valid percent-encoding. */
export class BadPathError extends Error {}

export class Router<H> {
  // Routes grouped by segment count; literal routes come first within a group (e.g. /apps/delta before /apps/:app).
  private readonly bySize = new Map<number, Compiled<H>[]>();

  constructor(routes: readonly Route<H>[]) {
    for (const route of routes) {
      const segments = route.pattern.split('/').filter(Boolean);
      const list = this.bySize.get(segments.length) ?? [];
      list.push({ route, segments });
      this.bySize.set(segments.length, list);
    }
    for (const list of this.bySize.values()) list.sort((a, b) => paramCount(a.segments) - paramCount(b.segments));
  }

  /** Matches a path (without prefix or query; trailing slash ignored); undefined when no route has this shape. */
  match(method: string, path: string): Match<H> {
    const segments = path.split('/').filter(Boolean);
    const candidates = this.bySize.get(segments.length);
    if (!candidates) return undefined;
    let pathMatched = false;
    for (const c of candidates) {
      const params = matchSegments(c.segments, segments);
      if (!params) continue;
      if (c.route.method !== method) {
        pathMatched = true;
        continue;
      }
      return { route: c.route, params };
    }
    return pathMatched ? { notAllowed: true } : undefined;
  }
}

function paramCount(segments: readonly string[]): number {
  return segments.filter((s) => s.startsWith(':')).length;
}

function matchSegments(pattern: readonly string[], actual: readonly string[]): Params | undefined {
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p.startsWith(':')) params[p.slice(1)] = decodeSegment(actual[i]);
    else if (p !== actual[i]) return undefined;
  }
  return params;
}

function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadPathError(`Malformed path segment ${segment.slice(0, 40)}`);
  }
}
