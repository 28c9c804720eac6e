// Active health checks: this server probes the instances whose own client talks to it (client registrations and
// heartbeats, never replicated ones), so each instance is probed once, from its zone. Probes are spread over the
// interval and bounded in number; results go through the policy and the safety valve, and verdicts into the registry
// (Registry.healthVerdict), which replicates them like any other status change. Eureka never reads healthCheckUrl:
// an instance whose heartbeat thread lives while its service hangs stays UP there.
import { Clock } from '../domain/clock';
import { Registry, RegistryEvent } from '../domain/registry';
import { unreachable } from '../domain/unreachable';
import { Logger } from '../observability/logger';
import { HealthCheckPort, HealthCheckStats, InstanceHealth, PROBE_DURATION_BUCKETS, ProbeOutcome } from '../observability/server-status';
import { Scheduler } from '../scheduling/scheduler';
import { DueQueue } from './due-queue';
import { judge, NO_RUN, ProbeRun, SafetyValve } from './policy';
import { Prober, ProbeResult, TIMED_OUT } from './prober';
import { decideTarget, describeTarget, TargetDecision, Thresholds } from './target';

/** Settings of the health checks (units in the names); see the configuration reference. */
export interface HealthCheckOptions extends Thresholds {
  readonly enabled: boolean;
  /** Most probes in flight at once. */
  readonly concurrency: number;
  /** Above this fraction of failed probes in an interval the valve stops marking DOWN. */
  readonly valveFraction: number;
  /** Below this many probes in an interval the valve never engages. */
  readonly valveMinInstances: number;
  /** A monotonic time in ms for probe durations (default performance.now). */
  readonly monotonicMs?: () => number;
}

/** The adapters, one per mode. */
export interface Probers {
  readonly http: Prober;
  readonly tcp: Prober;
}

/** An instance whose client talks to this server. */
interface Tracked {
  readonly key: string;
  readonly app: string;
  readonly id: string;
  /** Last time its own client registered or heartbeat here, ms. */
  lastClientAt: number;
  renewalIntervalMs: number;
  decision: TargetDecision;
  /** What `decision` was made from, to tell when a re-registration changed it. */
  decidedFrom: string;
  run: ProbeRun;
  dueAt: number;
  queued: boolean;
  dropped: boolean;
  lastProbeAt: number;
  lastOutcome?: ProbeOutcome;
  lastDetail?: string;
  lastDurationMs?: number;
}

// Offsets of new instances within the interval follow the golden ratio: spread evenly however many arrive at once.
const GOLDEN = 0.6180339887498949;

/** Instances without a heartbeat of their own client for this many renewal intervals are left to their new server. */
export const OWNERSHIP_RENEWAL_INTERVALS = 2;

/** The health checks of one server. */
export class HealthChecks implements HealthCheckPort {
  private readonly byKey = new Map<string, Tracked>();
  // The heartbeat path finds its instance by the lease object: no key string built per heartbeat.
  private readonly byLease = new WeakMap<object, Tracked>();
  private readonly queue = new DueQueue<Tracked>();
  private readonly valve: SafetyValve;
  private readonly unsubscribe: () => void;
  private readonly defaults: Thresholds;
  private readonly monotonicMs: () => number;
  // The probes in flight, by their abort: close() ends them at once.
  private readonly inFlight = new Set<AbortController>();
  private sequence = 0;
  private started = false;
  private closed = false;
  private readonly counters = { probes: { healthy: 0, unhealthy: 0, timeout: 0, error: 0 } as Record<ProbeOutcome, number>, refused: 0, markedDown: 0, markedUp: 0, withheld: 0 };
  private readonly durations = { counts: new Array<number>(PROBE_DURATION_BUCKETS.length + 1).fill(0), sumSecs: 0, count: 0 };

  constructor(
    private readonly registry: Registry,
    private readonly clock: Clock,
    private readonly scheduler: Pick<Scheduler, 'every' | 'after'>,
    private readonly logger: Logger,
    private readonly probers: Probers,
    private readonly options: HealthCheckOptions,
  ) {
    // A probe longer than the interval would overlap the next one.
    this.defaults = { intervalMs: options.intervalMs, timeoutMs: Math.min(options.timeoutMs, options.intervalMs), failuresBeforeDown: options.failuresBeforeDown, successesBeforeUp: options.successesBeforeUp };
    this.valve = new SafetyValve({ windowMs: options.intervalMs, fraction: options.valveFraction, minProbes: options.valveMinInstances });
    this.monotonicMs = options.monotonicMs ?? (() => performance.now());
    this.unsubscribe = registry.subscribe(options.enabled ? (e) => this.onEvent(e) : (e) => this.onEventWhileOff(e));
  }

