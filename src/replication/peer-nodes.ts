// The set of peers: turns every client-originated registry change into a task for each peer, and acts on what
// peers answer (re-register where a heartbeat was unknown, adopt a peer's newer copy). Evictions and writes that
// arrived from a peer are never forwarded.
import { Clock } from '../domain/clock';
import { InstanceInfo, InstanceView } from '../domain/model';
import { RegistrationLimits } from '../domain/registration';
import { Registry, RegistryEvent } from '../domain/registry';
import { unreachable } from '../domain/unreachable';
import { acceptInstance } from '../codecs/instance-decoder';
import { Logger } from '../observability/logger';
import { Scheduler } from '../scheduling/scheduler';
import { PeerClient } from './peer-client';
import { PeerNode, PeerNodeOptions, PeerTask, ResultHandler, TaskPayload } from './peer-node';
import { ReplicationAction } from './protocol';

/** Settings of replication. */
export interface ReplicationOptions extends PeerNodeOptions {
  /** How long an undelivered task is kept, ms (Eureka: 30 s). */
  readonly taskExpiryMs: number;
}

export class PeerNodes implements ResultHandler {
  private current: readonly PeerNode[];
  // When each lease's last heartbeat was forwarded, ms since `since`; weak, so cancelled leases cost nothing. Relative,
  // so that for its first 24 days a value is a small integer stored in place rather than one more heap object a lease.
  private readonly lastForwarded = new WeakMap<object, number>();
  private readonly since: number;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    clients: readonly PeerClient[],
    private readonly registry: Registry,
    private readonly clock: Clock,
    private readonly scheduler: Scheduler,
    private readonly logger: Logger,
    private readonly options: ReplicationOptions,
    private readonly limits: RegistrationLimits,
  ) {
    this.since = clock.now();
    this.current = clients.map((c) => new PeerNode(c, this, clock, scheduler, logger, options));
    this.unsubscribe = registry.subscribe((e) => this.onEvent(e));
  }

  /** The peers now (a new array after every add or remove, so a caller's copy never changes under it). */
  get nodes(): readonly PeerNode[] {
    return this.current;
  }

  /** Starts replicating to a peer that joined: changes from now on (what it missed, its startup sync or anti-entropy brings). */
  add(client: PeerClient): void {
    if (this.closed) return;
    this.current = [...this.current, new PeerNode(client, this, this.clock, this.scheduler, this.logger, this.options)];
  }

  /** Stops replicating to a peer that left: its queue is discarded, its timers stopped and its client closed. */
  remove(client: PeerClient): void {
    const node = this.current.find((n) => n.client === client);
    if (node === undefined) return;
    this.current = this.current.filter((n) => n !== node);
    if (node.queueDepth > 0) this.logger.info('peer left: its undelivered tasks are discarded', { peer: node.url, tasks: node.queueDepth });
    node.close();
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const node of this.current) node.close();
  }

  missingOnPeer(node: PeerNode, app: string, id: string): void {
    const lease = this.registry.lease(app, id);
    if (lease) node.enqueue(this.task('Register', lease.record.instance, { view: lease.snapshot(), ...statusOf(lease.record.instance) }));
  }

  newerOnPeer(node: PeerNode, app: string, id: string, entity: unknown): void {
    const valid = acceptInstance(entity, app, this.limits, this.clock.now());
    const problem = 'error' in valid ? valid.error : valid.ok.id !== id ? `peer sent instance ${valid.ok.id} for ${id}` : undefined;
    if (problem || !('ok' in valid)) {
      this.logger.warn("cannot adopt a peer's newer copy", { peer: node.url, app, id, reason: problem });
      return;
    }
    // The newer copy's override wins over ours (Eureka's storeOverriddenStatusIfRequired).
    if (valid.ok.overriddenStatus !== 'UNKNOWN') this.registry.storeOverride(valid.ok.app, id, valid.ok.overriddenStatus);
    this.registry.register(valid.ok, true);
  }

  private onEvent(event: RegistryEvent): void {
    if (this.current.length === 0 || ('isReplication' in event && event.isReplication)) return;
    switch (event.type) {
      case 'registered': {
        const i = event.view.record.instance;
        return this.broadcast(this.task('Register', i, { view: snapshot(event.view), ...statusOf(i) }));
      }
      // Not a StatusUpdate, which Eureka peers take for an operator's override: the instance with its new status.
      case 'health-changed': {
        const i = event.view.record.instance;
        return this.broadcast(this.task('Register', i, { view: snapshot(event.view), ...statusOf(i) }));
      }
      // Its own action in the queue (sent as a Register to peers that are not zone-registry servers): a Register of an
      // instance the peer may not hold yet must not be replaced by it.
      case 'metadata-updated': {
        const i = event.view.record.instance;
        return this.broadcast(this.task('MetadataUpdate', i, { view: snapshot(event.view), ...statusOf(i), metadata: event.entries }));
      }
      case 'renewed': {
        // The event carries the renewed lease: no second lookup on the heartbeat path.
        const lease = event.view;
        // A heartbeat tells a peer the instance lives; more than one per half renewal interval (or half lease, if
        // shorter) tells it nothing more. A well-behaved client sends one per interval, so this only trims clients
        // that heartbeat more eagerly than they promised.
        const elapsed = this.clock.now() - this.since;
        const instance = lease.record.instance;
        if (elapsed - (this.lastForwarded.get(lease) ?? -Infinity) < Math.min(instance.renewalIntervalSecs, instance.durationSecs) * 500) return;
        this.lastForwarded.set(lease, elapsed);
        this.broadcast(this.task('Heartbeat', instance, statusOf(instance)));
        return;
      }
      // Each carries the instance as the change left it, for the time of the change (see ReplicationItem.instanceInfo).
      case 'cancelled':
        return this.broadcast(this.task('Cancel', event.view.record.instance, { view: snapshot(event.view) }));
      case 'status-updated':
        return this.broadcast(this.task('StatusUpdate', event.view.record.instance, { status: event.view.record.instance.status, lastDirtyTimestamp: event.view.record.instance.lastDirtyTimestamp, view: snapshot(event.view) }));
      case 'status-override-deleted':
        return this.broadcast(this.task('DeleteStatusOverride', event.view.record.instance, { status: event.view.record.instance.status, lastDirtyTimestamp: event.view.record.instance.lastDirtyTimestamp, view: snapshot(event.view) }));
      case 'evicted':
        // As in Eureka, every server evicts by its own clock: an eviction is not replicated.
        return;
      default:
        unreachable(event);
    }
  }

  private task(action: ReplicationAction, i: InstanceInfo, payload: TaskPayload): PeerTask {
    const now = this.clock.now();
    return { action, app: i.app, id: i.id, payload, queuedAt: now, expiresAt: now + this.options.taskExpiryMs };
  }

  private broadcast(task: PeerTask): void {
    for (const node of this.current) node.enqueue(task);
  }
}

/** The view as it is now (a lease's record moves on with later changes). */
function snapshot(view: InstanceView): InstanceView {
  return { record: view.record, lastRenewalTimestamp: view.lastRenewalTimestamp };
}

/** The status fields a Register or Heartbeat carries: the override only when there is one. */
function statusOf(i: InstanceInfo): TaskPayload {
  return { status: i.status, lastDirtyTimestamp: i.lastDirtyTimestamp, overriddenStatus: i.overriddenStatus !== 'UNKNOWN' ? i.overriddenStatus : undefined };
}
