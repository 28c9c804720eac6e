// The watch over HTTP under every context path: revision headers on registry reads, the long-poll on the delta (at
// once, parked then woken, timed out, 410, 400, 429, 403, shutdown) and the event stream. Waits and keep-alives run on
// a ManualScheduler, so they run out only when the test moves time; parked requests are held on a real socket.
import { Agent } from 'node:http';
import { connect, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import request from 'supertest';
import { CODECS } from '../../src/codecs/documents';
import { Format } from '../../src/codecs/negotiate';
import { InstanceView } from '../../src/domain/model';
import { createApp } from '../../src/http/app';
import { REPLICATION_HEADER } from '../../src/http/eureka-api';
import { MAX_STREAM_BACKLOG_BYTES } from '../../src/http/watch-api';
import { WatchStatus } from '../../src/observability/server-status';
import { BodyOptions, javaLegacyBody, makeTestApp, TestApp, TestAppOptions } from '../helpers/app';
import { listen, Listening, rawRequest, textOf } from '../helpers/http';
import { makeInstance } from '../helpers/instances';
import { settle } from '../helpers/replication-scheduler';
import { RecordingLogger } from '../helpers/replication-fixtures';
import { waitFor } from '../helpers/wait';
import { EventStreamClient, PendingRequest, SseEvent, startRequest } from '../helpers/watch-client';
import { parseProm, sample } from '../observability/support';

const CONTEXTS = ['/eureka', '/eureka/v2', '/eureka/v1'] as const;
const JSON_ACCEPT = { accept: 'application/json' };
const XML_ACCEPT = { accept: 'application/xml' };
const P = 'zone_registry_';
const DURATION = `${P}http_request_duration_seconds`;

let t: TestApp;
let server: Listening | undefined;
let inFlight: PendingRequest[] = [];
let streams: EventStreamClient[] = [];

beforeEach(() => {
  // No jitter unless a test asks for it: a wait of D runs out at exactly D.
  t = makeTestApp({ random: () => 0 });
});

afterEach(async () => {
  for (const p of inFlight) p.drop();
  for (const s of streams) s.close();
  inFlight = [];
  streams = [];
  await t.close();
  await server?.close();
  server = undefined;
});

/** Replaces the default app (before anything listens) with one built from `options`. */
async function useApp(options: TestAppOptions): Promise<void> {
  await t.close();
  t = makeTestApp({ random: () => 0, ...options });
}

const api = () => request(t.app);

/** The port of a real listener over the app under test (parked requests need a socket that stays open). */
async function port(): Promise<number> {
  server ??= await listen(t.app);
  return server.port;
}

const watchStatus = (): WatchStatus => (t.deps.watchStatus as () => WatchStatus)();

function body(id: string, options: BodyOptions = {}) {
  return javaLegacyBody({ instanceId: id, hostName: `${id}.local`, ...options });
}

async function register(id: string, options: BodyOptions = {}, ctx = '/eureka'): Promise<void> {
  const b = body(id, options);
  const res = await api().post(`${ctx}/apps/${String(b.instance.app)}`).set('Content-Type', 'application/json').send(JSON.stringify(b));
  expect(res.status).toBe(204);
}

/** Starts a request on a real socket and waits until the server holds it parked. */
async function park(path: string, headers: Record<string, string> = JSON_ACCEPT): Promise<PendingRequest> {
  const before = watchStatus().parked;
  const p = startRequest(await port(), path, headers);
  inFlight.push(p);
  await waitFor(() => watchStatus().parked === before + 1 || p.answered(), `${path} to be parked`);
  expect(p.answered()).toBe(false);
  return p;
}

/** Lets several turns of the event loop pass, then checks the request has still not been answered. */
async function expectStillParked(p: PendingRequest): Promise<void> {
  await settle(10);
  expect(p.answered()).toBe(false);
}

async function openStream(path: string, headers: Record<string, string> = {}): Promise<EventStreamClient> {
  const s = await EventStreamClient.open(await port(), path, headers);
  streams.push(s);
  return s;
}

const revisionOf = (headers: Record<string, unknown>): number => Number(headers['x-registry-revision']);

/** [instanceId, actionType, status] of every instance of an applications document (JSON text). */
function changesOf(text: string): [string, string, string][] {
  const doc = JSON.parse(text);
  return doc.applications.application.flatMap((a: any) => a.instance.map((i: any) => [i.instanceId, i.actionType, i.status]));
}

/** versions__delta and apps__hashcode of an applications document (JSON text). */
function versionsOf(text: string): { versions: string; hashcode: string } {
  const { applications } = JSON.parse(text);
  return { versions: applications.versions__delta, hashcode: applications.apps__hashcode };
}

async function fullHashcode(): Promise<string> {
  const res = await api().get('/eureka/apps').set(JSON_ACCEPT);
  return JSON.parse(res.text).applications.apps__hashcode;
}

/** What the delta answered before the watch existed: the log's changes, grouped by app, at the current revision. */
function plainDeltaBytes(format: Format): Buffer {
  t.registry.pruneDelta(t.clock.now());
  const apps = new Map<string, InstanceView[]>();
  for (const app of t.registry.deltaApplicationNames()) apps.set(app, [...t.registry.deltaApplication(app)]);
  return CODECS[format].applications(apps, t.registry.revision, t.registry.hashcode()).toBuffer();
}

const instanceInfo = (id: string): Record<string, unknown> => ({
  instanceId: id,
  app: 'ORDERS',
  hostName: `${id}.test`,
  ipAddr: '127.0.0.1',
  status: 'UP',
  overriddenStatus: 'UNKNOWN',
  port: { $: 8080, '@enabled': 'true' },
  securePort: { $: 443, '@enabled': 'false' },
  dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
  leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 },
  vipAddress: 'orders',
  lastDirtyTimestamp: '1700000000000',
});

