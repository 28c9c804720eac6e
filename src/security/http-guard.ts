// The security checks of the HTTP layer. For the Eureka routes one call per request (after routing, before the
// handler): identify the caller from the Authorization header (a Map lookup once verified; a promise while a password
// is first verified), apply the per-client rate limit, the route's rule and the full-fetch rate limit. For the
// operators' routes an express middleware per route. Nothing here runs when security is off: createApp builds no guard.
import { IncomingMessage } from 'node:http';
import { isPromise } from 'node:util/types';
import { RequestHandler } from 'express';
import { empty, Reply } from '../http/errors';
import { Route } from '../http/router';
import { decideEureka, decideOperator, OperatorNeed, Rule, ruleFor } from './access';
import { ANONYMOUS, BUSY, CredentialVerifier, Identity } from './credentials';
import { AddressMatcher } from './address-set';
import { KeyedRateLimiter, retryAfterSecs, TokenBucket } from './rate-limit';

/** Security of the HTTP layer, as startServer derives it from the settings. */
export interface HttpSecurity {
  /** Verifies credentials; absent: authentication is off (everything is allowed). */
  readonly verifier?: CredentialVerifier;
  /** With authentication on: registry reads (and /metrics) need no credentials. */
  readonly anonymousReads: boolean;
  /** Token bucket for GET /apps over the whole server; 0: off. */
  readonly fullFetchesPerSec: number;
  /** Token bucket per client address over every Eureka route; 0: off. */
  readonly requestsPerClientPerSec: number;
  /** The addresses peers connect from: with authentication off, how a peer is recognised; absent: none. */
  readonly peerAddresses?: AddressMatcher;
  /** With authentication off: peer-only requests are honoured only from peerAddresses (false: from anyone). */
  readonly peerAddressCheck?: boolean;
}

/** The challenge sent with every 401. */
export const CHALLENGE = 'Basic realm="eureka"';

const UNAUTHORIZED: Reply = Object.freeze({ status: 401, headers: Object.freeze({ 'www-authenticate': CHALLENGE }) });
const FORBIDDEN: Reply = empty(403);
// Too many passwords being verified: like a peer's 503, clients try another server or retry shortly.
const VERIFYING: Reply = Object.freeze({ status: 503, headers: Object.freeze({ 'retry-after': '1' }) });

/** A 429 with an empty body and Retry-After (whole seconds). */
function tooManyRequests(waitMs: number): Reply {
  return { status: 429, headers: { 'retry-after': String(retryAfterSecs(waitMs)) } };
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

/** Peers and operators are never throttled: replication and repairs must get through a client storm. */
const isExempt = (identity: Identity): boolean => typeof identity === 'object' && (identity.isPeer || identity.isAdmin);

/** Whether a security configuration does anything at all (createApp builds no guard otherwise). */
export const isActive = (s: HttpSecurity | undefined): s is HttpSecurity =>
  s !== undefined && (s.verifier !== undefined || s.fullFetchesPerSec > 0 || s.requestsPerClientPerSec > 0);

/** The checks of the Eureka routes, with each route's rule resolved once. */
export class EurekaGuard<H> {
  private readonly rules: Map<Route<H>, Rule>;
  private readonly fullFetch: Route<H> | undefined;
  private readonly fullFetches: TokenBucket | undefined;
  private readonly perClient: KeyedRateLimiter | undefined;

  constructor(
    private readonly security: HttpSecurity,
    routes: readonly Route<H>[],
    now: number,
  ) {
    this.rules = new Map(routes.map((r) => [r, ruleFor(r.method, r.pattern)]));
    this.fullFetch = routes.find((r) => r.method === 'GET' && r.pattern === '/apps');
    this.fullFetches = security.fullFetchesPerSec > 0 ? new TokenBucket(security.fullFetchesPerSec, now) : undefined;
    this.perClient = security.requestsPerClientPerSec > 0 ? new KeyedRateLimiter(security.requestsPerClientPerSec) : undefined;
  }

  /**
   * A refusal (401, 403, 429, 503) for this request, or undefined to let it through; a promise of either while the
   * caller's password is verified for the first time. `now`: monotonic ms.
   */
  check(req: IncomingMessage, route: Route<H>, params: Record<string, string>, isReplication: boolean, now: number): Reply | undefined | Promise<Reply | undefined> {
    const verifier = this.security.verifier;
    if (verifier === undefined) return this.decide(ANONYMOUS, req, route, params, isReplication, now);
    const identity = verifier.identify(req.headers.authorization);
    if (identity === BUSY) return VERIFYING;
    if (isPromise(identity)) return identity.then((id) => this.decide(id, req, route, params, isReplication, now));
    return this.decide(identity, req, route, params, isReplication, now);
  }

  private decide(identity: Identity, req: IncomingMessage, route: Route<H>, params: Record<string, string>, isReplication: boolean, now: number): Reply | undefined {
    const verifier = this.security.verifier;
    // With authentication off a peer is known by its address; with it on, only credentials count.
    const exempt = isExempt(identity) || (verifier === undefined && this.security.peerAddresses?.has(req.socket.remoteAddress) === true);
    if (this.perClient !== undefined && !exempt) {
      const wait = this.perClient.take(req.socket.remoteAddress ?? '', now);
      if (wait > 0) return tooManyRequests(wait);
    }
    if (verifier !== undefined) {
      const rule = this.rules.get(route) ?? 'admin';
      const decision = decideEureka(identity, rule, params.app, isReplication, this.security.anonymousReads);
      if (decision !== 'allow') return decision === 'unauthenticated' ? UNAUTHORIZED : FORBIDDEN;
      if (rule !== 'read' && isCrossSite(req)) return FORBIDDEN;
    }
    if (this.fullFetches !== undefined && route === this.fullFetch && !exempt) {
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

/**
 * Express middleware for an operators' route: passes when authentication is off or the caller may; otherwise a JSON
 * 401 (with the Basic challenge, so a browser asks for a login) or 403.
 */
export function operatorGuard(security: HttpSecurity | undefined, need: OperatorNeed): RequestHandler {
  const verifier = security?.verifier;
  if (security === undefined || verifier === undefined) return (_req, _res, next) => next();
  return (req, res, next) => {
    const answer = (identity: Identity): void => {
      const decision = decideOperator(identity, need, security.anonymousReads);
      if (decision === 'allow') return next();
      if (decision === 'unauthenticated') {
        res.status(401).set('www-authenticate', CHALLENGE).json({ error: 'authentication required' });
      } else {
        res.status(403).json({ error: need === 'admin' ? 'forbidden: needs the admin role' : 'forbidden' });
      }
    };
    const identity = verifier.identify(req.headers.authorization);
    if (identity === BUSY) res.status(503).set('retry-after', '1').json({ error: 'too many logins being verified, retry shortly' });
    else if (isPromise(identity)) identity.then(answer, next);
    else answer(identity);
  };
}
