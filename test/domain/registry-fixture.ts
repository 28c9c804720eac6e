// A Registry on a ManualClock that records every event it emits (shared by the domain tests).
import { ManualClock } from '../../src/domain/clock';
import { Registry, RegistryEvent, RegistryOptions } from '../../src/domain/registry';

export const DEFAULT_LEASE_MS = 90_000;
export const DELTA_RETENTION_MS = 180_000;

export interface RegistryFixture {
  readonly clock: ManualClock;
  readonly registry: Registry;
  readonly events: RegistryEvent[];
}

export function makeRegistry(options: Partial<Omit<RegistryOptions, 'clock'>> = {}): RegistryFixture {
  const clock = new ManualClock();
  const registry = new Registry({
    clock,
    defaultLeaseDurationMs: DEFAULT_LEASE_MS,
    deltaRetentionMs: DELTA_RETENTION_MS,
    maxInstancesPerApp: 100,
    ...options,
  });
  const events: RegistryEvent[] = [];
  registry.subscribe((e) => events.push(e));
  return { clock, registry, events };
}
