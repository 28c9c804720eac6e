// Golden and shape tests for the Eureka XML codec (XStream shape, contract §4.4) and for decoding XML registrations.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  applicationDocumentXml,
  applicationsDocumentXml,
  decodeInstanceXml,
  decodeXmlName,
  encodeXmlName,
  escapeXml,
  instanceDocumentXml,
  instanceXml,
} from '../../src/codecs/xml';
import { DecodeError } from '../../src/codecs/instance-decoder';
import { bodyShapeLimits, DEFAULT_BODY_SHAPE, xmlShapeError } from '../../src/codecs/body-shape';
import { DATA_CENTER_CLASS, InstanceView } from '../../src/domain/model';
import { DEFAULTS, EXAMPLE_INSTANCE, exampleView, fixture, xmlExampleView } from '../fixtures/codec-fixtures';

/** The contract's pretty-printed documents without the whitespace between elements. */
const compact = (xml: string): string => xml.replace(/>\s+</g, '><').trim();

const wellFormed = (xml: string): void => expect(XMLValidator.validate(xml)).toBe(true);

const reader = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', textNodeName: '$', parseTagValue: false });
type Tree = Record<string, any>;
const read = (xml: string): Tree => reader.parse(xml) as Tree;

const CANNOT_PARSE = new DecodeError('cannot parse request body');

