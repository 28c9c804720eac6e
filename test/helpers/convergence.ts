// Whether the zone servers of a region hold the same registry: what peers must agree on per instance (that it
// exists, its status and override, its metadata and registration fields; never lease times), read from each
// server's GET /eureka/apps, compared field by field, awaited with a deadline that reports what still differs.
// Also the anti-entropy settings every convergence test starts its servers with, switched on in one place.
import { Cluster, EurekaHttp, ListedInstance } from './cluster';

/**
 * Whether servers have anti-entropy (the settings below exist). Until they do, the convergence tests run without
 * the flags and are expected to fail; switch this on and they must pass.
 */
export const ANTI_ENTROPY_ENABLED = true;

/** Anti-entropy round period the convergence tests run with, ms. */
export const ANTI_ENTROPY_INTERVAL_MS = 500;

/** Random share of the period added to or taken from each round (0..1). */
export const ANTI_ENTROPY_JITTER_FRACTION = 0.1;

/** How long a cancel or an override removal is remembered, ms: longer than any test's faults and convergence. */
export const TOMBSTONE_LIFETIME_MS = 60_000;

/** The flags that give a server anti-entropy, or none while it has none (see ANTI_ENTROPY_ENABLED). */
export const ANTI_ENTROPY_FLAGS: readonly string[] = ANTI_ENTROPY_ENABLED
  ? [
      '--anti-entropy-interval-ms', String(ANTI_ENTROPY_INTERVAL_MS),
      '--anti-entropy-jitter-fraction', String(ANTI_ENTROPY_JITTER_FRACTION),
      '--tombstone-lifetime-ms', String(TOMBSTONE_LIFETIME_MS),
    ]
  : [];

/** The longest `rounds` anti-entropy rounds take, their jitter included, ms. */
export const antiEntropyRoundsMs = (rounds: number): number => Math.ceil(rounds * ANTI_ENTROPY_INTERVAL_MS * (1 + ANTI_ENTROPY_JITTER_FRACTION));

/** Server names in reports: A, B, C… by index. */
export const serverName = (i: number): string => String.fromCharCode(65 + i);

// Lease and bookkeeping times: each server keeps its own, peers need not agree on them.
const NOT_AGREED = new Set([
  'leaseInfo.registrationTimestamp',
  'leaseInfo.lastRenewalTimestamp',
  'leaseInfo.evictionTimestamp',
  'leaseInfo.serviceUpTimestamp',
  'lastUpdatedTimestamp',
  'lastDirtyTimestamp',
  'actionType',
]);
const EMPTY_MAP_CLASS = 'java.util.Collections$EmptyMap';

/** An instance as the fields peers must agree on, flattened to dotted paths (`status`, `metadata.k`, `port.$`). */
export type AgreedFields = ReadonlyMap<string, string>;

/** The fields of a listed instance that peers must agree on. */
export function agreedFields(instance: ListedInstance): AgreedFields {
  const out = new Map<string, string>();
  const walk = (value: unknown, path: string): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>);
      // An instance without metadata is written as Jackson's empty map marker.
      if (path === 'metadata' && entries.length === 1 && entries[0][0] === '@class' && entries[0][1] === EMPTY_MAP_CLASS) return;
      for (const [key, v] of entries) walk(v, path ? `${path}.${key}` : key);
      return;
    }
    if (!NOT_AGREED.has(path)) out.set(path, JSON.stringify(value));
  };
  walk(instance, '');
  return out;
}

/** One server's registry as peers must agree on it, or why it could not be read. */
export interface ServerRegistry {
  /** A, B, C… */
  readonly server: string;
  /** HTTP status of GET /eureka/apps (anything but 200 is a divergence in itself), or the network error. */
  readonly status: number | string;
  /** `APP/id` → agreed fields. */
  readonly instances: ReadonlyMap<string, AgreedFields>;
}

/** Reads GET /eureka/apps (JSON) from each server of `servers` (default: all of the cluster's). */
export async function readRegistries(cluster: Cluster, servers: readonly number[] = cluster.ports.map((_, i) => i)): Promise<ServerRegistry[]> {
  return Promise.all(servers.map((i) => readRegistry(cluster.client(i), serverName(i))));
}

async function readRegistry(client: EurekaHttp, server: string): Promise<ServerRegistry> {
  try {
    const snapshot = await client.apps();
    const instances = new Map(snapshot.instances.map((i) => [`${i.app}/${i.instanceId}`, agreedFields(i)] as const));
    return { server, status: snapshot.status, instances };
  } catch (e) {
    return { server, status: e instanceof Error ? e.message : String(e), instances: new Map() };
  }
}

/** One difference between servers: an instance some hold and others not, or one field of an instance. */
export interface Divergence {
  /** `APP/id`, or `(registry)` when a server could not be read. */
  readonly instance: string;
  /** `(exists)`, `(registry)` or the field's dotted path. */
  readonly field: string;
  /** Server → what it holds (`(absent)` when it lacks the instance or the field). */
  readonly values: ReadonlyMap<string, string>;
}

const ABSENT = '(absent)';

