// Eureka-shaped value types shared by the core, the codecs and the client library.
// Field names follow the Java InstanceInfo so code maps onto the contract; times are epoch milliseconds.

/** Instance statuses, in the order Eureka's hashcode sorts them (lexicographic). */
export const INSTANCE_STATUSES = ['DOWN', 'OUT_OF_SERVICE', 'STARTING', 'UNKNOWN', 'UP'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/** Delta action of a changed instance. */
export type ActionType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A port and whether the instance serves on it. */
export interface PortInfo {
  readonly port: number;
  readonly enabled: boolean;
}

/** Where the instance runs; `className` is the Java `@class` clients need to decode it. */
export interface DataCenterInfo {
  readonly name: string;
  readonly className: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * What a client says about itself when it registers: the registration body, normalised.
 * Server-owned state (lease times, action type) lives in {@link InstanceRecord}.
 */
export interface InstanceInfo {
  /** Effective id (instanceId, else Amazon instance-id, else hostName): the registry key inside an app. */
  readonly id: string;
  /** The `instanceId` field as sent, if any (emitted only when present). */
  readonly instanceId?: string;
  /** Upper-case application name. */
  readonly app: string;
  readonly hostName: string;
  readonly ipAddr: string;
  readonly sid?: string;
  /** Status the client reports. */
  readonly status: InstanceStatus;
  /** Override carried by the client or a peer; UNKNOWN when none. */
  readonly overriddenStatus: InstanceStatus;
  readonly port: PortInfo;
  readonly securePort: PortInfo;
  readonly countryId: number;
  readonly dataCenterInfo: DataCenterInfo;
  /** Heartbeat interval the client promises, seconds. */
  readonly renewalIntervalSecs: number;
  /** Lease duration the client asks for, seconds. */
  readonly durationSecs: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly appGroupName?: string;
  readonly homePageUrl?: string;
  readonly statusPageUrl?: string;
  readonly healthCheckUrl?: string;
  readonly secureHealthCheckUrl?: string;
  readonly vipAddress?: string;
  readonly secureVipAddress?: string;
  readonly asgName?: string;
  /** Client-owned change time (ms); decides which copy of an instance is newer. */
  readonly lastDirtyTimestamp: number;
}

/**
 * Where an instance's current status came from; decides whether a stored status survives re-registration.
 * 'health': the instance reports UP and the server's active health check holds it DOWN.
 */
export type StatusSource = 'client' | 'override' | 'health';

/**
 * One registered instance as the server holds and serves it. Immutable: every content change makes a new
 * record, so an encoded payload can be cached per record. Heartbeats touch only the lease (see Lease).
 */
export interface InstanceRecord {
  /** The instance with its effective status and overriddenStatus as served. */
  readonly instance: InstanceInfo;
  readonly statusSource: StatusSource;
  readonly actionType: ActionType;
  /** Server time of the last content change (register, cancel, status change), ms. */
  readonly lastUpdatedTimestamp: number;
  readonly registrationTimestamp: number;
  /** First time the instance was seen UP, ms; 0 if never. Survives re-registration. */
  readonly serviceUpTimestamp: number;
  /** Cancel or eviction time, ms; 0 while registered. */
  readonly evictionTimestamp: number;
  /** Registry revision at which this record was written. */
  readonly revision: number;
}

/** A record together with its lease's last renewal time, which changes without a new record. */
export interface InstanceView {
  readonly record: InstanceRecord;
  /** Last heartbeat (or registration) time, ms. */
  readonly lastRenewalTimestamp: number;
}

/** Parses a status name case-insensitively; undefined when it is not one. */
export function parseStatus(value: unknown): InstanceStatus | undefined {
  if (typeof value !== 'string') return undefined;
  const upper = value.trim().toUpperCase();
  // The constant, not the upper-cased copy: every instance then holds the same string.
  const i = (INSTANCE_STATUSES as readonly string[]).indexOf(upper);
  return i < 0 ? undefined : INSTANCE_STATUSES[i];
}

/** Java class names clients use to decode dataCenterInfo. */
export const DATA_CENTER_CLASS = {
  default: 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo',
  amazon: 'com.netflix.appinfo.AmazonInfo',
} as const;

/** The Java class a data center name is emitted with (required on output: Java decoders resolve the type from it). */
export function dataCenterClassFor(name: string): string {
  return name === 'Amazon' ? DATA_CENTER_CLASS.amazon : DATA_CENTER_CLASS.default;
}

/** Eureka's effective id rule (InstanceInfo.getId): instanceId, else Amazon instance-id, else hostName. */
export function effectiveId(instanceId: string | undefined, dataCenter: DataCenterInfo | undefined, hostName: string | undefined): string | undefined {
  if (instanceId) return instanceId;
  const amazonId = dataCenter?.name === 'Amazon' ? dataCenter.metadata?.['instance-id'] : undefined;
  if (amazonId) return amazonId;
  return hostName || undefined;
}

/** The zone an instance says it is in: metadata `zone`, else its Amazon `availability-zone`. */
export function zoneOf(instance: Pick<InstanceInfo, 'metadata'> & { readonly dataCenterInfo?: Pick<DataCenterInfo, 'metadata'> }): string | undefined {
  return instance.metadata['zone'] ?? instance.dataCenterInfo?.metadata?.['availability-zone'];
}
