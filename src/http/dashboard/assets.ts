// The operators' dashboard: one HTML page, one vanilla script and one stylesheet, kept as files in ./public and read
// once when this module loads. They sit beside this module both in src/ (tests) and in dist/ (the build copies them,
// see scripts/copy-assets.js), so one path relative to __dirname serves both; nothing is fetched from the internet.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Folder holding the dashboard's page, script and stylesheet. */
export const DASHBOARD_PUBLIC_DIR = join(__dirname, 'public');

const read = (name: string): string => readFileSync(join(DASHBOARD_PUBLIC_DIR, name), 'utf8');

/** The page, UTF-8 text. */
export const DASHBOARD_HTML = read('dashboard.html');

/** The stylesheet, UTF-8 text. */
export const DASHBOARD_CSS = read('dashboard.css');

/** The script, UTF-8 text: it polls api/overview and renders with createElement/textContent only. */
export const DASHBOARD_JS = read('dashboard.js');
