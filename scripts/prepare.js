// npm's prepare step (an install from a git URL, npm pack, npm install in a checkout): builds dist/ when the
// TypeScript sources and compiler are present, and skips quietly where they are not (an image's dependency layer,
// installed before the sources are copied in).
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
} catch {
  tsc = undefined;
}
if (existsSync(join(root, 'src')) && tsc !== undefined) {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
  require('./copy-assets');
}
