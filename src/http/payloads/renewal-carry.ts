// Renewal times carried from a segment's previous encodings into its next: a segment re-encoded after a change writes
// its unchanged records as they were written, so that its bytes change only where its records did.
import { InstanceRecord, InstanceView } from '../../domain/model';

/** What an earlier encoding of a segment wrote: its records in order, each with the renewal time it was written with. */
export interface EncodingRenewals {
  readonly records?: readonly InstanceRecord[];
  readonly renewals?: Float64Array;
  /** When it was encoded, ms. */
  readonly encodedAt: number;
}

/** A record written with the renewal time an earlier encoding gave it. */
class CarriedView implements InstanceView {
  constructor(
    readonly record: InstanceRecord,
    readonly lastRenewalTimestamp: number,
  ) {}
}

/**
 * The renewal times a segment's previous encodings wrote their records with (those still within the age bound): a
 * segment re-encoded after a change writes its unchanged records as they were, so that its bytes change only where
 * its records did, and the piece after it, compressed against its end, mostly stays valid. What carries a time is as
 * old as the encoding it came from.
 */
export class RenewalCarry {
  private readonly times = new Map<InstanceRecord, number>();
  private readonly oldest: number;
  private carried = false;

  constructor(
    previous: readonly EncodingRenewals[] | undefined,
    private readonly now: number,
    maxAgeMs: number,
  ) {
    let oldest = now;
    for (const e of previous ?? []) {
      const { records, renewals } = e;
      if (records === undefined || renewals === undefined || now - e.encodedAt >= maxAgeMs) continue;
      for (let i = 0; i < records.length; i++) this.times.set(records[i], renewals[i]);
      if (e.encodedAt < oldest) oldest = e.encodedAt;
    }
    this.oldest = oldest;
  }

  /** When what {@link views} gave so far was encoded, as far as its renewal times go. */
  get encodedAt(): number {
    return this.carried ? this.oldest : this.now;
  }

  /** The same for a run of them. */
  encodedAtOf(run: readonly InstanceView[]): number {
    return run.some((v) => v instanceof CarriedView) ? this.oldest : this.now;
  }

  /** `views`, each record written before with the time it was written with; also appended to `into`. */
  views(views: Iterable<InstanceView>, into: InstanceView[]): InstanceView[] {
    const start = into.length;
    for (const v of views) {
      const time = this.times.size === 0 ? undefined : this.times.get(v.record);
      if (time !== undefined && time < v.lastRenewalTimestamp) {
        into.push(new CarriedView(v.record, time));
        this.carried = true;
      } else {
        into.push(v);
      }
    }
    return start === 0 ? into : into.slice(start);
  }
}
