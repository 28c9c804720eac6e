// createApp(deps): the server's request listener without listen(), which tests import.
// Eureka routes (under /eureka, /eureka/v2, /eureka/v1) go through the route table in eureka-api.ts;
// everything else (health, operators' JSON) is an express app.
import { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { isPromise } from 'node:util/types';
import express from 'express';
import { Logger } from '../observability/logger';
import { empty, Reply } from './errors';
import { EurekaApiDeps, EurekaHandler, eurekaRoutes, REPLICATION_HEADER } from './eureka-api';
import { operatorRouter, OperatorDeps } from './operator-routes';
import { BadPathError, Router } from './router';

/** Everything the HTTP layer needs. */
export interface AppDeps extends EurekaApiDeps, OperatorDeps {
  readonly logger: Logger;
}

// Longest prefix first so /eureka/v2/apps is not read as app "v2".
const EUREKA_PREFIXES = ['/eureka/v2', '/eureka/v1', '/eureka'];
const NO_QUERY = new URLSearchParams();

/** The request listener of a zone server. */
export function createApp(deps: AppDeps): RequestListener {
  const router = new Router<EurekaHandler>(eurekaRoutes(deps));
  const operators = express();
  operators.disable('x-powered-by');
  // Our payloads carry precomputed ETags; express's would hash multi-megabyte bodies on every response.
  operators.set('etag', false);
  operators.use(operatorRouter(deps));
  const { logger } = deps;

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const prefix = EUREKA_PREFIXES.find((p) => path === p || path.startsWith(p + '/'));
    if (prefix === undefined) {
      operators(req, res);
      return;
    }
    const started = logger.debugEnabled ? performance.now() : 0;
    if (logger.debugEnabled) res.on('finish', () => logger.debug('request', { method: req.method, url, status: res.statusCode, ms: +(performance.now() - started).toFixed(2) }));
    let match;
    try {
      match = router.match(req.method ?? 'GET', path.slice(prefix.length));
    } catch (e) {
      if (e instanceof BadPathError) return send(res, { status: 400, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: e.message });
      throw e;
    }
    if (match === undefined) return send(res, empty(404));
    if ('notAllowed' in match) return send(res, empty(405));
    let reply: Reply | Promise<Reply>;
    try {
      reply = match.route.handler({
        req,
        headers: req.headers,
        params: match.params,
        query: q < 0 ? NO_QUERY : new URLSearchParams(url.slice(q + 1)),
        isReplication: req.headers[REPLICATION_HEADER] === 'true',
      });
    } catch (e) {
      return fail(res, e, logger, req);
    }
    if (isPromise(reply)) {
      (reply as Promise<Reply>).then((r) => send(res, r)).catch((e: unknown) => fail(res, e, logger, req));
      return;
    }
    try {
      send(res, reply as Reply);
    } catch (e) {
      fail(res, e, logger, req);
    }
  };
}

function send(res: ServerResponse, reply: Reply): void {
  const body = reply.body ?? '';
  const headers = { ...reply.headers, 'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length };
  res.writeHead(reply.status, headers);
  res.end(body);
}

// A bug, never bad input: logged with the request, answered with an empty 500 as Eureka does.
function fail(res: ServerResponse, error: unknown, logger: Logger, req: IncomingMessage): void {
  logger.error('request failed', { method: req.method, url: req.url, error: error instanceof Error ? error.stack : String(error) });
  if (!res.headersSent) send(res, empty(500));
  else res.destroy();
}
