// GET /apps over a real socket, served from segments written as a list of buffers: the same bytes as a from-scratch
// encoding in JSON and XML, and a gzip body every client the project meets reads whole (Node's zlib in one go and
// streamed byte by byte, superagent, axios, and `request` as eureka-js-client uses it), before and after a change.
import { createRequire } from 'node:module';
import { createGunzip, gunzipSync } from 'node:zlib';
import request from 'supertest';
import { CODECS } from '../../src/codecs/documents';
import { Format } from '../../src/codecs/negotiate';
import { createHttpClient } from '../../src/transport/http-client';
import { makeTestApp, TestApp } from '../helpers/app';
import { listen, Listening, rawRequest } from '../helpers/http';
import { makeInstance } from '../helpers/instances';

const ACCEPT: Record<Format, string> = { json: 'application/json', xml: 'application/xml' };

type RequestCallback = (error: Error | null, response: { statusCode: number; headers: Record<string, string> }, body: string) => void;
// The `request` library eureka-js-client fetches the registry with (gzip: true), as it resolves it.
const requestLib = createRequire(require.resolve('eureka-js-client'))('request') as (options: Record<string, unknown>, done: RequestCallback) => void;

let t: TestApp;
let server: Listening;
beforeEach(async () => {
  t = makeTestApp();
  server = await listen(t.app);
  // One application of 120 instances (two parts of its segment, each compressed on the thread pool), small ones
  // sharing segments, and text that is not ASCII.
  for (let n = 0; n < 120; n++) t.registry.register(makeInstance({ app: 'BIG', id: `big-${n}`, metadata: { pad: 'p'.repeat(500) } }));
  for (let n = 0; n < 150; n++) t.registry.register(makeInstance({ app: `SMALL-${n % 50}`, id: `s-${n}`, hostName: `hôte-${n}.example` }));
});

afterEach(async () => {
  await server.close();
  await t.close();
});

const fromScratch = (format: Format): Buffer => CODECS[format].applications(t.registry.applications(), 1, t.registry.hashcode()).toBuffer();

function streamGunzip(zipped: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const gunzip = createGunzip();
    const out: Buffer[] = [];
    gunzip.on('data', (c: Buffer) => out.push(c));
    gunzip.on('end', () => resolve(Buffer.concat(out)));
    gunzip.on('error', reject);
    for (let i = 0; i < zipped.length; i++) gunzip.write(zipped.subarray(i, i + 1));
    gunzip.end();
  });
}

function viaRequestLib(format: Format): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) =>
    requestLib({ url: `http://127.0.0.1:${server.port}/eureka/apps/`, headers: { Accept: ACCEPT[format] }, gzip: true }, (error, response, body) =>
      error ? reject(error) : resolve({ status: response.statusCode, body }),
    ),
  );
}

describe('GET /apps', () => {
  describe.each<Format>(['json', 'xml'])('in %s', (format) => {
    it('answers the from-scratch bytes, plain and gzip, before and after a change', async () => {
      for (let round = 0; round < 2; round++) {
        const plain = await rawRequest(server.port, { path: '/eureka/apps', headers: { accept: ACCEPT[format] } });
        expect(plain.status).toBe(200);
        expect(plain.body.equals(fromScratch(format))).toBe(true);
        expect(Number(plain.headers['content-length'])).toBe(plain.body.length);
        const zipped = await rawRequest(server.port, { path: '/eureka/apps', headers: { accept: ACCEPT[format], 'accept-encoding': 'gzip' } });
        expect(zipped.headers['content-encoding']).toBe('gzip');
        expect(Number(zipped.headers['content-length'])).toBe(zipped.body.length);
        expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
        expect((await streamGunzip(zipped.body)).equals(plain.body)).toBe(true);
        t.registry.updateMetadata('SMALL-7', 's-7', { zone: 'zone-ü' });
        t.registry.cancel('BIG', 'big-3');
      }
    });

    it('reads whole through superagent, axios and request', async () => {
      const expected = fromScratch(format).toString('utf8');
      const viaSuperagent = await request(t.app).get('/eureka/apps').set('Accept', ACCEPT[format]).set('Accept-Encoding', 'gzip').buffer(true).parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks).toString('utf8')));
      });
      expect(viaSuperagent.headers['content-encoding']).toBe('gzip');
      expect(viaSuperagent.body).toBe(expected);
      const client = createHttpClient({ baseUrl: `http://127.0.0.1:${server.port}/eureka/`, textResponses: true, headers: { accept: ACCEPT[format], 'accept-encoding': 'gzip' } });
      try {
        const viaAxios = await client.http.get<string>('apps/');
        expect(viaAxios.data).toBe(expected);
      } finally {
        client.close();
      }
      expect(await viaRequestLib(format)).toEqual({ status: 200, body: expected });
    });

    it('answers HEAD with the length of the body and no body', async () => {
      const get = await rawRequest(server.port, { path: '/eureka/apps', headers: { accept: ACCEPT[format] } });
      const head = await rawRequest(server.port, { method: 'HEAD', path: '/eureka/apps', headers: { accept: ACCEPT[format] } });
      expect(head.status).toBe(200);
      expect(head.headers['content-length']).toBe(String(get.body.length));
      expect(head.body.length).toBe(0);
    });

    it('sends the whole body to a request that came with a body of its own', async () => {
      const res = await rawRequest(server.port, { path: '/eureka/apps', headers: { accept: ACCEPT[format], 'content-type': 'text/plain' }, body: 'ignored' });
      expect(res.body.equals(fromScratch(format))).toBe(true);
    });
  });
});
