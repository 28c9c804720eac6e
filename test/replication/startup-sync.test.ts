import { applicationDocumentJson, applicationsDocumentJson } from '../../src/codecs/json';
import { AntiEntropy } from '../../src/replication/anti-entropy';
import { ManualClock } from '../../src/domain/clock';
import { InstanceInfo } from '../../src/domain/model';
import { RegistryFetch } from '../../src/replication/peer-client';
import { SyncAttempt, syncFromPeers, syncOnce, SyncOptions, SyncState } from '../../src/replication/startup-sync';
import { makeInstance } from '../helpers/instances';
import { RecordingLogger } from '../helpers/replication-fixtures';
import { ScriptedPeerClient } from '../helpers/replication-peer-client';
import { settle } from '../helpers/replication-scheduler';
import { makeRegistry } from '../domain/registry-fixture';

const LIMITS = { maxNameLength: 255, maxMetadataEntries: 100, maxVipAddresses: 16, defaultRenewalIntervalSecs: 30, defaultDurationSecs: 90 };
const OPTIONS: SyncOptions = { attempts: 5, retryWaitMs: 1000, failureMode: 'refuse', emptyWaitMs: 20_000 };

/** A peer's full registry as it serves it on GET apps/ (JSON), holding these instances. */
function registryDocument(instances: InstanceInfo[]): string {
  const peer = makeRegistry();
  for (const i of instances) peer.registry.register(i);
  return applicationsDocumentJson(peer.registry.applications(), 7, peer.registry.hashcode());
}

const answer = (body: string): RegistryFetch => ({ kind: 'ok', body });
const down: RegistryFetch = { kind: 'failed', reason: 'connect ECONNREFUSED' };

function peer(url: string, ...fetches: RegistryFetch[]): ScriptedPeerClient {
  const client = new ScriptedPeerClient(url);
  client.fetchScript.push(...fetches);
  return client;
}

/** A sleep that only moves the manual clock, recording each pause and what `observe` saw before it. */
function fakeSleep<T>(clock: ManualClock, observe: () => T) {
  const pauses: number[] = [];
  const seen: T[] = [];
  const sleep = async (ms: number): Promise<void> => {
    seen.push(observe());
    pauses.push(ms);
    clock.advance(ms);
  };
  return { sleep, pauses, seen };
}

/** A sync function answering from a script of attempts (answered counts); records when it ran. */
function scriptedSync(clock: ManualClock, answers: number[], observe: () => unknown = () => undefined) {
  const calls: { at: number; seen: unknown }[] = [];
  const sync = async (): Promise<SyncAttempt> => {
    calls.push({ at: clock.now(), seen: observe() });
    const answered = answers.length > 0 ? answers.shift()! : 0;
    return { answered, installed: answered };
  };
  return { sync, calls };
}

const PEERS = [new ScriptedPeerClient()];

