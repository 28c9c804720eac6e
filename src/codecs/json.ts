// Eureka JSON as the Java server's legacy Jackson codec writes it (field order, string-typed timestamps,
// `$`/`@enabled` ports, `@class` markers, always-array lists), and registration bodies as clients send them.
import { ApplicationPart, FragmentEncoder, Pieces, splicedEncoder, WHOLE_APPLICATION } from './record-fragments';
import { InstanceView, PortInfo } from '../domain/model';
import { DecodedInstance, decodeInstance, DecodeDefaults, DecodeError, UnparseableBodyError } from './instance-decoder';
import { DEFAULT_BODY_SHAPE, jsonShapeError } from './body-shape';

const EMPTY_METADATA = '{"@class":"java.util.Collections$EmptyMap"}';
const q = JSON.stringify;

const portJson = (p: PortInfo): string => `{"$":${p.port},"@enabled":"${p.enabled}"}`;

function mapJson(map: Readonly<Record<string, string>>): string {
  let out = '';
  for (const key in map) out += (out ? ',' : '') + q(key) + ':' + q(map[key]);
  return `{${out}}`;
}

const optional = (name: string, value: string | undefined): string => (value === undefined ? '' : `,"${name}":${q(value)}`);

const instanceFragments: FragmentEncoder = (r) => {
  const i = r.instance;
  const dc = i.dataCenterInfo;
  const head =
    (i.instanceId !== undefined ? `{"instanceId":${q(i.instanceId)},` : '{') +
    `"hostName":${q(i.hostName)},"app":${q(i.app)},"ipAddr":${q(i.ipAddr)}` +
    (i.sid !== undefined && i.sid !== 'na' && i.sid !== 'unknown' ? `,"sid":${q(i.sid)}` : '') +
    `,"status":"${i.status}","overriddenStatus":"${i.overriddenStatus}"` +
    `,"port":${portJson(i.port)},"securePort":${portJson(i.securePort)},"countryId":${i.countryId}` +
    `,"dataCenterInfo":{"@class":${q(dc.className)},"name":${q(dc.name)}${dc.name === 'Amazon' && dc.metadata ? `,"metadata":${mapJson(dc.metadata)}` : ''}}` +
    `,"leaseInfo":{"renewalIntervalInSecs":${i.renewalIntervalSecs},"durationInSecs":${i.durationSecs}` +
    `,"registrationTimestamp":${r.registrationTimestamp},"lastRenewalTimestamp":`;
  const tail =
    `,"evictionTimestamp":${r.evictionTimestamp},"serviceUpTimestamp":${r.serviceUpTimestamp}}` +
    `,"metadata":${Object.keys(i.metadata).length === 0 ? EMPTY_METADATA : mapJson(i.metadata)}` +
    optional('appGroupName', i.appGroupName) +
    optional('homePageUrl', i.homePageUrl) +
    optional('statusPageUrl', i.statusPageUrl) +
    optional('healthCheckUrl', i.healthCheckUrl) +
    optional('secureHealthCheckUrl', i.secureHealthCheckUrl) +
    optional('vipAddress', i.vipAddress) +
    optional('secureVipAddress', i.secureVipAddress) +
    // Our server never registers itself, so no record is the coordinating discovery server.
    `,"isCoordinatingDiscoveryServer":"false"` +
    `,"lastUpdatedTimestamp":"${r.lastUpdatedTimestamp}","lastDirtyTimestamp":"${i.lastDirtyTimestamp}"` +
    `,"actionType":"${r.actionType}"` +
    optional('asgName', i.asgName) +
    '}';
  return [head, tail] as const;
};

const instanceEncoder = splicedEncoder(instanceFragments);

/** One instance object, without wrapper. */
export const instanceJson = (view: InstanceView): string => instanceEncoder.text(view);

/** `{"instance":{…}}` (GET /apps/{app}/{id}, /instances/{id}). */
export function instanceDocumentJson(view: InstanceView): string {
  return `{"instance":${instanceJson(view)}}`;
}

/** Appends one `{"name":…,"instance":[…]}` element of an `application` list (`remember`: see SplicedEncoder.write). */
export function writeApplicationJson(out: Pieces, name: string, views: Iterable<InstanceView>, remember = true): void {
  writeApplicationPartJson(out, name, views, WHOLE_APPLICATION, remember);
}

/**
 * Appends a run of an application's instances: its head when `first`, its tail when `last`. Runs written one after the
 * other, first to last, are the application; every run but the first holds at least one instance.
 */
export function writeApplicationPartJson(out: Pieces, name: string, views: Iterable<InstanceView>, part: ApplicationPart, remember = true): void {
  if (part.first) out.add(`{"name":${q(name)},"instance":[`);
  let separate = !part.first;
  for (const v of views) {
    if (separate) out.add(',');
    separate = true;
    instanceEncoder.write(v, out, remember);
  }
  if (part.last) out.add(']}');
}

