// Units of the security layer without sockets: the credentials file's validation, verification of Authorization
// headers (and its cache), the role rules, the token buckets, URL credentials, and the settings' checks.
import { Readable } from 'node:stream';
import { isPromise } from 'node:util/types';
import { defaultSettings, ConfigError, Settings } from '../../src/config/settings';
import { decideEureka, decideOperator } from '../../src/security/access';
import { securityFromSettings } from '../../src/security/config';
import { ANONYMOUS, BUSY, CredentialVerifier, INVALID, loadCredentials, MAX_REMEMBERED_CHARS, parseCredentials, Principal } from '../../src/security/credentials';
import { runHashPassword } from '../../src/security/hash-password-cli';
import { parseScryptHash, ScryptHash, verifyScrypt } from '../../src/security/password-hash';
import { KeyedRateLimiter, retryAfterSecs, TokenBucket } from '../../src/security/rate-limit';
import { basicAuthorization, splitCredentials, stripCredentials } from '../../src/codecs/url-credentials';
import { eurekaRoutes } from '../../src/http/eureka-api';
import { settle } from '../helpers/replication-scheduler';
import { AUTH, basic, CREDENTIALS, PW, selfSignedCertificate, TempDir } from './support';

const parse = (doc: unknown): ReturnType<typeof parseCredentials> => parseCredentials(doc, 'authFile test.json');
// A valid hash of the password "p", made with the defaults (fixed salt, so the table below is static).
const SCRYPT_OF_P = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$GBPapaR4p5l8V0v9s6AFgaj3PugZbADvXSlQtZd/FGU=';
const user = (extra: Record<string, unknown>) => ({ users: [{ name: 'u', password: 'p', roles: ['client'], ...extra }] });

