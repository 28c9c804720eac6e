// Property: no input makes the server answer 5xx, break, or touch instances it was not addressed to.
// Known instances are registered first; generated requests (garbage bytes, truncated/malformed JSON and XML, mistyped
// fields, oversized bodies, garbage ids and queries, bad percent-encoding, unknown routes and methods) only ever name
// apps prefixed FUZZ, so the known instances must come out byte-for-byte unchanged.
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { javaLegacyBody, jsClientBody, makeTestApp, RegistrationBody, springBody, TestApp, xmlBody } from '../helpers/app';
import { listen, Listening, rawRequest, RawRequest, RawResponse } from '../helpers/http';

const MAX_BODY = 8 * 1024;

const KNOWN: { app: string; id: string; type: string; body: string }[] = [
  { app: 'ORDERS', id: '10.0.0.7:orders:8080', type: 'application/json', body: JSON.stringify(javaLegacyBody({ metadata: { zone: 'a' } })) },
  { app: 'BILLING', id: '10.0.0.8:billing:8081', type: 'application/json', body: JSON.stringify(springBody({ app: 'BILLING', hostName: '10.0.0.8', ipAddr: '10.0.0.8', port: 8081 })) },
  { app: 'JQSERVICE', id: 'localhost', type: 'application/json', body: JSON.stringify(jsClientBody()) },
  { app: 'INVENTORY', id: 'inv-1', type: 'application/xml', body: xmlBody({ app: 'INVENTORY', instanceId: 'inv-1', metadata: { zone: 'b' } }) },
];

let t: TestApp;
let server: Listening;
/** JSON of each known instance and app before the fuzzing. */
const snapshot = new Map<string, string>();

const get = (path: string): Promise<RawResponse> => rawRequest(server.port, { path, headers: { accept: 'application/json' } });

async function knownState(): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  const full = JSON.parse((await get('/eureka/apps')).text);
  for (const k of KNOWN) {
    const app = full.applications.application.find((a: any) => a.name === k.app);
    state.set(`apps:${k.app}`, JSON.stringify(app));
    state.set(`app:${k.app}`, (await get(`/eureka/apps/${k.app}`)).text);
    state.set(`instance:${k.app}/${k.id}`, (await get(`/eureka/apps/${k.app}/${encodeURIComponent(k.id)}`)).text);
  }
  return state;
}

beforeAll(async () => {
  t = makeTestApp({ settings: { maxBodyBytes: MAX_BODY } });
  server = await listen(t.app);
  for (const k of KNOWN) {
    const res = await rawRequest(server.port, { method: 'POST', path: `/eureka/apps/${k.app}`, headers: { 'content-type': k.type }, body: k.body });
    expect(res.status).toBe(204);
  }
  for (const [key, value] of await knownState()) snapshot.set(key, value);
  expect(snapshot.size).toBe(KNOWN.length * 3);
});

afterAll(() => server.close());

// ----------------------------------------------------------------------------------------------------------------
// Generators. Everything that names an app prefixes it with FUZZ (any case), so it can never be a known app.

/** Segments that are not valid percent-encoding, or are otherwise odd. */
const badSegment = fc.constantFrom('%', '%E0%A4%A', '%ZZ', '%C0%AF', '%00', '%2F', '%FF%FE', '..', '.', '%25', '%u0041', '%%', '%2');
/** A path segment: encoded arbitrary text, or a bad one appended. */
const segment = fc.oneof(
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme', maxLength: 10 }).map(encodeURIComponent),
  fc.tuple(fc.string({ maxLength: 6 }).map(encodeURIComponent), badSegment).map(([a, b]) => a + b),
  fc.constant('x'.repeat(300)),
);
const fuzzApp = fc.tuple(fc.constantFrom('FUZZ', 'fuzz', 'Fuzz'), fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{0,12}$/), segment)).map(([p, s]) => p + s);
const fuzzId = segment.map((s) => `fuzz-${s}`);
const prefix = fc.constantFrom('/eureka', '/eureka/v2', '/eureka/v1');

