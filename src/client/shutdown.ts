// Deregistration when the process is asked to stop: on SIGTERM/SIGINT the client deregisters, then the process is
// left to exit the way it would have without the hook. And a watch on the parent process, for commands run by npx.

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

/** Options of {@link watchParent}. */
export interface ParentWatchOptions {
  /** How often the parent is checked, ms (default 1 000). */
  readonly intervalMs?: number;
  /** Reads the parent's pid (default: process.ppid); tests fake it. */
  readonly ppid?: () => number;
}

/**
 * Calls `onGone` once when the process's parent exits (the process is re-parented: its parent pid changes), checking
 * every `intervalMs` on a timer that does not keep the process alive. Why: `npx` and `npm exec` run a bin through
 * `sh -c`; a SIGTERM sent to npm ends that shell and leaves the node process running, orphaned, without a signal.
 * A process started by init (parent pid 0 or 1: a container's PID 1, a systemd service) has no parent to lose, and
 * is not watched. Returns a function that stops watching.
 */
export function watchParent(onGone: (parentPid: number) => void, options: ParentWatchOptions = {}): () => void {
  const ppid = options.ppid ?? (() => process.ppid);
  const parent = ppid();
  if (parent <= 1) return () => undefined;
  const timer = setInterval(() => {
    if (ppid() === parent) return;
    clearInterval(timer);
    onGone(parent);
  }, options.intervalMs ?? 1000);
  timer.unref();
  return () => clearInterval(timer);
}