  /** Starts probing (after startup sync): a pass over the due instances every tick, a fraction of the interval. */
  start(): void {
    if (!this.options.enabled || this.started || this.closed) return;
    this.started = true;
    this.scheduler.every('health-checks', tickMs(this.options.intervalMs), () => this.pump());
  }

  /** Stops probing, ends the probes in flight and detaches from the registry. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const controller of this.inFlight) controller.abort();
  }

  /** Starts the probes that are due, as many as the concurrency allows. */
  pump(): void {
    if (!this.started || this.closed) return;
    const now = this.clock.now();
    for (let next = this.queue.peek(); next !== undefined && next.dueAt <= now && this.inFlight.size < this.options.concurrency; next = this.queue.peek()) {
      const t = this.queue.pop() as Tracked;
      t.queued = false;
      if (t.dropped) continue;
      if (now - t.lastClientAt > OWNERSHIP_RENEWAL_INTERVALS * t.renewalIntervalMs) {
        this.release(t, 'its client no longer heartbeats here');
        continue;
      }
      if (t.decision.kind === 'probe') {
        this.probe(t, t.decision);
        continue;
      }
      // Not probed here: a verdict it still carries (from a previous prober, or before it opted out) is cleared.
      if (this.registry.isHealthDown(t.app, t.id)) this.verdict(t, 'up', `not probed here: ${t.decision.reason}`);
      this.enqueue(t, t.dueAt + this.defaults.intervalMs, now);
    }
  }

  // HealthCheckPort -------------------------------------------------------------------------------------------------

  stats(): HealthCheckStats {
    const now = this.clock.now();
    const instances = { probed: 0, off: 0, refused: 0 };
    let markedDown = 0;
    for (const t of this.byKey.values()) {
      instances[t.decision.kind === 'probe' ? 'probed' : t.decision.kind]++;
      if (this.registry.isHealthDown(t.app, t.id)) markedDown++;
    }
    const c = this.counters;
    return {
      enabled: this.options.enabled,
      intervalMs: this.options.intervalMs,
      instances,
      markedDown,
      inFlight: this.inFlight.size,
      probes: { ...c.probes },
      refusedTotal: c.refused,
      markedDownTotal: c.markedDown,
      markedUpTotal: c.markedUp,
      withheldTotal: c.withheld,
      valve: this.valve.state(now),
      durations: { counts: [...this.durations.counts], sumSecs: this.durations.sumSecs, count: this.durations.count },
    };
  }

  instance(app: string, id: string): InstanceHealth | undefined {
    const t = this.byKey.get(`${app}/${id}`);
    if (t === undefined) return undefined;
    const d = t.decision;
    return {
      mode: d.kind === 'probe' ? d.target.kind : d.kind,
      target: d.kind === 'probe' ? describeTarget(d.target) : d.reason,
      consecutiveFailures: t.run.consecutiveFailures,
      consecutiveSuccesses: t.run.consecutiveSuccesses,
      lastProbeAt: t.lastProbeAt,
      ...(t.lastOutcome !== undefined && { lastOutcome: t.lastOutcome, lastDetail: t.lastDetail, lastDurationMs: t.lastDurationMs }),
      verdictDown: this.registry.isHealthDown(app, id),
    };
  }

  // Registry events -------------------------------------------------------------------------------------------------

  private onEvent(e: RegistryEvent): void {
    switch (e.type) {
      case 'renewed': {
        // The heartbeat path: a WeakMap lookup and a field write.
        if (e.isReplication) return;
        const t = this.byLease.get(e.view);
        if (t !== undefined && !t.dropped) t.lastClientAt = this.clock.now();
        else this.track(e.app, e.id);
        return;
      }
      case 'registered':
        if (!e.isReplication) this.track(e.view.record.instance.app, e.view.record.instance.id);
        else this.refreshDecision(e.view.record.instance.app, e.view.record.instance.id);
        return;
      case 'metadata-updated':
        this.refreshDecision(e.view.record.instance.app, e.view.record.instance.id);
        return;
      case 'cancelled':
      case 'evicted': {
        const t = this.byKey.get(`${e.view.record.instance.app}/${e.view.record.instance.id}`);
        if (t !== undefined) this.release(t, undefined);
        return;
      }
      case 'status-updated':
      case 'status-override-deleted':
      case 'health-changed':
        return;
      default:
        unreachable(e);
    }
  }

