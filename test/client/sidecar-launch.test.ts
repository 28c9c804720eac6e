// The sidecar as operators launch it: under the real `npx` of this machine (npm runs the bin through `sh -c`, and a
// SIGTERM to npm ends that shell without passing the signal on), it still deregisters and leaves no process behind.
// The package is the sources transpiled file by file into a temp directory, installed into a temp project as npm
// would (node_modules/zone-registry and a node_modules/.bin link). Plus the parent watch on its own.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { watchParent } from '../../src/client/shutdown';
import { SIDECAR_USAGE, SIDECAR_VALUE_FLAGS } from '../../src/client/sidecar-cli';
import { RunningServer } from '../../src/server';
import { startTestServer } from '../observability/support';
import { waitFor } from '../helpers/wait';

const ROOT = join(__dirname, '../..');

/** Transpiles every file of src/ into `out` (CommonJS, as the build does), keeping shebangs. */
function transpileSources(out: string): void {
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? walk(join(dir, name)) : [join(dir, name)]));
  for (const file of walk(join(ROOT, 'src'))) {
    const target = join(out, relative(join(ROOT, 'src'), file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    if (!file.endsWith('.ts')) continue;
    const js = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
    writeFileSync(target, js);
  }
}

/** Pids of every descendant of `pid` (from ps). */
function descendants(pid: number): number[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));
  const out: number[] = [];
  const visit = (p: number): void => {
    for (const [child, parent] of rows) {
      if (parent === p) {
        out.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('zone-registry-sidecar', () => {
  describe('under npx', () => {
    let dir: string;
    let registry: RunningServer;
    let health: Server;
    let npx: ChildProcess | undefined;
    const started: number[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sidecar-npx-'));
      const pkg = join(dir, 'zone-registry');
      transpileSources(join(pkg, 'dist'));
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'zone-registry', version: '0.0.0-test', bin: { 'zone-registry-sidecar': 'dist/client/sidecar-cli.js' } }));
      symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
      const project = join(dir, 'project');
      mkdirSync(join(project, 'node_modules/.bin'), { recursive: true });
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'project', version: '1.0.0', private: true, dependencies: { 'zone-registry': '*' } }));
      symlinkSync(pkg, join(project, 'node_modules/zone-registry'), 'dir');
      chmodSync(join(pkg, 'dist/client/sidecar-cli.js'), 0o755);
      symlinkSync('../zone-registry/dist/client/sidecar-cli.js', join(project, 'node_modules/.bin/zone-registry-sidecar'));
      registry = await startTestServer();
      health = createServer((_req, res) => res.writeHead(200).end('ok'));
      await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
    });

    afterAll(async () => {
      // Whatever is left of what this test started.
      for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
      if (npx?.exitCode === null) npx.kill('SIGKILL');
      await registry.close();
      health.closeAllConnections();
      await new Promise<void>((resolve) => health.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    });

    it('deregisters and exits when npx is sent SIGTERM, leaving no orphan', async () => {
      const healthPort = (health.address() as AddressInfo).port;
      const args = ['--no-install', 'zone-registry-sidecar', '--app', 'npx-app', '--port', '8080', '--health-url', `http://127.0.0.1:${healthPort}/`, '--server', registry.eurekaUrl, '--ip-addr', '127.0.0.1', '--host-name', 'npx-host', '--log-level', 'warn'];
      const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_yes: 'false' };
      npx = spawn('npx', args, { cwd: join(dir, 'project'), env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      npx.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const npxPid = npx.pid!;
      await waitFor(() => registry.registry.lease('NPX-APP', 'npx-host:npx-app:8080') !== undefined, `the sidecar's registration (stderr: ${stderr})`, 30_000, 100);
      const tree = descendants(npxPid);
      started.push(...tree);
      // npm → sh -c → node: the sidecar is the node process below npx.
      const sidecar = tree.find((pid) => /^[^\0]*node\0[^\0]*zone-registry-sidecar\0/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
      expect(sidecar).toBeDefined();

      npx.kill('SIGTERM');
      await waitFor(() => registry.registry.lease('NPX-APP', 'npx-host:npx-app:8080') === undefined, 'the sidecar to deregister', 20_000, 100);
      await waitFor(() => !alive(sidecar!), 'the sidecar to exit', 20_000, 100);
      await waitFor(() => tree.every((pid) => !alive(pid)), 'no process of the tree left', 20_000, 100);
    });
  });

  describe('--help', () => {
    it('lists every flag, each required or with its default', () => {
      for (const flag of SIDECAR_VALUE_FLAGS) {
        const line = SIDECAR_USAGE.split('\n').find((l) => l.trimStart().startsWith(`--${flag} `));
        expect(line).toBeDefined();
        const required = SIDECAR_USAGE.indexOf(line!) < SIDECAR_USAGE.indexOf('Options:');
        if (!required) expect(line).toMatch(/\(default[ :]/);
      }
    });
  });
});

describe('watchParent', () => {
  it('calls back once when the parent pid changes, and never while it stays', async () => {
    let ppid = 4242;
    const gone: number[] = [];
    const stop = watchParent((p) => gone.push(p), { intervalMs: 5, ppid: () => ppid });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(gone).toEqual([]);
    ppid = 1;
    await waitFor(() => gone.length > 0, 'the callback');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(gone).toEqual([4242]);
    stop();
  });

  it('does not watch a process whose parent is init (a container PID 1, a systemd service)', async () => {
    const gone: number[] = [];
    let reads = 0;
    watchParent((p) => gone.push(p), { intervalMs: 5, ppid: () => (reads++, 1) });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(reads).toBe(1);
    expect(gone).toEqual([]);
  });
});
