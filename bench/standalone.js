'use strict';
// Running one bench part on its own (node bench/<part>.js): pinned like `npm run bench` pins it, its report on
// stdout, its result in bench/results/<name>-<time>.json, exit code 1 when it fails.
const fs = require('node:fs');
const path = require('node:path');
const { pinSelf } = require('./run/processes');

/**
 * @template T
 * @param {string} name the results file's prefix
 * @param {() => Promise<T>} run the part
 * @param {(result: T) => string[]} report its markdown lines
 */
function runStandalone(name, run, report) {
  pinSelf();
  run()
    .then((r) => {
      console.log(report(r).join('\n'));
      const file = path.join(__dirname, 'results', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify(r, null, 2) + '\n');
      console.error(`results in ${path.relative(path.resolve(__dirname, '..'), file)}`);
    })
    .catch((e) => {
      console.error(e);
      process.exitCode = 1;
    });
}

module.exports = { runStandalone };
