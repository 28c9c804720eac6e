// Authentication and authorization of a real server on 127.0.0.1 (authEnabled): the Eureka routes answer 401/403
// with empty bodies, the operators' routes with JSON; roles decide writes, replication and overrides; anonymous reads
// follow authAnonymousReads. Users with salted scrypt passwords, and 503 while too many are being verified. Plus the
// rate limits (429 with Retry-After) and the default: everything open.
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config/config';
import { createApp } from '../../src/http/app';
import { CredentialVerifier, parseCredentials } from '../../src/security/credentials';
import { hashPassword } from '../../src/security/password-hash';
import { RunningServer, startServer } from '../../src/server';
import { makeTestApp } from '../helpers/app';
import { RecordingLogger } from '../helpers/replication-fixtures';
import { waitFor } from '../helpers/wait';
import { AUTH, authFlags, basic, call, CREDENTIALS, instanceBody, Reply, start, TempDir } from './support';

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
    // Registered afresh for each test (UP, no override), whatever ran before.
    beforeEach(async () => {
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
      expect((await register('ORDERS', 'read-1', AUTH.orders)).status).toBe(204);
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

    it('the dashboard, its assets, /api/overview and /api/health-checks: 401 JSON with the challenge, 403 JSON for a non-admin, 200 for an admin', async () => {
      for (const path of ['/', '/api/overview', '/api/health-checks', '/assets/dashboard.js']) {
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

describe('with users whose passwords are scrypt hashes (passwordScrypt)', () => {
  const SCRYPT = { client: basic('scrypt-svc', 'scrypt client pw'), admin: basic('scrypt-ops', 'scrypt admin pw'), peer: basic('scrypt-peer', 'scrypt peer pw') };
  let file = '';
  beforeAll(async () => {
    file = dir.file('scrypt-credentials.json', {
      users: [
        { name: 'scrypt-svc', passwordScrypt: await hashPassword('scrypt client pw'), roles: ['client'], apps: ['ORDERS'] },
        { name: 'scrypt-ops', passwordScrypt: await hashPassword('scrypt admin pw'), roles: ['admin'] },
        { name: 'scrypt-peer', passwordScrypt: await hashPassword('scrypt peer pw'), roles: ['peer'] },
        CREDENTIALS.users[0],
      ],
    });
  });
  const server = serverWith(() => ['--auth-enabled', 'true', '--auth-file', file]);
  const port = (): number => server().port;

  it('register, heartbeat and cancel: 204, 200, 200; a wrong password: 401, also when repeated', async () => {
    expect((await call(port(), 'POST', '/eureka/apps/ORDERS', { body: instanceBody('ORDERS', 'sc-1'), headers: { authorization: SCRYPT.client } })).status).toBe(204);
    for (let i = 0; i < 3; i++) expect((await call(port(), 'PUT', '/eureka/apps/ORDERS/sc-1', { headers: { authorization: SCRYPT.client } })).status).toBe(200);
    expect401(await call(port(), 'PUT', '/eureka/apps/ORDERS/sc-1', { headers: { authorization: basic('scrypt-svc', 'wrong') } }));
    expect401(await call(port(), 'PUT', '/eureka/apps/ORDERS/sc-1', { headers: { authorization: basic('scrypt-svc', 'wrong') } }));
    expect401(await call(port(), 'PUT', '/eureka/apps/ORDERS/sc-1', { headers: { authorization: basic('nobody', 'scrypt client pw') } }));
    expect403(await call(port(), 'POST', '/eureka/apps/BILLING', { body: instanceBody('BILLING', 'sc-2'), headers: { authorization: SCRYPT.client } }));
    expect((await call(port(), 'DELETE', '/eureka/apps/ORDERS/sc-1', { headers: { authorization: SCRYPT.client } })).status).toBe(200);
    // A legacy user in the same file still works.
    expect((await call(port(), 'PUT', '/eureka/apps/ORDERS/sc-1', { headers: { authorization: AUTH.orders } })).status).toBe(404);
  });

  it('answers every one of concurrent first requests carrying the same new credentials', async () => {
    const body = batch('ORDERS', 'sc-repl');
    const replies = await Promise.all(Array.from({ length: 8 }, () => call(port(), 'POST', '/eureka/peerreplication/batch', { body, headers: { authorization: SCRYPT.peer } })));
    expect(replies.map((r) => r.status)).toEqual(Array(8).fill(200));
  });

  it("the operators' routes: 200 for the admin, 403 JSON for the client, 401 JSON for a wrong password", async () => {
    expect((await call(port(), 'GET', '/api/overview', { headers: { authorization: SCRYPT.admin } })).status).toBe(200);
    expect((await call(port(), 'GET', '/api/overview', { headers: { authorization: SCRYPT.admin } })).status).toBe(200);
    const client = await call(port(), 'GET', '/api/overview', { headers: { authorization: SCRYPT.client } });
    expect(client.status).toBe(403);
    expect(JSON.parse(client.text)).toEqual({ error: 'forbidden: needs the admin role' });
    const wrong = await call(port(), 'GET', '/api/overview', { headers: { authorization: basic('scrypt-ops', 'nope') } });
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.text)).toEqual({ error: 'authentication required' });
  });

  it('logs a warning at start for each legacy entry, naming the user', async () => {
    const logger = new RecordingLogger();
    const other = await startServer(loadConfig(['--port', '0', '--host', '127.0.0.1', '--auth-enabled', 'true', '--auth-file', file], {}), { logger });
    await other.close();
    const warnings = logger.lines.filter((l) => l.level === 'warn' && l.message.includes('passwordScrypt'));
    expect(warnings.map((l) => l.fields)).toEqual([{ user: 'orders-svc', file }]);
    expect(warnings[0].message).toMatch(/^user "orders-svc" has its password in clear .*zone-registry hash-password/);
  });
});

describe('while too many passwords are being verified', () => {
  let http: Server;
  let port = 0;
  const held: ((ok: boolean) => void)[] = [];
  beforeAll(async () => {
    const credentials = parseCredentials({ users: [{ name: 'u', passwordScrypt: await hashPassword('pw'), roles: ['admin'] }] }, 'test');
    // One verification at a time, none waiting, each answered when the test says.
    const verifier = new CredentialVerifier(credentials, 4096, { maxRunning: 1, maxWaiting: 0, verifyPassword: () => new Promise((resolve) => held.push(resolve)) });
    const { deps } = makeTestApp();
    http = createServer(createApp({ ...deps, security: { verifier, anonymousReads: true, fullFetchesPerSec: 0, requestsPerClientPerSec: 0 } }));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    port = (http.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const release of held.splice(0)) release(false);
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });

  it('answers new credentials 503 with Retry-After at once (empty on Eureka routes, JSON on the operators\'), then verifies them when a slot is free', async () => {
    const first = call(port, 'PUT', '/eureka/apps/ORDERS/x', { headers: { authorization: basic('u', 'pw') } });
    await waitFor(() => held.length === 1, 'the first verification to start');
    const eureka = await call(port, 'PUT', '/eureka/apps/ORDERS/x', { headers: { authorization: basic('u', 'other') } });
    expect(eureka).toMatchObject({ status: 503, text: '' });
    expect(eureka.headers['retry-after']).toBe('1');
    const operators = await call(port, 'GET', '/api/overview', { headers: { authorization: basic('u', 'other') } });
    expect(operators.status).toBe(503);
    expect(operators.headers['retry-after']).toBe('1');
    expect(JSON.parse(operators.text)).toEqual({ error: 'too many logins being verified, retry shortly' });
    // Requests without credentials need no verification.
    expect((await call(port, 'GET', '/eureka/apps')).status).toBe(200);
    held.shift()!(true);
    expect((await first).status).toBe(404);
    expect((await call(port, 'GET', '/api/overview', { headers: { authorization: basic('u', 'pw') } })).status).toBe(200);
    const wrong = call(port, 'GET', '/api/overview', { headers: { authorization: basic('u', 'other') } });
    await waitFor(() => held.length === 1, 'the second verification to start');
    held.shift()!(false);
    expect((await wrong).status).toBe(401);
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
