// Values that many instances carry alike, held once. A decoded registration is a tree of fresh strings and objects;
// kept as they come, a registry of 250,000 instances holds 250,000 copies of each application name, VIP, data centre
// and port pair, and of metadata values such as a zone or a version, and the garbage collector marks every copy on
// every full collection. Decoding hands out the copy already held instead (equal values, so nothing else changes).
// Bounded: at most MAX_ENTRIES values of at most MAX_SHARED_LENGTH characters each; past that the table starts
// afresh, so a client sending ever-new values costs a table refill, never memory.
import { DataCenterInfo, dataCenterClassFor, PortInfo } from '../domain/model';

/** Longest string shared, characters: names and short metadata values, not URLs or host names. */
export const MAX_SHARED_LENGTH = 64;
/** Most values one table holds before it starts afresh. */
export const MAX_ENTRIES = 16_384;

/** A bounded table of values by key, each made on first sight. */
class Table<V> {
  private readonly values = new Map<string, V>();

  get(key: string, make: (key: string) => V): V {
    let value = this.values.get(key);
    if (value === undefined) {
      if (this.values.size >= MAX_ENTRIES) this.values.clear();
      value = make(key);
      this.values.set(key, value);
    }
    return value;
  }

  get size(): number {
    return this.values.size;
  }
}

const strings = new Table<string>();
const self = (s: string): string => s;

/** The held copy of `value` (short strings only; longer ones are returned as they are). */
export function sharedString(value: string): string;
export function sharedString(value: string | undefined): string | undefined;
export function sharedString(value: string | undefined): string | undefined {
  return value === undefined || value.length > MAX_SHARED_LENGTH ? value : strings.get(value, self);
}

// Ports: at most 65,536 × 2 pairs, so this one needs no bound of its own.
const ports = new Map<number, PortInfo>();

/** The held (frozen) port pair. */
export function sharedPort(port: number, enabled: boolean): PortInfo {
  const key = enabled ? port : -1 - port;
  let info = ports.get(key);
  if (info === undefined) {
    info = Object.freeze({ port, enabled });
    ports.set(key, info);
  }
  return info;
}

const dataCenters = new Table<DataCenterInfo>();

/** The held (frozen) data centre of this name without metadata, with the Java class clients decode it by. */
export function sharedDataCenter(name: string): DataCenterInfo {
  const make = (): DataCenterInfo => Object.freeze({ name: sharedString(name), className: dataCenterClassFor(name) });
  return name.length > MAX_SHARED_LENGTH ? make() : dataCenters.get(name, make);
}

/** Entries held now, strings and data centres (for tests). */
export function sharedValueCounts(): { readonly strings: number; readonly ports: number; readonly dataCenters: number } {
  return { strings: strings.size, ports: ports.size, dataCenters: dataCenters.size };
}
