#!/usr/bin/env node
// `zone-registry-sidecar …` (also `zone-registry sidecar …`): the sidecar as a command. Parses flags, starts the
// sidecar, deregisters on SIGTERM/SIGINT/SIGHUP, when its parent process exits (npx, npm exec) and on a crash of the
// sidecar itself, then exits.
import { ClientLogLevel, consoleClientLogger } from './logger';
import { ServersConfigError } from './servers';
import { installShutdownHooks, watchParent } from './shutdown';
import { SidecarOptions, startSidecar } from './sidecar';

/** Thrown for bad command-line arguments (exit code 2). */
export class SidecarUsageError extends Error {}

/** --help was asked for: the usage goes to stdout and the exit code is 0. */
export class SidecarHelpRequested extends SidecarUsageError {
  constructor() {
    super(SIDECAR_USAGE);
  }
}

/** The command's help text: every flag with its default. */
export const SIDECAR_USAGE = `Usage: zone-registry-sidecar --app NAME --port PORT --health-url URL (--server URL ... | --config FILE) [options]
       zone-registry sidecar ...   (the same)

Registers the application with the Eureka servers, heartbeats for it, marks it DOWN while its health URL does not
answer 2xx and UP again when it does, and deregisters it on SIGTERM, SIGINT or SIGHUP, and when its parent process
exits (npx and npm exec do not pass SIGTERM on to it).

Required:
  --app NAME                       application name to register
  --port PORT                      port the application serves on
  --health-url URL                 the application's health URL (http or https); 2xx means healthy
  --server URL                     a Eureka server's base URL, e.g. http://host:8761/eureka/ (repeatable)
  --config FILE                    or: a zones file, whose servers are used (own zone first with --zone)

Options:
  --zone ZONE                      own zone (default: none)
  --host-name NAME                 host name to register (default: this machine's host name)
  --ip-addr IP                     address to register (default: the first non-internal IPv4, else 127.0.0.1)
  --vip-address NAME               VIP address (default: the app name in lower case)
  --secure-vip-address NAME        secure VIP address (default: none)
  --instance-id ID                 instance id (default: HOST-NAME:APP:PORT)
  --metadata KEY=VALUE             a metadata entry, repeatable (default: none)
  --health-interval-ms MS          time between two health checks (default 5000)
  --health-timeout-ms MS           timeout of a health check (default: 3000, or the interval if shorter)
  --unhealthy-threshold N          failed checks in a row before DOWN (default 1)
  --lease-renewal-interval-secs S  heartbeat interval promised to the servers (default 30)
  --lease-duration-secs S          lease duration (default 90)
  --log-level LEVEL                error, warn, info or debug (default info)
  -h, --help                       this help`;

/** Flags that take a value. */
export const SIDECAR_VALUE_FLAGS: ReadonlySet<string> = new Set([
  'app', 'port', 'health-url', 'server', 'config', 'zone', 'host-name', 'ip-addr', 'vip-address', 'secure-vip-address', 'instance-id',
  'metadata', 'health-interval-ms', 'health-timeout-ms', 'unhealthy-threshold', 'lease-renewal-interval-secs', 'lease-duration-secs', 'log-level',
]);
const REPEATABLE = new Set(['server', 'metadata']);

/** Parsed command line: the sidecar's options and the log level. */
export interface SidecarCommand {
  /** Options for startSidecar. */
  readonly options: SidecarOptions;
  /** Console log level (`--log-level`, default info). */
  readonly logLevel: ClientLogLevel;
}

function integer(flag: string, value: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new SidecarUsageError(`--${flag} must be a whole number from ${min} to ${max}, not "${value}"`);
  return n;
}

