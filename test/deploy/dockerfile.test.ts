// The Dockerfile read as instructions (no Docker engine needed): a build stage and a runtime stage holding production
// dependencies only, every file copied from the context present, a numeric non-root user, and a HEALTHCHECK whose
// script is run here against real servers.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSettings } from '../../src/config/settings';
import { silentLogger } from '../../src/observability/logger';
import { compose, RunningServer } from '../../src/server';

const ROOT = join(__dirname, '..', '..');

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** The Dockerfile's instructions, continuation lines joined and comments dropped, split into stages at FROM. */
function stages(text: string): Instruction[][] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const out: Instruction[][] = [];
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/);
    const instruction = { op: op.toUpperCase(), args: rest.join(' ') };
    if (instruction.op === 'FROM') out.push([]);
    out[out.length - 1].push(instruction);
  }
  return out;
}

const all = stages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const build = all[0];
const runtime = all[all.length - 1];
const ops = (stage: Instruction[], op: string): string[] => stage.filter((i) => i.op === op).map((i) => i.args);
/** Sources of a COPY (the last word is the destination); JSON form not used here. */
const sources = (args: string): string[] => args.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1);

describe('Dockerfile', () => {
  describe('stages', () => {
    it('builds in a stage of its own and ships the compiled code with production dependencies only', () => {
      expect(all.length).toBeGreaterThanOrEqual(2);
      expect(build[0].args).toMatch(/ AS build$/i);
      expect(ops(build, 'RUN').join(' && ')).toMatch(/npm ci\b.*npm run build.*npm prune --omit=dev/);
      expect(ops(runtime, 'COPY').filter((a) => a.startsWith('--from=build'))).toEqual(['--from=build /app/node_modules ./node_modules', '--from=build /app/dist ./dist']);
      expect(ops(runtime, 'RUN')).toEqual([]);
      expect(ops(runtime, 'ENV')).toContain('NODE_ENV=production');
    });

    it('copies into the build stage every file the build script reads, and only files the context has', () => {
      const copied = ops(build, 'COPY').flatMap(sources);
      const buildScript = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.build;
      const read = [...buildScript.matchAll(/(?:-p |node )(\S+)/g)].map((m) => m[1]);
      expect(read).toEqual(['tsconfig.build.json', 'scripts/copy-assets.js']);
      for (const file of [...read, 'tsconfig.json', 'src', 'package-lock.json']) expect({ file, copied: copied.some((c) => file === c || file.startsWith(`${c}/`)) }).toEqual({ file, copied: true });
      const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim().replace(/\/$/, '')).filter(Boolean);
      for (const source of [...copied, ...ops(runtime, 'COPY').filter((a) => !a.startsWith('--from')).flatMap(sources)]) {
        expect({ source, exists: existsSync(join(ROOT, source)), ignored: ignored.some((i) => source === i || source.startsWith(`${i}/`)) }).toEqual({ source, exists: true, ignored: false });
      }
    });

    it('runs as a numeric non-root user, with a readiness HEALTHCHECK, the server as entry point', () => {
      const user = ops(runtime, 'USER');
      expect(user).toHaveLength(1);
      expect(user[0]).toMatch(/^[1-9]\d*(:\d+)?$/);
      const healthcheck = ops(runtime, 'HEALTHCHECK');
      expect(healthcheck).toHaveLength(1);
      expect(healthcheck[0]).toMatch(/CMD \["node", "healthcheck.js"\]$/);
      expect(ops(runtime, 'COPY')).toContain('deploy/docker/healthcheck.js ./healthcheck.js');
      expect(ops(runtime, 'ENTRYPOINT')).toEqual(['["node", "dist/cli.js"]']);
      expect(runtime.findIndex((i) => i.op === 'USER')).toBeLessThan(runtime.findIndex((i) => i.op === 'ENTRYPOINT'));
    });
  });

  describe('healthcheck.js', () => {
    const servers: RunningServer[] = [];
    afterEach(async () => {
      await Promise.all(servers.splice(0).map((s) => s.close()));
    });

    const check = (env: Record<string, string>): Promise<number> =>
      new Promise((resolve) => {
        execFile(process.execPath, [join(ROOT, 'deploy', 'docker', 'healthcheck.js')], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 15_000 }, (error) => resolve(error ? Number(error.code ?? 1) : 0));
      });

    const start = async (peers: string[]): Promise<RunningServer> => {
      const server = await compose(
        { settings: { ...defaultSettings(), port: 0, host: '127.0.0.1', syncAttempts: 1000, syncRetryWaitMs: 60_000, replicationTimeoutMs: 200 }, peerSet: { self: undefined, peers } },
        { logger: silentLogger },
      ).listen();
      servers.push(server);
      return server;
    };

    it('passes on a ready server, at the port EUREKA_PORT or else PORT names', async () => {
      const server = await start([]);
      await server.ready;
      expect(await check({ EUREKA_PORT: String(server.port) })).toBe(0);
      expect(await check({ PORT: String(server.port) })).toBe(0);
    });

    it('fails while startup sync goes on, and when nothing answers', async () => {
      // A peer that never answers keeps the sync going.
      const syncing = await start(['http://127.0.0.1:9/eureka/']);
      expect(await check({ EUREKA_PORT: String(syncing.port) })).toBe(1);
      expect(await check({ EUREKA_PORT: '9' })).toBe(1);
    });
  });
});
