// The server's periodic work as plain functions of the core; tests call them directly with a manual clock.
import { Clock } from '../domain/clock';
import { EvictionReport, Evictor } from '../domain/eviction';
import { Registry, RegistryEvent } from '../domain/registry';
import { unreachable } from '../domain/unreachable';
import { SelfPreservation } from '../domain/self-preservation';
import { Logger } from '../observability/logger';

/** The next turn of the event loop, after the I/O waiting now: what a long walk yields to between its slices. */
export const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Leases one slice of a walk over the registry checks: under a millisecond of the event loop at 250,000 instances. */
export const LEASE_SLICE = 8192;

/** How a walk over the registry is cut up: leases per slice, and what it awaits between slices. */
export interface Slicing {
  readonly size: number;
  pause(): Promise<void>;
}

/**
 * One eviction pass; logs when it evicts, and when self-preservation engages or lets go (with the numbers). With
 * `slicing` the pass walks the registry in slices (the server's, so that 250,000 leases do not hold the event loop
 * for one walk), and a period whose pass is still walking is skipped; without it, in one piece (tests).
 */
export function evictionTask(evictor: Evictor, selfPreservation: SelfPreservation, clock: Clock, logger: Logger, slicing?: Slicing): () => void | Promise<void> {
  let wasSuspended = false;
  let walking = false;
  const passed = (now: number, report: EvictionReport): void => {
    const state = selfPreservation.state(now);
    // The first window after startup is not judged: no alarm for it.
    if (report.suspended !== wasSuspended && state.cause !== 'startup-window') {
      const fields = { expected: state.expectedRenewalsPerMin, threshold: state.threshold, renewalsLastMin: state.renewalsLastMin, reason: state.reason };
      if (report.suspended) logger.warn('self-preservation engaged: lease expiration suspended', fields);
      else logger.info('self-preservation released: lease expiration resumed', fields);
    }
    if (state.cause !== 'startup-window') wasSuspended = report.suspended;
    if (report.evicted > 0 || report.expired > report.evicted) {
      logger.info('eviction pass', { expired: report.expired, evicted: report.evicted, compensationMs: report.compensationMs });
    }
  };
  return () => {
    const now = clock.now();
    if (slicing === undefined) return passed(now, evictor.runPass(now));
    if (walking) return undefined;
    walking = true;
    return evictor
      .runPassInSlices(now, slicing.size, () => slicing.pause())
      .then((report) => passed(now, report))
      .finally(() => {
        walking = false;
      });
  };
}

/** The promised heartbeat interval of every instance that has renewed (the ones self-preservation counts), seconds. */
export function* renewalIntervals(registry: Registry): Iterable<number> {
  for (const lease of registry.leases()) if (lease.renewed) yield lease.record.instance.renewalIntervalSecs;
}

/** Recounts the expected renewals from the registry (each instance's own heartbeat interval). */
export function renewalThresholdTask(selfPreservation: SelfPreservation, registry: Registry): () => void {
  return () => selfPreservation.recount(renewalIntervals(registry));
}

/**
 * Feeds registry events to self-preservation: renewals counted; an instance joins the expected renewals at its first
 * heartbeat (a registration that never renews cannot hold self-preservation on) and leaves them when cancelled or
 * evicted; a counted instance that re-registers with another interval is recounted.
 */
export function selfPreservationListener(selfPreservation: SelfPreservation): (event: RegistryEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'renewed':
        selfPreservation.recordRenewal();
        if (event.first) selfPreservation.instanceAdded(event.view.record.instance.renewalIntervalSecs);
        return;
      case 'registered': {
        selfPreservation.recordRenewal();
        const interval = event.view.record.instance.renewalIntervalSecs;
        if (event.renewed && event.previous && event.previous.renewalIntervalSecs !== interval) {
          selfPreservation.instanceRemoved(event.previous.renewalIntervalSecs);
          selfPreservation.instanceAdded(interval);
        }
        return;
      }
      case 'cancelled':
      case 'evicted':
        if (event.renewed) selfPreservation.instanceRemoved(event.view.record.instance.renewalIntervalSecs);
        return;
      case 'status-updated':
      case 'status-override-deleted':
      case 'metadata-updated':
      case 'health-changed':
        return;
      default:
        unreachable(event);
    }
  };
}

/**
 * Drops delta-log entries past retention (reads prune too; this bounds memory when nobody reads) and forgets
 * removals past tombstoneLifetimeMs.
 */
export function deltaPruneTask(registry: Registry, clock: Clock): () => void {
  return () => {
    registry.pruneDelta(clock.now());
    registry.pruneTombstones(clock.now());
  };
}
