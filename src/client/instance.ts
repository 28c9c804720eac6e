// The client's view of instances: what it registers (built from InstanceConfig, encoded by the codecs exactly as
// the Java client's legacy codec writes it) and what it reads from the registry (decoded by the codecs).
import { DecodedInstance } from '../codecs/instance-decoder';
import { instanceDocumentJson } from '../codecs/json';
import { ActionType, DATA_CENTER_CLASS, dataCenterClassFor, InstanceInfo, InstanceRecord, InstanceStatus, zoneOf } from '../domain/model';

/** Lease times as the server reports them, ms. */
export interface LeaseTimes {
  /** When the server registered the instance. */
  readonly registrationTimestamp: number;
  /** Last heartbeat (or registration) the server saw. */
  readonly lastRenewalTimestamp: number;
  /** When it was cancelled or evicted; 0 while registered. */
  readonly evictionTimestamp: number;
  /** First time the server saw it UP; 0 if never. */
  readonly serviceUpTimestamp: number;
}

/**
 * An instance as the registry serves it. `id` is the effective id (instanceId, else the Amazon instance-id, else
 * the hostName): the key within its app. `app` is upper-case.
 */
export interface RegistryInstance extends InstanceInfo {
  /** The change the server recorded last (in a delta: the change it carries). */
  readonly actionType?: ActionType;
  /** Server time of the last content change, ms. */
  readonly lastUpdatedTimestamp?: number;
  /** Lease times, when the server sent them. */
  readonly lease?: LeaseTimes;
}