function replicate(replicationList: unknown[]) {
  return api().post('/eureka/peerreplication/batch').set('Content-Type', 'application/json').set(REPLICATION_HEADER, 'true').send(JSON.stringify({ replicationList }));
}

function expectIdentity(headers: Record<string, unknown>, revision: number): void {
  expect(headers['x-registry-revision']).toBe(String(revision));
  expect(headers['x-registry-server']).toBe(t.cache.serverId);
  expect(headers['x-registry-watch']).toBe('delta, events');
}

describe('registry reads', () => {
  describe.each(CONTEXTS)('under %s', (ctx) => {
    const READS = ['/apps', '/apps/delta', '/apps/ORDERS', '/vips/orders', '/svips/orders'];

    it('sends X-Registry-Revision, X-Registry-Server and X-Registry-Watch on full, delta, app, VIP and SVIP reads', async () => {
      await register('a', {}, ctx);
      await register('b', {}, ctx);
      for (const path of READS) {
        for (const accept of [JSON_ACCEPT, XML_ACCEPT]) {
          const res = await api().get(`${ctx}${path}`).set(accept);
          expect({ path, status: res.status }).toEqual({ path, status: 200 });
          expectIdentity(res.headers, 2);
        }
      }
    });

    it('sends them on a 304 too', async () => {
      await register('a', {}, ctx);
      for (const path of READS) {
        const first = await api().get(`${ctx}${path}`).set(JSON_ACCEPT);
        const res = await api().get(`${ctx}${path}`).set(JSON_ACCEPT).set('If-None-Match', first.headers['etag']);
        expect({ path, status: res.status }).toEqual({ path, status: 304 });
        expectIdentity(res.headers, 1);
      }
    });

    it('reports revision 0 on a fresh, empty server', async () => {
      const res = await api().get(`${ctx}/apps`).set(JSON_ACCEPT);
      expectIdentity(res.headers, 0);
    });
  });

  describe('X-Registry-Revision', () => {
    const revision = async (): Promise<number> => revisionOf((await api().get('/eureka/apps').set(JSON_ACCEPT)).headers);

    it('moves on register, status override, override removal, metadata and cancel, never on heartbeats', async () => {
      const seen: [string, number][] = [];
      const step = async (what: string, act: () => Promise<unknown>): Promise<void> => {
        await act();
        seen.push([what, await revision()]);
      };
      await step('register', () => register('a'));
      await step('heartbeat', () => api().put('/eureka/apps/ORDERS/a').expect(200));
      await step('replicated heartbeat', () => api().put('/eureka/apps/ORDERS/a').set(REPLICATION_HEADER, 'true').expect(200));
      await step('status', () => api().put('/eureka/apps/ORDERS/a/status?value=OUT_OF_SERVICE').expect(200));
      await step('heartbeat', () => api().put('/eureka/apps/ORDERS/a').expect(200));
      await step('override removal', () => api().delete('/eureka/apps/ORDERS/a/status?value=UP').expect(200));
      await step('metadata', () => api().put('/eureka/apps/ORDERS/a/metadata?zone=z1').expect(200));
      await step('cancel', () => api().delete('/eureka/apps/ORDERS/a').expect(200));
      expect(seen).toEqual([
        ['register', 1],
        ['heartbeat', 1],
        ['replicated heartbeat', 1],
        ['status', 2],
        ['heartbeat', 2],
        ['override removal', 3],
        ['metadata', 4],
        ['cancel', 5],
      ]);
    });
  });

  describe('X-Registry-Server', () => {
    it('differs between two composed servers and stays the same across reads of one', async () => {
      const other = makeTestApp();
      try {
        const mine = await api().get('/eureka/apps').set(JSON_ACCEPT);
        const again = await api().get('/eureka/apps/delta').set(JSON_ACCEPT);
        const theirs = await request(other.app).get('/eureka/apps').set(JSON_ACCEPT);
        expect(mine.headers['x-registry-server']).toMatch(/^\S+$/);
        expect(again.headers['x-registry-server']).toBe(mine.headers['x-registry-server']);
        expect(theirs.headers['x-registry-server']).toMatch(/^\S+$/);
        expect(theirs.headers['x-registry-server']).not.toBe(mine.headers['x-registry-server']);
      } finally {
        await other.close();
      }
    });
  });
});

