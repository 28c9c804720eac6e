// The shape caps on registration bodies: what they are, that real bodies fit them, that each is enforced exactly at
// its limit by the XML and JSON registration decoders, and that the counts cannot be fooled by quoted text.
import { bodyShapeLimits, DEFAULT_BODY_SHAPE, jsonShapeError, MALFORMED, replicationBatchJsonCaps, xmlShapeError } from '../../src/codecs/body-shape';
import { DecodeError } from '../../src/codecs/instance-decoder';
import { decodeInstanceJson } from '../../src/codecs/json';
import { decodeInstanceXml } from '../../src/codecs/xml';
import { javaLegacyBody, jsClientBody, springBody, xmlBody } from '../helpers/bodies';
import { DEFAULTS, fixture } from '../fixtures/codec-fixtures';

const CAPS = DEFAULT_BODY_SHAPE;
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** The decoder's refusal message, or 'accepted'. */
function outcome(decode: () => unknown): string {
  try {
    decode();
    return 'accepted';
  } catch (e) {
    if (e instanceof DecodeError) return e.message;
    throw e;
  }
}
const xmlOutcome = (body: string): string => outcome(() => decodeInstanceXml(body, DEFAULTS));
const jsonOutcome = (body: string): string => outcome(() => decodeInstanceJson(body, DEFAULTS));

/** 128 metadata entries, as many as maxMetadataEntries allows by default. */
const FULL_METADATA = Object.fromEntries(range(128).map((i) => [`management.key-${i}`, `value "${i}" & more`]));

/** The largest real registration: XStream's Amazon instance with every field and a full metadata map. */
const LARGEST_XML = fixture('java-register-amazon.xml')
  .replace(
    '</metadata>\n  </dataCenterInfo>',
    ['ami-id', 'instance-type', 'public-hostname', 'public-ipv4', 'mac', 'vpc-id', 'accountId', 'local-hostname', 'ami-launch-index', 'ami-manifest-path', 'ipv6', 'spot-termination-time', 'spot-instance-action', 'placement-group']
      .map((k) => `<${k}>x</${k}>`)
      .join('') + '</metadata>\n  </dataCenterInfo>',
  )
  .replace(/<metadata>\n {4}<management.port>[^]*?<\/metadata>\n {2}<vipAddress>/, () => `<metadata>${Object.entries(FULL_METADATA).map(([k, v]) => `<${k}>${v.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}</${k}>`).join('')}</metadata><vipAddress>`);

describe('bodyShapeLimits', () => {
  describe('bodyShapeLimits()', () => {
    it('gives twice what a registration with every field and maxMetadataEntries entries needs', () => {
      expect(bodyShapeLimits(128)).toEqual({ maxElements: 384, maxAttributes: 64, maxReferences: 512, maxEntries: 384, maxKeysPerObject: 384, maxDepth: 16 });
      expect(bodyShapeLimits(0).maxElements).toBe(128);
      expect(bodyShapeLimits(1000)).toMatchObject({ maxElements: 2128, maxEntries: 2128, maxKeysPerObject: 2128 });
    });

    it('is the default for decoders given no caps', () => {
      expect(DEFAULT_BODY_SHAPE).toEqual(bodyShapeLimits(128));
    });
  });
});

describe('xmlShapeError', () => {
  describe('xmlShapeError()', () => {
    it('accepts every real XML registration, the largest with room to spare', () => {
      for (const name of ['java-register.xml', 'java-register-amazon.xml', 'clients/xstream.register.xml']) expect(xmlShapeError(fixture(name), CAPS)).toBeUndefined();
      expect(xmlShapeError(xmlBody({ metadata: FULL_METADATA }), CAPS)).toBeUndefined();
      const half = { ...CAPS, maxElements: CAPS.maxElements / 2 };
      expect(xmlShapeError(LARGEST_XML, half)).toBeUndefined();
    });

    it('counts comments, CDATA sections and processing instructions as elements', () => {
      const body = '<?xml version="1.0"?><instance><!-- c --><a><![CDATA[x]]></a><?pi x?></instance>';
      expect(xmlShapeError(body, { ...CAPS, maxElements: 6 })).toBeUndefined();
      expect(xmlShapeError(body, { ...CAPS, maxElements: 5 })).toBe('Too many XML elements (limit 5)');
    });

    it('does not count markup inside quoted attribute values, comments or CDATA', () => {
      const body = '<instance a="x=y > <b c=d/>" b=\'=\'><!-- <a b="c"> --><x><![CDATA[<a b="c"><a><a>]]></x></instance>';
      expect(xmlShapeError(body, { ...CAPS, maxElements: 4, maxAttributes: 2, maxDepth: 2 })).toBeUndefined();
      expect(xmlShapeError(body, { ...CAPS, maxAttributes: 1 })).toBe('Too many XML attributes (limit 1)');
    });

    it('does not count self-closing elements or closed siblings as depth', () => {
      const body = `<instance>${'<a><b/></a>'.repeat(50)}<c/></instance>`;
      expect(xmlShapeError(body, { ...CAPS, maxDepth: 2 })).toBeUndefined();
      expect(xmlShapeError(body, { ...CAPS, maxDepth: 1 })).toBe('XML nested too deeply (limit 1)');
    });

    it('calls unterminated markup and DTD declarations malformed', () => {
      for (const body of ['<instance', '<instance a="x>', '<instance><!-- x', '<instance><![CDATA[x', '<instance><?pi', '<instance <a>', '<!DOCTYPE x><instance/>', '<instance><!ENTITY x "y"></instance>']) {
        expect(xmlShapeError(body, CAPS)).toBe(MALFORMED);
      }
    });
  });
});

