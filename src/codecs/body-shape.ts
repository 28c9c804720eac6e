// Caps on the shape of a registration body (XML elements, attributes, character references, JSON values, nesting),
// checked by one linear scan of the text before the parser runs, so that every body within maxBodyBytes that gets
// as far as the parser parses in a small, bounded time. Parser cost grows with markup, not bytes.

/** Caps for {@link jsonShapeError}. */
export interface JsonShapeCaps {
  /** Most values inside objects and arrays in the whole text (counted as commas plus opened containers). */
  readonly maxEntries: number;
  /** Most keys in any one object: JSON.parse slows down more than linearly as one object grows (100,000 keys: ~250 ms). */
  readonly maxKeysPerObject: number;
  /** Deepest nesting of JSON objects and arrays, or of XML elements. */
  readonly maxDepth: number;
}

/** Caps on a registration body's shape, XML or JSON; derive them with {@link bodyShapeLimits}. */
export interface BodyShapeLimits extends JsonShapeCaps {
  /** Most XML elements, counting comments, CDATA sections and processing instructions too. */
  readonly maxElements: number;
  /** Most XML attributes in the whole body. */
  readonly maxAttributes: number;
  /** Most XML entity and character references (`&amp;`, `&#65;`) in the whole body. */
  readonly maxReferences: number;
}

// What a real registration needs. XStream writes ~34 elements besides the metadata entries (instance fields,
// dataCenterInfo, leaseInfo and their children), plus up to ~17 Amazon data-center metadata entries; Jackson's JSON
// has as many values. Rounded up to 64.
const INSTANCE_NODES = 64;
// XStream writes `enabled` on both ports and `class` on dataCenterInfo and on empty maps: at most 5.
const MAX_ATTRIBUTES = 64;
// URLs with query strings and metadata values with quotes (XStream escapes `"` and `'` in text too).
const MAX_REFERENCES = 512;
/**
 * The deepest nesting any registration body may have (elements or JSON containers). instance > dataCenterInfo >
 * metadata > entry is 4 deep, as is `{"instance":{"dataCenterInfo":{"metadata":{}}}}`, or 5 inside a peer's batch.
 */
export const MAX_BODY_DEPTH = 16;

/**
 * The caps for a server that accepts `maxMetadataEntries` metadata entries per instance: twice what the largest
 * valid registration needs (every instance field, an Amazon data center and all the metadata), so no real client is
 * refused, while a hostile body cannot make the parser do much more work than that.
 */
export function bodyShapeLimits(maxMetadataEntries: number): BodyShapeLimits {
  const nodes = 2 * (INSTANCE_NODES + maxMetadataEntries);
  return { maxElements: nodes, maxAttributes: MAX_ATTRIBUTES, maxReferences: MAX_REFERENCES, maxEntries: nodes, maxKeysPerObject: nodes, maxDepth: MAX_BODY_DEPTH };
}

/** The caps at the default maxMetadataEntries (128): 384 elements or JSON values, 64 attributes, 512 references, depth 16. */
export const DEFAULT_BODY_SHAPE: BodyShapeLimits = bodyShapeLimits(128);

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const EQUALS = 0x3d;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** The verdict for markup that cannot be well-formed (the same reply as any unparseable body). */
export const MALFORMED = 'cannot parse request body';

/**
 * Why an XML body is over a cap (a short 400 message) or cannot be well-formed ({@link MALFORMED}), or undefined.
 * One pass: jumps from `<` to `<`, walks start tags to count attributes outside quoted values, skips comments, CDATA
 * and processing instructions whole, then counts `&`. The counts are exact for well-formed XML; the rest of
 * well-formedness is left to the validator.
 */
