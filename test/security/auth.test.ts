// Authentication and authorization of a real server on 127.0.0.1 (authEnabled): the Eureka routes answer 401/403
// with empty bodies, the operators' routes with JSON; roles decide writes, replication and overrides; anonymous reads
// follow authAnonymousReads. Plus the rate limits (429 with Retry-After) and the default: everything open.
import { RunningServer } from '../../src/server';
import { AUTH, authFlags, call, instanceBody, Reply, start, TempDir } from './support';

let dir: TempDir;
beforeAll(() => {
  dir = new TempDir();
});
afterAll(() => dir.cleanup());

/** A running server for the tests of one describe block, closed after them. */
function serverWith(flags: () => string[]): () => RunningServer {
  let server: RunningServer | undefined;
  beforeAll(async () => {
    server = await start(flags());
    await server.ready;
  });
  afterAll(async () => {
    await server?.close();
  });
  return () => server as RunningServer;
}

const expect401 = (res: Reply): void => {
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toBe('Basic realm="eureka"');
  expect(res.text).toBe('');
};
const expect403 = (res: Reply): void => {
  expect(res.status).toBe(403);
  expect(res.text).toBe('');
};

const batch = (app: string, id: string): string =>
  JSON.stringify({ replicationList: [{ appName: app, id, lastDirtyTimestamp: Date.now(), status: 'UP', action: 'Register', instanceInfo: JSON.parse(instanceBody(app, id)).instance }] });

