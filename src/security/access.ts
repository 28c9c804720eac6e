// Who may do what: the rules routes declare (in the route tables of src/http) and the pure decisions on them.
// Roles: `client` registers, renews and cancels its apps' instances and reads; `peer` replicates and reads; `admin`
// does everything (status overrides, metadata, the dashboard). Reads are open to anonymous callers when
// authAnonymousReads is on.
import { ANONYMOUS, Identity, INVALID } from './credentials';

/** What a Eureka route needs, as its route declares it. */
export type Rule =
  /** Registry reads (every GET under /eureka). */
  | 'read'
  /** register / heartbeat / cancel of the instance in the path: `client` (for its apps), `admin`. */
  | 'instance-write'
  /** POST /peerreplication/batch: `peer`, `admin`. */
  | 'replication'
  /** Status overrides, metadata, ASG status: `admin`. */
  | 'admin';

/**
 * Which rate limits count a route's requests: `per-client` the caller's address bucket (every Eureka route),
 * `full-fetch` that and the server-wide bucket of GET /apps, `none` neither (health probes, operators' pages).
 */
export type RateClass = 'full-fetch' | 'per-client' | 'none';

/** Who may call an operators' route: anyone (`open`: probes carry no credentials), a registry reader, or an admin. */
export type OperatorAccess = 'open' | OperatorNeed;

/** Peers and operators are never throttled: replication and repairs must get through a client storm. */
export const isUnthrottled = (identity: Identity): boolean => typeof identity === 'object' && (identity.isPeer || identity.isAdmin);

/** The answer: allowed, no (valid) credentials, or credentials that do not allow it. */
export type Decision = 'allow' | 'unauthenticated' | 'forbidden';

/**
 * Decides a Eureka request. `app` is the path's app name (upper-cased by the caller or not: compared upper-cased);
 * `isReplication` whether the request carries x-netflix-discovery-replication: true.
 */
export function decideEureka(identity: Identity, rule: Rule, app: string | undefined, isReplication: boolean, anonymousReads: boolean): Decision {
  if (identity === INVALID) return 'unauthenticated';
  if (identity === ANONYMOUS) return rule === 'read' && anonymousReads ? 'allow' : 'unauthenticated';
  if (identity.isAdmin) return 'allow';
  if (rule === 'read') return 'allow';
  // A write that says it comes from a peer is applied as replicated (never forwarded, peer conflict rules): peers only.
  if (isReplication) return identity.isPeer ? 'allow' : 'forbidden';
  switch (rule) {
    case 'replication':
      return identity.isPeer ? 'allow' : 'forbidden';
    case 'instance-write':
      if (!identity.isClient) return 'forbidden';
      return identity.apps === undefined || (app !== undefined && identity.apps.has(app.toUpperCase())) ? 'allow' : 'forbidden';
    case 'admin':
      return 'forbidden';
  }
}

/** What an operators' route needs: `admin`, or a registry read (any valid credential, or none with anonymous reads). */
export type OperatorNeed = 'admin' | 'read';

/** Decides an operators' route that needs credentials of some kind. */
export function decideOperator(identity: Identity, need: OperatorNeed, anonymousReads: boolean): Decision {
  if (identity === INVALID) return 'unauthenticated';
  if (identity === ANONYMOUS) return need === 'read' && anonymousReads ? 'allow' : 'unauthenticated';
  return need === 'read' || identity.isAdmin ? 'allow' : 'forbidden';
}
