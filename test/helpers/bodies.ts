// Registration bodies in the shapes real clients send (contract §4.2), plus an XML one (§4.4).
// Each builder takes the same options so a test can register "the same" instance as any client would.

/** What varies between test instances. */
export interface BodyOptions {
  /** App name as the client writes it (the server upper-cases it). */
  readonly app?: string;
  /** `instanceId`; `null` leaves it out (the effective id is then the hostName). */
  readonly instanceId?: string | null;
  readonly hostName?: string;
  readonly ipAddr?: string;
  readonly port?: number;
  readonly securePort?: number;
  readonly status?: string;
  readonly overriddenStatus?: string;
  readonly vipAddress?: string;
  readonly secureVipAddress?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Client-owned change time, ms. */
  readonly lastDirtyTimestamp?: number;
  readonly renewalIntervalInSecs?: number;
  readonly durationInSecs?: number;
}

/** A JSON registration body: `{"instance": {...}}`. */
export interface RegistrationBody {
  instance: Record<string, unknown>;
}

export const DEFAULT_DATA_CENTER_CLASS = 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo';
export const EMPTY_MAP_CLASS = 'java.util.Collections$EmptyMap';
/** lastDirtyTimestamp the Java/Spring builders send unless told otherwise (before the ManualClock's start). */
export const DEFAULT_DIRTY = 1_699_999_999_000;

function resolved(o: BodyOptions) {
  const app = o.app ?? 'ORDERS';
  const hostName = o.hostName ?? '10.0.0.7';
  const port = o.port ?? 8080;
  return {
    app,
    hostName,
    ipAddr: o.ipAddr ?? '10.0.0.7',
    port,
    securePort: o.securePort ?? 443,
    instanceId: o.instanceId === null ? undefined : (o.instanceId ?? `${hostName}:${app.toLowerCase()}:${port}`),
    status: o.status ?? 'UP',
    overriddenStatus: o.overriddenStatus ?? 'UNKNOWN',
    vipAddress: o.vipAddress ?? app.toLowerCase(),
    secureVipAddress: o.secureVipAddress ?? app.toLowerCase(),
    metadata: o.metadata ?? {},
    lastDirtyTimestamp: o.lastDirtyTimestamp ?? DEFAULT_DIRTY,
    renewalIntervalInSecs: o.renewalIntervalInSecs ?? 30,
    durationInSecs: o.durationInSecs ?? 90,
  };
}

/**
 * The Java DiscoveryClient's legacy Jackson codec: the server's own output shape, with string timestamps,
 * `"@enabled":"true"`, zeros for the server-owned lease fields and the empty-map marker for empty metadata.
 */
export function javaLegacyBody(options: BodyOptions = {}): RegistrationBody {
  const o = resolved(options);
  const instance: Record<string, unknown> = {};
  if (o.instanceId !== undefined) instance.instanceId = o.instanceId;
  Object.assign(instance, {
    hostName: o.hostName,
    app: o.app,
    ipAddr: o.ipAddr,
    status: o.status,
    overriddenStatus: o.overriddenStatus,
    port: { $: o.port, '@enabled': 'true' },
    securePort: { $: o.securePort, '@enabled': 'false' },
    countryId: 1,
    dataCenterInfo: { '@class': DEFAULT_DATA_CENTER_CLASS, name: 'MyOwn' },
    leaseInfo: {
      renewalIntervalInSecs: o.renewalIntervalInSecs,
      durationInSecs: o.durationInSecs,
      registrationTimestamp: 0,
      lastRenewalTimestamp: 0,
      evictionTimestamp: 0,
      serviceUpTimestamp: 0,
    },
    metadata: Object.keys(o.metadata).length === 0 ? { '@class': EMPTY_MAP_CLASS } : { ...o.metadata },
    homePageUrl: `http://${o.hostName}:${o.port}/`,
    statusPageUrl: `http://${o.hostName}:${o.port}/actuator/info`,
    healthCheckUrl: `http://${o.hostName}:${o.port}/actuator/health`,
    vipAddress: o.vipAddress,
    secureVipAddress: o.secureVipAddress,
    isCoordinatingDiscoveryServer: 'false',
    lastUpdatedTimestamp: String(o.lastDirtyTimestamp),
    lastDirtyTimestamp: String(o.lastDirtyTimestamp),
  });
  return { instance };
}

/**
 * Spring Cloud's Jackson bean serialization: numeric timestamps, boolean isCoordinatingDiscoveryServer,
 * null-valued properties present, `sid: "na"`, in bean-property order rather than the legacy codec's.
 */
