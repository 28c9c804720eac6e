// A region of real zone servers on 127.0.0.1 for integration and fault tests: one server per zone (us-east-1a, b, c…),
// each on a port picked up front so it can be stopped and restarted on the same one, optionally behind a
// fault-injecting TCP proxy (then the zones file lists the proxies and each server is told its own URL with
// --self-url), or with one proxy on every directed link between two servers (then each server has its own zones
// file naming its peers by their links). Clients talk to a server's real port over plain HTTP, one fresh connection
// per request.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { RegistryEvent } from '../../src/domain/registry';
import { LogFields, Logger } from '../../src/observability/logger';
import { RunningServer, startServer } from '../../src/server';
import { TcpProxy } from './tcp-proxy';

export const APP = 'ORDERS';
export const REGION = 'us-east-1';

/** Zone names, one per server. */
export const zoneName = (i: number): string => `${REGION}${String.fromCharCode(97 + i)}`;

/**
 * Settings that make replication, sync and expiry observable within a second or two. Tests add or override
 * (a later flag wins).
 */
export const FAST_FLAGS: readonly string[] = [
  '--replication-max-batching-delay-ms', '10',
  '--replication-task-expiry-ms', '2000',
  '--replication-retry-base-ms', '20',
  '--replication-retry-max-ms', '200',
  '--replication-timeout-ms', '1000',
  '--sync-attempts', '2',
  '--sync-retry-wait-ms', '50',
  '--eviction-interval-ms', '200',
  '--renewal-window-ms', '2000',
  '--lease-duration-secs', '3',
  '--lease-renewal-interval-secs', '1',
  '--log-level', 'error',
];

/**
 * `n` distinct ports free on 127.0.0.1 now, for servers that must know their ports before they listen (zones files).
 * Taken below the system's ephemeral range when it is known (Linux): a port from that range, free when reserved, may
 * become the local port of some outgoing connection (a peer's, a proxy's, a client's) before its server listens, and
 * stay taken for as long as that connection lives. Each jest worker draws from its own slice, so that workers running
 * in parallel never reserve the same port.
 */
export async function freePorts(n: number): Promise<number[]> {
  const range = ephemeralRange();
  if (range === undefined || range[0] <= LOW_PORT + WORKER_SLICES * 64) return ephemeralPorts(n);
  const slice = Math.floor((range[0] - LOW_PORT) / WORKER_SLICES);
  const worker = (Number(process.env.JEST_WORKER_ID ?? '1') - 1) % WORKER_SLICES;
  const from = LOW_PORT + worker * slice;
  const ports: number[] = [];
  for (let attempt = 0; ports.length < n && attempt < 100 * n; attempt++) {
    const port = from + Math.floor(Math.random() * slice);
    if (!ports.includes(port) && (await canListen(port))) ports.push(port);
  }
  return ports.length === n ? ports : ephemeralPorts(n);
}

const LOW_PORT = 10_000;
const WORKER_SLICES = 8;