describe('jsonShapeError', () => {
  const caps = (maxEntries: number, maxDepth: number, maxKeysPerObject = maxEntries) => ({ maxEntries, maxKeysPerObject, maxDepth });

  describe('jsonShapeError()', () => {
    it('accepts every real JSON registration, the largest with room to spare', () => {
      for (const body of [javaLegacyBody(), springBody(), jsClientBody(), javaLegacyBody({ metadata: FULL_METADATA })]) {
        expect(jsonShapeError(JSON.stringify(body), { ...CAPS, maxEntries: CAPS.maxEntries / 2, maxDepth: 5 })).toBeUndefined();
      }
      for (const name of ['clients/java-legacy.register.json', 'clients/spring.register.json', 'clients/eureka-js-client.register.json', 'contract-4.1-instance.json']) {
        expect(jsonShapeError(fixture(name), CAPS)).toBeUndefined();
      }
    });

    it('counts commas and opened containers, not those inside strings', () => {
      expect(jsonShapeError('{"a":[1,2],"b":{}}', caps(5, 2))).toBeUndefined();
      expect(jsonShapeError('{"a":[1,2],"b":{}}', caps(4, 2))).toBe('Too many JSON values (limit 4)');
      expect(jsonShapeError('{"a":"[{,,,}]","b\\"[,":"\\\\","c":"\\\\\\",{"}', caps(3, 1))).toBeUndefined();
    });

    it('refuses nesting past maxDepth, wherever it is', () => {
      expect(jsonShapeError('{"a":[[{}]],"b":[]}', caps(100, 4))).toBeUndefined();
      expect(jsonShapeError('{"a":[[{}]],"b":[]}', caps(100, 3))).toBe('JSON nested too deeply (limit 3)');
      expect(jsonShapeError('['.repeat(100_000), caps(1_000_000, 16))).toBe('JSON nested too deeply (limit 16)');
    });

    it('refuses an object with more than maxKeysPerObject keys, however many values the text may hold', () => {
      const object = (keys: number): string => `{${range(keys).map((i) => `"k${i}":[1,2]`).join(',')}}`;
      expect(jsonShapeError(`[${object(10)},${object(10)}]`, caps(1000, 3, 10))).toBeUndefined();
      expect(jsonShapeError(`[${object(10)},${object(11)}]`, caps(1000, 3, 10))).toBe('Too many keys in one JSON object (limit 10)');
      expect(jsonShapeError(`[${range(5000).join(',')}]`, caps(10_000, 3, 10))).toBeUndefined();
    });

    it('leaves malformed JSON to JSON.parse', () => {
      expect(jsonShapeError('{"a":"unterminated', caps(10, 10))).toBeUndefined();
    });
  });
});

describe('replicationBatchJsonCaps', () => {
  describe('replicationBatchJsonCaps()', () => {
    it('lets a batch hold any number of registrations, none larger than a registration', () => {
      const item = (metadata: Record<string, string>) => ({ action: 'Register', appName: 'ORDERS', id: 'i', lastDirtyTimestamp: '1', instanceInfo: javaLegacyBody({ metadata }).instance });
      const batch = (items: number, metadata: Record<string, string>): string => JSON.stringify({ replicationList: range(items).map(() => item(metadata)) });
      expect(jsonShapeError(batch(500, FULL_METADATA), replicationBatchJsonCaps(CAPS))).toBeUndefined();
      const tooMany = Object.fromEntries(range(CAPS.maxKeysPerObject + 1).map((i) => [`k${i}`, 'v']));
      expect(jsonShapeError(batch(2, tooMany), replicationBatchJsonCaps(CAPS))).toBe('Too many keys in one JSON object (limit 384)');
    });
  });
});

