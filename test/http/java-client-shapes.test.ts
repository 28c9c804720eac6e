// Golden documents: what the Java, Spring and JS clients (and XStream XML) send, and what a Java client expects back
// (contract §4.1, §4.3, §4.4). Fixtures live in test/fixtures/; timestamps come from a ManualClock so the output is exact.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import request from 'supertest';
import { makeTestApp, TestApp } from '../helpers/app';
import { textOf } from '../helpers/http';

const FIXTURES = join(__dirname, '..', 'fixtures');
const fixture = (path: string): string => readFileSync(join(FIXTURES, path), 'utf8');
const T0 = 1_700_000_000_000;

/** The four registrations, in the order and at the times the expected documents assume. */
const REGISTRATIONS = [
  { client: 'Java legacy JSON', path: '/eureka/apps/ORDERS', type: 'application/json', body: fixture('clients/java-legacy.register.json'), app: 'ORDERS', id: '10.0.0.7:orders:8080' },
  { client: 'Spring JSON', path: '/eureka/v2/apps/BILLING', type: 'application/json', body: fixture('clients/spring.register.json'), app: 'BILLING', id: '10.0.0.8:billing:8081' },
  { client: 'eureka-js-client JSON', path: '/eureka/apps/jqservice', type: 'application/json', body: fixture('clients/eureka-js-client.register.json'), app: 'JQSERVICE', id: 'localhost' },
  { client: 'XStream XML', path: '/eureka/apps/INVENTORY', type: 'application/xml', body: fixture('clients/xstream.register.xml'), app: 'INVENTORY', id: '10.0.0.9:inventory:8082' },
] as const;

const EXPECTED_JSON: any = JSON.parse(fixture('documents/applications.json'));
const EXPECTED_XML = fixture('documents/applications.xml');
const expectedApp = (app: string): any => EXPECTED_JSON.applications.application.find((a: any) => a.name === app);
const expectedInstance = (app: string): any => JSON.parse(JSON.stringify(expectedApp(app).instance[0]));

// ----------------------------------------------------------------------------------------------------------------
// Comparison helpers

/** Every key path of a JSON value in document order, e.g. `applications.application[0].name`. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => keyPaths(v, `${prefix}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.keys(value).flatMap((k) => [`${prefix}.${k}`, ...keyPaths((value as Record<string, unknown>)[k], `${prefix}.${k}`)]);
  }
  return [];
}

/** Same values, same types, same key order. */
function expectSameJson(actualText: string, expected: unknown): void {
  const actual = JSON.parse(actualText);
  expect(actual).toStrictEqual(expected);
  expect(keyPaths(actual)).toEqual(keyPaths(expected));
}

// Order-preserving XML trees: element order, attributes and text all compared; indentation ignored.
const xmlParser = new XMLParser({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, parseAttributeValue: false, trimValues: true });
const xmlTree = (xml: string): unknown => xmlParser.parse(xml);

/** The element `name` at `index` among the children of the root of a parsed order-preserving tree. */
function xmlChildren(tree: any, name: string): any[] {
  const root = tree[0];
  const rootName = Object.keys(root).find((k) => k !== ':@') as string;
  return (root[rootName] as any[]).filter((child) => name in child);
}

function expectedXmlApplication(app: string): any {
  return xmlChildren(xmlTree(EXPECTED_XML), 'application').find((a) => a.application[0].name[0]['#text'] === app);
}

// ----------------------------------------------------------------------------------------------------------------

let t: TestApp;
const api = () => request(t.app);

beforeEach(async () => {
  t = makeTestApp();
  for (const [n, r] of REGISTRATIONS.entries()) {
    t.clock.set(T0 + n * 1000);
    const res = await api().post(r.path).set('Content-Type', r.type).set('Accept-Encoding', 'gzip').send(r.body);
    expect(res.status).toBe(204);
  }
  t.clock.set(T0 + 10_000);
});

