import fc from 'fast-check';
import contractInstance from '../fixtures/contract-4.1-instance.json';
import { instanceJson } from '../../src/codecs/json';
import { applyBatch, BatchOutcome, countListItems } from '../../src/replication/batch-receiver';
import { ReplicationListResponse } from '../../src/replication/protocol';
import { makeInstance } from '../helpers/instances';
import { makeRegistry } from '../domain/registry-fixture';

const LIMITS = { maxNameLength: 255, maxMetadataEntries: 100, maxVipAddresses: 16, defaultRenewalIntervalSecs: 30, defaultDurationSecs: 90 };
const ID = '10.0.0.7:orders:8080';
const MAX_ITEMS = 250;

function setup(options: Parameters<typeof makeRegistry>[0] = {}) {
  const fixture = makeRegistry(options);
  const apply = (body: unknown): BatchOutcome => applyBatch(typeof body === 'string' ? body : JSON.stringify(body), { registry: fixture.registry, clock: fixture.clock, limits: LIMITS, maxItems: MAX_ITEMS });
  /** Applies a list of items and returns their status codes. */
  const codes = (...items: unknown[]): number[] => response(apply({ replicationList: items })).responseList.map((r) => r.statusCode);
  return { ...fixture, apply, codes };
}

/** The instance as a zone-registry peer embeds it in a Register. */
function instanceJsonOf(instance: ReturnType<typeof makeInstance>): unknown {
  const at = 1_700_000_000_000;
  return JSON.parse(instanceJson({ record: { instance, statusSource: 'client', actionType: 'ADDED', lastUpdatedTimestamp: at, registrationTimestamp: at, serviceUpTimestamp: at, evictionTimestamp: 0, revision: 1 }, lastRenewalTimestamp: at }));
}

function response(outcome: BatchOutcome): ReplicationListResponse {
  if ('error' in outcome) throw new Error(`expected a response, got error ${outcome.error}`);
  return outcome.response;
}

/** The instance as a Java peer embeds it in a Register (the §4.1 shape, no wrapper). */
function javaInstance(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...contractInstance.instance, ...overrides };
}

const register = (instanceInfo: unknown, extra: Record<string, unknown> = {}) => ({ appName: 'ORDERS', id: ID, lastDirtyTimestamp: 1717999999000, status: 'UP', instanceInfo, action: 'Register', ...extra });
const heartbeat = (id: string, extra: Record<string, unknown> = {}) => ({ appName: 'ORDERS', id, status: 'UP', action: 'Heartbeat', ...extra });

