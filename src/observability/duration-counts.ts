// Durations counted in fixed buckets by the component that measures them, read by the metrics at scrape time: an
// observation is a bucket search and three additions, nothing allocated.
import { DurationCounts } from './server-status';

/** A mutable {@link DurationCounts} over the given bucket bounds (seconds). */
export class DurationCounter implements DurationCounts {
  readonly counts: number[];
  sumSecs = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  /** Counts one duration, seconds. */
  observe(seconds: number): void {
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]) i++;
    this.counts[i]++;
    this.sumSecs += seconds;
    this.count++;
  }
}
