// Operators' routes outside the Eureka API: liveness and readiness. Errors here are JSON, never express's HTML.
import express, { NextFunction, Request, Response } from 'express';

/** What the operators' routes read. */
export interface OperatorDeps {
  /** True once the server can serve its registry (synced with its peers, or their timeout passed). */
  readonly isReady: () => boolean;
}

export function operatorRouter(deps: OperatorDeps): express.Router {
  const router = express.Router();
  router.get(['/health', '/health/live'], (_req, res) => {
    res.json({ status: 'UP' });
  });
  router.get('/health/ready', (_req, res) => {
    const ready = deps.isReady();
    res.status(ready ? 200 : 503).json({ status: ready ? 'UP' : 'SYNCING' });
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
