// Eureka XML as XStream writes it (Converters.java: element order, `overriddenstatus`, `enabled`/`class` attributes,
// `_`→`__` / `$`→`_-` name coding), and XML registration bodies. Output is compact (no indentation, no XML
// declaration, like XStream's toXML without its pretty-printing whitespace, which no parser needs).
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ApplicationPart, FragmentEncoder, Pieces, splicedEncoder, WHOLE_APPLICATION } from './record-fragments';
import { InstanceView, PortInfo } from '../domain/model';
import { DecodedInstance, decodeInstance, DecodeDefaults, DecodeError, UnparseableBodyError } from './instance-decoder';
import { DEFAULT_BODY_SHAPE, MALFORMED, MAX_BODY_DEPTH, xmlShapeError } from './body-shape';

const EMPTY_METADATA = '<metadata class="java.util.Collections$EmptyMap"/>';

// ---------------------------------------------------------------------------------------------------------------
// Text escaping

/** Characters that need an escape, or that XML 1.0 cannot carry at all (C0 controls, lone surrogates, U+FFFE/F). */
const NEEDS_ESCAPE = /[&<>"'\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;
const ESCAPES = /[\uD800-\uDBFF][\uDC00-\uDFFF]|[&<>"'\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/g;

function escapeOne(c: string): string {
  switch (c) {
    case '&':
      return '&amp;';
    case '<':
      return '&lt;';
    case '>':
      return '&gt;';
    case '"':
      return '&quot;';
    case "'":
      return '&apos;';
    case '\r':
      return '&#xd;'; // as XStream's PrettyPrintWriter; keeps the CR through parsers' newline normalisation
    default:
      // A valid surrogate pair passes; anything XML 1.0 cannot represent becomes U+FFFD (XStream would throw).
      return c.length === 2 ? c : '\uFFFD';
  }
}

/** Escapes text content and attribute values (`&`, `<`, `>`, `"`, `'`, CR; unrepresentable characters → U+FFFD). */
export function escapeXml(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPES, escapeOne) : s;
}

// ---------------------------------------------------------------------------------------------------------------
// XStream's XmlFriendlyNameCoder, for metadata keys used as element names

/** Names that need no coding: the common case, checked with one regex. */
const PLAIN_NAME = /^[A-Za-z][A-Za-z0-9.-]*$/;

const isNameStartChar = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) ||
  (c >= 0x41 && c <= 0x5a) ||
  (c >= 0xc0 && c <= 0xd6) ||
  (c >= 0xd8 && c <= 0xf6) ||
  (c >= 0xf8 && c <= 0x2ff) ||
  (c >= 0x370 && c <= 0x37d) ||
  (c >= 0x37f && c <= 0x1fff) ||
  c === 0x200c ||
  c === 0x200d ||
  (c >= 0x2070 && c <= 0x218f) ||
  (c >= 0x2c00 && c <= 0x2fef) ||
  (c >= 0x3001 && c <= 0xd7ff) ||
  (c >= 0xf900 && c <= 0xfdcf) ||
  (c >= 0xfdf0 && c <= 0xfffd);

const isNameChar = (c: number): boolean =>
  isNameStartChar(c) || c === 0x2d || c === 0x2e || (c >= 0x30 && c <= 0x39) || c === 0xb7 || (c >= 0x300 && c <= 0x36f) || c === 0x203f || c === 0x2040;

/**
 * Encodes a map key as an element name the way XStream does: `$` → `_-`, `_` → `__`, and every UTF-16 unit that is
 * not legal at its position → `_.` + 4 lower-case hex digits (XStream's own escape, which its decoder reverses).
 * Unlike XStream we also escape `:` (so namespace-aware parsers accept the output) and check every character
 * (XStream's fast path lets e.g. a space or a leading digit through unescaped, producing malformed XML).
 */
export function encodeXmlName(key: string): string {
  if (PLAIN_NAME.test(key)) return key;
  let out = '';
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 0x24) out += '_-';
    else if (c === 0x5f) out += '__';
    else if (i === 0 ? isNameStartChar(c) : isNameChar(c)) out += key[i];
    else out += '_.' + c.toString(16).padStart(4, '0');
  }
  return out;
}

/** Reverses {@link encodeXmlName} (and XStream's coder); a lone `_` or a malformed `_.` escape stays as it is. */
export function decodeXmlName(name: string): string {
  if (name.indexOf('_') < 0) return name;
  return name.replace(/_(?:_|-|\.([0-9a-fA-F]{4}))/g, (m: string, hex: string | undefined) =>
    hex !== undefined ? String.fromCharCode(parseInt(hex, 16)) : m === '__' ? '_' : '$',
  );
}

function mapXml(map: Readonly<Record<string, string>>): string {
  let out = '';
  for (const key in map) {
    // An empty key has no element-name form (XStream would write a malformed `<>`); it is left out of XML.
    if (key === '') continue;
    const name = encodeXmlName(key);
    out += `<${name}>${escapeXml(map[key])}</${name}>`;
  }
  return out;
}

