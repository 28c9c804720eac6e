'use strict';
// Parse cost of registration bodies: a real 1 KB JSON registration, the real Java XML registration, and the most
// expensive shapes a hostile client can fit in a 64 KB body (many attributes, many elements, deep nesting, many
// entries) and the most expensive ones the shape caps still accept, each decoded as the registration route decodes
// it. Prints the median µs per decode, the outcome (accepted or the refusal message) and the ratios to the 1 KB JSON
// and the Java XML registrations.
// Usage: npm run build --silent && node bench/parse-cost.js   (PARSE_COST_ITERATIONS, default 300; PARSE_COST_DIST)
const fs = require('node:fs');
const path = require('node:path');
// PARSE_COST_DIST: another build's dist/ to time (e.g. before a change); bodies are still built with this one's caps.
const DIST = path.resolve(process.env.PARSE_COST_DIST ?? path.join(__dirname, '..', 'dist'));
const { decodeInstanceXml } = require(path.join(DIST, 'codecs', 'xml'));
const { decodeInstanceJson } = require(path.join(DIST, 'codecs', 'json'));

const ITERATIONS = Number(process.env.PARSE_COST_ITERATIONS ?? 300);
const MAX_BODY_BYTES = 65536;
const DEFAULTS = { renewalIntervalSecs: 30, durationSecs: 90, now: 1718000000000 };
const fixture = (name) => fs.readFileSync(path.join(__dirname, '..', 'test', 'fixtures', name), 'utf8');

const JAVA_XML = fixture('java-register.xml');
const JSON_1KB = fixture('clients/java-legacy.register.json');

/** Repeats `unit(i)` while the result stays within the body limit around `head`/`tail`. */
function fill(head, unit, tail, budget = MAX_BODY_BYTES, max = Infinity) {
  let body = head;
  for (let i = 0; i < max; i++) {
    const next = unit(i);
    if (body.length + next.length + tail.length > budget) break;
    body += next;
  }
  return body + tail;
}

const EMPTY_METADATA = '<metadata class="java.util.Collections$EmptyMap"/>';
const xmlIn = (inner) => JAVA_XML.replace('</instance>', `${inner}</instance>`);
const xmlMetadata = (entries) => JAVA_XML.replace(EMPTY_METADATA, `<metadata>${entries}</metadata>`);
const jsonIn = (inner) => JSON_1KB.replace(/\}\s*\}\s*$/, `,${inner}}}`);
const jsonMetadata = (entries) => JSON_1KB.replace('"metadata": { "@class": "java.util.Collections$EmptyMap" }', `"metadata":{${entries}}`);
/** The body with one existing value (appGroupName / asgName) grown until the body is 64 KB. */
const pad = (body, format) => {
  const room = MAX_BODY_BYTES - Buffer.byteLength(body);
  return format === 'xml' ? body.replace('<appGroupName>payments', `<appGroupName>payments${'x'.repeat(room)}`) : body.replace('"orders-v001"', `"orders-v001${'x'.repeat(room)}"`);
};

// The caps, when this build has them: bodies grow unit by unit while the shape check still accepts them.
/** @type {typeof import('../src/codecs/body-shape') | undefined} */
let shape;
try {
  // Resolved at run time from the build (npm run build), so type-checking needs no dist/.
  shape = require(require('node:path').join(__dirname, '..', 'dist', 'codecs', 'body-shape'));
} catch {
  shape = undefined;
}
const fits = (format, body) =>
  !shape ||
  (Buffer.byteLength(body) <= MAX_BODY_BYTES &&
    (format === 'xml' ? shape.xmlShapeError(body, shape.DEFAULT_BODY_SHAPE) : shape.jsonShapeError(body, shape.DEFAULT_BODY_SHAPE)) === undefined);
/** The largest `wrap(units 0..n-1)` that fits the caps and the body limit. */
function atCaps(format, wrap, unit, join = '') {
  let parts = [];
  for (;;) {
    const next = [...parts, unit(parts.length)];
    if (!fits(format, wrap(next.join(join))) || next.length > 20000) return wrap(parts.join(join));
    parts = next;
  }
}

