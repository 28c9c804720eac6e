// Peer DNS answers turned into peers (a resolver faked from a table), and the peer set they update.
import { PeerDiscovery, PeerResolver, resolvePeerDns, SelfIdentity } from '../../src/config/peer-dns';
import { PeerChange, PeerMembership } from '../../src/config/peer-membership';
import { RecordingLogger } from '../helpers/replication-fixtures';

const NAME = 'zone-registry-peers.ns.svc.cluster.local';

/** A resolver answering from tables; a missing entry fails as a name without such records (ENODATA). */
function fakeResolver(tables: { srv?: Record<string, { name: string; port: number }[]>; a?: Record<string, string[]>; aaaa?: Record<string, string[]> }, failure?: string): PeerResolver {
  const answer = <T>(table: Record<string, T[]> | undefined, name: string): Promise<T[]> => {
    if (failure !== undefined) return Promise.reject(Object.assign(new Error(`query ${failure} ${name}`), { code: failure }));
    const found = table?.[name];
    return found === undefined ? Promise.reject(Object.assign(new Error(`queryX ENODATA ${name}`), { code: 'ENODATA' })) : Promise.resolve(found);
  };
  return { resolveSrv: (n) => answer(tables.srv, n), resolve4: (n) => answer(tables.a, n), resolve6: (n) => answer(tables.aaaa, n) };
}

const pod = (i: number): string => `zone-registry-${i}.zone-registry-peers.ns.svc.cluster.local`;
const self = (overrides: Partial<SelfIdentity> = {}): SelfIdentity => ({ port: 8761, hosts: new Set(['zone-registry-0', '10.0.0.10', '127.0.0.1', 'localhost']), ...overrides });

describe('resolvePeerDns', () => {
  describe('SRV records', () => {
    it('makes a peer of every target and port but its own, found by its address', async () => {
      const resolver = fakeResolver({
        srv: { [NAME]: [0, 1, 2].map((i) => ({ name: pod(i), port: 8761 })) },
        a: { [pod(0)]: ['10.0.0.10'], [pod(1)]: ['10.0.0.11'], [pod(2)]: ['10.0.0.12'] },
      });
      const answer = await resolvePeerDns(resolver, NAME, 'http', self({ hosts: new Set(['10.0.0.10']) }));
      expect(answer).toEqual({
        kind: 'peers',
        selfListed: true,
        peers: [
          { url: `http://${pod(1)}:8761/eureka/`, addresses: ['10.0.0.11'] },
          { url: `http://${pod(2)}:8761/eureka/`, addresses: ['10.0.0.12'] },
        ],
      });
    });

    it('finds itself by its pod host name when its own record does not resolve, and only at its own port', async () => {
      const resolver = fakeResolver({ srv: { [NAME]: [{ name: `${pod(0)}.`, port: 8761 }, { name: pod(0), port: 9999 }, { name: pod(1), port: 8761 }] } });
      const answer = await resolvePeerDns(resolver, NAME, 'https', self());
      expect(answer).toEqual({
        kind: 'peers',
        selfListed: true,
        peers: [
          { url: `https://${pod(0)}:9999/eureka/`, addresses: [] },
          { url: `https://${pod(1)}:8761/eureka/`, addresses: [] },
        ],
      });
    });

    it('says so when it is not among the records', async () => {
      const answer = await resolvePeerDns(fakeResolver({ srv: { [NAME]: [{ name: pod(1), port: 8761 }] } }), NAME, 'http', self());
      expect(answer).toMatchObject({ kind: 'peers', selfListed: false, peers: [{ url: `http://${pod(1)}:8761/eureka/` }] });
    });
  });

  describe('A and AAAA records', () => {
    it('uses them with its own port when the name has no SRV records, bracketing IPv6', async () => {
      const resolver = fakeResolver({ a: { [NAME]: ['10.0.0.10', '10.0.0.11'] }, aaaa: { [NAME]: ['FD00::B'] } });
      const answer = await resolvePeerDns(resolver, NAME, 'http', self());
      expect(answer).toEqual({
        kind: 'peers',
        selfListed: true,
        peers: [
          { url: 'http://10.0.0.11:8761/eureka/', addresses: [] },
          { url: 'http://[fd00::b]:8761/eureka/', addresses: [] },
        ],
      });
    });
  });

  describe('failures', () => {
    it('fails on a DNS error, and on a name with no records at all', async () => {
      expect(await resolvePeerDns(fakeResolver({}, 'ESERVFAIL'), NAME, 'http', self())).toEqual({ kind: 'failed', reason: expect.stringContaining('ESERVFAIL') });
      expect(await resolvePeerDns(fakeResolver({}), NAME, 'http', self())).toEqual({ kind: 'failed', reason: expect.stringContaining('no SRV, A or AAAA records') });
    });
  });
});

describe('PeerMembership', () => {
  describe('setDiscovered', () => {
    it('reports peers that came and went, never drops the config file\'s and never lists one twice', () => {
      const membership = new PeerMembership(['http://fixed:8761/eureka/']);
      const changes: PeerChange[] = [];
      membership.subscribe((c) => changes.push(c));
      const peer = (host: string): { url: string; addresses: string[] } => ({ url: `http://${host}:8761/eureka/`, addresses: [] });

      expect(membership.setDiscovered([peer('b'), peer('c'), peer('fixed'), peer('b')])).toEqual({ added: ['http://b:8761/eureka/', 'http://c:8761/eureka/'], removed: [] });
      expect(membership.urls).toEqual(['http://fixed:8761/eureka/', 'http://b:8761/eureka/', 'http://c:8761/eureka/']);
      membership.setDiscovered([peer('c'), peer('b')]);
      membership.setDiscovered([peer('c')]);
      membership.setDiscovered([]);
      expect(membership.urls).toEqual(['http://fixed:8761/eureka/']);
      expect(changes).toEqual([
        { added: ['http://b:8761/eureka/', 'http://c:8761/eureka/'], removed: [] },
        { added: [], removed: ['http://b:8761/eureka/'] },
        { added: [], removed: ['http://c:8761/eureka/'] },
      ]);
    });

    it('tells listeners when a peer\'s addresses moved, and hands them out by host name', () => {
      const membership = new PeerMembership([]);
      const changes: PeerChange[] = [];
      membership.subscribe((c) => changes.push(c));
      membership.setDiscovered([{ url: `http://${pod(1)}:8761/eureka/`, addresses: ['10.0.0.11'] }]);
      membership.setDiscovered([{ url: `http://${pod(1)}:8761/eureka/`, addresses: ['10.0.0.21'] }]);
      expect(changes).toHaveLength(2);
      expect(changes[1]).toEqual({ added: [], removed: [] });
      expect(membership.learnedAddresses()).toEqual(new Map([[pod(1), ['10.0.0.21']]]));
    });
  });
});

describe('PeerDiscovery', () => {
  describe('refresh', () => {
    it('runs one resolution at a time and applies nothing after close', async () => {
      let calls = 0;
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const base = fakeResolver({ srv: { [NAME]: [{ name: pod(1), port: 8761 }] } });
      const resolver: PeerResolver = { ...base, resolveSrv: async (n) => { calls++; await gate; return base.resolveSrv(n); } };
      const membership = new PeerMembership([]);
      const discovery = new PeerDiscovery(resolver, membership, { name: NAME, scheme: 'http', self: () => self() }, new RecordingLogger());
      const first = discovery.refresh();
      const second = discovery.refresh();
      discovery.close();
      release();
      await Promise.all([first, second]);
      expect(calls).toBe(1);
      expect(membership.urls).toEqual([]);
    });
  });
});
