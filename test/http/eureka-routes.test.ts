// Every Eureka route of createApp over HTTP: status codes, bodies and headers as the contract (§1.2, §2, §3) and
// the three client families (§15) need them. Time is a ManualClock; the response cache has no staleness.
import { gunzipSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import type { Response } from 'supertest';
import { createApp } from '../../src/http/app';
import { DEFAULT_DATA_CENTER_CLASS, DEFAULT_DIRTY, javaLegacyBody, jsClientBody, makeTestApp, RegistrationBody, springBody, TestApp, xmlBody } from '../helpers/app';
import { DELTA_AGING_STEP_MS } from '../../src/http/payloads/response-cache';
import { listen, Listening, rawRequest, textOf } from '../helpers/http';

const T0 = 1_700_000_000_000;
const ORDERS_ID = '10.0.0.7:orders:8080';
const JSON_ACCEPT = { Accept: 'application/json' };
const EMPTY_APPS_JSON = '{"applications":{"versions__delta":"1","apps__hashcode":"","application":[]}}';

let t: TestApp;
beforeEach(() => {
  t = makeTestApp();
});

const api = () => request(t.app);

function expectEmpty(res: Response): void {
  expect(textOf(res)).toBe('');
  expect(res.headers['content-length']).toBe('0');
}

function postJson(path: string, body: unknown) {
  return api().post(path).set('Content-Type', 'application/json').send(typeof body === 'string' ? body : JSON.stringify(body));
}

async function register(body: RegistrationBody = javaLegacyBody(), path = `/eureka/apps/${String(body.instance.app ?? 'ORDERS')}`): Promise<void> {
  const res = await postJson(path, body);
  expect(res.status).toBe(204);
}

/** The `instance` object of GET /apps/{app}/{id} as JSON, or undefined on 404. */
async function instanceJson(app: string, id: string): Promise<Record<string, any> | undefined> {
  const res = await api().get(`/eureka/apps/${app}/${encodeURIComponent(id)}`).set(JSON_ACCEPT);
  if (res.status === 404) return undefined;
  expect(res.status).toBe(200);
  return JSON.parse(res.text).instance;
}

async function appsJson(path = '/eureka/apps'): Promise<{ res: Response; doc: any }> {
  const res = await api().get(path).set(JSON_ACCEPT);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/json');
  return { res, doc: JSON.parse(res.text) };
}

/** POSTs exact bytes to /eureka/apps/ORDERS over a real socket (supertest would re-serialise a Buffer as JSON). */
async function postRaw(body: string | Buffer, headers: Record<string, string> = {}, path = '/eureka/apps/ORDERS') {
  const server = await listen(t.app);
  try {
    return await rawRequest(server.port, { method: 'POST', path, headers, body });
  } finally {
    await server.close();
  }
}

/** Every instance of an applications document, flattened. */
const instancesOf = (doc: any): any[] => doc.applications.application.flatMap((a: any) => a.instance);

describe('Eureka API', () => {
  describe('base paths', () => {
    it.each(['/eureka/apps', '/eureka/apps/', '/eureka/v2/apps', '/eureka/v2/apps/', '/eureka/v1/apps', '/eureka//apps'])('serves the full registry at %s', async (path) => {
      await register();
      const { doc } = await appsJson(path);
      expect(instancesOf(doc).map((i) => i.instanceId)).toEqual([ORDERS_ID]);
    });

    it.each([
      ['POST', '/eureka/v2/apps/ORDERS/', 204],
      ['PUT', `/eureka/v2/apps/ORDERS/${ORDERS_ID}/`, 200],
      ['GET', `/eureka/v2/apps/ORDERS/${ORDERS_ID}/`, 200],
      ['GET', '/eureka/v2/apps/ORDERS/', 200],
      ['GET', '/eureka/v2/apps/delta/', 200],
      ['GET', `/eureka/v2/instances/${ORDERS_ID}/`, 200],
      ['GET', '/eureka/v2/vips/orders/', 200],
      ['PUT', `/eureka/v2/apps/ORDERS/${ORDERS_ID}/status/?value=UP`, 200],
      ['PUT', `/eureka/v2/apps/ORDERS/${ORDERS_ID}/metadata/?a=b`, 200],
      ['DELETE', `/eureka/v2/apps/ORDERS/${ORDERS_ID}/status/`, 200],
      ['DELETE', `/eureka/v2/apps/ORDERS/${ORDERS_ID}/`, 200],
    ])('answers %s %s (trailing slash) with %i', async (method, path, status) => {
      if (method !== 'POST') await register();
      const req = api()[method.toLowerCase() as 'get' | 'put' | 'post' | 'delete'](path).set(JSON_ACCEPT);
      const res = method === 'POST' ? await req.set('Content-Type', 'application/json').send(JSON.stringify(javaLegacyBody())) : await req;
      expect(res.status).toBe(status);
    });
  });

  describe('POST /apps/{app} (register)', () => {
    it('answers 204 with an empty body to a Java legacy JSON registration', async () => {
      const res = await postJson('/eureka/apps/ORDERS', javaLegacyBody());
      expect(res.status).toBe(204);
      expect(textOf(res)).toBe('');
      expect(t.registry.lease('ORDERS', ORDERS_ID)).toBeDefined();
    });

    it('answers each of many registrations read together as if it came alone, and a heartbeat after its 204 finds it', async () => {
      const server = await listen(t.app);
      try {
        const one = async (i: number): Promise<[number, number | undefined]> => {
          // Every fifth names another application than its path: a 400 among the 204s read with it.
          const app = i % 5 === 0 ? 'OTHER' : 'ORDERS';
          const body = JSON.stringify(javaLegacyBody({ app, instanceId: `orders-${i}`, hostName: `h${i}` }));
          const reg = await rawRequest(server.port, { method: 'POST', path: '/eureka/apps/ORDERS', headers: { 'content-type': 'application/json' }, body });
          if (reg.status !== 204) return [reg.status, undefined];
          const beat = await rawRequest(server.port, { method: 'PUT', path: `/eureka/apps/ORDERS/orders-${i}` });
          return [reg.status, beat.status];
        };
        const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => one(i)));
        outcomes.forEach(([reg, beat], i) => expect([i, reg, beat]).toEqual(i % 5 === 0 ? [i, 400, undefined] : [i, 204, 200]));
        expect(t.registry.size).toBe(32);
      } finally {
        await server.close();
      }
    });

    it('answers 204 to a Spring client registration (numeric timestamps, nulls, boolean flag)', async () => {
      const res = await postJson('/eureka/apps/BILLING', springBody({ app: 'BILLING', hostName: '10.0.0.8', ipAddr: '10.0.0.8', port: 8081, lastDirtyTimestamp: 1_699_999_998_000 }));
      expect(res.status).toBe(204);
      const instance = await instanceJson('BILLING', '10.0.0.8:billing:8081');
      expect(instance).toMatchObject({ app: 'BILLING', lastDirtyTimestamp: '1699999998000', status: 'UP' });
      expect(instance).not.toHaveProperty('sid');
      expect(instance).not.toHaveProperty('asgName');
      expect(instance).not.toHaveProperty('appGroupName');
    });

    it('answers 204 to an eureka-js-client registration and keys it by hostName', async () => {
      const res = await postJson('/eureka/apps/jqservice', jsClientBody());
      expect(res.status).toBe(204);
      const instance = await instanceJson('JQSERVICE', 'localhost');
      expect(instance).toMatchObject({ app: 'JQSERVICE', hostName: 'localhost', port: { $: 8080, '@enabled': 'true' }, lastDirtyTimestamp: String(T0) });
      expect(instance).not.toHaveProperty('instanceId');
    });

    it.each(['application/xml', 'text/xml; charset=UTF-8'])('answers 204 to an XML registration sent as %s', async (type) => {
      const res = await api().post('/eureka/apps/ORDERS').set('Content-Type', type).send(xmlBody({ metadata: { zone: 'zone-a' } }));
      expect(res.status).toBe(204);
      expect(textOf(res)).toBe('');
      const instance = await instanceJson('ORDERS', ORDERS_ID);
      expect(instance).toMatchObject({ instanceId: ORDERS_ID, port: { $: 8080, '@enabled': 'true' }, securePort: { $: 443, '@enabled': 'false' }, metadata: { zone: 'zone-a' } });
    });

    it('answers 204 to a gzip-encoded JSON body (peer replication may compress)', async () => {
      const res = await postRaw(gzipSync(JSON.stringify(javaLegacyBody())), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      expect(res.status).toBe(204);
      expect(t.registry.lease('ORDERS', ORDERS_ID)).toBeDefined();
    });

    describe('without Content-Type', () => {
      let server: Listening;
      beforeEach(async () => {
        server = await listen(t.app);
      });
      afterEach(() => server.close());

      it('sniffs a JSON body and answers 204', async () => {
        const res = await rawRequest(server.port, { method: 'POST', path: '/eureka/apps/ORDERS', body: JSON.stringify(javaLegacyBody()) });
        expect(res.status).toBe(204);
        expect(res.text).toBe('');
        expect(t.registry.lease('ORDERS', ORDERS_ID)).toBeDefined();
      });

      it('sniffs an XML body and answers 204', async () => {
        const res = await rawRequest(server.port, { method: 'POST', path: '/eureka/apps/ORDERS', body: xmlBody() });
        expect(res.status).toBe(204);
        expect(t.registry.lease('ORDERS', ORDERS_ID)).toBeDefined();
      });

      it('answers 415 to a body that is neither', async () => {
        const res = await rawRequest(server.port, { method: 'POST', path: '/eureka/apps/ORDERS', body: 'hostName=a&app=ORDERS' });
        expect(res.status).toBe(415);
      });
    });

    it('upper-cases the app name from a lower-case path and body', async () => {
      await register(javaLegacyBody({ app: 'orders' }), '/eureka/apps/orders');
      const { doc } = await appsJson();
      expect(doc.applications.application.map((a: any) => a.name)).toEqual(['ORDERS']);
      expect(instancesOf(doc)[0].app).toBe('ORDERS');
    });

    it.each([
      ['orders', 'ORDERS'],
      ['ORDERS', 'orders'],
      ['Orders', 'oRDERS'],
    ])('accepts path app %s with body app %s', async (pathApp, bodyApp) => {
      await register(javaLegacyBody({ app: bodyApp, instanceId: ORDERS_ID }), `/eureka/apps/${pathApp}`);
      expect(t.registry.lease('ORDERS', ORDERS_ID)).toBeDefined();
    });

    describe('validation (400, Eureka messages in Eureka order)', () => {
      type Edit = (i: Record<string, unknown>) => void;
      const drop =
        (...fields: string[]): Edit =>
        (i) => {
          for (const f of fields) delete i[f];
        };

      it.each<{ body: string; edit: Edit; message: string }>([
        { body: 'no instanceId and no hostName', edit: drop('instanceId', 'hostName'), message: 'Missing instanceId' },
        { body: 'an empty instanceId and an empty hostName', edit: (i) => Object.assign(i, { instanceId: '', hostName: '' }), message: 'Missing instanceId' },
        { body: 'no hostName', edit: drop('hostName'), message: 'Missing hostname' },
        { body: 'no ipAddr', edit: drop('ipAddr'), message: 'Missing ip address' },
        { body: 'no app', edit: drop('app'), message: 'Missing appName' },
        { body: 'another app in the body', edit: (i) => (i.app = 'billing'), message: 'Mismatched appName, expecting ORDERS but was BILLING' },
        { body: 'no dataCenterInfo', edit: drop('dataCenterInfo'), message: 'Missing dataCenterInfo' },
        { body: 'a dataCenterInfo without name', edit: (i) => (i.dataCenterInfo = { '@class': DEFAULT_DATA_CENTER_CLASS }), message: 'Missing dataCenterInfo Name' },
        // Several problems at once: the first check in Eureka's order wins.
        { body: 'none of the mandatory fields', edit: drop('instanceId', 'hostName', 'ipAddr', 'app', 'dataCenterInfo'), message: 'Missing instanceId' },
        { body: 'no hostName, ipAddr, app or dataCenterInfo', edit: drop('hostName', 'ipAddr', 'app', 'dataCenterInfo'), message: 'Missing hostname' },
        { body: 'no ipAddr, app or dataCenterInfo', edit: drop('ipAddr', 'app', 'dataCenterInfo'), message: 'Missing ip address' },
        { body: 'no app or dataCenterInfo', edit: drop('app', 'dataCenterInfo'), message: 'Missing appName' },
        { body: 'another app and no dataCenterInfo', edit: (i) => Object.assign(i, { app: 'BILLING', dataCenterInfo: undefined }), message: 'Mismatched appName, expecting ORDERS but was BILLING' },
      ])('answers 400 "$message" to a body with $body', async ({ edit, message }) => {
        const body = javaLegacyBody();
        edit(body.instance);
        const res = await postJson('/eureka/apps/ORDERS', body);
        expect(res.status).toBe(400);
        expect(res.text).toBe(message);
        expect(res.headers['content-type']).toMatch(/^text\/plain/);
        expect(t.registry.size).toBe(0);
      });

      it('answers 400 "Missing hostname" to an XML body without hostName', async () => {
        const res = await api().post('/eureka/apps/ORDERS').set('Content-Type', 'application/xml').send(xmlBody().replace(/<hostName>.*<\/hostName>\n/, ''));
        expect(res.status).toBe(400);
        expect(res.text).toBe('Missing hostname');
      });

      it('answers 400 (not 500) to an XML status element with a toString child', async () => {
        const res = await api()
          .post('/eureka/apps/ORDERS')
          .set('Content-Type', 'application/xml')
          .send(xmlBody().replace('<status>UP</status>', '<status><toString>UP</toString></status>'));
        expect(res.status).toBe(400);
      });

      it('expects the upper-cased path app in the mismatch message', async () => {
        const res = await postJson('/eureka/apps/orders', javaLegacyBody({ app: 'billing' }));
        expect(res.status).toBe(400);
        expect(res.text).toBe('Mismatched appName, expecting ORDERS but was BILLING');
      });

      it.each(['{"instance":', '{"instance":{"hostName":"a",}}', 'not json at all {', ''])('answers 400 {"error":"cannot parse request body"} to malformed JSON %j', async (body) => {
        const res = await postJson('/eureka/apps/ORDERS', body);
        expect(res.status).toBe(400);
        expect(res.headers['content-type']).toBe('application/json');
        expect(res.text).toBe('{"error":"cannot parse request body"}');
      });

      it.each(['[]', '42', '"instance"', 'null'])('answers 400 cannot-parse to JSON %s that is not an object', async (body) => {
        const res = await postJson('/eureka/apps/ORDERS', body);
        expect(res.status).toBe(400);
        expect(res.text).toBe('{"error":"cannot parse request body"}');
      });

      it.each(['<instance><hostName>a</hostName>', '<instance><hostName>a</instance>', '<<<', '<?xml version="1.0"?>'])('answers 400 <error> to malformed XML %j', async (body) => {
        const res = await api().post('/eureka/apps/ORDERS').set('Content-Type', 'application/xml').send(body);
        expect(res.status).toBe(400);
        expect(res.headers['content-type']).toBe('application/xml');
        expect(textOf(res)).toBe('<error><message>cannot parse request body</message></error>');
      });

      it('refuses an XML body with a DTD (entity expansion) with 400', async () => {
        const body = '<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">]><instance><hostName>&lol;</hostName></instance>';
        const res = await api().post('/eureka/apps/ORDERS').set('Content-Type', 'application/xml').send(body);
        expect(res.status).toBe(400);
      });

      it.each<[string, Edit]>([
        ['port is not a number', (i) => (i.port = { $: 'eighty', '@enabled': 'true' })],
        ['port is out of range', (i) => (i.port = { $: 70000, '@enabled': 'true' })],
        ['hostName is an object', (i) => (i.hostName = { a: 1 })],
        ['status is not a status', (i) => (i.status = 'SLEEPING')],
        ['metadata is a list', (i) => (i.metadata = ['a'])],
        ['a metadata value is an object', (i) => (i.metadata = { zone: { nested: 'x' } })],
        ['leaseInfo.durationInSecs is text', (i) => (i.leaseInfo = { durationInSecs: 'ninety' })],
        ['lastDirtyTimestamp is not an integer', (i) => (i.lastDirtyTimestamp = '12.5')],
        ['status is an object whose toString is not a function', (i) => (i.status = { toString: 'UP' })],
        ['a metadata value wraps an object whose toString is not a function', (i) => (i.metadata = { zone: { $: { toString: 'x' } } })],
      ])('answers 400 (not 500) when %s', async (_case, edit) => {
        const body = javaLegacyBody();
        edit(body.instance);
        const res = await postJson('/eureka/apps/ORDERS', body);
        expect(res.status).toBe(400);
        expect(t.registry.size).toBe(0);
      });

      it('answers 400 (not 500) to a text field wrapped in {"$":…} 50 000 levels deep (maxBodyBytes raised)', async () => {
        t = makeTestApp({ settings: { maxBodyBytes: 1024 * 1024 } });
        const depth = 50_000;
        const body = JSON.stringify(javaLegacyBody()).replace('"hostName":"10.0.0.7"', '"hostName":' + '{"$":'.repeat(depth) + '"h"' + '}'.repeat(depth));
        const res = await postJson('/eureka/apps/ORDERS', body);
        expect(res.status).toBe(400);
      });

      it('answers 400 to an over-long app name in the path', async () => {
        const app = 'A'.repeat(t.settings.maxNameLength + 1);
        const res = await postJson(`/eureka/apps/${app}`, javaLegacyBody({ app }));
        expect(res.status).toBe(400);
        expect(res.text).toMatch(/app longer than/);
      });

      it('answers 400 to an over-long hostName', async () => {
        const res = await postJson('/eureka/apps/ORDERS', javaLegacyBody({ hostName: 'h'.repeat(t.settings.maxNameLength + 1) }));
        expect(res.status).toBe(400);
        expect(res.text).toMatch(/longer than/);
      });

      it('answers 400 to more metadata entries than allowed', async () => {
        const metadata = Object.fromEntries(Array.from({ length: t.settings.maxMetadataEntries + 1 }, (_, n) => [`k${n}`, 'v']));
        const res = await postJson('/eureka/apps/ORDERS', javaLegacyBody({ metadata }));
        expect(res.status).toBe(400);
        expect(res.text).toMatch(/metadata/);
      });

      it('answers 400 when the app already holds maxInstancesPerApp instances', async () => {
        t = makeTestApp({ settings: { maxInstancesPerApp: 1 } });
        await register();
        const res = await postJson('/eureka/apps/ORDERS', javaLegacyBody({ instanceId: 'other' }));
        expect(res.status).toBe(400);
        // Re-registering the existing instance is still fine.
        await register();
      });

      it('answers 400 when the registry already holds maxInstances instances', async () => {
        t = makeTestApp({ settings: { maxInstances: 1 } });
        await register();
        const res = await postJson('/eureka/apps/BILLING', javaLegacyBody({ app: 'BILLING', instanceId: 'other' }));
        expect(res.status).toBe(400);
        expect(res.text).toMatch(/maxInstances/);
      });
    });

    describe('edge refusals', () => {
      it('answers 413 to a body over maxBodyBytes (Content-Length declared)', async () => {
        t = makeTestApp({ settings: { maxBodyBytes: 2048 } });
        const body = javaLegacyBody({ metadata: { pad: 'x'.repeat(4096) } });
        const res = await postJson('/eureka/apps/ORDERS', body);
        expect(res.status).toBe(413);
        expect(t.registry.size).toBe(0);
      });

      it('answers 413 to a chunked body that grows past maxBodyBytes', async () => {
        t = makeTestApp({ settings: { maxBodyBytes: 2048 } });
        const server = await listen(t.app);
        try {
          const body = JSON.stringify(javaLegacyBody({ metadata: { pad: 'x'.repeat(64 * 1024) } }));
          const res = await rawRequest(server.port, { method: 'POST', path: '/eureka/apps/ORDERS', headers: { 'content-type': 'application/json' }, body, chunkSize: 1024 });
          expect(res.status).toBe(413);
        } finally {
          await server.close();
        }
        expect(t.registry.size).toBe(0);
      });

      it('answers 400 to a gzip body that inflates past maxBodyBytes', async () => {
        t = makeTestApp({ settings: { maxBodyBytes: 2048 } });
        const zipped = gzipSync(JSON.stringify(javaLegacyBody({ metadata: { pad: 'x'.repeat(100_000) } })));
        expect(zipped.length).toBeLessThan(2048);
        const res = await postRaw(zipped, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        expect(res.status).toBe(400);
        expect(t.registry.size).toBe(0);
      });

      it('answers 415 to an unsupported Content-Encoding', async () => {
        const res = await api().post('/eureka/apps/ORDERS').set('Content-Type', 'application/json').set('Content-Encoding', 'br').send(JSON.stringify(javaLegacyBody()));
        expect(res.status).toBe(415);
      });

      it.each(['text/html', 'application/x-www-form-urlencoded', 'image/png'])('answers 415 to Content-Type %s', async (type) => {
        const res = await api().post('/eureka/apps/ORDERS').set('Content-Type', type).send(JSON.stringify(javaLegacyBody()));
        expect(res.status).toBe(415);
        expect(t.registry.size).toBe(0);
      });
    });

    describe('re-registration', () => {
      it('keeps the stored copy when it has a newer lastDirtyTimestamp', async () => {
        await register(javaLegacyBody({ lastDirtyTimestamp: 2000, metadata: { v: 'new' } }));
        await register(javaLegacyBody({ lastDirtyTimestamp: 1000, metadata: { v: 'old' } }));
        expect(await instanceJson('ORDERS', ORDERS_ID)).toMatchObject({ metadata: { v: 'new' }, lastDirtyTimestamp: '2000' });
      });

      it('takes the incoming copy when the timestamps are equal', async () => {
        await register(javaLegacyBody({ lastDirtyTimestamp: 2000, metadata: { v: 'first' } }));
        await register(javaLegacyBody({ lastDirtyTimestamp: 2000, metadata: { v: 'second' } }));
        expect((await instanceJson('ORDERS', ORDERS_ID))?.metadata).toEqual({ v: 'second' });
      });

      it('accepts a client coming back DOWN, then UP', async () => {
        await register();
        await register(javaLegacyBody({ status: 'DOWN', lastDirtyTimestamp: DEFAULT_DIRTY + 1 }));
        expect((await instanceJson('ORDERS', ORDERS_ID))?.status).toBe('DOWN');
        await register(javaLegacyBody({ status: 'UP', lastDirtyTimestamp: DEFAULT_DIRTY + 2 }));
        expect((await instanceJson('ORDERS', ORDERS_ID))?.status).toBe('UP');
      });
    });
  });

  describe('PUT /apps/{app}/{id} (renew)', () => {
    beforeEach(() => register());

    it('answers 200 with an empty body and moves the lease', async () => {
      t.clock.advance(30_000);
      const res = await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}`);
      expect(res.status).toBe(200);
      expectEmpty(res);
      expect(t.registry.lease('ORDERS', ORDERS_ID)?.lastRenewalTimestamp).toBe(T0 + 30_000);
    });

    it('accepts a lower-case app name in the path', async () => {
      const res = await api().put(`/eureka/apps/orders/${ORDERS_ID}`);
      expect(res.status).toBe(200);
    });

    it('treats instance ids case-sensitively', async () => {
      const res = await api().put(`/eureka/apps/ORDERS/${ORDERS_ID.toUpperCase()}`);
      expect(res.status).toBe(404);
    });

    it.each([
      ['an unknown instance', `/eureka/apps/ORDERS/nope`],
      ['an unknown app', `/eureka/apps/NOPE/${ORDERS_ID}`],
    ])('answers 404 with an empty body for %s', async (_case, path) => {
      const res = await api().put(path);
      expect(res.status).toBe(404);
      expectEmpty(res);
    });

    it('answers 200 when lastDirtyTimestamp equals the stored one', async () => {
      const res = await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}?status=UP&lastDirtyTimestamp=${DEFAULT_DIRTY}`);
      expect(res.status).toBe(200);
      expectEmpty(res);
    });

    it('answers 404 when the client holds a newer lastDirtyTimestamp, and still renews the lease', async () => {
      t.clock.advance(10_000);
      const res = await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}?status=UP&lastDirtyTimestamp=${DEFAULT_DIRTY + 1}`);
      expect(res.status).toBe(404);
      expectEmpty(res);
      expect(t.registry.lease('ORDERS', ORDERS_ID)?.lastRenewalTimestamp).toBe(T0 + 10_000);
    });

    it('answers 200 to a client whose lastDirtyTimestamp is older than the stored one', async () => {
      const res = await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}?status=UP&lastDirtyTimestamp=${DEFAULT_DIRTY - 1}`);
      expect(res.status).toBe(200);
      expectEmpty(res);
    });

    it('answers 409 with the stored instance as JSON to a peer whose copy is older', async () => {
      const res = await api()
        .put(`/eureka/apps/ORDERS/${ORDERS_ID}?status=UP&lastDirtyTimestamp=${DEFAULT_DIRTY - 1}`)
        .set('x-netflix-discovery-replication', 'true');
      expect(res.status).toBe(409);
      expect(res.headers['content-type']).toBe('application/json');
      const doc = JSON.parse(res.text);
      expect(Object.keys(doc)).toEqual(['instance']);
      expect(doc.instance).toMatchObject({ instanceId: ORDERS_ID, app: 'ORDERS', lastDirtyTimestamp: String(DEFAULT_DIRTY) });
    });

    it('compares the replication header value case-sensitively ("TRUE" is a client)', async () => {
      const res = await api()
        .put(`/eureka/apps/ORDERS/${ORDERS_ID}?lastDirtyTimestamp=${DEFAULT_DIRTY - 1}`)
        .set('x-netflix-discovery-replication', 'TRUE');
      expect(res.status).toBe(200);
    });

    it('ignores the status query parameter', async () => {
      const res = await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}?status=DOWN&lastDirtyTimestamp=${DEFAULT_DIRTY}`);
      expect(res.status).toBe(200);
      expect((await instanceJson('ORDERS', ORDERS_ID))?.status).toBe('UP');
    });

    it('answers 400 (not 500) to a non-numeric lastDirtyTimestamp', async () => {
      const res = await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}?lastDirtyTimestamp=yesterday`);
      expect(res.status).toBe(400);
    });

    it('answers 404 once the instance has been cancelled', async () => {
      await api().delete(`/eureka/apps/ORDERS/${ORDERS_ID}`).expect(200);
      const res = await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}`);
      expect(res.status).toBe(404);
    });
  });

  describe('DELETE /apps/{app}/{id} (cancel)', () => {
    it('answers 200 with an empty body and removes the instance', async () => {
      await register();
      const res = await api().delete(`/eureka/apps/ORDERS/${ORDERS_ID}`);
      expect(res.status).toBe(200);
      expectEmpty(res);
      expect(t.registry.size).toBe(0);
      expect(await instanceJson('ORDERS', ORDERS_ID)).toBeUndefined();
    });

    it('answers 404 with an empty body for an unknown instance', async () => {
      const res = await api().delete(`/eureka/apps/ORDERS/${ORDERS_ID}`);
      expect(res.status).toBe(404);
      expectEmpty(res);
    });

    it('answers 404 the second time', async () => {
      await register();
      await api().delete(`/eureka/apps/orders/${ORDERS_ID}`).expect(200);
      const res = await api().delete(`/eureka/apps/ORDERS/${ORDERS_ID}`);
      expect(res.status).toBe(404);
    });

    it('removes the status override with the instance', async () => {
      await register();
      await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/status?value=OUT_OF_SERVICE`).expect(200);
      await api().delete(`/eureka/apps/ORDERS/${ORDERS_ID}`).expect(200);
      const res = await api().get('/eureka/serverinfo/statusoverrides');
      expect(res.body).toEqual({});
      await register();
      expect((await instanceJson('ORDERS', ORDERS_ID))?.status).toBe('UP');
    });
  });

  describe('GET /apps (full registry)', () => {
    it('answers an empty registry exactly as Eureka does', async () => {
      const res = await api().get('/eureka/apps').set(JSON_ACCEPT);
      expect(res.status).toBe(200);
      expect(res.text).toBe(EMPTY_APPS_JSON);
    });

    it.each([
      ['no Accept header', 'xml', undefined],
      ['Accept: */*', 'xml', '*/*'],
      ['Accept: application/xml', 'xml', 'application/xml'],
      ['Accept: text/html', 'xml', 'text/html'],
      ['Accept: application/json', 'json', 'application/json'],
      ['Accept: application/json;charset=UTF-8', 'json', 'application/json;charset=UTF-8'],
      ['Accept: application/xml, application/json;q=0.1', 'json', 'application/xml, application/json;q=0.1'],
    ])('answers %s with %s', async (_case, format, accept) => {
      await register();
      const req = api().get('/eureka/apps');
      const res = accept === undefined ? await req : await req.set('Accept', accept);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(`application/${format}`);
      const text = textOf(res);
      if (format === 'xml') {
        expect(text.startsWith('<applications>')).toBe(true);
        expect(text).toContain('<versions__delta>1</versions__delta><apps__hashcode>UP_1_</apps__hashcode>');
      } else {
        expect(JSON.parse(text).applications.apps__hashcode).toBe('UP_1_');
      }
    });

    it('answers an empty registry in XML when no Accept header is sent', async () => {
      const res = await api().get('/eureka/apps');
      expect(textOf(res)).toBe('<applications><versions__delta>1</versions__delta><apps__hashcode></apps__hashcode></applications>');
    });

    describe('gzip', () => {
      let server: Listening;
      beforeEach(async () => {
        await register();
        await register(javaLegacyBody({ app: 'BILLING', instanceId: 'b1', hostName: '10.0.0.8' }));
        server = await listen(t.app);
      });
      afterEach(() => server.close());

      it.each([
        ['JSON', 'application/json', '/eureka/apps'],
        ['XML', 'application/xml', '/eureka/apps'],
        ['JSON', 'application/json', '/eureka/apps/delta'],
        ['JSON', 'application/json', '/eureka/apps/ORDERS'],
        ['JSON', 'application/json', '/eureka/vips/orders'],
      ])('sends %s gzipped bytes that inflate to the plain document (%s, %s)', async (_f, accept, path) => {
        const plain = await rawRequest(server.port, { path, headers: { accept } });
        const zipped = await rawRequest(server.port, { path, headers: { accept, 'accept-encoding': 'gzip, deflate' } });
        expect(plain.headers['content-encoding']).toBeUndefined();
        expect(zipped.status).toBe(200);
        expect(zipped.headers['content-encoding']).toBe('gzip');
        expect(zipped.headers['content-type']).toBe(accept);
        expect(zipped.headers['vary']).toMatch(/Accept-Encoding/);
        expect(Number(zipped.headers['content-length'])).toBe(zipped.body.length);
        expect(gunzipSync(zipped.body).toString('utf8')).toBe(plain.text);
      });

      it('gzips a registry larger than 64 KB (compressed off the event loop) to the same bytes', async () => {
        for (let n = 0; n < 80; n++) await register(javaLegacyBody({ app: 'BIG', instanceId: `big-${n}`, metadata: { pad: 'p'.repeat(400) } }));
        const plain = await rawRequest(server.port, { path: '/eureka/apps', headers: { accept: 'application/json' } });
        expect(plain.body.length).toBeGreaterThan(64 * 1024);
        for (let attempt = 0; attempt < 2; attempt++) {
          // First request: compression in flight; second: the finished copy.
          const zipped = await rawRequest(server.port, { path: '/eureka/apps', headers: { accept: 'application/json', 'accept-encoding': 'gzip' }, timeoutMs: 2000 });
          expect(zipped.status).toBe(200);
          expect(zipped.headers['content-encoding']).toBe('gzip');
          expect(zipped.headers['etag']).toMatch(/^".+"$/);
          expect(gunzipSync(zipped.body).toString('utf8')).toBe(plain.text);
        }
      });

      it('does not gzip when gzip is refused with q=0', async () => {
        const res = await rawRequest(server.port, { path: '/eureka/apps', headers: { accept: 'application/json', 'accept-encoding': 'gzip;q=0' } });
        expect(res.headers['content-encoding']).toBeUndefined();
        expect(JSON.parse(res.text).applications.apps__hashcode).toBe('UP_2_');
      });
    });

    it('writes the exact legacy JSON shapes (arrays of one, strings, numbers, markers)', async () => {
      await register();
      const { doc, res } = await appsJson();
      expect(Object.keys(doc)).toEqual(['applications']);
      expect(Object.keys(doc.applications)).toEqual(['versions__delta', 'apps__hashcode', 'application']);
      expect(doc.applications.versions__delta).toBe('1');
      expect(doc.applications.apps__hashcode).toBe('UP_1_');
      expect(Array.isArray(doc.applications.application)).toBe(true);
      expect(doc.applications.application).toHaveLength(1);
      const app = doc.applications.application[0];
      expect(Object.keys(app)).toEqual(['name', 'instance']);
      expect(Array.isArray(app.instance)).toBe(true);
      expect(app.instance).toHaveLength(1);
      const i = app.instance[0];
      expect(i.port).toEqual({ $: 8080, '@enabled': 'true' });
      expect(res.text).toContain('"port":{"$":8080,"@enabled":"true"}');
      expect(i.securePort).toEqual({ $: 443, '@enabled': 'false' });
      expect(Object.keys(i.dataCenterInfo)).toEqual(['@class', 'name']);
      expect(i.dataCenterInfo).toEqual({ '@class': DEFAULT_DATA_CENTER_CLASS, name: 'MyOwn' });
      expect(i.leaseInfo).toEqual({ renewalIntervalInSecs: 30, durationInSecs: 90, registrationTimestamp: T0, lastRenewalTimestamp: T0, evictionTimestamp: 0, serviceUpTimestamp: T0 });
      expect(i.metadata).toEqual({ '@class': 'java.util.Collections$EmptyMap' });
      expect(i.countryId).toBe(1);
      expect(i.isCoordinatingDiscoveryServer).toBe('false');
      expect(i.lastUpdatedTimestamp).toBe(String(T0));
      expect(i.lastDirtyTimestamp).toBe(String(DEFAULT_DIRTY));
      expect(i.actionType).toBe('ADDED');
      expect(i.overriddenStatus).toBe('UNKNOWN');
    });

    it('lists instances of every status in the hashcode and the document', async () => {
      await register();
      await register(javaLegacyBody({ instanceId: 'down-1', status: 'DOWN' }));
      await register(javaLegacyBody({ instanceId: 'starting-1', status: 'STARTING' }));
      await register(javaLegacyBody({ instanceId: 'oos-1', status: 'OUT_OF_SERVICE' }));
      await register(javaLegacyBody({ app: 'BILLING', instanceId: 'b-1' }));
      const { doc } = await appsJson();
      expect(doc.applications.apps__hashcode).toBe('DOWN_1_OUT_OF_SERVICE_1_STARTING_1_UP_2_');
      expect(doc.applications.application.map((a: any) => [a.name, a.instance.length])).toEqual([
        ['ORDERS', 4],
        ['BILLING', 1],
      ]);
    });

    it('still lists an expired lease that has not been evicted', async () => {
      await register();
      t.clock.advance(10 * 60_000);
      const { doc } = await appsJson();
      expect(instancesOf(doc)).toHaveLength(1);
    });

    it('shows a registration on the very next fetch (no cache lag)', async () => {
      await appsJson();
      await register();
      const { doc } = await appsJson();
      expect(instancesOf(doc)).toHaveLength(1);
      await api().delete(`/eureka/apps/ORDERS/${ORDERS_ID}`).expect(200);
      expect((await appsJson()).res.text).toBe(EMPTY_APPS_JSON);
    });

    it('answers 304 to If-None-Match with the current ETag, 200 after a change', async () => {
      await register();
      const first = await api().get('/eureka/apps').set(JSON_ACCEPT);
      const etag = first.headers['etag'];
      expect(etag).toMatch(/^".+"$/);
      const again = await api().get('/eureka/apps').set(JSON_ACCEPT).set('If-None-Match', etag);
      expect(again.status).toBe(304);
      expect(textOf(again)).toBe('');
      await register(javaLegacyBody({ instanceId: 'second' }));
      const changed = await api().get('/eureka/apps').set(JSON_ACCEPT).set('If-None-Match', etag);
      expect(changed.status).toBe(200);
      expect(changed.headers['etag']).not.toBe(etag);
    });

    it('keeps the same ETag and bytes across heartbeats', async () => {
      await register();
      const before = await api().get('/eureka/apps').set(JSON_ACCEPT);
      t.clock.advance(30_000);
      await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}`).expect(200);
      const after = await api().get('/eureka/apps').set(JSON_ACCEPT);
      expect(after.headers['etag']).toBe(before.headers['etag']);
      expect(after.text).toBe(before.text);
    });

    it('gives JSON and XML different ETags', async () => {
      await register();
      const json = await api().get('/eureka/apps').set(JSON_ACCEPT);
      const xml = await api().get('/eureka/apps');
      expect(json.headers['etag']).not.toBe(xml.headers['etag']);
    });
  });

  describe('GET /apps/delta', () => {
    const delta = async (): Promise<{ res: Response; doc: any }> => appsJson('/eureka/apps/delta');
    const actions = (doc: any): [string, string][] => instancesOf(doc).map((i: any) => [i.instanceId ?? i.hostName, i.actionType]);

    it('answers an empty delta when nothing changed', async () => {
      const { doc } = await delta();
      expect(doc.applications.application).toEqual([]);
      expect(doc.applications.apps__hashcode).toBe('');
    });

    it('lists a registration as ADDED on the very next fetch', async () => {
      await delta();
      await register();
      const { doc } = await delta();
      expect(actions(doc)).toEqual([[ORDERS_ID, 'ADDED']]);
    });

    it('lists a status change as MODIFIED', async () => {
      await register();
      await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/status?value=OUT_OF_SERVICE`).expect(200);
      const { doc } = await delta();
      expect(actions(doc)).toEqual([[ORDERS_ID, 'MODIFIED']]);
      expect(instancesOf(doc)[0].status).toBe('OUT_OF_SERVICE');
    });

    it('lists a cancel as DELETED with an eviction timestamp', async () => {
      await register();
      await register(javaLegacyBody({ instanceId: 'keep' }));
      t.clock.advance(1000);
      await api().delete(`/eureka/apps/ORDERS/${ORDERS_ID}`).expect(200);
      const { doc } = await delta();
      expect(actions(doc)).toEqual([
        ['keep', 'ADDED'],
        [ORDERS_ID, 'DELETED'],
      ]);
      expect(instancesOf(doc)[1].leaseInfo.evictionTimestamp).toBe(T0 + 1000);
    });

    it('groups changes by app, application and instance always arrays', async () => {
      await register();
      await register(javaLegacyBody({ app: 'BILLING', instanceId: 'b-1' }));
      const { doc } = await delta();
      expect(doc.applications.application.map((a: any) => a.name)).toEqual(['ORDERS', 'BILLING']);
      for (const a of doc.applications.application) expect(Array.isArray(a.instance)).toBe(true);
    });

    it("carries the full registry's apps__hashcode, not the delta's own", async () => {
      await register();
      await register(javaLegacyBody({ instanceId: 'down', status: 'DOWN' }));
      t.clock.advance(200_000); // both changes age out of the delta
      await register(javaLegacyBody({ app: 'BILLING', instanceId: 'b-1' }));
      const { doc } = await delta();
      const full = await appsJson();
      expect(actions(doc)).toEqual([['b-1', 'ADDED']]);
      expect(doc.applications.apps__hashcode).toBe('DOWN_1_UP_2_');
      expect(doc.applications.apps__hashcode).toBe(full.doc.applications.apps__hashcode);
    });

    it('drops changes older than the retention window, aging them by whole seconds', async () => {
      await register();
      t.clock.advance(t.settings.deltaRetentionMs - DELTA_AGING_STEP_MS);
      expect((await delta()).doc.applications.application).toHaveLength(1);
      t.clock.advance(2 * DELTA_AGING_STEP_MS);
      const { doc } = await delta();
      expect(doc.applications.application).toEqual([]);
      expect(doc.applications.apps__hashcode).toBe('UP_1_');
    });

    it('rebuilds the delta at most once a second for changes aging out alone', async () => {
      for (let n = 0; n < 50; n++) {
        await register(javaLegacyBody({ instanceId: `aging-${n}` }));
        t.clock.advance(20);
      }
      t.clock.advance(t.settings.deltaRetentionMs - 500);
      const before = t.cache.stats.rebuilds;
      // A poll every 20 ms for a second, while a change ages out between every two of them.
      for (let n = 0; n < 50; n++) {
        await delta();
        t.clock.advance(20);
      }
      expect(t.cache.stats.rebuilds - before).toBeLessThanOrEqual(2);
    });

    it('keeps the same ETag and bytes across heartbeats', async () => {
      await register();
      const before = await api().get('/eureka/apps/delta').set(JSON_ACCEPT);
      t.clock.advance(30_000);
      await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}`).expect(200);
      const after = await api().get('/eureka/apps/delta').set(JSON_ACCEPT);
      expect(after.headers['etag']).toBe(before.headers['etag']);
      expect(after.text).toBe(before.text);
    });

    it('is served as XML without Accept', async () => {
      await register();
      const res = await api().get('/eureka/apps/delta');
      expect(res.headers['content-type']).toBe('application/xml');
      expect(textOf(res)).toContain('<actionType>ADDED</actionType>');
    });
  });

  describe('GET /apps/{app}', () => {
    it('answers 200 with the {"application":{...}} wrapper', async () => {
      await register();
      await register(javaLegacyBody({ instanceId: 'second' }));
      const res = await api().get('/eureka/apps/orders').set(JSON_ACCEPT);
      expect(res.status).toBe(200);
      const doc = JSON.parse(res.text);
      expect(Object.keys(doc)).toEqual(['application']);
      expect(Object.keys(doc.application)).toEqual(['name', 'instance']);
      expect(doc.application.name).toBe('ORDERS');
      expect(doc.application.instance.map((i: any) => i.instanceId)).toEqual([ORDERS_ID, 'second']);
    });

    it('keeps instance an array when the app has one instance', async () => {
      await register();
      const res = await api().get('/eureka/apps/ORDERS').set(JSON_ACCEPT);
      expect(Array.isArray(JSON.parse(res.text).application.instance)).toBe(true);
    });

    it('answers XML <application> without Accept', async () => {
      await register();
      const res = await api().get('/eureka/apps/ORDERS');
      expect(res.headers['content-type']).toBe('application/xml');
      expect(textOf(res)).toMatch(/^<application><name>ORDERS<\/name><instance>/);
    });

    it('answers 404 with an empty body for an app without instances', async () => {
      const res = await api().get('/eureka/apps/NOPE').set(JSON_ACCEPT);
      expect(res.status).toBe(404);
      expectEmpty(res);
    });

    it('answers 404 once the last instance is cancelled', async () => {
      await register();
      await api().get('/eureka/apps/ORDERS').set(JSON_ACCEPT).expect(200);
      await api().delete(`/eureka/apps/ORDERS/${ORDERS_ID}`).expect(200);
      const res = await api().get('/eureka/apps/ORDERS').set(JSON_ACCEPT);
      expect(res.status).toBe(404);
      expectEmpty(res);
    });

    it('answers 400 to an over-long app name', async () => {
      const res = await api().get(`/eureka/apps/${'A'.repeat(t.settings.maxNameLength + 1)}`);
      expect(res.status).toBe(400);
    });
  });

  describe.each([
    ['GET /apps/{app}/{id}', (id: string) => `/eureka/apps/ORDERS/${id}`],
    ['GET /instances/{id}', (id: string) => `/eureka/instances/${id}`],
  ])('%s', (_route, pathOf) => {
    it('answers 200 with {"instance":{...}} as JSON', async () => {
      await register();
      const res = await api().get(pathOf(ORDERS_ID)).set(JSON_ACCEPT);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json');
      const doc = JSON.parse(res.text);
      expect(Object.keys(doc)).toEqual(['instance']);
      expect(doc.instance).toMatchObject({ instanceId: ORDERS_ID, app: 'ORDERS', status: 'UP' });
    });

    it('answers XML <instance> without Accept', async () => {
      await register();
      const res = await api().get(pathOf(ORDERS_ID));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/xml');
      expect(textOf(res)).toMatch(/^<instance><instanceId>10\.0\.0\.7:orders:8080<\/instanceId>/);
    });

    it('shows the live lastRenewalTimestamp (single-instance reads are not cached)', async () => {
      await register();
      t.clock.advance(30_000);
      await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}`).expect(200);
      const res = await api().get(pathOf(ORDERS_ID)).set(JSON_ACCEPT);
      expect(JSON.parse(res.text).instance.leaseInfo.lastRenewalTimestamp).toBe(T0 + 30_000);
    });

    it('answers 404 with an empty body for an unknown id', async () => {
      await register();
      const res = await api().get(pathOf('nope')).set(JSON_ACCEPT);
      expect(res.status).toBe(404);
      expectEmpty(res);
    });

    it('answers 404 for an expired lease that is not yet evicted, 200 up to the lease duration', async () => {
      await register();
      t.clock.advance(90_000);
      expect((await api().get(pathOf(ORDERS_ID)).set(JSON_ACCEPT)).status).toBe(200);
      t.clock.advance(1);
      const res = await api().get(pathOf(ORDERS_ID)).set(JSON_ACCEPT);
      expect(res.status).toBe(404);
      expectEmpty(res);
      expect(t.registry.size).toBe(1);
    });

    it('serves an expired lease while the expiry gate suspends expiry (self-preservation)', async () => {
      t = makeTestApp({ expiryGate: { isLeaseExpirationEnabled: () => false } });
      await register();
      t.clock.advance(10 * 60_000);
      expect((await api().get(pathOf(ORDERS_ID)).set(JSON_ACCEPT)).status).toBe(200);
    });

    it('decodes percent-encoded ids', async () => {
      await register(javaLegacyBody({ instanceId: 'host/with spaces:ü:8080' }));
      const res = await api().get(pathOf(encodeURIComponent('host/with spaces:ü:8080'))).set(JSON_ACCEPT);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text).instance.instanceId).toBe('host/with spaces:ü:8080');
    });
  });

  describe('percent-encoding in paths', () => {
    const ID = 'a b/c%d:ü';
    beforeEach(() => register(javaLegacyBody({ instanceId: ID })));
    const enc = encodeURIComponent(ID);

    it('renews, overrides, updates metadata and cancels an id that needs encoding', async () => {
      await api().put(`/eureka/apps/ORDERS/${enc}`).expect(200);
      await api().put(`/eureka/apps/ORDERS/${enc}/status?value=DOWN`).expect(200);
      await api().put(`/eureka/apps/ORDERS/${enc}/metadata?k=v`).expect(200);
      const lease = t.registry.lease('ORDERS', ID);
      expect(lease?.record.instance.status).toBe('DOWN');
      expect(lease?.record.instance.metadata).toEqual({ k: 'v' });
      await api().delete(`/eureka/apps/ORDERS/${enc}`).expect(200);
      expect(t.registry.size).toBe(0);
    });

    it.each(['/eureka/apps/ORDERS/%E0%A4%A', '/eureka/apps/%ZZ', '/eureka/instances/%', '/eureka/vips/%C0%AF'])('answers 4xx (not 500) to malformed encoding %s', async (path) => {
      const server = await listen(t.app);
      try {
        for (const method of ['GET', 'PUT', 'DELETE', 'POST']) {
          const res = await rawRequest(server.port, { method, path, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
        }
      } finally {
        await server.close();
      }
    });
  });

  describe('GET /vips/{vip} and /svips/{svip}', () => {
    beforeEach(async () => {
      await register(javaLegacyBody({ instanceId: 'o-1', vipAddress: 'orders,orders-canary', secureVipAddress: 'orders-secure' }));
      await register(javaLegacyBody({ instanceId: 'o-2', vipAddress: 'orders', secureVipAddress: 'orders-secure', status: 'DOWN' }));
      await register(javaLegacyBody({ app: 'BILLING', instanceId: 'b-1', vipAddress: 'billing, orders', secureVipAddress: 'billing' }));
    });

    const ids = (doc: any): string[] => instancesOf(doc).map((i: any) => i.instanceId);

    it('selects every instance whose comma-separated vipAddress lists the VIP', async () => {
      const { doc } = await appsJson('/eureka/vips/orders');
      expect(ids(doc)).toEqual(['o-1', 'o-2']);
      expect(doc.applications.versions__delta).toBe('-1');
      expect(doc.applications.apps__hashcode).toBe('DOWN_1_UP_1_');
    });

    it('matches a later entry of the list', async () => {
      expect(ids((await appsJson('/eureka/vips/orders-canary')).doc)).toEqual(['o-1']);
    });

    it('does not trim entries (" orders" is not "orders")', async () => {
      expect(ids((await appsJson('/eureka/vips/%20orders')).doc)).toEqual(['b-1']);
    });

    it('matches case-sensitively and answers 200 with an empty list when nothing matches', async () => {
      const res = await api().get('/eureka/vips/ORDERS').set(JSON_ACCEPT);
      expect(res.status).toBe(200);
      expect(res.text).toBe('{"applications":{"versions__delta":"-1","apps__hashcode":"","application":[]}}');
    });

    it('selects by secureVipAddress on /svips', async () => {
      const { doc } = await appsJson('/eureka/svips/orders-secure');
      expect(ids(doc)).toEqual(['o-1', 'o-2']);
      expect(doc.applications.versions__delta).toBe('-1');
      expect(ids((await appsJson('/eureka/svips/orders')).doc)).toEqual([]);
    });

    it('groups the selection by app', async () => {
      await register(javaLegacyBody({ app: 'BILLING', instanceId: 'b-2', vipAddress: 'orders' }));
      const { doc } = await appsJson('/eureka/vips/orders');
      expect(doc.applications.application.map((a: any) => [a.name, a.instance.length])).toEqual([
        ['ORDERS', 2],
        ['BILLING', 1],
      ]);
    });

    it('reflects a change on the next fetch', async () => {
      await appsJson('/eureka/vips/orders');
      await api().delete('/eureka/apps/ORDERS/o-2').expect(200);
      expect(ids((await appsJson('/eureka/vips/orders')).doc)).toEqual(['o-1']);
    });

    it('answers XML without Accept', async () => {
      const res = await api().get('/eureka/vips/nothing');
      expect(textOf(res)).toBe('<applications><versions__delta>-1</versions__delta><apps__hashcode></apps__hashcode></applications>');
    });
  });

  describe('PUT /apps/{app}/{id}/status (override)', () => {
    beforeEach(() => register());

    it('answers 200 and sets status and overriddenStatus', async () => {
      const res = await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/status?value=OUT_OF_SERVICE`);
      expect(res.status).toBe(200);
      expectEmpty(res);
      expect(await instanceJson('ORDERS', ORDERS_ID)).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
      const { doc } = await appsJson();
      expect(doc.applications.apps__hashcode).toBe('OUT_OF_SERVICE_1_');
    });

    it('survives a client re-registration with UP', async () => {
      await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/status?value=OUT_OF_SERVICE`).expect(200);
      await register(javaLegacyBody({ status: 'UP', lastDirtyTimestamp: DEFAULT_DIRTY + 1000 }));
      expect(await instanceJson('ORDERS', ORDERS_ID)).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
      expect((await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}`)).status).toBe(200);
    });

    it('records the override even when the status already equals it', async () => {
      await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/status?value=UP`).expect(200);
      const res = await api().get('/eureka/serverinfo/statusoverrides');
      expect(res.body).toEqual({ [ORDERS_ID]: 'UP' });
    });

    it('adopts a larger lastDirtyTimestamp', async () => {
      await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/status?value=DOWN&lastDirtyTimestamp=${DEFAULT_DIRTY + 5}`).expect(200);
      expect((await instanceJson('ORDERS', ORDERS_ID))?.lastDirtyTimestamp).toBe(String(DEFAULT_DIRTY + 5));
    });

    it.each(['SLEEPING', '', 'UP,DOWN'])('answers 400 to value=%j', async (value) => {
      const res = await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/status?value=${value}`);
      expect(res.status).toBe(400);
      expect((await instanceJson('ORDERS', ORDERS_ID))?.status).toBe('UP');
    });

    it('answers 400 without value', async () => {
      expect((await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/status`)).status).toBe(400);
    });

    it('answers 404 with an empty body for an unknown instance', async () => {
      const res = await api().put('/eureka/apps/ORDERS/nope/status?value=OUT_OF_SERVICE');
      expect(res.status).toBe(404);
      expectEmpty(res);
    });
  });

  describe('DELETE /apps/{app}/{id}/status (remove override)', () => {
    beforeEach(async () => {
      await register();
      await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/status?value=OUT_OF_SERVICE`).expect(200);
    });

    it('answers 200, leaves status UNKNOWN, 404s the next heartbeat, and takes the re-registered UP', async () => {
      const res = await api().delete(`/eureka/apps/ORDERS/${ORDERS_ID}/status?lastDirtyTimestamp=${DEFAULT_DIRTY}`);
      expect(res.status).toBe(200);
      expectEmpty(res);
      expect(await instanceJson('ORDERS', ORDERS_ID)).toMatchObject({ status: 'UNKNOWN', overriddenStatus: 'UNKNOWN' });
      expect((await api().get('/eureka/serverinfo/statusoverrides')).body).toEqual({});

      const heartbeat = await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}?status=UP&lastDirtyTimestamp=${DEFAULT_DIRTY}`);
      expect(heartbeat.status).toBe(404);
      expectEmpty(heartbeat);

      await register(javaLegacyBody({ status: 'UP' }));
      expect(await instanceJson('ORDERS', ORDERS_ID)).toMatchObject({ status: 'UP', overriddenStatus: 'UNKNOWN' });
      expect((await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}`)).status).toBe(200);
    });

    it('uses value=DOWN as the interim status', async () => {
      await api().delete(`/eureka/apps/ORDERS/${ORDERS_ID}/status?value=DOWN`).expect(200);
      expect(await instanceJson('ORDERS', ORDERS_ID)).toMatchObject({ status: 'DOWN', overriddenStatus: 'UNKNOWN' });
      await register(javaLegacyBody({ status: 'UP' }));
      expect((await instanceJson('ORDERS', ORDERS_ID))?.status).toBe('UP');
    });

    it('answers 200 and changes nothing when there is no override', async () => {
      await api().delete(`/eureka/apps/ORDERS/${ORDERS_ID}/status`).expect(200);
      await register(javaLegacyBody({ status: 'UP' }));
      const res = await api().delete(`/eureka/apps/ORDERS/${ORDERS_ID}/status`);
      expect(res.status).toBe(200);
      expect((await instanceJson('ORDERS', ORDERS_ID))?.status).toBe('UP');
    });

    it('answers 400 to an invalid value', async () => {
      expect((await api().delete(`/eureka/apps/ORDERS/${ORDERS_ID}/status?value=MAYBE`)).status).toBe(400);
    });

    it('answers 404 with an empty body for an unknown instance', async () => {
      const res = await api().delete('/eureka/apps/ORDERS/nope/status');
      expect(res.status).toBe(404);
      expectEmpty(res);
    });
  });

  describe('PUT /apps/{app}/{id}/metadata', () => {
    beforeEach(() => register(javaLegacyBody({ metadata: { zone: 'zone-a' } })));

    it('answers 200 and merges the query into the metadata', async () => {
      const res = await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/metadata?weight=10&zone=zone-b`);
      expect(res.status).toBe(200);
      expectEmpty(res);
      expect((await instanceJson('ORDERS', ORDERS_ID))?.metadata).toEqual({ zone: 'zone-b', weight: '10' });
      const { doc } = await appsJson();
      expect(instancesOf(doc)[0].metadata).toEqual({ zone: 'zone-b', weight: '10' });
    });

    it('keeps the first value of a repeated key', async () => {
      await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/metadata?k=1&k=2`).expect(200);
      expect((await instanceJson('ORDERS', ORDERS_ID))?.metadata.k).toBe('1');
    });

    it('survives the client re-registering', async () => {
      await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/metadata?weight=10`).expect(200);
      await register(javaLegacyBody({ metadata: { zone: 'zone-a' }, lastDirtyTimestamp: DEFAULT_DIRTY + 1 }));
      expect((await instanceJson('ORDERS', ORDERS_ID))?.metadata).toEqual({ zone: 'zone-a', weight: '10' });
    });

    it.each(['constructor', 'toString', 'hasOwnProperty'])('accepts a key named %s', async (key) => {
      await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/metadata?${key}=x`).expect(200);
      expect((await instanceJson('ORDERS', ORDERS_ID))?.metadata).toEqual({ zone: 'zone-a', [key]: 'x' });
    });

    it('answers 404 with an empty body for an unknown instance', async () => {
      const res = await api().put('/eureka/apps/ORDERS/nope/metadata?a=b');
      expect(res.status).toBe(404);
      expectEmpty(res);
    });

    it('answers 400 to more entries than allowed', async () => {
      const query = Array.from({ length: t.settings.maxMetadataEntries + 1 }, (_, n) => `k${n}=v`).join('&');
      expect((await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/metadata?${query}`)).status).toBe(400);
    });

    it('answers 400 when repeated updates would take the instance past the entry limit, and keeps what it had', async () => {
      const half = Math.ceil(t.settings.maxMetadataEntries / 2);
      const batch = (from: number): string => Array.from({ length: half }, (_, n) => `k${from + n}=v`).join('&');
      expect((await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/metadata?${batch(0)}`)).status).toBe(200);
      const res = await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/metadata?${batch(half)}&one=more`);
      expect(res.status).toBe(400);
      expect(res.text).toMatch(/Too many metadata entries/);
      expect(Object.keys((await instanceJson('ORDERS', ORDERS_ID))?.metadata ?? {})).toHaveLength(half + 1); // and its zone
      // Overwriting keys it already has stays allowed.
      expect((await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/metadata?${batch(0)}`)).status).toBe(200);
    });
  });

  describe('GET /status', () => {
    it('answers 200 JSON with general, registry and cache stats', async () => {
      await register();
      await register(javaLegacyBody({ instanceId: 'down', status: 'DOWN' }));
      const res = await api().get('/eureka/status');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.body.generalStats).toEqual(expect.objectContaining({ 'server-uptime': '00:00', version: '0.0.0-test' }));
      expect(res.body.registry).toEqual(expect.objectContaining({ applications: 1, instances: 2, appsHashcode: 'DOWN_1_UP_1_' }));
      expect(res.body.leaseExpirationEnabled).toBe(true);
    });

    it('formats the uptime as "N days HH:mm"', async () => {
      t.clock.advance(2 * 86_400_000 + 3 * 3_600_000 + 4 * 60_000);
      const res = await api().get('/eureka/v2/status');
      expect(res.body.generalStats['server-uptime']).toBe('2 days 03:04');
    });
  });

  describe('GET /serverinfo/statusoverrides', () => {
    it.each(['/eureka/serverinfo/statusoverrides', '/eureka/v2/serverinfo/statusoverrides'])('answers the override map as JSON at %s', async (path) => {
      await register();
      await register(javaLegacyBody({ instanceId: 'other' }));
      expect((await api().get(path)).body).toEqual({});
      await api().put(`/eureka/apps/ORDERS/${ORDERS_ID}/status?value=OUT_OF_SERVICE`).expect(200);
      const res = await api().get(path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.body).toEqual({ [ORDERS_ID]: 'OUT_OF_SERVICE' });
    });
  });

  describe('PUT /asg/{asg}/status', () => {
    it('answers 400 outside AWS', async () => {
      expect((await api().put('/eureka/asg/my-asg/status?value=ENABLED')).status).toBe(400);
    });
  });

  describe('unknown routes and methods', () => {
    it.each(['/eureka', '/eureka/', '/eureka/v2', '/eureka/nope', '/eureka/v2/nope', '/eureka/apps/A/B/C/D', '/eureka/peerreplication/nope', '/eureka/instances'])(
      'answers 404 with an empty body (not HTML) to GET %s',
      async (path) => {
        const res = await api().get(path).set('Accept', 'text/html');
        expect(res.status).toBe(404);
        expectEmpty(res);
        expect(res.headers['content-type']).toBeUndefined();
      },
    );

    it.each([
      ['POST', '/eureka/apps'],
      ['DELETE', '/eureka/apps'],
      ['PUT', '/eureka/apps/delta'],
      ['PATCH', `/eureka/apps/ORDERS/${ORDERS_ID}`],
      ['POST', `/eureka/apps/ORDERS/${ORDERS_ID}`],
      ['GET', `/eureka/apps/ORDERS/${ORDERS_ID}/status`],
      ['POST', `/eureka/apps/ORDERS/${ORDERS_ID}/metadata`],
      ['DELETE', '/eureka/instances/x'],
      ['POST', '/eureka/vips/x'],
      ['PUT', '/eureka/status'],
      ['DELETE', '/eureka/v2/serverinfo/statusoverrides'],
    ])('answers 405 with an empty body to %s %s', async (method, path) => {
      const res = await api()[method.toLowerCase() as 'get' | 'post' | 'put' | 'delete' | 'patch'](path);
      expect(res.status).toBe(405);
      expectEmpty(res);
    });

    it('answers HEAD like GET, without a body', async () => {
      const get = await api().get('/eureka/apps').set('Accept', 'application/json').set('Accept-Encoding', 'identity');
      const head = await api().head('/eureka/apps').set('Accept', 'application/json').set('Accept-Encoding', 'identity');
      expect(head.status).toBe(200);
      expect(head.headers['content-type']).toBe(get.headers['content-type']);
      expect(head.headers.etag).toBe(get.headers.etag);
      expect(head.text ?? '').toBe('');
      expect((await api().head('/eureka/apps/NOBODY')).status).toBe(404);
    });
  });
});

describe('operator routes', () => {
  it.each(['/health', '/health/live', '/health/ready'])('answers 200 {"status":"UP"} at %s', async (path) => {
    const res = await api().get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ status: 'UP' });
  });

  it('answers 503 SYNCING on /health/ready until the server is ready', async () => {
    const res = await request(createApp({ ...t.deps, isReady: () => false })).get('/health/ready');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'SYNCING' });
  });

  it.each([
    ['GET', '/nope/'],
    ['GET', '/nope'],
    ['GET', '/eurekaX/apps'],
    ['POST', '/health'],
    ['DELETE', '/apps/ORDERS'],
  ])('answers %s %s with a JSON 404, never HTML', async (method, path) => {
    const res = await api()[method.toLowerCase() as 'get' | 'post' | 'delete'](path).set('Accept', 'text/html');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(textOf(res)).not.toMatch(/<html|<!DOCTYPE/i);
    expect(res.body.error).toBe('not found');
  });

  it('answers a malformed JSON body on an operator route without HTML', async () => {
    const res = await api().post('/health').set('Content-Type', 'application/json').send('{oops');
    expect(res.status).toBeLessThan(500);
    expect(textOf(res)).not.toMatch(/<html|<!DOCTYPE/i);
  });
});
