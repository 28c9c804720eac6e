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

interface Compiled<R> {
  readonly route: R;
  /** Literal segments, or undefined where the pattern has a parameter. */
  readonly literals: readonly (string | undefined)[];
  readonly names: readonly (string | undefined)[];
}

/** Result of a lookup: the route as declared (with whatever else the table states), and the path's parameters. */
export type Match<R> = { readonly route: R; readonly params: Params } | { readonly notAllowed: true } | undefined;

/** Thrown for a path segment that is not valid percent-encoding. */
export class BadPathError extends Error {}

/** Routes of type R (a Route<H> plus what the table declares about it), matched by method and path. */
export class Router<H, R extends Route<H> = Route<H>> {
  // Routes by method and segment count; literal routes first within a group (/apps/delta before /apps/:app).
  private readonly byMethod = new Map<string, Map<number, Compiled<R>[]>>();
  private readonly all: Compiled<R>[] = [];
  // Routes without parameters by method and path as written in the table (/apps/delta): the polls and fetches every
  // client makes are found by one lookup, without splitting the path. Any other spelling takes the segment walk.
  private readonly exact = new Map<string, Map<string, Match<R>>>();

  constructor(routes: readonly R[]) {
    for (const route of routes) {
      const segments = route.pattern.split('/').filter(Boolean);
      if (!segments.some((s) => s.startsWith(':'))) {
        const paths = this.exact.get(route.method) ?? new Map<string, Match<R>>();
        paths.set(`/${segments.join('/')}`, Object.freeze({ route, params: Object.freeze({}) }));
        this.exact.set(route.method, paths);
      }
      const compiled: Compiled<R> = {
        route,
        literals: segments.map((s) => (s.startsWith(':') ? undefined : s)),
        names: segments.map((s) => (s.startsWith(':') ? s.slice(1) : undefined)),
      };
      this.all.push(compiled);
      const bySize = this.byMethod.get(route.method) ?? new Map<number, Compiled<R>[]>();
      const list = bySize.get(segments.length) ?? [];
      list.push(compiled);
      list.sort((a, b) => paramCount(a) - paramCount(b));
      bySize.set(segments.length, list);
      this.byMethod.set(route.method, bySize);
    }
  }

  /** Matches a path (without prefix or query; trailing slash ignored); undefined when no route has this shape. */
  match(method: string, path: string): Match<R> {
    const exact = this.exact.get(method)?.get(path);
    if (exact !== undefined) return exact;
    const segments = splitPath(path);
    const candidates = this.byMethod.get(method)?.get(segments.length);
    if (candidates) {
      for (const c of candidates) {
        if (!literalsMatch(c, segments)) continue;
        const params: Params = {};
        for (let i = 0; i < segments.length; i++) {
          const name = c.names[i];
          if (name !== undefined) params[name] = decodeSegment(segments[i]);
        }
        return { route: c.route, params };
      }
    }
    // Rare path: tell a wrong method (405) from an unknown route (404).
    return this.all.some((c) => c.literals.length === segments.length && literalsMatch(c, segments)) ? { notAllowed: true } : undefined;
  }
}

function splitPath(path: string): string[] {
  // One leading and one trailing slash are trimmed by index; only doubled slashes need a filtering pass.
  const start = path.charCodeAt(0) === 47 ? 1 : 0;
  const end = path.length > start && path.charCodeAt(path.length - 1) === 47 ? path.length - 1 : path.length;
  if (end <= start) return [];
  const trimmed = start === 0 && end === path.length ? path : path.slice(start, end);
  const segments = trimmed.split('/');
  return trimmed.includes('//') || trimmed.startsWith('/') || trimmed.endsWith('/') ? segments.filter((s) => s !== '') : segments;
}

function literalsMatch<R>(c: Compiled<R>, segments: readonly string[]): boolean {
  for (let i = 0; i < segments.length; i++) {
    const literal = c.literals[i];
    if (literal !== undefined && literal !== segments[i]) return false;
  }
  return true;
}

function paramCount<R>(c: Compiled<R>): number {
  return c.names.filter((n) => n !== undefined).length;
}

function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadPathError(`Malformed path segment ${segment.slice(0, 40)}`);
  }
}
