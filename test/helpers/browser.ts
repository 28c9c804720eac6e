// Headless Chromium for browser tests, with nothing to install beyond `npm install`: the Chromium that
// @sparticuz/chromium ships inside its npm package, or a system browser named by CHROMIUM_PATH.
import { existsSync } from 'node:fs';
import { Browser, chromium } from 'playwright-core';

// Chromium's own background traffic (updates, sync, QUIC probes) is refused on a closed network; keep it quiet.
const QUIET = ['--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];
const SYSTEM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', ...QUIET];

/** Launches headless Chromium: CHROMIUM_PATH when set, else the browser bundled with @sparticuz/chromium. */
export async function launchChromium(): Promise<Browser> {
  const system = process.env.CHROMIUM_PATH;
  if (system) {
    if (!existsSync(system)) throw new Error(`CHROMIUM_PATH names no file: ${system}`);
    return chromium.launch({ executablePath: system, args: SYSTEM_ARGS });
  }
  // Unpacked on first use into the temp directory (about 2 s), reused afterwards.
  const bundled = (await import('@sparticuz/chromium')).default;
  return chromium.launch({ executablePath: await bundled.executablePath(), args: [...bundled.args, ...QUIET], headless: true });
}
