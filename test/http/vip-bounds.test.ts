// What a client can make the server hold through VIP addresses: names per instance are limited at registration
// (400), and the payloads of many distinct VIP reads stay within the response cache's byte budget.
import request from 'supertest';
import { javaLegacyBody, makeTestApp, TestApp } from '../helpers/app';

const JSON_ACCEPT = { Accept: 'application/json' };
const names = (prefix: string, n: number): string => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(',');

let t: TestApp;
beforeEach(() => {
  t = makeTestApp();
});

const postJson = (path: string, body: unknown) => request(t.app).post(path).set('Content-Type', 'application/json').send(JSON.stringify(body));

describe('POST /apps/{app}', () => {
  it('answers 400 to a vipAddress listing more names than maxVipAddresses', async () => {
    const limit = t.settings.maxVipAddresses;
    const res = await postJson('/eureka/apps/ORDERS', javaLegacyBody({ vipAddress: names('v', limit + 1) }));
    expect(res.status).toBe(400);
    expect(res.text).toContain(`Too many VIP addresses (limit ${limit})`);
  });

  it('answers 400 to a secureVipAddress listing more names than maxVipAddresses', async () => {
    t = makeTestApp({ settings: { maxVipAddresses: 2 } });
    const res = await postJson('/eureka/apps/ORDERS', javaLegacyBody({ secureVipAddress: 'a,b,c' }));
    expect(res.status).toBe(400);
    expect(res.text).toContain('Too many secure VIP addresses (limit 2)');
  });

  it('accepts exactly maxVipAddresses names', async () => {
    const limit = t.settings.maxVipAddresses;
    const res = await postJson('/eureka/apps/ORDERS', javaLegacyBody({ vipAddress: names('v', limit), secureVipAddress: names('s', limit) }));
    expect(res.status).toBe(204);
  });

  it('refuses every registration of a VIP bomb (64 short names each)', async () => {
    for (let n = 0; n < 20; n++) {
      const res = await postJson('/eureka/apps/BOMB', javaLegacyBody({ app: 'BOMB', instanceId: `b-${n}`, vipAddress: names('', 64) }));
      expect(res.status).toBe(400);
    }
    expect(t.registry.size).toBe(0);
  });
});

describe('GET /vips/{vip}', () => {
  it('keeps the payloads of many distinct VIP reads within responseCacheMaxBytes', async () => {
    const budget = 32 * 1024;
    t = makeTestApp({ settings: { responseCacheMaxBytes: budget } });
    const perInstance = t.settings.maxVipAddresses;
    for (let n = 0; n < 16; n++) {
      const vips = Array.from({ length: perInstance }, (_, k) => `v${(n * 7 + k) % 64}`).join(',');
      const res = await postJson('/eureka/apps/FLEET', javaLegacyBody({ app: 'FLEET', instanceId: `f-${n}`, vipAddress: vips }));
      expect(res.status).toBe(204);
    }
    for (let v = 0; v < 64; v++) {
      await request(t.app).get(`/eureka/vips/v${v}`).set(JSON_ACCEPT).expect(200);
      await request(t.app).get(`/eureka/vips/v${v}`).set({ ...JSON_ACCEPT, 'Accept-Encoding': 'gzip' }).expect(200);
      await request(t.app).get(`/eureka/vips/v${v}`).expect(200);
    }
    const status = JSON.parse((await request(t.app).get('/eureka/status').set(JSON_ACCEPT).expect(200)).text);
    expect(status.responseCache.evictions).toBeGreaterThan(0);
    expect(status.responseCache.bytes).toBeGreaterThan(budget / 2);
    expect(status.responseCache.bytes).toBeLessThanOrEqual(budget);
  });
});
