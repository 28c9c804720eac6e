#!/usr/bin/env node
// `zone-registry-admin`: the operators' command line against a running server (ours or any Eureka server for the
// registry commands). Human tables by default, --json for scripts. Exit codes: 0 done, 1 failed (message on stderr),
// 2 bad command line.
import { parseArgs } from 'node:util';
import { AdminApplication, AdminClient, AdminError, AdminInstance, AdminInstanceHealth, DEFAULT_SERVER, parseServer, SERVER_ENV, UsageError } from './client';
import { ago, clean, duration, table } from './format';

/** Where the CLI writes; tests capture it. */
export interface AdminIo {
  out(text: string): void;
  err(text: string): void;
  /** Wall clock for "ago" columns; default Date.now. */
  now?(): number;
  /** Environment (ZONE_REGISTRY_URL); default: none. */
  env?: Readonly<Record<string, string | undefined>>;
}

const processIo: AdminIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
};

export const USAGE = `Usage: zone-registry-admin [--server URL] [--json] [--timeout MS] COMMAND

Commands:
  apps                               applications with instance counts by status and zone
  instances APP                      the instances of APP: address, status, override, zone, lease, and
                                     on a zone-registry server their health check
  status APP ID OUT_OF_SERVICE|UP    set an operator status override (PUT …/status?value=)
  status APP ID UP --remove-override remove the override instead (DELETE …/status): the instance's
                                     own status counts again from its next heartbeat
  deregister APP ID                  remove an instance now (DELETE …/APP/ID); a client that still runs
                                     registers it again at its next heartbeat
  metadata APP ID KEY=VALUE...       set metadata entries (PUT …/metadata?KEY=VALUE); the others stay
  peers                              the server's peers: zone, health, whether its probes reach them
                                     (ready, round trip, last seen) and replication to them
  health [--strict]                  liveness, readiness, registry, self-preservation and leases held
                                     past expiry, peers; exit 1 unless ready, and with --strict also
                                     while self-preservation holds leases or a peer is failing

Options:
  --server URL     the server's Eureka URL (default: $${SERVER_ENV}, else ${DEFAULT_SERVER});
                   http://user:password@host:port/eureka/ sends Basic auth
  --json           print JSON instead of tables (default: tables)
  --timeout MS     per-request timeout (default 10000)
  --strict         health only: also fail on self-preservation or a failing peer (default: off)
  -h, --help       this help
`;

const OVERRIDE_STATUSES = ['OUT_OF_SERVICE', 'UP'];
const STATUS_ORDER = ['UP', 'DOWN', 'OUT_OF_SERVICE', 'STARTING', 'UNKNOWN'];

interface Context {
  readonly client: AdminClient;
  readonly json: boolean;
  readonly io: AdminIo;
  readonly now: number;
}

