// HttpPeerClient: how answers are classified. Its axios requests against a scripted double, without any socket; its
// batches (sent on node:http) against a real server on 127.0.0.1.
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { ManualClock } from '../../src/domain/clock';
import { HttpPeerClient, parseRetryAfterMs } from '../../src/replication/peer-client';

interface AxiosDouble {
  post: jest.Mock;
  get: jest.Mock;
  create: jest.Mock;
}

jest.mock('axios', () => {
  const post = jest.fn();
  const get = jest.fn();
  const create = jest.fn(() => ({ post, get }));
  return {
    __esModule: true,
    default: { create },
    isAxiosError: (e: unknown) => typeof e === 'object' && e !== null && (e as { isAxiosError?: boolean }).isAxiosError === true,
    double: { post, get, create },
  };
});

const axios = (jest.requireMock('axios') as { double: AxiosDouble }).double;
const URL = 'http://10.0.1.5:8761/eureka/';

function client(): HttpPeerClient {
  return new HttpPeerClient(URL, 1234);
}

const answer = (status: number, data: string, headers: Record<string, string> = {}) => ({ status, data, headers });
const networkError = (code: string, message: string) => Object.assign(new Error(message), { isAxiosError: true, code });

describe('HttpPeerClient', () => {
  let peer: HttpPeerClient;
  beforeEach(() => {
    axios.post.mockReset();
    axios.get.mockReset();
    axios.create.mockClear();
    peer = client();
  });
  afterEach(() => peer.close());

  describe('constructor', () => {
    it('talks to the peer URL as a Netflix server does, with replication marked and no redirects or proxies', () => {
      const config = axios.create.mock.calls[0][0];
      expect(config).toMatchObject({ baseURL: URL, timeout: 1234, maxRedirects: 0, proxy: false, responseType: 'text' });
      expect(config.headers).toMatchObject({
        'content-type': 'application/json',
        accept: 'application/json',
        'discoveryidentity-name': 'DefaultServer',
        'x-netflix-discovery-replication': 'true',
      });
      expect(config.validateStatus(500)).toBe(true);
      expect(peer.url).toBe(URL);
    });
  });

  describe('parseRetryAfterMs', () => {
    const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
    it.each<[string, unknown, number | undefined]>([
      ['whole seconds', '5', 5000],
      ['zero seconds', '0', 0],
      ['seconds with spaces around', ' 2 ', 2000],
      ['an HTTP-date ahead', 'Thu, 01 Jan 2026 12:00:10 GMT', 10_000],
      ['an HTTP-date in the past', 'Thu, 01 Jan 2026 11:59:00 GMT', 0],
      ['negative seconds', '-1', undefined],
      ['fractional seconds', '1.5', undefined],
      ['garbage', 'soon', undefined],
      ['an empty value', '', undefined],
      ['no header', undefined, undefined],
      ['a repeated header', ['1', '2'], undefined],
    ])('reads %s', (_what, header, expected) => {
      expect(parseRetryAfterMs(header, NOW)).toBe(expected);
    });
  });

  describe('fetchRegistry', () => {
    it('gets apps/ and returns the body of a 200', async () => {
      axios.get.mockResolvedValue(answer(200, '{"applications":{}}'));
      expect(await peer.fetchRegistry()).toEqual({ kind: 'ok', body: '{"applications":{}}' });
      expect(axios.get).toHaveBeenCalledWith('apps/');
    });

    it('fails on any other status', async () => {
      axios.get.mockResolvedValue(answer(403, ''));
      expect(await peer.fetchRegistry()).toEqual({ kind: 'failed', reason: 'peer answered 403' });
    });

    it('fails on a network error', async () => {
      axios.get.mockRejectedValue(networkError('ETIMEDOUT', 'timeout of 1234ms exceeded'));
      expect(await peer.fetchRegistry()).toEqual({ kind: 'failed', reason: 'ETIMEDOUT: timeout of 1234ms exceeded' });
    });
  });
});