const queryKey = fc.oneof(
  fc.constantFrom('value', 'lastDirtyTimestamp', 'status', 'overriddenstatus', 'overriddenStatus', 'constructor', '__proto__', 'toString', 'hasOwnProperty', ''),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
);
const queryValue = fc.oneof(
  fc.constantFrom('UP', 'DOWN', 'OUT_OF_SERVICE', 'out_of_service', 'UNKNOWN', 'STARTING', 'SLEEPING', '', '-1', '1700000000000', '99999999999999999999', '1e3', '%', '%ZZ', 'x'.repeat(2000)),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
);
const query = fc.array(fc.tuple(queryKey, queryValue), { maxLength: 5 }).map((pairs) => (pairs.length === 0 ? '' : '?' + pairs.map(([k, v]) => `${k}=${v}`).join('&')));

/** Values that are the wrong type almost anywhere, including objects that break naive String() and deep nesting. */
const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', 'UP', 'true', '-0', 'NaN', '1e400', '99999999999999999999', '\u0000', '<instance/>'),
  fc.integer({ min: 1, max: MAX_BODY * 2 }).map((n) => 'x'.repeat(n)),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom('$', '@enabled', '@class', 'name', 'toString', 'valueOf', '__proto__', 'constructor', 'a'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  fc.constantFrom({ toString: 'x' }, { valueOf: 1, toString: 2 }, { $: { toString: 'x' } }, { $: { $: { $: 'deep' } } }, [{ toString: 'x' }]),
  fc.integer({ min: 1, max: 200 }).map((depth) => {
    let v: unknown = 'leaf';
    for (let i = 0; i < depth; i++) v = { nested: v };
    return v;
  }),
);

const INSTANCE_FIELDS = ['instanceId', 'hostName', 'app', 'ipAddr', 'sid', 'status', 'overriddenStatus', 'overriddenstatus', 'port', 'securePort', 'countryId', 'dataCenterInfo', 'leaseInfo', 'metadata', 'appGroupName', 'homePageUrl', 'statusPageUrl', 'healthCheckUrl', 'secureHealthCheckUrl', 'vipAddress', 'secureVipAddress', 'isCoordinatingDiscoveryServer', 'lastUpdatedTimestamp', 'lastDirtyTimestamp', 'actionType', 'asgName'] as const;
const NESTED_FIELDS = ['port.$', 'port.@enabled', 'securePort.$', 'dataCenterInfo.name', 'dataCenterInfo.@class', 'dataCenterInfo.metadata', 'leaseInfo.durationInSecs', 'leaseInfo.renewalIntervalInSecs', 'metadata.zone', 'metadata.$'] as const;

/** A registration for `app` with some fields replaced by weird values (or dropped), from one of the client shapes. */
const mistypedBody = (app: string): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.constantFrom<((app: string) => RegistrationBody)[]>(
        (app) => javaLegacyBody({ app, hostName: 'fuzz-host', instanceId: 'fuzz-id' }),
        (app) => springBody({ app, hostName: 'fuzz-host', instanceId: 'fuzz-id' }),
        (app) => jsClientBody({ app, hostName: 'fuzz-host' }),
      ),
      fc.array(fc.tuple(fc.constantFrom(...INSTANCE_FIELDS, ...NESTED_FIELDS), fc.option(weirdValue, { nil: undefined })), { maxLength: 4 }),
      fc.boolean(),
    )
    .map(([shape, edits, wrapped]) => {
      const body = shape(app);
      for (const [path, value] of edits) {
        const [head, tail] = path.split('.');
        const target = body.instance as Record<string, any>;
        if (tail === undefined) target[head] = value;
        else target[head] = { ...(typeof target[head] === 'object' && target[head] !== null ? target[head] : {}), [tail]: value };
      }
      return JSON.stringify(wrapped ? body : body.instance);
    });