  // With health checks off here, a verdict an instance carries (its previous server probed it) is cleared as soon as
  // its own client talks to this server: nobody would ever clear it otherwise.
  private onEventWhileOff(e: RegistryEvent): void {
    if ((e.type !== 'renewed' && e.type !== 'registered') || e.isReplication || e.view.record.statusSource !== 'health') return;
    const { app, id } = e.view.record.instance;
    // After the event's dispatch: the other listeners see the heartbeat before the status change it causes.
    queueMicrotask(() => {
      if (!this.closed && this.registry.healthVerdict(app, id, 'up') === 'changed') {
        this.counters.markedUp++;
        this.logger.info('health verdict cleared: health checks are off on this server, which the instance now talks to', { app, id });
      }
    });
  }

  // Takes on (or refreshes) an instance whose client registered or heartbeat here.
  private track(app: string, id: string): void {
    const lease = this.registry.lease(app, id);
    if (lease === undefined) return;
    const now = this.clock.now();
    const key = `${app}/${id}`;
    let t = this.byKey.get(key);
    if (t === undefined) {
      const decision = this.decide(lease.record.instance, undefined);
      t = { key, app, id, lastClientAt: now, renewalIntervalMs: lease.record.instance.renewalIntervalSecs * 1000, decision, decidedFrom: decisionKey(decision), run: NO_RUN, dueAt: 0, queued: false, dropped: false, lastProbeAt: 0 };
      this.byKey.set(key, t);
      this.enqueue(t, now + Math.floor(((this.sequence++ * GOLDEN) % 1) * intervalOf(decision, this.defaults)), now);
    } else {
      t.lastClientAt = now;
      this.redecide(t, lease.record.instance);
    }
    t.renewalIntervalMs = lease.record.instance.renewalIntervalSecs * 1000;
    this.byLease.set(lease, t);
  }

  private refreshDecision(app: string, id: string): void {
    const t = this.byKey.get(`${app}/${id}`);
    const lease = t && this.registry.lease(app, id);
    if (t !== undefined && lease !== undefined) {
      this.byLease.set(lease, t);
      this.redecide(t, lease.record.instance);
    }
  }

  // A re-registration or a metadata change may change what is probed: the run starts over when it did.
  private redecide(t: Tracked, instance: Parameters<typeof decideTarget>[0]): void {
    const decision = this.decide(instance, t.decidedFrom);
    const key = decisionKey(decision);
    if (key === t.decidedFrom) return;
    t.decision = decision;
    t.decidedFrom = key;
    t.run = NO_RUN;
  }

  // The decision for an instance; a refusal is counted (and logged at debug) when it is new for the instance.
  private decide(instance: Parameters<typeof decideTarget>[0], previousKey: string | undefined): TargetDecision {
    const decision = decideTarget(instance, this.defaults);
    if (decision.kind === 'refused' && decisionKey(decision) !== previousKey) {
      this.counters.refused++;
      if (this.logger.debugEnabled) this.logger.debug('health check refused', { app: instance.app, id: instance.id, reason: decision.reason });
    }
    return decision;
  }

  private release(t: Tracked, why: string | undefined): void {
    t.dropped = true;
    this.byKey.delete(t.key);
    if (why !== undefined && this.logger.debugEnabled) this.logger.debug('health check handed over', { app: t.app, id: t.id, reason: why });
  }

  private enqueue(t: Tracked, dueAt: number, now: number): void {
    if (t.dropped || t.queued) return;
    // Behind schedule (more due than the concurrency allows): the next probe is due now, not in the past.
    t.dueAt = Math.max(dueAt, now);
    t.queued = true;
    this.queue.push(t);
  }

  // Probes ----------------------------------------------------------------------------------------------------------

