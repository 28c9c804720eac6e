// Logging behind a small interface; winston is the one implementation. Lines carry structured fields.
import winston from 'winston';

/** Structured fields of a log line. */
export type LogFields = Record<string, unknown>;

/** What components log through. */
export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** True when debug lines are written (lets hot paths skip building fields). */
  readonly debugEnabled: boolean;
}

/** A winston logger writing to stdout as text (`time level message key=value…`) or JSON. */
export function createLogger(options: { level: string; format: string }): Logger {
  const text = winston.format.printf(({ level, message, timestamp, ...fields }) => {
    const rest = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${timestamp} ${level.toUpperCase().padEnd(5)} ${message}${rest ? ' ' + rest : ''}`;
  });
  const w = winston.createLogger({
    level: options.level,
    format: winston.format.combine(winston.format.timestamp(), options.format === 'json' ? winston.format.json() : text),
    transports: [new winston.transports.Console()],
  });
  // A line below the level is dropped here: winston would format it (timestamp and all) before dropping it, a few
  // per cent of a registration's CPU at --log-level warn.
  const skip = (): void => undefined;
  return {
    error: w.isLevelEnabled('error') ? (m, f) => w.error(m, f) : skip,
    warn: w.isLevelEnabled('warn') ? (m, f) => w.warn(m, f) : skip,
    info: w.isLevelEnabled('info') ? (m, f) => w.info(m, f) : skip,
    debug: w.isLevelEnabled('debug') ? (m, f) => w.debug(m, f) : skip,
    debugEnabled: w.isLevelEnabled('debug'),
  };
}

/** A logger that writes nothing (tests). */
export const silentLogger: Logger = { error() {}, warn() {}, info() {}, debug() {}, debugEnabled: false };
