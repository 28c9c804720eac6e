// The Eureka REST API as a route table: each handler turns a request into registry calls and a Reply.
// Mounted under /eureka, /eureka/v2 and /eureka/v1 by app.ts.
import { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { isPromise } from 'node:util/types';
import { Clock } from '../domain/clock';
import { ExpiryGate } from '../domain/eviction';
import { Lease } from '../domain/lease';
import { parseStatus, InstanceStatus } from '../domain/model';
import { Registry } from '../domain/registry';
import { CODECS } from '../codecs/documents';
import { DecodeError, decodeDefaults, parseTimestamp, UnparseableBodyError } from '../codecs/instance-decoder';
import { acceptsGzip, contentTypeFor, Format, formatFor } from '../codecs/negotiate';
import { readBody } from './body';
import { badRequest, empty, newerInstance, okOrNotFound, Reply, SYNC_IN_PROGRESS, unparseable } from './errors';
import { Payload, PayloadKind, ResponseCache } from './payloads/response-cache';
import { Guarded } from './guard';
import { Route } from './router';
import { TurnBatch } from './turn-batch';
import { applyBatch } from '../replication/batch-receiver';
import { ComparisonAnswers } from '../replication/anti-entropy';
import { ServerInfo, ServerStatusPort, statusDocument } from '../observability/server-status';
import { checkLengths, RegistrationLimits, validateRegistration } from '../domain/registration';
import { SETTINGS } from '../config/settings';
import { watchHandlers, WatchDeps } from './watch-api';

/** Header that marks a write as replicated from a peer (PeerEurekaNode.HEADER_REPLICATION). */
export const REPLICATION_HEADER = 'x-netflix-discovery-replication';

/** What a handler gets. */
export interface EurekaRequest {
  readonly req: IncomingMessage;
  readonly headers: IncomingHttpHeaders;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  readonly isReplication: boolean;
}

export type EurekaHandler = (r: EurekaRequest) => Reply | Promise<Reply>;

/** A Eureka route and what it declares: who may call it and which rate limits count it. */
export interface EurekaRoute extends Route<EurekaHandler>, Guarded {}

/** Facts about this server for GET /status (defined with the status read model). */
export type { ServerInfo } from '../observability/server-status';

/** What the API needs: the registry and its cache, and the status read model /status reports. */
export interface EurekaApiDeps extends ServerStatusPort {
  readonly registry: Registry;
  readonly cache: ResponseCache;
  readonly clock: Clock;
  readonly expiryGate: ExpiryGate;
  readonly limits: RegistrationLimits & {
    readonly maxBodyBytes: number;
    /** Largest replication batch body, bytes, also after gunzip (default: the setting's default). */
    readonly maxReplicationBodyBytes?: number;
    /** Most items in a replication batch (default: the replicationBatchSize setting's default). */
    readonly replicationBatchSize?: number;
  };
  readonly serverInfo: ServerInfo;
  /** True while startup sync runs: a client's heartbeat for an instance not held answers 503, not 404; default: never. */
  readonly syncInProgress?: () => boolean;
  /** Whether a request carries admin credentials (who, besides peers, may set a status override by registering); default: never. */
  readonly hasAdminCredentials?: (req: IncomingMessage) => boolean;
  /** The watch (long-poll on the delta, event stream); without it `since`/`wait` are ignored and /watch is 404. */
  readonly watch?: WatchDeps;
  /** Answers to peers' registry comparisons (anti-entropy); without it those routes are 404, as on a Java server. */
  readonly comparison?: ComparisonAnswers;
  /** Where a registration's decoding and registry work waits for the end of its turn; default: a batch of its own. */
  readonly turn?: TurnBatch;
}

/** Largest digest or versions request read, bytes (a versions request names at most 256 applications). */
const COMPARISON_REQUEST_BYTES = 128 * 1024;

const BAD_DIRTY_TIMESTAMP = badRequest('lastDirtyTimestamp must be a number of milliseconds');
const BAD_STATUS_VALUE = badRequest('value must be one of UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN');

/** The Eureka route table. */
export function eurekaRoutes(deps: EurekaApiDeps): EurekaRoute[] {
  const { registry, cache, clock, limits } = deps;
  const allowsRegistryReads = deps.allowsRegistryReads ?? (() => true);
  const syncInProgress = deps.syncInProgress ?? (() => false);
  const hasAdminCredentials = deps.hasAdminCredentials ?? (() => false);

  // A registration's decoding and registry work waits for the end of the turn, with the rest read in it.
  const turn = deps.turn ?? new TurnBatch();
  const register: EurekaHandler = async ({ req, params, isReplication }) => {
    const body = await readBody(req, limits.maxBodyBytes);
    if ('reply' in body) return body.reply;
    return turn.run(() => applyRegistration(body.text, body.format, params.app.toUpperCase(), isReplication, req));
  };

  const applyRegistration = (text: string, format: Format, pathApp: string, isReplication: boolean, req: IncomingMessage): Reply => {
    let decoded;
    try {
      decoded = CODECS[format].decodeInstance(text, decodeDefaults(limits, clock.now()));
    } catch (e) {
      if (e instanceof UnparseableBodyError) return unparseable(format);
      if (e instanceof DecodeError) return badRequest(e.message);
      throw e;
    }
    const result = validateRegistration(decoded, pathApp, limits);
    if ('error' in result) return badRequest(result.error);
    // Deliberate difference: Eureka learns an override from any registration body, so any client could set one on
    // itself; here only peers (replicating an operator's override) and admins can.
    const trusted = result.ok.overriddenStatus === 'UNKNOWN' || isReplication || hasAdminCredentials(req);
    const outcome = registry.register(trusted ? result.ok : { ...result.ok, overriddenStatus: 'UNKNOWN' }, isReplication);
    if (outcome.kind === 'app-full') return badRequest(`Application ${pathApp} already has ${outcome.limit} instances (maxInstancesPerApp)`);
    if (outcome.kind === 'registry-full') return badRequest(`The registry already holds ${outcome.limit} instances (maxInstances)`);
    return empty(204);
  };

  const renew: EurekaHandler = ({ params, query, isReplication }) => {
    const dirty = parseTimestamp(query.get('lastDirtyTimestamp'));
    if (dirty === null) return BAD_DIRTY_TIMESTAMP;
    const override = query.get('overriddenstatus') ?? query.get('overriddenStatus');
    const outcome = registry.renew(params.app.toUpperCase(), params.id, {
      isReplication,
      lastDirtyTimestamp: dirty,
      overriddenStatus: override ? parseStatus(override) : undefined,
    });
    if (outcome === 'ok') return empty(200);
    // A peer's 404 makes it send the registration, which is what a syncing server wants: only clients get 503.
    if (outcome === 'not-found') return !isReplication && syncInProgress() ? SYNC_IN_PROGRESS : empty(404);
    // A peer holds an older copy: answer 409 with ours so it adopts it.
    return newerInstance(CODECS.json.instance(outcome.conflict));
  };

  const statusUpdate: EurekaHandler = ({ params, query, isReplication }) => {
    const value = parseStatus(query.get('value'));
    if (!value) return BAD_STATUS_VALUE;
    const dirty = parseTimestamp(query.get('lastDirtyTimestamp'));
    if (dirty === null) return BAD_DIRTY_TIMESTAMP;
    return okOrNotFound(registry.statusUpdate(params.app.toUpperCase(), params.id, value, dirty, isReplication));
  };

  const deleteStatusOverride: EurekaHandler = ({ params, query, isReplication }) => {
    const raw = query.get('value');
    const value: InstanceStatus | undefined = raw === null ? undefined : parseStatus(raw);
    if (raw !== null && !value) return BAD_STATUS_VALUE;
    const dirty = parseTimestamp(query.get('lastDirtyTimestamp'));
    if (dirty === null) return BAD_DIRTY_TIMESTAMP;
    return okOrNotFound(registry.deleteStatusOverride(params.app.toUpperCase(), params.id, value, dirty, isReplication));
  };

  const updateMetadata: EurekaHandler = ({ params, query }) => {
    // First value of each parameter, as Eureka takes it; no prototype, so `constructor=x` is a key like any other.
    const entries: Record<string, string> = Object.create(null);
    for (const [key, value] of query) if (!Object.hasOwn(entries, key)) entries[key] = value;
    const app = params.app.toUpperCase();
    // Merged entries are bounded like a registration's, so repeated updates cannot grow an instance without end.
    const current = registry.lease(app, params.id)?.record.instance.metadata;
    const merged = current === undefined ? Object.keys(entries).length : Object.keys({ ...current, ...entries }).length;
    if (merged > limits.maxMetadataEntries) return badRequest(`Too many metadata entries (limit ${limits.maxMetadataEntries})`);
    return okOrNotFound(registry.updateMetadata(app, params.id, entries));
  };

  // Cached documents: the format by Eureka's Accept substring rule, gzip when accepted, 304 on a matching ETag.
  const cached =
    (kind: PayloadKind, nameOf: (p: Record<string, string>) => string = () => ''): EurekaHandler =>
    ({ headers, params }) => {
      // Eureka's read gate: an unsynced server must not hand out an empty registry; clients move to another one.
      if (!allowsRegistryReads(clock.now())) return empty(403);
      const format = formatFor(headers.accept);
      const gzipped = acceptsGzip(headers['accept-encoding']);
      const payload = cache.get(kind, nameOf(params), format, gzipped);
      if (payload === undefined) return empty(404);
      const reply = (p: Payload): Reply => (headers['if-none-match'] === p.etag ? p.notModified : p.reply);
      return isPromise(payload) ? payload.then(reply) : reply(payload);
    };

  // Single-instance reads are not cached; an expired lease is hidden while expiry is enabled (Eureka's rule).
  const instanceReply = (lease: Lease | undefined, headers: IncomingHttpHeaders): Reply => {
    const now = clock.now();
    if (!lease || (lease.isExpired(now) && deps.expiryGate.isLeaseExpirationEnabled(now))) return empty(404);
    const format = formatFor(headers.accept);
    return { status: 200, headers: { 'content-type': contentTypeFor(format) }, body: CODECS[format].instance(lease) };
  };

  const status: EurekaHandler = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(statusDocument(deps, clock.now())) });

  const replicationBatch: EurekaHandler = async ({ req }) => {
    const body = await readBody(req, limits.maxReplicationBodyBytes ?? SETTINGS.maxReplicationBodyBytes.default);
    if ('reply' in body) return body.reply;
    const outcome = applyBatch(body.text, { registry, clock, limits, maxItems: limits.replicationBatchSize ?? SETTINGS.replicationBatchSize.default });
    if ('error' in outcome) return unparseable('json', outcome.error);
    // The identity header tells a zone-registry peer it may send the actions Eureka servers do not know.
    return { status: 200, headers: { 'content-type': 'application/json', 'x-registry-server': cache.serverId }, body: JSON.stringify(outcome.response) };
  };

  // A peer's registry comparison: small requests, except repairs, which are bounded like a batch.
  const comparisonRoute = (name: string, maxBytes: number, answer: (text: string) => string | undefined): EurekaRoute => ({
    method: 'POST',
    pattern: `/peerreplication/${name}`,
    handler: async ({ req }) => {
      const body = await readBody(req, maxBytes);
      if ('reply' in body) return body.reply;
      const out = answer(body.text);
      return out === undefined ? unparseable('json', `malformed ${name} request`) : { status: 200, headers: { 'content-type': 'application/json' }, body: out };
    },
    access: 'replication',
    rateLimit: 'per-client',
  });
  const comparison = deps.comparison;
  const comparisonRoutes: EurekaRoute[] =
    comparison === undefined
      ? []
      : [
          comparisonRoute('digest', COMPARISON_REQUEST_BYTES, (text) => comparison.answerDigest(text)),
          comparisonRoute('versions', COMPARISON_REQUEST_BYTES, (text) => comparison.answerVersions(text)),
          comparisonRoute('repair', limits.maxReplicationBodyBytes ?? SETTINGS.maxReplicationBodyBytes.default, (text) => {
            const outcome = comparison.applyRepairs(text);
            return outcome && JSON.stringify(outcome);
          }),
        ];

  const statusOverrides: EurekaHandler = () => {
    const out: Record<string, string> = {};
    for (const [key, value] of registry.statusOverrides()) out[key.slice(key.indexOf('/') + 1)] = value;
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(out) };
  };

  // Path lengths are checked before any lookup so over-long names never reach the registry.
  const limited =
    (handler: EurekaHandler): EurekaHandler =>
    (r) => {
      const { app, id, vip } = r.params;
      const max = limits.maxNameLength;
      if ((app?.length ?? 0) <= max && (id?.length ?? 0) <= max && (vip?.length ?? 0) <= max) return handler(r);
      return badRequest(checkLengths({ app, id, vipAddress: vip }, max) ?? 'name too long');
    };

  const watch = deps.watch && watchHandlers(registry, cache, deps.watch, { allowsReads: () => allowsRegistryReads(clock.now()), maxNameLength: limits.maxNameLength });
  const plainDelta = cached('delta');
  // Without since and wait the delta is exactly Eureka's; with them, the watch.
  const delta: EurekaHandler = watch === undefined ? plainDelta : (r) => (r.query.has('since') || r.query.has('wait') ? watch.delta(r) : plainDelta(r));
  const watchRoutes: EurekaRoute[] = watch === undefined ? [] : [{ method: 'GET', pattern: '/watch', handler: watch.events, access: 'read', rateLimit: 'per-client' }];

  // Each route states who may call it (access) and which rate limits count it; the guard reads nothing else.
  return [
    { method: 'GET', pattern: '/apps', handler: cached('apps'), access: 'read', rateLimit: 'full-fetch' },
    { method: 'GET', pattern: '/apps/delta', handler: delta, access: 'read', rateLimit: 'per-client' },
    { method: 'GET', pattern: '/apps/:app', handler: limited(cached('app', (p) => p.app.toUpperCase())), access: 'read', rateLimit: 'per-client' },
    { method: 'POST', pattern: '/apps/:app', handler: limited(register), access: 'instance-write', rateLimit: 'per-client' },
    { method: 'GET', pattern: '/apps/:app/:id', handler: limited(({ params, headers }) => instanceReply(registry.lease(params.app.toUpperCase(), params.id), headers)), access: 'read', rateLimit: 'per-client' },
    { method: 'PUT', pattern: '/apps/:app/:id', handler: limited(renew), access: 'instance-write', rateLimit: 'per-client' },
    { method: 'DELETE', pattern: '/apps/:app/:id', handler: limited(({ params, isReplication }) => okOrNotFound(registry.cancel(params.app.toUpperCase(), params.id, isReplication))), access: 'instance-write', rateLimit: 'per-client' },
    { method: 'PUT', pattern: '/apps/:app/:id/status', handler: limited(statusUpdate), access: 'admin', rateLimit: 'per-client' },
    { method: 'DELETE', pattern: '/apps/:app/:id/status', handler: limited(deleteStatusOverride), access: 'admin', rateLimit: 'per-client' },
    { method: 'PUT', pattern: '/apps/:app/:id/metadata', handler: limited(updateMetadata), access: 'admin', rateLimit: 'per-client' },
    { method: 'GET', pattern: '/instances/:id', handler: limited(({ params, headers }) => instanceReply(registry.findById(params.id), headers)), access: 'read', rateLimit: 'per-client' },
    { method: 'GET', pattern: '/vips/:vip', handler: limited(cached('vip', (p) => p.vip)), access: 'read', rateLimit: 'per-client' },
    { method: 'GET', pattern: '/svips/:vip', handler: limited(cached('svip', (p) => p.vip)), access: 'read', rateLimit: 'per-client' },
    // ASG status exists only on AWS registries; elsewhere Eureka answers 400 too.
    { method: 'PUT', pattern: '/asg/:asg/status', handler: () => badRequest('ASG status is only supported on AWS'), access: 'admin', rateLimit: 'per-client' },
    { method: 'POST', pattern: '/peerreplication/batch', handler: replicationBatch, access: 'replication', rateLimit: 'per-client' },
    { method: 'GET', pattern: '/status', handler: status, access: 'read', rateLimit: 'per-client' },
    { method: 'GET', pattern: '/serverinfo/statusoverrides', handler: statusOverrides, access: 'read', rateLimit: 'per-client' },
    ...watchRoutes,
    ...comparisonRoutes,
  ];
}