/** `{"application":{"name":…,"instance":[…]}}` (GET /apps/{app}), as pieces. */
export function applicationPiecesJson(name: string, views: Iterable<InstanceView>): Pieces {
  const out = new Pieces().add('{"application":');
  writeApplicationJson(out, name, views);
  return out.add('}');
}

/** The `applications` document up to its first application. */
export const applicationsHeadJson = (versionsDelta: number, hashcode: string): string =>
  `{"applications":{"versions__delta":"${versionsDelta}","apps__hashcode":${q(hashcode)},"application":[`;

/** What ends the `applications` document. */
export const APPLICATIONS_TAIL_JSON = ']}}';

/** What separates two applications in the `applications` document. */
export const APPLICATION_SEPARATOR_JSON = ',';

/** The `applications` document (full registry, delta, VIPs) as pieces; `application` and `instance` are always arrays. */
export function applicationsPiecesJson(apps: Iterable<readonly [string, Iterable<InstanceView>]>, versionsDelta: number, hashcode: string): Pieces {
  const out = new Pieces().add(applicationsHeadJson(versionsDelta, hashcode));
  let first = true;
  for (const [name, views] of apps) {
    if (!first) out.add(APPLICATION_SEPARATOR_JSON);
    first = false;
    writeApplicationJson(out, name, views);
  }
  return out.add(APPLICATIONS_TAIL_JSON);
}

/** `{"application":{"name":…,"instance":[…]}}` (GET /apps/{app}). */
export function applicationDocumentJson(name: string, views: Iterable<InstanceView>): string {
  return applicationPiecesJson(name, views).toString();
}

/** The `applications` document (full registry, delta, VIPs); `application` and `instance` are always arrays. */
export function applicationsDocumentJson(apps: Iterable<readonly [string, Iterable<InstanceView>]>, versionsDelta: number, hashcode: string): string {
  return applicationsPiecesJson(apps, versionsDelta, hashcode).toString();
}

/** Parses a JSON registration body and normalises the instance. Throws DecodeError, also for a body over its shape caps (`defaults.shape`). */
export function decodeInstanceJson(body: string, defaults: DecodeDefaults): DecodedInstance {
  const tooCostly = jsonShapeError(body, defaults.shape ?? DEFAULT_BODY_SHAPE);
  if (tooCostly !== undefined) throw new DecodeError(tooCostly);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new UnparseableBodyError();
  }
  return decodeInstance(parsed, defaults);
}

/** A decoded `application` element: its name and its instances, in document order. */
export interface DecodedApplication {
  readonly name: string;
  readonly instances: DecodedInstance[];
}

/** A decoded `applications` document (full registry, delta or VIP fetch). */
export interface DecodedApplications {
  readonly versionsDelta: number;
  readonly appsHashcode: string;
  /** Every instance of every application, in document order. */
  readonly instances: DecodedInstance[];
  /** The same instances, application by application (an application may have none). */
  readonly applications: DecodedApplication[];
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

const parseDocument = (body: string | object, what: string): unknown => {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    throw new DecodeError(`cannot parse ${what} document`);
  }
};

function decodeApplication(raw: unknown, defaults: DecodeDefaults, into?: DecodedInstance[]): DecodedApplication {
  const app = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const name = typeof app['name'] === 'string' || typeof app['name'] === 'number' ? String(app['name']) : '';
  const instances: DecodedInstance[] = [];
  for (const instance of asList(app['instance'])) {
    const decoded = decodeInstance(instance, defaults);
    instances.push(decoded);
    into?.push(decoded);
  }
  return { name, instances };
}

/**
 * Reads an `applications` document as any Eureka server writes it: `application` and `instance` as arrays or, from
 * older servers, single objects; `versions__delta` as string or number.
 */
export function decodeApplicationsJson(body: string | object, defaults: DecodeDefaults): DecodedApplications {
  const root = (parseDocument(body, 'applications') as { applications?: Record<string, unknown> } | null)?.applications;
  if (typeof root !== 'object' || root === null) throw new DecodeError('not an applications document');
  const instances: DecodedInstance[] = [];
  const applications = asList(root['application']).map((app) => decodeApplication(app, defaults, instances));
  const version = Number(root['versions__delta']);
  return { versionsDelta: Number.isFinite(version) ? version : -1, appsHashcode: typeof root['apps__hashcode'] === 'string' ? root['apps__hashcode'] : '', instances, applications };
}

/** Reads an `{"application":{…}}` document (GET /apps/{app}); `instance` as an array or a single object. */
export function decodeApplicationJson(body: string | object, defaults: DecodeDefaults): DecodedApplication {
  const root = (parseDocument(body, 'application') as { application?: unknown } | null)?.application;
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw new DecodeError('not an application document');
  return decodeApplication(root, defaults);
}