describe('with authentication on (anonymous reads on, the default)', () => {
  const server = serverWith(() => authFlags(dir));
  const port = (): number => server().port;
  const register = (app: string, id: string, authorization?: string): Promise<Reply> =>
    call(port(), 'POST', `/eureka/apps/${app}`, { body: instanceBody(app, id), headers: authorization ? { authorization } : {} });

  describe('client writes', () => {
    it('without credentials: 401, empty body, Basic challenge; nothing registered', async () => {
      expect401(await register('ORDERS', 'anon-1'));
      expect401(await call(port(), 'PUT', '/eureka/apps/ORDERS/anon-1'));
      expect401(await call(port(), 'DELETE', '/eureka/v2/apps/ORDERS/anon-1'));
      expect(server().registry.lease('ORDERS', 'anon-1')).toBeUndefined();
    });

    it('with a wrong password or an unknown token: 401', async () => {
      expect401(await register('ORDERS', 'bad-1', AUTH.wrong));
      expect401(await register('ORDERS', 'bad-1', 'Bearer nope'));
      expect401(await register('ORDERS', 'bad-1', 'Negotiate abc'));
    });

    it('register, heartbeat and cancel of its own app: 204, 200, 200 (Basic and Bearer)', async () => {
      expect((await register('orders', 'own-1', AUTH.orders)).status).toBe(204);
      expect((await call(port(), 'PUT', '/eureka/apps/ORDERS/own-1', { headers: { authorization: AUTH.orders } })).status).toBe(200);
      expect((await call(port(), 'PUT', '/eureka/v2/apps/orders/own-1', { headers: { authorization: AUTH.token } })).status).toBe(200);
      expect((await call(port(), 'DELETE', '/eureka/apps/ORDERS/own-1', { headers: { authorization: AUTH.token } })).status).toBe(200);
      expect((await register('BILLING', 'own-2', AUTH.hashed)).status).toBe(204);
      expect((await register('ANYTHING', 'own-3', AUTH.any)).status).toBe(204);
    });

    it('of another app: 403 with an empty body; nothing changes', async () => {
      expect((await register('BILLING', 'b-1', AUTH.any)).status).toBe(204);
      expect403(await register('BILLING', 'b-2', AUTH.orders));
      expect403(await register('BILLING', 'b-2', AUTH.token));
      expect403(await call(port(), 'PUT', '/eureka/apps/BILLING/b-1', { headers: { authorization: AUTH.orders } }));
      expect403(await call(port(), 'DELETE', '/eureka/apps/BILLING/b-1', { headers: { authorization: AUTH.orders } }));
      expect(server().registry.lease('BILLING', 'b-2')).toBeUndefined();
      expect(server().registry.lease('BILLING', 'b-1')).toBeDefined();
    });

    it('a peer (without the replication header) may not register as a client: 403', async () => {
      expect403(await register('ORDERS', 'p-1', AUTH.peer));
    });
  });

  describe('replication', () => {
    it('POST /peerreplication/batch without peer credentials: 401; as a client: 403; as a peer: 200', async () => {
      const body = batch('ORDERS', 'repl-1');
      expect401(await call(port(), 'POST', '/eureka/peerreplication/batch', { body }));
      expect403(await call(port(), 'POST', '/eureka/peerreplication/batch', { body, headers: { authorization: AUTH.orders } }));
      expect(server().registry.lease('ORDERS', 'repl-1')).toBeUndefined();
      const ok = await call(port(), 'POST', '/eureka/peerreplication/batch', { body, headers: { authorization: AUTH.peer } });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.text)).toEqual({ responseList: [{ statusCode: 200 }] });
      expect(server().registry.lease('ORDERS', 'repl-1')).toBeDefined();
    });

    it('a write carrying the replication header needs the peer role, even for the client\'s own app', async () => {
      const replicated = { 'x-netflix-discovery-replication': 'true' };
      expect403(await call(port(), 'POST', '/eureka/apps/ORDERS', { body: instanceBody('ORDERS', 'hdr-1'), headers: { ...replicated, authorization: AUTH.orders } }));
      expect401(await call(port(), 'POST', '/eureka/apps/ORDERS', { body: instanceBody('ORDERS', 'hdr-1'), headers: replicated }));
      expect((await call(port(), 'POST', '/eureka/apps/ORDERS', { body: instanceBody('ORDERS', 'hdr-1'), headers: { ...replicated, authorization: AUTH.peer } })).status).toBe(204);
      expect(server().registry.lease('ORDERS', 'hdr-1')).toBeDefined();
    });
  });

  describe('status overrides and metadata', () => {
    beforeAll(async () => {
      expect((await register('ORDERS', 'ovr-1', AUTH.orders)).status).toBe(204);
    });

    it('as a client: 403, even for its own app; without credentials: 401', async () => {
      expect403(await call(port(), 'PUT', '/eureka/apps/ORDERS/ovr-1/status?value=OUT_OF_SERVICE', { headers: { authorization: AUTH.orders } }));
      expect403(await call(port(), 'DELETE', '/eureka/apps/ORDERS/ovr-1/status', { headers: { authorization: AUTH.orders } }));
      expect403(await call(port(), 'PUT', '/eureka/apps/ORDERS/ovr-1/metadata?a=b', { headers: { authorization: AUTH.any } }));
      expect403(await call(port(), 'PUT', '/eureka/apps/ORDERS/ovr-1/status?value=OUT_OF_SERVICE', { headers: { authorization: AUTH.peer } }));
      expect401(await call(port(), 'PUT', '/eureka/apps/ORDERS/ovr-1/status?value=OUT_OF_SERVICE'));
      expect(server().registry.lease('ORDERS', 'ovr-1')?.record.instance.status).toBe('UP');
    });

    it('as an admin (Basic or token): 200', async () => {
      expect((await call(port(), 'PUT', '/eureka/apps/ORDERS/ovr-1/status?value=OUT_OF_SERVICE', { headers: { authorization: AUTH.ops } })).status).toBe(200);
      expect(server().registry.lease('ORDERS', 'ovr-1')?.record.instance.status).toBe('OUT_OF_SERVICE');
      expect((await call(port(), 'PUT', '/eureka/apps/ORDERS/ovr-1/metadata?owner=ops', { headers: { authorization: AUTH.adminToken } })).status).toBe(200);
      expect(server().registry.lease('ORDERS', 'ovr-1')?.record.instance.metadata).toMatchObject({ owner: 'ops' });
      expect((await call(port(), 'DELETE', '/eureka/apps/ORDERS/ovr-1/status', { headers: { authorization: AUTH.ops } })).status).toBe(200);
      // An admin may also write any app's instances.
      expect((await register('INVENTORY', 'adm-1', AUTH.ops)).status).toBe(204);
    });
  });

  describe('writes from browsers on other sites (cached Basic credentials)', () => {
    it('are refused with 403, even for an admin and a text/plain body; same-origin and non-browser writes pass', async () => {
      const body = instanceBody('ORDERS', 'xsite-1');
      const form = { authorization: AUTH.ops, 'content-type': 'text/plain' };
      expect403(await call(port(), 'POST', '/eureka/apps/ORDERS', { body, headers: { ...form, origin: 'https://evil.example' } }));
      expect403(await call(port(), 'POST', '/eureka/apps/ORDERS', { body, headers: { ...form, origin: 'null' } }));
      expect403(await call(port(), 'POST', '/eureka/apps/ORDERS', { body, headers: { ...form, 'sec-fetch-site': 'cross-site' } }));
      expect403(await call(port(), 'PUT', '/eureka/apps/ORDERS/xsite-1/status?value=DOWN', { headers: { authorization: AUTH.ops, 'sec-fetch-site': 'same-site' } }));
      expect(server().registry.lease('ORDERS', 'xsite-1')).toBeUndefined();
      // Reads stay readable; the page cannot see the answer anyway (no CORS headers).
      expect((await call(port(), 'GET', '/eureka/apps', { headers: { origin: 'https://evil.example' } })).status).toBe(200);
      expect((await call(port(), 'POST', '/eureka/apps/ORDERS', { body, headers: { ...form, origin: `http://127.0.0.1:${port()}`, 'sec-fetch-site': 'same-origin' } })).status).toBe(204);
    });
  });

  describe('reads', () => {
    it('need no credentials', async () => {
      for (const path of ['/eureka/apps', '/eureka/apps/delta', '/eureka/apps/ORDERS', '/eureka/vips/orders', '/eureka/status', '/eureka/v2/apps/']) {
        expect((await call(port(), 'GET', path)).status).toBe(200);
      }
    });

    it('with bad credentials: 401 (a wrong password is never downgraded to anonymous)', async () => {
      expect401(await call(port(), 'GET', '/eureka/apps', { headers: { authorization: AUTH.wrong } }));
    });

    it('unknown routes and methods keep their 404 / 405', async () => {
      expect((await call(port(), 'GET', '/eureka/nothing')).status).toBe(404);
      expect((await call(port(), 'PATCH', '/eureka/apps')).status).toBe(405);
    });
  });

  describe('operators\' routes', () => {
    it('/health, /health/live and /health/ready stay open', async () => {
      for (const path of ['/health', '/health/live', '/health/ready']) expect((await call(port(), 'GET', path)).status).toBe(200);
    });

    it('the dashboard, its assets and /api/overview: 401 JSON with the challenge, 403 JSON for a non-admin, 200 for an admin', async () => {
      for (const path of ['/', '/api/overview', '/assets/dashboard.js']) {
        const anonymous = await call(port(), 'GET', path);
        expect(anonymous.status).toBe(401);
        expect(anonymous.headers['www-authenticate']).toBe('Basic realm="eureka"');
        expect(JSON.parse(anonymous.text)).toEqual({ error: 'authentication required' });
        const client = await call(port(), 'GET', path, { headers: { authorization: AUTH.orders } });
        expect(client.status).toBe(403);
        expect(JSON.parse(client.text)).toEqual({ error: 'forbidden: needs the admin role' });
        expect((await call(port(), 'GET', path, { headers: { authorization: AUTH.ops } })).status).toBe(200);
      }
    });

    it('/metrics is a read: open with anonymous reads', async () => {
      expect((await call(port(), 'GET', '/metrics')).status).toBe(200);
      expect((await call(port(), 'GET', '/metrics', { headers: { authorization: AUTH.wrong } })).status).toBe(401);
    });
  });
});

