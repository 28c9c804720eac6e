// `zone-registry --help`: how to start a server, the other commands, and every setting with its flag, environment
// variable and default, from the one settings table (so it cannot drift from what the server accepts).
import { envName, flagName, SETTINGS } from './settings';

/** The usage text; `width`: where descriptions wrap. */
export function usage(width = 100): string {
  const lines = [
    'Usage: zone-registry [--config FILE] [--<setting> VALUE ...]     start a zone server',
    '       zone-registry sidecar --help                               register and heartbeat on behalf of a service',
    '       zone-registry hash-password                                print a password hash for the credentials file',
    '',
    'Without arguments a standalone server starts on http://localhost:8761/eureka/ (also /eureka/v2 and /eureka/v1);',
    'the dashboard is at http://localhost:8761/, metrics at /metrics, health at /health/ready.',
    'Settings come from flags, then EUREKA_* environment variables, then the config file ("settings" in a zones file),',
    'then the defaults below.',
    '',
    'Installed beside it: zone-registry-admin (the operators\' command line: zone-registry-admin --help) and',
    'zone-registry-sidecar (the same as zone-registry sidecar).',
    '',
    'Settings:',
  ];
  for (const [name, spec] of Object.entries(SETTINGS)) {
    lines.push(`  --${flagName(name)} (${envName(name)}, default ${JSON.stringify(spec.default)})`);
    lines.push(...wrap(spec.doc.replace(/`/g, ''), width - 6).map((l) => `      ${l}`));
  }
  return lines.join('\n') + '\n';
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') out.push(line);
  return out;
}
