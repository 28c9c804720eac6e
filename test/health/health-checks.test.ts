// The health checks on a ManualScheduler with scripted probers: who is probed (only instances whose own client talks
// to this server), when (spread over the interval, within the concurrency), and what the verdicts do to the registry.
import { ManualClock } from '../../src/domain/clock';
import { InstanceInfo } from '../../src/domain/model';
import { Registry } from '../../src/domain/registry';
import { HealthCheckOptions, HealthChecks, tickMs } from '../../src/health/health-checks';
import { Prober, ProbeResult } from '../../src/health/prober';
import { ProbeTarget } from '../../src/health/target';
import { LogFields, Logger } from '../../src/observability/logger';
import { makeInstance } from '../helpers/instances';
import { ManualScheduler } from '../helpers/replication-scheduler';

const APP = 'ORDERS';
const INTERVAL = 10_000;
const OPTIONS: HealthCheckOptions = {
  enabled: true,
  intervalMs: INTERVAL,
  timeoutMs: 2_000,
  failuresBeforeDown: 3,
  successesBeforeUp: 2,
  concurrency: 32,
  valveFraction: 0.5,
  valveMinInstances: 10,
};

/** A prober whose answers a test scripts per instance address; 'hang' never answers (until the timeout aborts it). */
class ScriptedProber implements Prober {
  readonly calls: { readonly target: ProbeTarget; readonly at: number }[] = [];
  answer: (target: ProbeTarget) => ProbeResult | 'hang' = () => ({ outcome: 'healthy', detail: 'HTTP 200' });
  inFlight = 0;
  maxInFlight = 0;
  private readonly pending: (() => void)[] = [];

  constructor(private readonly clock: ManualClock) {}

  probe(target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
    this.calls.push({ target, at: this.clock.now() });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const done = (r: ProbeResult): ProbeResult => {
      this.inFlight--;
      return r;
    };
    const a = this.answer(target);
    if (a !== 'hang') return Promise.resolve(done(a));
    return new Promise((resolve) => {
      const finish = (): void => resolve(done({ outcome: 'timeout', detail: 'aborted' }));
      this.pending.push(finish);
      signal.addEventListener('abort', finish, { once: true });
    });
  }

  /** Hosts probed, in order. */
  hosts(): string[] {
    return this.calls.map((c) => (c.target.kind === 'http' ? c.target.connectHost : c.target.host));
  }
}

interface Fixture {
  readonly clock: ManualClock;
  readonly scheduler: ManualScheduler;
  readonly registry: Registry;
  readonly http: ScriptedProber;
  readonly tcp: ScriptedProber;
  readonly checks: HealthChecks;
  readonly logs: { level: string; message: string; fields?: LogFields }[];
}

function setup(options: Partial<HealthCheckOptions> = {}): Fixture {
  const clock = new ManualClock();
  const scheduler = new ManualScheduler(clock);
  const registry = new Registry({ clock, defaultLeaseDurationMs: 90_000, deltaRetentionMs: 180_000, maxInstancesPerApp: 100_000 });
  const http = new ScriptedProber(clock);
  const tcp = new ScriptedProber(clock);
  const logs: Fixture['logs'] = [];
  const line = (level: string) => (message: string, fields?: LogFields): void => void logs.push({ level, message, fields });
  const logger: Logger = { error: line('error'), warn: line('warn'), info: line('info'), debug: line('debug'), debugEnabled: true };
  const checks = new HealthChecks(registry, clock, scheduler, logger, { http, tcp }, { ...OPTIONS, monotonicMs: () => clock.now(), ...options });
  return { clock, scheduler, registry, http, tcp, checks, logs };
}

/** Instance n at 10.0.<n>: its health URL on its own address. */
function instance(n: number, overrides: Partial<InstanceInfo> = {}): InstanceInfo {
  const ip = `10.0.${Math.floor(n / 250)}.${(n % 250) + 1}`;
  return makeInstance({ id: `i-${n}`, hostName: ip, ipAddr: ip, healthCheckUrl: `http://${ip}:8081/health`, renewalIntervalSecs: 30, ...overrides });
}

