import { instanceJson } from '../../src/codecs/json';
import { encodeReplicationList, OutgoingItem, REPLICATION_ACTIONS } from '../../src/replication/protocol';
import { makeInstance } from '../helpers/instances';
import { makeRegistry } from '../domain/registry-fixture';

/** The instance JSON a Register carries: a registered lease encoded as the server emits it (§4.1). */
function registeredInstanceJson(): string {
  const { registry } = makeRegistry();
  registry.register(makeInstance({ lastDirtyTimestamp: 1717999999000 }));
  return instanceJson(registry.lease('ORDERS', '10.0.0.7:orders:8080')!.snapshot());
}

/** The five items of the §12.4 request example, as the sender builds them. */
function contractItems(instance: string): OutgoingItem[] {
  return [
    { appName: 'ORDERS', id: '10.0.0.7:orders:8080', lastDirtyTimestamp: 1717999999000, status: 'UP', instanceJson: instance, action: 'Register' },
    { appName: 'ORDERS', id: '10.0.0.7:orders:8080', lastDirtyTimestamp: 1717999999000, overriddenStatus: 'OUT_OF_SERVICE', status: 'OUT_OF_SERVICE', action: 'Heartbeat' },
    { appName: 'BILLING', id: '10.0.0.9:billing:8081', action: 'Cancel' },
    { appName: 'ORDERS', id: '10.0.0.8:orders:8080', lastDirtyTimestamp: 1717999990000, status: 'OUT_OF_SERVICE', action: 'StatusUpdate' },
    { appName: 'ORDERS', id: '10.0.0.8:orders:8080', lastDirtyTimestamp: 1717999990000, status: 'UNKNOWN', action: 'DeleteStatusOverride' },
  ];
}

