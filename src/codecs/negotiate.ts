// Content negotiation exactly as Eureka decides it: JSON when Accept contains "json", otherwise XML
// (so curl's */* gets XML); gzip when Accept-Encoding allows it. Never forced, never 406.

/** Wire format of a response. */
export type Format = 'json' | 'xml';

/** JSON iff the Accept header contains "json" (ApplicationsResource's substring test). */
export function formatFor(accept: string | undefined): Format {
  return accept !== undefined && accept.includes('json') ? 'json' : 'xml';
}

/** True when Accept-Encoding lists gzip without q=0. */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  for (const part of acceptEncoding.split(',')) {
    const [coding, ...params] = part.trim().split(';');
    if (coding.trim().toLowerCase() !== 'gzip' && coding.trim() !== '*') continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return !qParam || Number(qParam.slice(2)) > 0;
  }
  return false;
}

/** Content-Type header for a format. */
export function contentTypeFor(format: Format): string {
  return format === 'json' ? 'application/json' : 'application/xml';
}