describe('GET {ctx}/apps/delta?since=R (long-poll watch)', () => {
  describe('when changes after R exist', () => {
    /** a, b registered (revisions 1, 2); then a OUT_OF_SERVICE (3), c registered (4), b cancelled (5), a heartbeat. */
    async function changesAfterTwo(ctx = '/eureka'): Promise<void> {
      await register('a', {}, ctx);
      await register('b', {}, ctx);
      await api().put(`${ctx}/apps/ORDERS/a/status?value=OUT_OF_SERVICE`).expect(200);
      await register('c', { app: 'BILLING' }, ctx);
      await api().delete(`${ctx}/apps/ORDERS/b`).expect(200);
      await api().put(`${ctx}/apps/ORDERS/a`).expect(200);
    }

    describe.each(CONTEXTS)('under %s', (ctx) => {
      it('answers at once with only those changes, latest state each, versions__delta and the header at the current revision', async () => {
        await changesAfterTwo(ctx);
        const res = await api().get(`${ctx}/apps/delta?since=2&wait=30s`).set(JSON_ACCEPT);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('application/json');
        expectIdentity(res.headers, 5);
        expect(changesOf(res.text)).toEqual([
          ['a', 'MODIFIED', 'OUT_OF_SERVICE'],
          ['b', 'DELETED', 'UP'],
          ['c', 'ADDED', 'UP'],
        ]);
        expect(versionsOf(res.text)).toEqual({ versions: '5', hashcode: await fullHashcode() });
        expect(versionsOf(res.text).hashcode).toBe('OUT_OF_SERVICE_1_UP_1_');
        expect(watchStatus().parked).toBe(0);
      });
    });

    it('answers without wait too, with the changes after R only', async () => {
      await changesAfterTwo();
      const res = await api().get('/eureka/apps/delta?since=4').set(JSON_ACCEPT);
      expect(res.status).toBe(200);
      expect(changesOf(res.text)).toEqual([['b', 'DELETED', 'UP']]);
      expectIdentity(res.headers, 5);
    });

    it('answers XML with the same changes', async () => {
      await changesAfterTwo();
      const res = await api().get('/eureka/apps/delta?since=2&wait=30s').set(XML_ACCEPT);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/xml');
      expectIdentity(res.headers, 5);
      const xml = textOf(res);
      expect(xml).toContain('<versions__delta>5</versions__delta>');
      expect(xml).toContain('<apps__hashcode>OUT_OF_SERVICE_1_UP_1_</apps__hashcode>');
      expect([...xml.matchAll(/<instanceId>([^<]*)<\/instanceId>/g)].map((m) => m[1])).toEqual(['a', 'b', 'c']);
      expect([...xml.matchAll(/<actionType>([^<]*)<\/actionType>/g)].map((m) => m[1])).toEqual(['MODIFIED', 'DELETED', 'ADDED']);
    });

    it('gzips the answer when gzip is accepted, to the same document', async () => {
      await changesAfterTwo();
      const plain = await rawRequest(await port(), { path: '/eureka/apps/delta?since=2&wait=30s', headers: JSON_ACCEPT });
      const gzipped = await rawRequest(await port(), { path: '/eureka/apps/delta?since=2&wait=30s', headers: { ...JSON_ACCEPT, 'accept-encoding': 'gzip' } });
      expect(gzipped.status).toBe(200);
      expect(gzipped.headers['content-encoding']).toBe('gzip');
      expectIdentity(gzipped.headers, 5);
      expect(gunzipSync(gzipped.body).toString('utf8')).toBe(plain.text);
      expect(changesOf(plain.text)).toHaveLength(3);
    });
  });

  describe('when nothing changed after R', () => {
    describe.each(CONTEXTS)('under %s', (ctx) => {
      it('holds the request, then answers it with a registration made through HTTP', async () => {
        await register('a', {}, ctx);
        const parked = await park(`${ctx}/apps/delta?since=1&wait=30s`, { ...JSON_ACCEPT, connection: 'keep-alive' });
        await expectStillParked(parked);

        await register('b', {}, ctx);
        const res = await parked.response;
        // Woken by the change, once.
        expect(watchStatus()).toMatchObject({ parked: 0, answered: { change: 1, timeout: 0, shutdown: 0 } });
        expect(res.status).toBe(200);
        expectIdentity(res.headers, 2);
        expect(changesOf(res.text)).toEqual([['b', 'ADDED', 'UP']]);
        expect(versionsOf(res.text)).toEqual({ versions: '2', hashcode: 'UP_2_' });
        // Only shutdown sends the client away.
        expect(res.headers['connection']).toBe('keep-alive');
      });
    });

    const WAKERS: [string, () => Promise<unknown> | unknown, [string, string, string][]][] = [
      ['a cancel', () => api().delete('/eureka/apps/ORDERS/a').expect(200), [['a', 'DELETED', 'UP']]],
      ['a status override (PUT …/status)', () => api().put('/eureka/apps/ORDERS/a/status?value=OUT_OF_SERVICE').expect(200), [['a', 'MODIFIED', 'OUT_OF_SERVICE']]],
      ['a metadata update (PUT …/metadata)', () => api().put('/eureka/apps/ORDERS/a/metadata?zone=z1').expect(200), [['a', 'ADDED', 'UP']]],
      ['an eviction', () => expect(t.registry.evict('ORDERS', 'a')).toBeDefined(), [['a', 'DELETED', 'UP']]],
      [
        'a replicated registration (POST /peerreplication/batch)',
        () => replicate([{ appName: 'ORDERS', id: 'peer-1', lastDirtyTimestamp: 1700000000000, status: 'UP', instanceInfo: instanceInfo('peer-1'), action: 'Register' }]).expect(200),
        [['peer-1', 'ADDED', 'UP']],
      ],
      ['a replicated cancel (DELETE with the replication header)', () => api().delete('/eureka/apps/ORDERS/a').set(REPLICATION_HEADER, 'true').expect(200), [['a', 'DELETED', 'UP']]],
    ];

    it.each(WAKERS)('is woken by %s', async (_, act, expected) => {
      await register('a');
      const parked = await park('/eureka/apps/delta?since=1&wait=30s');
      await act();
      const res = await parked.response;
      expect(res.status).toBe(200);
      expect(changesOf(res.text)).toEqual(expected);
      expectIdentity(res.headers, 2);
      expect(watchStatus().answered.change).toBe(1);
    });

    it('is woken by the removal of a status override (DELETE …/status)', async () => {
      await register('a');
      await api().put('/eureka/apps/ORDERS/a/status?value=OUT_OF_SERVICE').expect(200);
      const parked = await park('/eureka/apps/delta?since=2&wait=30s');
      await api().delete('/eureka/apps/ORDERS/a/status?value=UP').expect(200);
      const res = await parked.response;
      expect(changesOf(res.text)).toEqual([['a', 'MODIFIED', 'UP']]);
      expectIdentity(res.headers, 3);
    });

    it('is not woken by heartbeats, from clients or peers', async () => {
      await register('a');
      const parked = await park('/eureka/apps/delta?since=1&wait=30s');
      await api().put('/eureka/apps/ORDERS/a').expect(200);
      await api().put('/eureka/apps/ORDERS/a').set(REPLICATION_HEADER, 'true').expect(200);
      await replicate([{ appName: 'ORDERS', id: 'a', lastDirtyTimestamp: Number(body('a').instance.lastDirtyTimestamp), status: 'UP', action: 'Heartbeat' }]).expect(200);
      await expectStillParked(parked);
      expect(watchStatus()).toMatchObject({ parked: 1, answered: { change: 0 } });

      await register('b');
      expect(changesOf((await parked.response).text)).toEqual([['b', 'ADDED', 'UP']]);
    });

    it('answers a replication batch once, with every change of it', async () => {
      const parked = await park('/eureka/apps/delta?since=0&wait=30s');
      await replicate([
        { appName: 'ORDERS', id: 'peer-1', lastDirtyTimestamp: 1700000000000, status: 'UP', instanceInfo: instanceInfo('peer-1'), action: 'Register' },
        { appName: 'ORDERS', id: 'peer-2', lastDirtyTimestamp: 1700000000000, status: 'UP', instanceInfo: instanceInfo('peer-2'), action: 'Register' },
        { appName: 'ORDERS', id: 'peer-1', lastDirtyTimestamp: 1700000000000, status: 'OUT_OF_SERVICE', action: 'StatusUpdate' },
      ]).expect(200);
      const res = await parked.response;
      expect(changesOf(res.text)).toEqual([
        ['peer-2', 'ADDED', 'UP'],
        ['peer-1', 'MODIFIED', 'OUT_OF_SERVICE'],
      ]);
      expectIdentity(res.headers, 3);
      expect(watchStatus().answered.change).toBe(1);
    });

    it('answers at once with an empty delta when no wait is asked (wait=0 or none)', async () => {
      await register('a');
      for (const query of ['since=1', 'since=1&wait=0', 'since=1&wait=0ms']) {
        const res = await api().get(`/eureka/apps/delta?${query}`).set(JSON_ACCEPT);
        expect({ query, status: res.status }).toEqual({ query, status: 200 });
        expect(changesOf(res.text)).toEqual([]);
        expect(versionsOf(res.text)).toEqual({ versions: '1', hashcode: 'UP_1_' });
        expectIdentity(res.headers, 1);
      }
      expect(watchStatus().answered).toEqual({ change: 0, timeout: 0, shutdown: 0 });
    });
  });

  describe('when the wait runs out', () => {
    it('answers 200 with an empty delta at the same revision once the wait and its jitter have passed', async () => {
      // The largest jitter: 1/16 of 30 s, less a fraction.
      await useApp({ random: () => 0.999 });
      await register('a');
      const parked = await park('/eureka/apps/delta?since=1&wait=30s');
      const jitterMs = Math.floor(0.999 * (30_000 / 16));

      await t.scheduler.advance(30_000 + jitterMs - 1);
      await expectStillParked(parked);
      await t.scheduler.advance(1);

      const res = await parked.response;
      expect(res.status).toBe(200);
      expectIdentity(res.headers, 1);
      expect(changesOf(res.text)).toEqual([]);
      expect(versionsOf(res.text)).toEqual({ versions: '1', hashcode: 'UP_1_' });
      expect(watchStatus()).toMatchObject({ parked: 0, answered: { change: 0, timeout: 1, shutdown: 0 } });
    });

    it.each([
      ['500ms', 500],
      ['2s', 2000],
      ['2', 2000],
      ['1m', 60_000],
    ])('reads wait=%s as %d ms', async (wait, ms) => {
      const parked = await park(`/eureka/apps/delta?since=0&wait=${wait}`);
      await t.scheduler.advance(ms - 1);
      await expectStillParked(parked);
      await t.scheduler.advance(1);
      expect((await parked.response).status).toBe(200);
    });

    it('clamps a wait above watchMaxWaitMs to it', async () => {
      await useApp({ settings: { watchMaxWaitMs: 10_000 } });
      const parked = await park('/eureka/apps/delta?since=0&wait=5m');
      await t.scheduler.advance(9_999);
      await expectStillParked(parked);
      await t.scheduler.advance(1);
      const res = await parked.response;
      expect(res.status).toBe(200);
      expect(changesOf(res.text)).toEqual([]);
      expect(watchStatus().answered.timeout).toBe(1);
    });
  });

  describe('410 Gone', () => {
    describe.each(CONTEXTS)('under %s', (ctx) => {
      it('answers a since older than the delta log covers with an empty body and the revision headers', async () => {
        await useApp({ settings: { deltaRetentionMs: 1000 } });
        await register('a', {}, ctx);
        await register('b', {}, ctx);
        t.clock.advance(5000);
        // A plain delta read prunes the log: revisions 1 and 2 leave it.
        expect(changesOf((await api().get(`${ctx}/apps/delta`).set(JSON_ACCEPT)).text)).toEqual([]);

        for (const since of [0, 1]) {
          const res = await rawRequest(await port(), { path: `${ctx}/apps/delta?since=${since}&wait=30s`, headers: JSON_ACCEPT });
          expect({ since, status: res.status }).toEqual({ since, status: 410 });
          expect(res.text).toBe('');
          expect(res.headers['content-length']).toBe('0');
          expectIdentity(res.headers, 2);
        }
        expect(watchStatus().parked).toBe(0);
      });
    });

    it('still answers the oldest revision the log covers', async () => {
      await useApp({ settings: { deltaRetentionMs: 1000 } });
      await register('a');
      await register('b');
      t.clock.advance(5000);
      await register('c');
      await api().get('/eureka/apps/delta').set(JSON_ACCEPT).expect(200);
      const res = await api().get('/eureka/apps/delta?since=2').set(JSON_ACCEPT);
      expect(res.status).toBe(200);
      expect(changesOf(res.text)).toEqual([['c', 'ADDED', 'UP']]);
      expect((await api().get('/eureka/apps/delta?since=1').set(JSON_ACCEPT)).status).toBe(410);
    });

    it('answers a since greater than the revision (another server, or before a restart)', async () => {
      await register('a');
      for (const query of ['since=2&wait=30s', 'since=2', 'since=9007199254740991&wait=1s']) {
        const res = await api().get(`/eureka/apps/delta?${query}`).set(JSON_ACCEPT);
        expect({ query, status: res.status }).toEqual({ query, status: 410 });
        expect(textOf(res)).toBe('');
        expectIdentity(res.headers, 1);
      }
      expect(watchStatus().parked).toBe(0);
    });
  });

  describe('400 Bad Request', () => {
    it.each([
      ['since=abc', /since must be a revision/],
      ['since=-1', /since must be a revision/],
      ['since=1.5&wait=30s', /since must be a revision/],
      ['since=&wait=30s', /since must be a revision/],
      ['since=99999999999999999', /since must be a revision/],
      ['since=0&wait=soon', /wait must be a duration/],
      ['since=0&wait=5h', /wait must be a duration/],
      ['since=0&wait=-1s', /wait must be a duration/],
      ['wait=30s', /wait needs since/],
    ])('answers %s with a readable message', async (query, message) => {
      for (const ctx of CONTEXTS) {
        const res = await api().get(`${ctx}/apps/delta?${query}`).set(JSON_ACCEPT);
        expect({ ctx, status: res.status }).toEqual({ ctx, status: 400 });
        expect(res.headers['content-type']).toMatch(/^text\/plain/);
        expect(res.text).toMatch(message);
      }
      expect(watchStatus().parked).toBe(0);
    });
  });

  describe('429 Too Many Requests', () => {
    it('refuses a watcher past watchMaxWatchers with Retry-After', async () => {
      await useApp({ settings: { watchMaxWatchers: 2 } });
      await park('/eureka/apps/delta?since=0&wait=30s');
      await park('/eureka/apps/delta?since=0&wait=30s', XML_ACCEPT);

      const res = await rawRequest(await port(), { path: '/eureka/apps/delta?since=0&wait=30s', headers: JSON_ACCEPT });
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(res.text).toBe('');
      expect(watchStatus()).toMatchObject({ parked: 2, refused: 1 });
      // Immediate answers are not watches: still served.
      expect((await api().get('/eureka/apps/delta?since=0').set(JSON_ACCEPT)).status).toBe(200);
    });

    it('counts event streams against the same cap', async () => {
      await useApp({ settings: { watchMaxWatchers: 2 } });
      const stream = await openStream('/eureka/watch');
      expect(stream.status).toBe(200);
      await park('/eureka/apps/delta?since=0&wait=30s');

      const watch = await rawRequest(await port(), { path: '/eureka/apps/delta?since=0&wait=30s', headers: JSON_ACCEPT });
      expect(watch.status).toBe(429);
      expect(watch.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      const another = await rawRequest(await port(), { path: '/eureka/watch' });
      expect(another.status).toBe(429);
      expect(watchStatus()).toMatchObject({ parked: 1, streams: 1, refused: 2 });
    });
  });

  describe('many watchers at one revision', () => {
    it('share one payload per format: the cache builds once per format, not per watcher', async () => {
      await register('a');
      const accepts = [JSON_ACCEPT, XML_ACCEPT, { ...JSON_ACCEPT, 'accept-encoding': 'gzip' }];
      const p = await port();
      const watchers = Array.from({ length: 201 }, (_, i) => {
        const w = startRequest(p, '/eureka/apps/delta?since=1&wait=30s', accepts[i % 3], { timeoutMs: 20_000 });
        inFlight.push(w);
        return w;
      });
      await waitFor(() => watchStatus().parked === 201, '201 watchers parked', 15_000);
      const rebuilds = t.cache.stats.rebuilds;

      await register('b');
      const answers = await Promise.all(watchers.map((w) => w.response));

      expect(t.cache.stats.rebuilds - rebuilds).toBe(2);
      const bodies = (i: number): Set<string> => new Set(answers.filter((_, n) => n % 3 === i).map((r) => r.body.toString('base64')));
      expect([bodies(0).size, bodies(1).size, bodies(2).size]).toEqual([1, 1, 1]);
      expect(answers.every((r) => r.status === 200 && r.headers['x-registry-revision'] === '2')).toBe(true);
      expect(changesOf(answers[0].text)).toEqual([['b', 'ADDED', 'UP']]);
      expect(gunzipSync(answers[2].body).toString('utf8')).toBe(answers[0].text);
      expect(watchStatus()).toMatchObject({ parked: 0, answered: { change: 201 } });
    });
  });

  describe('on a keep-alive connection', () => {
    it('parks one long-poll after another on the same connection, leaving no listener behind', async () => {
      const sockets: Socket[] = [];
      const p = await port();
      (server as Listening).server.on('connection', (s: Socket) => sockets.push(s));
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const listeners: number[] = [];
        for (let n = 0; n < 12; n++) {
          const before = watchStatus().parked;
          const w = startRequest(p, `/eureka/apps/delta?since=${n}&wait=30s`, JSON_ACCEPT, { agent });
          inFlight.push(w);
          await waitFor(() => watchStatus().parked === before + 1, `long-poll ${n} parked`);
          // Half woken by a change, half by the wait running out.
          if (n % 2 === 0) await register(`i-${n}`);
          else await t.scheduler.advance(30_000);
          const res = await w.response;
          expect(res.status).toBe(200);
          if (n % 2 === 1) await register(`i-${n}`);
          listeners.push(sockets[0].listenerCount('close'));
        }
        expect(sockets).toHaveLength(1);
        expect(new Set(listeners).size).toBe(1);
      } finally {
        agent.destroy();
      }
    });
  });

  describe('a client that goes away while parked', () => {
    it('leaves no watcher behind and is recorded as 499, not as an error', async () => {
      const logger = new RecordingLogger();
      server = await listen(createApp({ ...t.deps, logger }));
      const parked = await park('/eureka/apps/delta?since=0&wait=30s');

      parked.drop();

      await waitFor(async () => JSON.parse((await api().get('/eureka/status')).text).watch.parked === 0, 'the watcher to be forgotten');
      const scrape = parseProm((await api().get('/metrics')).text);
      expect(sample(scrape, `${DURATION}_count`, { method: 'GET', route: '/apps/delta', code: '499' })).toBe(1);
      expect(scrape.filter((s) => s.name === `${DURATION}_count` && s.labels.code === '500')).toEqual([]);
      expect(logger.messages('error')).toEqual([]);
      expect(watchStatus()).toMatchObject({ parked: 0, answered: { change: 0, timeout: 0, shutdown: 0 } });

      // Nothing is answered to it later, and the next change wakes nobody.
      await register('a');
      await t.scheduler.advance(60_000);
      expect(watchStatus().answered).toEqual({ change: 0, timeout: 0, shutdown: 0 });
    });
  });

  describe('on close()', () => {
    it('answers every parked watch at once (200, empty delta, Connection: close) and ends every stream', async () => {
      await register('a');
      // Clients that would keep their connection open for the next request.
      const json = await park('/eureka/apps/delta?since=1&wait=30s', { ...JSON_ACCEPT, connection: 'keep-alive' });
      const xml = await park('/eureka/apps/delta?since=1&wait=30s', { ...XML_ACCEPT, connection: 'keep-alive' });
      const stream = await openStream('/eureka/watch');
      await stream.waitForEvents('ready');

      await t.close();

      const [a, b] = await Promise.all([json.response, xml.response]);
      for (const res of [a, b]) {
        expect(res.status).toBe(200);
        expect(res.headers['connection']).toBe('close');
        expectIdentity(res.headers, 1);
      }
      expect(changesOf(a.text)).toEqual([]);
      expect(b.text).toContain('<versions__delta>1</versions__delta>');
      await stream.ended;
      expect(stream.complete).toBe(true);
      expect(watchStatus()).toMatchObject({ parked: 0, streams: 0, answered: { shutdown: 2 } });
    });
  });

  describe('while registry reads are refused (startup sync)', () => {
    it('answers 403 with an empty body, like the plain delta, and parks nothing', async () => {
      const refusing = createApp({ ...t.deps, allowsRegistryReads: () => false });
      for (const path of ['/eureka/apps/delta', '/eureka/apps/delta?since=0&wait=30s', '/eureka/apps/delta?since=0', '/eureka/v2/watch', '/eureka/watch?since=0']) {
        const res = await request(refusing).get(path).set(JSON_ACCEPT);
        expect({ path, status: res.status }).toEqual({ path, status: 403 });
        expect(textOf(res)).toBe('');
      }
      expect(watchStatus()).toMatchObject({ parked: 0, streams: 0 });
    });
  });

  describe('without since and wait', () => {
    it('answers Eureka’s delta byte for byte, at once, whatever changed', async () => {
      await register('a');
      await register('b', { app: 'BILLING' });
      await api().put('/eureka/apps/ORDERS/a/status?value=OUT_OF_SERVICE').expect(200);
      await register('c');
      await api().delete('/eureka/apps/ORDERS/c').expect(200);
      for (const format of ['json', 'xml'] as const) {
        const res = await rawRequest(await port(), { path: '/eureka/apps/delta', headers: format === 'json' ? JSON_ACCEPT : XML_ACCEPT });
        expect(res.status).toBe(200);
        expect(res.body.equals(plainDeltaBytes(format))).toBe(true);
        expectIdentity(res.headers, 5);
      }
    });

    it('never parks, even at the current revision with nothing new', async () => {
      await register('a');
      await api().get('/eureka/apps/delta').set(JSON_ACCEPT).expect(200);
      const res = await rawRequest(await port(), { path: '/eureka/apps/delta', headers: JSON_ACCEPT });
      expect(res.status).toBe(200);
      expect(watchStatus()).toMatchObject({ parked: 0, answered: { change: 0, timeout: 0, shutdown: 0 } });
    });
  });
});

