// The client's copy of the registry: an immutable snapshot per fetch (full replace, or a delta applied
// copy-on-write per app), its reconcile hashcode, lookups by app and VIP, and the differences between two snapshots
// (which become change events).
import { appsHashcode, countStatuses } from '../domain/apps-hashcode';
import { InstanceStatus } from '../domain/model';
import { RegistryInstance } from './instance';

/** A change between two snapshots, as the client's events report it. */
export type RegistryChange =
  | { readonly type: 'added'; readonly instance: RegistryInstance }
  | { readonly type: 'removed'; readonly instance: RegistryInstance }
  | { readonly type: 'statusChanged'; readonly instance: RegistryInstance; readonly previous: InstanceStatus }
  /** Anything but the status changed (metadata, URLs, ports, override, …); may come with a statusChanged. */
  | { readonly type: 'modified'; readonly instance: RegistryInstance; readonly previous: RegistryInstance };

type AppMap = ReadonlyMap<string, RegistryInstance>;

const byId = (a: RegistryInstance, b: RegistryInstance): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Splits a (comma-separated) VIP list into upper-cased VIPs; the Java client matches VIPs case-insensitively. */
function vipsOf(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((v) => v.trim().toUpperCase())
    .filter((v) => v !== '');
}

/** One consistent copy of the registry. Never mutated: applying a delta returns a new snapshot. */
export class RegistrySnapshot {
  private hash: string | undefined;
  private readonly sorted = new Map<string, readonly RegistryInstance[]>();
  private vips: { plain: Map<string, RegistryInstance[]>; secure: Map<string, RegistryInstance[]> } | undefined;

  private constructor(
    /** Upper-case app name → instance id → instance. An app may be empty (a delta removed its last instance). */
    readonly apps: ReadonlyMap<string, AppMap>,
    /** `versions__delta` of the document it came from; -1 for the empty start. */
    readonly versionsDelta: number,
  ) {}

  /** The empty registry a client starts with (version -1: the next fetch is a full one). */
  static empty(): RegistrySnapshot {
    return new RegistrySnapshot(new Map(), -1);
  }

  /** A snapshot of a full fetch. A later duplicate of an id replaces an earlier one. */
  static of(instances: Iterable<RegistryInstance>, versionsDelta: number): RegistrySnapshot {
    const apps = new Map<string, Map<string, RegistryInstance>>();
    for (const i of instances) {
      let app = apps.get(i.app);
      if (!app) apps.set(i.app, (app = new Map()));
      app.set(i.id, i);
    }
    return new RegistrySnapshot(apps, versionsDelta);
  }

  /**
   * The snapshot after a delta: ADDED and MODIFIED add or replace the instance with the same id in its app (the
   * app is created when missing), DELETED removes the instance with that id. Entries without an action type are
   * treated as MODIFIED. Apps not in the delta are shared with this snapshot.
   */
  withDelta(changes: Iterable<RegistryInstance>, versionsDelta: number): RegistrySnapshot {
    const apps = new Map(this.apps);
    const copied = new Set<string>();
    const appFor = (name: string): Map<string, RegistryInstance> => {
      let app = apps.get(name) as Map<string, RegistryInstance> | undefined;
      if (!copied.has(name)) {
        app = new Map(app ?? []);
        apps.set(name, app);
        copied.add(name);
      }
      return app as Map<string, RegistryInstance>;
    };
    for (const change of changes) {
      if (change.actionType === 'DELETED') {
        if (this.apps.get(change.app)?.has(change.id) || copied.has(change.app)) appFor(change.app).delete(change.id);
      } else {
        appFor(change.app).set(change.id, change);
      }
    }
    return new RegistrySnapshot(apps, versionsDelta);
  }

  /** Number of instances. */
  get size(): number {
    let n = 0;
    for (const app of this.apps.values()) n += app.size;
    return n;
  }

  /** Eureka's reconcile hashcode over every instance held, whatever its status (e.g. `DOWN_1_UP_3_`). */
  hashcode(): string {
    if (this.hash === undefined) {
      const statuses: InstanceStatus[] = [];
      for (const app of this.apps.values()) for (const i of app.values()) statuses.push(i.status);
      this.hash = appsHashcode(countStatuses(statuses));
    }
    return this.hash;
  }

