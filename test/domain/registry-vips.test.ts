// VIP lookups through the Registry: the index follows registration, re-registration, cancel and eviction, and
// answers what a scan of every lease answers, in the same order.
import { Lease } from '../../src/domain/lease';
import { Registry } from '../../src/domain/registry';
import { makeInstance } from '../helpers/instances';
import { seededRandom } from '../helpers/random';
import { makeRegistry } from './registry-fixture';

const ids = (leases: readonly Lease[]): string[] => leases.map((l) => l.record.instance.id);

// What VIP reads answered before the index: every lease in registry order whose list has the exact entry.
function scan(registry: Registry, kind: 'vip' | 'svip', name: string): Lease[] {
  return [...registry.leases()].filter((l) => {
    const vips = kind === 'vip' ? l.record.instance.vipAddress : l.record.instance.secureVipAddress;
    return vips !== undefined && vips.split(',').includes(name);
  });
}

describe('Registry', () => {
  describe('byVip', () => {
    it('follows a re-registration that changes vipAddress', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ id: 'o-1', vipAddress: 'orders,orders-canary', lastDirtyTimestamp: 1 }));
      registry.register(makeInstance({ id: 'o-1', vipAddress: 'orders-v2', lastDirtyTimestamp: 2 }));
      expect(ids(registry.byVip('vip', 'orders'))).toEqual([]);
      expect(ids(registry.byVip('vip', 'orders-canary'))).toEqual([]);
      expect(ids(registry.byVip('vip', 'orders-v2'))).toEqual(['o-1']);
      expect(registry.byVip('vip', 'orders-v2')[0]).toBe(registry.lease('ORDERS', 'o-1'));
    });

    it('keeps the stored addresses when the stored copy is newer than the re-registration', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ id: 'o-1', vipAddress: 'orders', lastDirtyTimestamp: 5 }));
      registry.register(makeInstance({ id: 'o-1', vipAddress: 'elsewhere', lastDirtyTimestamp: 1 }));
      expect(ids(registry.byVip('vip', 'orders'))).toEqual(['o-1']);
      expect(ids(registry.byVip('vip', 'elsewhere'))).toEqual([]);
    });

    it('drops a cancelled instance', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ id: 'o-1', secureVipAddress: 'orders-secure' }));
      registry.register(makeInstance({ id: 'o-2', secureVipAddress: 'orders-secure' }));
      registry.cancel('ORDERS', 'o-1');
      expect(ids(registry.byVip('svip', 'orders-secure'))).toEqual(['o-2']);
    });

    it('drops an evicted instance', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ id: 'o-1' }));
      registry.evict('ORDERS', 'o-1');
      expect(registry.byVip('vip', 'orders')).toEqual([]);
    });

    it('follows status and metadata changes, which keep the lease', () => {
      const { registry } = makeRegistry();
      registry.register(makeInstance({ id: 'o-1' }));
      registry.statusUpdate('ORDERS', 'o-1', 'OUT_OF_SERVICE', undefined);
      registry.updateMetadata('ORDERS', 'o-1', { k: 'v' });
      const [lease] = registry.byVip('vip', 'orders');
      expect(lease.record.instance).toMatchObject({ status: 'OUT_OF_SERVICE', metadata: { k: 'v' } });
    });

    it('answers what a scan of every lease answers, in the same order, through random churn', () => {
      const { registry } = makeRegistry({ maxInstancesPerApp: 1000 });
      const random = seededRandom(7);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
      const apps = ['A', 'B', 'C', 'D'];
      const lists = [undefined, 'x', 'y', 'x,y', 'y,x', ' x', 'x,x', 'z,X'];
      for (let step = 0; step < 2000; step++) {
        const app = pick(apps);
        const id = `i-${Math.floor(random() * 12)}`;
        const roll = random();
        if (roll < 0.6) registry.register(makeInstance({ app, id, vipAddress: pick(lists), secureVipAddress: pick(lists), lastDirtyTimestamp: step }));
        else if (roll < 0.8) registry.cancel(app, id);
        else registry.evict(app, id);
        if (step % 50 === 0) {
          for (const name of ['x', 'y', ' x', 'X', 'z']) {
            expect(ids(registry.byVip('vip', name))).toEqual(ids(scan(registry, 'vip', name)));
            expect(ids(registry.byVip('svip', name))).toEqual(ids(scan(registry, 'svip', name)));
          }
        }
      }
    });
  });
});
