import { decodeInstanceJson } from '../../src/codecs/json';
import { decodeInstanceXml } from '../../src/codecs/xml';
import { MAX_ENTRIES, MAX_SHARED_LENGTH, sharedString, sharedValueCounts } from '../../src/codecs/shared-values';

const DEFAULTS = { renewalIntervalSecs: 30, durationSecs: 90, now: 1_700_000_000_000 };

// Each body is built from its own string pieces, as two requests' bodies are: equal values, different strings.
const body = (n: number, zone = 'us-east-1a'): string =>
  JSON.stringify({
    instance: {
      instanceId: `host-${n}:orders`,
      hostName: `host-${n}`,
      app: 'orders',
      ipAddr: `10.0.0.${n}`,
      status: 'up',
      port: { $: 8080, '@enabled': 'true' },
      securePort: { $: 443, '@enabled': 'false' },
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      metadata: { zone: `${zone}`, version: ['2', '14', '3'].join('.'), note: 'x'.repeat(MAX_SHARED_LENGTH + 1 + n) },
      vipAddress: ['orders', 'svc'].join('-'),
      secureVipAddress: ['orders', 'svc'].join('-'),
      homePageUrl: `http://host-${n}:8080/`,
    },
  });

describe('values many instances carry alike are held once', () => {
  it('gives two decoded registrations the same application, VIP, status, port, data centre and metadata values', () => {
    const a = decodeInstanceJson(body(1), DEFAULTS);
    const held = sharedValueCounts().strings;
    const b = decodeInstanceJson(body(2), DEFAULTS);
    // Strings cannot be told apart by identity in JavaScript: that the second decoding added no string to the table
    // says it was handed the copies the first one left there.
    expect(sharedValueCounts().strings).toBe(held);
    expect(decodeInstanceJson(body(9, 'us-east-1b'), DEFAULTS).metadata.zone).toBe('us-east-1b');
    expect(sharedValueCounts().strings).toBe(held + 1);
    expect(a.app).toBe('ORDERS');
    expect(b.app).toBe('ORDERS');
    expect(a.vipAddress).toBe('orders-svc');
    expect(a.secureVipAddress).toBe('orders-svc');
    expect(a.status).toBe('UP');
    expect(a.port).toBe(b.port);
    expect(a.port).toEqual({ port: 8080, enabled: true });
    expect(a.securePort).toBe(b.securePort);
    expect(a.securePort).toEqual({ port: 443, enabled: false });
    expect(a.dataCenterInfo).toBe(b.dataCenterInfo);
    expect(a.dataCenterInfo).toEqual({ name: 'MyOwn', className: 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo' });
    expect(a.metadata).not.toBe(b.metadata); // each instance's own map
    expect(a.metadata.zone).toBe(b.metadata.zone);
    expect(a.metadata.version).toBe('2.14.3');
  });

  it('shares what an XML body decodes to with what a JSON body decodes to', () => {
    const xml =
      '<instance><instanceId>h:orders</instanceId><hostName>h</hostName><app>ORDERS</app><ipAddr>10.0.0.9</ipAddr>' +
      '<port enabled="true">8080</port><securePort enabled="false">443</securePort>' +
      '<dataCenterInfo class="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"><name>MyOwn</name></dataCenterInfo>' +
      '<vipAddress>orders-svc</vipAddress></instance>';
    const fromXml = decodeInstanceXml(xml, DEFAULTS);
    const fromJson = decodeInstanceJson(body(3), DEFAULTS);
    expect(fromXml.port).toBe(fromJson.port);
    expect(fromXml.dataCenterInfo).toBe(fromJson.dataCenterInfo);
    expect(fromXml.vipAddress).toBe('orders-svc');
  });

  it('keeps what only one instance has, and what is longer than a name, as it came', () => {
    const a = decodeInstanceJson(body(4), DEFAULTS);
    expect(a.metadata.note).toHaveLength(MAX_SHARED_LENGTH + 5);
    expect(sharedString(a.metadata.note)).toBe(a.metadata.note);
    const before = sharedValueCounts().strings;
    sharedString('y'.repeat(MAX_SHARED_LENGTH + 1));
    expect(sharedValueCounts().strings).toBe(before);
  });

  it('never lets a shared value be changed in place', () => {
    const a = decodeInstanceJson(body(5), DEFAULTS);
    expect(() => ((a.port as { port: number }).port = 1)).toThrow(TypeError);
    expect(() => ((a.dataCenterInfo as { name: string }).name = 'Amazon')).toThrow(TypeError);
    expect(decodeInstanceJson(body(6), DEFAULTS).port.port).toBe(8080);
  });

  it('holds at most MAX_ENTRIES strings however many different values clients send', () => {
    for (let i = 0; i < MAX_ENTRIES + 500; i++) sharedString(`zone-${i}`);
    expect(sharedValueCounts().strings).toBeLessThanOrEqual(MAX_ENTRIES);
    // Still sharing after the table started afresh.
    decodeInstanceJson(body(7, 'eu-west-1c'), DEFAULTS);
    const held = sharedValueCounts().strings;
    expect(decodeInstanceJson(body(8, 'eu-west-1c'), DEFAULTS).metadata.zone).toBe('eu-west-1c');
    expect(sharedValueCounts().strings).toBe(held);
  });
});
