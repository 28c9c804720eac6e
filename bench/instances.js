'use strict';
// Registration bodies for the benchmark: what a Spring Cloud / Java Eureka client sends when it registers
// (~1 KB of JSON per instance), so parsing, validation and encoding costs are those of real traffic rather than
// of a minimal body. Fleets are laid out as `apps` applications × `perApp` instances each, on distinct hosts.

const GIT_COMMIT = 'a3f9c2e1b7d4058f6e2c9a1b3d5f7e9c0b2d4f6a';

/** @typedef {{ app: string, appLower: string, id: string, hostName: string, ipAddr: string, index: number }} InstanceRef */

/**
 * The identity of instance `n` (0-based) of app number `a`: upper-case app name as the registry stores it,
 * Spring's `host:app:port` instance id, a unique host name and IPv4 address.
 * @param {number} a application number
 * @param {number} n instance number inside the app
 * @param {number} perApp instances per app (to number hosts uniquely)
 * @returns {InstanceRef}
 */
function instanceRef(a, n, perApp) {
  const index = a * perApp + n;
  const appLower = `bench-service-${String(a).padStart(4, '0')}`;
  const ipAddr = `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
  const hostName = `ip-${ipAddr.replace(/\./g, '-')}.ec2.internal`;
  return { app: appLower.toUpperCase(), appLower, id: `${hostName}:${appLower}:8080`, hostName, ipAddr, index };
}

/**
 * All instances of a fleet, app by app.
 * @param {number} apps number of applications
 * @param {number} perApp instances per application
 * @returns {InstanceRef[]}
 */
function fleet(apps, perApp) {
  const out = [];
  for (let a = 0; a < apps; a++) for (let n = 0; n < perApp; n++) out.push(instanceRef(a, n, perApp));
  return out;
}

/**
 * The registration body of an instance, `{"instance":{...}}`, as the Java client's Jackson codec writes it.
 * @param {InstanceRef} ref
 * @param {{ now?: number, version?: string, durationSecs?: number }} [opts] `now` sets the client timestamps;
 *   `version` the metadata version (change it to make a re-registration a real content change); `durationSecs` the
 *   lease duration asked for (Eureka clients: 90).
 * @returns {string} JSON text (~1 KB)
 */
function registrationBody(ref, opts = {}) {
  const now = String(opts.now ?? Date.now());
  const base = `http://${ref.hostName}:8080`;
  return JSON.stringify({
    instance: {
      instanceId: ref.id,
      hostName: ref.hostName,
      app: ref.app,
      ipAddr: ref.ipAddr,
      status: 'UP',
      overriddenStatus: 'UNKNOWN',
      port: { $: 8080, '@enabled': 'true' },
      securePort: { $: 443, '@enabled': 'false' },
      countryId: 1,
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: opts.durationSecs ?? 90 },
      metadata: {
        'management.port': '8081',
        zone: `us-east-1${'abc'[ref.index % 3]}`,
        version: opts.version ?? '2.14.3',
        'git.commit': GIT_COMMIT,
        'management.context-path': '/actuator',
      },
      homePageUrl: `${base}/`,
      statusPageUrl: `http://${ref.hostName}:8081/actuator/info`,
      healthCheckUrl: `http://${ref.hostName}:8081/actuator/health`,
      vipAddress: ref.appLower,
      secureVipAddress: ref.appLower,
      isCoordinatingDiscoveryServer: 'false',
      lastUpdatedTimestamp: now,
      lastDirtyTimestamp: now,
    },
  });
}

/** Path of an instance's heartbeat (PUT) — ids contain `:` and `.`, which are legal in a path segment. */
const heartbeatPath = (ref) => `/eureka/apps/${ref.app}/${ref.id}`;

/** Path a registration is POSTed to. */
const registrationPath = (ref) => `/eureka/apps/${ref.app}`;

module.exports = { instanceRef, fleet, registrationBody, heartbeatPath, registrationPath };