/** Runs one command line; resolves to the exit code. Never throws. */
export async function runAdmin(argv: readonly string[], io: AdminIo = processIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        server: { type: 'string', short: 's' },
        json: { type: 'boolean' },
        timeout: { type: 'string' },
        'remove-override': { type: 'boolean' },
        strict: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    return usage(io, (e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const [command, ...args] = positionals;
  if (!command) return usage(io, 'a command is needed');
  try {
    const timeout = values.timeout === undefined ? 10_000 : Number(values.timeout);
    if (!Number.isInteger(timeout) || timeout <= 0) throw new UsageError(`--timeout must be a positive number of milliseconds, got "${values.timeout}"`);
    const fromEnv = io.env?.[SERVER_ENV];
    const server = values.server ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_SERVER);
    const ctx: Context = { client: new AdminClient(parseServer(server), timeout), json: values.json ?? false, io, now: io.now?.() ?? Date.now() };
    const removeOverride = values['remove-override'] ?? false;
    if (removeOverride && command !== 'status') throw new UsageError('--remove-override belongs to the status command');
    const strict = values.strict ?? false;
    if (strict && command !== 'health') throw new UsageError('--strict belongs to the health command');
    switch (command) {
      case 'apps':
        arity(command, args, 0);
        return await apps(ctx);
      case 'instances':
        arity(command, args, 1, 'APP');
        return await instances(ctx, args[0]);
      case 'status':
        arity(command, args, 3, 'APP ID OUT_OF_SERVICE|UP');
        return await status(ctx, args[0], args[1], args[2], removeOverride);
      case 'deregister':
        arity(command, args, 2, 'APP ID');
        return await deregister(ctx, args[0], args[1]);
      case 'metadata':
        if (args.length < 3) throw new UsageError('metadata needs APP ID KEY=VALUE...');
        return await metadata(ctx, args[0], args[1], args.slice(2));
      case 'peers':
        arity(command, args, 0);
        return await peers(ctx);
      case 'health':
        arity(command, args, 0);
        return await health(ctx, strict);
      default:
        throw new UsageError(`unknown command "${clean(command)}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) return usage(io, e.message);
    if (e instanceof AdminError) {
      io.err(`zone-registry-admin: ${clean(e.message)}\n`);
      return 1;
    }
    io.err(`zone-registry-admin: unexpected error: ${clean(e instanceof Error ? e.stack ?? e.message : String(e))}\n`);
    return 1;
  }
}

function usage(io: AdminIo, message: string): number {
  io.err(`zone-registry-admin: ${clean(message)}\n\n${USAGE}`);
  return 2;
}

function arity(command: string, args: readonly string[], n: number, names = ''): void {
  if (args.length !== n) throw new UsageError(n === 0 ? `${command} takes no arguments` : `${command} needs ${names}`);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function printJson(ctx: Context, value: unknown): void {
  ctx.io.out(JSON.stringify(value, null, 2) + '\n');
}

function countBy(instances: readonly AdminInstance[], key: (i: AdminInstance) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of instances) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}

function formatCounts(counts: Record<string, number>): string {
  return Object.keys(counts)
    .sort()
    .map((k) => `${k}: ${counts[k]}`)
    .join(', ');
}

// ---------------------------------------------------------------------------------------------------------------

async function apps(ctx: Context): Promise<number> {
  const list = await ctx.client.applications();
  const rows = list.map((a) => ({
    name: a.name,
    instances: a.instances.length,
    statusCounts: countBy(a.instances, (i) => i.status),
    zones: countBy(a.instances, (i) => i.zone ?? '(none)'),
  }));
  if (ctx.json) {
    printJson(ctx, rows);
    return 0;
  }
  if (rows.length === 0) {
    ctx.io.out('No applications are registered.\n');
    return 0;
  }
  ctx.io.out(
    table(
      [{ header: 'APPLICATION' }, { header: 'INSTANCES', right: true }, ...STATUS_ORDER.map((s) => ({ header: s, right: true })), { header: 'ZONES' }],
      rows.map((r) => [r.name, r.instances, ...STATUS_ORDER.map((s) => r.statusCounts[s] ?? 0), formatCounts(r.zones)]),
    ),
  );
  return 0;
}

/** An instance's health check in a few words: its verdict here, the last probe, or why it is not probed. */
export function healthText(h: AdminInstanceHealth | undefined): string {
  if (h === undefined) return '-';
  const c = h.check;
  if (c === null) return h.statusSource === 'health' ? 'DOWN (verdict of the server its client talks to)' : '-';
  if (c.mode === 'off' || c.mode === 'refused') return `${c.mode}: ${c.target}`;
  if (c.lastOutcome === undefined) return `${c.mode}: not probed yet`;
  const failing = c.consecutiveFailures > 0 ? `, ${c.consecutiveFailures} failed in a row` : '';
  if (c.verdictDown) return `DOWN (${c.lastDetail}${failing})`;
  return `${failing ? 'failing' : 'passing'} (${c.lastDetail}${failing})`;
}

function instanceRows(app: AdminApplication, now: number, health: Map<string, AdminInstanceHealth> | undefined): unknown[][] {
  return app.instances.map((i) => [
    i.id,
    i.hostName,
    `${i.ipAddr}${i.port !== null ? `:${i.port}` : ''}${i.securePort !== null ? ` (secure :${i.securePort})` : ''}`,
    i.status,
    i.overriddenStatus !== 'UNKNOWN' ? i.overriddenStatus : '-',
    i.zone ?? '-',
    ago(i.lastRenewalTimestamp, now),
    i.leaseExpiresAt === null ? '-' : i.leaseExpiresAt >= now ? duration(i.leaseExpiresAt - now) : `expired ${duration(now - i.leaseExpiresAt)} ago`,
    health === undefined ? '-' : healthText(health.get(i.id)),
  ]);
}

async function instances(ctx: Context, name: string): Promise<number> {
  const fetched = await ctx.client.application(name);
  // Only a zone-registry server knows; from any other the column stays empty.
  const health = await ctx.client.instanceHealth(fetched.name);
  // Its live lease times where it says them: the application document is cached per change, so the renewal time in
  // it can be older than the last heartbeat (an instance shown "expired" while it heartbeats).
  const app = health === undefined ? fetched : { ...fetched, instances: fetched.instances.map((i) => {
    const live = health.get(i.id);
    return live?.lastRenewalTimestamp === undefined ? i : { ...i, lastRenewalTimestamp: live.lastRenewalTimestamp, leaseExpiresAt: live.leaseExpiresAt ?? i.leaseExpiresAt };
  }) };
  if (ctx.json) {
    printJson(ctx, health === undefined ? app.instances : app.instances.map((i) => ({ ...i, statusSource: health.get(i.id)?.statusSource ?? null, healthCheck: health.get(i.id)?.check ?? null })));
    return 0;
  }
  ctx.io.out(`${clean(app.name)}: ${plural(app.instances.length, 'instance')}\n`);
  ctx.io.out(
    table(
      [{ header: 'INSTANCE' }, { header: 'HOST' }, { header: 'ADDRESS' }, { header: 'STATUS' }, { header: 'OVERRIDE' }, { header: 'ZONE' }, { header: 'LAST RENEWAL' }, { header: 'LEASE LEFT', right: true }, { header: 'HEALTH CHECK' }],
      instanceRows(app, ctx.now, health),
    ),
  );
  return 0;
}

async function status(ctx: Context, appName: string, id: string, rawStatus: string, removeOverride: boolean): Promise<number> {
  const value = rawStatus.toUpperCase();
  if (!OVERRIDE_STATUSES.includes(value)) throw new UsageError(`status must be OUT_OF_SERVICE or UP, got "${rawStatus}"`);
  if (removeOverride && value !== 'UP') throw new UsageError('--remove-override goes with UP: it hands the status back to the instance');
  const app = appName.toUpperCase();
  if (removeOverride) await ctx.client.removeOverride(app, id);
  else await ctx.client.setStatus(app, id, value);
  // Read it back so the operator sees what clients will see. The change is done even if this read fails.
  let after: AdminInstance | undefined;
  try {
    after = (await ctx.client.application(app)).instances.find((i) => i.id === id);
  } catch {
    after = undefined;
  }
  const action = removeOverride ? 'override-removed' : 'override-set';
  if (ctx.json) {
    printJson(ctx, { app, id, action, requested: value, status: after?.status ?? null, overriddenStatus: after?.overriddenStatus ?? null });
    return 0;
  }
  const now = after ? ` Now: status ${after.status}, override ${after.overriddenStatus === 'UNKNOWN' ? 'none' : after.overriddenStatus}.` : '';
  if (removeOverride) {
    ctx.io.out(`${clean(app)}/${clean(id)}: override removed; the instance's own status counts again from its next heartbeat.${clean(now)}\n`);
  } else {
    ctx.io.out(`${clean(app)}/${clean(id)}: status override ${value} set.${clean(now)}\n`);
    if (value === 'UP') ctx.io.out('UP is now an operator override too; to hand the status back to the instance: status APP ID UP --remove-override\n');
  }
  return 0;
}

async function deregister(ctx: Context, appName: string, id: string): Promise<number> {
  const app = appName.toUpperCase();
  await ctx.client.deregister(app, id);
  if (ctx.json) printJson(ctx, { app, id, action: 'deregistered' });
  else ctx.io.out(`${clean(app)}/${clean(id)}: deregistered. If its client still runs, it registers again at its next heartbeat; stop the client (or set OUT_OF_SERVICE) to keep it out.\n`);
  return 0;
}

async function metadata(ctx: Context, appName: string, id: string, pairs: readonly string[]): Promise<number> {
  const entries = pairs.map((pair): [string, string] => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`metadata entries are KEY=VALUE, got "${pair}"`);
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  });
  const app = appName.toUpperCase();
  await ctx.client.updateMetadata(app, id, entries);
  // Read it back so the operator sees what clients will see. The change is done even if this read fails.
  let after: AdminInstance | undefined;
  try {
    after = (await ctx.client.application(app)).instances.find((i) => i.id === id);
  } catch {
    after = undefined;
  }
  if (ctx.json) {
    printJson(ctx, { app, id, action: 'metadata-set', set: Object.fromEntries(entries), metadata: after?.metadata ?? null });
    return 0;
  }
  const now = after ? ` Now: ${Object.entries(after.metadata).map(([k, v]) => `${k}=${v}`).join(', ') || 'no metadata'}.` : '';
  ctx.io.out(`${clean(app)}/${clean(id)}: metadata ${entries.map(([k, v]) => `${k}=${v}`).join(', ')} set.${clean(now)}\n`);
  return 0;
}

type PeerHealthWord = 'healthy' | 'failing' | 'not-ready' | 'idle';
const PEER_HEALTH_WORDS: readonly string[] = ['healthy', 'failing', 'not-ready', 'idle'];

interface PeerRow {
  url: string;
  zone: string | null;
  health: PeerHealthWord;
  /** Whether the server's last probe of it was answered, and ready (2xx) or not (503); null: not probed, or unknown. */
  reachable: boolean | null;
  ready: boolean | null;
  lastSeenAt: number | null;
  rttMs: number | null;
  queueDepth: number;
  batchesSent: number;
  batchFailures: number;
  consecutiveFailures: number;
  lastSuccessAt: number;
  lastLagMs: number;
  changesLost: number;
  heartbeatsDropped: number;
  lastError: string;
  lastFailureAt: number;
  /** The server's own words for the verdict (`healthSummary` in /eureka/status). */
  healthSummary: string;
}

function peerRows(status: Record<string, unknown>): PeerRow[] {
  if (!Array.isArray(status.peers)) throw new AdminError('the server does not report its peers in /eureka/status (is it a zone-registry server?)');
  return status.peers.map((raw: unknown) => {
    const p = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const n = (k: string): number => (typeof p[k] === 'number' ? (p[k] as number) : 0);
    const consecutiveFailures = n('consecutiveFailures');
    const batchesSent = n('batchesSent');
    // The server's verdict (the rule its dashboard shows); a server from before it said one: judged by its batches.
    const told = typeof p.health === 'string' && PEER_HEALTH_WORDS.includes(p.health) ? (p.health as PeerHealthWord) : undefined;
    const bool = (k: string): boolean | null => (typeof p[k] === 'boolean' ? (p[k] as boolean) : null);
    const num = (k: string): number | null => (typeof p[k] === 'number' ? (p[k] as number) : null);
    return {
      url: String(p.url ?? ''),
      zone: typeof p.zone === 'string' ? p.zone : null,
      health: told ?? (consecutiveFailures > 0 ? 'failing' : batchesSent === 0 ? 'idle' : 'healthy'),
      reachable: bool('reachable'),
      ready: bool('ready'),
      lastSeenAt: num('lastSeenAt'),
      rttMs: num('rttMs'),
      healthSummary: String(p.healthSummary ?? ''),
      queueDepth: n('queueDepth'),
      batchesSent,
      batchFailures: n('batchFailures'),
      consecutiveFailures,
      lastSuccessAt: n('lastSuccessAt'),
      lastLagMs: n('lastLagMs'),
      changesLost: n('changesLost'),
      heartbeatsDropped: n('heartbeatsDropped'),
      lastError: String(p.lastError ?? ''),
      lastFailureAt: n('lastFailureAt'),
    };
  });
}

/** What the server's probes say of a peer, in a word or two. */
function probeText(p: PeerRow): string {
  if (p.reachable === null) return '-';
  if (!p.reachable) return 'unreachable';
  return p.ready === true ? 'ready' : p.ready === false ? 'not ready' : 'reachable';
}

async function peers(ctx: Context): Promise<number> {
  const rows = peerRows(await ctx.client.serverStatus());
  if (ctx.json) {
    printJson(ctx, rows);
    return 0;
  }
  if (rows.length === 0) {
    ctx.io.out('No peers: the server runs standalone.\n');
    return 0;
  }
  ctx.io.out(
    table(
      [
        { header: 'PEER' },
        { header: 'ZONE' },
        { header: 'HEALTH' },
        { header: 'PROBE' },
        { header: 'LAST SEEN' },
        { header: 'RTT', right: true },
        { header: 'LAST BATCH' },
        { header: 'QUEUE', right: true },
        { header: 'LAG', right: true },
        { header: 'LOST CHANGES', right: true },
        { header: 'DETAIL' },
      ],
      rows.map((p) => [
        p.url,
        p.zone ?? '-',
        p.health,
        probeText(p),
        p.lastSeenAt === null ? '-' : ago(p.lastSeenAt, ctx.now),
        p.rttMs === null ? '-' : `${p.rttMs} ms`,
        ago(p.lastSuccessAt, ctx.now),
        p.queueDepth,
        // A failing peer's last lag would say it is fine.
        p.lastSuccessAt && p.health !== 'failing' ? duration(p.lastLagMs) : '-',
        p.changesLost,
        p.health !== 'healthy' && p.healthSummary ? p.healthSummary : p.lastError ? `last error: ${p.lastError} (${ago(p.lastFailureAt, ctx.now)})` : '-',
      ]),
    ),
  );
  return 0;
}

async function health(ctx: Context, strict: boolean): Promise<number> {
  const live = await ctx.client.health('health/live');
  const ready = await ctx.client.health('health/ready');
  let status: Record<string, unknown> | undefined;
  let statusError: string | undefined;
  try {
    status = await ctx.client.serverStatus();
  } catch (e) {
    if (!(e instanceof AdminError)) throw e;
    statusError = e.message;
  }
  const registry = (status?.registry ?? undefined) as { applications?: number; instances?: number; statusCounts?: Record<string, number> } | undefined;
  const sp = (status?.selfPreservation ?? undefined) as { enabled?: boolean; active?: boolean; cause?: string; since?: number; reason?: string; expectedRenewalsPerMin?: number; threshold?: number; renewalsLastMin?: number } | undefined;
  const held = (status?.heldPastExpiry ?? undefined) as { instances?: number; since?: number } | undefined;
  const hc = (status?.healthChecks ?? undefined) as { enabled?: boolean; instances?: { probed?: number; refused?: number }; markedDown?: number; valve?: { engaged?: boolean; failingFraction?: number } } | undefined;
  const peerList = status && Array.isArray(status.peers) ? peerRows(status) : [];
  const failing = peerList.filter((p) => p.health === 'failing');
  const healthyPeers = peerList.filter((p) => p.health === 'healthy').length;
  const healthy = live.code === 200 && ready.code === 200;
  // The first renewal window after a start suspends expiry by design: not a problem to report.
  const problems: string[] = [];
  if (sp?.active && sp.cause !== 'startup-window') problems.push(`self-preservation is active${held?.instances ? ` and holds ${plural(held.instances, 'instance')} past lease expiry` : ''}`);
  for (const p of failing) problems.push(`peer ${p.url} is failing: ${p.healthSummary}`);
  if (statusError && strict) problems.push(`the server status cannot be read: ${statusError}`);
  if (ctx.json) {
    printJson(ctx, {
      server: ctx.client.target.display,
      healthy,
      live,
      ready,
      zone: status?.zone ?? null,
      region: status?.region ?? null,
      registryReadsAllowed: status?.registryReadsAllowed ?? null,
      leaseExpirationEnabled: status?.leaseExpirationEnabled ?? null,
      registry: registry ?? null,
      selfPreservation: sp ?? null,
      heldPastExpiry: held ?? null,
      healthChecks: hc ?? null,
      peers: { total: peerList.length, healthy: healthyPeers, failing: failing.map((p) => p.url) },
      ...(strict && { strict: { ok: healthy && problems.length === 0, problems } }),
      ...(statusError ? { statusError } : {}),
    });
  } else {
    const lines: [string, string][] = [
      ['Server', ctx.client.target.display],
      ['Live', `${live.status} (${live.code})`],
      ['Ready', `${ready.status} (${ready.code})`],
    ];
    if (status) {
      lines.push(['Zone', `${String(status.zone ?? '?')} (region ${String(status.region ?? '?')})`]);
      if (registry) {
        const counts = Object.entries(registry.statusCounts ?? {}).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(', ');
        lines.push(['Registry', `${plural(registry.applications ?? 0, 'application')}, ${plural(registry.instances ?? 0, 'instance')}${counts ? ` (${counts})` : ''}; reads ${status.registryReadsAllowed === false ? 'REFUSED (403)' : 'allowed'}`]);
      }
      if (sp) {
        const since = sp.active && sp.since ? ` (since ${ago(sp.since, ctx.now)})` : '';
        lines.push(['Self-preservation', `${sp.enabled === false ? 'off' : sp.active ? 'ACTIVE' : 'inactive'}${since}: ${sp.reason ?? ''}`]);
        lines.push(['Renewals', `${sp.renewalsLastMin ?? '?'} last minute, threshold ${sp.threshold ?? '?'}, expected ${sp.expectedRenewalsPerMin ?? '?'} / min`]);
      }
      if (held && (held.instances ?? 0) > 0) {
        lines.push(['Held leases', `${plural(held.instances ?? 0, 'instance')} held past lease expiry${held.since ? ` since ${ago(held.since, ctx.now)}` : ''}: they stopped renewing but are not evicted`]);
      }
      if (hc) {
        const valve = hc.valve?.engaged ? `; SAFETY VALVE ENGAGED (${Math.round((hc.valve.failingFraction ?? 0) * 100)} % of probes failing): nothing is marked DOWN` : '';
        lines.push(['Health checks', hc.enabled ? `on: ${hc.instances?.probed ?? 0} probed, ${hc.markedDown ?? 0} held DOWN, ${hc.instances?.refused ?? 0} refused${valve}` : 'off']);
      }
      const others = (word: PeerHealthWord, label: string): string => {
        const list = peerList.filter((p) => p.health === word);
        return list.length ? `; ${label}: ${list.map((p) => (word === 'failing' ? `${p.url} (${p.healthSummary})` : p.url)).join(', ')}` : '';
      };
      lines.push(['Peers', peerList.length === 0 ? 'none (standalone)' : `${healthyPeers} of ${peerList.length} healthy${others('failing', 'failing')}${others('not-ready', 'not ready')}${others('idle', 'idle')}`]);
    } else if (statusError) {
      lines.push(['Status', `unavailable: ${statusError}`]);
    }
    const width = Math.max(...lines.map(([k]) => k.length));
    ctx.io.out(lines.map(([k, v]) => `${k.padEnd(width)}  ${clean(v)}`).join('\n') + '\n');
  }
  if (!healthy) ctx.io.err(`zone-registry-admin: ${live.code !== 200 ? `not live (${clean(live.status)})` : `not ready (${clean(ready.status)})`}\n`);
  if (strict) for (const problem of problems) ctx.io.err(`zone-registry-admin: strict: ${clean(problem)}\n`);
  return healthy && !(strict && problems.length > 0) ? 0 : 1;
}

if (require.main === module) {
  void runAdmin(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
