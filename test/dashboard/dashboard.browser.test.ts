// The dashboard end to end in headless Chromium (bundled with @sparticuz/chromium, or CHROMIUM_PATH) driven by
// playwright-core: two zone servers of a three-zone region (the third zone's server is down, so one peer fails),
// instances registered over HTTP, an operator's status override showing up on the next refresh, registry text
// rendered as text, links to instances' pages, and a server in self-preservation holding expired leases.
// DASHBOARD_SCREENSHOT=docs/dashboard.png also writes the README's screenshot.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Browser, Page } from 'playwright-core';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/observability/logger';
import { RunningServer, startServer } from '../../src/server';
import { launchChromium } from '../helpers/browser';
import { freePorts } from '../helpers/cluster';
import { registerOver } from '../observability/support';
import { javaLegacyBody } from '../helpers/bodies';
import { waitFor } from '../helpers/wait';

const XSS = '<img src=x onerror="window.__xss=1">';

jest.setTimeout(60_000);

let dir: string;
let servers: RunningServer[] = [];
let browser: Browser | undefined;
let page: Page;
let base: string;
let peerB: string;
let peerC: string;
let dnsPort: number | undefined;
const problems: string[] = [];

async function startZone(file: string, zone: string, port: number, extra: readonly string[] = []): Promise<RunningServer> {
  const flags = ['--config', file, '--zone', zone, '--port', String(port), '--host', '127.0.0.1', '--log-level', 'error', ...extra];
  const fast = ['--sync-attempts', '1', '--sync-retry-wait-ms', '10', '--sync-failure-mode', 'serve', '--replication-timeout-ms', '500', '--replication-retry-base-ms', '50', '--replication-retry-max-ms', '400', '--peer-probe-interval-ms', '500'];
  const server = await startServer(loadConfig([...flags, ...fast], {}), { logger: silentLogger });
  servers.push(server);
  return server;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dashboard-'));
  const ports = await freePorts(3);
  const url = (p: number): string => `http://127.0.0.1:${p}/eureka/`;
  [peerB, peerC] = [url(ports[1]), url(ports[2])];
  const file = join(dir, 'zones.json');
  writeFileSync(file, JSON.stringify({ region: 'us-east-1', zones: { 'us-east-1a': [url(ports[0])], 'us-east-1b': [peerB], 'us-east-1c': [peerC] } }));
  // us-east-1c is never started: its peer entry fails.
  await startZone(file, 'us-east-1b', ports[1]);
  const a = await startZone(file, 'us-east-1a', ports[0], ['--dns-enabled', 'true', '--dns-port', '0']);
  dnsPort = a.dnsPort;
  await Promise.all(servers.map((s) => s.ready));
  base = `http://127.0.0.1:${a.port}`;

  const eureka = a.eurekaUrl;
  const instances: [string, string, string, string, Record<string, string>][] = [
    ['orders', 'orders-1', '10.0.1.11', 'us-east-1a', { version: '2.3.1' }],
    ['orders', 'orders-2', '10.0.2.12', 'us-east-1b', { version: '2.3.1' }],
    ['orders', 'orders-3', '10.0.3.13', 'us-east-1c', { version: '2.3.0', canary: 'true' }],
    ['billing', 'billing-1', '10.0.1.21', 'us-east-1a', { version: '5.0.0' }],
    ['billing', 'billing-2', '10.0.2.22', 'us-east-1b', { version: '5.0.0' }],
    ['catalog', 'catalog-1', '10.0.3.31', 'us-east-1c', { note: XSS }],
  ];
  for (const [app, id, ip, zone, metadata] of instances) {
    await registerOver(eureka, { app, instanceId: id, hostName: `${id}.internal`, ipAddr: ip, port: 8080, metadata: { zone, ...metadata } });
  }
  const gone = await fetch(`${eureka}apps/CATALOG/catalog-1`, { method: 'DELETE' });
  expect(gone.status).toBe(200);
  await registerOver(eureka, { app: 'catalog', instanceId: 'catalog-1', hostName: 'catalog-1.internal', ipAddr: '10.0.3.31', port: 8080, metadata: { zone: 'us-east-1c', note: XSS } });

  // The dashboard re-reads peers every 15 s while its event stream is live: it is first loaded once A's probes have
  // answered, so that a loaded machine's slow first probe cannot leave a stale verdict on screen past the waits below.
  const peerHealth = async (): Promise<Record<string, string>> => {
    const status = (await (await fetch(`${base}/eureka/status`)).json()) as { peers: { url: string; health: string }[] };
    return Object.fromEntries(status.peers.map((p) => [p.url, p.health]));
  };
  await waitFor(async () => {
    const health = await peerHealth();
    return health[peerB] === 'healthy' && health[peerC] === 'failing';
  }, 'zone a probing b (healthy) and c (failing)', 30_000, 100);

  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Every test starts on the dashboard, whatever order they run in.
  await page.goto(`${base}/`);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Runs in the page (a function, not a string: the page's CSP forbids eval).
const appsShown = (n: number): boolean => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('details[data-app]').length === n;

const row = (app: string, id: string): string => `tr[data-instance="${app}/${id}"]`;

it('shows the server, its peers, self-preservation, health checks and the registered instances', async () => {
  await page.goto(`${base}/`);
  await page.locator(row('ORDERS', 'orders-1')).waitFor({ timeout: 10_000 });
  expect(await page.title()).toBe('zone-registry · us-east-1a');
  expect(await page.locator('#server-line').innerText()).toContain('us-east-1');
  expect(await page.locator('#server-line [data-test="dns"]').innerText()).toBe(`DNS 127.0.0.1:${dnsPort} registry`);
  expect(await page.locator(`${row('ORDERS', 'orders-1')} td.status`).innerText()).toBe('UP');
  expect(await page.locator(row('ORDERS', 'orders-1')).innerText()).toContain('10.0.1.11:8080');
  expect(await page.locator('details[data-app="ORDERS"] > summary').innerText()).toMatch(/3 instances[\s\S]*3 UP[\s\S]*us-east-1a: 1/);
  expect(await page.locator('#self-preservation').innerText()).toMatch(/fewer than 10 instances/i);
  expect(await page.locator('#health-checks').innerText()).toMatch(/OFF[\s\S]*does not probe/);
  // Peer health as it really is: zone b answers its probes and accepts batches, zone c is down.
  await page.locator(`tr[data-peer="${peerB}"] .badge`, { hasText: 'healthy' }).waitFor({ timeout: 10_000 });
  await page.locator(`tr[data-peer="${peerC}"] .badge`, { hasText: 'failing' }).waitFor({ timeout: 10_000 });
  await page.locator(`tr[data-peer="${peerB}"] td.reachable`, { hasText: /^ready, [\d.]+ ms$/ }).waitFor({ timeout: 10_000 });
  await page.locator(`tr[data-peer="${peerC}"] td.reachable`, { hasText: /^unreachable since / }).waitFor({ timeout: 10_000 });
  expect(await page.locator(`tr[data-peer="${peerB}"] td.zone`).innerText()).toBe('us-east-1b');
  expect(await page.locator(`tr[data-peer="${peerC}"] td.zone`).innerText()).toBe('us-east-1c');
  expect(await page.locator(`tr[data-peer="${peerC}"] td.seen`).innerText()).toBe('never');
  expect(await page.locator(`tr[data-peer="${peerC}"] .badge`).getAttribute('title')).toMatch(/^unreachable \(.*ECONNREFUSED.*\), never answered/);
  expect(await page.locator('[data-test="peers-state"]').innerText()).toBe('1 of 2 failing');
  expect(await page.locator('#recent').innerText()).toMatch(/cancelled[\s\S]*CATALOG/);
  expect(await page.locator('#server').innerText()).toContain('leaseDurationSecs');
});

it('renders registry data as text, never as markup', async () => {
  const cell = page.locator(row('CATALOG', 'catalog-1'));
  await cell.waitFor();
  expect(await cell.innerText()).toContain(XSS);
  expect(await page.locator('#applications img').count()).toBe(0);
  expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
});

it('reflects an operator status override on its next refresh', async () => {
  const put = await fetch(`${base}/eureka/apps/ORDERS/orders-1/status?value=OUT_OF_SERVICE`, { method: 'PUT' });
  expect(put.status).toBe(200);
  // The page polls every 3 s on its own: no reload here.
  await page.locator(`${row('ORDERS', 'orders-1')} td.status`, { hasText: 'OUT_OF_SERVICE' }).waitFor({ timeout: 10_000 });
  expect(await page.locator(`${row('ORDERS', 'orders-1')} td.override`).innerText()).toBe('OUT_OF_SERVICE');
  expect(await page.locator('details[data-app="ORDERS"] > summary').innerText()).toMatch(/2 UP[\s\S]*1 OUT_OF_SERVICE/);

  const shot = await page.screenshot({ fullPage: true });
  expect(shot.length).toBeGreaterThan(10_000);
  const target = process.env.DASHBOARD_SCREENSHOT;
  if (target) {
    const path = resolve(__dirname, '../..', target);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, shot);
  }
  // Back as the other tests expect it: the override removed and orders-1 registered UP again (as its client would).
  expect((await fetch(`${base}/eureka/apps/ORDERS/orders-1/status`, { method: 'DELETE' })).status).toBe(200);
  await registerOver(`${base}/eureka/`, { app: 'orders', instanceId: 'orders-1', hostName: 'orders-1.internal', ipAddr: '10.0.1.11', port: 8080, metadata: { zone: 'us-east-1a', version: '2.3.1' } });
  await page.locator(`${row('ORDERS', 'orders-1')} td.status`, { hasText: /^UP$/ }).waitFor({ timeout: 10_000 });
});

it('shows a registration pushed by the event stream long before its next poll', async () => {
  await page.goto(`${base}/?refresh=60000`);
  await page.locator('#updated', { hasText: 'live' }).waitFor({ timeout: 10_000 });
  await registerOver(`${base}/eureka/`, { app: 'billing', instanceId: 'billing-9', hostName: 'billing-9.internal', ipAddr: '10.0.1.29', port: 8080, metadata: { zone: 'us-east-1a' } });
  // The page polls once a minute here: the row can only come this soon from the stream.
  await page.locator(row('BILLING', 'billing-9')).waitFor({ timeout: 10_000 });
  expect((await fetch(`${base}/eureka/apps/BILLING/billing-9`, { method: 'DELETE' })).status).toBe(200);
  await page.locator(row('BILLING', 'billing-9')).waitFor({ state: 'detached', timeout: 10_000 });
  await page.goto(`${base}/`);
});

it("links each instance's status and home pages, and only http(s) URLs", async () => {
  const links = page.locator(`${row('ORDERS', 'orders-1')} td.pages a`);
  await links.first().waitFor();
  expect(await links.evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute('href'), a.getAttribute('rel')]))).toEqual([
    ['status', 'http://orders-1.internal:8080/actuator/info', 'noopener noreferrer'],
    ['home', 'http://orders-1.internal:8080/', 'noopener noreferrer'],
  ]);
  const body = javaLegacyBody({ app: 'sneaky', instanceId: 'sneaky-1', hostName: 'sneaky-1.internal', ipAddr: '10.0.1.99', port: 8080 });
  Object.assign(body.instance, { statusPageUrl: 'javascript:window.__xss=2', homePageUrl: ' JAVASCRIPT:window.__xss=3' });
  const res = await fetch(`${base}/eureka/apps/SNEAKY`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(204);
  await page.locator(row('SNEAKY', 'sneaky-1')).waitFor({ timeout: 10_000 });
  expect(await page.locator(`${row('SNEAKY', 'sneaky-1')} td.pages`).innerText()).toBe('—');
  expect(await page.locator('a[href^="javascript" i], a[href*="javascript:" i]').count()).toBe(0);
  expect((await fetch(`${base}/eureka/apps/SNEAKY/sneaky-1`, { method: 'DELETE' })).status).toBe(200);
  await page.locator(row('SNEAKY', 'sneaky-1')).waitFor({ state: 'detached', timeout: 10_000 });
});

