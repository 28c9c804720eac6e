// Shared by the operators'-surface tests (metrics, dashboard, admin CLI): a real zone server on 127.0.0.1, port 0,
// registration over HTTP, and a parser for the Prometheus text format.
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/observability/logger';
import { RunningServer, startServer } from '../../src/server';
import { BodyOptions, javaLegacyBody } from '../helpers/bodies';

/** Starts a standalone server on 127.0.0.1, a free port, and waits until it is ready. Always close() it. */
export async function startTestServer(flags: readonly string[] = []): Promise<RunningServer> {
  const config = loadConfig(['--port', '0', '--host', '127.0.0.1', '--log-level', 'error', ...flags], {});
  const server = await startServer(config, { logger: silentLogger });
  await server.ready;
  return server;
}

/** Registers an instance the way the Java client does; resolves once the server answered 204. */
export async function registerOver(eurekaUrl: string, options: BodyOptions = {}): Promise<void> {
  const body = javaLegacyBody(options);
  const res = await fetch(`${eurekaUrl}apps/${String(body.instance.app)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 204) throw new Error(`registration answered ${res.status}: ${await res.text()}`);
}

/** One sample of a scrape. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the Prometheus text exposition format (comments skipped). */
export function parseProm(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1], labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample with this name whose labels include `labels`; throws when there is not exactly one. */
export function sample(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return found[0].value;
}
