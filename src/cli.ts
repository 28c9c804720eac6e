#!/usr/bin/env node
// Command line entry: `zone-registry [--config FILE] [--setting value …]` starts a zone server;
// `zone-registry sidecar …` runs the sidecar instead (src/client/sidecar-cli.ts); `zone-registry hash-password`
// prints a password hash for the credentials file (src/security/hash-password-cli.ts); `zone-registry --help` lists
// the commands and every setting (src/config/usage.ts).
import { ConfigError, defaultSettings } from './config/settings';
import { applyGcSettings } from './scheduling/gc-tuning';

// Before the rest is loaded: V8 weighs where objects are made from the first module on, and a place it decides to
// pretenure while the modules load stays pretenured (see gc-tuning.ts). The configured values follow once read.
applyGcSettings(defaultSettings());

async function main(): Promise<void> {
  const [{ loadConfig }, { startServer }] = await Promise.all([import('./config/config'), import('./server')]);
  let running;
  try {
    // Settings, and the files they name (credentials, certificates), are checked before anything listens.
    const config = loadConfig(process.argv.slice(2), process.env);
    applyGcSettings(config.settings);
    running = await startServer(config);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`zone-registry: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    running.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const hashPasswordCommand = (): Promise<void> =>
  import('./security/hash-password-cli').then(async (m) => {
    const io = { input: process.stdin, out: (t: string) => process.stdout.write(t), err: (t: string) => process.stderr.write(t) };
    process.exitCode = await m.runHashPassword(process.argv.slice(3), io);
  });

const helpCommand = async (): Promise<void> => {
  const { usage } = await import('./config/usage');
  process.stdout.write(usage());
};

const run: () => Promise<void> =
  process.argv[2] === '--help' || process.argv[2] === '-h' || process.argv[2] === 'help'
    ? helpCommand
    : process.argv[2] === 'sidecar'
    ? () => import('./client/sidecar-cli').then((m) => m.runSidecarCli(process.argv.slice(3)))
    : process.argv[2] === 'hash-password'
      ? hashPasswordCommand
      : main;

run().catch((e: unknown) => {
  process.stderr.write(`zone-registry: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
