import { IncomingMessage } from 'node:http';
import { AddressSet } from '../../src/codecs/address-set';
import { HttpSecurity } from '../../src/security/config';
import { PeerGate } from '../../src/security/peer-gate';
import { CredentialVerifier } from '../../src/security/credentials';
import { RecordingLogger } from '../helpers/replication-fixtures';

const PEERS = new AddressSet([{ address: '10.0.0.5' }]);
const OFF: HttpSecurity = { anonymousReads: true, fullFetchesPerSec: 0, requestsPerClientPerSec: 0, peerAddresses: PEERS, peerAddressCheck: true };
const from = (remoteAddress: string | undefined): IncomingMessage => ({ socket: { remoteAddress } }) as unknown as IncomingMessage;

describe('PeerGate', () => {
  describe('of', () => {
    it('is built when authentication is off and the check on', () => {
      expect(PeerGate.of(OFF, new RecordingLogger())).toBeInstanceOf(PeerGate);
    });

    it.each([
      ['there is no security configuration', undefined],
      ['the check is off (the header is believed from anyone)', { ...OFF, peerAddressCheck: false }],
      ['authentication is on (the peer credential decides)', { ...OFF, verifier: new CredentialVerifier({ users: new Map(), tokens: new Map() } as never) }],
      ['no peer addresses are given', { ...OFF, peerAddresses: undefined }],
    ])('is not built when %s', (_why, security) => {
      expect(PeerGate.of(security, new RecordingLogger())).toBeUndefined();
    });
  });

  describe('admits', () => {
    it('admits peer addresses only, also as a dual-stack listener reports them', () => {
      const gate = PeerGate.of(OFF, new RecordingLogger()) as PeerGate;
      expect([from('10.0.0.5'), from('::ffff:10.0.0.5'), from('10.0.0.6'), from(undefined)].map((r) => gate.admits(r, false, 0))).toEqual([true, true, false, false]);
    });

    it('warns about a refused batch at most once a minute, and never about other refused writes', () => {
      const logger = new RecordingLogger();
      const gate = PeerGate.of(OFF, logger) as PeerGate;
      gate.admits(from('10.0.0.6'), false, 0);
      expect(logger.lines).toEqual([]);
      gate.admits(from('10.0.0.6'), true, 1000);
      gate.admits(from('10.0.0.7'), true, 60_999);
      expect(logger.lines).toEqual([expect.objectContaining({ level: 'warn', fields: { from: '10.0.0.6' } })]);
      gate.admits(from('10.0.0.7'), true, 61_000);
      expect(logger.lines.map((l) => l.fields)).toEqual([{ from: '10.0.0.6' }, { from: '10.0.0.7' }]);
    });
  });
});
