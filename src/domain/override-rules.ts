// The status override rule chain (Eureka's InstanceStatusOverrideRule list), as one pure function.
import { InstanceStatus, StatusSource } from './model';

/** What the rules look at. */
export interface StatusRuleInput {
  /** Status the registering (or renewing) instance reports. */
  readonly reported: InstanceStatus;
  /** The override recorded by an operator for this instance, if any. */
  readonly override?: InstanceStatus;
  /** The stored status and its source, when a lease exists. */
  readonly existing?: { readonly status: InstanceStatus; readonly source: StatusSource };
  /** True when the write came from a peer. */
  readonly isReplication: boolean;
  /** True while the server's active health check judges the instance unhealthy. */
  readonly healthDown?: boolean;
}

/** The effective status and where it came from. */
export interface StatusDecision {
  readonly status: InstanceStatus;
  readonly source: StatusSource;
}

/**
 * First rule that matches wins:
 * 1. DOWN / STARTING / UNKNOWN reported by the instance are believed as-is;
 * 2. an operator override wins over UP / OUT_OF_SERVICE;
 * 3. for client writes, a stored UP / OUT_OF_SERVICE that an operator set is kept (Eureka's LeaseExistsRule).
 *    Deliberate difference: Eureka also keeps a stored status the client itself reported, which makes a
 *    client-reported OUT_OF_SERVICE sticky (Netflix/eureka#1398); we track the source and let the client move on;
 * 4. a reported UP is DOWN while the health check judges the instance unhealthy (Eureka has no such rule: it never
 *    probes); an operator's override still wins over it, and a status the instance reports other than UP is believed;
 * 5. otherwise the reported status.
 */
export function resolveStatus(input: StatusRuleInput): StatusDecision {
  const { reported, override, existing, isReplication, healthDown } = input;
  if (reported !== 'UP' && reported !== 'OUT_OF_SERVICE') return { status: reported, source: 'client' };
  if (override !== undefined) return { status: override, source: 'override' };
  if (!isReplication && existing && existing.source === 'override' && (existing.status === 'UP' || existing.status === 'OUT_OF_SERVICE')) {
    return existing;
  }
  if (healthDown && reported === 'UP') return { status: 'DOWN', source: 'health' };
  return { status: reported, source: 'client' };
}