  /** Every instance, app by app. */
  *instances(): IterableIterator<RegistryInstance> {
    for (const app of this.apps.values()) yield* app.values();
  }

  /** The app's instances (any status), sorted by id; [] when unknown. Case-insensitive. */
  application(app: string): readonly RegistryInstance[] {
    const name = app.toUpperCase();
    let list = this.sorted.get(name);
    if (!list) {
      list = [...(this.apps.get(name)?.values() ?? [])].sort(byId);
      this.sorted.set(name, list);
    }
    return list;
  }

  /** The instance with this id in `app`, if held. */
  instance(app: string, id: string): RegistryInstance | undefined {
    return this.apps.get(app.toUpperCase())?.get(id);
  }

  /** Instances (any status) with `vip` among their (secure) VIP addresses, sorted by app and id. Case-insensitive. */
  byVip(vip: string, secure = false): readonly RegistryInstance[] {
    if (!this.vips) {
      const plain = new Map<string, RegistryInstance[]>();
      const sec = new Map<string, RegistryInstance[]>();
      const add = (index: Map<string, RegistryInstance[]>, key: string, i: RegistryInstance): void => {
        const list = index.get(key);
        if (list) list.push(i);
        else index.set(key, [i]);
      };
      for (const name of [...this.apps.keys()].sort()) {
        for (const i of this.application(name)) {
          for (const v of vipsOf(i.vipAddress)) add(plain, v, i);
          for (const v of vipsOf(i.secureVipAddress)) add(sec, v, i);
        }
      }
      this.vips = { plain, secure: sec };
    }
    return (secure ? this.vips.secure : this.vips.plain).get(vip.trim().toUpperCase()) ?? [];
  }
}

/** What an instance says about itself apart from its status and the times: changes here are modifications. */
function fingerprint(i: RegistryInstance): string {
  const metadata = Object.keys(i.metadata)
    .sort()
    .map((k) => [k, i.metadata[k]]);
  return JSON.stringify([
    i.hostName, i.ipAddr, i.port, i.securePort, i.vipAddress, i.secureVipAddress, i.homePageUrl, i.statusPageUrl, i.healthCheckUrl,
    i.secureHealthCheckUrl, i.dataCenterInfo.name, i.dataCenterInfo.metadata, i.appGroupName, i.asgName, i.renewalIntervalSecs, i.durationSecs,
    i.overriddenStatus, metadata,
  ]);
}

/** Whether two copies of an instance differ in anything but status and times. */
function contentChanged(a: RegistryInstance, b: RegistryInstance): boolean {
  if (a.lastDirtyTimestamp === b.lastDirtyTimestamp && a.lastUpdatedTimestamp === b.lastUpdatedTimestamp && a.overriddenStatus === b.overriddenStatus) return false;
  return fingerprint(a) !== fingerprint(b);
}

/**
 * What changed from `before` to `after`: instances added, removed, whose status changed, and whose other content
 * changed (one instance may give both statusChanged and modified; lease times alone are no change). `apps` limits
 * the comparison to those apps (a delta's).
 */
export function diffSnapshots(before: RegistrySnapshot, after: RegistrySnapshot, apps?: Iterable<string>): RegistryChange[] {
  const names = apps ? new Set(apps) : new Set([...before.apps.keys(), ...after.apps.keys()]);
  const changes: RegistryChange[] = [];
  for (const name of names) {
    const old = before.apps.get(name);
    const now = after.apps.get(name);
    if (old === now) continue;
    for (const [id, instance] of now ?? []) {
      const previous = old?.get(id);
      if (!previous) {
        changes.push({ type: 'added', instance });
        continue;
      }
      if (previous === instance) continue;
      if (previous.status !== instance.status) changes.push({ type: 'statusChanged', instance, previous: previous.status });
      if (contentChanged(previous, instance)) changes.push({ type: 'modified', instance, previous });
    }
    for (const [id, instance] of old ?? []) if (!now?.has(id)) changes.push({ type: 'removed', instance });
  }
  return changes;
}