/** Deeply nested or very wide metadata. */
const metadataBody = (app: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.integer({ min: 1, max: 2000 }).map((depth) => {
      const body = javaLegacyBody({ app, instanceId: 'fuzz-id' });
      body.instance.metadata = JSON.parse('{"k":'.repeat(depth) + '"v"' + '}'.repeat(depth));
      return JSON.stringify(body);
    }),
    fc.integer({ min: 100, max: 400 }).map((n) => JSON.stringify(javaLegacyBody({ app, instanceId: 'fuzz-id', metadata: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v'])) }))),
    fc.integer({ min: 1, max: 3000 }).map((depth) => JSON.stringify(javaLegacyBody({ app, instanceId: 'fuzz-id' })).replace('"hostName":"10.0.0.7"', '"hostName":' + '{"$":'.repeat(depth) + '"h"' + '}'.repeat(depth))),
  );

/** Objects whose keys shadow Object.prototype members or Eureka's `$` wrapper: traps for naive String()/`in`. */
const trapValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  trap: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null), fc.boolean()),
    fc.dictionary(fc.oneof(fc.constantFrom('toString', 'valueOf', '$'), fc.constantFrom('constructor', '__proto__', 'hasOwnProperty', '@enabled', 'name')), tie('trap'), {
      minKeys: 1,
      maxKeys: 3,
    }),
    fc.array(tie('trap'), { minLength: 1, maxLength: 2 }),
  ),
})).trap;

/** Fields whose values the decoder turns into strings, numbers or statuses. */
const TRAP_FIELDS = ['status', 'overriddenStatus', 'overriddenstatus', 'metadata.zone', 'metadata.$', 'port.$', 'port.@enabled', 'dataCenterInfo.name', 'dataCenterInfo.metadata', 'hostName', 'app', 'leaseInfo.durationInSecs', 'lastDirtyTimestamp', 'countryId', 'actionType'] as const;

/** A registration whose fields (top level or nested) hold trap values. */
const trapBody = (app: string): fc.Arbitrary<string> =>
  fc.array(fc.tuple(fc.constantFrom(...TRAP_FIELDS), trapValue), { minLength: 1, maxLength: 3 }).map((edits) => {
    const body = javaLegacyBody({ app, hostName: 'fuzz-host', instanceId: 'fuzz-id' });
    const target = body.instance as Record<string, any>;
    for (const [path, value] of edits) {
      const [head, tail] = path.split('.');
      if (tail === undefined) target[head] = value;
      else target[head] = { ...(typeof target[head] === 'object' && target[head] !== null ? target[head] : {}), [tail]: value };
    }
    return JSON.stringify(body);
  });

type BodyKind = 'json' | 'xml' | 'bytes';

/** Bodies for POST /apps/{app}, with the format they are (meant to be) in. */
const registrationBody = (app: string): fc.Arbitrary<[BodyKind, string | Buffer]> =>
  fc.oneof(
    fc.uint8Array({ maxLength: 2000 }).map((bytes): [BodyKind, Buffer] => ['bytes', Buffer.from(bytes)]),
    fc.string({ maxLength: 200 }).map((text): [BodyKind, string] => ['bytes', text]),
    fc
      .tuple(fc.constantFrom<[BodyKind, string][]>(['json', JSON.stringify(javaLegacyBody({ app }))], ['json', JSON.stringify(springBody({ app }))], ['xml', xmlBody({ app })]), fc.nat())
      .map(([[kind, text], n]): [BodyKind, string] => [kind, text.slice(0, n % text.length)]),
    fc
      .tuple(
        fc.constantFrom<[BodyKind, string][]>(['json', JSON.stringify(javaLegacyBody({ app }))], ['xml', xmlBody({ app })]),
        fc.nat(),
        fc.constantFrom('"', '{', '}', '<', '>', '&', '\u0000', ']]>', '<!DOCTYPE x [<!ENTITY e "e">]>', '&e;', '\\', '<metadata><toString>x</toString></metadata>', '<status><toString>x</toString></status>'),
      )
      .map(([[kind, text], n, junk]): [BodyKind, string] => [kind, text.slice(0, n % text.length) + junk + text.slice(n % text.length)]),
    { weight: 2, arbitrary: mistypedBody(app).map((text): [BodyKind, string] => ['json', text]) },
    { weight: 4, arbitrary: trapBody(app).map((text): [BodyKind, string] => ['json', text]) },
    metadataBody(app).map((text): [BodyKind, string] => ['json', text]),
    fc.jsonValue({ maxDepth: 4 }).map((v): [BodyKind, string] => ['json', JSON.stringify(v)]),
    fc.jsonValue({ maxDepth: 3 }).map((v): [BodyKind, string] => ['json', JSON.stringify({ instance: v })]),
    fc.integer({ min: MAX_BODY - 100, max: MAX_BODY * 4 }).map((n): [BodyKind, string] => ['json', JSON.stringify(javaLegacyBody({ app, metadata: { pad: 'x'.repeat(n) } }))]),
    // Occasionally perfectly valid: 204 must then be fine too.
    fc.constantFrom<[BodyKind, string][]>(
      ['json', JSON.stringify(javaLegacyBody({ app, instanceId: 'fuzz-valid' }))],
      ['xml', xmlBody({ app, instanceId: 'fuzz-valid-xml' })],
      ['json', JSON.stringify(jsClientBody({ app, hostName: 'fuzz-js' }))],
    ),
  );