const statusOf = (f: Fixture, n: number): string | undefined => f.registry.lease(APP, `i-${n}`)?.record.instance.status;
const sourceOf = (f: Fixture, n: number): string | undefined => f.registry.lease(APP, `i-${n}`)?.record.statusSource;

/**
 * Keeps the clients of `ns` heartbeating to this server while time moves by `ms` (one heartbeat per second). An
 * instance taken on first is probed at once and then every INTERVAL: `k * INTERVAL - 1` from then holds k probes.
 */
async function live(f: Fixture, ns: readonly number[], ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 1000) {
    for (const n of ns) f.registry.renew(APP, `i-${n}`, { isReplication: false });
    await f.scheduler.advance(Math.min(1000, ms - t));
  }
}

describe('HealthChecks', () => {
  describe('pump', () => {
    it('probes each instance whose own client registered here once per interval, spread over it', async () => {
      const f = setup();
      const ns = Array.from({ length: 10 }, (_, n) => n);
      for (const n of ns) f.registry.register(instance(n));
      f.checks.start();
      const t0 = f.clock.now();
      await live(f, ns, 3 * INTERVAL - 1);
      const firstRound = f.http.calls.filter((c) => c.at < t0 + INTERVAL);
      expect(firstRound.map((c) => c.target.kind === 'http' && c.target.connectHost).sort()).toEqual(ns.map((n) => instance(n).ipAddr).sort());
      // No two probes start in the same pass: the starts are spread over the interval.
      const offsets = firstRound.map((c) => c.at - t0).sort((a, b) => a - b);
      for (let i = 1; i < offsets.length; i++) expect(offsets[i] - offsets[i - 1]).toBeGreaterThanOrEqual(tickMs(INTERVAL));
      expect(offsets[offsets.length - 1] - offsets[0]).toBeGreaterThan(INTERVAL / 2);
      // Every instance keeps its place: once per interval.
      const perHost = new Map<string, number>();
      for (const h of f.http.hosts()) perHost.set(h, (perHost.get(h) ?? 0) + 1);
      expect([...perHost.values()].every((count) => count === 3)).toBe(true);
    });

    it('does not probe instances it only hears of from peers', async () => {
      const f = setup();
      f.registry.register(instance(1), true);
      f.checks.start();
      for (let i = 0; i < 20; i++) {
        f.registry.renew(APP, 'i-1', { isReplication: true });
        await f.scheduler.advance(1000);
      }
      expect(f.http.calls).toEqual([]);
      expect(f.checks.stats().instances).toEqual({ probed: 0, off: 0, refused: 0 });
    });

    it('takes an instance on at its first heartbeat of its own client', async () => {
      const f = setup();
      f.registry.register(instance(1), true);
      f.checks.start();
      await live(f, [1], INTERVAL - 1);
      expect(f.http.hosts()).toEqual([instance(1).ipAddr]);
    });

    it('never has more probes in flight than the concurrency, and starts the waiting ones as slots free', async () => {
      const f = setup({ concurrency: 4, timeoutMs: 1_000 });
      const ns = Array.from({ length: 40 }, (_, n) => n);
      for (const n of ns) f.registry.register(instance(n));
      f.http.answer = () => 'hang';
      f.checks.start();
      await live(f, ns, INTERVAL);
      expect(f.http.maxInFlight).toBe(4);
      expect(f.checks.stats().inFlight).toBeLessThanOrEqual(4);
      // Hung probes end at their timeout, freeing slots: more than one round of 4 was probed.
      expect(f.http.calls.length).toBeGreaterThan(4);
      expect(f.checks.stats().probes.timeout).toBe(f.http.calls.length - f.http.inFlight);
      f.http.answer = () => ({ outcome: 'healthy', detail: 'HTTP 200' });
      await live(f, ns, 2 * INTERVAL);
      expect(new Set(f.http.hosts()).size).toBe(40);
      expect(f.http.maxInFlight).toBe(4);
    });

    it('stops probing an instance whose client has not heartbeat here for two renewal intervals', async () => {
      const f = setup({ intervalMs: 1_000 });
      f.registry.register(instance(1, { renewalIntervalSecs: 2 }));
      f.checks.start();
      await live(f, [1], 3_000);
      const probed = f.http.calls.length;
      expect(probed).toBeGreaterThan(0);
      // Its client moved to another server: only replicated heartbeats arrive here now.
      for (let i = 0; i < 10; i++) {
        f.registry.renew(APP, 'i-1', { isReplication: true });
        await f.scheduler.advance(1000);
      }
      expect(f.http.calls.length).toBeLessThanOrEqual(probed + 4);
      expect(f.checks.instance(APP, 'i-1')).toBeUndefined();
      const stopped = f.http.calls.length;
      await f.scheduler.advance(5_000);
      expect(f.http.calls.length).toBe(stopped);
      // Back: its client talks to this server again.
      await live(f, [1], 3_000);
      expect(f.http.calls.length).toBeGreaterThan(stopped);
    });

    it('probes over TCP when the instance asks for it', async () => {
      const f = setup();
      f.registry.register(instance(1, { healthCheckUrl: undefined, metadata: { 'healthcheck.mode': 'tcp' } }));
      f.checks.start();
      await live(f, [1], INTERVAL - 1);
      expect(f.tcp.calls.map((c) => c.target)).toEqual([{ kind: 'tcp', host: instance(1).ipAddr, port: 8080 }]);
      expect(f.http.calls).toEqual([]);
    });

    it('counts a refused health URL, reports it, and never probes it', async () => {
      const f = setup();
      f.registry.register(instance(1, { healthCheckUrl: 'http://169.254.169.254/latest/meta-data/' }));
      f.registry.register(instance(2, { healthCheckUrl: 'http://user:pw@10.0.0.3:8081/health' }));
      f.checks.start();
      await live(f, [1, 2], 2 * INTERVAL);
      expect(f.http.calls).toEqual([]);
      expect(f.checks.stats()).toMatchObject({ refusedTotal: 2, instances: { probed: 0, off: 0, refused: 2 } });
      expect(f.checks.instance(APP, 'i-1')).toMatchObject({ mode: 'refused', target: "health URL host is not the instance's hostName or ipAddr", lastProbeAt: 0 });
    });

    it('answers a probe that does not end within the timeout as a timeout', async () => {
      const f = setup({ timeoutMs: 500 });
      f.registry.register(instance(1));
      f.http.answer = () => 'hang';
      f.checks.start();
      await live(f, [1], INTERVAL - 1);
      expect(f.checks.instance(APP, 'i-1')).toMatchObject({ lastOutcome: 'timeout', lastDetail: 'no answer within the timeout', lastDurationMs: 500, consecutiveFailures: 1 });
      expect(f.checks.stats().durations).toMatchObject({ count: 1, sumSecs: 0.5 });
    });
  });

  describe('verdicts', () => {
    it('marks an instance DOWN after failuresBeforeDown failures and gives it back UP after successesBeforeUp successes', async () => {
      const f = setup();
      f.registry.register(instance(1));
      f.http.answer = () => ({ outcome: 'unhealthy', detail: 'HTTP 503' });
      f.checks.start();
      await live(f, [1], 2 * INTERVAL - 1);
      expect(statusOf(f, 1)).toBe('UP');
      await live(f, [1], INTERVAL);
      expect([statusOf(f, 1), sourceOf(f, 1)]).toEqual(['DOWN', 'health']);
      expect(f.logs).toContainEqual(expect.objectContaining({ level: 'info', message: 'health check failing: instance marked DOWN', fields: expect.objectContaining({ last: 'HTTP 503', failures: 3 }) }));
      f.http.answer = () => ({ outcome: 'healthy', detail: 'HTTP 200' });
      await live(f, [1], INTERVAL);
      expect(statusOf(f, 1)).toBe('DOWN');
      await live(f, [1], INTERVAL);
      expect([statusOf(f, 1), sourceOf(f, 1)]).toEqual(['UP', 'client']);
      expect(f.checks.stats()).toMatchObject({ markedDownTotal: 1, markedUpTotal: 1, markedDown: 0, probes: { unhealthy: 3, healthy: 2 } });
    });

    it("keeps an operator's override over its verdict", async () => {
      const f = setup();
      f.registry.register(instance(1));
      f.registry.statusUpdate(APP, 'i-1', 'UP', undefined);
      f.http.answer = () => ({ outcome: 'error', detail: 'ECONNREFUSED' });
      f.checks.start();
      await live(f, [1], 4 * INTERVAL - 1);
      expect([statusOf(f, 1), sourceOf(f, 1)]).toEqual(['UP', 'override']);
      expect(f.checks.instance(APP, 'i-1')).toMatchObject({ verdictDown: true, consecutiveFailures: 4 });
    });

    it('takes over the verdict an instance carries from its previous prober and clears it only after its own successes', async () => {
      const f = setup();
      // Learnt from the peer that probed it before its client failed over to this server.
      f.registry.register(instance(1, { status: 'DOWN' }), true, undefined, true);
      f.checks.start();
      await live(f, [1], INTERVAL - 1);
      expect(statusOf(f, 1)).toBe('DOWN');
      await live(f, [1], INTERVAL);
      expect([statusOf(f, 1), sourceOf(f, 1)]).toEqual(['UP', 'client']);
    });

    it('clears a verdict an instance carries when it is not probed here (its check is off)', async () => {
      const f = setup();
      f.registry.register(instance(1, { status: 'DOWN', metadata: { 'healthcheck.mode': 'off' } }), true, undefined, true);
      f.checks.start();
      await live(f, [1], INTERVAL + 1000);
      expect([statusOf(f, 1), sourceOf(f, 1)]).toEqual(['UP', 'client']);
      expect(f.http.calls).toEqual([]);
    });

    it('starts the run over when a re-registration changes what is probed', async () => {
      const f = setup();
      f.registry.register(instance(1));
      f.http.answer = () => ({ outcome: 'unhealthy', detail: 'HTTP 500' });
      f.checks.start();
      await live(f, [1], 2 * INTERVAL - 1);
      expect(f.checks.instance(APP, 'i-1')?.consecutiveFailures).toBe(2);
      f.registry.register(instance(1, { healthCheckUrl: `http://${instance(1).ipAddr}:9000/ready` }));
      expect(f.checks.instance(APP, 'i-1')).toMatchObject({ consecutiveFailures: 0, target: `http://${instance(1).ipAddr}:9000/ready` });
    });
  });

  describe('safety valve', () => {
    it('withholds marks DOWN while most probes fail, says so once, and marks again once they pass', async () => {
      const f = setup({ valveMinInstances: 10 });
      const ns = Array.from({ length: 20 }, (_, n) => n);
      for (const n of ns) f.registry.register(instance(n));
      f.checks.start();
      await live(f, ns, INTERVAL);
      // The network of this server fails: every probe fails.
      f.http.answer = () => ({ outcome: 'error', detail: 'ENETUNREACH' });
      await live(f, ns, 4 * INTERVAL);
      expect(ns.map((n) => statusOf(f, n)).every((s) => s === 'UP')).toBe(true);
      expect(f.checks.stats()).toMatchObject({ markedDownTotal: 0, valve: { engaged: true, engagements: 1 } });
      expect(f.checks.stats().withheldTotal).toBeGreaterThan(0);
      expect(f.logs.filter((l) => l.message.startsWith('health-check safety valve engaged'))).toHaveLength(1);
      // The network is back but one instance really is dead: the valve releases and that one is marked DOWN.
      f.http.answer = (t) => (t.kind === 'http' && t.connectHost === instance(7).ipAddr ? { outcome: 'error', detail: 'ECONNREFUSED' } : { outcome: 'healthy', detail: 'HTTP 200' });
      await live(f, ns, 2 * INTERVAL);
      expect(f.checks.stats().valve.engaged).toBe(false);
      expect(f.logs.filter((l) => l.message.startsWith('health-check safety valve released'))).toHaveLength(1);
      expect(ns.filter((n) => statusOf(f, n) === 'DOWN')).toEqual([7]);
    });

    it('lets instances that pass be cleared while it is engaged', async () => {
      const f = setup({ valveMinInstances: 4 });
      const ns = [0, 1, 2, 3, 4];
      for (const n of ns) f.registry.register(instance(n, n === 0 ? { status: 'DOWN' } : {}), true, undefined, n === 0);
      f.http.answer = (t) => (t.kind === 'http' && t.connectHost === instance(0).ipAddr ? { outcome: 'healthy', detail: 'HTTP 200' } : { outcome: 'error', detail: 'ENETUNREACH' });
      f.checks.start();
      await live(f, ns, 3 * INTERVAL);
      expect(f.checks.stats().valve.engaged).toBe(true);
      expect(statusOf(f, 0)).toBe('UP');
    });
  });

  describe('stats', () => {
    it('reports the instances by mode, the probes by outcome and their durations', async () => {
      const f = setup();
      f.registry.register(instance(1));
      f.registry.register(instance(2, { healthCheckUrl: undefined }));
      f.checks.start();
      await live(f, [1, 2], INTERVAL - 1);
      expect(f.checks.stats()).toMatchObject({ enabled: true, intervalMs: INTERVAL, instances: { probed: 1, off: 1, refused: 0 }, probes: { healthy: 1, unhealthy: 0, timeout: 0, error: 0 }, durations: { count: 1 } });
      expect(f.checks.instance(APP, 'i-2')).toMatchObject({ mode: 'off', target: 'no health URL' });
      expect(f.checks.instance(APP, 'i-1')).toMatchObject({ mode: 'http', target: `http://${instance(1).ipAddr}:8081/health`, lastOutcome: 'healthy', verdictDown: false });
    });
  });

  describe('disabled', () => {
    it('probes nothing and clears a verdict an instance carries as soon as its own client talks here', async () => {
      const f = setup({ enabled: false });
      f.registry.register(instance(1, { status: 'DOWN' }), true, undefined, true);
      f.checks.start();
      await f.scheduler.advance(INTERVAL);
      expect(statusOf(f, 1)).toBe('DOWN');
      f.registry.renew(APP, 'i-1', { isReplication: false });
      await f.scheduler.advance(0);
      expect([statusOf(f, 1), sourceOf(f, 1)]).toEqual(['UP', 'client']);
      expect(f.http.calls).toEqual([]);
      expect(f.scheduler.pending).toBe(0);
      expect(f.checks.stats()).toMatchObject({ enabled: false, markedUpTotal: 1 });
    });
  });

  describe('close', () => {
    it('stops probing and detaches from the registry', async () => {
      const f = setup();
      f.registry.register(instance(1));
      f.checks.start();
      f.checks.close();
      await live(f, [1], 2 * INTERVAL);
      expect(f.http.calls).toEqual([]);
    });

    it('ends the probes in flight', async () => {
      const f = setup();
      f.registry.register(instance(1));
      f.http.answer = () => 'hang';
      f.checks.start();
      await f.scheduler.advance(100);
      expect(f.http.inFlight).toBe(1);
      f.checks.close();
      await f.scheduler.runDue();
      expect(f.http.inFlight).toBe(0);
      expect(f.checks.stats().inFlight).toBe(0);
    });
  });
});
