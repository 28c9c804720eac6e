// The peer prober on a ManualClock with scripted peer clients (what each probe answers, how long it takes), and the
// HTTP peer client's probe against a real loopback server: the readiness URL beside the Eureka URL, with credentials.
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { ManualClock } from '../../src/domain/clock';
import { silentLogger } from '../../src/observability/logger';
import { HttpPeerClient, PeerClient, ProbeAnswer, readinessUrl } from '../../src/replication/peer-client';
import { PeerProber, probeVerdict } from '../../src/replication/peer-prober';
import { ManualScheduler, settle } from '../helpers/replication-scheduler';

const T0 = 1_700_000_000_000;

/** A peer client whose probe answers what the test says next; `pending` holds its answer until released. */
class ProbedPeer implements PeerClient {
  answer: ProbeAnswer = { kind: 'answer', status: 200 };
  calls = 0;
  timeouts: number[] = [];
  hold = false;
  private release: (() => void)[] = [];
  constructor(readonly url: string) {}
  sendBatch(): never {
    throw new Error('not used');
  }
  fetchRegistry(): never {
    throw new Error('not used');
  }
  async probe(timeoutMs: number): Promise<ProbeAnswer> {
    this.calls++;
    this.timeouts.push(timeoutMs);
    if (this.hold) await new Promise<void>((resolve) => this.release.push(resolve));
    return this.answer;
  }
  releaseAll(): void {
    for (const r of this.release.splice(0)) r();
  }
  close(): void {}
}

function setup(peers: PeerClient[]) {
  const clock = new ManualClock(T0);
  const scheduler = new ManualScheduler(clock);
  let elapsed = 0;
  const list = { peers };
  const prober = new PeerProber(() => list.peers, clock, scheduler, silentLogger, { intervalMs: 1000, timeoutMs: 500 }, () => (elapsed += 2.5));
  return { clock, scheduler, prober, list };
}

describe('PeerProber', () => {
  describe('round', () => {
    it('says ready, with the round trip and when the peer was last seen, when it answers 2xx', async () => {
      const b = new ProbedPeer('http://b:8761/eureka/');
      const { prober } = setup([b]);
      await prober.round();
      expect(prober.statsFor(b.url)).toEqual({ state: 'ready', since: T0, lastProbeAt: T0, lastSeenAt: T0, rttMs: 2.5, lastStatus: 200, lastError: '', consecutiveFailures: 0, probes: 1, failures: 0 });
      expect(b.timeouts).toEqual([500]);
    });

    it('says unreachable when the probe fails, keeping when the peer was last seen, and reachable again when it answers', async () => {
      const b = new ProbedPeer('http://b:8761/eureka/');
      const { prober, clock } = setup([b]);
      await prober.round();
      clock.advance(1000);
      b.answer = { kind: 'error', reason: 'ECONNREFUSED' };
      await prober.round();
      clock.advance(1000);
      await prober.round();
      expect(prober.statsFor(b.url)).toMatchObject({ state: 'unreachable', since: T0 + 1000, lastProbeAt: T0 + 2000, lastSeenAt: T0, lastError: 'ECONNREFUSED', consecutiveFailures: 2, probes: 3, failures: 2 });
      b.answer = { kind: 'answer', status: 200 };
      clock.advance(1000);
      await prober.round();
      expect(prober.statsFor(b.url)).toMatchObject({ state: 'ready', since: T0 + 3000, lastSeenAt: T0 + 3000, consecutiveFailures: 0, failures: 2 });
    });

    it('is pending until the first probe ends, and probes a peer again only once its previous probe is over', async () => {
      const b = new ProbedPeer('http://b:8761/eureka/');
      b.hold = true;
      const { prober } = setup([b]);
      const first = prober.round();
      await settle();
      expect(prober.statsFor(b.url)).toMatchObject({ state: 'pending', probes: 0, lastSeenAt: 0, rttMs: -1 });
      await prober.round();
      expect(b.calls).toBe(1);
      b.releaseAll();
      await first;
      expect(prober.statsFor(b.url)?.state).toBe('ready');
    });

    it('follows the peer list: a new peer is probed, one that left is forgotten, one whose client cannot probe is not tracked', async () => {
      const b = new ProbedPeer('http://b:8761/eureka/');
      const c = new ProbedPeer('http://c:8761/eureka/');
      const noProbe = { url: 'http://d:8761/eureka/', sendBatch: jest.fn(), fetchRegistry: jest.fn(), close: jest.fn() } as PeerClient;
      const { prober, list } = setup([b, noProbe]);
      await prober.round();
      expect(prober.statsFor(noProbe.url)).toBeUndefined();
      list.peers = [c];
      await prober.round();
      expect(prober.statsFor(b.url)).toBeUndefined();
      expect(prober.statsFor(c.url)?.state).toBe('ready');
    });

    it('records nothing once closed', async () => {
      const b = new ProbedPeer('http://b:8761/eureka/');
      b.hold = true;
      const { prober } = setup([b]);
      const round = prober.round();
      await settle();
      prober.close();
      b.releaseAll();
      await round;
      expect(prober.statsFor(b.url)).toMatchObject({ state: 'pending', probes: 0 });
      await prober.round();
      expect(b.calls).toBe(1);
    });
  });

  describe('start', () => {
    it('probes at once and then every intervalMs through the scheduler', async () => {
      const b = new ProbedPeer('http://b:8761/eureka/');
      const { prober, scheduler } = setup([b]);
      prober.start();
      await settle();
      expect(b.calls).toBe(1);
      await scheduler.advance(3000);
      expect(b.calls).toBe(4);
    });
  });
});