it('says how many instances self-preservation holds past their lease expiry, and since when', async () => {
  // A server of its own whose renewal window and leases are a second or two long.
  const solo = await startServer(
    loadConfig(['--port', '0', '--host', '127.0.0.1', '--log-level', 'error', '--renewal-window-ms', '1000', '--self-preservation-min-instances', '1', '--min-renewal-interval-secs', '1', '--eviction-interval-ms', '100'], {}),
    { logger: silentLogger },
  );
  servers.push(solo);
  await solo.ready;
  for (const id of ['held-1', 'held-2', 'held-3']) {
    await registerOver(solo.eurekaUrl, { app: 'quiet', instanceId: id, hostName: `${id}.internal`, ipAddr: '10.0.5.1', port: 8080, renewalIntervalInSecs: 1, durationInSecs: 2 });
    expect((await fetch(`${solo.eurekaUrl}apps/QUIET/${id}`, { method: 'PUT' })).status).toBe(200);
  }
  // No more heartbeats: renewals leave the window after a second, the leases expire a second later, and stay.
  const held = async (): Promise<number> => ((await (await fetch(`${solo.eurekaUrl}status`)).json()) as { heldPastExpiry: { instances: number } }).heldPastExpiry.instances;
  await waitFor(async () => (await held()) === 3, 'three leases held past expiry', 15_000);
  await page.goto(`http://127.0.0.1:${solo.port}/`);
  await page.locator('#held').waitFor({ state: 'visible', timeout: 10_000 });
  expect(await page.locator('#held').innerText()).toMatch(/^Self-preservation: 3 of 3 instances are held past their lease expiry since \d\d:\d\d:\d\d \(.+\)\. They stopped renewing but are not evicted: 0 renewals in the last minute/);
  expect(await page.locator('[data-test="held"]').innerText()).toBe('3 held past expiry');
  expect(await page.locator(`${row('QUIET', 'held-1')} td.lease`).innerText()).toMatch(/^held: expired .+ ago$/);
  expect(await page.locator('[data-test="sp-state"]').innerText()).toBe('ON: expiry suspended');
  expect(solo.registry.size).toBe(3);
  await page.goto(`${base}/`);
});

it('filters applications and instances as the operator types', async () => {
  await page.locator('#filter').fill('billing');
  await page.waitForFunction(appsShown, 1, { timeout: 10_000 });
  expect(await page.locator('details[data-app]').getAttribute('data-app')).toBe('BILLING');
  expect(new URL(page.url()).searchParams.get('q')).toBe('billing');
  await page.locator('#filter').fill('');
  await page.waitForFunction(appsShown, 3, { timeout: 10_000 });
});

it('says so when the server cannot be reached, and ran without script errors or policy violations', async () => {
  await page.route('**/api/overview*', (route) => route.abort());
  await page.route('**/eureka/watch*', (route) => route.abort());
  await page.reload();
  await page.locator('#banner').waitFor({ state: 'visible', timeout: 10_000 });
  expect(await page.locator('#banner').innerText()).toMatch(/Cannot load the overview/);
  await page.unroute('**/api/overview*');
  await page.unroute('**/eureka/watch*');
  await page.locator('#banner').waitFor({ state: 'hidden', timeout: 10_000 });
  // The aborted fetches log a network error; anything else is a problem.
  expect(problems.filter((p) => !/Failed to load resource|net::ERR_FAILED/.test(p))).toEqual([]);
});
