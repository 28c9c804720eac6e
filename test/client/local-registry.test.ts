// The client's registry copy: deltas applied by instance id within their app (many instances per app), hashcode,
// VIP index, and the differences that become events. Contrasted with eureka-js-client 4.5.0, whose delta handling
// replaces or removes the wrong element of an app with several instances.
import { Eureka } from 'eureka-js-client';
import { diffSnapshots, RegistrySnapshot } from '../../src/client/local-registry';
import { inst } from './helpers';

const ids = (list: readonly { id: string }[]): string[] => list.map((i) => i.id);

/** Ten ORDERS instances o-0 … o-9 and two BILLING instances. */
function tenOrders(): RegistrySnapshot {
  return RegistrySnapshot.of(
    [...Array.from({ length: 10 }, (_, n) => inst({ id: `o-${n}`, port: 8000 + n })), inst({ id: 'b-0', app: 'billing' }), inst({ id: 'b-1', app: 'billing' })],
    5,
  );
}

describe('RegistrySnapshot.withDelta', () => {
  it('MODIFIED replaces exactly the instance with that id, in an app with many instances', () => {
    const before = tenOrders();
    const after = before.withDelta([inst({ id: 'o-7', port: 8007, status: 'DOWN', actionType: 'MODIFIED', lastDirtyTimestamp: 2 })], 6);
    expect(ids(after.application('ORDERS'))).toEqual(ids(before.application('ORDERS')));
    expect(after.instance('ORDERS', 'o-7')?.status).toBe('DOWN');
    for (const i of after.application('ORDERS')) if (i.id !== 'o-7') expect(i.status).toBe('UP');
    // The old snapshot is untouched; the untouched app is shared.
    expect(before.instance('ORDERS', 'o-7')?.status).toBe('UP');
    expect(after.apps.get('BILLING')).toBe(before.apps.get('BILLING'));
    expect(after.versionsDelta).toBe(6);
  });

  it('DELETED removes exactly the instance with that id', () => {
    const after = tenOrders().withDelta([inst({ id: 'o-3', port: 8003, actionType: 'DELETED' }), inst({ id: 'o-9', port: 8009, actionType: 'DELETED' })], 6);
    expect(ids(after.application('orders'))).toEqual(['o-0', 'o-1', 'o-2', 'o-4', 'o-5', 'o-6', 'o-7', 'o-8']);
    expect(ids(after.application('BILLING'))).toEqual(['b-0', 'b-1']);
  });

  it('ADDED adds a new instance (creating its app) and replaces one it already holds', () => {
    const after = tenOrders().withDelta(
      [inst({ id: 'o-10', actionType: 'ADDED' }), inst({ id: 'o-2', status: 'STARTING', actionType: 'ADDED' }), inst({ id: 'p-0', app: 'payments', actionType: 'ADDED' })],
      6,
    );
    expect(after.application('ORDERS')).toHaveLength(11);
    expect(after.instance('ORDERS', 'o-2')?.status).toBe('STARTING');
    expect(ids(after.application('PAYMENTS'))).toEqual(['p-0']);
  });

  it('applies a mixed delta in order; deleting an unknown instance changes nothing', () => {
    const after = tenOrders().withDelta(
      [
        inst({ id: 'o-5', actionType: 'DELETED' }),
        inst({ id: 'o-6', status: 'OUT_OF_SERVICE', actionType: 'MODIFIED' }),
        inst({ id: 'o-5', actionType: 'ADDED', port: 9005 }),
        inst({ id: 'nope', actionType: 'DELETED' }),
        inst({ id: 'x', app: 'ghost', actionType: 'DELETED' }),
      ],
      6,
    );
    expect(after.application('ORDERS')).toHaveLength(10);
    expect(after.instance('ORDERS', 'o-5')?.port.port).toBe(9005);
    expect(after.instance('ORDERS', 'o-6')?.status).toBe('OUT_OF_SERVICE');
    expect(after.apps.has('GHOST')).toBe(false);
  });

  it('keeps an app whose last instance left (as the Java client does)', () => {
    const after = RegistrySnapshot.of([inst({ id: 'a' })], 1).withDelta([inst({ id: 'a', actionType: 'DELETED' })], 2);
    expect(after.apps.has('ORDERS')).toBe(true);
    expect(after.application('ORDERS')).toEqual([]);
    expect(after.size).toBe(0);
  });
});

