import { appsHashcode, countStatuses } from '../../src/domain/apps-hashcode';

describe('appsHashcode', () => {
  describe('appsHashcode', () => {
    it('returns an empty string for an empty registry', () => {
      expect(appsHashcode({})).toBe('');
    });

    it('formats a single status as STATUS_count_', () => {
      expect(appsHashcode({ UP: 3 })).toBe('UP_3_');
    });

    it('sorts statuses by name regardless of key order', () => {
      expect(appsHashcode({ UP: 3, DOWN: 1 })).toBe('DOWN_1_UP_3_');
      expect(appsHashcode({ UP: 10, OUT_OF_SERVICE: 2, DOWN: 1 })).toBe('DOWN_1_OUT_OF_SERVICE_2_UP_10_');
    });

    it('drops zero counts', () => {
      expect(appsHashcode({ DOWN: 0, OUT_OF_SERVICE: 0, STARTING: 0, UNKNOWN: 0, UP: 1 })).toBe('UP_1_');
      expect(appsHashcode({ DOWN: 0, UP: 0 })).toBe('');
    });

    it('orders all five statuses lexicographically', () => {
      expect(appsHashcode({ UP: 5, UNKNOWN: 4, STARTING: 3, OUT_OF_SERVICE: 2, DOWN: 1 })).toBe(
        'DOWN_1_OUT_OF_SERVICE_2_STARTING_3_UNKNOWN_4_UP_5_',
      );
    });
  });

  describe('countStatuses', () => {
    it('counts each status occurrence', () => {
      expect(countStatuses(['UP', 'DOWN', 'UP', 'UP'])).toEqual({ UP: 3, DOWN: 1 });
    });

    it('returns no keys for an empty set', () => {
      expect(countStatuses([])).toEqual({});
    });

    it('feeds appsHashcode to give the reconcile hash of a set', () => {
      expect(appsHashcode(countStatuses(['UP', 'OUT_OF_SERVICE', 'UP', 'DOWN', 'OUT_OF_SERVICE']))).toBe('DOWN_1_OUT_OF_SERVICE_2_UP_2_');
    });
  });
});