  private probe(t: Tracked, decision: Extract<TargetDecision, { kind: 'probe' }>): void {
    const controller = new AbortController();
    this.inFlight.add(controller);
    const cancelTimeout = this.scheduler.after(decision.thresholds.timeoutMs, () => controller.abort());
    const startedAt = this.monotonicMs();
    const prober = decision.target.kind === 'http' ? this.probers.http : this.probers.tcp;
    let probing: Promise<ProbeResult>;
    try {
      probing = prober.probe(decision.target, controller.signal);
    } catch (e) {
      probing = Promise.reject(e);
    }
    probing
      .catch((e: unknown): ProbeResult => {
        this.logger.error('health probe failed unexpectedly', { app: t.app, id: t.id, error: e instanceof Error ? e.stack : String(e) });
        return { outcome: 'error', detail: 'probe failed' };
      })
      .then((result) => {
        cancelTimeout();
        this.inFlight.delete(controller);
        this.finish(t, decision, controller.signal.aborted ? TIMED_OUT : result, this.monotonicMs() - startedAt);
      })
      .catch((e: unknown) => this.logger.error('health check failed', { app: t.app, id: t.id, error: e instanceof Error ? e.stack : String(e) }));
  }

  private finish(t: Tracked, decision: Extract<TargetDecision, { kind: 'probe' }>, result: ProbeResult, durationMs: number): void {
    this.recordDuration(durationMs);
    this.counters.probes[result.outcome]++;
    const now = this.clock.now();
    t.lastProbeAt = now;
    t.lastOutcome = result.outcome;
    t.lastDetail = result.detail;
    t.lastDurationMs = Math.round(durationMs * 10) / 10;
    if (this.closed) return;
    const healthy = result.outcome === 'healthy';
    this.valve.record(!healthy, now);
    this.judgeValve(now);
    // Decided on what was probed: a decision changed meanwhile starts a new run.
    if (!t.dropped && t.decision === decision) {
      const { run, action } = judge(t.run, healthy, this.registry.isHealthDown(t.app, t.id), decision.thresholds, this.valve.isEngaged);
      t.run = run;
      if (action === 'mark-down') this.verdict(t, 'down', result.detail);
      else if (action === 'mark-up') this.verdict(t, 'up', 'probes pass');
      else if (action === 'withhold') this.counters.withheld++;
    }
    // The next probe keeps the instance's place in the interval.
    this.enqueue(t, t.dueAt + intervalOf(t.decision, this.defaults), now);
    // A slot is free: due instances waiting for one need not wait for the next tick.
    this.pump();
  }

  private verdict(t: Tracked, verdict: 'down' | 'up', detail: string): void {
    const outcome = this.registry.healthVerdict(t.app, t.id, verdict);
    if (outcome === 'not-found') return this.release(t, undefined);
    if (outcome !== 'changed') return;
    this.counters[verdict === 'down' ? 'markedDown' : 'markedUp']++;
    if (verdict === 'down') this.logger.info('health check failing: instance marked DOWN', { app: t.app, id: t.id, failures: t.run.consecutiveFailures, last: detail });
    else this.logger.info('health verdict cleared: instance back to its own status', { app: t.app, id: t.id, successes: t.run.consecutiveSuccesses, reason: detail });
  }

  private judgeValve(now: number): void {
    const change = this.valve.update(now);
    if (change === undefined) return;
    const s = this.valve.state(now);
    const fields = { probes: s.probes, failures: s.failures, fraction: Math.round(s.failingFraction * 1000) / 1000, threshold: s.threshold };
    if (change === 'engaged') this.logger.warn('health-check safety valve engaged: most probes fail (the network of this server?), no instance is marked DOWN until they pass again', fields);
    else this.logger.info('health-check safety valve released: instances are marked DOWN again', fields);
  }

  private recordDuration(ms: number): void {
    const secs = Math.max(0, ms) / 1000;
    let i = 0;
    while (i < PROBE_DURATION_BUCKETS.length && secs > PROBE_DURATION_BUCKETS[i]) i++;
    this.durations.counts[i]++;
    this.durations.sumSecs += secs;
    this.durations.count++;
  }
}

/**
 * Period of the pass over due instances: a thousandth of the interval, between 10 and 50 ms. Probes start in small
 * groups (10,000 instances every 10 s: ten every 10 ms), so no pass holds the event loop for long.
 */
export function tickMs(intervalMs: number): number {
  return Math.min(50, Math.max(10, Math.floor(intervalMs / 1000)));
}

const intervalOf = (decision: TargetDecision, defaults: Thresholds): number => (decision.kind === 'probe' ? decision.thresholds.intervalMs : defaults.intervalMs);

// Two decisions with the same key probe the same way.
function decisionKey(d: TargetDecision): string {
  return d.kind === 'probe' ? `probe ${describeTarget(d.target)} ${d.target.kind === 'http' ? d.target.connectHost : ''} ${JSON.stringify(d.thresholds)}` : `${d.kind} ${d.reason}`;
}