export function springBody(options: BodyOptions = {}): RegistrationBody {
  const o = resolved(options);
  return {
    instance: {
      instanceId: o.instanceId ?? null,
      app: o.app,
      appGroupName: null,
      ipAddr: o.ipAddr,
      sid: 'na',
      homePageUrl: `http://${o.hostName}:${o.port}/`,
      statusPageUrl: `http://${o.hostName}:${o.port}/actuator/info`,
      healthCheckUrl: `http://${o.hostName}:${o.port}/actuator/health`,
      secureHealthCheckUrl: null,
      vipAddress: o.vipAddress,
      secureVipAddress: o.secureVipAddress,
      countryId: 1,
      dataCenterInfo: { '@class': DEFAULT_DATA_CENTER_CLASS, name: 'MyOwn' },
      hostName: o.hostName,
      status: o.status,
      overriddenStatus: o.overriddenStatus,
      leaseInfo: {
        renewalIntervalInSecs: o.renewalIntervalInSecs,
        durationInSecs: o.durationInSecs,
        registrationTimestamp: 0,
        lastRenewalTimestamp: 0,
        evictionTimestamp: 0,
        serviceUpTimestamp: 0,
      },
      isCoordinatingDiscoveryServer: false,
      metadata: Object.keys(o.metadata).length === 0 ? { '@class': EMPTY_MAP_CLASS } : { ...o.metadata },
      lastUpdatedTimestamp: o.lastDirtyTimestamp,
      lastDirtyTimestamp: o.lastDirtyTimestamp,
      actionType: null,
      asgName: null,
      port: { $: o.port, '@enabled': 'true' },
      securePort: { $: o.securePort, '@enabled': 'false' },
    },
  };
}

/**
 * eureka-js-client: only what its user configured plus `status: "UP"`; boolean `@enabled`, no instanceId,
 * no leaseInfo, no lastDirtyTimestamp, no securePort. The effective id is the hostName.
 */
export function jsClientBody(options: Omit<BodyOptions, 'instanceId'> = {}): RegistrationBody {
  const o = resolved({ app: 'jqservice', hostName: 'localhost', ipAddr: '127.0.0.1', vipAddress: 'jq.test.something.com', ...options, instanceId: null });
  const instance: Record<string, unknown> = {
    app: o.app,
    hostName: o.hostName,
    ipAddr: o.ipAddr,
    port: { $: o.port, '@enabled': true },
    vipAddress: o.vipAddress,
    dataCenterInfo: { '@class': DEFAULT_DATA_CENTER_CLASS, name: 'MyOwn' },
    status: o.status,
  };
  if (options.metadata) instance.metadata = { ...options.metadata };
  return { instance };
}

const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** An XStream-shaped `<instance>` registration body (§4.4): `overriddenstatus`, `enabled`/`class` attributes. */
export function xmlBody(options: BodyOptions = {}): string {
  const o = resolved(options);
  const el = (name: string, value: string | number): string => `  <${name}>${xmlEscape(String(value))}</${name}>\n`;
  const metadata =
    Object.keys(o.metadata).length === 0
      ? `  <metadata class="${EMPTY_MAP_CLASS}"/>\n`
      : `  <metadata>\n${Object.entries(o.metadata)
          .map(([k, v]) => `  ${el(k, v)}`)
          .join('')}  </metadata>\n`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<instance>\n' +
    (o.instanceId !== undefined ? el('instanceId', o.instanceId) : '') +
    el('hostName', o.hostName) +
    el('app', o.app) +
    el('ipAddr', o.ipAddr) +
    el('status', o.status) +
    el('overriddenstatus', o.overriddenStatus) +
    `  <port enabled="true">${o.port}</port>\n` +
    `  <securePort enabled="false">${o.securePort}</securePort>\n` +
    el('countryId', 1) +
    `  <dataCenterInfo class="${DEFAULT_DATA_CENTER_CLASS}">\n    <name>MyOwn</name>\n  </dataCenterInfo>\n` +
    '  <leaseInfo>\n' +
    `    <renewalIntervalInSecs>${o.renewalIntervalInSecs}</renewalIntervalInSecs>\n` +
    `    <durationInSecs>${o.durationInSecs}</durationInSecs>\n` +
    '    <registrationTimestamp>0</registrationTimestamp>\n    <lastRenewalTimestamp>0</lastRenewalTimestamp>\n' +
    '    <evictionTimestamp>0</evictionTimestamp>\n    <serviceUpTimestamp>0</serviceUpTimestamp>\n' +
    '  </leaseInfo>\n' +
    metadata +
    el('homePageUrl', `http://${o.hostName}:${o.port}/`) +
    el('vipAddress', o.vipAddress) +
    el('secureVipAddress', o.secureVipAddress) +
    el('isCoordinatingDiscoveryServer', 'false') +
    el('lastUpdatedTimestamp', o.lastDirtyTimestamp) +
    el('lastDirtyTimestamp', o.lastDirtyTimestamp) +
    '</instance>\n'
  );
}