describe('RegistrySnapshot hashcode and lookups', () => {
  it('counts every status it holds, as apps__hashcode does', () => {
    const s = RegistrySnapshot.of([inst({ id: 'a' }), inst({ id: 'b', status: 'DOWN' }), inst({ id: 'c', app: 'x' }), inst({ id: 'd', status: 'OUT_OF_SERVICE' })], 1);
    expect(s.hashcode()).toBe('DOWN_1_OUT_OF_SERVICE_1_UP_2_');
    expect(RegistrySnapshot.empty().hashcode()).toBe('');
    expect(s.withDelta([inst({ id: 'b', actionType: 'MODIFIED' })], 2).hashcode()).toBe('OUT_OF_SERVICE_1_UP_3_');
  });

  it('indexes comma-separated VIPs case-insensitively, plain and secure apart', () => {
    const s = RegistrySnapshot.of(
      [inst({ id: 'a', vip: 'orders.vip,Shared.VIP' }), inst({ id: 'b', app: 'billing', vip: 'shared.vip' }), { ...inst({ id: 'c', app: 'sec' }), secureVipAddress: 'secure.vip' }],
      1,
    );
    expect(ids(s.byVip('SHARED.vip'))).toEqual(['b', 'a']); // sorted by app, then id
    expect(ids(s.byVip('orders.vip'))).toEqual(['a']);
    expect(ids(s.byVip('secure.vip', true))).toEqual(['c']);
    expect(s.byVip('secure.vip')).toEqual([]);
    expect(s.byVip('unknown')).toEqual([]);
  });
});

describe('diffSnapshots', () => {
  it('reports added, removed, status changes and other modifications', () => {
    const before = RegistrySnapshot.of([inst({ id: 'a' }), inst({ id: 'b' }), inst({ id: 'c' }), inst({ id: 'd' })], 1);
    const after = before.withDelta(
      [
        inst({ id: 'a', actionType: 'DELETED' }),
        inst({ id: 'b', status: 'DOWN', actionType: 'MODIFIED', lastDirtyTimestamp: 2 }),
        inst({ id: 'c', metadata: { k: 'v' }, actionType: 'MODIFIED', lastDirtyTimestamp: 2 }),
        inst({ id: 'd', actionType: 'MODIFIED' }), // same content: no change
        inst({ id: 'e', actionType: 'ADDED' }),
      ],
      2,
    );
    const changes = diffSnapshots(before, after).map((c) => `${c.type}:${c.instance.id}${c.type === 'statusChanged' ? `:${c.previous}` : ''}`);
    expect(changes.sort()).toEqual(['added:e', 'modified:c', 'removed:a', 'statusChanged:b:UP']);
    expect(diffSnapshots(after, after)).toEqual([]);
  });
});

describe('eureka-js-client 4.5.0 handleDelta (for contrast)', () => {
  // The same delta applied by eureka-js-client's cache code: it finds the right index, then splices at
  // `cache.vip[instance.vipAddress]` (an array, i.e. index 0) and so replaces or removes the app's first instance.
  const quiet = { error() {}, warn() {}, info() {}, debug() {} };
  const client = new Eureka({
    logger: quiet,
    cwd: __dirname,
    eureka: { host: '127.0.0.1', port: 1, servicePath: '/eureka/apps/' },
    instance: { app: 'x', hostName: 'x', ipAddr: '127.0.0.1', port: { $: 1, '@enabled': true }, vipAddress: 'x', dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' } },
  }) as unknown as { handleDelta(cache: JsCache, apps: unknown): void };
  type JsInstance = { app: string; hostName: string; port: { $: number }; vipAddress: string; status: string; actionType?: string };
  type JsCache = { app: Record<string, JsInstance[]>; vip: Record<string, JsInstance[]> };
  const js = (n: number, status = 'UP', actionType?: string): JsInstance => ({ app: 'ORDERS', hostName: `o-${n}`, port: { $: 8000 + n }, vipAddress: 'orders', status, actionType });
  const cacheOfFive = (): JsCache => {
    const list = [0, 1, 2, 3, 4].map((n) => js(n));
    return { app: { ORDERS: [...list] }, vip: { orders: [...list] } };
  };

  it('MODIFIED of the fourth instance overwrites the first one in the app cache', () => {
    const cache = cacheOfFive();
    client.handleDelta(cache, [{ name: 'ORDERS', instance: [js(3, 'DOWN', 'MODIFIED')] }]);
    expect(cache.app.ORDERS.map((i) => `${i.hostName}:${i.status}`)).toEqual(['o-3:DOWN', 'o-1:UP', 'o-2:UP', 'o-3:UP', 'o-4:UP']);
    // This client: the fourth instance changes, the others stay.
    const ours = RegistrySnapshot.of([0, 1, 2, 3, 4].map((n) => inst({ id: `o-${n}` })), 1).withDelta([inst({ id: 'o-3', status: 'DOWN', actionType: 'MODIFIED' })], 2);
    expect(ours.application('ORDERS').map((i) => `${i.id}:${i.status}`)).toEqual(['o-0:UP', 'o-1:UP', 'o-2:UP', 'o-3:DOWN', 'o-4:UP']);
  });

  it('DELETED of the fourth instance removes the first one from the app cache', () => {
    const cache = cacheOfFive();
    client.handleDelta(cache, [{ name: 'ORDERS', instance: [js(3, 'UP', 'DELETED')] }]);
    expect(cache.app.ORDERS.map((i) => i.hostName)).toEqual(['o-1', 'o-2', 'o-3', 'o-4']);
    const ours = RegistrySnapshot.of([0, 1, 2, 3, 4].map((n) => inst({ id: `o-${n}` })), 1).withDelta([inst({ id: 'o-3', actionType: 'DELETED' })], 2);
    expect(ids(ours.application('ORDERS'))).toEqual(['o-0', 'o-1', 'o-2', 'o-4']);
  });
});
