import { AddressSet, canonicalAddress, parseAddressList } from '../../src/codecs/address-set';

const entries = (text: string) => {
  const parsed = parseAddressList(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.entries;
};

describe('address set', () => {
  describe('canonicalAddress', () => {
    it.each([
      ['127.0.0.1', '127.0.0.1'],
      ['::1', '::1'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['FD00:0:0:0:0:0:0:7', 'fd00::7'],
      ['::ffff:10.0.0.5', '10.0.0.5'],
      ['::ffff:a00:5', '10.0.0.5'],
      ['fe80::1%eth0', 'fe80::1'],
    ])('spells %s as %s', (input, expected) => {
      expect(canonicalAddress(input)).toBe(expected);
    });

    it.each(['', 'localhost', '10.0.0', '10.0.0.256', '::g', '10.0.0.0/8'])('answers undefined for %j', (input) => {
      expect(canonicalAddress(input)).toBeUndefined();
    });
  });

  describe('parseAddressList', () => {
    it('reads addresses and CIDR ranges, ignoring spaces and empty items', () => {
      expect(parseAddressList(' 10.0.0.5, ,10.1.0.0/16,fd00::/8 ,')).toEqual({
        entries: [{ address: '10.0.0.5' }, { network: '10.1.0.0', prefixBits: 16, family: 4 }, { network: 'fd00::', prefixBits: 8, family: 6 }],
      });
    });

    it('reads an empty setting as no entries', () => {
      expect(parseAddressList('')).toEqual({ entries: [] });
    });

    it.each(['peer-b.internal', '10.0.0.0/33', '10.0.0.0/', 'fd00::/129', '10.0.0.0/8/8', '10.0.0.0/x'])('names the bad entry %j', (bad) => {
      expect(parseAddressList(`10.0.0.5, ${bad}`)).toEqual({ error: `"${bad}" is not an IP address or CIDR range` });
    });
  });

  describe('has', () => {
    it('matches exact addresses, also as a dual-stack listener reports IPv4 clients', () => {
      const set = new AddressSet(entries('127.0.0.1, ::1'));
      expect(set.has('127.0.0.1')).toBe(true);
      expect(set.has('::ffff:127.0.0.1')).toBe(true);
      expect(set.has('::1')).toBe(true);
      expect(set.has('127.0.0.2')).toBe(false);
      expect(set.has('::2')).toBe(false);
    });

    it('matches addresses inside CIDR ranges and nothing outside them', () => {
      const set = new AddressSet(entries('10.1.0.0/16, fd00::/8'));
      expect(set.has('10.1.200.3')).toBe(true);
      expect(set.has('::ffff:10.1.0.1')).toBe(true);
      expect(set.has('fd12::3')).toBe(true);
      expect(set.has('10.2.0.1')).toBe(false);
      expect(set.has('fe80::1')).toBe(false);
    });

    it('matches nothing when empty, nor a closed socket (no address) or garbage', () => {
      expect(new AddressSet([]).has('127.0.0.1')).toBe(false);
      const set = new AddressSet(entries('0.0.0.0/0'));
      expect(set.has(undefined)).toBe(false);
      expect(set.has('not an address')).toBe(false);
      expect(set.has('192.0.2.1')).toBe(true);
    });
  });
});
