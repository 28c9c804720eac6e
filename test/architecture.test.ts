// The layering of src/, checked on the import graph: imports point inward (see the architecture notes). A new folder
// states its place here; an exception is listed in ALLOWED_EXCEPTIONS with its reason.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const SRC = resolve(__dirname, '../src');

/** Folders of src/ and the folders each may import besides itself. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  domain: [],
  codecs: ['domain'],
  client: ['codecs', 'domain', 'transport'],
  // The one axios factory: node and axios only.
  transport: [],
  admin: ['codecs', 'domain', 'transport'],
  // Parked watches and event streams: the registry's events, the codecs, and timers from scheduling/.
  watch: ['domain', 'codecs', 'scheduling'],
  // Active health checks: the registry's events and verdicts, timers (the probe passes and timeouts) from
  // scheduling/, and from observability/ the Logger and the read-model types they report through (never metrics).
  health: ['domain', 'scheduling', 'observability'],
  // The DNS interface: registry reads from domain/, the per-source token buckets from security/, and from
  // observability/ the Logger and the read-model types it reports through.
  dns: ['domain', 'security', 'observability'],
};

/** Every folder of src/ and its place; a new folder is added here (and to the rules below when it has any). */
const FOLDERS: Record<string, string> = {
  domain: 'the pure registry core',
  codecs: 'Eureka JSON and XML, shared by server and client',
  client: 'the client library: codecs, domain and transport only',
  transport: 'the one HTTP client factory (axios, keep-alive pools) for peers, client and CLI',
  config: 'settings and the zones file',
  security: 'credentials, access decisions, rate-limit buckets, TLS files',
  observability: 'logger, metrics, the status read model',
  scheduling: 'the only place timers live',
  replication: 'peer nodes, batches, startup sync',
  http: 'route tables, guard, error mapping, and the encoded payloads (payloads/)',
  admin: 'the admin command line',
  watch: 'parked long-polls on the delta and event streams of changes (the HTTP routes adapt them)',
  health: 'active health checks: probe adapters (HTTP, TCP), their schedule, the verdict policy and the safety valve',
  dns: 'the authoritative DNS interface: names, answers from the registry, the UDP and TCP listeners',
};

/** Folders that must never import the adapters named. */
const MUST_NOT_IMPORT: Record<string, readonly string[]> = {
  security: ['http', 'replication'],
  observability: ['http', 'replication', 'health'],
  config: ['http', 'replication'],
};

/**
 * The allowance list: imports that cross a rule above, each `from -> to` (files relative to src/) with the reason it
 * is allowed. A shared module (say a transport or URL helper used by client/ and the server) is added here.
 */
const ALLOWED_EXCEPTIONS: Record<string, string> = {
  // The client's timers run on the server's Scheduler interface (a type only): one timer abstraction for both.
  'client/scheduler.ts -> scheduling/scheduler.ts': 'type-only import of the Scheduler interface',
};

interface Edge {
  readonly from: string;
  readonly to: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** The file an import specifier names, relative to src/; undefined for packages and node: builtins. */
function resolveImport(fromFile: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(fromFile), specifier);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts'), base]) {
    try {
      if (statSync(candidate).isFile()) return relative(SRC, candidate).split(sep).join('/');
    } catch {
      // next candidate
    }
  }
  return relative(SRC, base).split(sep).join('/');
}

/** Every import, export-from, require() and import() between files of src/. */
function importGraph(): Edge[] {
  return sourceFiles(SRC).flatMap((file) => {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const from = relative(SRC, file).split(sep).join('/');
    return info.importedFiles.flatMap(({ fileName }) => {
      const to = resolveImport(file, fileName);
      return to === undefined || to.startsWith('..') ? [] : [{ from, to }];
    });
  });
}

const folderOf = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '(root)');

/** Import cycles between files (strongly connected components of more than one file, or a self-import). */
function cycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let counter = 0;
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (next.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of new Set(edges.flatMap((e) => [e.from, e.to]))) if (!index.has(v)) visit(v);
  return found;
}

describe('architecture', () => {
  const edges = importGraph();
  const crossing = edges.filter((e) => folderOf(e.from) !== folderOf(e.to) && ALLOWED_EXCEPTIONS[`${e.from} -> ${e.to}`] === undefined);

  describe('import graph', () => {
    it('finds the imports of src/ (the walk itself works)', () => {
      expect(edges.length).toBeGreaterThan(100);
      expect(edges).toContainEqual({ from: 'server.ts', to: 'domain/registry.ts' });
    });

    it.each(Object.entries(MAY_IMPORT))('keeps src/%s to itself and its allowed folders', (folder, allowed) => {
      const wrong = crossing.filter((e) => folderOf(e.from) === folder && !allowed.includes(folderOf(e.to))).map((e) => `${e.from} -> ${e.to}`);
      expect(wrong).toEqual([]);
    });

    it.each(Object.entries(MUST_NOT_IMPORT))('keeps src/%s away from the adapters', (folder, forbidden) => {
      const wrong = crossing.filter((e) => folderOf(e.from) === folder && forbidden.includes(folderOf(e.to))).map((e) => `${e.from} -> ${e.to}`);
      expect(wrong).toEqual([]);
    });

    it('knows every folder of src/', () => {
      const folders = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory());
      expect(folders.filter((f) => FOLDERS[f] === undefined)).toEqual([]);
    });

    it('lists only exceptions that still exist', () => {
      const present = new Set(edges.map((e) => `${e.from} -> ${e.to}`));
      expect(Object.keys(ALLOWED_EXCEPTIONS).filter((k) => !present.has(k))).toEqual([]);
    });

    it('has no import cycles between files', () => {
      expect(cycles(edges)).toEqual([]);
    });
  });
});