function metadataXml(map: Readonly<Record<string, string>> | undefined): string {
  const body = map ? mapXml(map) : '';
  return body === '' ? EMPTY_METADATA : `<metadata>${body}</metadata>`;
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

const portXml = (name: string, p: PortInfo): string => `<${name} enabled="${p.enabled}">${p.port}</${name}>`;
const element = (name: string, value: string): string => `<${name}>${escapeXml(value)}</${name}>`;
const optional = (name: string, value: string | undefined): string => (value === undefined ? '' : element(name, value));

const instanceFragments: FragmentEncoder = (r) => {
  const i = r.instance;
  const dc = i.dataCenterInfo;
  const head =
    '<instance>' +
    optional('instanceId', i.instanceId) +
    element('hostName', i.hostName) +
    element('app', i.app) +
    element('ipAddr', i.ipAddr) +
    (i.sid !== undefined && i.sid !== 'na' && i.sid !== 'unknown' ? element('sid', i.sid) : '') +
    `<status>${i.status}</status><overriddenstatus>${i.overriddenStatus}</overriddenstatus>` +
    portXml('port', i.port) +
    portXml('securePort', i.securePort) +
    `<countryId>${i.countryId}</countryId>` +
    `<dataCenterInfo class="${escapeXml(dc.className)}">${element('name', dc.name)}` +
    // XStream writes data-center metadata for Amazon only (always, with the empty-map marker when empty).
    (dc.name === 'Amazon' ? metadataXml(dc.metadata) : '') +
    '</dataCenterInfo>' +
    `<leaseInfo><renewalIntervalInSecs>${i.renewalIntervalSecs}</renewalIntervalInSecs><durationInSecs>${i.durationSecs}</durationInSecs>` +
    `<registrationTimestamp>${r.registrationTimestamp}</registrationTimestamp><lastRenewalTimestamp>`;
  const tail =
    `</lastRenewalTimestamp><evictionTimestamp>${r.evictionTimestamp}</evictionTimestamp>` +
    `<serviceUpTimestamp>${r.serviceUpTimestamp}</serviceUpTimestamp></leaseInfo>` +
    metadataXml(i.metadata) +
    optional('appGroupName', i.appGroupName) +
    optional('homePageUrl', i.homePageUrl) +
    optional('statusPageUrl', i.statusPageUrl) +
    optional('healthCheckUrl', i.healthCheckUrl) +
    optional('secureHealthCheckUrl', i.secureHealthCheckUrl) +
    optional('vipAddress', i.vipAddress) +
    optional('secureVipAddress', i.secureVipAddress) +
    // Our server never registers itself, so no record is the coordinating discovery server.
    '<isCoordinatingDiscoveryServer>false</isCoordinatingDiscoveryServer>' +
    `<lastUpdatedTimestamp>${r.lastUpdatedTimestamp}</lastUpdatedTimestamp><lastDirtyTimestamp>${i.lastDirtyTimestamp}</lastDirtyTimestamp>` +
    `<actionType>${r.actionType}</actionType>` +
    optional('asgName', i.asgName) +
    '</instance>';
  return [head, tail] as const;
};

const instanceEncoder = splicedEncoder(instanceFragments);

/** One `<instance>` element. */
export const instanceXml = (view: InstanceView): string => instanceEncoder.text(view);

/** The `<instance>` document (GET /apps/{app}/{id}, /instances/{id}); the same element as {@link instanceXml}. */
export function instanceDocumentXml(view: InstanceView): string {
  return instanceXml(view);
}

/** Appends one `<application>` element of an `<applications>` document (`remember`: see SplicedEncoder.write). */
export function writeApplicationXml(out: Pieces, name: string, views: Iterable<InstanceView>, remember = true): void {
  writeApplicationPartXml(out, name, views, WHOLE_APPLICATION, remember);
}

/** A run of an application's instances, as writeApplicationPartJson (XML needs no separator between instances). */
export function writeApplicationPartXml(out: Pieces, name: string, views: Iterable<InstanceView>, part: ApplicationPart, remember = true): void {
  if (part.first) out.add(`<application><name>${escapeXml(name)}</name>`);
  for (const v of views) instanceEncoder.write(v, out, remember);
  if (part.last) out.add('</application>');
}

/** `<application>…</application>` (GET /apps/{app}) as pieces. */
export function applicationPiecesXml(name: string, views: Iterable<InstanceView>): Pieces {
  const out = new Pieces();
  writeApplicationXml(out, name, views);
  return out;
}

/** The `<applications>` document up to its first application. */
export const applicationsHeadXml = (versionsDelta: number, hashcode: string): string =>
  `<applications><versions__delta>${versionsDelta}</versions__delta><apps__hashcode>${escapeXml(hashcode)}</apps__hashcode>`;

/** What ends the `<applications>` document. */
export const APPLICATIONS_TAIL_XML = '</applications>';

/** The `<applications>` document (full registry, delta, VIPs) as pieces. */
export function applicationsPiecesXml(apps: Iterable<readonly [string, Iterable<InstanceView>]>, versionsDelta: number, hashcode: string): Pieces {
  const out = new Pieces().add(applicationsHeadXml(versionsDelta, hashcode));
  for (const [name, views] of apps) writeApplicationXml(out, name, views);
  return out.add(APPLICATIONS_TAIL_XML);
}

/** `<application><name>…</name><instance>…</instance>…</application>` (GET /apps/{app}). */
export function applicationDocumentXml(name: string, views: Iterable<InstanceView>): string {
  return applicationPiecesXml(name, views).toString();
}

/** The `<applications>` document (full registry, delta, VIPs). */
export function applicationsDocumentXml(apps: Iterable<readonly [string, Iterable<InstanceView>]>, versionsDelta: number, hashcode: string): string {
  return applicationsPiecesXml(apps, versionsDelta, hashcode).toString();
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

const XML_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const ENTITY_REF = /&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z][A-Za-z0-9._-]*)?(;?)/g;

