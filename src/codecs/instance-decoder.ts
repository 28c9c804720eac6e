// Lenient decoding of an instance as any client sends it (Java, Spring, eureka-js-client, XML), into one canonical
// shape. Both JSON and XML bodies are first parsed into plain objects with JSON's conventions
// (`$` for text, `@name` for attributes), then normalised here.
import { DataCenterInfo, dataCenterClassFor, effectiveId, InstanceStatus, parseStatus, PortInfo } from '../domain/model';
import { InstanceDraft, RegistrationLimits, validateRegistration, Validation } from '../domain/registration';
import { BodyShapeLimits, bodyShapeLimits } from './body-shape';
import { sharedDataCenter, sharedPort, sharedString } from './shared-values';

/** An instance as decoded: the client's draft plus the server-owned fields when decoding a server's output. */
export interface DecodedInstance extends InstanceDraft {
  actionType?: 'ADDED' | 'MODIFIED' | 'DELETED';
  lastUpdatedTimestamp?: number;
  lease?: { registrationTimestamp: number; lastRenewalTimestamp: number; evictionTimestamp: number; serviceUpTimestamp: number };
}

/** Values used where a client leaves a field out, and the caps on a registration body's shape. */
export interface DecodeDefaults {
  /** Heartbeat interval when leaseInfo omits it, seconds (Eureka: 30). */
  readonly renewalIntervalSecs: number;
  /** Lease duration when leaseInfo omits it, seconds (Eureka: 90). */
  readonly durationSecs: number;
  /** lastDirtyTimestamp for clients that send none (eureka-js-client), ms. */
  readonly now: number;
  /** Caps on a registration body's shape (registration decoders only); default: DEFAULT_BODY_SHAPE. */
  readonly shape?: BodyShapeLimits;
}

/**
 * A millisecond timestamp from a query parameter or a JSON field (number or decimal string):
 * undefined when absent or empty, null when malformed.
 */
export function parseTimestamp(value: unknown): number | undefined | null {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

let lastShape: { readonly maxMetadataEntries: number; readonly caps: BodyShapeLimits } | undefined;

function shapeFor(maxMetadataEntries: number): BodyShapeLimits {
  if (lastShape?.maxMetadataEntries !== maxMetadataEntries) lastShape = { maxMetadataEntries, caps: bodyShapeLimits(maxMetadataEntries) };
  return lastShape.caps;
}

/** The decode defaults of a server's registration limits at `now` (ms), with the body-shape caps they imply. */
export function decodeDefaults(limits: RegistrationLimits, now: number): DecodeDefaults {
  return { renewalIntervalSecs: limits.defaultRenewalIntervalSecs, durationSecs: limits.defaultDurationSecs, now, shape: shapeFor(limits.maxMetadataEntries) };
}

/** Decodes and validates an instance a peer sent (batch Register, 409 body, sync); the app defaults to `app`. */
export function acceptInstance(raw: unknown, app: string, limits: RegistrationLimits, now: number): Validation {
  try {
    const decoded = decodeInstance(raw, decodeDefaults(limits, now));
    return validateRegistration(decoded, decoded.app ?? app, limits);
  } catch (e) {
    if (e instanceof DecodeError) return { error: e.message };
    throw e;
  }
}

/** A field that cannot be read; becomes a 400 naming the field. */
export class DecodeError extends Error {}

/** A body that is not a document of its format at all; answered like Eureka's provider answers it, not as a field error. */
export class UnparseableBodyError extends DecodeError {
  constructor() {
    super('cannot parse request body');
  }
}

type Raw = Record<string, unknown>;

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A field's scalar value as a string; undefined for absent or empty; objects are an error. Callers read the field
 * themselves (`raw['hostName']`): a constant name at each place is a property load the engine specialises, where
 * one load here by a changing name is a slow lookup on every registration.
 */
function text(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  // XML elements with attributes arrive as objects with a `$` text node (one level, never nested).
  if (isObject(v) && '$' in v && !isObject(v['$']) && Object.keys(v).every((k) => k === '$' || k.startsWith('@'))) return text(v['$'], '$');
  throw new DecodeError(`Invalid ${field}: expected a string`);
}

/** An integer from a number or numeric string; `fallback` when absent. */
function integer(value: unknown, field: string, fallback: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new DecodeError(`Invalid ${field}: expected an integer`);
  return n;
}

function bool(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined || value === null || value === '') return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new DecodeError(`Invalid ${field}: expected true or false`);
}

