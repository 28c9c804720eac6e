// The security checks of the HTTP layer, reading what each route declares (who may call it, its rate-limit class).
// Eureka routes: one call per request after routing: identify the caller (a Map lookup once verified; a promise while
// a password is first verified), then rate limits and the route's rule. Operators' routes: an express middleware each.
// Nothing here runs when security is off: createApp builds no guard.
import { IncomingMessage } from 'node:http';
import { isPromise } from 'node:util/types';
import { RequestHandler } from 'express';
import { decideEureka, decideOperator, isUnthrottled, OperatorAccess, RateClass, Rule } from '../security/access';
import { HttpSecurity } from '../security/config';
import { ANONYMOUS, BUSY, Identity } from '../security/credentials';
import { KeyedRateLimiter, TokenBucket } from '../security/rate-limit';
import { FORBIDDEN, operatorRefusal, refusal, Reply, tooManyRequests, VERIFYING } from './errors';

/** What a guarded route declares. */
export interface Guarded {
  readonly access: Rule;
  readonly rateLimit: RateClass;
}

/**
 * A browser request made by another site. Browsers replay Basic credentials cached for this server (an admin who
 * opened the dashboard) on cross-site form posts, and a text/plain body is read as JSON; Eureka clients send neither
 * Origin nor Sec-Fetch-Site. So writes from other sites are refused: there is no cookie, but this is the same trap.
 */
export function isCrossSite(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  const slashes = origin.indexOf('//');
  return slashes < 0 || origin.slice(slashes + 2).toLowerCase() !== (req.headers.host ?? '').toLowerCase();
}

/** The checks of the Eureka routes, by each route's declarations. */
export class EurekaGuard {
  private readonly fullFetches: TokenBucket | undefined;
  private readonly perClient: KeyedRateLimiter | undefined;

  /** `now`: monotonic ms, when the full-fetch bucket starts filling. */
  constructor(
    private readonly security: HttpSecurity,
    now: number,
  ) {
    this.fullFetches = security.fullFetchesPerSec > 0 ? new TokenBucket(security.fullFetchesPerSec, now) : undefined;
    this.perClient = security.requestsPerClientPerSec > 0 ? new KeyedRateLimiter(security.requestsPerClientPerSec) : undefined;
  }

  /**
   * A refusal (401, 403, 429, 503) for this request, or undefined to let it through; a promise of either while the
   * caller's password is verified for the first time. `now`: monotonic ms.
   */
  check(req: IncomingMessage, route: Guarded, params: Record<string, string>, isReplication: boolean, now: number): Reply | undefined | Promise<Reply | undefined> {
    const verifier = this.security.verifier;
    if (verifier === undefined) return this.decide(ANONYMOUS, req, route, params, isReplication, now);
    const identity = verifier.identify(req.headers.authorization);
    if (identity === BUSY) return VERIFYING;
    if (isPromise(identity)) return identity.then((id) => this.decide(id, req, route, params, isReplication, now));
    return this.decide(identity, req, route, params, isReplication, now);
  }

  private decide(identity: Identity, req: IncomingMessage, route: Guarded, params: Record<string, string>, isReplication: boolean, now: number): Reply | undefined {
    const verifier = this.security.verifier;
    // With authentication off a peer is known by its address; with it on, only credentials count.
    const exempt = isUnthrottled(identity) || (verifier === undefined && this.security.peerAddresses?.has(req.socket.remoteAddress) === true);
    if (this.perClient !== undefined && route.rateLimit !== 'none' && !exempt) {
      const wait = this.perClient.take(req.socket.remoteAddress ?? '', now);
      if (wait > 0) return tooManyRequests(wait);
    }
    if (verifier !== undefined) {
      const decision = decideEureka(identity, route.access, params.app, isReplication, this.security.anonymousReads);
      if (decision !== 'allow') return refusal(decision);
      if (route.access !== 'read' && isCrossSite(req)) return FORBIDDEN;
    }
    if (this.fullFetches !== undefined && route.rateLimit === 'full-fetch' && !exempt) {
      const wait = this.fullFetches.take(now);
      if (wait > 0) return tooManyRequests(wait);
    }
    return undefined;
  }
}

/** Whether a request carries valid admin credentials; never with authentication off. */
export function hasAdminCredentials(security: HttpSecurity | undefined, req: IncomingMessage): boolean {
  // The guard has verified the header before any handler runs, so the answer is remembered (never a promise).
  const identity = security?.verifier?.identify(req.headers.authorization);
  return typeof identity === 'object' && !isPromise(identity) && identity.isAdmin;
}

/** Express middleware for an operators' route, by its declared access: passes when security allows the caller. */
export function operatorGuard(security: HttpSecurity | undefined, access: OperatorAccess): RequestHandler {
  const verifier = security?.verifier;
  if (security === undefined || verifier === undefined || access === 'open') return (_req, _res, next) => next();
  return (req, res, next) => {
    const answer = (identity: Identity): void => {
      const decision = decideOperator(identity, access, security.anonymousReads);
      if (decision === 'allow') return next();
      const r = operatorRefusal(decision, access);
      res.status(r.status).set(r.headers).json(r.body);
    };
    const identity = verifier.identify(req.headers.authorization);
    if (identity === BUSY) {
      const r = operatorRefusal('busy', access);
      res.status(r.status).set(r.headers).json(r.body);
    } else if (isPromise(identity)) identity.then(answer, next);
    else answer(identity);
  };
}
