// Helpers for the client tests: a seeded random, registry instances and documents as a server writes them, and a
// fake Eureka server behind an axios adapter (no sockets) for deterministic tests of the client's logic.
import axios, { AxiosAdapter, AxiosError, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { DATA_CENTER_CLASS, InstanceStatus } from '../../src/domain/model';
import { RegistryInstance } from '../../src/client/instance';
import { appsHashcode, countStatuses } from '../../src/domain/apps-hashcode';

export { seededRandom } from '../helpers/random';

/** What a test instance looks like. */
export interface Spec {
  readonly id: string;
  readonly app?: string;
  readonly status?: InstanceStatus;
  readonly vip?: string;
  readonly port?: number;
  readonly metadata?: Record<string, string>;
  readonly actionType?: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly lastDirtyTimestamp?: number;
  readonly hostName?: string;
}

/** A RegistryInstance as the client holds it. */
export function inst(spec: Spec): RegistryInstance {
  const app = (spec.app ?? 'ORDERS').toUpperCase();
  return {
    id: spec.id,
    instanceId: spec.id,
    app,
    hostName: spec.hostName ?? `${spec.id}.test`,
    ipAddr: '10.0.0.1',
    status: spec.status ?? 'UP',
    overriddenStatus: 'UNKNOWN',
    port: { port: spec.port ?? 8080, enabled: true },
    securePort: { port: 443, enabled: false },
    countryId: 1,
    dataCenterInfo: { name: 'MyOwn', className: DATA_CENTER_CLASS.default },
    renewalIntervalSecs: 30,
    durationSecs: 90,
    metadata: spec.metadata ?? {},
    vipAddress: spec.vip ?? app.toLowerCase(),
    lastDirtyTimestamp: spec.lastDirtyTimestamp ?? 1,
    ...(spec.actionType && { actionType: spec.actionType }),
  };
}

/** An instance object as a server's JSON lists it. */
export function instanceJson(spec: Spec): Record<string, unknown> {
  const app = (spec.app ?? 'ORDERS').toUpperCase();
  return {
    instanceId: spec.id,
    hostName: spec.hostName ?? `${spec.id}.test`,
    app,
    ipAddr: '10.0.0.1',
    status: spec.status ?? 'UP',
    overriddenStatus: 'UNKNOWN',
    port: { $: spec.port ?? 8080, '@enabled': 'true' },
    securePort: { $: 443, '@enabled': 'false' },
    countryId: 1,
    dataCenterInfo: { '@class': DATA_CENTER_CLASS.default, name: 'MyOwn' },
    leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90, registrationTimestamp: 1, lastRenewalTimestamp: 1, evictionTimestamp: 0, serviceUpTimestamp: 1 },
    metadata: spec.metadata ?? { '@class': 'java.util.Collections$EmptyMap' },
    vipAddress: spec.vip ?? app.toLowerCase(),
    isCoordinatingDiscoveryServer: 'false',
    lastUpdatedTimestamp: String(spec.lastDirtyTimestamp ?? 1),
    lastDirtyTimestamp: String(spec.lastDirtyTimestamp ?? 1),
    actionType: spec.actionType ?? 'ADDED',
  };
}

/** An `applications` document; the hashcode defaults to the one of `hashOver` (the full registry), else of `specs`. */
export function applicationsJson(specs: readonly Spec[], options: { version?: number; hashcode?: string; hashOver?: readonly Spec[] } = {}): string {
  const apps = new Map<string, Record<string, unknown>[]>();
  for (const s of specs) {
    const app = (s.app ?? 'ORDERS').toUpperCase();
    apps.set(app, [...(apps.get(app) ?? []), instanceJson(s)]);
  }
  const hashcode = options.hashcode ?? appsHashcode(countStatuses((options.hashOver ?? specs).map((s) => s.status ?? 'UP')));
  return JSON.stringify({
    applications: {
      versions__delta: String(options.version ?? 1),
      apps__hashcode: hashcode,
      application: [...apps].map(([name, instance]) => ({ name, instance })),
    },
  });
}

/** A request the fake server received. */
export interface FakeRequest {
  readonly server: string;
  readonly method: string;
  /** Path after the server's base URL, with the query string. */
  readonly path: string;
  readonly body?: string;
  readonly headers: Record<string, string>;
}

/** An answer of the fake server: a status and body, or a network error code. */
export type FakeAnswer = { status: number; body?: string } | { error: string };

/**
 * A fake set of Eureka servers behind an axios adapter: `handler` answers each request. Every request is recorded.
 */
export class FakeEureka {
  readonly requests: FakeRequest[] = [];
  readonly http: AxiosInstance;

  constructor(
    public handler: (req: FakeRequest) => FakeAnswer,
    readonly servers: readonly string[] = ['http://eureka-a:8761/eureka/'],
  ) {
    const adapter: AxiosAdapter = async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
      const url = config.url ?? '';
      const server = this.servers.find((s) => url.startsWith(s)) ?? '';
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(config.headers?.toJSON?.() ?? {})) headers[k.toLowerCase()] = String(v);
      const req: FakeRequest = { server, method: (config.method ?? 'get').toUpperCase(), path: url.slice(server.length), body: typeof config.data === 'string' ? config.data : undefined, headers };
      this.requests.push(req);
      const answer = this.handler(req);
      if ('error' in answer) throw new AxiosError(`connect ${answer.error}`, answer.error, config);
      return { data: answer.body ?? '', status: answer.status, statusText: String(answer.status), headers: {}, config, request: {} };
    };
    this.http = axios.create({ adapter });
  }

  /** Requests with this method whose path starts with `prefix`. */
  sent(method: string, prefix = ''): FakeRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(prefix));
  }
}

/**
 * Resolves with the arguments of the next `event` of `emitter` whose arguments pass `predicate`; rejects after
 * `timeoutMs` naming `what`. Subscribe before causing the event.
 */
export function nextEmitted<A extends unknown[]>(
  emitter: { on(event: string, listener: (...args: A) => void): unknown; off(event: string, listener: (...args: A) => void): unknown },
  event: string,
  what: string,
  predicate: (...args: A) => boolean = () => true,
  timeoutMs = 5000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const listener = (...args: A): void => {
      if (!predicate(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    emitter.on(event, listener);
  });
}