// Eureka's defaults for an instance that names no port.
const DEFAULT_PORT = sharedPort(7001, true);
const DEFAULT_SECURE_PORT = sharedPort(7002, false);

function port(value: unknown, field: string, fallback: PortInfo): PortInfo {
  if (value === undefined || value === null) return fallback;
  const n = isObject(value) ? integer(value['$'], field, fallback.port) : integer(value, field, fallback.port);
  if (n < 0 || n > 65535) throw new DecodeError(`Invalid ${field}: ${n} is not a port number`);
  // Bare numbers (eureka-js-client's README example) count as enabled for `port`, as upstream defaults do.
  const enabled = isObject(value) ? bool(value['@enabled'], `${field} @enabled`, fallback.enabled) : field === 'port' ? true : fallback.enabled;
  return sharedPort(n, enabled);
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null || value === '') return {};
  if (!isObject(value)) throw new DecodeError(`Invalid ${field}: expected an object of strings`);
  if (onlyStrings(value)) {
    // The usual case, a copy of the parsed object: it keeps the parser's layout, every key inside the object, where
    // one built key by key from {} holds its fifth and later keys in a second object (one more per instance).
    const out = { ...value } as Record<string, string>;
    for (const key of Object.keys(out)) out[key] = sharedString(out[key]);
    return out;
  }
  // A plain object: V8 keeps a prototype-less one as a hash table, several times larger for the handful of keys an
  // instance has, and it is held for the lease and the delta log. A key named __proto__ is still data (own property).
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    // The Java empty-map marker (`@class` in JSON, `class` attribute in XML) is not metadata.
    if (key === '@class' && typeof v === 'string') continue;
    if (v === null || v === undefined) continue;
    let text: string;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') text = String(v);
    else if (isObject(v) && ['string', 'number', 'boolean'].includes(typeof v['$'])) text = String(v['$']);
    else throw new DecodeError(`Invalid ${field}.${key}: metadata values must be strings`);
    text = sharedString(text);
    if (key === '__proto__') Object.defineProperty(out, key, { value: text, enumerable: true, writable: true, configurable: true });
    else out[key] = text;
  }
  return out;
}

/** Whether every value is a string and no key needs the careful copy (the Java empty-map marker, __proto__). */
function onlyStrings(value: Record<string, unknown>): boolean {
  for (const key of Object.keys(value)) {
    if (typeof value[key] !== 'string' || key === '@class' || key === '__proto__') return false;
  }
  return true;
}

function status(value: unknown, field: string, fallback: InstanceStatus): InstanceStatus {
  if (value === undefined || value === null || value === '') return fallback;
  const s = parseStatus(value);
  if (!s) throw new DecodeError(`Invalid ${field}: ${typeof value === 'string' ? value.slice(0, 40) : `a ${typeof value}`}`);
  return s;
}

function dataCenter(value: unknown): Partial<DataCenterInfo> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new DecodeError('Invalid dataCenterInfo: expected an object');
  const name = text(value['name'], 'name');
  const metadata = value['metadata'] !== undefined ? stringMap(value['metadata'], 'dataCenterInfo.metadata') : undefined;
  if (name !== undefined && metadata === undefined) return sharedDataCenter(name);
  return { name, className: name ? dataCenterClassFor(name) : undefined, ...(metadata && { metadata }) };
}

