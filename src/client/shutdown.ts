// Deregistration when the process is asked to stop: on SIGTERM/SIGINT the client deregisters, then the process is
// left to exit the way it would have without the hook.

/** Something that can be stopped (an EurekaClient, a sidecar). */
export interface Stoppable {
  /** Stops and deregisters; resolves when done. */
  stop(): Promise<void>;
}

/** Options of {@link installShutdownHooks}. */
export interface ShutdownHookOptions {
  /** Signals to handle (default SIGTERM and SIGINT). */
  readonly signals?: readonly NodeJS.Signals[];
  /** Longest wait for the deregistration, ms (default 5 000); the process goes on exiting after it. */
  readonly timeoutMs?: number;
  /** Called once stop() finished (or timed out), before the signal is passed on. */
  readonly onStopped?: (signal: NodeJS.Signals, error?: unknown) => void;
}

/**
 * On each of `signals`, stops `client` (which deregisters it), then lets the process exit: when no other listener
 * for that signal exists, the hook removes itself and raises the signal again, so the process ends exactly as it
 * would have without the hook (exit by signal); when the application has its own listener, that one decides.
 * Returns a function that removes the hooks.
 */
export function installShutdownHooks(client: Stoppable, options: ShutdownHookOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const timeoutMs = options.timeoutMs ?? 5000;
  let stopping = false;
  const listeners = new Map<NodeJS.Signals, () => void>();

  const uninstall = (): void => {
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
    listeners.clear();
  };

  for (const signal of signals) {
    const listener = (): void => {
      if (stopping) return;
      stopping = true;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      Promise.race([client.stop(), timeout])
        .then(
          () => undefined,
          (e: unknown) => e ?? new Error('stop failed'),
        )
        .then((error) => {
          clearTimeout(timer);
          uninstall();
          options.onStopped?.(signal, error);
          // Someone else handles this signal: they decide when to exit. Otherwise the default action (exit).
          if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
        });
    };
    listeners.set(signal, listener);
    process.on(signal, listener);
  }
  return uninstall;
}
