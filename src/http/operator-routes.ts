// Operators' routes outside the Eureka API: liveness and readiness, Prometheus metrics, the dashboard and the JSON it
// polls, and the health checks of one application's instances (for the admin CLI). Errors here are JSON, never
// express's HTML.
import express, { NextFunction, Request, Response } from 'express';
import { Settings } from '../config/settings';
import { ServerMetrics } from '../observability/metrics';
import { RecentChanges } from '../observability/recent-changes';
import { OperatorAccess, RateClass } from '../security/access';
import { HttpSecurity } from '../security/config';
import { operatorFailure, operatorNotFound } from './errors';
import { operatorGuard } from './guard';
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from './dashboard/assets';
import { buildOverview, OverviewSources } from './dashboard/overview';
import { HealthCheckStats, InstanceHealth } from '../observability/server-status';

/** GET /api/health-checks: this server's health checks, and what it knows of the health of an application's instances. */
export interface HealthReport {
  /** Null when this server does not run them. */
  readonly healthChecks: HealthCheckStats | null;
  readonly instances: readonly {
    readonly app: string;
    readonly id: string;
    readonly status: string;
    /** client, override, or health (a health check holds it DOWN). */
    readonly statusSource: string;
    /** Its last heartbeat here and when its lease runs out, ms: live (the registry documents are cached per change). */
    readonly lastRenewalTimestamp: number;
    readonly leaseExpiresAt: number;
    /** Its check on this server, when this server probes it. */
    readonly health: InstanceHealth | null;
  }[];
}

/** The health report of `app` (upper-cased; none: no instances listed). */
export function healthReport(src: Pick<OverviewSources, 'registry' | 'healthChecks'>, app: string | undefined): HealthReport {
  const checks = src.healthChecks;
  const instances =
    app === undefined
      ? []
      : [...src.registry.application(app.toUpperCase())].map((lease) => {
          const { instance: i, statusSource } = lease.record;
          return { app: i.app, id: i.id, status: i.status, statusSource, lastRenewalTimestamp: lease.lastRenewalTimestamp, leaseExpiresAt: lease.expiresAt(), health: checks?.instance(i.app, i.id) ?? null };
        });
  return { healthChecks: checks?.stats() ?? null, instances };
}

/** What the operators' routes read. */
export interface OperatorDeps {
  /** True once the server can serve its registry (synced with its peers, or their timeout passed). */
  readonly isReady: () => boolean;
  /** The server's settings, shown on the dashboard (omitted there when absent). */
  readonly settings?: Settings;
  /** Metrics of this server; createApp makes them when absent. */
  readonly metrics?: ServerMetrics;
  /** Latest registrations and removals; createApp keeps them when absent. */
  readonly recentChanges?: RecentChanges;
  /** Authentication and rate limits; absent: everything open (the default). */
  readonly security?: HttpSecurity;
}

/** An operators' GET route and what it declares: who may call it, which rate limits count it. */
export interface OperatorRoute {
  readonly path: string;
  readonly access: OperatorAccess;
  // Operators' routes are never throttled (see operatorRouter).
  readonly rateLimit: Extract<RateClass, 'none'>;
  readonly handler: express.RequestHandler;
}

/** Everything the router needs, as createApp assembles it. */
export type OperatorRouterDeps = OperatorDeps & OverviewSources & { readonly metrics: ServerMetrics };

// The page loads only its own script and stylesheet and fetches only its own JSON.
const DASHBOARD_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

function asset(type: string, body: string): express.RequestHandler {
  const bytes = Buffer.from(body, 'utf8');
  return (_req, res) => {
    res.set(DASHBOARD_HEADERS).type(type).send(bytes);
  };
}

/** A non-negative integer query parameter, or undefined. */
function intParam(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value)) return undefined;
  return Number(value);
}

export function operatorRouter(deps: OperatorRouterDeps): express.Router {
  const router = express.Router();
  const live: express.RequestHandler = (_req, res) => {
    res.json({ status: 'UP' });
  };
  // Health stays open (probes carry no credentials). /metrics is a read: open with anonymous reads, else any
  // valid credential. The dashboard, its assets and its JSON are the admin's. None is rate limited: probes and
  // scrapes must get through a client storm. One route each, so request metrics label them by their own path.
  const routes: readonly OperatorRoute[] = [
    { path: '/health', access: 'open', rateLimit: 'none', handler: live },
    { path: '/health/live', access: 'open', rateLimit: 'none', handler: live },
    {
      path: '/health/ready',
      access: 'open',
      rateLimit: 'none',
      handler: (_req, res) => {
        const ready = deps.isReady();
        res.status(ready ? 200 : 503).json({ status: ready ? 'UP' : 'SYNCING' });
      },
    },
    {
      path: '/metrics',
      access: 'read',
      rateLimit: 'none',
      handler: async (_req, res) => {
        const text = await deps.metrics.text();
        res.set('cache-control', 'no-store').type(deps.metrics.contentType).send(text);
      },
    },
    { path: '/', access: 'admin', rateLimit: 'none', handler: asset('text/html; charset=utf-8', DASHBOARD_HTML) },
    { path: '/assets/dashboard.js', access: 'admin', rateLimit: 'none', handler: asset('text/javascript; charset=utf-8', DASHBOARD_JS) },
    { path: '/assets/dashboard.css', access: 'admin', rateLimit: 'none', handler: asset('text/css; charset=utf-8', DASHBOARD_CSS) },
    {
      path: '/api/overview',
      access: 'admin',
      rateLimit: 'none',
      handler: (req, res) => {
        const q = typeof req.query.q === 'string' ? req.query.q.slice(0, 200) : undefined;
        const overview = buildOverview(deps, { q, limit: intParam(req.query.limit), recent: intParam(req.query.recent) });
        res.set('cache-control', 'no-store').json(overview);
      },
    },
    {
      path: '/api/health-checks',
      access: 'admin',
      rateLimit: 'none',
      handler: (req, res) => {
        const app = typeof req.query.app === 'string' && req.query.app !== '' ? req.query.app.slice(0, 1024) : undefined;
        res.set('cache-control', 'no-store').json(healthReport(deps, app));
      },
    },
  ];
  for (const route of routes) router.get(route.path, operatorGuard(deps.security, route.access), route.handler);

  router.use((req, res) => {
    const r = operatorNotFound(req.path);
    res.status(r.status).json(r.body);
  });
  // Express's default handler would answer HTML; malformed input here is the client's problem, not ours.
  router.use((err: Error & { status?: number; statusCode?: number }, _req: Request, res: Response, _next: NextFunction) => {
    const r = operatorFailure(err);
    res.status(r.status).json(r.body);
  });
  return router;
}
