// The VIP index: names per address field, registry order, and re-indexing on re-registration and removal.
import { VipIndex } from '../../src/domain/vip-index';

describe('VipIndex', () => {
  describe('lookup', () => {
    it('finds a value under each comma-separated entry of its vipAddress', () => {
      const index = new VipIndex<string>();
      index.put('ORDERS', 'o-1', 'o-1', 'orders,orders-canary', undefined);
      expect(index.lookup('vip', 'orders')).toEqual(['o-1']);
      expect(index.lookup('vip', 'orders-canary')).toEqual(['o-1']);
      expect(index.lookup('vip', 'orders,orders-canary')).toEqual([]);
    });

    it('matches exactly: case-sensitive and untrimmed', () => {
      const index = new VipIndex<string>();
      index.put('BILLING', 'b-1', 'b-1', 'billing, orders', undefined);
      expect(index.lookup('vip', 'orders')).toEqual([]);
      expect(index.lookup('vip', ' orders')).toEqual(['b-1']);
      expect(index.lookup('vip', 'BILLING')).toEqual([]);
    });

    it('keeps vipAddress and secureVipAddress apart', () => {
      const index = new VipIndex<string>();
      index.put('ORDERS', 'o-1', 'o-1', 'orders', 'orders-secure');
      expect(index.lookup('svip', 'orders-secure')).toEqual(['o-1']);
      expect(index.lookup('svip', 'orders')).toEqual([]);
      expect(index.lookup('vip', 'orders-secure')).toEqual([]);
    });

    it('lists a value once when its entry is repeated', () => {
      const index = new VipIndex<string>();
      index.put('ORDERS', 'o-1', 'o-1', 'orders,orders', undefined);
      expect(index.lookup('vip', 'orders')).toEqual(['o-1']);
      index.delete('ORDERS', 'o-1');
      expect(index.names).toBe(0);
    });

    it('answers apps in the order they appeared, then instances in the order they first registered', () => {
      const index = new VipIndex<string>();
      index.put('A', 'a-1', 'a-1', 'other', undefined);
      index.put('B', 'b-1', 'b-1', 'shared', undefined);
      index.put('A', 'a-2', 'a-2', 'shared', undefined);
      // a-1 re-registers into the VIP: it keeps its place ahead of a-2.
      index.put('A', 'a-1', 'a-1', 'shared', undefined);
      expect(index.lookup('vip', 'shared')).toEqual(['a-1', 'a-2', 'b-1']);
    });
  });

  describe('put', () => {
    it('moves a re-registered value from its old names to its new ones', () => {
      const index = new VipIndex<string>();
      index.put('ORDERS', 'o-1', 'first', 'old,kept', 'old-secure');
      index.put('ORDERS', 'o-1', 'second', 'kept,new', undefined);
      expect(index.lookup('vip', 'old')).toEqual([]);
      expect(index.lookup('svip', 'old-secure')).toEqual([]);
      expect(index.lookup('vip', 'kept')).toEqual(['second']);
      expect(index.lookup('vip', 'new')).toEqual(['second']);
      expect(index.names).toBe(2);
    });
  });

  describe('delete', () => {
    it('forgets the value under every name and drops names left empty', () => {
      const index = new VipIndex<string>();
      index.put('ORDERS', 'o-1', 'o-1', 'orders,canary', 'secure');
      index.put('ORDERS', 'o-2', 'o-2', 'orders', undefined);
      index.delete('ORDERS', 'o-1');
      expect(index.lookup('vip', 'orders')).toEqual(['o-2']);
      expect(index.lookup('vip', 'canary')).toEqual([]);
      expect(index.names).toBe(1);
    });

    it('sends an app that lost every instance to the back when it returns', () => {
      const index = new VipIndex<string>();
      index.put('A', 'a-1', 'a-1', 'shared', undefined);
      index.put('B', 'b-1', 'b-1', 'shared', undefined);
      index.delete('A', 'a-1');
      index.put('A', 'a-1', 'a-1', 'shared', undefined);
      expect(index.lookup('vip', 'shared')).toEqual(['b-1', 'a-1']);
    });

    it('ignores an instance it does not hold', () => {
      const index = new VipIndex<string>();
      index.put('A', 'a-1', 'a-1', 'shared', undefined);
      index.delete('A', 'nope');
      index.delete('NOPE', 'a-1');
      expect(index.lookup('vip', 'shared')).toEqual(['a-1']);
    });
  });
});
