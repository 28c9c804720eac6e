// POST /apps/{app} with bodies over the shape caps: a 400 naming the cap, nothing registered; at the caps, and with
// the largest real registrations, a 204. The caps follow maxMetadataEntries.
import request from 'supertest';
import { makeTestApp, TestApp } from '../helpers/app';
import { javaLegacyBody, xmlBody } from '../helpers/bodies';

let t: TestApp;
beforeEach(() => {
  t = makeTestApp();
});

const post = (type: string, body: string) => request(t.app).post('/eureka/apps/ORDERS').set('Content-Type', type).send(body);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const metadata = (n: number): Record<string, string> => Object.fromEntries(range(n).map((i) => [`k${i}`, `v${i}`]));
const registered = (): number => [...t.registry.application('ORDERS')].length;

describe('POST /apps/{app}', () => {
  describe('body shape caps', () => {
    it('registers XML and JSON bodies carrying maxMetadataEntries entries', async () => {
      const entries = metadata(t.settings.maxMetadataEntries);
      expect((await post('application/xml', xmlBody({ instanceId: 'x', metadata: entries }))).status).toBe(204);
      expect((await post('application/json', JSON.stringify(javaLegacyBody({ instanceId: 'j', metadata: entries })))).status).toBe(204);
      expect(registered()).toBe(2);
    });

    it('answers 400 naming the cap to 5,000 XML attributes, and registers nothing', async () => {
      const body = xmlBody().replace('<instance>', `<instance${range(5000).map((i) => ` a${i}=""`).join('')}>`);
      const res = await post('application/xml', body);
      expect(res.status).toBe(400);
      expect(res.text).toBe('Too many XML attributes (limit 64)');
      expect(registered()).toBe(0);
    });

    it('answers 400 to XML over the element, reference and depth caps', async () => {
      const tooMany = await post('application/xml', xmlBody().replace('</instance>', `${'<x/>'.repeat(400)}</instance>`));
      expect([tooMany.status, tooMany.text]).toEqual([400, 'Too many XML elements (limit 384)']);
      const references = await post('application/xml', xmlBody().replace('<vipAddress>orders', `<vipAddress>${'&amp;'.repeat(600)}`));
      expect([references.status, references.text]).toEqual([400, 'Too many XML character references (limit 512)']);
      const deep = await post('application/xml', xmlBody().replace('</instance>', `${'<x>'.repeat(20)}${'</x>'.repeat(20)}</instance>`));
      expect([deep.status, deep.text]).toEqual([400, 'XML nested too deeply (limit 16)']);
      expect(registered()).toBe(0);
    });

    it('answers 400 to JSON over the value and depth caps', async () => {
      const wide = await post('application/json', JSON.stringify({ ...javaLegacyBody(), extra: range(400) }));
      expect([wide.status, wide.text]).toEqual([400, 'Too many JSON values (limit 384)']);
      const deep = await post('application/json', JSON.stringify(javaLegacyBody()).replace(/}$/, `,"x":${'['.repeat(20)}${']'.repeat(20)}}`));
      expect([deep.status, deep.text]).toEqual([400, 'JSON nested too deeply (limit 16)']);
      expect(registered()).toBe(0);
    });

    it('derives the caps from maxMetadataEntries', async () => {
      t = makeTestApp({ settings: { maxMetadataEntries: 1000 } });
      const entries = metadata(1000);
      expect((await post('application/xml', xmlBody({ instanceId: 'x', metadata: entries }))).status).toBe(204);
      expect((await post('application/json', JSON.stringify(javaLegacyBody({ instanceId: 'j', metadata: entries })))).status).toBe(204);
      t = makeTestApp({ settings: { maxMetadataEntries: 10 } });
      const res = await post('application/xml', xmlBody({ metadata: metadata(200) }));
      expect([res.status, res.text]).toEqual([400, 'Too many XML elements (limit 148)']);
    });
  });
});
