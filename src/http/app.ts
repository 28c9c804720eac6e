// createApp(deps): the server's request listener without listen(), which tests import.
// Eureka routes (under /eureka, /eureka/v2, /eureka/v1) go through the route table in eureka-api.ts;
// everything else (health, operators' JSON) is an express app.
import { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { isPromise } from 'node:util/types';
import express from 'express';
import { SETTINGS } from '../config/settings';
import { Logger } from '../observability/logger';
import { observeOnFinish, RouteTimer, ServerMetrics } from '../observability/metrics';
import { RecentChanges } from '../observability/recent-changes';
import { DrainLimits, endAfterDrain, hasUnreadBody, isParts, writeParts } from './body';
import { badPath, CLIENT_CLOSED, empty, FORBIDDEN, PEER_NOT_KNOWN_YET, Reply, TIMED_OUT } from './errors';
import { EurekaApiDeps, EurekaHandler, EurekaRoute, eurekaRoutes, REPLICATION_HEADER } from './eureka-api';
import { EurekaGuard, hasAdminCredentials } from './guard';
import { operatorRouter, OperatorDeps } from './operator-routes';
import { BadPathError, Router } from './router';
import { TurnBatch } from './turn-batch';
import { isActive } from '../security/config';
import { PeerGate } from '../security/peer-gate';

/** Everything the HTTP layer needs. */
export type AppDeps = EurekaApiDeps &
  OperatorDeps & {
    readonly logger: Logger;
    /** Bounds on draining a request body the reply did not wait for; default: the settings' defaults. */
    readonly bodyDrain?: DrainLimits;
  };

// A flat list, which node:http writes without walking an object's keys.
const NO_BODY_HEADERS: string[] = ['content-length', '0'];

const NO_QUERY = new URLSearchParams();

/** Length of the Eureka prefix of a path (/eureka/v2, /eureka/v1 or /eureka), or -1 when it has none. */
function eurekaPrefixLength(path: string): number {
  if (!path.startsWith('/eureka')) return -1;
  if (path.length === 7 || path.charCodeAt(7) !== 47 /* / */) return path.length === 7 ? 7 : -1;
  // Longest prefix first, so /eureka/v2/apps is not read as app "v2".
  if ((path.startsWith('v2', 8) || path.startsWith('v1', 8)) && (path.length === 10 || path.charCodeAt(10) === 47)) return 10;
  return 7;
}

/** The request listener of a zone server. */
export function createApp(deps: AppDeps): RequestListener {
  const { logger } = deps;
  // What the requests of one turn leave to do (registrations' work, replies' writes), done together at its end.
  const turn = new TurnBatch((e) => logger.error('deferred reply failed', { error: e instanceof Error ? e.stack : String(e) }));
  const routes = eurekaRoutes({ ...deps, turn, hasAdminCredentials: (req) => hasAdminCredentials(deps.security, req) });
  const router = new Router<EurekaHandler, EurekaRoute>(routes);
  // The operators' surface, from the same deps, unless the caller brings its own.
  const metrics = deps.metrics ?? new ServerMetrics(deps);
  const recentChanges = deps.recentChanges ?? new RecentChanges(deps.registry, () => deps.clock.now());
  // Request durations are labelled by route pattern; each route's timer is resolved once, here.
  const timers = new Map<EurekaRoute, RouteTimer>(routes.map((r) => [r, metrics.http.route(r.method, r.pattern)]));
  // Parked watches last as long as their clients ask: kept apart from the delta's immediate answers.
  const parkedTimer = metrics.http.route('GET', '/apps/delta?wait');
  const operators = express();
  operators.disable('x-powered-by');
  // Our payloads carry precomputed ETags; express's would hash multi-megabyte bodies on every response.
  operators.set('etag', false);
  operators.use(operatorRouter({ ...deps, metrics, recentChanges }));
  // Security off (the default): no guard, and the hot path pays one comparison.
  const guard = isActive(deps.security) ? new EurekaGuard(deps.security, performance.now()) : undefined;
  const peerGate = PeerGate.of(deps.security, logger);
  const drain = deps.bodyDrain ?? { maxBytes: SETTINGS.bodyDrainMaxBytes.default, timeoutMs: SETTINGS.bodyDrainTimeoutMs.default };

  // Writes a reply and records its duration: at send time, which costs no per-request 'finish' listener.
  const send = (req: IncomingMessage, res: ServerResponse, reply: Reply, routeTimer: RouteTimer, started: number): void => {
    if (reply === CLIENT_CLOSED || req.socket.destroyed) return gone(req, routeTimer, started);
    const timer = reply.parked ? parkedTimer : routeTimer;
    const body = reply.body;
    if (reply.stream !== undefined) {
      // Recorded when the stream opens: its duration is the client's to choose.
      res.writeHead(reply.status, reply.headers);
      res.flushHeaders();
      timer.record(reply.status, (performance.now() - started) / 1000);
      reply.stream(res);
      return;
    }
    if (reply.headerList !== undefined) {
      res.writeHead(reply.status, reply.headerList as string[]);
    } else if (body === undefined && reply.headers === undefined) {
      res.writeHead(reply.status, NO_BODY_HEADERS);
    } else if (reply.headers?.['content-length'] !== undefined) {
      // A complete reply (cached payloads): written as built.
      res.writeHead(reply.status, reply.headers);
    } else {
      const length = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : isParts(body) ? body.reduce((n, b) => n + b.length, 0) : body.length;
      res.writeHead(reply.status, { ...reply.headers, 'content-length': length });
    }
    if (hasUnreadBody(req)) endAfterDrain(req, res, body, drain);
    else if (isParts(body)) {
      writeParts(res, body);
      res.end();
    } else res.end(body);
    timer.record(reply.status, (performance.now() - started) / 1000);
  };

  // The connection closed before the reply, so there is nothing to write to: recorded as 408 when Node timed the
  // request out (requestTimeoutMs), else as 499 (the client went away). Not a server error.
  const gone = (req: IncomingMessage, timer: RouteTimer, started: number): void => {
    if (!req.socket.destroyed) req.socket.destroy();
    const status = ((req.socket.errored as NodeJS.ErrnoException | null)?.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? TIMED_OUT : CLIENT_CLOSED).status;
    timer.record(status, (performance.now() - started) / 1000);
    if (logger.debugEnabled) logger.debug('connection closed before the reply', { method: req.method, url: req.url, status });
  };

  // A bug, never bad input: logged with the request, answered with an empty 500 as Eureka does. An error that only
  // says the client went away is not one.
  const fail = (req: IncomingMessage, res: ServerResponse, error: unknown, timer: RouteTimer, started: number): void => {
    if (req.socket.destroyed && isDisconnect(error)) return gone(req, timer, started);
    logger.error('request failed', { method: req.method, url: req.url, error: error instanceof Error ? error.stack : String(error) });
    if (req.socket.destroyed) timer.record(500, (performance.now() - started) / 1000);
    else if (!res.headersSent) send(req, res, empty(500), timer, started);
    else res.destroy();
  };

  return (req, res) => {
    const started = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const prefix = eurekaPrefixLength(path);
    if (prefix < 0) {
      observeOnFinish(res, started, metrics.http.express);
      operators(req, res);
      return;
    }
    if (logger.debugEnabled) res.on('finish', () => logger.debug('request', { method: req.method, url, status: res.statusCode, ms: +(performance.now() - started).toFixed(2) }));
    let match;
    try {
      // HEAD is GET without a body (node:http leaves the body out by itself), as load balancers' checks expect.
      match = router.match(req.method === 'HEAD' || req.method === undefined ? 'GET' : req.method, path.slice(prefix));
    } catch (e) {
      if (!(e instanceof BadPathError)) throw e;
      return send(req, res, badPath(e.message), metrics.http.unmatchedRoute(req.method), started);
    }
    if (match === undefined || 'notAllowed' in match) {
      return send(req, res, empty(match === undefined ? 404 : 405), metrics.http.unmatchedRoute(req.method), started);
    }
    const timer = timers.get(match.route) as RouteTimer;
    let isReplication = req.headers[REPLICATION_HEADER] === 'true';
    const peersOnly = match.route.access === 'replication';
    if (peerGate !== undefined && (isReplication || peersOnly) && !peerGate.admits(req, peersOnly, started)) {
      // A peers-only route (the batch) is refused before its body is read; any other write is an ordinary client's
      // (header ignored).
      if (peersOnly) {
        if (deps.security?.resolvePeersSoon === undefined) return send(req, res, FORBIDDEN, timer, started);
        deps.security.resolvePeersSoon();
        return send(req, res, PEER_NOT_KNOWN_YET, timer, started);
      }
      isReplication = false;
    }
    // A promise only while a password is verified for the first time (scrypt, off the event loop).
    const refused = guard === undefined ? undefined : guard.check(req, match.route, match.params, isReplication, started);
    if (refused !== undefined && !isPromise(refused)) return send(req, res, refused, timer, started);
    let reply: Reply | Promise<Reply>;
    try {
      const request = {
        req,
        headers: req.headers,
        params: match.params,
        query: q < 0 ? NO_QUERY : new URLSearchParams(url.slice(q + 1)),
        isReplication,
      };
      const handler = match.route.handler;
      reply = refused === undefined ? handler(request) : refused.then((r) => r ?? handler(request));
    } catch (e) {
      return fail(req, res, e, timer, started);
    }
    if (isPromise(reply)) {
      (reply as Promise<Reply>).then((r) => send(req, res, r, timer, started)).catch((e: unknown) => fail(req, res, e, timer, started));
      return;
    }
    // Written at the end of the turn, with the other replies of the requests read in it.
    turn.defer(() => {
      try {
        send(req, res, reply as Reply, timer, started);
      } catch (e) {
        fail(req, res, e, timer, started);
      }
    });
  };
}

const DISCONNECT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']);

// Errors a stream raises when its connection went away.
function isDisconnect(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && DISCONNECT_CODES.has(code);
}
