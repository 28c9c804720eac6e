// The part of eureka-js-client 4.x (untyped JavaScript) the integration tests use.
declare module 'eureka-js-client' {
  import { EventEmitter } from 'node:events';

  type Callback = (error?: Error | null) => void;

  /** An instance as the client caches it from the registry (the server's JSON, parsed). */
  export interface EurekaInstance {
    app: string;
    hostName: string;
    ipAddr: string;
    status: string;
    vipAddress?: string;
    port: { $: number; '@enabled': string | boolean };
    actionType?: string;
    [field: string]: unknown;
  }

  export interface EurekaLogger {
    error(...args: unknown[]): void;
    warn(...args: unknown[]): void;
    info(...args: unknown[]): void;
    debug(...args: unknown[]): void;
  }

  export interface EurekaRequestOptions {
    method?: string;
    uri: string;
    baseUrl?: string;
    headers?: Record<string, string>;
    [option: string]: unknown;
  }

  export interface EurekaConfig {
    logger?: EurekaLogger;
    cwd?: string;
    filename?: string;
    shouldUseDelta?: boolean;
    requestMiddleware?: (options: EurekaRequestOptions, done: (options: EurekaRequestOptions) => void) => void;
    eureka: {
      host?: string;
      port?: number;
      servicePath?: string;
      heartbeatInterval?: number;
      registryFetchInterval?: number;
      maxRetries?: number;
      requestRetryDelay?: number;
      fetchRegistry?: boolean;
      registerWithEureka?: boolean;
      filterUpInstances?: boolean;
      [option: string]: unknown;
    };
    instance: Record<string, unknown>;
  }

  export class Eureka extends EventEmitter {
    constructor(config: EurekaConfig);
    readonly instanceId: string;
    logger: EurekaLogger;
    start(callback?: Callback): void;
    stop(callback?: Callback): void;
    register(callback?: Callback): void;
    fetchRegistry(callback?: Callback): void;
    getInstancesByAppId(appId: string): EurekaInstance[];
    getInstancesByVipAddress(vipAddress: string): EurekaInstance[];
  }
}
