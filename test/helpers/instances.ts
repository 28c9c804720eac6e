// Test factory for InstanceInfo values: one registrable ORDERS instance, tweakable per test.
import { DATA_CENTER_CLASS, InstanceInfo } from '../../src/domain/model';

const DEFAULT_ID = '10.0.0.7:orders:8080';

/**
 * An UP instance of app ORDERS with Eureka's usual defaults (30 s heartbeat, 90 s lease, MyOwn data center).
 * When `overrides.id` is given without `instanceId`, `instanceId` follows it so the two stay consistent.
 */
export function makeInstance(overrides: Partial<InstanceInfo> = {}): InstanceInfo {
  const id = overrides.id ?? overrides.instanceId ?? DEFAULT_ID;
  return {
    app: 'ORDERS',
    id,
    instanceId: id,
    hostName: '10.0.0.7',
    ipAddr: '10.0.0.7',
    status: 'UP',
    overriddenStatus: 'UNKNOWN',
    port: { port: 8080, enabled: true },
    securePort: { port: 443, enabled: false },
    countryId: 1,
    dataCenterInfo: { name: 'MyOwn', className: DATA_CENTER_CLASS.default },
    renewalIntervalSecs: 30,
    durationSecs: 90,
    metadata: {},
    vipAddress: 'orders',
    lastDirtyTimestamp: 1,
    ...overrides,
  };
}
