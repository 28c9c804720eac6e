// A registered instance's lease: its current record and its last heartbeat.
// Expiry is honest: a lease expires `durationMs` after the last heartbeat, not Eureka's accidental 2 × duration.
import { InstanceRecord, InstanceView } from './model';

/** Mutable holder of one registration: the record changes on content changes, the renewal time on heartbeats. */
export class Lease implements InstanceView {
  /**
   * True once the instance has sent a heartbeat (directly or through a peer) since it first registered; a
   * re-registration keeps it. Self-preservation counts only such instances: a registration alone proves nothing.
   */
  renewed = false;

  constructor(
    public record: InstanceRecord,
    /** Last heartbeat (or registration) time, ms. */
    public lastRenewalTimestamp: number,
    /** How long the lease lives without a heartbeat, ms. */
    readonly durationMs: number,
  ) {}

  /** Records a heartbeat at `now` (ms). */
  renew(now: number): void {
    this.lastRenewalTimestamp = now;
  }

  /** Time at which the lease expires without another heartbeat, ms. */
  expiresAt(): number {
    return this.lastRenewalTimestamp + this.durationMs;
  }

  /** A frozen copy of this lease as a view (for the delta log, which must not follow later heartbeats). */
  snapshot(): InstanceView {
    return { record: this.record, lastRenewalTimestamp: this.lastRenewalTimestamp };
  }

  /**
   * True once more than `durationMs` (+ `extraMs` grace, e.g. a late eviction pass) has passed since the last
   * heartbeat. Eureka adds the duration twice after the first renewal (Lease.java); we deliberately do not.
   */
  isExpired(now: number, extraMs = 0): boolean {
    return now > this.lastRenewalTimestamp + this.durationMs + extraMs;
  }
}
