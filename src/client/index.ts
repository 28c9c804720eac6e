// zone-registry/client: a Eureka client for Node services and a sidecar for everything else.
// Everything here speaks the Eureka wire contract through ../codecs and uses only pure domain types and functions.

export {
  EurekaClient,
  EurekaStatusError,
  EurekaRegistrationError,
  backoff,
  type EurekaClientOptions,
  type EurekaClientEvents,
  type EurekaClientStats,
  type RetryOptions,
  type InstanceFilter,
  type VipFilter,
  type ChooseOptions,
  type RegistryUpdate,
  type WatchState,
} from './eureka-client';
export { instanceUrl, zoneOf, type InstanceConfig, type DataCenterConfig, type RegistryInstance, type LeaseTimes, type InstanceUrlOptions } from './instance';
export { RegistrySnapshot, diffSnapshots, type RegistryChange } from './local-registry';
export { Selector, pickRandom, pickWeighted, preferZone, weightOf, type SelectionStrategy } from './selection';
export { ServerPool, ServersConfigError, redactUrl, resolveEndpoints, endpointsFromZonesFile, type ServersOption, type ServerEndpoint, type ZonesFile, type ServerPoolOptions } from './servers';
export { EurekaTransport, EurekaUnavailableError, isServerFailure, type EurekaOperation, type EurekaRequest, type EurekaResponse, type AttemptFailure, type TransportOptions } from './transport';
export { TimerScheduler, type Scheduler, type TimerSchedulerOptions } from './scheduler';
export { consoleClientLogger, silentClientLogger, type ClientLogger, type ClientLogFields, type ClientLogLevel } from './logger';
export { installShutdownHooks, type Stoppable, type ShutdownHookOptions } from './shutdown';
export { startSidecar, defaultIpAddress, type Sidecar, type SidecarOptions } from './sidecar';
export { parseSidecarArgs, runSidecarCli, SidecarUsageError, SIDECAR_USAGE, type SidecarCommand } from './sidecar-cli';
export type { InstanceStatus, InstanceInfo, PortInfo, DataCenterInfo, ActionType } from '../domain/model';
export type { Clock } from '../domain/clock';
