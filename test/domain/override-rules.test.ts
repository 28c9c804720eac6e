import { resolveStatus } from '../../src/domain/override-rules';

describe('resolveStatus', () => {
  describe('rule 1: DOWN / STARTING / UNKNOWN reported are believed', () => {
    it.each(['DOWN', 'STARTING', 'UNKNOWN'] as const)('returns %s from the client even when an override exists', (reported) => {
      expect(resolveStatus({ reported, override: 'OUT_OF_SERVICE', isReplication: false })).toEqual({ status: reported, source: 'client' });
    });

    it('believes DOWN over a stored operator-set UP', () => {
      expect(resolveStatus({ reported: 'DOWN', existing: { status: 'UP', source: 'override' }, isReplication: false })).toEqual({
        status: 'DOWN',
        source: 'client',
      });
    });
  });

  describe('rule 2: an operator override wins over UP / OUT_OF_SERVICE', () => {
    it('returns the override when the client reports UP', () => {
      expect(resolveStatus({ reported: 'UP', override: 'OUT_OF_SERVICE', isReplication: false })).toEqual({ status: 'OUT_OF_SERVICE', source: 'override' });
    });

    it('returns the override when the client reports OUT_OF_SERVICE', () => {
      expect(resolveStatus({ reported: 'OUT_OF_SERVICE', override: 'UP', isReplication: false })).toEqual({ status: 'UP', source: 'override' });
    });

    it('applies to replicated writes too', () => {
      expect(resolveStatus({ reported: 'UP', override: 'OUT_OF_SERVICE', isReplication: true })).toEqual({ status: 'OUT_OF_SERVICE', source: 'override' });
    });

    it('takes precedence over the stored status', () => {
      expect(
        resolveStatus({ reported: 'UP', override: 'UP', existing: { status: 'OUT_OF_SERVICE', source: 'override' }, isReplication: false }),
      ).toEqual({ status: 'UP', source: 'override' });
    });
  });

  describe('rule 3: lease exists (client writes only)', () => {
    it('keeps a stored operator-set OUT_OF_SERVICE when the client reports UP', () => {
      expect(resolveStatus({ reported: 'UP', existing: { status: 'OUT_OF_SERVICE', source: 'override' }, isReplication: false })).toEqual({
        status: 'OUT_OF_SERVICE',
        source: 'override',
      });
    });

    it('keeps a stored operator-set UP when the client reports OUT_OF_SERVICE', () => {
      expect(resolveStatus({ reported: 'OUT_OF_SERVICE', existing: { status: 'UP', source: 'override' }, isReplication: false })).toEqual({
        status: 'UP',
        source: 'override',
      });
    });

    it('is skipped for replicated registrations', () => {
      expect(resolveStatus({ reported: 'UP', existing: { status: 'OUT_OF_SERVICE', source: 'override' }, isReplication: true })).toEqual({
        status: 'UP',
        source: 'client',
      });
    });

    it('lets a client that reported OUT_OF_SERVICE itself come back UP (not sticky)', () => {
      expect(resolveStatus({ reported: 'UP', existing: { status: 'OUT_OF_SERVICE', source: 'client' }, isReplication: false })).toEqual({
        status: 'UP',
        source: 'client',
      });
    });

    it('does not keep a stored operator-set status other than UP / OUT_OF_SERVICE', () => {
      expect(resolveStatus({ reported: 'UP', existing: { status: 'DOWN', source: 'override' }, isReplication: false })).toEqual({
        status: 'UP',
        source: 'client',
      });
    });
  });

  describe('rule 4: default', () => {
    it('returns the reported status for a new instance', () => {
      expect(resolveStatus({ reported: 'UP', isReplication: false })).toEqual({ status: 'UP', source: 'client' });
      expect(resolveStatus({ reported: 'OUT_OF_SERVICE', isReplication: false })).toEqual({ status: 'OUT_OF_SERVICE', source: 'client' });
    });

    it('lets a client come back UP after DOWN', () => {
      expect(resolveStatus({ reported: 'UP', existing: { status: 'DOWN', source: 'client' }, isReplication: false })).toEqual({
        status: 'UP',
        source: 'client',
      });
    });
  });
});