describe('protocol', () => {
  describe('REPLICATION_ACTIONS', () => {
    it('spells the actions exactly as Eureka does, plus MetadataUpdate for zone-registry peers', () => {
      expect([...REPLICATION_ACTIONS]).toEqual(['Register', 'Heartbeat', 'Cancel', 'StatusUpdate', 'DeleteStatusOverride', 'MetadataUpdate']);
    });
  });

  describe('encodeReplicationList', () => {
    it('writes the §12.4 request example with its fields in Java order and nothing else', () => {
      const instance = registeredInstanceJson();
      const body = encodeReplicationList(contractItems(instance));
      expect(body).toBe(
        '{"replicationList":[' +
          `{"appName":"ORDERS","id":"10.0.0.7:orders:8080","lastDirtyTimestamp":1717999999000,"status":"UP","instanceInfo":${instance},"action":"Register"},` +
          '{"appName":"ORDERS","id":"10.0.0.7:orders:8080","lastDirtyTimestamp":1717999999000,"overriddenStatus":"OUT_OF_SERVICE","status":"OUT_OF_SERVICE","action":"Heartbeat"},' +
          '{"appName":"BILLING","id":"10.0.0.9:billing:8081","action":"Cancel"},' +
          '{"appName":"ORDERS","id":"10.0.0.8:orders:8080","lastDirtyTimestamp":1717999990000,"status":"OUT_OF_SERVICE","action":"StatusUpdate"},' +
          '{"appName":"ORDERS","id":"10.0.0.8:orders:8080","lastDirtyTimestamp":1717999990000,"status":"UNKNOWN","action":"DeleteStatusOverride"}' +
          ']}',
      );
    });

    it('produces valid JSON whose root holds only replicationList', () => {
      const parsed = JSON.parse(encodeReplicationList(contractItems(registeredInstanceJson())));
      expect(Object.keys(parsed)).toEqual(['replicationList']);
      expect(parsed.replicationList).toHaveLength(5);
    });

    it('orders every field as appName, id, lastDirtyTimestamp, overriddenStatus, status, instanceInfo, action', () => {
      const item: OutgoingItem = {
        action: 'Register',
        instanceJson: '{"app":"ORDERS"}',
        status: 'UP',
        overriddenStatus: 'OUT_OF_SERVICE',
        lastDirtyTimestamp: 5,
        id: 'x',
        appName: 'ORDERS',
      };
      const [parsed] = JSON.parse(encodeReplicationList([item])).replicationList;
      expect(Object.keys(parsed)).toEqual(['appName', 'id', 'lastDirtyTimestamp', 'overriddenStatus', 'status', 'instanceInfo', 'action']);
    });

    it('writes lastDirtyTimestamp as a JSON number, not a string', () => {
      const [item] = JSON.parse(encodeReplicationList([{ appName: 'ORDERS', id: 'x', lastDirtyTimestamp: 1717999999000, action: 'Heartbeat' }])).replicationList;
      expect(item.lastDirtyTimestamp).toBe(1717999999000);
      expect(typeof item.lastDirtyTimestamp).toBe('number');
    });

    it('writes a lastDirtyTimestamp of 0 rather than omitting it', () => {
      const [item] = JSON.parse(encodeReplicationList([{ appName: 'ORDERS', id: 'x', lastDirtyTimestamp: 0, action: 'Heartbeat' }])).replicationList;
      expect(item).toEqual({ appName: 'ORDERS', id: 'x', lastDirtyTimestamp: 0, action: 'Heartbeat' });
    });

    it('embeds instanceInfo as an object without an instance wrapper, not as a string', () => {
      const instance = registeredInstanceJson();
      const [register] = JSON.parse(encodeReplicationList(contractItems(instance))).replicationList;
      expect(typeof register.instanceInfo).toBe('object');
      expect(register.instanceInfo).not.toHaveProperty('instance');
      expect(register.instanceInfo).toEqual(JSON.parse(instance));
      expect(register.instanceInfo).toMatchObject({ instanceId: '10.0.0.7:orders:8080', app: 'ORDERS', hostName: '10.0.0.7', status: 'UP' });
    });

    it('omits absent fields instead of writing null or undefined', () => {
      const body = encodeReplicationList([{ appName: 'BILLING', id: 'b', action: 'Cancel', status: undefined, overriddenStatus: undefined, lastDirtyTimestamp: undefined, instanceJson: undefined }]);
      expect(body).toBe('{"replicationList":[{"appName":"BILLING","id":"b","action":"Cancel"}]}');
      expect(body).not.toMatch(/null|undefined/);
    });

    it('carries a Heartbeat without an instance body', () => {
      const [, heartbeat] = JSON.parse(encodeReplicationList(contractItems(registeredInstanceJson()))).replicationList;
      expect(heartbeat).not.toHaveProperty('instanceInfo');
      expect(heartbeat).toEqual({ appName: 'ORDERS', id: '10.0.0.7:orders:8080', lastDirtyTimestamp: 1717999999000, overriddenStatus: 'OUT_OF_SERVICE', status: 'OUT_OF_SERVICE', action: 'Heartbeat' });
    });

    it('escapes app names and ids that contain JSON metacharacters', () => {
      const [item] = JSON.parse(encodeReplicationList([{ appName: 'OR"DERS\\', id: 'a\nb"c', action: 'Cancel' }])).replicationList;
      expect(item).toEqual({ appName: 'OR"DERS\\', id: 'a\nb"c', action: 'Cancel' });
    });

    it('writes an empty list for no items', () => {
      expect(encodeReplicationList([])).toBe('{"replicationList":[]}');
    });

    it('keeps the items in the order given', () => {
      const items: OutgoingItem[] = ['c', 'a', 'b'].map((id) => ({ appName: 'ORDERS', id, action: 'Cancel' }));
      const parsed = JSON.parse(encodeReplicationList(items)).replicationList as { id: string }[];
      expect(parsed.map((i) => i.id)).toEqual(['c', 'a', 'b']);
    });
  });
});
