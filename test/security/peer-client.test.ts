// HttpPeerClient's credentials and CA (axios replaced by a double): Basic auth from the URL's user:password@ (stripped
// from the base URL and from what is shown) or from peerUsername/peerPassword; the CA on the https agent.
import { HttpPeerClient } from '../../src/replication/peer-client';

jest.mock('axios', () => {
  const create = jest.fn(() => ({ post: jest.fn(), get: jest.fn() }));
  return { __esModule: true, default: { create }, isAxiosError: () => false, double: { create } };
});

const create = (jest.requireMock('axios') as { double: { create: jest.Mock } }).double.create;

let peer: HttpPeerClient | undefined;
beforeEach(() => create.mockClear());
afterEach(() => peer?.close());

const configOf = (): { baseURL: string; auth?: { username: string; password: string }; httpsAgent: { options: { ca?: Buffer; rejectUnauthorized?: boolean } } } => create.mock.calls[0][0];

describe('HttpPeerClient credentials', () => {
  it('sends the URL\'s user:password as Basic auth and shows the URL without them', () => {
    peer = new HttpPeerClient('http://peer:s%3Acret@10.0.1.5:8761/eureka/', 1000, { credentials: { username: 'other', password: 'x' } });
    expect(peer.url).toBe('http://10.0.1.5:8761/eureka/');
    expect(configOf().baseURL).toBe('http://10.0.1.5:8761/eureka/');
    expect(configOf().auth).toEqual({ username: 'peer', password: 's:cret' });
  });

  it('falls back to peerUsername / peerPassword', () => {
    peer = new HttpPeerClient('http://10.0.1.5:8761/eureka/', 1000, { credentials: { username: 'peer', password: 'pw' } });
    expect(configOf().auth).toEqual({ username: 'peer', password: 'pw' });
  });

  it('sends none when it has none', () => {
    peer = new HttpPeerClient('http://10.0.1.5:8761/eureka/', 1000);
    expect(configOf().auth).toBeUndefined();
    expect(configOf().httpsAgent.options.rejectUnauthorized).toBe(true);
  });

  it('verifies https peers against peerCaFile when given', () => {
    const ca = Buffer.from('-----BEGIN CERTIFICATE-----\n');
    peer = new HttpPeerClient('https://10.0.1.5:8761/eureka/', 1000, { ca });
    expect(configOf().httpsAgent.options).toMatchObject({ ca, rejectUnauthorized: true });
  });
});