describe('credentials file validation', () => {
  it('accepts every documented shape', () => {
    const set = parse(CREDENTIALS);
    expect([...set.users.keys()]).toEqual(['orders-svc', 'any-svc', 'peer', 'ops', 'hashed-svc']);
    expect(set.tokens).toHaveLength(2);
    const orders = set.users.get('orders-svc')?.principal;
    expect(orders).toMatchObject({ name: 'orders-svc', isClient: true, isPeer: false, isAdmin: false });
    expect([...(orders?.apps ?? [])]).toEqual(['ORDERS', 'JQSERVICE']);
    expect(set.users.get('any-svc')?.principal.apps).toBeUndefined();
    expect(set.tokens[1].principal).toMatchObject({ name: 'token#2', isAdmin: true });
  });

  it.each<[string, unknown, RegExp]>([
    ['not an object', [], /expected a JSON object/],
    ['an unknown top-level key', { users: [], groups: [] }, /unknown key "groups"/],
    ['no users and no tokens', { users: [], tokens: [] }, /defines no users and no tokens/],
    ['users not a list', { users: {} }, /"users" must be a list/],
    ['a user that is not an object', { users: ['ops'] }, /users\[0\] must be an object/],
    ['a user without a name', { users: [{ password: 'p', roles: ['admin'] }] }, /users\[0\]\.name must be a non-empty string/],
    ['a name with a colon', user({ name: 'a:b' }), /must not contain ":"/],
    ['a user listed twice', { users: [user({}).users[0], user({}).users[0]] }, /user "u" is listed twice/],
    ['both password and passwordSha256', user({ passwordSha256: 'a'.repeat(64) }), /user "u" needs exactly one of "passwordScrypt", "password" and "passwordSha256"/],
    ['both password and passwordScrypt', user({ passwordScrypt: SCRYPT_OF_P }), /user "u" needs exactly one of/],
    ['neither password nor passwordSha256', { users: [{ name: 'u', roles: ['client'] }] }, /needs exactly one of/],
    ['an empty password', user({ password: '' }), /user "u"\.password must be a non-empty string/],
    ['a short passwordSha256', { users: [{ name: 'u', passwordSha256: 'abc', roles: ['client'] }] }, /passwordSha256 must be 64 hex digits/],
    ['no roles', user({ roles: [] }), /roles must be a non-empty list of client, peer, admin/],
    ['an unknown role', user({ roles: ['root'] }), /roles has "root"/],
    ['apps on a non-client', user({ roles: ['peer'], apps: ['X'] }), /apps applies to the client role only/],
    ['empty apps', user({ apps: [] }), /apps must be a non-empty list/],
    ['a non-string app', user({ apps: [1] }), /apps must hold non-empty strings/],
    ['an unknown user key', user({ pass: 'x' }), /users\[0\] has an unknown key "pass"/],
    ['a token without a secret', { tokens: [{ roles: ['client'] }] }, /tokens\[0\] needs exactly one of "token" and "tokenSha256"/],
    ['a repeated token', { tokens: [{ token: 't', roles: ['client'] }, { token: 't', roles: ['admin'] }] }, /tokens\[1\] repeats an earlier token/],
  ])('refuses %s, naming the file and the entry', (_what, doc, message) => {
    expect(() => parse(doc)).toThrow(ConfigError);
    expect(() => parse(doc)).toThrow(/^Invalid authFile test\.json: /);
    expect(() => parse(doc)).toThrow(message);
  });

  describe('passwordScrypt', () => {
    const hashOf = (N: number, r: number, p: number, salt = 'AAAAAAAAAAAAAAAAAAAAAA==', hash = 'GBPapaR4p5l8V0v9s6AFgaj3PugZbADvXSlQtZd/FGU='): string => `scrypt$${N}$${r}$${p}$${salt}$${hash}`;
    const scryptUser = (passwordScrypt: unknown) => ({ users: [{ name: 'u', passwordScrypt, roles: ['client'] }] });

    it('is read into its parameters, salt and hash, with no warning', () => {
      const set = parse(scryptUser(SCRYPT_OF_P));
      const check = set.users.get('u')!.password;
      expect('scrypt' in check && { N: check.scrypt.N, r: check.scrypt.r, p: check.scrypt.p, salt: check.scrypt.salt.length, hash: check.scrypt.hash.length }).toEqual({ N: 16384, r: 8, p: 1, salt: 16, hash: 32 });
      expect(set.warnings).toEqual([]);
    });

    it.each<[string, unknown, RegExp]>([
      ['not a scrypt string', 'c2VjcmV0', /must be "scrypt\$N\$r\$p\$<salt base64>\$<hash base64>"/],
      ['a missing part', 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==', /must be "scrypt\$N/],
      ['another algorithm', SCRYPT_OF_P.replace('scrypt', 'bcrypt'), /must be "scrypt\$N/],
      ['a number', 42, /passwordScrypt must be a string/],
      ['p of 0', hashOf(16384, 8, 0), /N, r and p must be positive whole numbers/],
      ['a fractional r', hashOf(16384, 8.5, 1), /N, r and p must be positive whole numbers/],
      ['N not a power of two', hashOf(16383, 8, 1), /N must be a power of two, not 16383/],
      ['parameters cheaper than the defaults', hashOf(1024, 8, 1), /N·r·p is 8192, below 131072/],
      ['parameters costing minutes', hashOf(1048576, 8, 16), /N·r·p is 134217728, above 1048576/],
      ['parameters needing 128 MiB', hashOf(131072, 8, 1), /128·N·r is 134217728 bytes, above 67108864/],
      ['a salt that is not base64', hashOf(16384, 8, 1, 'not base64!'), /salt and hash must be base64/],
      ['a 4-byte salt', hashOf(16384, 8, 1, 'AAAAAA=='), /the salt must be 8 to 64 bytes, not 4/],
      ['an 8-byte hash', hashOf(16384, 8, 1, undefined, 'AAAAAAAAAAA='), /the hash must be 16 to 64 bytes, not 8/],
    ])('refuses %s, naming the entry', (_what, value, message) => {
      expect(() => parse(scryptUser(value))).toThrow(ConfigError);
      expect(() => parse(scryptUser(value))).toThrow(/^Invalid authFile test\.json: user "u"\.passwordScrypt /);
      expect(() => parse(scryptUser(value))).toThrow(message);
    });
  });

  describe('legacy passwords', () => {
    it('warn once per entry, naming the user and how to upgrade', () => {
      const { warnings } = parse(CREDENTIALS);
      expect(warnings.map((w) => w.user)).toEqual(['orders-svc', 'any-svc', 'peer', 'ops', 'hashed-svc']);
      expect(warnings[0].message).toBe('user "orders-svc" has its password in clear in the credentials file; replace it with "passwordScrypt": the line `zone-registry hash-password` prints for the password on its stdin');
      expect(warnings[4].message).toMatch(/^user "hashed-svc" has an unsalted "passwordSha256"; replace it with "passwordScrypt"/);
    });

    it('do not warn for tokens', () => {
      expect(parse({ tokens: CREDENTIALS.tokens }).warnings).toEqual([]);
    });
  });

  describe('loadCredentials', () => {
    const dir = new TempDir();
    afterAll(() => dir.cleanup());

    it('reads a file', () => {
      expect(loadCredentials(dir.file('ok.json', CREDENTIALS)).users.size).toBe(5);
    });
    it('names the setting for a missing file', () => {
      expect(() => loadCredentials(`${dir.path}/missing.json`)).toThrow(/^Invalid setting authFile: cannot read .*missing\.json/);
    });
    it('names the file for bad JSON', () => {
      const file = dir.file('bad.json', '{"users": [');
      expect(() => loadCredentials(file)).toThrow(/^Invalid setting authFile \(.*bad\.json\): not JSON/);
    });
  });
});

describe('CredentialVerifier', () => {
  const verifier = (): CredentialVerifier => new CredentialVerifier(parse(CREDENTIALS));
  const principal = (v: CredentialVerifier, header: string | undefined): string => {
    const id = v.identify(header);
    if (isPromise(id)) throw new Error('legacy entries and tokens are verified synchronously');
    return typeof id === 'string' ? id : id.name;
  };

  it('resolves Basic users by name and password, clear or hashed', () => {
    const v = verifier();
    expect(principal(v, AUTH.orders)).toBe('orders-svc');
    expect(principal(v, AUTH.ops)).toBe('ops');
    expect(principal(v, AUTH.hashed)).toBe('hashed-svc');
    // Scheme names are case-insensitive; a password may contain colons.
    expect(principal(v, AUTH.ops.replace('Basic', 'basic'))).toBe('ops');
    const colon = new CredentialVerifier(parse({ users: [{ name: 'c', password: 'a:b:c', roles: ['client'] }] }));
    expect(principal(colon, basic('c', 'a:b:c'))).toBe('c');
  });

  it('resolves Bearer tokens, clear or hashed', () => {
    const v = verifier();
    expect(principal(v, AUTH.token)).toBe('token#1');
    expect(principal(v, AUTH.adminToken)).toBe('token#2');
  });

  it('tells no header (anonymous) from bad credentials (invalid)', () => {
    const v = verifier();
    expect(v.identify(undefined)).toBe(ANONYMOUS);
    for (const bad of [AUTH.wrong, basic('nobody', PW.ops), basic('ops', ''), 'Basic', 'Basic !!!', 'Basic ' + Buffer.from('no-colon').toString('base64'), 'Bearer ', 'Bearer nope', `Digest ${PW.token}`, PW.token, '']) {
      expect(v.identify(bad)).toBe(INVALID);
    }
  });

  it('remembers verified headers only, up to its bound', () => {
    const v = new CredentialVerifier(parse(CREDENTIALS), 2);
    v.identify(AUTH.wrong);
    expect(v.cacheSize).toBe(0);
    const first = v.identify(AUTH.orders);
    expect(v.identify(AUTH.orders)).toBe(first);
    v.identify(AUTH.ops);
    v.identify(AUTH.peer);
    expect(v.cacheSize).toBe(2);
    // Evicted entries verify again, to the same principal.
    expect((v.identify(AUTH.orders) as Principal).name).toBe('orders-svc');
  });

  it('bounds what it remembers by characters as well, forgetting the oldest headers first', () => {
    const v = verifier();
    // Base64 decoding ignores characters outside its alphabet: one secret, any number of distinct long headers.
    const padded = (n: number): string => `${AUTH.orders} ${'.'.repeat(n)}`;
    for (let n = 0; n < 100; n++) expect((v.identify(padded(15_000 + n)) as Principal).name).toBe('orders-svc');
    expect(v.cacheChars).toBeLessThanOrEqual(MAX_REMEMBERED_CHARS);
    expect(v.cacheSize).toBeLessThan(100);
    expect((v.identify(padded(MAX_REMEMBERED_CHARS + 1)) as Principal).name).toBe('orders-svc');
    expect(v.cacheChars).toBeLessThanOrEqual(MAX_REMEMBERED_CHARS);
  });
  describe('with scrypt users', () => {
    const SCRYPT_DOC = {
      users: [
        { name: 'fast', password: 'legacy', roles: ['client'] },
        { name: 'u', passwordScrypt: SCRYPT_OF_P, roles: ['client'] },
      ],
      tokens: [{ token: PW.token, roles: ['client'] }],
    };

    /** A password check that answers when the test says; `calls` counts the checks started. */
    function heldCheck() {
      const held: ((ok: boolean) => void)[] = [];
      let calls = 0;
      const verifyPassword = (): Promise<boolean> => {
        calls++;
        return new Promise((resolve) => held.push(resolve));
      };
      return { verifyPassword, held, calls: () => calls };
    }

    it('verifies the right password off the event loop, and refuses a wrong one', async () => {
      const v = new CredentialVerifier(parse(SCRYPT_DOC));
      const right = v.identify(basic('u', 'p'));
      const wrong = v.identify(basic('u', 'not-p'));
      expect(isPromise(right) && isPromise(wrong)).toBe(true);
      expect(((await right) as Principal).name).toBe('u');
      expect(await wrong).toBe(INVALID);
    });

    it('answers a remembered header synchronously, with the same principal', async () => {
      const v = new CredentialVerifier(parse(SCRYPT_DOC));
      const first = await v.identify(basic('u', 'p'));
      const again = v.identify(basic('u', 'p'));
      expect(isPromise(again)).toBe(false);
      expect(again).toBe(first);
    });

    it('answers a header that failed before synchronously, without verifying it again', async () => {
      const check = heldCheck();
      const v = new CredentialVerifier(parse(SCRYPT_DOC), 4096, { verifyPassword: check.verifyPassword });
      const first = v.identify(basic('u', 'wrong'));
      check.held.shift()!(false);
      expect(await first).toBe(INVALID);
      expect(v.identify(basic('u', 'wrong'))).toBe(INVALID);
      expect(check.calls()).toBe(1);
    });

    it('remembers failures up to its bound', async () => {
      const v = new CredentialVerifier(parse(SCRYPT_DOC), 4096, { maxFailures: 1, verifyPassword: async () => false });
      await v.identify(basic('u', 'a'));
      await v.identify(basic('u', 'b'));
      expect(isPromise(v.identify(basic('u', 'a')))).toBe(true);
    });

    it('makes an unknown user cost a scrypt verification too', async () => {
      const check = heldCheck();
      const v = new CredentialVerifier(parse(SCRYPT_DOC), 4096, { verifyPassword: check.verifyPassword });
      const unknown = v.identify(basic('nobody', 'p'));
      expect(isPromise(unknown)).toBe(true);
      check.held.shift()!(true);
      expect(await unknown).toBe(INVALID);
    });

    it('runs one verification for concurrent requests with the same header', async () => {
      const check = heldCheck();
      const v = new CredentialVerifier(parse(SCRYPT_DOC), 4096, { verifyPassword: check.verifyPassword });
      const a = v.identify(basic('u', 'p'));
      const b = v.identify(basic('u', 'p'));
      expect(b).toBe(a);
      expect(check.calls()).toBe(1);
      check.held.shift()!(true);
      expect(((await a) as Principal).name).toBe('u');
    });

    it('runs at most maxRunning verifications, queues maxWaiting, and answers BUSY beyond', async () => {
      const check = heldCheck();
      const v = new CredentialVerifier(parse(SCRYPT_DOC), 4096, { maxRunning: 1, maxWaiting: 1, verifyPassword: check.verifyPassword });
      const running = v.identify(basic('u', 'one'));
      const waiting = v.identify(basic('u', 'two'));
      expect(v.identify(basic('u', 'three'))).toBe(BUSY);
      expect(v.scryptPending).toBe(2);
      await settle();
      expect(check.calls()).toBe(1);
      check.held.shift()!(false);
      expect(await running).toBe(INVALID);
      await settle();
      expect(check.calls()).toBe(2);
      check.held.shift()!(false);
      expect(await waiting).toBe(INVALID);
      expect(v.scryptPending).toBe(0);
      // Legacy users, tokens and remembered headers never wait for a slot.
      expect(principal(v, basic('fast', 'legacy'))).toBe('fast');
      expect(principal(v, AUTH.token)).toBe('token#1');
    });
  });
});

describe('role rules', () => {
  const set = parse(CREDENTIALS);
  const p = (name: string): Principal => set.users.get(name)!.principal;
  const rules = Object.fromEntries(eurekaRoutes({} as never).map((r) => [`${r.method} ${r.pattern}`, r.access]));

  it('gives every route of the table a rule: reads, instance writes, replication, admin', () => {
    expect(rules).toEqual({
      'GET /apps': 'read',
      'GET /apps/delta': 'read',
      'GET /apps/:app': 'read',
      'POST /apps/:app': 'instance-write',
      'GET /apps/:app/:id': 'read',
      'PUT /apps/:app/:id': 'instance-write',
      'DELETE /apps/:app/:id': 'instance-write',
      'PUT /apps/:app/:id/status': 'admin',
      'DELETE /apps/:app/:id/status': 'admin',
      'PUT /apps/:app/:id/metadata': 'admin',
      'GET /instances/:id': 'read',
      'GET /vips/:vip': 'read',
      'GET /svips/:vip': 'read',
      'PUT /asg/:asg/status': 'admin',
      'POST /peerreplication/batch': 'replication',
      'GET /status': 'read',
      'GET /serverinfo/statusoverrides': 'read',
    });
  });

  it('counts every route against the per-client limit and GET /apps against the full-fetch limit too', () => {
    const classes = Object.fromEntries(eurekaRoutes({} as never).map((r) => [`${r.method} ${r.pattern}`, r.rateLimit]));
    expect(Object.entries(classes).filter(([, c]) => c !== 'per-client')).toEqual([['GET /apps', 'full-fetch']]);
  });

  it.each([
    // identity, rule, app, replication, anonymous reads → decision
    ['anonymous', 'read', undefined, false, true, 'allow'],
    ['anonymous', 'read', undefined, false, false, 'unauthenticated'],
    ['anonymous', 'instance-write', 'ORDERS', false, true, 'unauthenticated'],
    ['invalid', 'read', undefined, false, true, 'unauthenticated'],
    ['orders-svc', 'instance-write', 'ORDERS', false, true, 'allow'],
    ['orders-svc', 'instance-write', 'orders', false, true, 'allow'],
    ['orders-svc', 'instance-write', 'BILLING', false, true, 'forbidden'],
    ['orders-svc', 'instance-write', 'ORDERS', true, true, 'forbidden'],
    ['orders-svc', 'read', undefined, false, false, 'allow'],
    ['orders-svc', 'admin', 'ORDERS', false, true, 'forbidden'],
    ['orders-svc', 'replication', undefined, false, true, 'forbidden'],
    ['any-svc', 'instance-write', 'ANYTHING', false, true, 'allow'],
    ['peer', 'replication', undefined, false, true, 'allow'],
    ['peer', 'instance-write', 'ORDERS', false, true, 'forbidden'],
    ['peer', 'instance-write', 'ORDERS', true, true, 'allow'],
    ['peer', 'admin', 'ORDERS', true, true, 'allow'],
    ['peer', 'admin', 'ORDERS', false, true, 'forbidden'],
    ['ops', 'admin', 'ORDERS', false, true, 'allow'],
    ['ops', 'replication', undefined, false, true, 'allow'],
  ] as const)('%s on a %s route (app %s, replication %s, anonymous reads %s): %s', (who, rule, app, replication, anonymous, expected) => {
    const identity = who === 'anonymous' ? ANONYMOUS : who === 'invalid' ? INVALID : p(who);
    expect(decideEureka(identity, rule, app, replication, anonymous)).toBe(expected);
  });

  it('operators: the dashboard is the admin\'s, /metrics a read', () => {
    expect(decideOperator(ANONYMOUS, 'admin', true)).toBe('unauthenticated');
    expect(decideOperator(p('orders-svc'), 'admin', true)).toBe('forbidden');
    expect(decideOperator(p('ops'), 'admin', false)).toBe('allow');
    expect(decideOperator(ANONYMOUS, 'read', true)).toBe('allow');
    expect(decideOperator(ANONYMOUS, 'read', false)).toBe('unauthenticated');
    expect(decideOperator(p('peer'), 'read', false)).toBe('allow');
    expect(decideOperator(INVALID, 'read', true)).toBe('unauthenticated');
  });
});

describe('token buckets', () => {
  it('allow a burst of one second, then one token per 1/rate', () => {
    const b = new TokenBucket(4, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([0, 0, 0, 0]);
    expect(b.take(0)).toBe(250);
    expect(b.take(100)).toBe(150);
    expect(b.take(250)).toBe(0);
    expect(b.take(250)).toBe(250);
  });

  it('hold at least one token for rates below one per second', () => {
    const b = new TokenBucket(0.5, 0);
    expect(b.take(0)).toBe(0);
    expect(b.take(0)).toBe(2000);
    expect(retryAfterSecs(2000)).toBe(2);
    expect(retryAfterSecs(1)).toBe(1);
  });

  it('keep one bucket per key and forget idle keys when full', () => {
    const limiter = new KeyedRateLimiter(1, 3);
    expect(limiter.take('a', 0)).toBe(0);
    expect(limiter.take('a', 0)).toBeGreaterThan(0);
    expect(limiter.take('b', 0)).toBe(0);
    expect(limiter.take('c', 0)).toBe(0);
    // At the bound, a new key sweeps the buckets that refilled (all of them, a second later).
    expect(limiter.take('d', 1000)).toBe(0);
    expect(limiter.size).toBe(1);
    // When every bucket is busy, the oldest half goes.
    for (const k of ['e', 'f']) limiter.take(k, 1000);
    limiter.take('g', 1000);
    expect(limiter.size).toBeLessThanOrEqual(3);
  });
});

describe('credentials in URLs', () => {
  it('are split off, percent-decoded, and stripped from what is shown', () => {
    expect(splitCredentials('http://peer:s%40cret@10.0.0.1:8761/eureka/')).toEqual({ url: 'http://10.0.0.1:8761/eureka/', credentials: { username: 'peer', password: 's@cret' } });
    expect(splitCredentials('https://user@host/eureka/')).toEqual({ url: 'https://host/eureka/', credentials: { username: 'user', password: '' } });
    expect(splitCredentials('http://10.0.0.1:8761/eureka/')).toEqual({ url: 'http://10.0.0.1:8761/eureka/' });
    expect(stripCredentials('http://a:b@h:1/eureka/x@y')).toBe('http://h:1/eureka/x@y');
    expect(basicAuthorization({ username: 'peer', password: 'x' })).toBe(basic('peer', 'x'));
  });
});

describe('security settings', () => {
  const dir = new TempDir();
  afterAll(() => dir.cleanup());
  const settings = (overrides: Partial<Settings>): Settings => ({ ...defaultSettings(), ...overrides });

  it('are all off by default', () => {
    const s = securityFromSettings(defaultSettings());
    expect(s.http.verifier).toBeUndefined();
    expect(s.tls).toBeUndefined();
    expect(s.peers).toEqual({ credentials: undefined, ca: undefined });
    expect(s.http).toMatchObject({ anonymousReads: true, fullFetchesPerSec: 0, requestsPerClientPerSec: 0 });
  });

  it('need authFile when authEnabled, and a valid one', () => {
    expect(() => securityFromSettings(settings({ authEnabled: true }))).toThrow(/^Invalid setting authFile: required when authEnabled is true/);
    const bad = dir.file('bad-roles.json', { users: [{ name: 'x', password: 'y', roles: ['god'] }] });
    expect(() => securityFromSettings(settings({ authEnabled: true, authFile: bad }))).toThrow(ConfigError);
    expect(() => securityFromSettings(settings({ authEnabled: true, authFile: bad }))).toThrow(/^Invalid setting authFile \(.*bad-roles\.json\): user "x"\.roles has "god"/);
    const good = dir.file('good.json', CREDENTIALS);
    expect(securityFromSettings(settings({ authEnabled: true, authFile: good })).http.verifier).toBeInstanceOf(CredentialVerifier);
    expect(securityFromSettings(settings({ authEnabled: true, authFile: good })).warnings.map((w) => w.user)).toEqual(['orders-svc', 'any-svc', 'peer', 'ops', 'hashed-svc']);
    // The file is not read while authentication is off.
    expect(securityFromSettings(settings({ authFile: `${dir.path}/missing.json` })).http.verifier).toBeUndefined();
  });

  it('stop the start on a bad passwordScrypt, naming the file and the entry', () => {
    const bad = dir.file('bad-scrypt.json', { users: [{ name: 'ops', passwordScrypt: 'scrypt$1048576$8$16$AAAAAAAAAAAAAAAAAAAAAA==$GBPapaR4p5l8V0v9s6AFgaj3PugZbADvXSlQtZd/FGU=', roles: ['admin'] }] });
    expect(() => securityFromSettings(settings({ authEnabled: true, authFile: bad }))).toThrow(ConfigError);
    expect(() => securityFromSettings(settings({ authEnabled: true, authFile: bad }))).toThrow(/^Invalid setting authFile \(.*bad-scrypt\.json\): user "ops"\.passwordScrypt N·r·p is 134217728, above/);
  });

  it('need tlsCertFile and tlsKeyFile together, readable and matching', () => {
    const { certFile, keyFile } = selfSignedCertificate(dir);
    expect(() => securityFromSettings(settings({ tlsCertFile: certFile }))).toThrow(/^Invalid setting tlsKeyFile: tlsCertFile and tlsKeyFile go together/);
    expect(() => securityFromSettings(settings({ tlsKeyFile: keyFile }))).toThrow(/^Invalid setting tlsCertFile/);
    expect(() => securityFromSettings(settings({ tlsCertFile: certFile, tlsKeyFile: `${dir.path}/nope.pem` }))).toThrow(/^Invalid setting tlsKeyFile: cannot read/);
    const other = selfSignedCertificate(dir, 'other');
    expect(() => securityFromSettings(settings({ tlsCertFile: certFile, tlsKeyFile: other.keyFile }))).toThrow(/^Invalid setting tlsCertFile\/tlsKeyFile/);
    expect(securityFromSettings(settings({ tlsCertFile: certFile, tlsKeyFile: keyFile })).tls?.cert).toBeInstanceOf(Buffer);
  });

  it('check peerCaFile and the peer credentials', () => {
    const { certFile } = selfSignedCertificate(dir, 'ca');
    expect(securityFromSettings(settings({ peerCaFile: certFile })).peers.ca).toBeInstanceOf(Buffer);
    expect(() => securityFromSettings(settings({ peerCaFile: dir.file('not-pem.txt', 'hello') }))).toThrow(/^Invalid setting peerCaFile: .* holds no PEM certificate/);
    expect(() => securityFromSettings(settings({ peerPassword: 'x' }))).toThrow(/^Invalid setting peerPassword: set peerUsername too/);
    expect(() => securityFromSettings(settings({ peerUsername: 'a:b' }))).toThrow(/^Invalid setting peerUsername/);
    expect(securityFromSettings(settings({ peerUsername: 'peer', peerPassword: 'pw' })).peers.credentials).toEqual({ username: 'peer', password: 'pw' });
  });
});

describe('hash-password command', () => {
  async function hashCommand(argv: string[], stdin: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await runHashPassword(argv, { input: Readable.from(stdin), out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  }
  const parsed = (line: string): ScryptHash => {
    const h = parseScryptHash(line.trim());
    if (typeof h === 'string') throw new Error(h);
    return h;
  };

  describe('runHashPassword', () => {
    it('prints one scrypt line that verifies the password read from stdin, and only it', async () => {
      const r = await hashCommand([], ['s3cret: with spaces\n', 'ignored second line\n']);
      expect(r).toMatchObject({ code: 0, err: '' });
      expect(r.out).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=\n$/);
      expect(await verifyScrypt('s3cret: with spaces', parsed(r.out))).toBe(true);
      expect(await verifyScrypt('s3cret', parsed(r.out))).toBe(false);
      const v = new CredentialVerifier(parse({ users: [{ name: 'u', passwordScrypt: r.out.trim(), roles: ['client'] }] }));
      expect(((await v.identify(basic('u', 's3cret: with spaces'))) as Principal).name).toBe('u');
    });

    it('--help prints the usage with its options to stdout, reading nothing', async () => {
      const r = await hashCommand(['--help'], []);
      expect(r).toMatchObject({ code: 0, err: '' });
      expect(r.out).toMatch(/^Usage: zone-registry hash-password/);
      const options = r.out.slice(r.out.indexOf('Options:')).split('\n').filter((l) => /^  -/.test(l));
      expect(options.map((l) => l.trim().split(/\s+/)[0])).toEqual(['--password-stdin', '-h,']);
      expect(options[0]).toMatch(/\(the default/);
    });

    it('salts every hash: the same password twice gives different lines', async () => {
      const [a, b] = await Promise.all([hashCommand([], ['same\n']), hashCommand([], ['same\n'])]);
      expect(a.out).not.toBe(b.out);
    });

    it('accepts --password-stdin, a CRLF line ending, a password split across chunks and no final newline', async () => {
      const crlf = await hashCommand(['--password-stdin'], ['pass', 'word\r\n']);
      expect(crlf.code).toBe(0);
      expect(await verifyScrypt('password', parsed(crlf.out))).toBe(true);
      const bare = await hashCommand([], ['password']);
      expect(await verifyScrypt('password', parsed(bare.out))).toBe(true);
    });

    it.each([
      ['an empty stdin', [], [], /no password on stdin/],
      ['an empty line', [], ['\n'], /no password on stdin/],
      ['an over-long password', [], ['x'.repeat(5000)], /longer than 4096 characters/],
      ['an unknown argument', ['--password', 'x'], ['x\n'], /unknown argument "--password"/],
    ])('exits 2 on %s, printing nothing on stdout', async (_what, argv, stdin, message) => {
      const r = await hashCommand(argv, stdin);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(message);
    });
  });
});
