// What `npm pack` ships (the files list): what runs and nothing of the repository's tests, benchmarks or CI; and every
// command in package.json's `bin` is a source file that runs as a command.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; main: string; files: string[] };

describe('package.json', () => {
  describe('files', () => {
    it('packs dist/, the README and the example zones file, and nothing of test/, bench/, .ci/, src/ or source maps', () => {
      // --ignore-scripts: list what the files rule takes from the tree as it is, without building.
      const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
      const paths = (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
      expect(paths).toEqual(expect.arrayContaining(['package.json', 'README.md', 'zones.example.json']));
      const unwanted = paths.filter((p) => /^(test|bench|\.ci|src|scripts|docs|deploy|node_modules|coverage)\//.test(p) || p.endsWith('.map') || /^dist\/(test|bench|src)\//.test(p));
      expect(unwanted).toEqual([]);
      const strays = paths.filter((p) => !p.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE', 'zones.example.json'].includes(p));
      expect(strays).toEqual([]);
      // With a build present, the commands and the entry point are in it.
      if (existsSync(join(ROOT, 'dist/cli.js'))) expect(paths).toEqual(expect.arrayContaining([pkg.main, ...Object.values(pkg.bin)]));
    });
  });

  describe('bin', () => {
    it.each(Object.entries(pkg.bin))('%s is compiled from a source file that starts as a node script and runs when executed', (_name, target) => {
      const source = join(ROOT, target.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'));
      const text = readFileSync(source, 'utf8');
      expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
      // cli.ts always runs; the others only when they are the entry point (they are also imported).
      if (!target.endsWith('dist/cli.js')) expect(text).toMatch(/^if \(require\.main === module\)/m);
    });

    it('has the server, the admin CLI and the sidecar', () => {
      expect(Object.keys(pkg.bin).sort()).toEqual(['zone-registry', 'zone-registry-admin', 'zone-registry-sidecar']);
    });
  });
});
