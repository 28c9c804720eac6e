// Peers from DNS, end to end: real zone servers on 127.0.0.1 whose peerDnsName is answered by a small authoritative
// DNS server run by the test (real packets over UDP, through node's Resolver); the test changes its answers and
// watches peers join and leave the servers' replication without a restart.
import { createSocket, RemoteInfo, Socket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { AddressInfo } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { defaultSettings, Settings } from '../../src/config/settings';
import { compose, RunningServer } from '../../src/server';
import { http, instanceBody } from '../helpers/cluster';
import { RecordingLogger } from '../helpers/replication-fixtures';
import { waitFor } from '../helpers/wait';

const NAME = 'zone-registry-peers.test';

/** What the test's DNS server answers for one name. */
interface Records {
  readonly srv?: readonly { readonly target: string; readonly port: number }[];
  readonly a?: readonly string[];
}

/** An authoritative DNS server on 127.0.0.1 answering from a table the test rewrites; `failing` answers SERVFAIL. */
class TestDns {
  zone = new Map<string, Records>();
  failing = false;
  queries = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (msg: Buffer, from: RemoteInfo) => this.answer(msg, from));
  }

  static async start(): Promise<TestDns> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return new TestDns(socket);
  }

  get port(): number {
    return (this.socket.address() as AddressInfo).port;
  }

  /** A resolver of this server's answers only. */
  resolver(): Resolver {
    const resolver = new Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([`127.0.0.1:${this.port}`]);
    return resolver;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private answer(msg: Buffer, from: RemoteInfo): void {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return;
    }
    this.queries++;
    const question = query.questions?.[0];
    const records = question === undefined ? undefined : this.zone.get(question.name.toLowerCase());
    // rcode in the low four bits of the flags: 2 SERVFAIL, 3 NXDOMAIN.
    const rcode = this.failing ? 2 : records === undefined ? 3 : 0;
    const answers: dnsPacket.Answer[] = [];
    if (question !== undefined && records !== undefined && !this.failing) {
      if (question.type === 'SRV') for (const r of records.srv ?? []) answers.push({ type: 'SRV', name: question.name, ttl: 0, data: { priority: 0, weight: 1, port: r.port, target: r.target } });
      if (question.type === 'A') for (const a of records.a ?? []) answers.push({ type: 'A', name: question.name, ttl: 0, data: a });
    }
    const reply = dnsPacket.encode({ type: 'response', id: query.id, flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | rcode, questions: query.questions, answers });
    this.socket.send(reply, from.port, from.address);
  }
}

/** Settings of a server that finds its peers through NAME, quickly. */
function settingsFor(overrides: Partial<Settings> = {}): Settings {
  return {
    ...defaultSettings(),
    port: 0,
    host: '127.0.0.1',
    peerDnsName: NAME,
    peerDnsRefreshMs: 100,
    replicationMaxBatchingDelayMs: 10,
    replicationRetryBaseMs: 20,
    replicationRetryMaxMs: 200,
    replicationTimeoutMs: 1000,
    syncAttempts: 1,
    syncRetryWaitMs: 50,
    syncFailureMode: 'serve',
    // Only replication carries changes here: no comparison round may deliver them instead.
    antiEntropyIntervalMs: 3_600_000,
    logLevel: 'error',
    ...overrides,
  };
}

interface Started {
  readonly server: RunningServer;
  readonly logger: RecordingLogger;
  readonly url: string;
}

const peerUrls = (s: Started): string[] => s.server.peers.nodes.map((n) => n.url).sort();
const register = async (s: Started, id: string): Promise<void> => {
  const reply = await http(s.server.port, 'POST', '/eureka/apps/ORDERS', instanceBody({ id, durationSecs: 300, renewalIntervalSecs: 30 }));
  expect(reply.status).toBe(204);
};
const holds = (s: Started, id: string): boolean => s.server.registry.lease('ORDERS', id) !== undefined;

