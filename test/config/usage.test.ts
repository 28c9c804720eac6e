// `zone-registry --help`: every setting the server accepts, with its flag, variable and default.
import { envName, flagName, SETTINGS } from '../../src/config/settings';
import { usage } from '../../src/config/usage';

describe('usage', () => {
  it('lists the commands and every setting with its flag, environment variable and default', () => {
    const text = usage();
    expect(text).toMatch(/^Usage: zone-registry \[--config FILE\]/);
    expect(text).toContain('zone-registry sidecar --help');
    expect(text).toContain('zone-registry-admin --help');
    expect(text).toContain('zone-registry-sidecar');
    for (const [name, spec] of Object.entries(SETTINGS)) expect(text).toContain(`--${flagName(name)} (${envName(name)}, default ${JSON.stringify(spec.default)})`);
  });

  it('wraps descriptions within the width', () => {
    for (const line of usage(80).split('\n')) if (line.startsWith('      ')) expect(line.length).toBeLessThanOrEqual(80 + 40);
  });
});