/** Parses `sidecar` arguments (after the word `sidecar`); throws {@link SidecarUsageError}. */
export function parseSidecarArgs(argv: readonly string[]): SidecarCommand {
  const single = new Map<string, string>();
  const lists = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') throw new SidecarHelpRequested();
    if (!arg.startsWith('--')) throw new SidecarUsageError(`Unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const flag = arg.slice(2, eq < 0 ? undefined : eq);
    if (!SIDECAR_VALUE_FLAGS.has(flag)) throw new SidecarUsageError(`Unknown flag --${flag}`);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new SidecarUsageError(`Flag --${flag} needs a value`);
    if (REPEATABLE.has(flag)) lists.set(flag, [...(lists.get(flag) ?? []), value]);
    else if (single.has(flag)) throw new SidecarUsageError(`Flag --${flag} is given twice`);
    else single.set(flag, value);
  }
  const required = (flag: string): string => {
    const v = single.get(flag);
    if (v === undefined || v === '') throw new SidecarUsageError(`--${flag} is required`);
    return v;
  };
  const app = required('app');
  const port = integer('port', required('port'), 1, 65535);
  const servers = lists.get('server') ?? [];
  const config = single.get('config');
  if (servers.length > 0 && config !== undefined) throw new SidecarUsageError('Give either --server or --config, not both');
  if (servers.length === 0 && config === undefined) throw new SidecarUsageError('Give the Eureka servers with --server URL (repeatable) or --config zones.json');
  for (const s of servers) if (!/^https?:\/\/[^/]+/.test(s)) throw new SidecarUsageError(`--server must be a URL like http://host:8761/eureka/, not "${s}"`);
  const healthUrl = required('health-url');
  if (!/^https?:\/\/[^/]+/.test(healthUrl)) throw new SidecarUsageError(`--health-url must be an http(s) URL, not "${healthUrl}"`);
  const metadata: Record<string, string> = {};
  for (const entry of lists.get('metadata') ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new SidecarUsageError(`--metadata must be key=value, not "${entry}"`);
    metadata[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  const logLevel = (single.get('log-level') ?? 'info') as ClientLogLevel;
  if (!['error', 'warn', 'info', 'debug'].includes(logLevel)) throw new SidecarUsageError(`--log-level must be error, warn, info or debug, not "${logLevel}"`);
  const opt = (flag: string, min: number, max: number): number | undefined => {
    const v = single.get(flag);
    return v === undefined ? undefined : integer(flag, v, min, max);
  };
  const options: SidecarOptions = {
    app,
    port,
    healthUrl,
    servers: config ?? servers,
    zone: single.get('zone'),
    hostName: single.get('host-name'),
    ipAddr: single.get('ip-addr'),
    vipAddress: single.get('vip-address'),
    secureVipAddress: single.get('secure-vip-address'),
    instanceId: single.get('instance-id'),
    metadata,
    healthIntervalMs: opt('health-interval-ms', 10, 3_600_000),
    healthTimeoutMs: opt('health-timeout-ms', 10, 600_000),
    unhealthyThreshold: opt('unhealthy-threshold', 1, 1000),
    leaseRenewalIntervalSecs: opt('lease-renewal-interval-secs', 1, 3600),
    leaseDurationSecs: opt('lease-duration-secs', 1, 86400),
    keepProcessAlive: true,
  };
  return { options, logLevel };
}

/**
 * Runs the sidecar command until a signal: exit code 0 after deregistering, 2 for bad arguments, 1 when it
 * cannot start.
 */
export async function runSidecarCli(argv: readonly string[]): Promise<void> {
  let command: SidecarCommand;
  try {
    command = parseSidecarArgs(argv);
  } catch (e) {
    if (e instanceof SidecarUsageError) {
      const help = e instanceof SidecarHelpRequested;
      (help ? process.stdout : process.stderr).write(help ? `${SIDECAR_USAGE}\n` : `zone-registry sidecar: ${e.message}\n\n${SIDECAR_USAGE}\n`);
      process.exit(help ? 0 : 2);
    }
    throw e;
  }
  const logger = consoleClientLogger(command.logLevel, 'sidecar');
  let sidecar;
  try {
    sidecar = await startSidecar({ ...command.options, logger });
  } catch (e) {
    process.stderr.write(`zone-registry sidecar: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(e instanceof TypeError || e instanceof ServersConfigError ? 2 : 1);
  }
  const running = sidecar;
  installShutdownHooks(running, {
    signals: ['SIGTERM', 'SIGINT', 'SIGHUP'],
    onStopped: (signal, error) => {
      if (error) logger.error('deregistration failed', { signal, error: error instanceof Error ? error.message : String(error) });
      process.exit(0);
    },
  });
  // Under npx / npm exec a SIGTERM to npm ends the shell between them and leaves this process orphaned: its
  // parent's exit is the signal then, handled like one.
  watchParent((parentPid) => {
    logger.warn('parent process exited: deregistering', { parentPid });
    process.kill(process.pid, 'SIGTERM');
  });
  const crash = (e: unknown): void => {
    logger.error('sidecar crashed, deregistering', { error: e instanceof Error ? e.stack : String(e) });
    const timer = setTimeout(() => process.exit(1), 5000);
    running.stop().finally(() => {
      clearTimeout(timer);
      process.exit(1);
    });
  };
  process.once('uncaughtException', crash);
  process.once('unhandledRejection', crash);
}

if (require.main === module) {
  runSidecarCli(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`zone-registry-sidecar: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