describe('startup sync', () => {
  describe('syncOnce', () => {
    it("installs every instance of an answering peer's registry as a replicated registration", async () => {
      const { registry, clock, events } = makeRegistry();
      const a = peer('http://a/', answer(registryDocument([makeInstance({ id: 'o1' }), makeInstance({ id: 'o2' }), makeInstance({ id: 'b1', app: 'BILLING' })])));
      const result = await syncOnce([a], registry, clock, LIMITS, new RecordingLogger());
      expect(result).toEqual({ answered: 1, installed: 3 });
      expect([...registry.leases()].map((l) => `${l.record.instance.app}/${l.record.instance.id}`)).toEqual(['ORDERS/o1', 'ORDERS/o2', 'BILLING/b1']);
      expect(events.map((e) => e.type)).toEqual(['registered', 'registered', 'registered']);
      expect(events.every((e) => 'isReplication' in e && e.isReplication)).toBe(true);
    });

    it("keeps each instance's status, override, metadata and interval, with a fresh lease", async () => {
      const { registry, clock } = makeRegistry();
      clock.advance(3_600_000);
      const doc = registryDocument([
        makeInstance({ id: 'o1', status: 'DOWN', metadata: { zone: 'b' }, renewalIntervalSecs: 10, durationSecs: 20, lastDirtyTimestamp: 77 }),
        makeInstance({ id: 'o2', overriddenStatus: 'OUT_OF_SERVICE' }),
      ]);
      await syncOnce([peer('http://a/', answer(doc))], registry, clock, LIMITS, new RecordingLogger());
      const o1 = registry.lease('ORDERS', 'o1')!;
      expect(o1.record.instance).toMatchObject({ status: 'DOWN', metadata: { zone: 'b' }, renewalIntervalSecs: 10, durationSecs: 20, lastDirtyTimestamp: 77 });
      expect(o1.lastRenewalTimestamp).toBe(clock.now());
      expect(o1.durationMs).toBe(20_000);
      expect(registry.lease('ORDERS', 'o2')!.record.instance.status).toBe('OUT_OF_SERVICE');
      expect(registry.statusOverrides().get('ORDERS/o2')).toBe('OUT_OF_SERVICE');
    });

    it('merges the registries of several peers and skips those that do not answer', async () => {
      const { registry, clock } = makeRegistry();
      const logger = new RecordingLogger();
      const a = peer('http://a/', down);
      const b = peer('http://b/', answer(registryDocument([makeInstance({ id: 'o1' })])));
      const c = peer('http://c/', answer(registryDocument([makeInstance({ id: 'o2' })])));
      expect(await syncOnce([a, b, c], registry, clock, LIMITS, logger)).toEqual({ answered: 2, installed: 2 });
      expect(registry.size).toBe(2);
      expect(logger.lines.find((l) => l.message === 'sync: peer did not answer')?.fields).toMatchObject({ peer: 'http://a/', reason: 'connect ECONNREFUSED' });
      expect([a.fetches, b.fetches, c.fetches]).toEqual([1, 1, 1]);
    });

    it('counts a peer with an empty registry as answering', async () => {
      const { registry, clock } = makeRegistry();
      expect(await syncOnce([peer('http://a/', answer(registryDocument([])))], registry, clock, LIMITS, new RecordingLogger())).toEqual({ answered: 1, installed: 0 });
    });

    it.each([
      ['a body that is not JSON', 'Service Unavailable'],
      ['a JSON body that is not an applications document', '{"instance":{}}'],
      ['an instance that cannot be decoded', '{"applications":{"application":[{"name":"ORDERS","instance":[{"hostName":"h","port":{"$":"eighty"}}]}]}}'],
    ])('does not count a peer that answered %s, and logs it', async (_what, body) => {
      const { registry, clock } = makeRegistry();
      const logger = new RecordingLogger();
      expect(await syncOnce([peer('http://a/', answer(body))], registry, clock, LIMITS, logger)).toEqual({ answered: 0, installed: 0 });
      expect(logger.messages('warn')).toEqual(['sync: unreadable registry from peer']);
      expect(registry.size).toBe(0);
    });

    it('skips instances that fail validation and installs the rest', async () => {
      const { registry, clock } = makeRegistry();
      const good = JSON.parse(registryDocument([makeInstance({ id: 'o1' })]));
      good.applications.application[0].instance.push({ instanceId: 'no-host', app: 'ORDERS', ipAddr: '10.0.0.1', dataCenterInfo: { name: 'MyOwn' } });
      const result = await syncOnce([peer('http://a/', answer(JSON.stringify(good)))], registry, clock, LIMITS, new RecordingLogger());
      expect(result).toEqual({ answered: 1, installed: 1 });
      expect(registry.lease('ORDERS', 'no-host')).toBeUndefined();
    });

    it('reads documents from older servers with single objects instead of arrays', async () => {
      const { registry, clock } = makeRegistry();
      const doc = JSON.parse(registryDocument([makeInstance({ id: 'o1' })]));
      doc.applications.application = doc.applications.application[0];
      doc.applications.application.instance = doc.applications.application.instance[0];
      expect(await syncOnce([peer('http://a/', answer(JSON.stringify(doc)))], registry, clock, LIMITS, new RecordingLogger())).toEqual({ answered: 1, installed: 1 });
    });

    it('answers nothing for no peers', async () => {
      const { registry, clock } = makeRegistry();
      expect(await syncOnce([], registry, clock, LIMITS, new RecordingLogger())).toEqual({ answered: 0, installed: 0 });
    });
  });

  describe('SyncState', () => {
    describe('isReady', () => {
      it('is false before sync and true once synced', () => {
        const state = new SyncState(new ManualClock());
        expect(state.isReady()).toBe(false);
        state.markSynced();
        expect(state.isReady()).toBe(true);
      });

      it('becomes true when the refusal window ends', () => {
        const clock = new ManualClock();
        const state = new SyncState(clock);
        state.refuseReadsFor(1000);
        clock.advance(999);
        expect(state.isReady()).toBe(false);
        clock.advance(1);
        expect(state.isReady()).toBe(true);
      });
    });

    describe('allowsRegistryReads', () => {
      it('allows reads while the first sync is still running', () => {
        const clock = new ManualClock();
        expect(new SyncState(clock).allowsRegistryReads(clock.now())).toBe(true);
      });

      it('refuses reads during the refusal window and allows them after it', () => {
        const clock = new ManualClock();
        const state = new SyncState(clock);
        state.refuseReadsFor(1000);
        expect(state.allowsRegistryReads(clock.now())).toBe(false);
        expect(state.allowsRegistryReads(clock.now() + 999)).toBe(false);
        expect(state.allowsRegistryReads(clock.now() + 1000)).toBe(true);
      });

      it('allows reads as soon as a sync succeeds during the refusal window', () => {
        const clock = new ManualClock();
        const state = new SyncState(clock);
        state.refuseReadsFor(1000);
        state.markSynced();
        expect(state.allowsRegistryReads(clock.now())).toBe(true);
        expect(state.readsRefusedUntil).toBe(0);
        expect(state.remainingRefusalMs()).toBe(0);
      });
    });

    describe('inProgress', () => {
      it('is true until synced', () => {
        const state = new SyncState(new ManualClock());
        expect(state.inProgress).toBe(true);
        state.markSynced();
        expect(state.inProgress).toBe(false);
      });

      it('is false once sync gave up and refuses reads, even for a window of 0', () => {
        const state = new SyncState(new ManualClock());
        state.refuseReadsFor(0);
        expect(state.inProgress).toBe(false);
      });
    });

    describe('remainingRefusalMs', () => {
      it('counts down the refusal window', () => {
        const clock = new ManualClock();
        const state = new SyncState(clock);
        expect(state.remainingRefusalMs()).toBe(0);
        state.refuseReadsFor(1000);
        expect(state.readsRefusedUntil).toBe(clock.now() + 1000);
        clock.advance(400);
        expect(state.remainingRefusalMs()).toBe(600);
        clock.advance(5000);
        expect(state.remainingRefusalMs()).toBe(0);
      });
    });
  });

  describe('syncFromPeers', () => {
    function run(answers: number[], options: Partial<SyncOptions> = {}, peers = PEERS) {
      const clock = new ManualClock();
      const state = new SyncState(clock);
      const observe = () => ({ ready: state.isReady(), reads: state.allowsRegistryReads(clock.now()), at: clock.now() });
      const { sleep, pauses, seen } = fakeSleep(clock, observe);
      const { sync, calls } = scriptedSync(clock, answers, observe);
      const logger = new RecordingLogger();
      const start = clock.now();
      const done = syncFromPeers(peers, sync, state, { ...OPTIONS, ...options }, sleep, logger);
      return { clock, state, done, pauses, seen, calls, logger, start };
    }

    it('is ready at once, without syncing, when there are no peers', async () => {
      const { done, state, calls, pauses } = run([], {}, []);
      await done;
      expect(state.isReady()).toBe(true);
      expect(calls).toEqual([]);
      expect(pauses).toEqual([]);
    });

    it('is synced after the first attempt when a peer answers', async () => {
      const { done, state, calls, pauses, logger, clock } = run([1]);
      await done;
      expect(state.isReady()).toBe(true);
      expect(state.allowsRegistryReads(clock.now())).toBe(true);
      expect(calls).toHaveLength(1);
      expect(pauses).toEqual([]);
      expect(logger.messages('info')).toEqual(['synced registry from peers']);
    });

    it('keeps registry reads open while the first attempts run', async () => {
      const { done, calls } = run([0, 0, 1]);
      await done;
      expect(calls.map((c) => c.seen)).toEqual(calls.map(() => expect.objectContaining({ ready: false, reads: true })));
    });

    it('retries with a doubling pause until a peer answers', async () => {
      const { done, state, calls, pauses, start } = run([0, 0, 1]);
      await done;
      expect(pauses).toEqual([1000, 2000]);
      expect(calls.map((c) => c.at - start)).toEqual([0, 1000, 3000]);
      expect(state.isReady()).toBe(true);
    });

    it('caps the pause at 8 × retryWaitMs and does not pause after the last attempt', async () => {
      const { done, pauses, calls } = run([], { attempts: 7, failureMode: 'serve' });
      await done;
      expect(calls).toHaveLength(7);
      expect(pauses).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    });

    it('makes one attempt when attempts is 0', async () => {
      const { done, calls, pauses } = run([], { attempts: 0, failureMode: 'serve' });
      await done;
      expect(calls).toHaveLength(1);
      expect(pauses).toEqual([]);
    });

    describe("with failureMode 'serve'", () => {
      it('is ready with reads allowed when no peer answers', async () => {
        const { done, state, clock, logger, calls } = run([], { failureMode: 'serve' });
        await done;
        expect(calls).toHaveLength(5);
        expect(state.isReady()).toBe(true);
        expect(state.allowsRegistryReads(clock.now())).toBe(true);
        expect(logger.messages('warn')).toEqual(['no peer answered the startup sync: serving the registry as it is']);
      });
    });

    describe("with failureMode 'refuse'", () => {
      it('refuses registry reads until emptyWaitMs has passed, retrying meanwhile', async () => {
        const { done, state, clock, pauses, seen, calls, start, logger } = run([]);
        await done;
        // 5 attempts with pauses of 1, 2, 4, 8 s; then reads are refused for 20 s, retried every 8 s.
        expect(pauses).toEqual([1000, 2000, 4000, 8000, 8000, 8000, 4000]);
        expect(calls.map((c) => c.at - start)).toEqual([0, 1000, 3000, 7000, 15000, 23000, 31000]);
        expect(seen.slice(4)).toEqual([
          { ready: false, reads: false, at: start + 15000 },
          { ready: false, reads: false, at: start + 23000 },
          { ready: false, reads: false, at: start + 31000 },
        ]);
        expect(calls.slice(5).map((c) => c.seen)).toEqual([expect.objectContaining({ ready: false, reads: false }), expect.objectContaining({ ready: false, reads: false })]);
        expect(clock.now() - start).toBe(35000);
        expect(state.isReady()).toBe(true);
        expect(state.allowsRegistryReads(clock.now())).toBe(true);
        expect(logger.lines.find((l) => l.level === 'warn')?.fields).toEqual({ waitMs: 20_000 });
      });

      it('opens reads as soon as a background attempt reaches a peer', async () => {
        const { done, state, clock, calls, start, logger } = run([0, 0, 0, 0, 0, 0, 1]);
        await done;
        expect(calls).toHaveLength(7);
        expect(clock.now() - start).toBe(31000);
        expect(state.isReady()).toBe(true);
        expect(state.allowsRegistryReads(clock.now())).toBe(true);
        expect(state.readsRefusedUntil).toBe(0);
        expect(logger.messages('info')).toEqual(['synced registry from peers after all']);
      });

      it('is ready at once when emptyWaitMs is 0', async () => {
        const { done, state, calls, clock } = run([], { emptyWaitMs: 0 });
        await done;
        expect(calls).toHaveLength(5);
        expect(state.isReady()).toBe(true);
        expect(state.allowsRegistryReads(clock.now())).toBe(true);
      });

      it('does not resolve while reads are refused', async () => {
        const clock = new ManualClock();
        const state = new SyncState(clock);
        const pending: (() => void)[] = [];
        const sleep = (ms: number): Promise<void> =>
          new Promise((resolve) =>
            pending.push(() => {
              clock.advance(ms);
              resolve();
            }),
          );
        const { sync } = scriptedSync(clock, []);
        let resolved = false;
        void syncFromPeers(PEERS, sync, state, { ...OPTIONS, attempts: 1 }, sleep, new RecordingLogger()).then(() => (resolved = true));
        await settle();
        expect(pending).toHaveLength(1);
        expect(resolved).toBe(false);
        expect(state.allowsRegistryReads(clock.now())).toBe(false);
        expect(state.remainingRefusalMs()).toBe(20_000);
        pending.shift()!();
        await settle();
        expect(resolved).toBe(false);
        expect(state.remainingRefusalMs()).toBe(12_000);
      });
    });

    describe('with syncOnce and peer clients', () => {
      it('installs the first answering peer registry as replicated after failed attempts', async () => {
        const { registry, clock, events } = makeRegistry();
        const a = peer('http://a/', down, down, answer(registryDocument([makeInstance({ id: 'o1' }), makeInstance({ id: 'o2' })])));
        const b = peer('http://b/', down, down, down);
        const state = new SyncState(clock);
        const logger = new RecordingLogger();
        const { sleep, pauses } = fakeSleep(clock, () => undefined);
        await syncFromPeers([a, b], () => syncOnce([a, b], registry, clock, LIMITS, logger), state, OPTIONS, sleep, logger);
        expect(pauses).toEqual([1000, 2000]);
        expect([a.fetches, b.fetches]).toEqual([3, 3]);
        expect(state.isReady()).toBe(true);
        expect(registry.size).toBe(2);
        expect(events.map((e) => [e.type, 'isReplication' in e && e.isReplication])).toEqual([
          ['registered', true],
          ['registered', true],
        ]);
        expect(logger.lines.find((l) => l.message === 'synced registry from peers')?.fields).toEqual({ peers: 1, instances: 2, attempt: 3 });
      });

      it('refuses reads with an empty registry when no peer ever answers, then serves after emptyWaitMs', async () => {
        const { registry, clock } = makeRegistry();
        const a = peer('http://a/');
        const state = new SyncState(clock);
        const { sleep, seen } = fakeSleep(clock, () => state.allowsRegistryReads(clock.now()));
        await syncFromPeers([a], () => syncOnce([a], registry, clock, LIMITS, new RecordingLogger()), state, { ...OPTIONS, attempts: 2 }, sleep, new RecordingLogger());
        expect(seen).toEqual([true, false, false, false]);
        expect(state.allowsRegistryReads(clock.now())).toBe(true);
        expect(registry.size).toBe(0);
        expect(a.fetches).toBe(4);
      });
    });
  });
  describe('syncOnce from a zone-registry peer', () => {
    it('reads it application by application, naming them from its digest, and installs every instance', async () => {
      const { registry, clock } = makeRegistry();
      const source = makeRegistry();
      for (let a = 0; a < 20; a++) for (let i = 0; i < 3; i++) source.registry.register(makeInstance({ app: `APP-${a}`, id: `i-${a}-${i}` }));
      const side = new AntiEntropy(source.registry, source.clock, { after: () => () => undefined }, new RecordingLogger(), [], LIMITS, { intervalMs: 1000, jitterFraction: 0, random: () => 0.5, maxRepairItems: 250, maxRepairBytes: 1 << 20 });
      const requested: string[] = [];
      const client = {
        url: 'http://zr/eureka/',
        compare: async (_path: string, body: string) => ({ kind: 'answer' as const, status: 200, body: side.answerDigest(body) ?? '' }),
        fetchApplication: async (name: string): Promise<RegistryFetch> => {
          requested.push(name);
          return answer(applicationDocumentJson(name, source.registry.application(name)));
        },
        fetchRegistry: async (): Promise<RegistryFetch> => {
          throw new Error('the whole registry must not be fetched');
        },
        sendBatch: async () => ({ kind: 'failed' as const, reason: 'unused' }),
        close: () => undefined,
      };
      expect(await syncOnce([client], registry, clock, LIMITS, new RecordingLogger())).toEqual({ answered: 1, installed: 60 });
      expect(requested).toHaveLength(20);
      expect(registry.size).toBe(60);
    });

    it('asks for more applications while it installs, until the answers waiting to be installed reach maxWaitingChars', async () => {
      const { registry, clock } = makeRegistry();
      const source = makeRegistry();
      for (let a = 0; a < 40; a++) for (let i = 0; i < 2; i++) source.registry.register(makeInstance({ app: `APP-${a}`, id: `i-${a}-${i}` }));
      const side = new AntiEntropy(source.registry, source.clock, { after: () => () => undefined }, new RecordingLogger(), [], LIMITS, { intervalMs: 1000, jitterFraction: 0, random: () => 0.5, maxRepairItems: 250, maxRepairBytes: 1 << 20 });
      const document = (name: string) => applicationDocumentJson(name, source.registry.application(name));
      const limit = 5 * document('APP-0').length;
      const received = new Map<string, number>();
      const installedApps = new Set<string>();
      // The text of the answers received and not installed yet (an application is installed in one go).
      const waiting = () => [...received].reduce((sum, [name, chars]) => sum + (installedApps.has(name) ? 0 : chars), 0);
      const waitingWhenAsked: number[] = [];
      const waitingWhenInstalling: number[] = [];
      registry.subscribe((e) => {
        if (e.type !== 'registered' || installedApps.has(e.view.record.instance.app)) return;
        waitingWhenInstalling.push(waiting());
        installedApps.add(e.view.record.instance.app);
      });
      const client = {
        url: 'http://zr/eureka/',
        compare: async (_path: string, body: string) => ({ kind: 'answer' as const, status: 200, body: side.answerDigest(body) ?? '' }),
        fetchApplication: async (name: string): Promise<RegistryFetch> => {
          waitingWhenAsked.push(waiting());
          const body = document(name);
          await Promise.resolve();
          received.set(name, body.length);
          return answer(body);
        },
        fetchRegistry: async (): Promise<RegistryFetch> => {
          throw new Error('the whole registry must not be fetched');
        },
        sendBatch: async () => ({ kind: 'failed' as const, reason: 'unused' }),
        close: () => undefined,
      };
      expect(await syncOnce([client], registry, clock, LIMITS, new RecordingLogger(), limit)).toEqual({ answered: 1, installed: 80 });
      expect(waitingWhenAsked).toHaveLength(40);
      // Asked while answers were waiting (fetching goes on during installs), but never far past the limit: at most the
      // eight answers in flight beyond it (all forty would be waiting if it asked for each as soon as it could).
      const bound = limit + 8 * 1.1 * document('APP-0').length;
      expect(Math.max(...waitingWhenAsked)).toBeGreaterThan(0);
      expect(Math.max(...waitingWhenAsked)).toBeLessThan(bound);
      expect(Math.max(...waitingWhenInstalling)).toBeLessThan(bound);
    });

    it('counts each instance once when every peer hands over the same ones', async () => {
      const { registry, clock } = makeRegistry();
      const doc = registryDocument([makeInstance({ id: 'a' }), makeInstance({ id: 'b' }), makeInstance({ id: 'c' })]);
      const peers = [peer('http://p1/eureka/', answer(doc)), peer('http://p2/eureka/', answer(doc))];
      expect(await syncOnce(peers, registry, clock, LIMITS, new RecordingLogger())).toEqual({ answered: 2, installed: 3 });
    });

    it('reads a peer that does not name its applications (a Java server: 404) in one document', async () => {
      const { registry, clock } = makeRegistry();
      const client = peer('http://java/eureka/', answer(registryDocument([makeInstance({ id: 'a' }), makeInstance({ id: 'b' })])));
      const javaLike = Object.assign(client, { compare: async () => ({ kind: 'answer' as const, status: 404, body: '' }), fetchApplication: async () => down });
      expect(await syncOnce([javaLike], registry, clock, LIMITS, new RecordingLogger())).toEqual({ answered: 1, installed: 2 });
    });
  });
});
