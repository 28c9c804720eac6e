// Eureka's reconcile hashcode: "<STATUS>_<count>_" for each non-zero status, sorted by status name.
import { INSTANCE_STATUSES, InstanceStatus } from './model';

/** Instance counts per status. */
export type StatusCounts = Partial<Record<InstanceStatus, number>>;

/** Formats counts as `apps__hashcode`, e.g. `DOWN_1_UP_3_`; an empty registry is "". */
export function appsHashcode(counts: StatusCounts): string {
  let hash = '';
  for (const status of INSTANCE_STATUSES) {
    const n = counts[status] ?? 0;
    if (n > 0) hash += `${status}_${n}_`;
  }
  return hash;
}

/** Counts the statuses of a set of instances. */
export function countStatuses(statuses: Iterable<InstanceStatus>): StatusCounts {
  const counts: StatusCounts = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}