describe('GET {ctx}/watch (event stream)', () => {
  const changeOf = (e: SseEvent): { id?: string; action: string; app: string; revision: number; instanceId: string; status: string } => {
    const data = JSON.parse(e.data as string);
    return { id: e.id, action: data.action, app: data.app, revision: data.revision, instanceId: data.instance.instanceId, status: data.instance.status };
  };

  describe.each(CONTEXTS)('under %s', (ctx) => {
    it('opens with a retry line, then ready with the current revision and the server token', async () => {
      await register('a', {}, ctx);
      const stream = await openStream(`${ctx}/watch`);
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(stream.headers['cache-control']).toBe('no-cache');
      expectIdentity(stream.headers, 1);

      const [ready] = await stream.waitForEvents('ready');
      expect(stream.text.startsWith('retry: 3000\n\n')).toBe(true);
      expect(ready.id).toBe('1');
      expect(JSON.parse(ready.data as string)).toEqual({ revision: 1, server: t.cache.serverId });
      expect(watchStatus().streams).toBe(1);
    });

    it('sends one change event per change, with its revision as id, the action, the app and the instance', async () => {
      const stream = await openStream(`${ctx}/watch`);
      await stream.waitForEvents('ready');
      await register('a', {}, ctx);
      await api().put(`${ctx}/apps/ORDERS/a`).expect(200);
      await api().put(`${ctx}/apps/ORDERS/a/status?value=OUT_OF_SERVICE`).expect(200);
      await register('b', { app: 'BILLING' }, ctx);
      await api().delete(`${ctx}/apps/ORDERS/a`).expect(200);

      const changes = await stream.waitForEvents('change', 4);
      expect(changes.map(changeOf)).toEqual([
        { id: '1', action: 'ADDED', app: 'ORDERS', revision: 1, instanceId: 'a', status: 'UP' },
        { id: '2', action: 'MODIFIED', app: 'ORDERS', revision: 2, instanceId: 'a', status: 'OUT_OF_SERVICE' },
        { id: '3', action: 'ADDED', app: 'BILLING', revision: 3, instanceId: 'b', status: 'UP' },
        { id: '4', action: 'DELETED', app: 'ORDERS', revision: 4, instanceId: 'a', status: 'OUT_OF_SERVICE' },
      ]);
    });
  });

  it('sends the instance as the apps document lists it', async () => {
    const stream = await openStream('/eureka/watch');
    await stream.waitForEvents('ready');
    await register('a', { metadata: { zone: 'z1' } });
    const [change] = await stream.waitForEvents('change');
    const listed = JSON.parse((await api().get('/eureka/apps/ORDERS').set(JSON_ACCEPT)).text).application.instance[0];
    expect(JSON.parse(change.data as string).instance).toEqual(listed);
  });

  it('keeps only the changes of ?app= (case-insensitive)', async () => {
    const stream = await openStream('/eureka/watch?app=orders');
    await stream.waitForEvents('ready');
    await register('b', { app: 'BILLING' });
    await register('a');
    await api().delete('/eureka/apps/BILLING/b').expect(200);
    await api().put('/eureka/apps/ORDERS/a/status?value=DOWN').expect(200);

    const changes = await stream.waitForEvents('change', 2);
    expect(changes.map((e) => [changeOf(e).app, changeOf(e).instanceId, changeOf(e).action])).toEqual([
      ['ORDERS', 'a', 'ADDED'],
      ['ORDERS', 'a', 'MODIFIED'],
    ]);
  });

  describe('resuming', () => {
    beforeEach(async () => {
      await register('a');
      await register('b', { app: 'BILLING' });
      await register('c');
    });

    it.each([
      ['Last-Event-ID: 1', '/eureka/watch', { 'last-event-id': '1' }],
      ['?since=1', '/eureka/watch?since=1', {}],
      ['Last-Event-ID: 1 over ?since=0', '/eureka/watch?since=0', { 'last-event-id': '1' }],
    ])('replays the changes after %s, then ready', async (_, path, headers) => {
      const stream = await openStream(path, headers);
      await stream.waitForEvents('ready');
      const events = stream.events();
      expect(events.map((e) => [e.event ?? (e.retry ? 'retry' : ''), e.id])).toEqual([
        ['retry', undefined],
        ['change', '2'],
        ['change', '3'],
        ['ready', '3'],
      ]);
      expect(events.filter((e) => e.event === 'change').map((e) => changeOf(e).instanceId)).toEqual(['b', 'c']);
    });

    it('replays only the changes of ?app=', async () => {
      const stream = await openStream('/eureka/watch?app=Orders', { 'last-event-id': '0' });
      await stream.waitForEvents('ready');
      expect(stream.named('change').map((e) => [changeOf(e).instanceId, e.id])).toEqual([
        ['a', '1'],
        ['c', '3'],
      ]);
    });

    it('replays nothing from the current revision', async () => {
      const stream = await openStream('/eureka/watch', { 'last-event-id': '3' });
      await stream.waitForEvents('ready');
      expect(stream.events().map((e) => e.event)).toEqual([undefined, 'ready']);
    });

    it('sends reset for a Last-Event-ID newer than the revision (another server, or before a restart)', async () => {
      const stream = await openStream('/eureka/watch', { 'last-event-id': '4' });
      const [ready] = await stream.waitForEvents('ready');
      expect(stream.events().map((e) => e.event)).toEqual([undefined, 'reset', 'ready']);
      expect(JSON.parse(stream.named('reset')[0].data as string)).toEqual({ revision: 3, server: t.cache.serverId });
      expect(ready.id).toBe('3');
    });
  });

  it('sends reset for a Last-Event-ID older than the delta log covers', async () => {
    await useApp({ settings: { deltaRetentionMs: 1000 } });
    await register('a');
    t.clock.advance(5000);
    await register('b');
    const stream = await openStream('/eureka/watch', { 'last-event-id': '0' });
    await stream.waitForEvents('ready');
    expect(stream.events().map((e) => e.event)).toEqual([undefined, 'reset', 'ready']);
    expect(JSON.parse(stream.named('reset')[0].data as string)).toEqual({ revision: 2, server: t.cache.serverId });
  });

  it('sends a keep-alive comment every watchKeepAliveMs', async () => {
    const stream = await openStream('/eureka/watch');
    await stream.waitForEvents('ready');
    await settle(5);
    expect(stream.events().filter((e) => e.comment !== undefined)).toEqual([]);

    await t.scheduler.advance(t.settings.watchKeepAliveMs);
    await waitFor(() => stream.events().filter((e) => e.comment === 'keep-alive').length === 1, 'a keep-alive');
    await t.scheduler.advance(t.settings.watchKeepAliveMs);
    await waitFor(() => stream.events().filter((e) => e.comment === 'keep-alive').length === 2, 'a second keep-alive');
    expect(stream.isEnded).toBe(false);
  });

  it('answers HEAD with the headers only, without holding the connection', async () => {
    await register('a');
    const res = await rawRequest(await port(), { method: 'HEAD', path: '/eureka/watch' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expectIdentity(res.headers, 1);
    expect(res.body.length).toBe(0);
    expect(watchStatus().streams).toBe(0);
  });

  it('forgets a stream whose client went away', async () => {
    const stream = await openStream('/eureka/watch');
    await stream.waitForEvents('ready');
    expect(watchStatus().streams).toBe(1);
    stream.close();
    await waitFor(() => watchStatus().streams === 0, 'the stream to be forgotten');
    await register('a');
  });

  it('drops a stream whose client stops reading once its unread backlog passes the bound, closing its connection', async () => {
    const p = await port();
    const socket = connect(p, '127.0.0.1');
    try {
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write('GET /eureka/watch HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      socket.pause();
      await waitFor(() => watchStatus().streams === 1, 'the stream to open');

      // Changes of ~100 KB each until the stream is dropped: the bound plus what the kernel buffers on loopback.
      const large = 'x'.repeat(100_000);
      for (let i = 0; watchStatus().streams > 0 && i < (200 * MAX_STREAM_BACKLOG_BYTES) / large.length; i++) t.registry.register(makeInstance({ id: `i-${i}`, metadata: { large } }));

      expect(watchStatus().streams).toBe(0);
      // Ending it gracefully would keep the backlog in memory for as long as the client stays connected without
      // reading, outside watchMaxWatchers.
      const open = (): Promise<number> => new Promise((resolve, reject) => (server as Listening).server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
      await waitFor(async () => (await open()) === 0, 'the connection to be closed');
    } finally {
      socket.destroy();
    }
  });

  it.each([
    ['Last-Event-ID: abc', '/eureka/watch', { 'last-event-id': 'abc' }, /Last-Event-ID must be a revision/],
    ['?since=-1', '/eureka/watch?since=-1', {}, /since must be a revision/],
    ['an over-long ?app=', `/eureka/watch?app=${'x'.repeat(300)}`, {}, /app must be/],
  ])('answers 400 with a readable message to %s', async (_, path, headers, message) => {
    const res = await api().get(path).set(headers);
    expect(res.status).toBe(400);
    expect(res.text).toMatch(message);
    expect(watchStatus().streams).toBe(0);
  });
});

describe('GET /metrics (watch)', () => {
  it('shows watchers by kind, answers by reason, refusals and parked durations apart from the delta', async () => {
    await useApp({ settings: { watchMaxWatchers: 2 } });
    const woken = await park('/eureka/apps/delta?since=0&wait=30s');
    await register('a');
    await woken.response;
    const timedOut = await park('/eureka/apps/delta?since=1&wait=1s');
    await t.scheduler.advance(1000);
    await timedOut.response;
    await park('/eureka/apps/delta?since=1&wait=30s');
    await openStream('/eureka/watch');
    expect((await rawRequest(await port(), { path: '/eureka/apps/delta?since=1&wait=30s' })).status).toBe(429);
    await api().get('/eureka/apps/delta').expect(200);

    const s = parseProm((await api().get('/metrics')).text);
    expect(sample(s, `${P}watchers`, { kind: 'long-poll' })).toBe(1);
    expect(sample(s, `${P}watchers`, { kind: 'stream' })).toBe(1);
    expect(sample(s, `${P}watch_answers_total`, { reason: 'change' })).toBe(1);
    expect(sample(s, `${P}watch_answers_total`, { reason: 'timeout' })).toBe(1);
    expect(sample(s, `${P}watch_answers_total`, { reason: 'shutdown' })).toBe(0);
    expect(sample(s, `${P}watch_refused_total`)).toBe(1);
    expect(sample(s, `${DURATION}_count`, { method: 'GET', route: '/apps/delta?wait', code: '200' })).toBe(2);
    expect(sample(s, `${DURATION}_count`, { method: 'GET', route: '/apps/delta', code: '200' })).toBe(1);
    expect(sample(s, `${DURATION}_count`, { method: 'GET', route: '/apps/delta', code: '429' })).toBe(1);
    expect(sample(s, `${DURATION}_count`, { method: 'GET', route: '/watch', code: '200' })).toBe(1);
  });
});
