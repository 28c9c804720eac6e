// Instances kept alive as Eureka clients keep themselves: each heartbeats its home server on a period and registers
// again when a heartbeat is answered 404 (the server lost it, or an override removal asks for its real status),
// until it cancels. Beats are spread over the period in slots, so a fleet does not heartbeat all at once.
import { APP, EurekaHttp, HttpReply, InstanceSpec } from './cluster';

interface Client {
  spec: InstanceSpec;
  readonly home: number;
  readonly slot: number;
}

/** A fleet of instance clients, each with its home server; stop() it (it awaits the beats in flight). */
export class InstanceClients {
  /** Heartbeat answers by status (`error` for a network error), and `reregistered` for the registrations 404s caused. */
  readonly answers = new Map<number | string, number>();
  private readonly clients = new Map<string, Client>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;

  constructor(
    private readonly serverClient: (home: number) => EurekaHttp,
    /** Each client's heartbeat period, ms. */
    private readonly periodMs = 1000,
    /** Slots the period is cut into; a client beats in its own. */
    private readonly slots = 10,
  ) {}

  /** Adds a client (not registered by this); it heartbeats from its slot's next turn. `slot` default: by count. */
  add(spec: InstanceSpec, home: number, slot = this.clients.size % this.slots): void {
    this.clients.set(spec.id, { spec, home, slot: slot % this.slots });
  }

  /** Whether `id` is a live client. */
  has(id: string): boolean {
    return this.clients.has(id);
  }

  /** Home server of a live client. */
  homeOf(id: string): number | undefined {
    return this.clients.get(id)?.home;
  }

  /** Registers a live client with its spec on its home server. */
  register(id: string): Promise<HttpReply> {
    const c = this.live(id);
    return this.serverClient(c.home).register(c.spec);
  }

  /** Changes what a client registers with (its next registration sends it). */
  update(id: string, spec: InstanceSpec): void {
    this.live(id).spec = spec;
  }

  /** Stops the client's heartbeats, then cancels it on its home server. */
  cancel(id: string): Promise<HttpReply> {
    const c = this.live(id);
    this.clients.delete(id);
    return this.serverClient(c.home).cancel(id, c.spec.app ?? APP);
  }

  /** Stops a client's heartbeats without cancelling (a client that died). */
  forget(id: string): void {
    this.clients.delete(id);
  }

  /** Starts heartbeating. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.beat(this.tick++ % this.slots), this.periodMs / this.slots);
  }

  /** Stops heartbeating; resolves once the requests in flight are answered. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
  }

  private beat(slot: number): void {
    for (const [id, c] of this.clients) {
      if (c.slot !== slot) continue;
      const p = this.heartbeat(id, c).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }

  private async heartbeat(id: string, c: Client): Promise<void> {
    const server = this.serverClient(c.home);
    let status: number | string;
    try {
      status = (await server.heartbeat(id, c.spec.app ?? APP)).status;
    } catch {
      status = 'error';
    }
    this.count(status);
    // Unknown here (or its override removed): register again, as a Eureka client does, unless it was cancelled meanwhile.
    if (status !== 404 || this.clients.get(id) !== c) return;
    try {
      if ((await server.register(c.spec)).status === 204) this.count('reregistered');
    } catch {
      this.count('error');
    }
  }

  private count(key: number | string): void {
    this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
  }

  private live(id: string): Client {
    const c = this.clients.get(id);
    if (!c) throw new Error(`no live client ${id}`);
    return c;
  }
}