/**
 * Normalises a parsed registration body (`{"instance": {...}}` or a bare instance object).
 * Throws DecodeError for fields that are present but unreadable.
 */
export function decodeInstance(body: unknown, defaults: DecodeDefaults): DecodedInstance {
  if (!isObject(body)) throw new UnparseableBodyError();
  const raw = isObject(body['instance']) ? body['instance'] : body;
  const lease = isObject(raw['leaseInfo']) ? raw['leaseInfo'] : {};
  const renewal = integer(lease['renewalIntervalInSecs'], 'leaseInfo.renewalIntervalInSecs', 0);
  const duration = integer(lease['durationInSecs'], 'leaseInfo.durationInSecs', 0);
  const dataCenterInfo = dataCenter(raw['dataCenterInfo']);
  const instanceId = text(raw['instanceId'], 'instanceId');
  const hostName = text(raw['hostName'], 'hostName');
  const decoded: DecodedInstance = {
    instanceId,
    id: effectiveId(instanceId, dataCenterInfo as DataCenterInfo | undefined, hostName),
    app: sharedString(text(raw['app'], 'app')?.toUpperCase()),
    hostName,
    ipAddr: text(raw['ipAddr'], 'ipAddr'),
    sid: sharedString(text(raw['sid'], 'sid')),
    status: status(raw['status'], 'status', 'UP'),
    // Both spellings exist in the wild (Netflix/eureka#1051).
    overriddenStatus: status(raw['overriddenStatus'] ?? raw['overriddenstatus'], 'overriddenStatus', 'UNKNOWN'),
    port: port(raw['port'], 'port', DEFAULT_PORT),
    securePort: port(raw['securePort'], 'securePort', DEFAULT_SECURE_PORT),
    countryId: integer(raw['countryId'], 'countryId', 1),
    dataCenterInfo,
    renewalIntervalSecs: renewal > 0 ? renewal : defaults.renewalIntervalSecs,
    durationSecs: duration > 0 ? duration : defaults.durationSecs,
    metadata: stringMap(raw['metadata'], 'metadata'),
    appGroupName: sharedString(text(raw['appGroupName'], 'appGroupName')?.toUpperCase()),
    homePageUrl: text(raw['homePageUrl'], 'homePageUrl'),
    statusPageUrl: text(raw['statusPageUrl'], 'statusPageUrl'),
    healthCheckUrl: text(raw['healthCheckUrl'], 'healthCheckUrl'),
    secureHealthCheckUrl: text(raw['secureHealthCheckUrl'], 'secureHealthCheckUrl'),
    vipAddress: sharedString(text(raw['vipAddress'], 'vipAddress')),
    secureVipAddress: sharedString(text(raw['secureVipAddress'], 'secureVipAddress')),
    asgName: sharedString(text(raw['asgName'], 'asgName')),
    lastDirtyTimestamp: integer(raw['lastDirtyTimestamp'], 'lastDirtyTimestamp', defaults.now),
  };
  const action = text(raw['actionType'], 'actionType');
  if (action === 'ADDED' || action === 'MODIFIED' || action === 'DELETED') decoded.actionType = action;
  if (raw['lastUpdatedTimestamp'] !== undefined) decoded.lastUpdatedTimestamp = integer(raw['lastUpdatedTimestamp'], 'lastUpdatedTimestamp', 0);
  if (isObject(raw['leaseInfo'])) {
    decoded.lease = {
      registrationTimestamp: integer(lease['registrationTimestamp'], 'leaseInfo.registrationTimestamp', 0),
      lastRenewalTimestamp: integer(lease['lastRenewalTimestamp'] ?? lease['renewalTimestamp'], 'leaseInfo.lastRenewalTimestamp', 0),
      evictionTimestamp: integer(lease['evictionTimestamp'], 'leaseInfo.evictionTimestamp', 0),
      serviceUpTimestamp: integer(lease['serviceUpTimestamp'], 'leaseInfo.serviceUpTimestamp', 0),
    };
  }
  return decoded;
}
