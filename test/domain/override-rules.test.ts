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

  describe('rule 4: a health verdict holds a reported UP DOWN', () => {
    it('returns DOWN from the health check when the client reports UP', () => {
      expect(resolveStatus({ reported: 'UP', healthDown: true, isReplication: false })).toEqual({ status: 'DOWN', source: 'health' });
      expect(resolveStatus({ reported: 'UP', healthDown: true, isReplication: true })).toEqual({ status: 'DOWN', source: 'health' });
    });

    it('lets an operator override win over the health verdict', () => {
      expect(resolveStatus({ reported: 'UP', override: 'UP', healthDown: true, isReplication: false })).toEqual({ status: 'UP', source: 'override' });
    });

    it('keeps a stored operator-set status over the health verdict for client writes', () => {
      expect(resolveStatus({ reported: 'UP', existing: { status: 'OUT_OF_SERVICE', source: 'override' }, healthDown: true, isReplication: false })).toEqual({
        status: 'OUT_OF_SERVICE',
        source: 'override',
      });
    });

    it.each(['OUT_OF_SERVICE', 'STARTING', 'DOWN'] as const)('believes a reported %s (the instance says more than the probe)', (reported) => {
      expect(resolveStatus({ reported, healthDown: true, isReplication: false })).toEqual({ status: reported, source: 'client' });
    });
  });

  describe('rule 5: default', () => {
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