const JSON_TYPES = [undefined, 'application/json', 'application/json; charset=ISO-8859-1', 'text/plain', 'application/vnd.api+json', 'application/octet-stream'] as const;
const XML_TYPES = [undefined, 'application/xml', 'text/xml; charset=UTF-8', 'text/plain'] as const;
const OTHER_TYPES = ['text/html', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'garbage', 'application/xml', 'application/json'] as const;

/** Mostly the type that fits the body (so the decoders are reached), sometimes a wrong one. */
const contentTypeFor = (kind: BodyKind): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { weight: kind === 'bytes' ? 1 : 4, arbitrary: fc.constantFrom<(string | undefined)[]>(...(kind === 'xml' ? XML_TYPES : JSON_TYPES)) },
    { weight: 1, arbitrary: fc.constantFrom<(string | undefined)[]>(...OTHER_TYPES) },
  );

const contentEncoding = fc.oneof(
  { weight: 8, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constant('gzip-valid') },
  { weight: 1, arbitrary: fc.constantFrom('gzip', 'br', 'identity', 'GZIP', 'deflate') },
);

const registerRequest: fc.Arbitrary<RawRequest> = fc
  .tuple(prefix, fuzzApp, fc.boolean())
  .chain(([p, app, slash]) =>
    registrationBody(app.toUpperCase()).chain(([kind, body]) =>
      fc.record({
        path: fc.constant(`${p}/apps/${app}${slash ? '/' : ''}`),
        body: fc.constant(body),
        type: contentTypeFor(kind),
        encoding: contentEncoding,
        chunkSize: fc.option(fc.integer({ min: 1, max: 4096 }), { nil: undefined, freq: 4 }),
      }),
    ),
  )
  .map(({ path, body, type, encoding, chunkSize }) => {
    const headers: Record<string, string> = {};
    if (type !== undefined) headers['content-type'] = type;
    let sent = body;
    if (encoding === 'gzip-valid') {
      headers['content-encoding'] = 'gzip';
      sent = gzipSync(body);
    } else if (encoding !== undefined) {
      headers['content-encoding'] = encoding;
    }
    const note = encoding === 'gzip-valid' ? `gzip of ${typeof body === 'string' ? body : body.toString('hex')}` : undefined;
    return { method: 'POST', path, headers, body: sent, chunkSize, note };
  });

const instanceWrite: fc.Arbitrary<RawRequest> = fc
  .record({
    method: fc.constantFrom('PUT', 'DELETE'),
    p: prefix,
    app: fuzzApp,
    id: fuzzId,
    suffix: fc.constantFrom('', '/', '/status', '/status/', '/metadata', '/metadata/', '/bogus'),
    q: query,
    replication: fc.boolean(),
  })
  .map(({ method, p, app, id, suffix, q, replication }) => ({
    method,
    path: `${p}/apps/${app}/${id}${suffix}${q}`,
    headers: replication ? { 'x-netflix-discovery-replication': 'true' } : {},
  }));

