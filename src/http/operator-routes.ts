// Operators' routes outside the Eureka API: liveness and readiness, Prometheus metrics, the dashboard and the JSON it
// polls. Errors here are JSON, never express's HTML.
import express, { NextFunction, Request, Response } from 'express';
import { Settings } from '../config/settings';
import { ServerMetrics } from '../observability/metrics';
import { RecentChanges } from '../observability/recent-changes';
import { HttpSecurity, operatorGuard } from '../security/http-guard';
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from './dashboard/assets';
import { buildOverview, OverviewSources } from './dashboard/overview';

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
  // One route each, so request metrics label them by their own path.
  router.get('/health', live);
  router.get('/health/live', live);
  router.get('/health/ready', (_req, res) => {
    const ready = deps.isReady();
    res.status(ready ? 200 : 503).json({ status: ready ? 'UP' : 'SYNCING' });
  });

  // Health stays open (probes carry no credentials). /metrics is a read: open with anonymous reads, else any
  // valid credential. The dashboard, its assets and its JSON are the admin's.
  const read = operatorGuard(deps.security, 'read');
  const admin = operatorGuard(deps.security, 'admin');
  router.get('/metrics', read, async (_req, res) => {
    const text = await deps.metrics.text();
    res.set('cache-control', 'no-store').type(deps.metrics.contentType).send(text);
  });

  router.get('/', admin, asset('text/html; charset=utf-8', DASHBOARD_HTML));
  router.get('/assets/dashboard.js', admin, asset('text/javascript; charset=utf-8', DASHBOARD_JS));
  router.get('/assets/dashboard.css', admin, asset('text/css; charset=utf-8', DASHBOARD_CSS));
  router.get('/api/overview', admin, (req, res) => {
    const q = typeof req.query.q === 'string' ? req.query.q.slice(0, 200) : undefined;
    const overview = buildOverview(deps, { q, limit: intParam(req.query.limit), recent: intParam(req.query.recent) });
    res.set('cache-control', 'no-store').json(overview);
  });

  router.use((req, res) => {
    res.status(404).json({ error: 'not found', path: req.path });
  });
  // Express's default handler would answer HTML; malformed input here is the client's problem, not ours.
  router.use((err: Error & { status?: number; statusCode?: number }, _req: Request, res: Response, _next: NextFunction) => {
    const status = err.status ?? err.statusCode ?? 500;
    res.status(status >= 400 && status < 600 ? status : 500).json({ error: status < 500 ? err.message : 'internal error' });
  });
  return router;
}