describe('with authentication on and authAnonymousReads=false', () => {
  const server = serverWith(() => authFlags(dir, ['--auth-anonymous-reads', 'false']));
  const port = (): number => server().port;

  it('refuses reads without credentials with 401, empty body', async () => {
    for (const path of ['/eureka/apps', '/eureka/apps/delta', '/eureka/apps/ORDERS', '/eureka/instances/x', '/eureka/vips/orders', '/eureka/status']) {
      expect401(await call(port(), 'GET', path));
    }
  });

  it('serves reads to any valid credential', async () => {
    for (const authorization of [AUTH.orders, AUTH.token, AUTH.peer, AUTH.ops]) {
      expect((await call(port(), 'GET', '/eureka/apps', { headers: { authorization } })).status).toBe(200);
    }
  });

  it('/metrics needs credentials too; /health does not', async () => {
    const anonymous = await call(port(), 'GET', '/metrics');
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.text)).toEqual({ error: 'authentication required' });
    expect((await call(port(), 'GET', '/metrics', { headers: { authorization: AUTH.any } })).status).toBe(200);
    expect((await call(port(), 'GET', '/health')).status).toBe(200);
  });
});

describe('with authentication off (the default)', () => {
  const server = serverWith(() => []);
  const port = (): number => server().port;

  it('everything is open, and an Authorization header is ignored', async () => {
    expect((await call(port(), 'POST', '/eureka/apps/ORDERS', { body: instanceBody('ORDERS', 'open-1') })).status).toBe(204);
    expect((await call(port(), 'PUT', '/eureka/apps/ORDERS/open-1/status?value=OUT_OF_SERVICE', { headers: { authorization: 'Basic garbage' } })).status).toBe(200);
    expect((await call(port(), 'GET', '/')).status).toBe(200);
    expect((await call(port(), 'GET', '/metrics')).status).toBe(200);
  });
});

