import { HostLookup, PeerAddresses, peerHost } from '../../src/config/peer-addresses';
import { AddressEntry } from '../../src/codecs/address-set';
import { RecordingLogger } from '../helpers/replication-fixtures';

/** A DNS that answers from a table the test edits; a missing name fails like ENOTFOUND. */
function fakeDns(table: Record<string, string[]>): { lookup: HostLookup; calls: string[] } {
  const calls: string[] = [];
  const lookup: HostLookup = async (host) => {
    calls.push(host);
    const addresses = table[host];
    if (addresses === undefined) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    return addresses;
  };
  return { lookup, calls };
}

describe('PeerAddresses', () => {
  describe('peerHost', () => {
    it('takes the host of a peer URL without credentials, brackets or case', () => {
      expect(peerHost('http://peer:secret@Peer-B.Internal:8761/eureka/')).toBe('peer-b.internal');
      expect(peerHost('https://[FD00::7]:8443/eureka/')).toBe('fd00::7');
    });
  });

  describe('has', () => {
    it('knows IP literals of the peer URLs before any lookup, and never looks them up', async () => {
      const dns = fakeDns({});
      const peers = new PeerAddresses(['http://127.0.0.1:8761/eureka/', 'http://[::1]:8762/eureka/'], [], dns.lookup, new RecordingLogger());
      expect(peers.has('127.0.0.1')).toBe(true);
      expect(peers.has('::1')).toBe(true);
      await peers.refresh();
      expect(dns.calls).toEqual([]);
      expect(peers.hasHostNames).toBe(false);
      expect(peers.has('127.0.0.2')).toBe(false);
    });

    it('adds the extra addresses and ranges of peerAllowedAddresses', () => {
      const extra: AddressEntry[] = [{ address: '192.0.2.9' }, { network: '198.51.100.0', prefixBits: 24, family: 4 }];
      const peers = new PeerAddresses(['http://127.0.0.1:8761/eureka/'], extra, fakeDns({}).lookup, new RecordingLogger());
      expect(peers.has('192.0.2.9')).toBe(true);
      expect(peers.has('198.51.100.77')).toBe(true);
      expect(peers.has('192.0.2.10')).toBe(false);
    });
  });

  describe('refresh', () => {
    it('resolves host names to all their addresses', async () => {
      const dns = fakeDns({ 'peer-b.internal': ['10.0.0.5', '::ffff:10.0.0.6', 'fd00::5'] });
      const peers = new PeerAddresses(['http://peer-b.internal:8761/eureka/', 'http://user:pw@peer-b.internal:8762/eureka/'], [], dns.lookup, new RecordingLogger());
      expect(peers.has('10.0.0.5')).toBe(false);
      expect(peers.hasHostNames).toBe(true);
      await peers.refresh();
      expect(dns.calls).toEqual(['peer-b.internal']);
      expect(['10.0.0.5', '10.0.0.6', '::ffff:10.0.0.6', 'fd00::5'].map((a) => peers.has(a))).toEqual([true, true, true, true]);
      expect(peers.has('10.0.0.7')).toBe(false);
    });

    it('follows a name to its new addresses', async () => {
      const table = { 'peer-b.internal': ['10.0.0.5'] };
      const peers = new PeerAddresses(['http://peer-b.internal:8761/eureka/'], [], fakeDns(table).lookup, new RecordingLogger());
      await peers.refresh();
      table['peer-b.internal'] = ['10.0.0.9'];
      await peers.refresh();
      expect(peers.has('10.0.0.9')).toBe(true);
      expect(peers.has('10.0.0.5')).toBe(false);
    });

    it('keeps the last addresses of a name that stops resolving, and says so', async () => {
      const table: Record<string, string[]> = { 'peer-b.internal': ['10.0.0.5'] };
      const logger = new RecordingLogger();
      const peers = new PeerAddresses(['http://peer-b.internal:8761/eureka/'], [], fakeDns(table).lookup, logger);
      await peers.refresh();
      delete table['peer-b.internal'];
      await expect(peers.refresh()).resolves.toBeUndefined();
      expect(peers.has('10.0.0.5')).toBe(true);
      expect(logger.lines).toEqual([
        expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ host: 'peer-b.internal', kept: '10.0.0.5', error: expect.stringContaining('ENOTFOUND') }) }),
      ]);
    });

    it('still knows the other peers when one name never resolves', async () => {
      const peers = new PeerAddresses(['http://gone.internal:8761/eureka/', 'http://peer-c.internal:8761/eureka/', 'http://10.0.0.1:8761/eureka/'], [], fakeDns({ 'peer-c.internal': ['10.0.0.3'] }).lookup, new RecordingLogger());
      await peers.refresh();
      expect(peers.has('10.0.0.3')).toBe(true);
      expect(peers.has('10.0.0.1')).toBe(true);
    });
  });

  describe('update', () => {
    it('follows the peer set: a new literal and the addresses learned for a new name count at once, a dropped peer\'s do not', async () => {
      const dns = fakeDns({ 'zone-registry-1.peers.internal': ['10.0.0.6'] });
      const peers = new PeerAddresses(['http://10.0.0.1:8761/eureka/'], [], dns.lookup, new RecordingLogger());
      peers.update(['http://10.0.0.1:8761/eureka/', 'http://10.0.0.2:8761/eureka/', 'http://zone-registry-1.peers.internal:8761/eureka/'], new Map([['zone-registry-1.peers.internal', ['10.0.0.5']]]));
      expect(peers.has('10.0.0.2')).toBe(true);
      expect(peers.has('10.0.0.5')).toBe(true);
      expect(peers.hasHostNames).toBe(true);
      // The next lookup replaces what was learned.
      await peers.refresh();
      expect(peers.has('10.0.0.6')).toBe(true);
      expect(peers.has('10.0.0.5')).toBe(false);

      peers.update(['http://10.0.0.1:8761/eureka/'], new Map());
      expect(peers.has('10.0.0.1')).toBe(true);
      expect(peers.has('10.0.0.2')).toBe(false);
      expect(peers.has('10.0.0.6')).toBe(false);
      expect(peers.hasHostNames).toBe(false);
    });

    it('does not bring back a peer dropped while its name was being looked up', async () => {
      let answer: (addresses: string[]) => void = () => undefined;
      const lookup: HostLookup = () => new Promise((resolve) => (answer = resolve));
      const peers = new PeerAddresses(['http://peer-b.internal:8761/eureka/'], [], lookup, new RecordingLogger());
      const refreshing = peers.refresh();
      peers.update([], new Map());
      answer(['10.0.0.5']);
      await refreshing;
      expect(peers.has('10.0.0.5')).toBe(false);
    });
  });
});
