// What makes a registration valid: Eureka's mandatory-field checks in its order and with its messages, plus our
// configurable size limits. Used once at each edge that accepts instances (client API, peer batches, startup sync).
import { DataCenterInfo, InstanceInfo } from './model';

/** An instance as a client described it: optional where a client may omit a field. Codecs produce these. */
export type InstanceDraft = Omit<Partial<InstanceInfo>, 'dataCenterInfo'> &
  Pick<InstanceInfo, 'status' | 'overriddenStatus' | 'port' | 'securePort' | 'countryId' | 'renewalIntervalSecs' | 'durationSecs' | 'metadata' | 'lastDirtyTimestamp'> & {
    dataCenterInfo?: Partial<DataCenterInfo>;
  };

/** Input limits; see the configuration reference. */
export interface InputLimits {
  /** Longest app name, instance id, host name or VIP, characters. */
  readonly maxNameLength: number;
  /** Most metadata entries per instance. */
  readonly maxMetadataEntries: number;
  /** Most comma-separated names in vipAddress, and in secureVipAddress. */
  readonly maxVipAddresses: number;
}

/** Limits plus the lease defaults for instances that send no leaseInfo. */
export interface RegistrationLimits extends InputLimits {
  /** Heartbeat interval assumed when leaseInfo omits it, seconds. */
  readonly defaultRenewalIntervalSecs: number;
  /** Lease duration assumed when leaseInfo omits it, seconds. */
  readonly defaultDurationSecs: number;
}

/** A valid instance, or the 400 message that says why not. */
export type Validation = { readonly ok: InstanceInfo } | { readonly error: string };

/** Checks a decoded registration against the path's app name (upper-cased). */
export function validateRegistration(d: InstanceDraft, pathApp: string, limits: InputLimits): Validation {
  if (!d.id) return { error: 'Missing instanceId' };
  if (!d.hostName) return { error: 'Missing hostname' };
  if (!d.ipAddr) return { error: 'Missing ip address' };
  if (!d.app) return { error: 'Missing appName' };
  if (d.app !== pathApp) return { error: `Mismatched appName, expecting ${pathApp} but was ${d.app}` };
  if (!d.dataCenterInfo) return { error: 'Missing dataCenterInfo' };
  if (!d.dataCenterInfo.name) return { error: 'Missing dataCenterInfo Name' };
  const tooLong = checkLengths(d, limits.maxNameLength);
  if (tooLong) return { error: tooLong };
  if (Object.keys(d.metadata).length > limits.maxMetadataEntries) return { error: `Too many metadata entries (limit ${limits.maxMetadataEntries})` };
  if (vipCount(d.vipAddress) > limits.maxVipAddresses) return { error: `Too many VIP addresses (limit ${limits.maxVipAddresses})` };
  if (vipCount(d.secureVipAddress) > limits.maxVipAddresses) return { error: `Too many secure VIP addresses (limit ${limits.maxVipAddresses})` };
  const i: InstanceInfo = {
    id: d.id,
    instanceId: d.instanceId,
    app: d.app,
    hostName: d.hostName,
    ipAddr: d.ipAddr,
    sid: d.sid,
    status: d.status,
    overriddenStatus: d.overriddenStatus,
    port: d.port,
    securePort: d.securePort,
    countryId: d.countryId,
    dataCenterInfo: d.dataCenterInfo as DataCenterInfo,
    renewalIntervalSecs: d.renewalIntervalSecs,
    durationSecs: d.durationSecs,
    metadata: d.metadata,
    appGroupName: d.appGroupName,
    homePageUrl: d.homePageUrl,
    statusPageUrl: d.statusPageUrl,
    healthCheckUrl: d.healthCheckUrl,
    secureHealthCheckUrl: d.secureHealthCheckUrl,
    vipAddress: d.vipAddress,
    secureVipAddress: d.secureVipAddress,
    asgName: d.asgName,
    lastDirtyTimestamp: d.lastDirtyTimestamp,
  };
  return { ok: i };
}

/** The first over-long name as a message, or undefined. */
export function checkLengths(d: Pick<InstanceDraft, 'id' | 'app' | 'hostName' | 'ipAddr' | 'vipAddress' | 'secureVipAddress'>, max: number): string | undefined {
  for (const field of ['app', 'id', 'hostName', 'ipAddr', 'vipAddress', 'secureVipAddress'] as const) {
    const value = d[field];
    if (value !== undefined && value.length > max) return `${field === 'id' ? 'instanceId' : field} longer than ${max} characters`;
  }
  return undefined;
}

// Each name is indexed and may be cached as its own payload; counted as the VIP routes split them (on every comma).
function vipCount(vips: string | undefined): number {
  if (vips === undefined) return 0;
  let count = 1;
  for (let at = vips.indexOf(','); at !== -1; at = vips.indexOf(',', at + 1)) count++;
  return count;
}
