// Prints the README's configuration table from the settings table (run after `npm run build`):
//   node scripts/settings-table.js
const { SETTINGS, envName, flagName } = require('../dist/config/settings.js');

console.log('| Setting | Flag | Environment | Default | What it does |');
console.log('|---|---|---|---|---|');
for (const [name, spec] of Object.entries(SETTINGS)) {
  console.log(`| \`${name}\` | \`--${flagName(name)}\` | \`${envName(name)}\` | \`${spec.default}\` | ${spec.doc} |`);
}
