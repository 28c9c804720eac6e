import { Lease } from '../../src/domain/lease';
import { InstanceRecord } from '../../src/domain/model';
import { makeInstance } from '../helpers/instances';

const T0 = 1_700_000_000_000;

function makeLease(durationMs = 90_000, lastRenewal = T0): Lease {
  const record: InstanceRecord = {
    instance: makeInstance(),
    statusSource: 'client',
    actionType: 'ADDED',
    lastUpdatedTimestamp: lastRenewal,
    registrationTimestamp: lastRenewal,
    serviceUpTimestamp: lastRenewal,
    evictionTimestamp: 0,
    revision: 1,
  };
  return new Lease(record, lastRenewal, durationMs);
}

describe('Lease', () => {
  describe('isExpired', () => {
    it('is not expired exactly at lastRenewal + duration', () => {
      expect(makeLease(90_000).isExpired(T0 + 90_000)).toBe(false);
    });

    it('is expired 1 ms after lastRenewal + duration', () => {
      expect(makeLease(90_000).isExpired(T0 + 90_001)).toBe(true);
    });

    it('uses its own duration, not a fixed 90 s', () => {
      const lease = makeLease(30_000);
      expect(lease.isExpired(T0 + 30_000)).toBe(false);
      expect(lease.isExpired(T0 + 30_001)).toBe(true);
    });

    it('adds extraMs as grace when given', () => {
      const lease = makeLease(90_000);
      expect(lease.isExpired(T0 + 100_000, 10_000)).toBe(false);
      expect(lease.isExpired(T0 + 100_001, 10_000)).toBe(true);
    });

    it('expires one duration after a renewal, not two (honest expiry)', () => {
      const lease = makeLease(90_000);
      lease.renew(T0 + 60_000);
      expect(lease.isExpired(T0 + 150_000)).toBe(false);
      expect(lease.isExpired(T0 + 150_001)).toBe(true);
    });
  });

  describe('renew', () => {
    it('sets lastRenewalTimestamp to now without adding the duration', () => {
      const lease = makeLease(90_000);
      lease.renew(T0 + 5_000);
      expect(lease.lastRenewalTimestamp).toBe(T0 + 5_000);
    });

    it('keeps the record unchanged', () => {
      const lease = makeLease();
      const before = lease.record;
      lease.renew(T0 + 5_000);
      expect(lease.record).toBe(before);
    });
  });

  describe('expiresAt', () => {
    it('is lastRenewal + duration and moves with renewals', () => {
      const lease = makeLease(40_000);
      expect(lease.expiresAt()).toBe(T0 + 40_000);
      lease.renew(T0 + 1_000);
      expect(lease.expiresAt()).toBe(T0 + 41_000);
    });
  });

  describe('snapshot', () => {
    it('does not follow later heartbeats or record changes', () => {
      const lease = makeLease();
      const snap = lease.snapshot();
      const original = lease.record;
      lease.renew(T0 + 30_000);
      lease.record = { ...original, revision: 2 };
      expect(snap.lastRenewalTimestamp).toBe(T0);
      expect(snap.record).toBe(original);
    });
  });
});
