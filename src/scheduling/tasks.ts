// The server's periodic work as plain functions of the core; tests call them directly with a manual clock.
import { Clock } from '../domain/clock';
import { Evictor } from '../domain/eviction';
import { Registry } from '../domain/registry';
import { Logger } from '../observability/logger';

/** One eviction pass, logged when it evicts or when self-preservation holds expiry back. */
export function evictionTask(evictor: Evictor, clock: Clock, logger: Logger): () => void {
  let wasSuspended = false;
  return () => {
    const report = evictor.runPass(clock.now());
    if (report.suspended !== wasSuspended) logger.warn(report.suspended ? 'lease expiration suspended' : 'lease expiration resumed');
    wasSuspended = report.suspended;
    if (report.evicted > 0 || report.expired > report.evicted) {
      logger.info('eviction pass', { expired: report.expired, evicted: report.evicted, compensationMs: report.compensationMs });
    }
  };
}

/** Drops delta-log entries past retention (reads prune too; this bounds memory when nobody reads). */
export function deltaPruneTask(registry: Registry, clock: Clock): () => void {
  return () => {
    registry.pruneDelta(clock.now());
  };
}