describe('batch receiver', () => {
  describe('applyBatch', () => {
    describe('with an unreadable body', () => {
      it('answers an error when the body is not JSON', () => {
        expect(setup().apply('{"replicationList": [')).toEqual({ error: 'cannot parse request body' });
      });

      it.each([
        ['an object without replicationList', {}],
        ['a replicationList that is not an array', { replicationList: { action: 'Cancel' } }],
        ['a bare array', [{ action: 'Cancel', appName: 'ORDERS', id: ID }]],
        ['null', null],
        ['a string', 'replicationList'],
      ])('answers an error for %s', (_what, body) => {
        expect(setup().apply(JSON.stringify(body))).toEqual({ error: 'replicationList must be an array' });
      });

      it('changes nothing in the registry', () => {
        const { apply, registry } = setup();
        apply('{"replicationList":[{"action":"Register"');
        expect(registry.size).toBe(0);
      });
    });

    describe('with more items than maxItems (replicationBatchSize)', () => {
      const TOO_MANY = { error: `replicationList holds more than ${MAX_ITEMS} items (replicationBatchSize)` };

      it('refuses the whole batch and applies none of it', () => {
        const { apply, registry } = setup();
        const items = Array.from({ length: MAX_ITEMS + 1 }, (_, i) => register(javaInstance({ instanceId: `i-${i}` }), { id: `i-${i}` }));
        expect(apply({ replicationList: items })).toEqual(TOO_MANY);
        expect(registry.size).toBe(0);
      });

      it('applies a batch of exactly maxItems', () => {
        const { codes, registry } = setup({ maxInstancesPerApp: MAX_ITEMS });
        const items = Array.from({ length: MAX_ITEMS }, (_, i) => register(javaInstance({ instanceId: `i-${i}` }), { id: `i-${i}` }));
        expect(codes(...items)).toEqual(items.map(() => 200));
        expect(registry.size).toBe(MAX_ITEMS);
      });

      it('refuses a body of a million empty items without answering one per item', () => {
        expect(setup().apply(`{"replicationList":[${'{},'.repeat(999_999)}{}]}`)).toEqual(TOO_MANY);
      });
    });

    it('answers an empty list for an empty batch', () => {
      expect(setup().apply({ replicationList: [] })).toEqual({ response: { responseList: [] } });
    });

    it('applies the good items of a mixed batch and answers each failing one with its own code, in order', () => {
      const { apply, registry, events } = setup();
      registry.register(makeInstance({ id: 'stored-newer', lastDirtyTimestamp: 500 }), true);
      registry.register(makeInstance({ id: 'to-cancel' }), true);
      registry.register(makeInstance({ id: 'live', lastDirtyTimestamp: 10 }), true);
      const storedNewer = JSON.parse(instanceJson(registry.lease('ORDERS', 'stored-newer')!));
      events.length = 0;

      const outcome = response(
        apply({
          replicationList: [
            register(javaInstance()),
            heartbeat('nobody', { lastDirtyTimestamp: 1 }),
            register(javaInstance({ hostName: undefined, instanceId: 'no-host' }), { id: 'no-host' }),
            heartbeat('stored-newer', { lastDirtyTimestamp: 100 }),
            { appName: 'ORDERS', id: 'nobody', action: 'Cancel' },
            { appName: 'ORDERS', id: 'to-cancel', action: 'Cancel' },
            heartbeat('live', { lastDirtyTimestamp: 10 }),
            { appName: 'ORDERS', id: 'live', lastDirtyTimestamp: 20, status: 'OUT_OF_SERVICE', action: 'StatusUpdate' },
          ],
        }),
      );

      expect(outcome.responseList).toEqual([
        { statusCode: 200 },
        { statusCode: 404 },
        { statusCode: 400 },
        { statusCode: 409, responseEntity: storedNewer },
        { statusCode: 404 },
        { statusCode: 200 },
        { statusCode: 200 },
        { statusCode: 200 },
      ]);
      expect(registry.lease('ORDERS', ID)).toBeDefined();
      expect(registry.lease('ORDERS', 'no-host')).toBeUndefined();
      expect(registry.lease('ORDERS', 'to-cancel')).toBeUndefined();
      expect(registry.lease('ORDERS', 'live')!.record.instance).toMatchObject({ status: 'OUT_OF_SERVICE', lastDirtyTimestamp: 20 });
      expect(registry.lease('ORDERS', 'stored-newer')!.record.instance.lastDirtyTimestamp).toBe(500);
    });

    it('marks every write it applies as replicated', () => {
      const { apply, registry, events } = setup();
      registry.register(makeInstance({ id: 'live' }), true);
      events.length = 0;
      apply({
        replicationList: [
          register(javaInstance()),
          heartbeat('live'),
          { appName: 'ORDERS', id: 'live', status: 'OUT_OF_SERVICE', action: 'StatusUpdate' },
          { appName: 'ORDERS', id: 'live', status: 'UP', action: 'DeleteStatusOverride' },
          { appName: 'ORDERS', id: 'live', action: 'Cancel' },
        ],
      });
      expect(events.map((e) => e.type)).toEqual(['registered', 'renewed', 'status-updated', 'status-override-deleted', 'cancelled']);
      expect(events.map((e) => ('isReplication' in e ? e.isReplication : undefined))).toEqual([true, true, true, true, true]);
    });

    it('answers 400 for items it cannot read and still applies the others', () => {
      const { codes, registry } = setup();
      registry.register(makeInstance({ id: 'live' }), true);
      expect(
        codes(
          'not an item',
          null,
          [1, 2],
          { appName: 'ORDERS', id: 'live', action: 'Destroy' },
          { appName: 'ORDERS', id: 'live', action: 'cancel' },
          { appName: 'ORDERS', id: 'live', lastDirtyTimestamp: 'yesterday', action: 'Heartbeat' },
          { appName: 'ORDERS', id: 'live', lastDirtyTimestamp: -1, action: 'Heartbeat' },
          { appName: 'ORDERS', id: 'live', lastDirtyTimestamp: 1.5, action: 'Heartbeat' },
          { appName: 'ORDERS', action: 'Heartbeat' },
          { id: 'live', action: 'Heartbeat' },
          heartbeat('live'),
        ),
      ).toEqual([400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 200]);
    });

    it.each([
      ['a status object whose toString is not a function', javaInstance({ status: { toString: 1 } })],
      ['a metadata value wrapping an object whose toString is not a function', javaInstance({ metadata: { k: { $: { toString: 1 } } } })],
      ['a port that is an array', javaInstance({ port: [8080] })],
    ])('answers 400 to a Register with %s and still applies the next item', (_what, instanceInfo) => {
      const { codes, registry } = setup();
      registry.register(makeInstance({ id: 'live' }), true);
      expect(codes(register(instanceInfo), { appName: 'ORDERS', id: 'live', action: 'Cancel' })).toEqual([400, 200]);
      expect(registry.size).toBe(0);
    });

    it('refuses a whole batch holding a Register whose hostName is wrapped in {"$":…} 50 000 levels deep, before parsing it', () => {
      const { apply, registry } = setup();
      registry.register(makeInstance({ id: 'live' }), true);
      const deep = '{"$":'.repeat(50_000) + '"10.0.0.7"' + '}'.repeat(50_000);
      const body = `{"replicationList":[{"appName":"ORDERS","id":"${ID}","action":"Register","instanceInfo":{"instanceId":"${ID}","hostName":${deep},"app":"ORDERS","ipAddr":"10.0.0.7","dataCenterInfo":{"name":"MyOwn"}}},{"appName":"ORDERS","id":"live","action":"Cancel"}]}`;
      expect(apply(body)).toEqual({ error: 'JSON nested too deeply (limit 16)' });
      expect(registry.size).toBe(1);
    });

    it('answers 400 to a Register whose hostName is an object a few levels deep and still applies the next item', () => {
      const { apply, registry } = setup();
      registry.register(makeInstance({ id: 'live' }), true);
      const deep = '{"$":'.repeat(5) + '"10.0.0.7"' + '}'.repeat(5);
      const body = `{"replicationList":[{"appName":"ORDERS","id":"${ID}","action":"Register","instanceInfo":{"instanceId":"${ID}","hostName":${deep},"app":"ORDERS","ipAddr":"10.0.0.7","dataCenterInfo":{"name":"MyOwn"}}},{"appName":"ORDERS","id":"live","action":"Cancel"}]}`;
      expect(response(apply(body)).responseList.map((r) => r.statusCode)).toEqual([400, 200]);
      expect(registry.size).toBe(0);
    });

    it('refuses a whole batch holding one object with more keys than a registration could have, before parsing it', () => {
      const { apply, registry } = setup();
      const keys = Array.from({ length: 100_000 }, (_, i) => `"k${i}":1`).join(',');
      expect(apply(`{"replicationList":[{"appName":"ORDERS","id":"${ID}","action":"Cancel","junk":{${keys}}}]}`)).toEqual({ error: expect.stringMatching(/Too many keys in one JSON object/) });
      expect(registry.size).toBe(0);
    });

    it('accepts lastDirtyTimestamp as a numeric string', () => {
      const { codes, registry } = setup();
      registry.register(makeInstance({ id: 'live', lastDirtyTimestamp: 10 }), true);
      expect(codes(heartbeat('live', { lastDirtyTimestamp: '10' }))).toEqual([200]);
    });

    it('matches app names case-insensitively', () => {
      const { codes, registry } = setup();
      registry.register(makeInstance({ id: 'live' }), true);
      expect(codes({ appName: 'orders', id: 'live', action: 'Heartbeat' })).toEqual([200]);
    });

    it('accepts the §12.4 request example as a Java peer sends it', () => {
      const { apply, registry } = setup();
      registry.register(makeInstance({ id: '10.0.0.8:orders:8080', lastDirtyTimestamp: 1717999980000 }), true);
      registry.register(makeInstance({ id: '10.0.0.9:billing:8081', app: 'BILLING' }), true);
      const body = `{
  "replicationList": [
    {
      "appName": "ORDERS",
      "id": "10.0.0.7:orders:8080",
      "lastDirtyTimestamp": 1717999999000,
      "status": "UP",
      "instanceInfo": ${JSON.stringify(contractInstance.instance)},
      "action": "Register"
    },
    { "appName": "ORDERS", "id": "10.0.0.7:orders:8080", "lastDirtyTimestamp": 1717999999000,
      "overriddenStatus": "OUT_OF_SERVICE", "status": "OUT_OF_SERVICE", "action": "Heartbeat" },
    { "appName": "BILLING", "id": "10.0.0.9:billing:8081", "action": "Cancel" },
    { "appName": "ORDERS", "id": "10.0.0.8:orders:8080", "lastDirtyTimestamp": 1717999990000,
      "status": "OUT_OF_SERVICE", "action": "StatusUpdate" },
    { "appName": "ORDERS", "id": "10.0.0.8:orders:8080", "lastDirtyTimestamp": 1717999990000,
      "status": "UNKNOWN", "action": "DeleteStatusOverride" }
  ]
}`;
      const outcome = response(apply(body));
      expect(JSON.stringify(outcome)).toBe('{"responseList":[{"statusCode":200},{"statusCode":200},{"statusCode":200},{"statusCode":200},{"statusCode":200}]}');
      expect(registry.lease('ORDERS', ID)!.record.instance).toMatchObject({
        id: ID,
        instanceId: ID,
        app: 'ORDERS',
        hostName: '10.0.0.7',
        ipAddr: '10.0.0.7',
        // The Heartbeat item carries the sender's override, which this server did not have: it is applied.
        status: 'OUT_OF_SERVICE',
        overriddenStatus: 'OUT_OF_SERVICE',
        port: { port: 8080, enabled: true },
        securePort: { port: 443, enabled: false },
        dataCenterInfo: { name: 'MyOwn' },
        renewalIntervalSecs: 30,
        durationSecs: 90,
        metadata: { 'management.port': '8080', zone: 'zone-a' },
        vipAddress: 'orders',
        lastDirtyTimestamp: 1717999999000,
      });
      expect(registry.lease('BILLING', '10.0.0.9:billing:8081')).toBeUndefined();
      expect(registry.lease('ORDERS', '10.0.0.8:orders:8080')!.record.instance).toMatchObject({ status: 'UNKNOWN', lastDirtyTimestamp: 1717999990000 });
      expect(registry.statusOverrides().has('ORDERS/10.0.0.8:orders:8080')).toBe(false);
    });

    describe('Register', () => {
      it('installs the instance with a fresh lease and answers 200', () => {
        const { codes, registry, clock } = setup();
        expect(codes(register(javaInstance()))).toEqual([200]);
        const lease = registry.lease('ORDERS', ID)!;
        expect(lease.lastRenewalTimestamp).toBe(clock.now());
        expect(lease.record.registrationTimestamp).toBe(clock.now());
      });

      it('accepts an instance as our own sender encodes it', () => {
        const source = makeRegistry();
        source.registry.register(makeInstance({ metadata: { a: 'b' } }));
        const { codes, registry } = setup();
        expect(codes(register(JSON.parse(instanceJson(source.registry.lease('ORDERS', ID)!))))).toEqual([200]);
        expect(registry.lease('ORDERS', ID)!.record.instance.metadata).toEqual({ a: 'b' });
      });

      it.each([
        ['no instanceInfo', undefined],
        ['an instanceInfo that is not an object', 'instance'],
        ['a missing hostName', javaInstance({ hostName: undefined })],
        ['a missing dataCenterInfo', javaInstance({ dataCenterInfo: undefined })],
        ['an unreadable port', javaInstance({ port: { $: 'http', '@enabled': 'true' } })],
        ['an unknown status', javaInstance({ status: 'SLEEPING' })],
        ['a name longer than the limit', javaInstance({ instanceId: 'x'.repeat(300) })],
        ['more VIP names than the limit', javaInstance({ vipAddress: Array.from({ length: 17 }, (_, n) => `v${n}`).join(',') })],
      ])('answers 400 for an instance with %s and installs nothing', (_what, instanceInfo) => {
        const { codes, registry } = setup();
        expect(codes(register(instanceInfo))).toEqual([400]);
        expect(registry.size).toBe(0);
      });

      it('answers 400 when the app is full', () => {
        const { codes, registry } = setup({ maxInstancesPerApp: 1 });
        registry.register(makeInstance({ id: 'first' }), true);
        expect(codes(register(javaInstance()))).toEqual([400]);
      });

      it('keeps a stored copy that is newer than the incoming one', () => {
        const { codes, registry } = setup();
        registry.register(makeInstance({ lastDirtyTimestamp: 1717999999999, metadata: { mine: 'yes' } }), true);
        expect(codes(register(javaInstance()))).toEqual([200]);
        expect(registry.lease('ORDERS', ID)!.record.instance).toMatchObject({ lastDirtyTimestamp: 1717999999999, metadata: { mine: 'yes' } });
      });
    });

    describe('Heartbeat', () => {
      it('renews the lease and answers 200', () => {
        const { codes, registry, clock } = setup();
        registry.register(makeInstance({ id: 'live', lastDirtyTimestamp: 10 }), true);
        clock.advance(5000);
        expect(codes(heartbeat('live', { lastDirtyTimestamp: 10 }))).toEqual([200]);
        expect(registry.lease('ORDERS', 'live')!.lastRenewalTimestamp).toBe(clock.now());
      });

      it('answers 200 without a lastDirtyTimestamp', () => {
        const { codes, registry } = setup();
        registry.register(makeInstance({ id: 'live' }), true);
        expect(codes({ appName: 'ORDERS', id: 'live', action: 'Heartbeat' })).toEqual([200]);
      });

      it('answers 404 for an unknown instance', () => {
        expect(setup().codes(heartbeat('nobody'))).toEqual([404]);
      });

      it("answers 404 when the sender's copy is newer, and learns the sender's override", () => {
        const { codes, registry } = setup();
        registry.register(makeInstance({ id: 'live', lastDirtyTimestamp: 10 }), true);
        expect(codes(heartbeat('live', { lastDirtyTimestamp: 20, overriddenStatus: 'OUT_OF_SERVICE' }))).toEqual([404]);
        expect(registry.statusOverrides().get('ORDERS/live')).toBe('OUT_OF_SERVICE');
      });

      it('answers 409 with the stored instance, without a wrapper, when the stored copy is newer', () => {
        const { apply, registry } = setup();
        registry.register(makeInstance({ id: 'live', lastDirtyTimestamp: 500, metadata: { v: '2' } }), true);
        const [result] = response(apply({ replicationList: [heartbeat('live', { lastDirtyTimestamp: 100 })] })).responseList;
        expect(result.statusCode).toBe(409);
        expect(result.responseEntity).toEqual(JSON.parse(instanceJson(registry.lease('ORDERS', 'live')!)));
        expect(result.responseEntity).not.toHaveProperty('instance');
        expect(result.responseEntity).toMatchObject({ instanceId: 'live', lastDirtyTimestamp: '500', metadata: { v: '2' } });
      });

      it('answers 404 for an instance whose status is UNKNOWN after its override was removed', () => {
        const { codes, registry } = setup();
        registry.register(makeInstance({ id: 'live' }), true);
        registry.statusUpdate('ORDERS', 'live', 'OUT_OF_SERVICE', undefined, true);
        registry.deleteStatusOverride('ORDERS', 'live', undefined, undefined, true);
        expect(codes(heartbeat('live'))).toEqual([404]);
      });
    });

    describe('Cancel', () => {
      it('removes the instance and answers 200', () => {
        const { codes, registry } = setup();
        registry.register(makeInstance({ id: 'live' }), true);
        expect(codes({ appName: 'ORDERS', id: 'live', action: 'Cancel' })).toEqual([200]);
        expect(registry.size).toBe(0);
      });

      it('answers 404 for an unknown instance', () => {
        expect(setup().codes({ appName: 'ORDERS', id: 'nobody', action: 'Cancel' })).toEqual([404]);
      });

      it('answers 404 without app or id', () => {
        expect(setup().codes({ action: 'Cancel' })).toEqual([404]);
      });
    });

    describe('StatusUpdate', () => {
      it('sets the override, raises lastDirtyTimestamp and answers 200', () => {
        const { codes, registry } = setup();
        registry.register(makeInstance({ id: 'live', lastDirtyTimestamp: 10 }), true);
        expect(codes({ appName: 'ORDERS', id: 'live', lastDirtyTimestamp: 30, status: 'OUT_OF_SERVICE', action: 'StatusUpdate' })).toEqual([200]);
        expect(registry.statusOverrides().get('ORDERS/live')).toBe('OUT_OF_SERVICE');
        expect(registry.lease('ORDERS', 'live')!.record.instance).toMatchObject({ status: 'OUT_OF_SERVICE', lastDirtyTimestamp: 30 });
      });

      it('answers 404 for an unknown instance', () => {
        expect(setup().codes({ appName: 'ORDERS', id: 'nobody', status: 'DOWN', action: 'StatusUpdate' })).toEqual([404]);
      });

      it.each([['a missing', undefined], ['an unknown', 'ASLEEP'], ['a non-string', 3]])('answers 400 for %s status', (_what, status) => {
        const { codes, registry } = setup();
        registry.register(makeInstance({ id: 'live' }), true);
        expect(codes({ appName: 'ORDERS', id: 'live', status, action: 'StatusUpdate' })).toEqual([400]);
        expect(registry.statusOverrides().size).toBe(0);
      });
    });

    describe('DeleteStatusOverride', () => {
      it('removes the override, takes the status it carries and answers 200', () => {
        const { codes, registry } = setup();
        registry.register(makeInstance({ id: 'live' }), true);
        registry.statusUpdate('ORDERS', 'live', 'OUT_OF_SERVICE', undefined, true);
        expect(codes({ appName: 'ORDERS', id: 'live', lastDirtyTimestamp: 40, status: 'UP', action: 'DeleteStatusOverride' })).toEqual([200]);
        expect(registry.statusOverrides().has('ORDERS/live')).toBe(false);
        expect(registry.lease('ORDERS', 'live')!.record.instance).toMatchObject({ status: 'UP', overriddenStatus: 'UNKNOWN', lastDirtyTimestamp: 40 });
      });

      it('leaves the status UNKNOWN when the item carries none', () => {
        const { codes, registry } = setup();
        registry.register(makeInstance({ id: 'live' }), true);
        registry.statusUpdate('ORDERS', 'live', 'OUT_OF_SERVICE', undefined, true);
        expect(codes({ appName: 'ORDERS', id: 'live', action: 'DeleteStatusOverride' })).toEqual([200]);
        expect(registry.lease('ORDERS', 'live')!.record.instance.status).toBe('UNKNOWN');
      });

      it('answers 404 for an unknown instance', () => {
        expect(setup().codes({ appName: 'ORDERS', id: 'nobody', status: 'UP', action: 'DeleteStatusOverride' })).toEqual([404]);
      });
    });
  });

  describe('Register with a health verdict (between zone-registry servers)', () => {
    it("holds the instance DOWN as the sender's health verdict, and takes the verdict away with the next copy without one", () => {
      const { codes, registry } = setup();
      expect(codes(register(instanceJsonOf(makeInstance({ id: ID, status: 'DOWN' })), { status: 'DOWN', health: 'down' }))).toEqual([200]);
      expect(registry.lease('ORDERS', ID)?.record).toMatchObject({ statusSource: 'health', instance: expect.objectContaining({ status: 'DOWN' }) });
      expect(registry.isHealthDown('ORDERS', ID)).toBe(true);
      expect(codes(register(instanceJsonOf(makeInstance({ id: ID, status: 'UP' }))))).toEqual([200]);
      expect(registry.lease('ORDERS', ID)?.record).toMatchObject({ statusSource: 'client', instance: expect.objectContaining({ status: 'UP' }) });
      expect(registry.isHealthDown('ORDERS', ID)).toBe(false);
    });

    it("takes a DOWN without the field as the instance's own", () => {
      const { codes, registry } = setup();
      codes(register(instanceJsonOf(makeInstance({ id: ID, status: 'DOWN' })), { status: 'DOWN', health: 'maybe' }));
      expect(registry.lease('ORDERS', ID)?.record.statusSource).toBe('client');
    });
  });

  describe('MetadataUpdate (between zone-registry servers)', () => {
    it('merges the entries as the server that took them did, kept across the next registration', () => {
      const { codes, registry } = setup();
      registry.register(makeInstance({ id: ID, metadata: { a: '1' } }));
      expect(codes({ appName: 'ORDERS', id: ID, metadata: { k: 'v' }, action: 'MetadataUpdate' })).toEqual([200]);
      registry.register(makeInstance({ id: ID, metadata: { a: '2' } }));
      expect(registry.lease('ORDERS', ID)?.record.instance.metadata).toEqual({ a: '2', k: 'v' });
    });

    it.each([
      ['no metadata', {}],
      ['a value that is not a string', { metadata: { k: 1 } }],
      ['too many entries', { metadata: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 'v'])) }],
    ])('answers 400 for %s', (_what, extra) => {
      const { codes, registry } = setup();
      registry.register(makeInstance({ id: ID }));
      expect(codes({ appName: 'ORDERS', id: ID, action: 'MetadataUpdate', ...extra })).toEqual([400]);
    });

    it('answers 404 for an instance it does not hold', () => {
      expect(setup().codes({ appName: 'ORDERS', id: ID, metadata: { k: 'v' }, action: 'MetadataUpdate' })).toEqual([404]);
    });
  });

  describe('the time a change happened (instanceInfo.lastUpdatedTimestamp)', () => {
    it('keeps out a registration older than a cancel that said when it happened', () => {
      const { codes, registry, clock } = setup();
      const at = clock.now();
      const cancelled = { ...JSON.parse(instanceJson({ record: { ...viewRecord(), lastUpdatedTimestamp: at }, lastRenewalTimestamp: at })) };
      expect(codes({ appName: 'ORDERS', id: ID, instanceInfo: cancelled, action: 'Cancel' })).toEqual([404]);
      const older = JSON.parse(instanceJson({ record: { ...viewRecord(), lastUpdatedTimestamp: at - 1_000 }, lastRenewalTimestamp: at }));
      expect(codes(register(older))).toEqual([200]);
      expect(registry.lease('ORDERS', ID)).toBeUndefined();
    });
  });

  describe('countListItems', () => {
    it.each([
      ['an empty list', '{"replicationList":[]}', 0],
      ['objects', '{"replicationList":[{},{"a":[1,2,{"b":[3]}]},{}]}', 3],
      ['values of every kind, with white space', '{ "replicationList" : [ 1 , "x" , null , true , [ ] , { } ] }', 6],
      ['strings holding brackets, commas and escaped quotes', '{"replicationList":[{"m":"[,]{\\"\\\\","n":"\\""},"],["]}', 2],
      ['a bare array (not a ReplicationList)', '[{},{},{}]', 0],
      ['nested lists below the top-level object', '{"x":{"replicationList":[{},{},{}]}}', 0],
    ])('counts %s', (_what, text, expected) => {
      expect(countListItems(text, 100)).toBe(expected);
      expect(countListItems(text, 100)).toBe(Array.isArray(JSON.parse(text).replicationList) ? JSON.parse(text).replicationList.length : 0);
    });

    it('stops counting once past the limit', () => {
      expect(countListItems(`{"replicationList":[${'{},'.repeat(1000)}{}]}`, 10)).toBe(11);
    });

    it('counts what JSON.parse finds in the lists of the top-level object, whatever their strings hold (quotes, backslashes, brackets)', () => {
      const text = fc.string({ unit: fc.constantFrom('"', '\\', '[', ']', '{', '}', ',', 'a', ' ', '\u00e9'), maxLength: 12 });
      const value = fc.letrec((tie) => ({
        value: fc.oneof({ depthSize: 'small' }, text, fc.integer(), fc.constant(null), fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(text, tie('value'), { maxKeys: 3 })),
      })).value;
      fc.assert(
        fc.property(fc.array(value, { maxLength: 20 }), fc.dictionary(fc.constantFrom('a', 'z'), value, { maxKeys: 2 }), (items, around) => {
          const top = { ...around, replicationList: items };
          // Every array that is a value of the top-level object counts (a ReplicationList has only the one).
          const expected = Object.values(top).reduce((n: number, v) => n + (Array.isArray(v) ? v.length : 0), 0);
          expect(countListItems(JSON.stringify(top), 1000)).toBe(expected);
        }),
      );
    });

    it('counts the items of a batch as this server sends them', () => {
      const body = JSON.stringify({ replicationList: Array.from({ length: 7 }, (_, i) => register(javaInstance({ metadata: { note: `a "quoted" [${i}], {x}` } }))) });
      expect(countListItems(body, 250)).toBe(7);
    });
  });
});

function viewRecord() {
  return { instance: makeInstance({ id: ID, lastDirtyTimestamp: 1717999999000 }), statusSource: 'client' as const, actionType: 'ADDED' as const, lastUpdatedTimestamp: 0, registrationTimestamp: 1, serviceUpTimestamp: 1, evictionTimestamp: 0, revision: 1 };
}
