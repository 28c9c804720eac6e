// A small Eureka server for the client's watch tests, on node:http at 127.0.0.1: full fetch, Eureka's delta and the
// long-poll watch (`apps/delta?since=R&wait=D`) with the X-Registry-* headers, a revision log it can compact (410),
// a restart that changes its identity, and the faults a careless server has (ignoring `wait`, failing watches,
// sending no X-Registry-* headers at all, as a stock Eureka server).
import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { applicationsJson, Spec } from './helpers';

interface Parked {
  readonly since: number;
  readonly res: ServerResponse;
  readonly timer: NodeJS.Timeout;
}

/** One logged change: the instance's state after it, with its action. */
interface Change {
  readonly revision: number;
  readonly spec: Spec;
}

/** Options of {@link WatchServer.start}. */
export interface WatchServerOptions {
  /** Send the X-Registry-* headers and serve the watch (default true); false: a stock Eureka server. */
  readonly advertise?: boolean;
  /** Instances held at start. */
  readonly instances?: readonly Spec[];
}

/** A fake registry server speaking the watch protocol. Always close() it. */
export class WatchServer {
  readonly instances = new Map<string, Spec>();
  revision = 0;
  token = randomUUID();
  /** Answer every watch at once, as a server that ignores `wait`. */
  ignoreWait = false;
  /** Answer the next watch requests with this status (5xx, 403, 429) instead, one per entry. */
  failWatches: number[] = [];
  /** Paths (with query) of every GET, in order. */
  readonly requests: string[] = [];
  private readonly log: Change[] = [];
  /** The oldest `since` the log still covers. */
  private floor = 0;
  private readonly parked = new Set<Parked>();
  private readonly sockets = new Set<Socket>();
  private readonly advertise: boolean;
  private closed = false;
  /** Base URL of the Eureka API (kept after close()). */
  url = '';

  private constructor(
    private readonly server: Server,
    options: WatchServerOptions,
  ) {
    this.advertise = options.advertise ?? true;
    for (const spec of options.instances ?? []) this.instances.set(spec.id, spec);
  }

  static async start(options: WatchServerOptions = {}): Promise<WatchServer> {
    let self: WatchServer | undefined;
    const server = createServer((req, res) => self?.handle(req, res));
    self = new WatchServer(server, options);
    const created = self;
    server.on('connection', (socket) => {
      created.sockets.add(socket);
      socket.on('close', () => created.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/eureka/`;
    return self;
  }

  /** Watch requests held now. */
  get parkedCount(): number {
    return this.parked.size;
  }

  /** Watch requests received (with `since`). */
  get watchRequests(): string[] {
    return this.requests.filter((p) => p.includes('since='));
  }

  /** Adds or replaces an instance (a new revision); `compact` drops the log before it, so older watchers get 410. */
  put(spec: Spec, options: { compact?: boolean } = {}): void {
    const action = this.instances.has(spec.id) ? 'MODIFIED' : 'ADDED';
    this.instances.set(spec.id, spec);
    this.record({ ...spec, actionType: action }, options.compact ?? false);
  }

  /** Removes an instance (a new revision). */
  remove(id: string): void {
    const spec = this.instances.get(id);
    if (!spec) return;
    this.instances.delete(id);
    this.record({ ...spec, actionType: 'DELETED' }, false);
  }

  /**
   * Becomes another process behind the same address: a new identity and revisions of its own (starting above the
   * old ones, so only the identity tells them apart). Parked watchers are answered by the new process: empty, at its
   * revision.
   */
  restart(): void {
    this.token = randomUUID();
    this.revision += 100;
    this.log.length = 0;
    this.floor = this.revision;
    for (const p of [...this.parked]) this.answer(p, this.deltaBody([]));
  }

  /** Cuts every connection and stops listening. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.parked) clearTimeout(p.timer);
    this.parked.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private record(spec: Spec, compact: boolean): void {
    this.revision++;
    this.log.push({ revision: this.revision, spec });
    if (compact) this.floor = this.revision;
    for (const p of [...this.parked]) this.settle(p);
  }

  private headers(): Record<string, string> {
    if (!this.advertise) return { 'content-type': 'application/json' };
    return { 'content-type': 'application/json', 'x-registry-revision': String(this.revision), 'x-registry-server': this.token, 'x-registry-watch': 'delta, events' };
  }

  /** The delta document for changes after `since` (latest state of each changed instance). */
  private deltaBody(changes: readonly Change[]): string {
    const latest = new Map<string, Spec>();
    for (const c of changes) latest.set(c.spec.id, c.spec);
    return applicationsJson([...latest.values()], { version: this.revision, hashOver: [...this.instances.values()] });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/^\/eureka\//, '');
    this.requests.push(path + url.search);
    if (req.method !== 'GET') return void res.writeHead(405).end();
    if (path === 'apps/' || path === 'apps') {
      return void res.writeHead(200, this.headers()).end(applicationsJson([...this.instances.values()], { version: this.revision }));
    }
    if (path !== 'apps/delta') return void res.writeHead(404).end();
    const since = url.searchParams.get('since');
    if (since === null || !this.advertise) return void res.writeHead(200, this.headers()).end(this.deltaBody(this.log));
    const failure = this.failWatches.shift();
    if (failure !== undefined) return void res.writeHead(failure, { ...this.headers(), ...(failure === 429 && { 'retry-after': '1' }) }).end();
    const wait = url.searchParams.get('wait') ?? '0s';
    const m = /^(\d+)(ms|s)$/.exec(wait);
    const waitMs = m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : 0;
    const timer = setTimeout(() => this.answer(parked, this.deltaBody([])), this.ignoreWait ? 0 : waitMs);
    const parked: Parked = { since: Number(since), res, timer };
    this.parked.add(parked);
    req.on('close', () => {
      clearTimeout(timer);
      this.parked.delete(parked);
    });
    this.settle(parked);
  }

  /** Answers a parked watch when it can be: 410 when its revision is not covered, its changes when there are some. */
  private settle(p: Parked): void {
    if (p.since < this.floor || p.since > this.revision) {
      clearTimeout(p.timer);
      this.parked.delete(p);
      p.res.writeHead(410, this.headers()).end();
      return;
    }
    const changes = this.log.filter((c) => c.revision > p.since);
    if (changes.length > 0) this.answer(p, this.deltaBody(changes));
  }

  private answer(p: Parked, body: string): void {
    clearTimeout(p.timer);
    if (!this.parked.delete(p)) return;
    p.res.writeHead(200, this.headers()).end(body);
  }
}