const readRequest: fc.Arbitrary<RawRequest> = fc
  .tuple(prefix, fc.constantFrom('apps', 'instances', 'vips', 'svips', 'apps/delta', 'status', 'serverinfo/statusoverrides', 'peerreplication/batch'), fc.array(segment, { maxLength: 3 }), query, fc.constantFrom(undefined, 'application/json', '*/*', 'gzip'))
  .map(([p, base, segs, q, accept]) => ({
    method: 'GET',
    path: `${p}/${base}${segs.map((s) => '/' + s).join('')}${q}`,
    headers: accept === 'gzip' ? { 'accept-encoding': 'gzip' } : accept ? { accept } : {},
  }));

const oddRequest: fc.Arbitrary<RawRequest> = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'MKCOL', 'FOO'),
    path: fc.oneof(
      fc.array(segment, { maxLength: 5 }).map((segs) => '/eureka/' + segs.join('/')),
      fc.tuple(prefix, fuzzApp, fuzzId, fc.array(segment, { maxLength: 3 })).map(([p, a, i, rest]) => [`${p}/apps/${a}/${i}`, ...rest].join('/')),
      fc.array(segment, { maxLength: 3 }).map((segs) => '/' + segs.join('/')),
      fc.constantFrom('/', '/health', '/health/ready', '/eureka', '/eurekaX', '/eureka/v3/apps', '/EUREKA/apps', '//eureka/apps'),
    ),
    body: fc.option(fc.string({ maxLength: 100 }), { nil: undefined }),
  })
  .map(({ method, path, body }) => ({ method, path, body, headers: body === undefined ? {} : { 'content-type': 'application/json' } }));

const badRequest = fc.oneof({ weight: 5, arbitrary: registerRequest }, { weight: 3, arbitrary: instanceWrite }, { weight: 1, arbitrary: readRequest }, { weight: 2, arbitrary: oddRequest });

// ----------------------------------------------------------------------------------------------------------------

describe('Eureka API under bad input', () => {
  describe('any generated request', () => {
    it('is answered below 500, leaves the server answering, and never touches instances it did not name', async () => {
      await fc.assert(
        fc.asyncProperty(badRequest, async (req) => {
          const res = await rawRequest(server.port, req);
          if (res.status >= 500) throw new Error(`${req.method} ${req.path} answered ${res.status}${req.note ? ` (body: ${req.note.slice(0, 600)})` : ''}`);
          expect(res.status).toBeGreaterThanOrEqual(200);
          // Nothing answers express's default HTML pages; only the dashboard at exactly GET / is a page.
          const isDashboard = req.method === 'GET' && req.path.split('?')[0] === '/';
          if (!isDashboard) expect(res.text).not.toMatch(/<!DOCTYPE html|<html/i);
          const apps = await get('/eureka/apps');
          expect(apps.status).toBe(200);
          expect(JSON.parse(apps.text).applications.application.length).toBeGreaterThanOrEqual(KNOWN.length);
        }),
        {
          numRuns: 500,
          // Regressions found by this property, always tried first.
          examples: [
            [{ method: 'POST', path: '/eureka/apps/FUZZEX', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instance: { ...javaLegacyBody({ app: 'FUZZEX' }).instance, status: { toString: 'x' } } }) }],
            [{ method: 'POST', path: '/eureka/apps/FUZZEX', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instance: { ...javaLegacyBody({ app: 'FUZZEX' }).instance, metadata: { zone: { $: { toString: 1 } } } } }) }],
          ],
        },
      );
    });
  });

  describe('the known instances afterwards', () => {
    it('are all still present and unchanged', async () => {
      expect(await knownState()).toEqual(snapshot);
      for (const k of KNOWN) expect(t.registry.lease(k.app, k.id)).toBeDefined();
      expect([...t.registry.applications()].map(([name]) => name).filter((n) => !n.startsWith('FUZZ'))).toEqual(KNOWN.map((k) => k.app));
    });
  });
});
