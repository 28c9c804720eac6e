// The client's logging seam: four levels, a message and structured fields. Any logger with these methods fits
// (winston, pino via a thin adapter, the server's own Logger).

/** Structured fields attached to a log line. */
export type ClientLogFields = Record<string, unknown>;

/** What the client and the sidecar log through. */
export interface ClientLogger {
  /** Something failed and needs attention. */
  error(message: string, fields?: ClientLogFields): void;
  /** Something failed and is retried. */
  warn(message: string, fields?: ClientLogFields): void;
  /** A significant event (registered, deregistered, failover). */
  info(message: string, fields?: ClientLogFields): void;
  /** Detail for troubleshooting. */
  debug(message: string, fields?: ClientLogFields): void;
}

/** Discards everything (tests, or callers that rely on events only). */
export const silentClientLogger: ClientLogger = { error() {}, warn() {}, info() {}, debug() {} };

/** Log levels from most to least severe. */
export type ClientLogLevel = 'error' | 'warn' | 'info' | 'debug';

const LEVELS: readonly ClientLogLevel[] = ['error', 'warn', 'info', 'debug'];

/**
 * A logger writing one line per event to stderr (`console.error`/`console.warn`/…), at `level` and above.
 * Lines look like `eureka-client warn: heartbeat failed {"status":500}`.
 */
export function consoleClientLogger(level: ClientLogLevel = 'warn', prefix = 'eureka-client'): ClientLogger {
  const threshold = LEVELS.indexOf(level);
  const line =
    (l: ClientLogLevel, write: (text: string) => void) =>
    (message: string, fields?: ClientLogFields): void => {
      if (LEVELS.indexOf(l) > threshold) return;
      write(`${prefix} ${l}: ${message}${fields && Object.keys(fields).length > 0 ? ' ' + safeJson(fields) : ''}`);
    };
  return {
    error: line('error', (t) => console.error(t)),
    warn: line('warn', (t) => console.warn(t)),
    info: line('info', (t) => console.info(t)),
    debug: line('debug', (t) => console.debug(t)),
  };
}

function safeJson(fields: ClientLogFields): string {
  try {
    return JSON.stringify(fields, (_key, value: unknown) => (value instanceof Error ? value.message : value));
  } catch {
    return '[unserialisable fields]';
  }
}
