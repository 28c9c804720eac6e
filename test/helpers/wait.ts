// Bounded waiting for asynchronous effects (real clients over real sockets): poll a condition or await an event,
// never a fixed sleep.
import { Registry, RegistryEvent } from '../../src/domain/registry';

/** Resolves once `condition` holds; rejects after `timeoutMs` naming `what`. Polls every `intervalMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Resolves with the first registry event matching `predicate` (subscribe before causing it);
 * rejects after `timeoutMs` naming `what`.
 */
export function nextEvent<E extends RegistryEvent>(registry: Registry, predicate: (e: RegistryEvent) => e is E, what: string, timeoutMs?: number): Promise<E>;
export function nextEvent(registry: Registry, predicate: (e: RegistryEvent) => boolean, what: string, timeoutMs?: number): Promise<RegistryEvent>;
export function nextEvent(registry: Registry, predicate: (e: RegistryEvent) => boolean, what: string, timeoutMs = 5000): Promise<RegistryEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const unsubscribe = registry.subscribe((event) => {
      if (!predicate(event)) return;
      clearTimeout(timer);
      // Unsubscribing inside the registry's dispatch loop would make it skip the next listener; do it afterwards.
      queueMicrotask(unsubscribe);
      resolve(event);
    });
  });
}