const isXmlChar = (cp: number): boolean =>
  cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);

/** The five predefined entities and character references; anything else (incl. DTD-declared entities) is an error. */
function decodeEntities(text: string): string {
  if (text.indexOf('&') < 0) return text;
  return text.replace(ENTITY_REF, (_m: string, ref: string | undefined, semi: string) => {
    if (ref === undefined || semi !== ';') throw new UnparseableBodyError();
    if (ref.charCodeAt(0) !== 0x23) {
      const named = XML_ENTITIES[ref];
      if (named === undefined) throw new UnparseableBodyError();
      return named;
    }
    const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    if (!isXmlChar(cp)) throw new UnparseableBodyError();
    return String.fromCodePoint(cp);
  });
}

// fast-xml-parser refuses these names outright (prototype pollution guard); they are legal XML names, so they are
// marked with a character no XML name can contain and unmarked where names become data (metadata keys).
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const RESERVED_MARK = '#';
const markReserved = (name: string): string => (RESERVED_NAMES.has(name) ? RESERVED_MARK + name : name);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  textNodeName: '$',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_BODY_DEPTH,
  processEntities: true,
  // Stateless: predefined entities and character references only; DTD entities are never expanded.
  entityDecoder: {
    decode: decodeEntities,
    reset: () => undefined,
    setXmlVersion: () => undefined,
    setExternalEntities: () => undefined,
    addInputEntities: () => undefined,
  },
  transformTagName: markReserved,
  transformAttributeName: markReserved,
  // Keep `toString`, `valueOf`, … as they are (the default renames them): they may be metadata keys.
  onDangerousProperty: (name: string) => name,
});

/** A DTD: no Eureka client sends one; refusing it rules out entity-expansion ("billion laughs") and external entities. */
const DTD = /<!(?:DOCTYPE|ENTITY)/i;

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Metadata children with their XStream names decoded; attributes (the `class` marker) and stray text dropped. */
function decodeMetadata(value: unknown): unknown {
  if (!isObject(value)) return value;
  const out: Raw = Object.create(null) as Raw;
  for (const [name, v] of Object.entries(value)) {
    if (name.startsWith('@') || name === '$') continue;
    const key = decodeXmlName(name.startsWith(RESERVED_MARK) ? name.slice(1) : name);
    // A repeated key: the last one wins, as in XStream's HashMap.
    out[key] = Array.isArray(v) ? v[v.length - 1] : v;
  }
  return out;
}

/** Parses an XML registration body (root `<instance>`) and normalises the instance. Throws DecodeError, also for a body over its shape caps (`defaults.shape`). */
export function decodeInstanceXml(body: string, defaults: DecodeDefaults): DecodedInstance {
  // fast-xml-parser's cost grows with elements and attributes far faster than with bytes: count them first.
  const tooCostly = xmlShapeError(body, defaults.shape ?? DEFAULT_BODY_SHAPE);
  if (tooCostly !== undefined) throw tooCostly === MALFORMED ? new UnparseableBodyError() : new DecodeError(tooCostly);
  let doc: unknown;
  try {
    if (DTD.test(body) || XMLValidator.validate(body) !== true) throw new UnparseableBodyError();
    doc = parser.parse(body);
  } catch {
    throw new UnparseableBodyError();
  }
  const roots = isObject(doc) ? Object.keys(doc) : [];
  const root = roots.length === 1 ? (doc as Raw)[roots[0]] : undefined;
  if (!isObject(root)) throw new UnparseableBodyError();
  const instance: Raw = { ...root, metadata: decodeMetadata(root['metadata']) };
  const dc = root['dataCenterInfo'];
  if (isObject(dc) && dc['metadata'] !== undefined) instance['dataCenterInfo'] = { ...dc, metadata: decodeMetadata(dc['metadata']) };
  return decodeInstance(instance, defaults);
}
