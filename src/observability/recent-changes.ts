// The last registrations and removals (cancels and evictions) seen in the registry, for the operators' dashboard:
// fixed-size ring buffers fed by registry events. Heartbeats are ignored at the cost of one type check.
import { InstanceView, zoneOf } from '../domain/model';
import { Registry, RegistryEvent } from '../domain/registry';
import { unreachable } from '../domain/unreachable';

/** Where a change came from. */
export type ChangeOrigin = 'client' | 'peer' | 'server';

/** One registration, cancel or eviction. */
export interface RecentChange {
  /** Server time, ms. */
  readonly at: number;
  readonly kind: 'registered' | 're-registered' | 'cancelled' | 'evicted';
  readonly origin: ChangeOrigin;
  readonly app: string;
  readonly id: string;
  readonly hostName: string;
  readonly ipAddr: string;
  readonly port: number;
  readonly status: string;
  /** Metadata `zone` of the instance, when it has one. */
  readonly zone?: string;
}

/** A fixed-capacity buffer keeping the newest `capacity` items. */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** Up to `limit` items, newest first. */
  newest(limit = this.count): T[] {
    const n = Math.max(0, Math.min(limit, this.count));
    const out: T[] = new Array<T>(n);
    for (let k = 0; k < n; k++) out[k] = this.items[(this.next - 1 - k + this.capacity * 2) % this.capacity] as T;
    return out;
  }
}

/** Default number of changes of each kind kept. */
export const RECENT_CHANGES_CAPACITY = 1000;

/** Keeps the latest registrations and removals of a registry. */
export class RecentChanges {
  readonly registrations: RingBuffer<RecentChange>;
  /** Cancels and evictions. */
  readonly removals: RingBuffer<RecentChange>;
  private readonly unsubscribe: () => void;

  constructor(registry: Registry, now: () => number, capacity = RECENT_CHANGES_CAPACITY) {
    this.registrations = new RingBuffer(capacity);
    this.removals = new RingBuffer(capacity);
    this.unsubscribe = registry.subscribe((e) => this.onEvent(e, now));
  }

  close(): void {
    this.unsubscribe();
  }

  private onEvent(e: RegistryEvent, now: () => number): void {
    switch (e.type) {
      case 'registered':
        this.registrations.push(change(now(), e.isNew ? 'registered' : 're-registered', e.isReplication ? 'peer' : 'client', e.view));
        return;
      case 'cancelled':
        this.removals.push(change(now(), 'cancelled', e.isReplication ? 'peer' : 'client', e.view));
        return;
      case 'evicted':
        this.removals.push(change(now(), 'evicted', 'server', e.view));
        return;
      case 'renewed':
      case 'status-updated':
      case 'status-override-deleted':
      case 'metadata-updated':
      case 'health-changed':
        return;
      default:
        unreachable(e);
    }
  }
}

function change(at: number, kind: RecentChange['kind'], origin: ChangeOrigin, view: InstanceView): RecentChange {
  const i = view.record.instance;
  const zone = zoneOf(i);
  return { at, kind, origin, app: i.app, id: i.id, hostName: i.hostName, ipAddr: i.ipAddr, port: i.port.port, status: i.status, ...(zone ? { zone } : {}) };
}
