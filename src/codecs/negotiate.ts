// Content negotiation exactly as Eureka decides it: JSON when Accept contains "json", otherwise XML
// (so curl's */* gets XML); gzip when Accept-Encoding allows it. Never forced, never 406.

/** Wire format of a response. */
export type Format = 'json' | 'xml';

/** JSON iff the Accept header contains "json" (ApplicationsResource's substring test). */
export function formatFor(accept: string | undefined): Format {
  return accept !== undefined && accept.includes('json') ? 'json' : 'xml';
}

// Clients send a handful of distinct Accept-Encoding values; each is parsed once.
const gzipAnswers = new Map<string, boolean>();

/** True when Accept-Encoding allows gzip: listed without q=0, or covered by `*` when gzip is not listed. */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  let answer = gzipAnswers.get(acceptEncoding);
  if (answer === undefined) {
    answer = parseAcceptsGzip(acceptEncoding);
    if (gzipAnswers.size < 256) gzipAnswers.set(acceptEncoding, answer);
  }
  return answer;
}

function parseAcceptsGzip(acceptEncoding: string): boolean {
  let wildcard: boolean | undefined;
  for (const part of acceptEncoding.split(',')) {
    const [coding, ...params] = part.split(';');
    const name = coding.trim().toLowerCase();
    if (name !== 'gzip' && name !== '*') continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const allowed = !qParam || Number(qParam.slice(2)) > 0;
    if (name === 'gzip') return allowed;
    wildcard = allowed;
  }
  return wildcard ?? false;
}

/** Content-Type header for a format. */
export function contentTypeFor(format: Format): string {
  return format === 'json' ? 'application/json' : 'application/xml';
}
