// Who may do what: one rule per Eureka route (decided once, from the route table) and the operators' routes.
// Roles: `client` registers, renews and cancels its apps' instances and reads; `peer` replicates and reads; `admin`
// does everything (status overrides, metadata, the dashboard). Reads are open to anonymous callers when
// authAnonymousReads is on.
import { ANONYMOUS, Identity, INVALID } from './credentials';

/** What a route needs. */
export type Rule =
  /** Registry reads (every GET under /eureka). */
  | 'read'
  /** register / heartbeat / cancel of the instance in the path: `client` (for its apps), `admin`. */
  | 'instance-write'
  /** POST /peerreplication/batch: `peer`, `admin`. */
  | 'replication'
  /** Status overrides, metadata, ASG status and any route not named here: `admin`. */
  | 'admin';

/** The rule of a Eureka route, by method and pattern as eureka-api.ts lists them. New write routes default to admin. */
export function ruleFor(method: string, pattern: string): Rule {
  if (method === 'GET' || method === 'HEAD') return 'read';
  if (pattern === '/peerreplication/batch') return 'replication';
  if (pattern === '/apps/:app' && method === 'POST') return 'instance-write';
  if (pattern === '/apps/:app/:id' && (method === 'PUT' || method === 'DELETE')) return 'instance-write';
  return 'admin';
}

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

export function decideOperator(identity: Identity, need: OperatorNeed, anonymousReads: boolean): Decision {
  if (identity === INVALID) return 'unauthenticated';
  if (identity === ANONYMOUS) return need === 'read' && anonymousReads ? 'allow' : 'unauthenticated';
  return need === 'read' || identity.isAdmin ? 'allow' : 'forbidden';
}