/** The data center an instance runs in. */
export interface DataCenterConfig {
  /** `MyOwn` (default), `Netflix` or `Amazon`. */
  readonly name: 'MyOwn' | 'Netflix' | 'Amazon';
  /** Amazon metadata (`instance-id`, `availability-zone`, …). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** What the client registers: the instance it runs as. */
export interface InstanceConfig {
  /** Application name (sent upper-cased, as every Eureka client does). */
  readonly app: string;
  /** Host name other services call it by (also the id of clients that send no instanceId). */
  readonly hostName: string;
  /** IP address. */
  readonly ipAddr: string;
  /** HTTP port (registered as enabled). */
  readonly port: number;
  /** HTTPS port; registered as enabled when given, else 443 disabled. */
  readonly securePort?: number;
  /** VIP address(es), comma-separated; default: the app name in lower case. */
  readonly vipAddress?: string;
  /** Secure VIP address(es), comma-separated. */
  readonly secureVipAddress?: string;
  /** Metadata (flat strings). The client adds `zone` (its own zone) when it knows its zone and this has none. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Home page URL. */
  readonly homePageUrl?: string;
  /** Status page URL (the Spring dashboard links to it). */
  readonly statusPageUrl?: string;
  /** Health check URL. */
  readonly healthCheckUrl?: string;
  /** Health check URL over https. */
  readonly secureHealthCheckUrl?: string;
  /** Instance id; default `${hostName}:${app}:${port}` (Spring's format). */
  readonly instanceId?: string;
  /** Default `{ name: 'MyOwn' }`. */
  readonly dataCenterInfo?: DataCenterConfig;
  /** Application group (sent upper-cased). */
  readonly appGroupName?: string;
  /** AWS auto-scaling group name. */
  readonly asgName?: string;
  /** Heartbeat interval promised to the server, s (default 30). */
  readonly leaseRenewalIntervalSecs?: number;
  /** Lease duration asked of the server, s (default 90): expiry this long after the last heartbeat. */
  readonly leaseDurationSecs?: number;
  /** Status at the first registration (default UP). */
  readonly initialStatus?: InstanceStatus;
}

/** Builds the InstanceInfo the client registers. */
export function instanceInfoFrom(config: InstanceConfig, status: InstanceStatus, metadata: Readonly<Record<string, string>>, lastDirtyTimestamp: number): InstanceInfo {
  const dc = config.dataCenterInfo ?? { name: 'MyOwn' };
  const instanceId = config.instanceId ?? `${config.hostName}:${config.app}:${config.port}`;
  return {
    id: instanceId,
    instanceId,
    app: config.app.toUpperCase(),
    hostName: config.hostName,
    ipAddr: config.ipAddr,
    status,
    overriddenStatus: 'UNKNOWN',
    port: { port: config.port, enabled: true },
    securePort: config.securePort !== undefined ? { port: config.securePort, enabled: true } : { port: 443, enabled: false },
    countryId: 1,
    dataCenterInfo: { name: dc.name, className: dataCenterClassFor(dc.name), ...(dc.metadata && { metadata: dc.metadata }) },
    renewalIntervalSecs: config.leaseRenewalIntervalSecs ?? 30,
    durationSecs: config.leaseDurationSecs ?? 90,
    metadata,
    appGroupName: config.appGroupName?.toUpperCase(),
    homePageUrl: config.homePageUrl,
    statusPageUrl: config.statusPageUrl,
    healthCheckUrl: config.healthCheckUrl,
    secureHealthCheckUrl: config.secureHealthCheckUrl,
    vipAddress: config.vipAddress ?? config.app.toLowerCase(),
    secureVipAddress: config.secureVipAddress,
    asgName: config.asgName,
    lastDirtyTimestamp,
  };
}

/**
 * The registration body (`{"instance":{…}}`) in the legacy Jackson shape Java clients send: leaseInfo with the
 * client's interval and duration and zero server timestamps, string timestamps, `$`/`@enabled` ports.
 */
export function registrationBody(info: InstanceInfo): string {
  const record: InstanceRecord = {
    instance: info,
    statusSource: 'client',
    actionType: 'ADDED',
    lastUpdatedTimestamp: info.lastDirtyTimestamp,
    registrationTimestamp: 0,
    serviceUpTimestamp: 0,
    evictionTimestamp: 0,
    revision: 0,
  };
  return instanceDocumentJson({ record, lastRenewalTimestamp: 0 });
}

/** A decoded registry instance in the client's shape; undefined when it has no id or app (unusable). */
export function fromDecoded(d: DecodedInstance): RegistryInstance | undefined {
  if (!d.id || !d.app) return undefined;
  const dcName = d.dataCenterInfo?.name ?? 'MyOwn';
  return {
    ...d,
    id: d.id,
    app: d.app,
    hostName: d.hostName ?? '',
    ipAddr: d.ipAddr ?? '',
    dataCenterInfo: {
      name: dcName,
      className: d.dataCenterInfo?.className ?? (dcName === 'Amazon' ? DATA_CENTER_CLASS.amazon : DATA_CENTER_CLASS.default),
      ...(d.dataCenterInfo?.metadata && { metadata: d.dataCenterInfo.metadata }),
    },
  };
}

/** The zone an instance says it is in: metadata `zone`, else its Amazon `availability-zone`. */
export { zoneOf };

/** Options of {@link instanceUrl}. */
export interface InstanceUrlOptions {
  /** Use the secure port and https (default: only when the plain port is disabled and the secure one enabled). */
  readonly secure?: boolean;
  /** Use the IP address instead of the host name (default true). */
  readonly preferIpAddress?: boolean;
}

/** The base URL to call an instance at, e.g. `http://10.0.0.7:8080/`. */
export function instanceUrl(instance: Pick<InstanceInfo, 'hostName' | 'ipAddr' | 'port' | 'securePort'>, options: InstanceUrlOptions = {}): string {
  const secure = options.secure ?? (!instance.port.enabled && instance.securePort.enabled);
  const host = (options.preferIpAddress ?? true) && instance.ipAddr ? instance.ipAddr : instance.hostName;
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${secure ? 'https' : 'http'}://${hostPart}:${secure ? instance.securePort.port : instance.port.port}/`;
}
