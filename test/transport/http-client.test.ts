// The one HTTP client factory: axios options as each caller asks, own keep-alive pools that close() destroys, and a
// real round trip on 127.0.0.1 (Basic auth, text bodies both ways, any status).
import { createServer, IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { connectionPools, createHttpClient, HttpClient, MAX_TEXT_ANSWER_BYTES } from '../../src/transport/http-client';

describe('http-client', () => {
  describe('connectionPools', () => {
    it('makes keep-alive agents by default and passes socket limit, CA and verification through', () => {
      const ca = Buffer.from('-----BEGIN CERTIFICATE-----');
      const pools = connectionPools({ maxSockets: 8, alwaysVerify: true, ca });
      try {
        expect((pools.http as unknown as { keepAlive: boolean }).keepAlive).toBe(true);
        expect(pools.http.maxSockets).toBe(8);
        expect(pools.https.options).toMatchObject({ keepAlive: true, maxSockets: 8, rejectUnauthorized: true, ca });
      } finally {
        pools.destroy();
      }
    });

    it('leaves keep-alive off when asked and verification to Node when not forced', () => {
      const pools = connectionPools({ keepAlive: false });
      try {
        expect((pools.http as unknown as { keepAlive: boolean }).keepAlive).toBe(false);
        expect(pools.https.options.rejectUnauthorized).toBeUndefined();
        expect(pools.https.options.ca).toBeUndefined();
      } finally {
        pools.destroy();
      }
    });

    it('destroys the agents when destroy is called', () => {
      const pools = connectionPools();
      const destroyHttp = jest.spyOn(pools.http, 'destroy');
      const destroyHttps = jest.spyOn(pools.https, 'destroy');
      pools.destroy();
      expect(destroyHttp).toHaveBeenCalledTimes(1);
      expect(destroyHttps).toHaveBeenCalledTimes(1);
    });
  });

  describe('createHttpClient', () => {
    it('sets nothing beyond axios defaults when given no options', () => {
      const { http, close } = createHttpClient();
      expect(http.defaults.timeout).toBe(0);
      expect(http.defaults.httpAgent).toBeUndefined();
      expect(http.defaults.proxy).toBeUndefined();
      expect(http.defaults.validateStatus?.(500)).toBe(false);
      close();
    });

    it('maps every option onto the axios instance when all are given', () => {
      const client = createHttpClient({
        baseUrl: 'http://127.0.0.1:1/eureka/',
        timeoutMs: 1234,
        headers: { accept: 'application/json' },
        auth: { username: 'u', password: 'p' },
        pools: { maxSockets: 2 },
        anyStatus: true,
        textResponses: true,
        rawRequests: true,
        maxRedirects: 0,
        noProxy: true,
      });
      const d = client.http.defaults;
      try {
        expect(d).toMatchObject({ baseURL: 'http://127.0.0.1:1/eureka/', timeout: 1234, auth: { username: 'u', password: 'p' }, responseType: 'text', maxRedirects: 0, proxy: false });
        expect(d.headers).toMatchObject({ accept: 'application/json' });
        expect(d.httpAgent.maxSockets).toBe(2);
        expect(d.validateStatus?.(503)).toBe(true);
        expect((d.transformResponse as (data: unknown) => unknown)('{"a":1}')).toBe('{"a":1}');
        expect((d.transformRequest as (data: unknown) => unknown)('{"a":1}')).toBe('{"a":1}');
      } finally {
        client.close();
      }
    });

    describe('against a server on 127.0.0.1', () => {
      let server: Server;
      let base: string;
      const seen: { headers: IncomingHttpHeaders; body: string }[] = [];
      let client: HttpClient;

      beforeAll(async () => {
        server = createServer((req, res) => {
          let body = '';
          req.on('data', (c: Buffer) => (body += c.toString()));
          req.on('end', () => {
            seen.push({ headers: req.headers, body });
            res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"DOWN"}');
          });
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
        client = createHttpClient({ baseUrl: base, timeoutMs: 10_000, auth: { username: 'peer', password: 's:cret' }, pools: {}, anyStatus: true, textResponses: true, rawRequests: true, noProxy: true });
      });
      afterAll(async () => {
        client.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      });

      it('sends Basic auth and the body as given, and resolves a 503 with its body as text', async () => {
        const res = await client.http.post<string>('x', '{"b":2}', { headers: { 'content-type': 'application/json' } });
        expect(res.status).toBe(503);
        expect(res.data).toBe('{"status":"DOWN"}');
        const last = seen[seen.length - 1];
        expect(last.headers.authorization).toBe(`Basic ${Buffer.from('peer:s:cret').toString('base64')}`);
        expect(last.body).toBe('{"b":2}');
      });
    });

    describe('postText', () => {
      // A client of a one-off server on 127.0.0.1 answering every request with `answer`.
      async function withServer(answer: (res: ServerResponse) => void, use: (client: HttpClient) => Promise<void>): Promise<void> {
        const server = createServer((req, res) => {
          req.resume();
          req.on('end', () => answer(res));
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const client = createHttpClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, pools: {} });
        try {
          await use(client);
        } finally {
          client.close();
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        }
      }

      it('refuses an answer past MAX_TEXT_ANSWER_BYTES rather than holding it', async () => {
        const chunk = Buffer.alloc(1024 * 1024, 0x61);
        const answer = (res: ServerResponse): void => {
          res.writeHead(200);
          for (let i = 0; i <= MAX_TEXT_ANSWER_BYTES / chunk.length; i++) res.write(chunk);
          res.end();
        };
        await withServer(answer, (client) => expect(client.postText('x', '{}')).rejects.toMatchObject({ code: 'ERR_ANSWER_TOO_LARGE' }));
      });

      it('refuses a compressed answer that inflates past MAX_TEXT_ANSWER_BYTES', async () => {
        const bomb = gzipSync(Buffer.alloc(MAX_TEXT_ANSWER_BYTES + 1, 0x61));
        const answer = (res: ServerResponse): void => void res.writeHead(200, { 'content-encoding': 'gzip' }).end(bomb);
        await withServer(answer, (client) => expect(client.postText('x', '{}')).rejects.toMatchObject({ code: 'ERR_BAD_ANSWER' }));
      });
    });
  });
});