describe('peer DNS discovery', () => {
  let dns: TestDns;
  const started: Started[] = [];

  const start = async (overrides: Partial<Settings> = {}, untilReady = true): Promise<Started> => {
    const logger = new RecordingLogger();
    const server = await compose({ settings: settingsFor(overrides), peerSet: { self: undefined, peers: [] } }, { logger, peerResolver: dns.resolver() }).listen();
    const s = { server, logger, url: `http://127.0.0.1:${server.port}/eureka/` };
    started.push(s);
    if (untilReady) await server.ready;
    return s;
  };
  const srvOf = (...servers: Started[]): Records => ({ srv: servers.map((s) => ({ target: '127.0.0.1', port: s.server.port })) });

  beforeEach(async () => {
    dns = await TestDns.start();
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.server.close()));
    await dns.close();
  });

  describe('SRV records', () => {
    it('adds a peer that appears, drops one that vanishes and never lists the server itself', async () => {
      const a = await start();
      const b = await start();
      // Not listed yet: each server runs alone.
      expect(peerUrls(a)).toEqual([]);

      dns.zone.set(NAME, srvOf(a, b));
      await waitFor(() => peerUrls(a).length === 1 && peerUrls(b).length === 1, 'A and B to find each other');
      expect(peerUrls(a)).toEqual([b.url]);
      expect(peerUrls(b)).toEqual([a.url]);
      await register(a, 'first');
      await waitFor(() => holds(b, 'first'), 'the first registration to reach B');

      // A new server: its record appears once it runs; it finds A and B at start and syncs from them.
      const c = await start();
      expect(peerUrls(c)).toEqual([a.url, b.url].sort());
      expect(holds(c, 'first')).toBe(true);
      dns.zone.set(NAME, srvOf(a, b, c));
      await waitFor(() => peerUrls(a).includes(c.url) && peerUrls(b).includes(c.url), 'A and B to add C');
      const toC = a.server.peers.nodes.find((n) => n.url === c.url)!;
      await register(a, 'second');
      // Only A had it from a client, and B does not forward a peer's writes: C has it from A's new node.
      await waitFor(() => holds(c, 'second') && holds(b, 'second') && toC.stats.tasksSent > 0, 'the second registration to reach B and C');
      const status = JSON.parse((await http(a.server.port, 'GET', '/eureka/status')).text) as { applicationStats: Record<string, string>; peers: { url: string }[] };
      expect(status.peers.map((p) => p.url).sort()).toEqual([b.url, c.url].sort());
      expect(status.applicationStats['registered-replicas'].split(', ').sort()).toEqual([b.url, c.url].sort());

      // C leaves the records: A and B drop it, its node is closed and gets nothing more.
      dns.zone.set(NAME, srvOf(a, b));
      await waitFor(() => !peerUrls(a).includes(c.url) && !peerUrls(b).includes(c.url), 'A and B to drop C');
      expect(peerUrls(a)).toEqual([b.url]);
      const sentToC = toC.stats.tasksSent;
      await register(a, 'third');
      await waitFor(() => holds(b, 'third'), 'the third registration to reach B');
      expect(toC.queueDepth).toBe(0);
      expect(toC.stats.tasksSent).toBe(sentToC);
      expect(holds(c, 'third')).toBe(false);
      const metrics = (await http(a.server.port, 'GET', '/metrics')).text;
      expect(metrics).toContain(`peer="${b.url}"`);
      expect(metrics).not.toContain(`peer="${c.url}"`);
      expect(a.logger.messages('info')).toEqual(expect.arrayContaining(['peer added (DNS)', 'peer removed (DNS)']));
    });

    it('answers a batch from a server it does not know yet 503 and resolves again, so the new server\'s retry lands', async () => {
      // A resolves rarely: only the batch from the newcomer can make it look again.
      const a = await start({ peerDnsRefreshMs: 3_600_000 });
      dns.zone.set(NAME, srvOf(a));
      const c = await start();
      dns.zone.set(NAME, srvOf(a, c));
      expect(peerUrls(a)).toEqual([]);
      // C learns A at start; A does not know C until C's first batch makes it ask DNS again.
      await waitFor(() => peerUrls(c).length === 1, 'C to find A');
      await register(c, 'from-new-server');
      await waitFor(() => holds(a, 'from-new-server'), "C's registration to reach A");
      expect(peerUrls(a)).toEqual([c.url]);
      const toA = c.server.peers.nodes[0];
      // Refused once (503), then delivered: nothing lost on the way.
      expect(toA.stats.batchFailures).toBeGreaterThan(0);
      expect(toA.stats.changesLost).toBe(0);
    });

    it('keeps the last peers while the name fails to resolve, and says so once', async () => {
      const a = await start();
      const b = await start();
      dns.zone.set(NAME, srvOf(a, b));
      // Both ways: with authentication off a server takes batches only from the peers it knows.
      await waitFor(() => peerUrls(a).length === 1 && peerUrls(b).length === 1, 'A and B to find each other');

      const failureWarnings = (): number => a.logger.messages('warn').filter((m) => m.startsWith('cannot resolve the peer DNS name')).length;
      // A and B started before their records existed: that was a failure of its own, already told.
      const warnedBefore = failureWarnings();
      dns.failing = true;
      const queriesAtFailure = dns.queries;
      await waitFor(() => failureWarnings() > warnedBefore, 'A to warn about the failure');
      // Several refreshes fail in a row…
      await waitFor(() => dns.queries >= queriesAtFailure + 12, 'more failed resolutions');
      expect(peerUrls(a)).toEqual([b.url]);
      expect(failureWarnings()).toBe(warnedBefore + 1);
      // …and replication to the peers it knew goes on.
      await register(a, 'during-outage');
      await waitFor(() => holds(b, 'during-outage'), 'the registration to reach B during the outage');

      // An answer with no records at all is no better than a failure.
      dns.failing = false;
      dns.zone.delete(NAME);
      const queriesAtEmpty = dns.queries;
      await waitFor(() => dns.queries >= queriesAtEmpty + 6, 'resolutions of a name without records');
      expect(peerUrls(a)).toEqual([b.url]);

      const recoveries = a.logger.messages('info').filter((m) => m === 'peer DNS name resolves again').length;
      dns.zone.set(NAME, srvOf(a, b));
      await waitFor(() => a.logger.messages('info').filter((m) => m === 'peer DNS name resolves again').length > recoveries, 'A to see the name resolve again');
      expect(peerUrls(a)).toEqual([b.url]);
    });
  });

  describe('startup sync', () => {
    it('takes a name that does not resolve at start for peers not reached yet, not for being alone', async () => {
      const b = await start();
      dns.zone.set(NAME, srvOf(b));
      await waitFor(() => b.logger.messages('info').includes('peer DNS name resolves again'), 'B to resolve the name');
      await register(b, 'known-to-b');

      dns.failing = true;
      const a = await start({ syncFailureMode: 'refuse', syncAttempts: 2, syncEmptyWaitMs: 60_000 }, false);
      let ready = false;
      void a.server.ready.then(() => (ready = true));
      // Not ready with an empty registry: reads are refused as when no peer answers.
      await waitFor(async () => (await http(a.server.port, 'GET', '/eureka/apps')).status === 403, 'A to refuse registry reads');
      expect(ready).toBe(false);

      dns.failing = false;
      dns.zone.set(NAME, srvOf(a, b));
      await waitFor(() => ready, 'A to sync once the name resolves', 10_000);
      expect(holds(a, 'known-to-b')).toBe(true);
      expect(peerUrls(a)).toEqual([b.url]);
    });
  });

  describe('A records', () => {
    it('takes each address with the server\'s own port, so a server listed by its own address is alone, and ready at once', async () => {
      dns.zone.set(NAME, { a: ['127.0.0.1'] });
      // Were it waiting for peers, these would keep it unready for hours.
      const alone = await start({ syncFailureMode: 'refuse', syncAttempts: 1000, syncRetryWaitMs: 60_000 }, false);
      let ready = false;
      void alone.server.ready.then(() => (ready = true));
      await waitFor(() => ready, 'the server to be ready');
      await waitFor(() => dns.queries >= 6, 'a few resolutions');
      expect(peerUrls(alone)).toEqual([]);
      expect(alone.logger.messages('warn').filter((m) => m.includes('not among the peer DNS records'))).toEqual([]);
    });
  });
});
