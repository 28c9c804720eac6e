// Logging behind a small interface: lines with structured fields, as text (`time LEVEL message key=value…`) or JSON
// objects, written to stdout. Formatted and written here rather than through a logging framework's stream pipeline:
// at the default level every registration, cancellation and eviction writes a line (20,000 when a zone fails), and
// winston's pipeline cost a registration about a third of the server's throughput where a direct line costs a sixth.

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

/** Where lines go: process.stdout, or anything with its `write`. */
export interface LineSink {
  write(chunk: string): unknown;
}

/** Log levels, most severe first. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const SEVERITY: Readonly<Record<LogLevel, number>> = { error: 0, warn: 1, info: 2, debug: 3 };
const LABEL: Readonly<Record<LogLevel, string>> = { error: 'ERROR', warn: 'WARN ', info: 'INFO ', debug: 'DEBUG' };

/** Lines pending past this many characters are written at once rather than at the end of the turn. */
export const PENDING_LIMIT = 64 * 1024;

export interface LoggerOptions {
  readonly level: string;
  /** `text` (the default) or `json`. */
  readonly format: string;
  /** Default: process.stdout. */
  readonly out?: LineSink;
  /** The wall clock lines are stamped with, ms since the epoch; default Date.now. */
  readonly now?: () => number;
}

/**
 * A logger writing one line per call at `level` and above. Lines logged in one turn of the event loop are written
 * together at its end (one write instead of one per line; 64 KB at most pending); an error line, and whatever is
 * pending when the process exits, at once. A sink that fails (stdout's reader gone: EPIPE) stops the writing, never the
 * server.
 */
export function createLogger(options: LoggerOptions): Logger {
  const threshold = SEVERITY[options.level as LogLevel] ?? SEVERITY.info;
  const out = options.out ?? process.stdout;
  const now = options.now ?? Date.now;
  const format = options.format === 'json' ? jsonLine : textLine;
  const writer = writerFor(out);
  const line =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      writer.add(format(new Date(now()).toISOString(), level, message, fields), level === 'error');
    };
  const skip = (): void => undefined;
  const at = (level: LogLevel): ((message: string, fields?: LogFields) => void) => (SEVERITY[level] <= threshold ? line(level) : skip);
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), debugEnabled: SEVERITY.debug <= threshold };
}

/** A logger that writes nothing (tests). */
export const silentLogger: Logger = { error() {}, warn() {}, info() {}, debug() {}, debugEnabled: false };

/** `2026-12-03T12:55:58.136Z INFO  registered app=A id="x y" replication=false`: values with blanks or not strings as JSON. */
function textLine(time: string, level: LogLevel, message: string, fields: LogFields | undefined): string {
  let line = `${time} ${LABEL[level]} ${message}`;
  if (fields !== undefined) {
    for (const key in fields) {
      const value = loggable(fields[key]);
      line += ` ${key}=${typeof value === 'string' && !/\s/.test(value) ? value : stringify(value)}`;
    }
  }
  return line + '\n';
}

const RESERVED = new Set(['timestamp', 'level', 'message']);

/** `{"timestamp":…,"level":"info","message":"registered","app":"A",…}`; a field named like one of the first three gets a leading `_`. */
function jsonLine(time: string, level: LogLevel, message: string, fields: LogFields | undefined): string {
  const line: Record<string, unknown> = { timestamp: time, level, message };
  if (fields !== undefined) for (const key in fields) line[RESERVED.has(key) ? `_${key}` : key] = loggable(fields[key]);
  try {
    return JSON.stringify(line) + '\n';
  } catch {
    // A field JSON cannot hold (a cycle, a bigint) is written as its String(), the others as they are.
    for (const key in line) line[key] = jsonSafe(line[key]);
    return JSON.stringify(line) + '\n';
  }
}

// The value, or for what JSON cannot hold (a cycle, a bigint) its String(): a log call never throws.
function jsonSafe(value: unknown): unknown {
  try {
    JSON.stringify(value);
    return value;
  } catch {
    return String(value);
  }
}

// An Error as its stack (JSON would write `{}`), anything else as it is.
function loggable(value: unknown): unknown {
  return value instanceof Error ? (value.stack ?? `${value.name}: ${value.message}`) : value;
}

// A value as JSON (undefined as `undefined`).
function stringify(value: unknown): string {
  return JSON.stringify(jsonSafe(value)) ?? String(value);
}

/** Lines pending for one sink, written at the end of the turn. */
interface Writer {
  add(line: string, now: boolean): void;
  flush(): void;
}

// One writer per sink, so that loggers sharing stdout keep their lines in order.
const writers = new WeakMap<LineSink, Writer>();
// Writers holding lines, written out if the process exits before the end of the turn (one hook for all of them).
const holding = new Set<Writer>();
let exitHooked = false;

function writerFor(out: LineSink): Writer {
  let writer = writers.get(out);
  if (writer === undefined) writers.set(out, (writer = pendingWriter(out)));
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => {
      for (const w of holding) w.flush();
    });
  }
  return writer;
}

function pendingWriter(out: LineSink): Writer {
  let pending = '';
  let broken = false;
  const writer: Writer = {
    add(line, now) {
      if (broken) return;
      pending += line;
      if (now || pending.length >= PENDING_LIMIT) writer.flush();
      else if (!holding.has(writer)) {
        holding.add(writer);
        setImmediate(writer.flush).unref();
      }
    },
    flush() {
      holding.delete(writer);
      if (pending === '' || broken) return;
      const chunk = pending;
      pending = '';
      try {
        out.write(chunk);
      } catch {
        broken = true;
      }
    },
  };
  // A stream reports a failed write as an 'error' event (EPIPE once stdout's reader is gone); unheard, it would end
  // the process.
  const stream = out as Partial<NodeJS.EventEmitter>;
  if (typeof stream.on === 'function') {
    stream.on('error', () => {
      broken = true;
      pending = '';
    });
  }
  return writer;
}