/** Every way the registries differ (empty when they are identical on what peers must agree on). */
export function divergences(registries: readonly ServerRegistry[]): Divergence[] {
  const out: Divergence[] = [];
  for (const r of registries) {
    if (r.status !== 200) out.push({ instance: '(registry)', field: '(registry)', values: new Map([[r.server, `GET /eureka/apps: ${r.status}`]]) });
  }
  const keys = [...new Set(registries.flatMap((r) => [...r.instances.keys()]))].sort();
  for (const key of keys) {
    const copies = registries.map((r) => [r.server, r.instances.get(key)] as const);
    if (copies.some(([, c]) => c === undefined)) {
      out.push({ instance: key, field: '(exists)', values: new Map(copies.map(([s, c]) => [s, c === undefined ? ABSENT : 'present'])) });
      continue;
    }
    const fields = [...new Set(copies.flatMap(([, c]) => [...c!.keys()]))].sort();
    for (const field of fields) {
      const values = new Map(copies.map(([s, c]) => [s, c!.get(field) ?? ABSENT]));
      if (new Set(values.values()).size > 1) out.push({ instance: key, field, values });
    }
  }
  return out;
}

/** A count of diverging instances and of differences per field kind, e.g. "4 instances: (exists) 2, metadata 1, status 1". */
export function summarise(found: readonly Divergence[]): string {
  const instances = new Set(found.filter((d) => d.instance !== '(registry)').map((d) => d.instance));
  const kinds = new Map<string, Set<string>>();
  for (const d of found) {
    const kind = d.field.startsWith('metadata.') ? 'metadata' : d.field;
    kinds.set(kind, (kinds.get(kind) ?? new Set()).add(d.instance));
  }
  const perKind = [...kinds].map(([kind, of]) => `${kind} ${of.size}`).join(', ');
  return `${instances.size} instance(s) diverge${perKind ? `: ${perKind}` : ''}`;
}

/** The divergences as lines, one per instance and field, at most `maxLines` of them. */
export function describeDivergences(found: readonly Divergence[], maxLines = 80): string {
  const lines = found.map((d) => `  ${d.instance} ${d.field}: ${[...d.values].map(([s, v]) => `${s}=${v}`).join(' ')}`);
  return (lines.length > maxLines ? [...lines.slice(0, maxLines), `  … and ${lines.length - maxLines} more`] : lines).join('\n');
}

/** A test's own expectation of the converged registries: the problems with them (empty when met). */
export type Expectation = (registries: readonly ServerRegistry[]) => string[];

/** Expects `check` to hold for instance `key` on every server; `check` returns what is wrong, or undefined. */
export function onEveryServer(key: string, what: string, check: (fields: AgreedFields | undefined) => string | undefined): Expectation {
  return (registries) =>
    registries.flatMap((r) => {
      const problem = check(r.instances.get(key));
      return problem === undefined ? [] : [`${r.server}: ${key} should be ${what}, ${problem}`];
    });
}

/** A field's value, from agreed fields (JSON-encoded there); undefined when absent. */
export const fieldValue = (fields: AgreedFields | undefined, path: string): unknown => {
  const raw = fields?.get(path);
  return raw === undefined ? undefined : JSON.parse(raw);
};

/** What a convergence wait found: the last reading, its divergences and the expectation's problems. */
export interface ConvergenceReport {
  readonly converged: boolean;
  readonly registries: readonly ServerRegistry[];
  readonly divergences: readonly Divergence[];
  readonly problems: readonly string[];
  readonly waitedMs: number;
}

/**
 * Reads the registries every `intervalMs` until they are identical and `expectation` is met, or `deadlineMs`
 * passes; never throws, so the caller can decide and explain.
 */
export async function awaitConvergence(read: () => Promise<readonly ServerRegistry[]>, deadlineMs: number, expectation: Expectation = () => [], intervalMs = 100): Promise<ConvergenceReport> {
  const started = Date.now();
  for (;;) {
    const registries = await read();
    const found = divergences(registries);
    const problems = expectation(registries);
    const waitedMs = Date.now() - started;
    if ((found.length === 0 && problems.length === 0) || waitedMs > deadlineMs) {
      return { converged: found.length === 0 && problems.length === 0, registries, divergences: found, problems, waitedMs };
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The failure message of a convergence that did not happen: what differs, server by server and field by field. */
export function explain(report: ConvergenceReport, context: string): string {
  const sizes = report.registries.map((r) => `${r.server} ${r.instances.size}`).join(', ');
  return [
    `${context}: not converged after ${report.waitedMs} ms (instances held: ${sizes}); ${summarise(report.divergences)}`,
    ...(report.problems.length > 0 ? ['expected but not found:', ...report.problems.map((p) => `  ${p}`)] : []),
    ...(report.divergences.length > 0 ? ['differences (server=value):', describeDivergences(report.divergences)] : []),
  ].join('\n');
}

/** Waits for the cluster's servers to converge (and meet `expectation`) within `deadlineMs`; throws the explanation if not. */
export async function expectConvergence(cluster: Cluster, deadlineMs: number, context: string, expectation?: Expectation): Promise<void> {
  const report = await awaitConvergence(() => readRegistries(cluster), deadlineMs, expectation);
  if (!report.converged) throw new Error(explain(report, context));
}