describe('HttpPeerClient.sendBatch, on a real socket', () => {
  type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
  let handler: Handler;
  let server: Server;
  let base: string;
  const peers: HttpPeerClient[] = [];
  const peerAt = (url = base, timeoutMs = 5000, clock?: ManualClock): HttpPeerClient => {
    const peer = new HttpPeerClient(url, timeoutMs, clock ? { clock } : {});
    peers.push(peer);
    return peer;
  };
  const reply = (status: number, body: string | Buffer, headers: Record<string, string> = {}): Handler => (_req, _body, res) => {
    res.writeHead(status, headers);
    res.end(body);
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => handler(req, Buffer.concat(chunks).toString(), res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/eureka/`;
  });
  afterEach(() => {
    for (const peer of peers.splice(0)) peer.close();
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('posts the body to peerreplication/batch/ as a Netflix server does and returns the per-item results', async () => {
    let seen: { method?: string; url?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    handler = (req, body, res) => {
      seen = { method: req.method, url: req.url, headers: req.headers, body };
      reply(200, '{"responseList":[{"statusCode":200},{"statusCode":404}]}', { 'content-type': 'application/json' })(req, body, res);
    };
    const result = await peerAt().sendBatch('{"replicationList":[]}');
    expect(result).toEqual({ kind: 'ok', response: { responseList: [{ statusCode: 200 }, { statusCode: 404 }] } });
    expect(seen).toMatchObject({ method: 'POST', url: '/eureka/peerreplication/batch/', body: '{"replicationList":[]}' });
    expect(seen.headers).toMatchObject({
      'content-type': 'application/json',
      accept: 'application/json',
      'discoveryidentity-name': 'DefaultServer',
      'x-netflix-discovery-replication': 'true',
      'content-length': '22',
    });
    expect(seen.headers?.authorization).toBeUndefined();
  });

  it('reuses its connection from one batch to the next', async () => {
    const ports: number[] = [];
    handler = (req, body, res) => {
      ports.push(req.socket.remotePort as number);
      reply(200, '{"responseList":[]}')(req, body, res);
    };
    const peer = peerAt();
    for (let i = 0; i < 3; i++) expect(await peer.sendBatch('{"replicationList":[]}')).toMatchObject({ kind: 'ok' });
    expect(new Set(ports).size).toBe(1);
  });

  it('sends the credentials of its URL as Basic auth, never showing them', async () => {
    let authorization: string | undefined;
    handler = (req, body, res) => {
      authorization = req.headers.authorization;
      reply(200, '{"responseList":[]}')(req, body, res);
    };
    const peer = peerAt(base.replace('http://', 'http://peer:s3cret@'));
    expect(await peer.sendBatch('{}')).toMatchObject({ kind: 'ok' });
    expect(authorization).toBe(`Basic ${Buffer.from('peer:s3cret').toString('base64')}`);
    expect(peer.url).toBe(base);
  });

  it('names a zone-registry peer by its identity header', async () => {
    handler = reply(200, '{"responseList":[]}', { 'x-registry-server': 'zone-b-1' });
    expect(await peerAt().sendBatch('{}')).toEqual({ kind: 'ok', response: { responseList: [] }, server: 'zone-b-1' });
  });

  it('reads an answer the peer compressed', async () => {
    handler = reply(200, gzipSync('{"responseList":[{"statusCode":409}]}'), { 'content-encoding': 'gzip' });
    expect(await peerAt().sendBatch('{}')).toEqual({ kind: 'ok', response: { responseList: [{ statusCode: 409 }] } });
  });

  it.each([429, 503])('asks to wait when the peer answers %i without Retry-After', async (status) => {
    handler = reply(status, '');
    expect(await peerAt().sendBatch('{}')).toEqual({ kind: 'later', reason: `peer answered ${status}` });
  });

  it('asks to wait as long as Retry-After says in seconds', async () => {
    handler = reply(429, '', { 'retry-after': '7' });
    expect(await peerAt().sendBatch('{}')).toEqual({ kind: 'later', reason: 'peer answered 429', retryAfterMs: 7000 });
  });

  it('measures a Retry-After HTTP-date from its clock', async () => {
    handler = reply(503, '', { 'retry-after': 'Thu, 01 Jan 2026 12:00:03 GMT' });
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
    expect(await peerAt(base, 5000, clock).sendBatch('{}')).toEqual({ kind: 'later', reason: 'peer answered 503', retryAfterMs: 3000 });
  });

  it.each([301, 400, 403, 404, 500, 502])('gives the batch up when the peer answers %i (no redirect followed)', async (status) => {
    handler = reply(status, '', status === 301 ? { location: 'http://127.0.0.1:1/elsewhere' } : {});
    expect(await peerAt().sendBatch('{}')).toEqual({ kind: 'failed', reason: `peer answered ${status}` });
  });

  it.each([
    ['JSON without a responseList', '{"something":"else"}'],
    ['an HTML page', '<html><body>OK</body></html>'],
    ['an empty body', ''],
  ])('gives the batch up, rather than resending it, when a 2xx answer is %s', async (_what, body) => {
    // The peer accepted the batch; resending it until expiry would replay every change in it.
    handler = reply(200, body);
    expect(await peerAt().sendBatch('{}')).toMatchObject({ kind: 'failed' });
  });

  it('asks for a retry when nothing listens, naming the error code', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await peerAt(`http://127.0.0.1:${port}/eureka/`).sendBatch('{}');
    expect(result).toMatchObject({ kind: 'retry' });
    expect((result as { reason: string }).reason).toMatch(/^ECONNREFUSED: /);
  });

  it('asks for a retry when the peer does not answer within the timeout', async () => {
    handler = () => undefined; // never answers; closed by afterAll
    expect(await peerAt(base, 50).sendBatch('{}')).toEqual({ kind: 'retry', reason: 'ETIMEDOUT: timeout of 50ms exceeded' });
  });
});