describe('decodeInstanceXml', () => {
  describe('decodeInstanceXml()', () => {
    const head = '<instance><hostName>h</hostName><app>a</app>';

    it('accepts every XML fixture and the largest real registration', () => {
      for (const name of ['java-register.xml', 'java-register-amazon.xml', 'clients/xstream.register.xml']) expect(xmlOutcome(fixture(name))).toBe('accepted');
      const largest = decodeInstanceXml(LARGEST_XML, DEFAULTS);
      expect(largest.metadata).toEqual(FULL_METADATA);
      expect(Object.keys(largest.dataCenterInfo?.metadata ?? {})).toHaveLength(17);
    });

    it('accepts a body at the element cap and refuses one element more', () => {
      // instance, hostName, app, metadata: 4 elements besides the entries.
      const body = (entries: number): string => `${head}<metadata>${range(entries).map((i) => `<k${i}>v</k${i}>`).join('')}</metadata></instance>`;
      expect(xmlOutcome(body(CAPS.maxElements - 4))).toBe('accepted');
      expect(xmlOutcome(body(CAPS.maxElements - 3))).toBe('Too many XML elements (limit 384)');
    });

    it('accepts a body at the attribute cap and refuses one attribute more', () => {
      const body = (n: number): string => `<instance${range(n).map((i) => ` a${i}="v"`).join('')}><hostName>h</hostName></instance>`;
      expect(xmlOutcome(body(CAPS.maxAttributes))).toBe('accepted');
      expect(xmlOutcome(body(CAPS.maxAttributes + 1))).toBe('Too many XML attributes (limit 64)');
    });

    it('refuses 5,000 attributes before parsing', () => {
      const body = `<instance${range(5000).map((i) => ` a${i}=""`).join('')}/>`;
      expect(xmlOutcome(body)).toBe('Too many XML attributes (limit 64)');
    });

    it('accepts a body at the reference cap and refuses one reference more', () => {
      const body = (n: number): string => `${head}<asgName>${'&quot;'.repeat(n)}</asgName></instance>`;
      expect(decodeInstanceXml(body(CAPS.maxReferences), DEFAULTS).asgName).toBe('"'.repeat(CAPS.maxReferences));
      expect(xmlOutcome(body(CAPS.maxReferences + 1))).toBe('Too many XML character references (limit 512)');
    });

    it('accepts a body at the depth cap and refuses one level more', () => {
      // instance and x are 2 levels.
      const body = (depth: number): string => `${head}<x>${'<a>'.repeat(depth - 2)}${'</a>'.repeat(depth - 2)}</x></instance>`;
      expect(xmlOutcome(body(CAPS.maxDepth))).toBe('accepted');
      expect(xmlOutcome(body(CAPS.maxDepth + 1))).toBe('XML nested too deeply (limit 16)');
    });

    it('uses the caps it is given', () => {
      const body = `${head}<metadata>${range(200).map((i) => `<k${i}>v</k${i}>`).join('')}</metadata></instance>`;
      expect(outcome(() => decodeInstanceXml(body, { ...DEFAULTS, shape: bodyShapeLimits(10) }))).toBe('Too many XML elements (limit 148)');
      expect(Object.keys(decodeInstanceXml(body, { ...DEFAULTS, shape: bodyShapeLimits(10_000) }).metadata)).toHaveLength(200);
    });

    it('still refuses a DTD as unparseable', () => {
      expect(xmlOutcome(fixture('billion-laughs.xml'))).toBe('cannot parse request body');
    });
  });
});

describe('decodeInstanceJson', () => {
  describe('decodeInstanceJson()', () => {
    it('accepts every JSON fixture and the largest real registration', () => {
      for (const name of ['clients/java-legacy.register.json', 'clients/spring.register.json', 'clients/eureka-js-client.register.json', 'contract-4.1-instance.json']) {
        expect(jsonOutcome(fixture(name))).toBe('accepted');
      }
      expect(decodeInstanceJson(JSON.stringify(springBody({ metadata: FULL_METADATA })), DEFAULTS).metadata).toEqual(FULL_METADATA);
    });

    it('accepts a body at the value cap and refuses one value more', () => {
      // The outer object and metadata (2 containers), 2 commas between the 3 members, k - 1 commas between entries.
      const body = (k: number): string => `{"hostName":"h","app":"a","metadata":{${range(k).map((i) => `"k${i}":"v"`).join(',')}}}`;
      expect(jsonOutcome(body(CAPS.maxEntries - 3))).toBe('accepted');
      expect(jsonOutcome(body(CAPS.maxEntries - 2))).toBe('Too many JSON values (limit 384)');
    });

    it('accepts a body at the depth cap and refuses one level more', () => {
      const body = (depth: number): string => `{"hostName":"h","x":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
      expect(jsonOutcome(body(CAPS.maxDepth))).toBe('accepted');
      expect(jsonOutcome(body(CAPS.maxDepth + 1))).toBe('JSON nested too deeply (limit 16)');
    });

    it('accepts one long string: bytes alone are cheap to parse', () => {
      expect(decodeInstanceJson(JSON.stringify(javaLegacyBody({ metadata: { blob: '[{,}]'.repeat(12_000) } })), DEFAULTS).metadata['blob']).toHaveLength(60_000);
    });
  });
});
