// What the segment cache lays out: the full registry (GET /apps) and the delta (GET /apps/delta), each a list of
// applications of instances under a head, read from the registry and told which application changed.
import { InstanceView } from '../../domain/model';
import { Registry } from '../../domain/registry';

// The full registry's versions__delta, as Eureka writes it.
const FULL_VERSIONS_DELTA = 1;

/** What a segment cache lays out: applications in document order, each a list of instances, under a head. */
export interface SegmentSource {
  /** Applications holding instances, in document order: a new one comes last, one that empties leaves. */
  applicationNames(): Iterable<string>;
  applicationSize(app: string): number;
  application(app: string): Iterable<InstanceView>;
  /** Calls `listener` with each application whose instances changed, after they did; returns the unsubscribe. */
  subscribe(listener: (app: string) => void): () => void;
  /** Moves whenever the head may change. */
  readonly revision: number;
  /** The head's versions__delta. */
  versionsDelta(): number;
  /** The head's apps__hashcode. */
  hashcode(): string;
  /**
   * Whether the views are snapshots (the delta's) rather than live leases (the full registry's). Snapshots: each
   * record's encoding is kept for the next time its segment is encoded (see SplicedEncoder.write), worth it for a few
   * records re-encoded often, not for a registry of 250,000 whose bytes the segments hold already. Live leases: their
   * lastRenewalTimestamps move with heartbeats, so a segment re-encoded after a change writes its unchanged records
   * with the renewal times they were written with, and its bytes differ only where its records do.
   */
  readonly snapshots: boolean;
}

/** The full registry (GET /apps): every instance, applications in registration order. */
export function fullRegistrySource(registry: Registry): SegmentSource {
  return {
    *applicationNames() {
      for (const [app] of registry.applications()) yield app;
    },
    applicationSize: (app) => registry.applicationSize(app),
    application: (app) => registry.application(app),
    // Every content change has an event, emitted after the registry changed; heartbeats are not content.
    subscribe: (listener) =>
      registry.subscribe((e) => {
        if (e.type !== 'renewed') listener(e.view.record.instance.app);
      }),
    get revision() {
      return registry.revision;
    },
    versionsDelta: () => FULL_VERSIONS_DELTA,
    hashcode: () => registry.hashcode(),
    snapshots: false,
  };
}

/**
 * The delta (GET /apps/delta): the delta log's changes per application, under the registry's revision and the full
 * registry's hashcode (the client's reconcile check). Its records are snapshots: they never age.
 */
export function deltaSource(registry: Registry): SegmentSource {
  return {
    applicationNames: () => registry.deltaApplicationNames(),
    applicationSize: (app) => registry.deltaApplicationSize(app),
    application: (app) => registry.deltaApplication(app),
    subscribe: (listener) => registry.subscribeDelta(listener),
    get revision() {
      return registry.revision;
    },
    versionsDelta: () => registry.revision,
    hashcode: () => registry.hashcode(),
    snapshots: true,
  };
}