describe('Java client wire shapes', () => {
  describe('GET /apps', () => {
    it('serves the JSON document a Java client expects, key for key and in order', async () => {
      const res = await api().get('/eureka/apps/').set('Accept', 'application/json');
      expect(res.status).toBe(200);
      expectSameJson(res.text, EXPECTED_JSON);
    });

    it('serves the XML document, element for element', async () => {
      const res = await api().get('/eureka/v2/apps/');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/xml');
      expect(xmlTree(textOf(res))).toEqual(xmlTree(EXPECTED_XML));
    });

    it('serves XML that carries nothing but elements (no stray whitespace or declaration)', async () => {
      const text = textOf(await api().get('/eureka/apps'));
      expect(text).toBe(EXPECTED_XML.replace(/>\s+</g, '><').trim());
    });
  });

  describe.each(REGISTRATIONS.map((r) => [r.client, r] as const))('a registration from %s', (_client, r) => {
    it('is served by GET /apps/{app} as {"application":{...}}', async () => {
      const res = await api().get(`/eureka/apps/${r.app}`).set('Accept', 'application/json');
      expect(res.status).toBe(200);
      expectSameJson(res.text, { application: expectedApp(r.app) });
    });

    it('is served by GET /apps/{app} as <application> XML', async () => {
      const res = await api().get(`/eureka/apps/${r.app}`);
      expect(xmlTree(textOf(res))).toEqual([expectedXmlApplication(r.app)]);
    });

    it.each([
      ['GET /apps/{app}/{id}', `/eureka/apps/${r.app}/${encodeURIComponent(r.id)}`],
      ['GET /instances/{id}', `/eureka/instances/${encodeURIComponent(r.id)}`],
    ])('is served by %s as {"instance":{...}} and <instance>', async (_route, path) => {
      const json = await api().get(path).set('Accept', 'application/json');
      expect(json.status).toBe(200);
      expectSameJson(json.text, { instance: expectedInstance(r.app) });
      const xml = await api().get(path);
      expect(xml.status).toBe(200);
      const expected = expectedXmlApplication(r.app).application.find((c: any) => 'instance' in c);
      expect(xmlTree(textOf(xml))).toEqual([expected]);
    });

    it('shows a heartbeat in leaseInfo.lastRenewalTimestamp of single-instance reads, nothing else', async () => {
      t.clock.set(T0 + 33_000);
      await api().put(`/eureka/apps/${r.app}/${encodeURIComponent(r.id)}`).expect(200);
      const res = await api().get(`/eureka/apps/${r.app}/${encodeURIComponent(r.id)}`).set('Accept', 'application/json');
      const expected = expectedInstance(r.app);
      expected.leaseInfo.lastRenewalTimestamp = T0 + 33_000;
      expectSameJson(res.text, { instance: expected });
    });

    it('shows a status override as MODIFIED with the override time, nothing else', async () => {
      t.clock.set(T0 + 40_000);
      await api().put(`/eureka/apps/${r.app}/${encodeURIComponent(r.id)}/status?value=OUT_OF_SERVICE`).expect(200);
      const res = await api().get(`/eureka/apps/${r.app}/${encodeURIComponent(r.id)}`).set('Accept', 'application/json');
      const expected = expectedInstance(r.app);
      Object.assign(expected, { status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE', lastUpdatedTimestamp: String(T0 + 40_000), actionType: 'MODIFIED' });
      expected.leaseInfo.lastRenewalTimestamp = T0 + 40_000; // the override renews the lease
      expectSameJson(res.text, { instance: expected });
    });

    it('accepts its own JSON output back as a registration (Java legacy decoder, peers) without changing it', async () => {
      const own = (await api().get(`/eureka/apps/${r.app}/${encodeURIComponent(r.id)}`).set('Accept', 'application/json')).text;
      const res = await api().post(`/eureka/apps/${r.app}`).set('Content-Type', 'application/json').send(own);
      expect(res.status).toBe(204);
      const again = await api().get(`/eureka/apps/${r.app}/${encodeURIComponent(r.id)}`).set('Accept', 'application/json');
      const expected = expectedInstance(r.app);
      // A re-registration is a new lease now; the client-owned fields are unchanged.
      Object.assign(expected, { lastUpdatedTimestamp: String(T0 + 10_000) });
      Object.assign(expected.leaseInfo, { registrationTimestamp: T0 + 10_000, lastRenewalTimestamp: T0 + 10_000 });
      expectSameJson(again.text, { instance: expected });
    });

    it('accepts its own XML output back as a registration without changing it', async () => {
      const own = textOf(await api().get(`/eureka/apps/${r.app}/${encodeURIComponent(r.id)}`));
      const res = await api().post(`/eureka/apps/${r.app}`).set('Content-Type', 'application/xml').send(own);
      expect(res.status).toBe(204);
      const again = await api().get(`/eureka/apps/${r.app}/${encodeURIComponent(r.id)}`).set('Accept', 'application/json');
      const expected = expectedInstance(r.app);
      Object.assign(expected, { lastUpdatedTimestamp: String(T0 + 10_000) });
      Object.assign(expected.leaseInfo, { registrationTimestamp: T0 + 10_000, lastRenewalTimestamp: T0 + 10_000 });
      expectSameJson(again.text, { instance: expected });
    });
  });

  describe('GET /apps/delta', () => {
    it('lists every registration as the same ADDED instance the full document has, with its hashcode', async () => {
      const res = await api().get('/eureka/apps/delta').set('Accept', 'application/json');
      const doc = JSON.parse(res.text);
      expect(Object.keys(doc.applications)).toEqual(['versions__delta', 'apps__hashcode', 'application']);
      expect(typeof doc.applications.versions__delta).toBe('string');
      expect(doc.applications.apps__hashcode).toBe('UP_4_');
      expectSameJson(JSON.stringify(doc.applications.application), EXPECTED_JSON.applications.application);
    });

    it('lists a cancelled instance as DELETED with its eviction time and the hashcode of what is left', async () => {
      t.clock.set(T0 + 50_000);
      await api().delete('/eureka/apps/BILLING/10.0.0.8:billing:8081').expect(200);
      const doc = JSON.parse((await api().get('/eureka/apps/delta').set('Accept', 'application/json')).text);
      expect(doc.applications.apps__hashcode).toBe('UP_3_');
      const billing = doc.applications.application.find((a: any) => a.name === 'BILLING');
      const expected = expectedInstance('BILLING');
      Object.assign(expected, { lastUpdatedTimestamp: String(T0 + 50_000), actionType: 'DELETED' });
      expected.leaseInfo.evictionTimestamp = T0 + 50_000;
      expectSameJson(JSON.stringify(billing), { name: 'BILLING', instance: [expected] });
    });
  });

  describe('GET /vips/{vip}', () => {
    it('serves the selection as an applications document with versions__delta "-1"', async () => {
      const res = await api().get('/eureka/vips/jq.test.something.com').set('Accept', 'application/json');
      expectSameJson(res.text, { applications: { versions__delta: '-1', apps__hashcode: 'UP_1_', application: [expectedApp('JQSERVICE')] } });
    });
  });
});
