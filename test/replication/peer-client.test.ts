// HttpPeerClient with axios replaced by a scripted double: how answers are classified, without any socket.
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

  describe('sendBatch', () => {
    it('posts the body to peerreplication/batch/ and returns the per-item results', async () => {
      axios.post.mockResolvedValue(answer(200, '{"responseList":[{"statusCode":200},{"statusCode":404}]}'));
      const result = await peer.sendBatch('{"replicationList":[]}');
      expect(axios.post).toHaveBeenCalledWith('peerreplication/batch/', '{"replicationList":[]}');
      expect(result).toEqual({ kind: 'ok', response: { responseList: [{ statusCode: 200 }, { statusCode: 404 }] } });
    });

    it.each([429, 503])('asks to wait when the peer answers %i without Retry-After', async (status) => {
      axios.post.mockResolvedValue(answer(status, ''));
      expect(await peer.sendBatch('{}')).toEqual({ kind: 'later', reason: `peer answered ${status}` });
    });

    it('asks to wait as long as Retry-After says in seconds', async () => {
      axios.post.mockResolvedValue(answer(429, '', { 'retry-after': '7' }));
      expect(await peer.sendBatch('{}')).toEqual({ kind: 'later', reason: 'peer answered 429', retryAfterMs: 7000 });
    });

    it('measures a Retry-After HTTP-date from its clock', async () => {
      const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
      const timed = new HttpPeerClient(URL, 1234, { clock });
      axios.post.mockResolvedValue(answer(503, '', { 'retry-after': 'Thu, 01 Jan 2026 12:00:03 GMT' }));
      expect(await timed.sendBatch('{}')).toEqual({ kind: 'later', reason: 'peer answered 503', retryAfterMs: 3000 });
      timed.close();
    });

    it('asks for a retry on a network error, naming its code', async () => {
      axios.post.mockRejectedValue(networkError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.1.5:8761'));
      expect(await peer.sendBatch('{}')).toEqual({ kind: 'retry', reason: 'ECONNREFUSED: connect ECONNREFUSED 10.0.1.5:8761' });
    });

    it.each([400, 403, 404, 500, 502])('gives the batch up when the peer answers %i', async (status) => {
      axios.post.mockResolvedValue(answer(status, ''));
      expect(await peer.sendBatch('{}')).toEqual({ kind: 'failed', reason: `peer answered ${status}` });
    });

    it('gives the batch up when a 2xx answer has no responseList', async () => {
      axios.post.mockResolvedValue(answer(200, '{"something":"else"}'));
      expect(await peer.sendBatch('{}')).toMatchObject({ kind: 'failed' });
    });

    it.each([
      ['an HTML page', '<html><body>OK</body></html>'],
      ['an empty body', ''],
    ])('gives the batch up, rather than resending it, when a 2xx answer is %s', async (_what, data) => {
      // The peer accepted the batch; resending it until expiry would replay every change in it.
      axios.post.mockResolvedValue(answer(200, data));
      expect(await peer.sendBatch('{}')).toMatchObject({ kind: 'failed' });
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