/** [name, format, body] */
const bodies = [
  ['1 KB JSON registration (java-legacy)', 'json', JSON_1KB],
  ['Java XML registration (java-register.xml)', 'xml', JAVA_XML],
  ['Amazon XML registration', 'xml', fixture('java-register-amazon.xml')],
  ['XML: 128 metadata entries (at maxMetadataEntries)', 'xml', xmlMetadata(Array.from({ length: 128 }, (_, i) => `<key${i}>value-${i}</key${i}>`).join(''))],
  ['JSON: 128 metadata entries (at maxMetadataEntries)', 'json', jsonMetadata(Array.from({ length: 128 }, (_, i) => `"key${i}":"value-${i}"`).join(','))],
  // Hostile shapes filling the 64 KB body limit.
  ['XML: 5,000 attributes on <instance> (the attack)', 'xml', fill('<instance', (i) => ` a${i}=""`, '/>', MAX_BODY_BYTES, 5000)],
  ['XML: attributes on <instance> to 64 KB', 'xml', fill('<instance', (i) => ` a${i}=""`, '/>')],
  ['XML: attributes on many elements to 64 KB', 'xml', fill('<instance>', () => '<x a="" b="" c="" d=""/>', '</instance>')],
  ['XML: distinct metadata elements to 64 KB', 'xml', xmlMetadata(fill('', (i) => `<k${i}/>`, '', MAX_BODY_BYTES - JAVA_XML.length))],
  ['XML: repeated empty elements to 64 KB', 'xml', fill('<instance>', () => '<a/>', '</instance>')],
  ['XML: deep nesting 30, repeated to 64 KB', 'xml', fill('<instance>', () => '<a>'.repeat(30) + '</a>'.repeat(30), '</instance>')],
  ['XML: character references to 64 KB', 'xml', fill('<instance><app>', () => '&#65;', '</app></instance>')],
  ['XML: comments to 64 KB', 'xml', fill('<instance><app>a', () => '<!---->', '</app></instance>')],
  ['XML: one 64 KB text value', 'xml', pad(JAVA_XML, 'xml')],
  ['JSON: metadata keys to 64 KB', 'json', jsonMetadata(fill('', (i) => `${i ? ',' : ''}"k${i}":""`, '', MAX_BODY_BYTES - JSON_1KB.length))],
  ['JSON: top-level keys to 64 KB', 'json', fill('{"instance":{', (i) => `"k${i}":0,`, '"app":"A"}}')],
  ['JSON: array items to 64 KB', 'json', jsonIn(fill('"x":[', () => '0,', '0]', MAX_BODY_BYTES - JSON_1KB.length))],
  ['JSON: nesting to 64 KB', 'json', jsonIn(`"x":${'['.repeat(16000)}${']'.repeat(16000)}`)],
  ['JSON: empty objects to 64 KB', 'json', jsonIn(fill('"x":[', () => '{},', '{}]', MAX_BODY_BYTES - JSON_1KB.length))],
  ['JSON: one 64 KB string', 'json', pad(JSON_1KB, 'json')],
];
if (shape) {
  // The most expensive bodies the caps still accept.
  const attrs = (n) => Array.from({ length: n }, (_, i) => ` a${i}="v"`).join('');
  bodies.push(
    ['at caps, XML: distinct metadata elements', 'xml', atCaps('xml', xmlMetadata, (i) => `<key${i}>value-${i}</key${i}>`)],
    ['at caps, XML: distinct metadata elements + 64 KB text', 'xml', pad(atCaps('xml', xmlMetadata, (i) => `<key${i}>value-${i}</key${i}>`), 'xml')],
    ['at caps, XML: repeated empty elements', 'xml', atCaps('xml', xmlIn, () => '<a/>')],
    ['at caps, XML: nesting to the depth cap, repeated', 'xml', atCaps('xml', xmlIn, () => '<a>'.repeat(14) + '</a>'.repeat(14))],
    ['at caps, XML: attributes', 'xml', atCaps('xml', (a) => JAVA_XML.replace('<instance>', `<instance${a}>`), (i) => ` a${i}="v"`)],
    ['at caps, XML: references', 'xml', atCaps('xml', (r) => xmlIn(`<asgName>${r}</asgName>`), () => '&quot;')],
    [
      'at caps, XML: elements + attributes + references',
      'xml',
      atCaps('xml', (r) => atCaps('xml', (m) => xmlMetadata(m).replace('<instance>', `<instance${attrs(60)}>`).replace('</instance>', `<asgName>${r}</asgName></instance>`), (i) => `<k${i}>v</k${i}>`), () => '&quot;'),
    ],
    ['at caps, JSON: metadata keys', 'json', atCaps('json', jsonMetadata, (i) => `"key${i}":"value-${i}"`, ',')],
    ['at caps, JSON: empty arrays at the depth cap', 'json', atCaps('json', (x) => jsonIn(`"x":[${x}]`), () => '['.repeat(12) + ']'.repeat(12), ',')],
    ['at caps, JSON: metadata keys + 64 KB string', 'json', pad(atCaps('json', jsonMetadata, (i) => `"key${i}":"value-${i}"`, ','), 'json')],
  );
}

const decoders = { xml: decodeInstanceXml, json: decodeInstanceJson };

function measure(format, body) {
  const decode = decoders[format];
  let outcome = 'accepted';
  const once = () => {
    try {
      decode(body, DEFAULTS);
      outcome = 'accepted';
    } catch (e) {
      outcome = `refused: ${/** @type {Error} */ (e).message}`;
    }
  };
  for (let i = 0; i < Math.min(50, ITERATIONS); i++) once();
  const times = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const start = process.hrtime.bigint();
    once();
    times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  return { medianUs: times[times.length >> 1], outcome };
}

const results = bodies.map(([name, format, body]) => ({ name, bytes: Buffer.byteLength(body), ...measure(format, body) }));
const base = results[0].medianUs;
const xmlBase = results[1].medianUs;
console.log('| body | bytes | median µs | × 1 KB JSON | × Java XML | outcome |');
console.log('|---|---:|---:|---:|---:|---|');
for (const r of results) console.log(`| ${r.name} | ${r.bytes} | ${r.medianUs.toFixed(1)} | ${(r.medianUs / base).toFixed(1)} | ${(r.medianUs / xmlBase).toFixed(1)} | ${r.outcome.slice(0, 60)} |`);
const worst = results.filter((r) => r.outcome === 'accepted').reduce((a, b) => (b.medianUs > a.medianUs ? b : a));
console.log(`\nworst accepted: ${worst.name}, ${worst.medianUs.toFixed(1)} µs = ${(worst.medianUs / base).toFixed(1)} × the 1 KB JSON registration, ${(worst.medianUs / xmlBase).toFixed(1)} × the Java XML one`);