describe('rate limits', () => {
  describe('rateLimitFullFetchesPerSec', () => {
    const server = serverWith(() => authFlags(dir, ['--rate-limit-full-fetches-per-sec', '3']));
    const port = (): number => server().port;

    it('answers GET /apps 429 with Retry-After and an empty body after the burst; deltas are not limited; peers are exempt', async () => {
      const statuses: number[] = [];
      let refused: Reply | undefined;
      for (let i = 0; i < 10; i++) {
        const res = await call(port(), 'GET', '/eureka/apps');
        statuses.push(res.status);
        if (res.status === 429) refused = res;
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses).toContain(429);
      expect(refused?.headers['retry-after']).toBe('1');
      expect(refused?.text).toBe('');
      expect((await call(port(), 'GET', '/eureka/apps/delta')).status).toBe(200);
      expect((await call(port(), 'GET', '/eureka/apps', { headers: { authorization: AUTH.peer } })).status).toBe(200);
      expect((await call(port(), 'GET', '/eureka/apps', { headers: { authorization: AUTH.ops } })).status).toBe(200);
    });
  });

  describe('rateLimitRequestsPerClientPerSec', () => {
    const server = serverWith(() => ['--rate-limit-requests-per-client-per-sec', '5']);
    const port = (): number => server().port;

    it('answers 429 to a client address past its burst, on any Eureka route, but not on /health', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await call(port(), i % 2 ? 'GET' : 'PUT', i % 2 ? '/eureka/apps/delta' : '/eureka/apps/ORDERS/none')).status);
      expect(statuses.slice(0, 5).every((s) => s !== 429)).toBe(true);
      expect(statuses.slice(5)).toContain(429);
      const refused = await call(port(), 'GET', '/eureka/apps');
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(refused.text).toBe('');
      expect((await call(port(), 'GET', '/health')).status).toBe(200);
    });
  });
});