export function xmlShapeError(xml: string, caps: BodyShapeLimits): string | undefined {
  const n = xml.length;
  let elements = 0;
  let attributes = 0;
  let depth = 0;
  for (let i = xml.indexOf('<'); i >= 0; ) {
    const next = xml.charCodeAt(i + 1);
    let end: number;
    if (next === SLASH) {
      depth--;
      end = xml.indexOf('>', i + 2);
    } else {
      if (++elements > caps.maxElements) return `Too many XML elements (limit ${caps.maxElements})`;
      if (next === QUESTION || next === BANG) {
        // Any other `<!` is a DTD declaration, which no Eureka client sends.
        const close = next === QUESTION ? '?>' : xml.startsWith('<!--', i) ? '-->' : xml.startsWith('<![CDATA[', i) ? ']]>' : undefined;
        if (close === undefined) return MALFORMED;
        end = xml.indexOf(close, i + 2);
        if (end >= 0) end += close.length - 1;
      } else {
        let quote = 0;
        end = -1;
        for (let k = i + 1; k < n; k++) {
          const c = xml.charCodeAt(k);
          if (quote !== 0) {
            if (c === quote) quote = 0;
          } else if (c === GT) {
            end = k;
            break;
          } else if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) quote = c;
          else if (c === EQUALS) {
            if (++attributes > caps.maxAttributes) return `Too many XML attributes (limit ${caps.maxAttributes})`;
          } else if (c === LT) return MALFORMED;
        }
        if (end >= 0 && xml.charCodeAt(end - 1) !== SLASH && ++depth > caps.maxDepth) return `XML nested too deeply (limit ${caps.maxDepth})`;
      }
    }
    if (end < 0) return MALFORMED;
    i = xml.indexOf('<', end + 1);
  }
  let references = 0;
  for (let a = xml.indexOf('&'); a >= 0; a = xml.indexOf('&', a + 1)) {
    if (++references > caps.maxReferences) return `Too many XML character references (limit ${caps.maxReferences})`;
  }
  return undefined;
}

/** True when the quote at `at` is escaped: preceded by an odd run of backslashes. */
function escaped(json: string, at: number): boolean {
  let k = at - 1;
  while (k >= 0 && json.charCodeAt(k) === BACKSLASH) k--;
  return ((at - 1 - k) & 1) === 1;
}

/**
 * Where the JSON string opened by the quote at `open` ends (its closing quote), or -1 when it never does. Found with
 * `indexOf`, a native search, rather than by reading every character of the string.
 */
export function closingQuote(json: string, open: number): number {
  let close = json.indexOf('"', open + 1);
  while (close >= 0 && escaped(json, close)) close = json.indexOf('"', close + 1);
  return close;
}

/**
 * The JSON caps of a peer's replication batch (`{"replicationList":[{…,"instanceInfo":{…}}]}`), whose size only
 * maxBodyBytes bounds: no object larger or deeper than a registration may carry. Long arrays parse in linear time.
 */
export const replicationBatchJsonCaps = (caps: BodyShapeLimits): JsonShapeCaps => ({ maxEntries: Number.MAX_SAFE_INTEGER, maxKeysPerObject: caps.maxEntries, maxDepth: caps.maxDepth });

/**
 * Why a JSON text is over a cap (a short 400 message), or undefined. One pass that jumps over strings; malformed
 * JSON is left to JSON.parse. Safe to run on any JSON body before JSON.parse (16 MB: ~100 ms, about half of
 * JSON.parse on a well-shaped batch).
 */
export function jsonShapeError(json: string, caps: JsonShapeCaps): string | undefined {
  const { maxEntries, maxKeysPerObject, maxDepth } = caps;
  const n = json.length;
  // Per open container: its keys so far, or -1 for an array (depth is bounded, so these stay small).
  const keys: number[] = [-1];
  let entries = 0;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = json.charCodeAt(i);
    if (c === DOUBLE_QUOTE) {
      const close = closingQuote(json, i);
      if (close < 0) return undefined;
      i = close;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return `JSON nested too deeply (limit ${maxDepth})`;
      if (++entries > maxEntries) return `Too many JSON values (limit ${maxEntries})`;
      keys[depth] = c === OPEN_BRACE ? 1 : -1;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth > 0) depth--;
    } else if (c === COMMA) {
      if (++entries > maxEntries) return `Too many JSON values (limit ${maxEntries})`;
      if (keys[depth] >= 0 && ++keys[depth] > maxKeysPerObject) return `Too many keys in one JSON object (limit ${maxKeysPerObject})`;
    }
  }
  return undefined;
}