describe('probeVerdict', () => {
  it.each<[ProbeAnswer, string]>([
    [{ kind: 'answer', status: 200 }, 'ready'],
    [{ kind: 'answer', status: 204 }, 'ready'],
    [{ kind: 'answer', status: 503 }, 'not-ready'],
    [{ kind: 'answer', status: 404 }, 'reachable'],
    [{ kind: 'answer', status: 401 }, 'reachable'],
    [{ kind: 'answer', status: 302 }, 'reachable'],
    [{ kind: 'answer', status: 502 }, 'unreachable'],
    [{ kind: 'answer', status: 504 }, 'unreachable'],
    [{ kind: 'error', reason: 'timeout of 500ms exceeded' }, 'unreachable'],
  ])('%j → %s', (answer, state) => {
    expect(probeVerdict(answer).state).toBe(state);
  });
});

describe('readinessUrl', () => {
  it.each([
    ['http://h:8761/eureka/', 'http://h:8761/health/ready'],
    ['http://h:8761/eureka/v2/', 'http://h:8761/health/ready'],
    ['https://lb.example/zone-a/eureka/', 'https://lb.example/zone-a/health/ready'],
    ['http://h:8761/registry/', 'http://h:8761/health/ready'],
    ['http://[::1]:8761/eureka', 'http://[::1]:8761/health/ready'],
  ])('%s → %s', (eureka, ready) => {
    expect(readinessUrl(eureka)).toBe(ready);
  });
});

describe('HttpPeerClient', () => {
  describe('probe', () => {
    let server: Server;
    let port: number;
    let seen: { url?: string; headers: IncomingHttpHeaders }[];
    let status: number;
    beforeAll(async () => {
      server = createServer((req, res) => {
        seen.push({ url: req.url, headers: req.headers });
        res.writeHead(status, { 'content-type': 'application/json' }).end('{"status":"UP"}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    beforeEach(() => {
      seen = [];
      status = 200;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('asks GET /health/ready beside the Eureka URL with the peer credentials, and returns the status', async () => {
      const peer = new HttpPeerClient(`http://replicator:s%40cret@127.0.0.1:${port}/eureka/`, 5000);
      try {
        expect(await peer.probe(1000)).toEqual({ kind: 'answer', status: 200 });
        status = 503;
        expect(await peer.probe(1000)).toEqual({ kind: 'answer', status: 503 });
      } finally {
        peer.close();
      }
      expect(seen.map((s) => s.url)).toEqual(['/health/ready', '/health/ready']);
      expect(seen[0].headers.authorization).toBe(`Basic ${Buffer.from('replicator:s@cret').toString('base64')}`);
    });

    it('says why when nothing answers', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const deadPort = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const peer = new HttpPeerClient(`http://127.0.0.1:${deadPort}/eureka/`, 5000);
      try {
        const answer = await peer.probe(1000);
        expect(answer).toEqual({ kind: 'error', reason: expect.stringContaining('ECONNREFUSED') });
      } finally {
        peer.close();
      }
    });
  });
});
