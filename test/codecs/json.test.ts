// Golden and shape tests for the Eureka JSON codec (contract §4.1–§4.3, §4.5, §4.7, §4.9) and for lenient decoding
// of the registration bodies real clients send (§4.2).
import { applicationDocumentJson, applicationsDocumentJson, decodeInstanceJson, instanceDocumentJson, instanceJson } from '../../src/codecs/json';
import { DecodeError } from '../../src/codecs/instance-decoder';
import { DATA_CENTER_CLASS, InstanceView } from '../../src/domain/model';
import { DEFAULTS, EXAMPLE_INSTANCE, exampleView, fixture } from '../fixtures/codec-fixtures';

type Json = Record<string, any>;

const parse = (s: string): Json => JSON.parse(s) as Json;

/** Every object's keys, depth-first, so two documents compare in field order too. */
function keyOrder(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => keyOrder(v, `${path}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  const keys = Object.keys(value);
  return [`${path}: ${keys.join(',')}`, ...keys.flatMap((k) => keyOrder((value as Json)[k], `${path}.${k}`))];
}

const apps = (...entries: Array<[string, InstanceView[]]>): Array<readonly [string, InstanceView[]]> => entries;

describe('JSON encoding', () => {
  test('the §4.1 instance document, value for value and field for field', () => {
    const golden = parse(fixture('contract-4.1-instance.json'));
    const encoded = parse(instanceDocumentJson(exampleView()));
    expect(encoded).toEqual(golden);
    expect(keyOrder(encoded)).toEqual(keyOrder(golden));
  });

  test('instanceJson is the bare instance object', () => {
    const view = exampleView();
    expect(parse(instanceJson(view))).toEqual(parse(instanceDocumentJson(view)).instance);
  });

  test('the empty registry is exactly the upstream document', () => {
    expect(applicationsDocumentJson([], 1, '')).toBe('{"applications":{"versions__delta":"1","apps__hashcode":"","application":[]}}');
  });

  test('applications: versions__delta and apps__hashcode are strings and come first', () => {
    const doc = parse(applicationsDocumentJson(apps(['ORDERS', [exampleView()]]), 42, 'UP_1_'));
    expect(Object.keys(doc)).toEqual(['applications']);
    expect(Object.keys(doc.applications)).toEqual(['versions__delta', 'apps__hashcode', 'application']);
    expect(doc.applications.versions__delta).toBe('42');
    expect(doc.applications.apps__hashcode).toBe('UP_1_');
  });

  test('one-element application and instance lists are still arrays', () => {
    const doc = parse(applicationsDocumentJson(apps(['ORDERS', [exampleView()]]), 1, 'UP_1_'));
    expect(Array.isArray(doc.applications.application)).toBe(true);
    expect(doc.applications.application).toHaveLength(1);
    expect(Object.keys(doc.applications.application[0])).toEqual(['name', 'instance']);
    expect(doc.applications.application[0].name).toBe('ORDERS');
    expect(Array.isArray(doc.applications.application[0].instance)).toBe(true);
    expect(doc.applications.application[0].instance).toHaveLength(1);

    const single = parse(applicationDocumentJson('ORDERS', [exampleView()]));
    expect(Object.keys(single)).toEqual(['application']);
    expect(Array.isArray(single.application.instance)).toBe(true);
    expect(single.application.instance).toHaveLength(1);
  });

  test('applications keep their instances in order, several per app', () => {
    const a = exampleView({ id: 'a', instanceId: 'a' });
    const b = exampleView({ id: 'b', instanceId: 'b' });
    const c = exampleView({ id: 'c', instanceId: 'c', app: 'BILLING' });
    const doc = parse(applicationsDocumentJson(apps(['ORDERS', [a, b]], ['BILLING', [c]]), 3, 'UP_3_'));
    expect(doc.applications.application.map((x: Json) => x.name)).toEqual(['ORDERS', 'BILLING']);
    expect(doc.applications.application[0].instance.map((x: Json) => x.instanceId)).toEqual(['a', 'b']);
    expect(doc.applications.application[1].instance.map((x: Json) => x.instanceId)).toEqual(['c']);
    expect(parse(applicationDocumentJson('ORDERS', [])).application.instance).toEqual([]);
  });

  test('wire types: string @enabled, number $, string timestamps, number leaseInfo and countryId', () => {
    const i = parse(instanceJson(exampleView({ securePort: { port: 8443, enabled: true } })));
    expect(i.port).toEqual({ $: 8080, '@enabled': 'true' });
    expect(Object.keys(i.port)).toEqual(['$', '@enabled']);
    expect(i.securePort).toEqual({ $: 8443, '@enabled': 'true' });
    expect(parse(instanceJson(exampleView())).securePort).toEqual({ $: 443, '@enabled': 'false' });
    expect(i.countryId).toBe(1);
    expect(i.isCoordinatingDiscoveryServer).toBe('false');
    expect(i.lastUpdatedTimestamp).toBe('1718000000050');
    expect(i.lastDirtyTimestamp).toBe('1717999999000');
    for (const [key, value] of Object.entries(i.leaseInfo)) expect([key, typeof value]).toEqual([key, 'number']);
    expect(i.leaseInfo.lastRenewalTimestamp).toBe(1718000120000);
  });

  test('empty metadata is the Java empty-map marker', () => {
    const text = instanceJson(exampleView({ metadata: {} }));
    expect(text).toContain('"metadata":{"@class":"java.util.Collections$EmptyMap"}');
    expect(parse(text).metadata).toEqual({ '@class': 'java.util.Collections$EmptyMap' });
  });

  test('metadata values with quotes, backslashes and control characters survive', () => {
    const metadata = { 'we"ird\\key': 'line1\nline2 "quoted" \u0001 \u2028 ☺' };
    expect(parse(instanceJson(exampleView({ metadata }))).metadata).toEqual(metadata);
  });

  test('Amazon dataCenterInfo: AmazonInfo class, then name, then metadata', () => {
    const metadata = { 'instance-id': 'i-0abc', 'availability-zone': 'us-east-1a', 'local-ipv4': '10.1.2.3' };
    const i = parse(instanceJson(exampleView({ dataCenterInfo: { name: 'Amazon', className: DATA_CENTER_CLASS.amazon, metadata } })));
    expect(i.dataCenterInfo).toEqual({ '@class': 'com.netflix.appinfo.AmazonInfo', name: 'Amazon', metadata });
    expect(Object.keys(i.dataCenterInfo)).toEqual(['@class', 'name', 'metadata']);
    expect(Object.keys(i.dataCenterInfo.metadata)).toEqual(Object.keys(metadata));
  });

  test('a non-Amazon dataCenterInfo carries no metadata (upstream writes it for Amazon only; Spring rejects unknown fields)', () => {
    const i = parse(instanceJson(exampleView({ dataCenterInfo: { name: 'MyOwn', className: DATA_CENTER_CLASS.default, metadata: { x: 'y' } } })));
    expect(i.dataCenterInfo).toEqual({ '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' });
  });

  test('sid is left out when na, unknown or absent, and written after ipAddr otherwise', () => {
    for (const sid of ['na', 'unknown', undefined]) expect(parse(instanceJson(exampleView({ sid })))).not.toHaveProperty('sid');
    const keys = Object.keys(parse(instanceJson(exampleView({ sid: 'S1' }))));
    expect(keys.slice(0, 6)).toEqual(['instanceId', 'hostName', 'app', 'ipAddr', 'sid', 'status']);
  });

  test('optional fields are left out when absent and placed in upstream order when present', () => {
    const bare = parse(
      instanceJson(
        exampleView({
          instanceId: undefined,
          homePageUrl: undefined,
          statusPageUrl: undefined,
          healthCheckUrl: undefined,
          vipAddress: undefined,
          secureVipAddress: undefined,
        }),
      ),
    );
    for (const k of ['instanceId', 'appGroupName', 'homePageUrl', 'statusPageUrl', 'healthCheckUrl', 'secureHealthCheckUrl', 'vipAddress', 'secureVipAddress', 'asgName'])
      expect(bare).not.toHaveProperty(k);
    expect(Object.keys(bare)[0]).toBe('hostName');

    const full = parse(
      instanceJson(exampleView({ appGroupName: 'SHOP', secureHealthCheckUrl: 'https://10.0.0.7:8443/h', asgName: 'orders-v1', overriddenStatus: 'OUT_OF_SERVICE' })),
    );
    expect(Object.keys(full)).toEqual([
      'instanceId', 'hostName', 'app', 'ipAddr', 'status', 'overriddenStatus', 'port', 'securePort', 'countryId', 'dataCenterInfo', 'leaseInfo',
      'metadata', 'appGroupName', 'homePageUrl', 'statusPageUrl', 'healthCheckUrl', 'secureHealthCheckUrl', 'vipAddress', 'secureVipAddress',
      'isCoordinatingDiscoveryServer', 'lastUpdatedTimestamp', 'lastDirtyTimestamp', 'actionType', 'asgName',
    ]); // prettier-ignore
    expect(full.overriddenStatus).toBe('OUT_OF_SERVICE');
    expect(full.asgName).toBe('orders-v1');
  });

  test('the per-record cache follows lastRenewalTimestamp and nothing else', () => {
    const first = exampleView();
    const before = instanceJson(first);
    const renewed: InstanceView = { record: first.record, lastRenewalTimestamp: 1718000150000 };
    const after = instanceJson(renewed);
    expect(parse(after).leaseInfo.lastRenewalTimestamp).toBe(1718000150000);
    expect(after).toBe(before.replace('"lastRenewalTimestamp":1718000120000', '"lastRenewalTimestamp":1718000150000'));
    expect(instanceJson(first)).toBe(before);
    // A content change is a new record, never served from the old record's cache entry.
    const changed: InstanceView = { record: { ...first.record, instance: { ...first.record.instance, status: 'DOWN' } }, lastRenewalTimestamp: 1718000150000 };
    expect(parse(instanceJson(changed)).status).toBe('DOWN');
  });
});

describe('JSON decoding (§4.2)', () => {
  const body = (instance: Json): string => JSON.stringify({ instance });

  test('Java DiscoveryClient (legacy codec): string timestamps, client leaseInfo, empty-map marker', () => {
    const java = {
      instanceId: 'host1:orders:8080',
      hostName: 'host1',
      app: 'ORDERS',
      ipAddr: '10.0.0.1',
      status: 'UP',
      overriddenStatus: 'UNKNOWN',
      port: { $: 8080, '@enabled': 'true' },
      securePort: { $: 443, '@enabled': 'false' },
      countryId: 1,
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90, registrationTimestamp: 0, lastRenewalTimestamp: 0, evictionTimestamp: 0, serviceUpTimestamp: 0 },
      metadata: { '@class': 'java.util.Collections$EmptyMap' },
      homePageUrl: 'http://host1:8080/',
      statusPageUrl: 'http://host1:8080/Status',
      healthCheckUrl: 'http://host1:8080/healthcheck',
      vipAddress: 'orders',
      secureVipAddress: 'orders',
      isCoordinatingDiscoveryServer: 'false',
      lastUpdatedTimestamp: '1718000000001',
      lastDirtyTimestamp: '1718000000000',
    };
    const d = decodeInstanceJson(body(java), DEFAULTS);
    expect(d).toMatchObject({
      instanceId: 'host1:orders:8080',
      id: 'host1:orders:8080',
      app: 'ORDERS',
      hostName: 'host1',
      ipAddr: '10.0.0.1',
      status: 'UP',
      overriddenStatus: 'UNKNOWN',
      port: { port: 8080, enabled: true },
      securePort: { port: 443, enabled: false },
      countryId: 1,
      dataCenterInfo: { name: 'MyOwn', className: DATA_CENTER_CLASS.default },
      renewalIntervalSecs: 30,
      durationSecs: 90,
      metadata: {},
      homePageUrl: 'http://host1:8080/',
      statusPageUrl: 'http://host1:8080/Status',
      healthCheckUrl: 'http://host1:8080/healthcheck',
      vipAddress: 'orders',
      secureVipAddress: 'orders',
      lastDirtyTimestamp: 1718000000000,
      lastUpdatedTimestamp: 1718000000001,
      lease: { registrationTimestamp: 0, lastRenewalTimestamp: 0, evictionTimestamp: 0, serviceUpTimestamp: 0 },
    });
    expect(d.actionType).toBeUndefined();
  });

  test('Spring Cloud client: numeric timestamps, boolean isCoordinatingDiscoveryServer, explicit nulls, sid na', () => {
    const spring = {
      instanceId: '10.0.0.2:payments:9000',
      app: 'PAYMENTS',
      appGroupName: null,
      ipAddr: '10.0.0.2',
      sid: 'na',
      homePageUrl: 'http://10.0.0.2:9000/',
      statusPageUrl: 'http://10.0.0.2:9000/actuator/info',
      healthCheckUrl: 'http://10.0.0.2:9000/actuator/health',
      secureHealthCheckUrl: null,
      vipAddress: 'payments',
      secureVipAddress: 'payments',
      countryId: 1,
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      hostName: '10.0.0.2',
      status: 'UP',
      overriddenStatus: 'UNKNOWN',
      leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90, registrationTimestamp: 0, lastRenewalTimestamp: 0, evictionTimestamp: 0, serviceUpTimestamp: 0 },
      isCoordinatingDiscoveryServer: false,
      metadata: { 'management.port': '9000' },
      lastUpdatedTimestamp: 1718000000011,
      lastDirtyTimestamp: 1718000000010,
      actionType: null,
      asgName: null,
      port: { $: 9000, '@enabled': 'true' },
      securePort: { $: 443, '@enabled': 'false' },
    };
    const d = decodeInstanceJson(body(spring), DEFAULTS);
    expect(d).toMatchObject({
      id: '10.0.0.2:payments:9000',
      app: 'PAYMENTS',
      sid: 'na',
      port: { port: 9000, enabled: true },
      securePort: { port: 443, enabled: false },
      metadata: { 'management.port': '9000' },
      lastDirtyTimestamp: 1718000000010,
      lastUpdatedTimestamp: 1718000000011,
      renewalIntervalSecs: 30,
      durationSecs: 90,
    });
    expect(d.appGroupName).toBeUndefined();
    expect(d.secureHealthCheckUrl).toBeUndefined();
    expect(d.asgName).toBeUndefined();
    expect(d.actionType).toBeUndefined();
  });

  test('eureka-js-client: boolean @enabled, no instanceId (id = hostName), no lease, no lastDirtyTimestamp', () => {
    const js =
      '{ "instance": { "app": "jqservice", "hostName": "localhost", "ipAddr": "127.0.0.1",' +
      ' "port": { "$": 8080, "@enabled": true }, "vipAddress": "jq.test.something.com",' +
      ' "dataCenterInfo": { "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn" }, "status": "UP" } }';
    const d = decodeInstanceJson(js, DEFAULTS);
    expect(d).toEqual({
      instanceId: undefined,
      id: 'localhost',
      app: 'JQSERVICE',
      hostName: 'localhost',
      ipAddr: '127.0.0.1',
      sid: undefined,
      status: 'UP',
      overriddenStatus: 'UNKNOWN',
      port: { port: 8080, enabled: true },
      securePort: { port: 7002, enabled: false },
      countryId: 1,
      dataCenterInfo: { name: 'MyOwn', className: DATA_CENTER_CLASS.default },
      renewalIntervalSecs: DEFAULTS.renewalIntervalSecs,
      durationSecs: DEFAULTS.durationSecs,
      metadata: {},
      appGroupName: undefined,
      homePageUrl: undefined,
      statusPageUrl: undefined,
      healthCheckUrl: undefined,
      secureHealthCheckUrl: undefined,
      vipAddress: 'jq.test.something.com',
      secureVipAddress: undefined,
      asgName: undefined,
      lastDirtyTimestamp: DEFAULTS.now,
    });
  });

  test('a bare instance object (no "instance" wrapper) is accepted', () => {
    expect(decodeInstanceJson('{"hostName":"h","app":"a"}', DEFAULTS)).toMatchObject({ id: 'h', app: 'A' });
  });

  test('bare number ports: port counts as enabled, securePort keeps its disabled default', () => {
    const d = decodeInstanceJson(body({ hostName: 'h', port: 8080, securePort: 8443 }), DEFAULTS);
    expect(d.port).toEqual({ port: 8080, enabled: true });
    expect(d.securePort).toEqual({ port: 8443, enabled: false });
  });

  test('port $ as a string and @enabled as a string', () => {
    const d = decodeInstanceJson(body({ hostName: 'h', port: { $: '8080', '@enabled': 'false' }, securePort: { $: '8443', '@enabled': 'true' } }), DEFAULTS);
    expect(d.port).toEqual({ port: 8080, enabled: false });
    expect(d.securePort).toEqual({ port: 8443, enabled: true });
  });

  test('a port object without @enabled keeps the builder defaults', () => {
    const d = decodeInstanceJson(body({ hostName: 'h', port: { $: 80 }, securePort: { $: 443 } }), DEFAULTS);
    expect(d.port).toEqual({ port: 80, enabled: true });
    expect(d.securePort).toEqual({ port: 443, enabled: false });
  });

  test('missing port and securePort: 7001 enabled, 7002 disabled', () => {
    const d = decodeInstanceJson(body({ hostName: 'h' }), DEFAULTS);
    expect(d.port).toEqual({ port: 7001, enabled: true });
    expect(d.securePort).toEqual({ port: 7002, enabled: false });
  });

  test('out-of-range or non-numeric ports are errors', () => {
    expect(() => decodeInstanceJson(body({ port: { $: 70000 } }), DEFAULTS)).toThrow(DecodeError);
    expect(() => decodeInstanceJson(body({ port: 'http' }), DEFAULTS)).toThrow(DecodeError);
    expect(() => decodeInstanceJson(body({ port: { $: 80, '@enabled': 'yes' } }), DEFAULTS)).toThrow(DecodeError);
  });

  test('overriddenStatus in both spellings; missing → UNKNOWN', () => {
    expect(decodeInstanceJson(body({ overriddenStatus: 'OUT_OF_SERVICE' }), DEFAULTS).overriddenStatus).toBe('OUT_OF_SERVICE');
    expect(decodeInstanceJson(body({ overriddenstatus: 'DOWN' }), DEFAULTS).overriddenStatus).toBe('DOWN');
    expect(decodeInstanceJson(body({ overriddenStatus: null, overriddenstatus: 'DOWN' }), DEFAULTS).overriddenStatus).toBe('DOWN');
    expect(decodeInstanceJson(body({}), DEFAULTS).overriddenStatus).toBe('UNKNOWN');
  });

  test('status: missing → UP, case-insensitive, invalid → DecodeError', () => {
    expect(decodeInstanceJson(body({}), DEFAULTS).status).toBe('UP');
    expect(decodeInstanceJson(body({ status: 'starting' }), DEFAULTS).status).toBe('STARTING');
    expect(() => decodeInstanceJson(body({ status: 'RUNNING' }), DEFAULTS)).toThrow(DecodeError);
    expect(() => decodeInstanceJson(body({ overriddenStatus: 'SOMETIMES' }), DEFAULTS)).toThrow(DecodeError);
  });

  test('non-positive leaseInfo values fall back to the defaults; the legacy renewalTimestamp alias is read', () => {
    const d = decodeInstanceJson(body({ leaseInfo: { renewalIntervalInSecs: 0, durationInSecs: -5, renewalTimestamp: 77 } }), DEFAULTS);
    expect(d.renewalIntervalSecs).toBe(DEFAULTS.renewalIntervalSecs);
    expect(d.durationSecs).toBe(DEFAULTS.durationSecs);
    expect(d.lease?.lastRenewalTimestamp).toBe(77);
    const custom = decodeInstanceJson(body({ leaseInfo: { renewalIntervalInSecs: '5', durationInSecs: '15' } }), DEFAULTS);
    expect([custom.renewalIntervalSecs, custom.durationSecs]).toEqual([5, 15]);
  });

  test('metadata: the @class marker is dropped, scalars become strings, nulls are skipped', () => {
    expect(decodeInstanceJson(body({ metadata: { '@class': 'java.util.Collections$EmptyMap' } }), DEFAULTS).metadata).toEqual({});
    expect(decodeInstanceJson(body({ metadata: { '@class': 'java.util.Collections$EmptyMap', zone: 'a' } }), DEFAULTS).metadata).toEqual({ zone: 'a' });
    expect(decodeInstanceJson(body({ metadata: { port: 8080, secure: true, ratio: 0.5, gone: null } }), DEFAULTS).metadata).toEqual({
      port: '8080',
      secure: 'true',
      ratio: '0.5',
    });
    expect(decodeInstanceJson(body({ metadata: null }), DEFAULTS).metadata).toEqual({});
  });

  test('nested metadata objects and arrays are DecodeErrors', () => {
    expect(() => decodeInstanceJson(body({ metadata: { a: { b: 'c' } } }), DEFAULTS)).toThrow(DecodeError);
    expect(() => decodeInstanceJson(body({ metadata: { a: ['b'] } }), DEFAULTS)).toThrow(DecodeError);
    expect(() => decodeInstanceJson(body({ metadata: 'zone=a' }), DEFAULTS)).toThrow(DecodeError);
  });

  test('malformed JSON and non-object bodies are DecodeError("cannot parse request body")', () => {
    for (const text of ['{"instance": {', '', 'not json', '<instance/>', 'null', '[]', '"instance"', '42']) {
      expect(() => decodeInstanceJson(text, DEFAULTS)).toThrow(new DecodeError('cannot parse request body'));
    }
  });

  test('Amazon: without instanceId the id is metadata.instance-id; an instanceId still wins', () => {
    const amazon = {
      hostName: 'ip-10-1-2-3.ec2.internal',
      app: 'search',
      dataCenterInfo: { '@class': 'com.netflix.appinfo.AmazonInfo', name: 'Amazon', metadata: { 'instance-id': 'i-0abc', 'availability-zone': 'us-east-1a' } },
    };
    const d = decodeInstanceJson(body(amazon), DEFAULTS);
    expect(d.id).toBe('i-0abc');
    expect(d.instanceId).toBeUndefined();
    expect(d.dataCenterInfo).toEqual({ name: 'Amazon', className: DATA_CENTER_CLASS.amazon, metadata: { 'instance-id': 'i-0abc', 'availability-zone': 'us-east-1a' } });
    expect(decodeInstanceJson(body({ ...amazon, instanceId: 'explicit' }), DEFAULTS).id).toBe('explicit');
  });

  test('dataCenterInfo without @class gets its class from the name', () => {
    expect(decodeInstanceJson(body({ dataCenterInfo: { name: 'MyOwn' } }), DEFAULTS).dataCenterInfo).toEqual({ name: 'MyOwn', className: DATA_CENTER_CLASS.default });
    expect(decodeInstanceJson(body({ dataCenterInfo: { '@class': 'com.netflix.appinfo.MyDataCenterInfo', name: 'Netflix' } }), DEFAULTS).dataCenterInfo).toEqual({
      name: 'Netflix',
      className: DATA_CENTER_CLASS.default,
    });
  });

  test('a metadata key named __proto__ is data, not the prototype', () => {
    const d = decodeInstanceJson('{"instance":{"metadata":{"__proto__":"x","toString":"y","zone":"z"}}}', DEFAULTS);
    expect(Object.getPrototypeOf(d.metadata)).toBe(Object.prototype);
    expect(Object.entries(d.metadata)).toEqual([
      ['__proto__', 'x'],
      ['toString', 'y'],
      ['zone', 'z'],
    ]);
  });

  test('app and appGroupName are upper-cased; an empty hostName is missing', () => {
    const d = decodeInstanceJson(body({ app: 'orders', appGroupName: 'shop', hostName: '' }), DEFAULTS);
    expect([d.app, d.appGroupName, d.hostName, d.id]).toEqual(['ORDERS', 'SHOP', undefined, undefined]);
  });

  test('what the server itself emits decodes back to the same instance', () => {
    const d = decodeInstanceJson(instanceDocumentJson(exampleView({ sid: 'S1', asgName: 'orders-v1' })), DEFAULTS);
    const { id, instanceId, app, hostName, ipAddr, status, overriddenStatus, port, securePort, countryId, metadata, lastDirtyTimestamp } = EXAMPLE_INSTANCE;
    expect(d).toMatchObject({ id, instanceId, app, hostName, ipAddr, status, overriddenStatus, port, securePort, countryId, metadata, lastDirtyTimestamp });
    expect(d).toMatchObject({ sid: 'S1', asgName: 'orders-v1', actionType: 'ADDED', lastUpdatedTimestamp: 1718000000050 });
    expect(d.lease).toEqual({ registrationTimestamp: 1718000000000, lastRenewalTimestamp: 1718000120000, evictionTimestamp: 0, serviceUpTimestamp: 1718000000050 });
  });

  test('metadata of many string keys: every key, in order, values as sent', () => {
    const six = { 'management.port': '8081', zone: 'us-east-1a', version: '3.0.1', 'git.commit': 'abc', 'management.context-path': '/m', team: 'core' };
    const metadata = decodeInstanceJson(body({ hostName: 'h', app: 'a', metadata: six }), DEFAULTS).metadata;
    expect(metadata).toEqual(six);
    expect(Object.keys(metadata)).toEqual(Object.keys(six));
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
  });
});