/** The system's range of local ports for outgoing connections, when it can be read. */
function ephemeralRange(): [number, number] | undefined {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return Number.isInteger(low) && Number.isInteger(high) ? [low, high] : undefined;
  } catch {
    return undefined;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

// Elsewhere: ports the system hands out, all held at once so that they are distinct.
async function ephemeralPorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<import('node:net').Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** A log line a server wrote (servers log into memory here; print them when a test needs explaining). */
export interface LogLine {
  readonly server: number;
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly message: string;
  readonly fields?: LogFields;
}

export interface ClusterOptions {
  /** Number of servers (zones), default 3. */
  readonly size?: number;
  /** Put a TcpProxy in front of every server and list the proxies in the zones file. */
  readonly proxies?: boolean;
  /** Put a TcpProxy on every directed link: server i reaches server j only through link(i, j). */
  readonly linkProxies?: boolean;
  /** Flags for every server, after FAST_FLAGS. */
  readonly flags?: readonly string[];
  /** Keep the servers' debug lines in `logs` too (debugEnabled stays false: only lines logged without asking). */
  readonly debugLines?: boolean;
}

/** A region of zone servers; create() lays it out, start()/stop() run servers. Always close() it. */
export class Cluster {
  private readonly running: (RunningServer | undefined)[];
  private readonly eventLogs: RegistryEvent[][];
  readonly logs: LogLine[] = [];
  private debugLines = false;

  private constructor(
    /** Real port of each server. */
    readonly ports: readonly number[],
    /** Proxy in front of each server (proxied clusters only). */
    private readonly proxyList: readonly TcpProxy[] | undefined,
    /** Each server's URL as the zones file lists it (as its peers reach it, without link proxies). */
    readonly urls: readonly string[],
    private readonly dir: string,
    readonly configFile: string,
    private readonly flags: readonly string[],
    /** links[i][j]: the proxy server i reaches server j through (link-proxied clusters only). */
    private readonly links?: readonly (readonly (TcpProxy | undefined)[])[],
  ) {
    this.running = ports.map(() => undefined);
    this.eventLogs = ports.map(() => []);
  }

  /** Reserves ports, starts the proxies and writes the zones file; starts no server. */
  static async create(options: ClusterOptions = {}): Promise<Cluster> {
    const cluster = await Cluster.laidOut(options);
    cluster.debugLines = options.debugLines ?? false;
    return cluster;
  }

  private static async laidOut(options: ClusterOptions): Promise<Cluster> {
    const size = options.size ?? 3;
    const ports = await freePorts(size);
    if (options.linkProxies) return Cluster.withLinks(ports, [...FAST_FLAGS, ...(options.flags ?? [])]);
    const proxies = options.proxies ? await Promise.all(ports.map((p) => TcpProxy.start(p))) : undefined;
    const urls = ports.map((p, i) => `http://127.0.0.1:${proxies ? proxies[i].port : p}/eureka/`);
    const dir = mkdtempSync(join(tmpdir(), 'zone-cluster-'));
    const configFile = join(dir, 'zones.json');
    const zones = Object.fromEntries(urls.map((url, i) => [zoneName(i), [url]]));
    writeFileSync(configFile, JSON.stringify({ region: REGION, zones, settings: {} }, null, 2));
    return new Cluster(ports, proxies, urls, dir, configFile, [...FAST_FLAGS, ...(options.flags ?? [])]);
  }

  // One zones file per server: its own zone lists its real port (it finds itself by port), the others its links.
  private static async withLinks(ports: readonly number[], flags: readonly string[]): Promise<Cluster> {
    const links = await Promise.all(ports.map((_, i) => Promise.all(ports.map((target, j) => (i === j ? undefined : TcpProxy.start(target))))));
    const dir = mkdtempSync(join(tmpdir(), 'zone-cluster-'));
    const url = (port: number): string => `http://127.0.0.1:${port}/eureka/`;
    ports.forEach((port, i) => {
      const zones = Object.fromEntries(ports.map((_, j) => [zoneName(j), [i === j ? url(port) : url(links[i][j]!.port)]]));
      writeFileSync(join(dir, `zones-${i}.json`), JSON.stringify({ region: REGION, zones, settings: {} }, null, 2));
    });
    return new Cluster(ports, undefined, ports.map(url), dir, join(dir, 'zones-0.json'), flags, links);
  }

  /** Creates a cluster and starts every server; resolves once all are ready. */
  static async started(options: ClusterOptions = {}): Promise<Cluster> {
    const cluster = await Cluster.create(options);
    try {
      await Promise.all(cluster.ports.map((_, i) => cluster.start(i)));
      await Promise.all(cluster.ports.map((_, i) => cluster.server(i).ready));
    } catch (e) {
      await cluster.close();
      throw e;
    }
    return cluster;
  }

  get size(): number {
    return this.ports.length;
  }

  /** The command-line flags server `i` starts with (plus `extra`). */
  argv(i: number, extra: readonly string[] = []): string[] {
    const config = this.links ? join(this.dir, `zones-${i}.json`) : this.configFile;
    const args = ['--config', config, '--zone', zoneName(i), '--host', '127.0.0.1', '--port', String(this.ports[i])];
    // Behind a proxy the server's URL has the proxy's port: it cannot find itself by its own port.
    if (this.proxyList) args.push('--self-url', this.urls[i]);
    return [...args, ...this.flags, ...extra];
  }

  /** Starts server `i` on its port; resolves once it listens (await `.ready` for startup sync). */
  async start(i: number, extra: readonly string[] = []): Promise<RunningServer> {
    if (this.running[i]) throw new Error(`server ${i} is already running`);
    const server = await this.listenOnItsPort(i, extra);
    server.registry.subscribe((e) => this.eventLogs[i].push(e));
    this.running[i] = server;
    return server;
  }

  // The port was reserved when the cluster was laid out (the zones file names it), but until a server listens on it
  // the system may hand it out as the local port of some outgoing connection (it is in the ephemeral range): such a
  // connection is short-lived, so listening is retried for a while.
  private async listenOnItsPort(i: number, extra: readonly string[]): Promise<RunningServer> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        return await startServer(loadConfig(this.argv(i, extra), {}), { logger: this.logger(i) });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) throw e;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** Hard stop: closes server `i` at once (queued replication is lost, connections are cut). */
  async stop(i: number): Promise<void> {
    const server = this.running[i];
    this.running[i] = undefined;
    await server?.close();
  }

  /** Stops and starts server `i` on the same port with an empty registry; resolves once it listens. */
  async restart(i: number, extra: readonly string[] = []): Promise<RunningServer> {
    await this.stop(i);
    this.eventLogs[i] = [];
    return this.start(i, extra);
  }

  isRunning(i: number): boolean {
    return this.running[i] !== undefined;
  }

  /** The running server `i`; throws when it is stopped. */
  server(i: number): RunningServer {
    const s = this.running[i];
    if (!s) throw new Error(`server ${i} is not running`);
    return s;
  }

  /** The proxy in front of server `i`. */
  proxy(i: number): TcpProxy {
    if (!this.proxyList) throw new Error('this cluster has no proxies');
    return this.proxyList[i];
  }

  /** The proxy server `from` reaches server `to` through (link-proxied clusters only). */
  link(from: number, to: number): TcpProxy {
    const proxy = this.links?.[from]?.[to];
    if (!proxy) throw new Error(`this cluster has no link from ${from} to ${to}`);
    return proxy;
  }

  /** Every link proxy, with its ends (link-proxied clusters only). */
  allLinks(): { from: number; to: number; proxy: TcpProxy }[] {
    return (this.links ?? []).flatMap((row, from) => row.flatMap((proxy, to) => (proxy ? [{ from, to, proxy }] : [])));
  }

  /** Registry events of server `i` since it (re)started. */
  events(i: number): readonly RegistryEvent[] {
    return this.eventLogs[i];
  }

  /** A client of server `i`'s real port. */
  client(i: number): EurekaHttp {
    return new EurekaHttp(this.ports[i]);
  }

  /** Replication state of server `i` towards server `j` (by j's URL in i's zones file). */
  peerStats(i: number, j: number): RunningServer['peers']['nodes'][number] {
    const url = this.links ? `http://127.0.0.1:${this.link(i, j).port}/eureka/` : this.urls[j];
    const node = this.server(i).peers.nodes.find((n) => n.url === url);
    if (!node) throw new Error(`server ${i} has no peer ${url}`);
    return node;
  }

  /** Stops every server and proxy and removes the zones file. Safe to call twice. */
  async close(): Promise<void> {
    await Promise.all(this.running.map((_, i) => this.stop(i)));
    await Promise.all([...(this.proxyList ?? []), ...this.allLinks().map((l) => l.proxy)].map((p) => p.close()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private logger(server: number): Logger {
    const line = (level: LogLine['level']) => (message: string, fields?: LogFields): void => {
      if (level !== 'debug' || this.debugLines) this.logs.push({ server, level, message, fields });
    };
    return { error: line('error'), warn: line('warn'), info: line('info'), debug: line('debug'), debugEnabled: false };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Plain HTTP client of the Eureka API

export interface HttpReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** One request on a fresh connection to 127.0.0.1:port (no pooling: a stopped server leaves no stale socket). */
export function http(port: number, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string | number> = { accept: 'application/json', ...headers };
    if (body !== undefined) {
      h['content-type'] ??= 'application/json';
      h['content-length'] = Buffer.byteLength(body);
    }
    const req = request({ host: '127.0.0.1', port, method, path, headers: h, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path} on port ${port} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** What a test instance registers with. */
export interface InstanceSpec {
  readonly id: string;
  readonly app?: string;
  readonly status?: string;
  /** leaseInfo.renewalIntervalInSecs (default 1). */
  readonly renewalIntervalSecs?: number;
  /** leaseInfo.durationInSecs (default 3). */
  readonly durationSecs?: number;
  readonly metadata?: Record<string, string>;
}

/** A registration body as eureka-js-client sends it. */
export function instanceBody(spec: InstanceSpec): string {
  const app = spec.app ?? APP;
  return JSON.stringify({
    instance: {
      instanceId: spec.id,
      app,
      hostName: `${spec.id}.test`,
      ipAddr: '127.0.0.1',
      status: spec.status ?? 'UP',
      port: { $: 8080, '@enabled': 'true' },
      vipAddress: app.toLowerCase(),
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: spec.renewalIntervalSecs ?? 1, durationInSecs: spec.durationSecs ?? 3 },
      ...(spec.metadata && { metadata: spec.metadata }),
    },
  });
}

/** An instance as GET /apps/{app} and GET /apps list it (the fields tests look at). */
export interface ListedInstance {
  readonly instanceId: string;
  readonly app: string;
  readonly status: string;
  readonly overriddenStatus?: string;
  readonly overriddenstatus?: string;
  readonly metadata?: Record<string, string>;
  readonly [field: string]: unknown;
}

/** The full registry as GET /apps serves it. */
export interface RegistrySnapshot {
  readonly status: number;
  readonly hashcode: string;
  /** Every instance id, sorted, as `APP/id`. */
  readonly keys: string[];
  readonly instances: ListedInstance[];
}

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The Eureka API of one server, over plain HTTP. */
export class EurekaHttp {
  constructor(readonly port: number) {}

  register(spec: InstanceSpec): Promise<HttpReply> {
    return http(this.port, 'POST', `/eureka/apps/${spec.app ?? APP}`, instanceBody(spec));
  }

  heartbeat(id: string, app = APP): Promise<HttpReply> {
    return http(this.port, 'PUT', `/eureka/apps/${app}/${encodeURIComponent(id)}`);
  }

  cancel(id: string, app = APP): Promise<HttpReply> {
    return http(this.port, 'DELETE', `/eureka/apps/${app}/${encodeURIComponent(id)}`);
  }

  setStatus(id: string, value: string, app = APP): Promise<HttpReply> {
    return http(this.port, 'PUT', `/eureka/apps/${app}/${encodeURIComponent(id)}/status?value=${value}`);
  }

  setMetadata(id: string, entries: Record<string, string>, app = APP): Promise<HttpReply> {
    return http(this.port, 'PUT', `/eureka/apps/${app}/${encodeURIComponent(id)}/metadata?${new URLSearchParams(entries)}`);
  }

  /** GET /eureka/apps/{app}: its instances, or [] on 404. */
  async app(app = APP): Promise<ListedInstance[]> {
    const res = await http(this.port, 'GET', `/eureka/apps/${app}`);
    if (res.status === 404) return [];
    if (res.status !== 200) throw new Error(`GET /eureka/apps/${app} on port ${this.port} answered ${res.status}`);
    return asList(JSON.parse(res.text).application.instance as ListedInstance | ListedInstance[]);
  }

  /** One instance of GET /eureka/apps/{app}, or undefined. */
  async instance(id: string, app = APP): Promise<ListedInstance | undefined> {
    return (await this.app(app)).find((i) => i.instanceId === id);
  }

  /** GET /eureka/apps: the hashcode and every instance. */
  async apps(): Promise<RegistrySnapshot> {
    const res = await http(this.port, 'GET', '/eureka/apps');
    if (res.status !== 200) return { status: res.status, hashcode: '', keys: [], instances: [] };
    const root = JSON.parse(res.text).applications;
    const instances = asList(root.application as { instance: ListedInstance | ListedInstance[] }[] | undefined).flatMap((a) => asList(a.instance));
    return { status: 200, hashcode: root.apps__hashcode, keys: instances.map((i) => `${i.app}/${i.instanceId}`).sort(), instances };
  }

  /** GET /eureka/status as JSON. */
  async status(): Promise<ServerStatus> {
    const res = await http(this.port, 'GET', '/eureka/status');
    if (res.status !== 200) throw new Error(`GET /eureka/status on port ${this.port} answered ${res.status}`);
    return JSON.parse(res.text) as ServerStatus;
  }

  /** POST /eureka/peerreplication/batch with a hand-made body. */
  batch(body: unknown): Promise<HttpReply> {
    return http(this.port, 'POST', '/eureka/peerreplication/batch', typeof body === 'string' ? body : JSON.stringify(body));
  }
}

/** The parts of GET /eureka/status tests read. */
export interface ServerStatus {
  readonly peers: { url: string; queueDepth: number; tasksSent: number; changesLost: number; heartbeatsDropped: number; batchFailures: number }[];
  readonly selfPreservation?: {
    enabled: boolean;
    expectedRenewalsPerMin: number;
    threshold: number;
    renewalsLastMin: number;
    instances: number;
    active: boolean;
    reason: string;
  };
  readonly registryReadsAllowed: boolean;
  readonly leaseExpirationEnabled: boolean;
  readonly zone: string;
  readonly registry: { instances: number; appsHashcode: string };
}

// ---------------------------------------------------------------------------------------------------------------
// Heartbeats

/**
 * Sends a heartbeat for each of `ids` to one server every `periodMs`, all of a round in parallel, until stop().
 * Counts answers by status so a test can tell a 404 (re-register) from a network error.
 */
export class Heartbeats {
  readonly answers = new Map<number | string, number>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<unknown> = Promise.resolve();
  private rounds = 0;
  /** When the last round was sent, ms (Date.now()). */
  lastRoundAt = 0;

  constructor(
    private readonly client: EurekaHttp,
    private ids: readonly string[],
    private readonly periodMs = 200,
  ) {}

  /** Starts beating (first round at once); resolves after the first round was answered. */
  async start(): Promise<void> {
    await this.round();
    this.timer = setInterval(() => {
      this.inFlight = this.round();
    }, this.periodMs);
  }

  /** Completed rounds. */
  get completedRounds(): number {
    return this.rounds;
  }

  /** Changes the instances beaten for from the next round on. */
  beatOnly(ids: readonly string[]): void {
    this.ids = ids;
  }

  /** Stops beating; resolves once the round in flight is answered (no heartbeat arrives after this). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight.catch(() => undefined);
  }

  private async round(): Promise<void> {
    this.lastRoundAt = Date.now();
    const results = await Promise.allSettled(this.ids.map((id) => this.client.heartbeat(id)));
    for (const r of results) {
      const key = r.status === 'fulfilled' ? r.value.status : 'error';
      this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
    }
    this.rounds++;
  }
}
