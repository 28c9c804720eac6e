import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envName, flagName, SETTINGS } from '../../src/config/settings';

describe('README configuration reference', () => {
  const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');

  it.each(Object.entries(SETTINGS))('documents %s with its flag, variable and default', (name, spec) => {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
    expect(row).toBeDefined();
    expect(row).toContain(`\`--${flagName(name)}\``);
    expect(row).toContain(`\`${envName(name)}\``);
    expect(row).toContain(`\`${spec.default}\``);
  });
});