describe('XML encoding', () => {
  test('the §4.4 applications document, exactly (modulo indentation)', () => {
    const xml = applicationsDocumentXml([['ORDERS', [xmlExampleView()]]], 1, 'UP_1_');
    expect(xml).toBe(compact(fixture('contract-4.4-applications.xml')));
    wellFormed(xml);
  });

  test('no XML declaration, as XStream writes none', () => {
    expect(applicationsDocumentXml([], 1, '').startsWith('<applications>')).toBe(true);
    expect(instanceDocumentXml(exampleView()).startsWith('<instance>')).toBe(true);
  });

  test('the empty registry', () => {
    expect(applicationsDocumentXml([], 1, '')).toBe('<applications><versions__delta>1</versions__delta><apps__hashcode></apps__hashcode></applications>');
  });

  test('single-instance and single-application documents', () => {
    const view = exampleView();
    expect(instanceDocumentXml(view)).toBe(instanceXml(view));
    expect(Object.keys(read(instanceDocumentXml(view)))).toEqual(['instance']);
    const app = applicationDocumentXml('ORDERS', [view, exampleView({ id: 'b', instanceId: 'b' })]);
    wellFormed(app);
    expect(app.startsWith('<application><name>ORDERS</name><instance><instanceId>10.0.0.7:orders:8080</instanceId>')).toBe(true);
    expect(read(app).application.instance).toHaveLength(2);
    expect(applicationDocumentXml('ORDERS', [])).toBe('<application><name>ORDERS</name></application>');
  });

  test('the §4.1 instance in XML: JSON field order, overriddenstatus, attributes, metadata children', () => {
    const xml = instanceXml(exampleView());
    wellFormed(xml);
    const i = read(xml).instance as Tree;
    expect(Object.keys(i)).toEqual([
      'instanceId', 'hostName', 'app', 'ipAddr', 'status', 'overriddenstatus', 'port', 'securePort', 'countryId', 'dataCenterInfo', 'leaseInfo',
      'metadata', 'homePageUrl', 'statusPageUrl', 'healthCheckUrl', 'vipAddress', 'secureVipAddress', 'isCoordinatingDiscoveryServer',
      'lastUpdatedTimestamp', 'lastDirtyTimestamp', 'actionType',
    ]); // prettier-ignore
    expect(xml).toContain('<port enabled="true">8080</port><securePort enabled="false">443</securePort>');
    expect(xml).toContain('<metadata><management.port>8080</management.port><zone>zone-a</zone></metadata>');
    expect(i.leaseInfo).toEqual({
      renewalIntervalInSecs: '30',
      durationInSecs: '90',
      registrationTimestamp: '1718000000000',
      lastRenewalTimestamp: '1718000120000',
      evictionTimestamp: '0',
      serviceUpTimestamp: '1718000000050',
    });
  });

  test('sid and the optional fields follow the JSON rules', () => {
    for (const sid of ['na', 'unknown', undefined]) expect(instanceXml(exampleView({ sid }))).not.toContain('<sid>');
    expect(instanceXml(exampleView({ sid: 'S1' }))).toContain('<ipAddr>10.0.0.7</ipAddr><sid>S1</sid><status>');
    const bare = instanceXml(exampleView({ instanceId: undefined, homePageUrl: undefined, statusPageUrl: undefined, healthCheckUrl: undefined }));
    expect(bare.startsWith('<instance><hostName>')).toBe(true);
    expect(bare).not.toMatch(/Url>/);
    const full = instanceXml(exampleView({ appGroupName: 'SHOP', secureHealthCheckUrl: 'https://h/', asgName: 'orders-v1' }));
    expect(full).toContain('</metadata><appGroupName>SHOP</appGroupName><homePageUrl>');
    expect(full).toContain('<healthCheckUrl>http://10.0.0.7:8080/actuator/health</healthCheckUrl><secureHealthCheckUrl>https://h/</secureHealthCheckUrl>');
    expect(full.endsWith('<actionType>ADDED</actionType><asgName>orders-v1</asgName></instance>')).toBe(true);
  });

  test('empty metadata is the self-closing empty-map marker', () => {
    expect(instanceXml(exampleView({ metadata: {} }))).toContain('<metadata class="java.util.Collections$EmptyMap"/>');
  });

  test('Amazon dataCenterInfo: AmazonInfo class, name, metadata children (marker when empty)', () => {
    const metadata = { 'instance-id': 'i-0abc', 'availability-zone': 'us-east-1a' };
    const xml = instanceXml(exampleView({ dataCenterInfo: { name: 'Amazon', className: DATA_CENTER_CLASS.amazon, metadata } }));
    wellFormed(xml);
    expect(xml).toContain(
      '<dataCenterInfo class="com.netflix.appinfo.AmazonInfo"><name>Amazon</name>' +
        '<metadata><instance-id>i-0abc</instance-id><availability-zone>us-east-1a</availability-zone></metadata></dataCenterInfo>',
    );
    expect(instanceXml(exampleView({ dataCenterInfo: { name: 'Amazon', className: DATA_CENTER_CLASS.amazon } }))).toContain(
      '<dataCenterInfo class="com.netflix.appinfo.AmazonInfo"><name>Amazon</name><metadata class="java.util.Collections$EmptyMap"/></dataCenterInfo>',
    );
    // Like XStream, other data centers never carry metadata.
    expect(instanceXml(exampleView({ dataCenterInfo: { name: 'MyOwn', className: DATA_CENTER_CLASS.default, metadata: { x: 'y' } } }))).toContain(
      '<dataCenterInfo class="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"><name>MyOwn</name></dataCenterInfo>',
    );
  });

  test('metadata keys use XStream name coding: _ → __, $ → _-', () => {
    const xml = instanceXml(exampleView({ metadata: { git_commit: 'abc', price$tier: 'gold', 'management.port': '8081' } }));
    expect(xml).toContain('<metadata><git__commit>abc</git__commit><price_-tier>gold</price_-tier><management.port>8081</management.port></metadata>');
    expect(encodeXmlName('versions_delta')).toBe('versions__delta');
    expect(decodeXmlName('apps__hashcode')).toBe('apps_hashcode');
  });

  test('keys that are not XML names are escaped as _.XXXX and still give well-formed XML', () => {
    expect(encodeXmlName('a b')).toBe('a_.0020b');
    expect(encodeXmlName('1st')).toBe('_.0031st');
    expect(encodeXmlName('x:y')).toBe('x_.003ay');
    expect(encodeXmlName('😀')).toBe('_.d83d_.de00');
    expect(encodeXmlName('zoné')).toBe('zoné');
    const metadata = { 'a b': '1', '1st': '2', 'x:y': '3', '😀': '4', '-x': '5', 'a/b': '6', '<&>': '7', 'q"\'': '8', 'zoné': '9', __: '10', _x_: '11' };
    const xml = instanceXml(exampleView({ metadata }));
    wellFormed(xml);
    for (const key of Object.keys(metadata)) expect(decodeXmlName(encodeXmlName(key))).toBe(key);
  });

  test('an empty metadata key has no element form and is left out', () => {
    const xml = instanceXml(exampleView({ metadata: { '': 'x', zone: 'a' } }));
    wellFormed(xml);
    expect(xml).toContain('<metadata><zone>a</zone></metadata>');
    expect(instanceXml(exampleView({ metadata: { '': 'x' } }))).toContain('<metadata class="java.util.Collections$EmptyMap"/>');
  });

  test('text is escaped (&, <, >, quotes, CR) and unrepresentable characters become U+FFFD', () => {
    expect(escapeXml(`a<b>&"c'\r`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;&#xd;');
    expect(escapeXml('plain text, ☺ and 😀')).toBe('plain text, ☺ and 😀');
    expect(escapeXml('bell\u0007 nul\u0000 lone\uD800 fffe\uFFFE')).toBe('bell\uFFFD nul\uFFFD lone\uFFFD fffe\uFFFD');
    expect(escapeXml('tab\tnl\n')).toBe('tab\tnl\n');
    const xml = instanceXml(
      exampleView({ hostName: 'a<b>&c', homePageUrl: 'http://h/?a=1&b="2"', metadata: { note: `<tag attr='v'> & "q"` } }),
    );
    wellFormed(xml);
    expect(xml).toContain('<hostName>a&lt;b&gt;&amp;c</hostName>');
    expect(xml).toContain('<homePageUrl>http://h/?a=1&amp;b=&quot;2&quot;</homePageUrl>');
    expect(xml).toContain('<note>&lt;tag attr=&apos;v&apos;&gt; &amp; &quot;q&quot;</note>');
    expect(applicationsDocumentXml([['A<B', []]], 1, 'UP_1_&')).toBe(
      '<applications><versions__delta>1</versions__delta><apps__hashcode>UP_1_&amp;</apps__hashcode><application><name>A&lt;B</name></application></applications>',
    );
  });

  test('the per-record cache follows lastRenewalTimestamp and nothing else', () => {
    const first = exampleView();
    const before = instanceXml(first);
    const renewed: InstanceView = { record: first.record, lastRenewalTimestamp: 1718000150000 };
    expect(instanceXml(renewed)).toBe(before.replace('<lastRenewalTimestamp>1718000120000<', '<lastRenewalTimestamp>1718000150000<'));
    expect(instanceXml(first)).toBe(before);
    const changed: InstanceView = { record: { ...first.record, instance: { ...first.record.instance, status: 'DOWN' } }, lastRenewalTimestamp: 1 };
    expect(instanceXml(changed)).toContain('<status>DOWN</status>');
  });
});

describe('XML decoding', () => {
  test('a Java-style registration: enabled attributes, overriddenstatus, empty-map marker, string lease values', () => {
    const d = decodeInstanceXml(fixture('java-register.xml'), DEFAULTS);
    expect(d).toEqual({
      instanceId: '10.0.0.9:billing:8080',
      id: '10.0.0.9:billing:8080',
      app: 'BILLING',
      hostName: '10.0.0.9',
      ipAddr: '10.0.0.9',
      sid: undefined,
      status: 'STARTING',
      overriddenStatus: 'OUT_OF_SERVICE',
      port: { port: 8080, enabled: false },
      securePort: { port: 8443, enabled: true },
      countryId: 1,
      dataCenterInfo: { name: 'MyOwn', className: DATA_CENTER_CLASS.default },
      renewalIntervalSecs: 10,
      durationSecs: 40,
      metadata: {},
      appGroupName: 'PAYMENTS',
      homePageUrl: 'http://10.0.0.9:8080/',
      statusPageUrl: 'http://10.0.0.9:8080/info?a=1&b=2',
      healthCheckUrl: 'http://10.0.0.9:8080/health',
      secureHealthCheckUrl: 'https://10.0.0.9:8443/health',
      vipAddress: 'billing',
      secureVipAddress: 'billing-secure',
      asgName: undefined,
      lastDirtyTimestamp: 1718000000099,
      lastUpdatedTimestamp: 1718000000100,
      lease: { registrationTimestamp: 0, lastRenewalTimestamp: 0, evictionTimestamp: 0, serviceUpTimestamp: 0 },
    });
  });

  test('metadata children (coded names, entities, empty element) and Amazon data-center metadata', () => {
    const d = decodeInstanceXml(fixture('java-register-amazon.xml'), DEFAULTS);
    expect(d.metadata).toEqual({
      'management.port': '8081',
      zone: 'us-east-1a',
      git_commit: 'abc123',
      price$tier: 'gold',
      note: 'a <b> & "c" ☺',
      empty: '',
    });
    expect(d.id).toBe('i-0abc123');
    expect(d.instanceId).toBeUndefined();
    expect(d.dataCenterInfo).toEqual({
      name: 'Amazon',
      className: DATA_CENTER_CLASS.amazon,
      metadata: { 'instance-id': 'i-0abc123', 'availability-zone': 'us-east-1a', 'local-ipv4': '10.1.2.3' },
    });
    // Attribute-less ports: port enabled, securePort disabled (Converters.InstanceInfoConverter defaults).
    expect(d.port).toEqual({ port: 7001, enabled: true });
    expect(d.securePort).toEqual({ port: 7002, enabled: false });
    expect(d.lastDirtyTimestamp).toBe(1718000000200);
  });

  test('the camel-case overriddenStatus element and a bare root are accepted too', () => {
    expect(decodeInstanceXml('<instance><hostName>h</hostName><overriddenStatus>DOWN</overriddenStatus></instance>', DEFAULTS).overriddenStatus).toBe('DOWN');
    expect(decodeInstanceXml('<com.netflix.appinfo.InstanceInfo><hostName>h</hostName></com.netflix.appinfo.InstanceInfo>', DEFAULTS).id).toBe('h');
  });

  test('everything the encoder writes decodes back, including odd metadata keys and escaped text', () => {
    const metadata = { 'a b': '1', git_commit: 'x', price$tier: 'y', 'x:y': 'z', '😀': 'e', toString: 't', constructor: 'c', note: `<&>"'\r\nend` };
    const view = exampleView({ metadata, hostName: 'h<&>', sid: 'S1', asgName: 'asg', overriddenStatus: 'DOWN', securePort: { port: 8443, enabled: true } });
    const d = decodeInstanceXml(instanceDocumentXml(view), DEFAULTS);
    expect(d.metadata).toEqual(metadata);
    expect(d).toMatchObject({
      id: EXAMPLE_INSTANCE.id,
      hostName: 'h<&>',
      sid: 'S1',
      asgName: 'asg',
      overriddenStatus: 'DOWN',
      port: { port: 8080, enabled: true },
      securePort: { port: 8443, enabled: true },
      dataCenterInfo: { name: 'MyOwn', className: DATA_CENTER_CLASS.default },
      renewalIntervalSecs: 30,
      durationSecs: 90,
      lastDirtyTimestamp: EXAMPLE_INSTANCE.lastDirtyTimestamp,
      lastUpdatedTimestamp: 1718000000050,
      actionType: 'ADDED',
      lease: { registrationTimestamp: 1718000000000, lastRenewalTimestamp: 1718000120000, evictionTimestamp: 0, serviceUpTimestamp: 1718000000050 },
    });
  });

  test('an XML declaration, comments and processing instructions are fine', () => {
    const body = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!-- registered by hand --><instance><hostName>h</hostName><?pi x?></instance>';
    expect(decodeInstanceXml(body, DEFAULTS).hostName).toBe('h');
  });

  test('character references and CDATA', () => {
    const d = decodeInstanceXml('<instance><hostName>&#104;&#x6F;st</hostName><metadata><q><![CDATA[<raw> &amp;]]></q></metadata></instance>', DEFAULTS);
    expect(d.hostName).toBe('host');
    expect(d.metadata).toEqual({ q: '<raw> &amp;' });
  });

  test('nested metadata elements are a DecodeError; a repeated key keeps the last value', () => {
    expect(() => decodeInstanceXml('<instance><metadata><a><b>c</b></a></metadata></instance>', DEFAULTS)).toThrow(DecodeError);
    expect(decodeInstanceXml('<instance><metadata><a>1</a><a>2</a></metadata></instance>', DEFAULTS).metadata).toEqual({ a: '2' });
  });

  test('malformed XML is DecodeError("cannot parse request body")', () => {
    const bodies = [
      '',
      'not xml',
      '{"instance":{}}',
      '<instance><hostName>h</instance>',
      '<instance><hostName>h</hostName>',
      '<instance><hostName>h</app></instance>',
      '<instance><hostName>a & b</hostName></instance>',
      '<instance><hostName>&nbsp;</hostName></instance>',
      '<instance><hostName>&#0;</hostName></instance>',
      '<instance><port enabled=true>80</port></instance>',
      '<instance><port enabled="true" enabled="false">80</port></instance>',
      '<instance><1host>h</1host></instance>',
      '<instance><hostName>h</hostName></instance><instance/>',
      '<instance><hostName>h</hostName></instance>trailing',
      '<instance/>',
      '<instance>text only</instance>',
    ];
    const notRefused = bodies.filter((body) => {
      try {
        decodeInstanceXml(body, DEFAULTS);
        return true;
      } catch (e) {
        return !(e instanceof DecodeError && e.message === CANNOT_PARSE.message);
      }
    });
    expect(notRefused).toEqual([]);
  });

  // Refused by the shape check before any parser runs; what that costs is measured by bench/parse-cost.js.
  test('entity-expansion ("billion laughs") is refused before it is parsed', () => {
    expect(() => decodeInstanceXml(fixture('billion-laughs.xml'), DEFAULTS)).toThrow(CANNOT_PARSE);
    expect(xmlShapeError(fixture('billion-laughs.xml'), DEFAULT_BODY_SHAPE)).toBe(CANNOT_PARSE.message);
  });

  test('external entities and any DTD are refused', () => {
    const xxe = '<?xml version="1.0"?><!DOCTYPE instance [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><instance><hostName>&xxe;</hostName></instance>';
    expect(() => decodeInstanceXml(xxe, DEFAULTS)).toThrow(CANNOT_PARSE);
    expect(() => decodeInstanceXml('<!DOCTYPE instance><instance><hostName>h</hostName></instance>', DEFAULTS)).toThrow(CANNOT_PARSE);
  });

  test('deep nesting is refused before it is parsed', () => {
    const depth = 50_000;
    const body = '<instance><metadata>' + '<a>'.repeat(depth) + '</a>'.repeat(depth) + '</metadata></instance>';
    expect(() => decodeInstanceXml(body, DEFAULTS)).toThrow(DecodeError);
    expect(xmlShapeError(body, DEFAULT_BODY_SHAPE)).toMatch(/nested too deeply/);
  });

  test('a large but honest body decodes (on a server that allows 500 metadata entries)', () => {
    const entries = Array.from({ length: 500 }, (_, n) => `<key_${n}>value &amp; ${n}</key_${n}>`).join('');
    const d = decodeInstanceXml(`<instance><hostName>h</hostName><metadata>${entries}</metadata></instance>`, { ...DEFAULTS, shape: bodyShapeLimits(500) });
    expect(Object.keys(d.metadata)).toHaveLength(500);
    expect(d.metadata['key_499']).toBe('value & 499');
  });
});
