/**
 * Issue 6 acceptance, real browser: Debian's chromium driven by playwright-core against `sebridge run` and a real
 * Debian SoftEther server:
 *
 *   nsA ── veth ── [sebridge run: the wizard bridges rootDev] ═ cascade ═ real vpnserver hub ── its local bridge ── nsB
 *
 * First-start password, login, the wizard (a wrong password shows the server's error with its hint; the right one
 * shows the server and the certificate to trust), the dashboard shows "online" with 8 connections, the MAC table
 * shows a host from the far side, every page renders, logout. Screenshots: test-artifacts/ui-real/.
 */
import test from 'ava';
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildE2e, e2eMissing, expectPing, HOST_DEV } from '../bridge/e2e-topology.ts';
import type { E2e } from '../bridge/e2e-topology.ts';
import { linkView } from '../bridge/netinfo.ts';
import { startDaemon } from './daemon-process.ts';
import type { DaemonRun } from './daemon-process.ts';
import { fillWizard, gotoPage, login, logout, readDashboard, saveAndConnect, setPassword, testConnection, waitForCascadeState } from './ui/steps.ts';
import type { NavPage } from './ui/steps.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = path.join(ROOT, 'test-artifacts', 'ui-real');
const CHROMIUM = '/usr/bin/chromium';
const ADMIN_PW = 'real-browser-admin-1';

const missing = e2eMissing() ?? (await access(CHROMIUM).then(() => undefined, () => `Debian's chromium is not installed at ${CHROMIUM}`));
if (missing) console.error(`\n!!! SKIPPING test/control/browser.real.test.ts: ${missing} !!!\n`);
const serial = missing ? test.serial.skip : test.serial;

let e2e: E2e;
let daemon: DaemonRun;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

test.before(async () => {
  if (missing) return;
  await mkdir(SHOTS, { recursive: true });
  e2e = await buildE2e();
  daemon = await startDaemon(e2e.lab);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  // The daemon's certificate is self-signed (its fingerprint was printed at start); the browser is told to go on,
  // as a user would after comparing it.
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
});

test.after.always(async () => {
  await browser?.close();
  await daemon?.stop();
  await e2e?.teardown();
});

// Functions passed to page.waitForFunction run in the browser; this file's TypeScript has no DOM types, hence
// `(globalThis as any).document` there.
const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

function showDaemonOutput(t: import('ava').ExecutionContext): void {
  t.teardown(() => {
    if (!t.passed) t.log(`daemon output:\n${daemon?.proc.output().slice(-3000)}\nbrowser errors: ${consoleErrors.join('\n')}`);
  });
}

serial('first start: the only page is "choose the admin password"; then sign in', async (t) => {
  showDaemonOutput(t);
  await page.goto(`https://127.0.0.1:${daemon.port}/`);
  await shot('01-first-start');
  await setPassword(page, ADMIN_PW);
  await shot('02-sign-in');
  t.is(await login(page, ADMIN_PW), 'wizard', 'a fresh appliance opens the wizard');
});

serial('wizard: a wrong password shows the server\'s error with its hint; the right one shows the server; save bridges the LAN', async (t) => {
  t.timeout(180_000);
  showDaemonOutput(t);
  const server = `${e2e.server.host}:${e2e.server.port}`;
  await fillWizard(page, { name: 'hq', server, hub: e2e.hub, user: e2e.user, password: 'not-the-password', nic: e2e.rootDev });
  await shot('03-wizard');
  const bad = await testConnection(page);
  await shot('04-wizard-test-failed');
  t.false(bad.ok);
  t.regex(bad.errorText, /authentication failed \(error 9\)/);
  t.regex(bad.hint, /user name and password/);

  await page.getByLabel('Password', { exact: true }).fill(e2e.password);
  const good = await testConnection(page);
  await shot('05-wizard-test-ok');
  t.true(good.ok, `${good.errorText} ${good.hint}`);
  t.regex(good.product, /SoftEther VPN Server/);
  t.regex(good.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/i);
  t.is(good.granted.trim(), '8');
  await saveAndConnect(page);
  await waitForCascadeState(page, 'hq', 'online', 60_000);
  await page.waitForFunction(() => /8\D+8/.test((globalThis as any).document.querySelector('article[data-cascade="hq"] [data-k="connections"]')?.textContent ?? ''), null, { timeout: 30_000 });
  const dash = await readDashboard(page);
  const hq = dash.cascades.find((c) => c.name === 'hq')!;
  t.is(hq.state, 'online');
  t.regex(hq.connections, /8\D+8/, `connections shown as "${hq.connections}"`);
  await shot('06-dashboard-online');
  t.true((await linkView(e2e.rootDev)).promiscuity >= 1, 'the chosen NIC is bridged');
});

serial('the LAN reaches the far side; the MAC table shows a host from there', async (t) => {
  t.timeout(90_000);
  showDaemonOutput(t);
  await expectPing(t, e2e.nsA, e2e.b.v4, 'nsA → nsB through the appliance and the server');
  const bMac = (await linkView(HOST_DEV, e2e.nsB)).mac;
  await gotoPage(page, 'MAC table');
  await page.waitForFunction((mac) => (globalThis as any).document.body.innerText.toLowerCase().includes(mac), bMac, { timeout: 20_000 });
  await shot('07-mac-table');
  t.pass(`nsB's MAC ${bMac} is listed`);
});

serial('every page renders with live values, without browser errors; logout ends the session', async (t) => {
  t.timeout(90_000);
  showDaemonOutput(t);
  const pages: NavPage[] = ['Cascades', 'Bridges', 'Health', 'Logs', 'Settings', 'Dashboard'];
  for (const [i, p] of pages.entries()) {
    await gotoPage(page, p);
    await page.waitForTimeout(500);
    await shot(`${String(8 + i).padStart(2, '0')}-${p.toLowerCase().replace(/ /g, '-')}`);
  }
  await gotoPage(page, 'Logs');
  await page.waitForFunction(() => /cascade "hq": online/.test((globalThis as any).document.body.innerText), null, { timeout: 15_000 });
  t.deepEqual(consoleErrors.filter((e) => !/favicon/.test(e)), [], 'no errors in the browser console');
  await logout(page);
  await shot('14-logged-out');
  // The old session cookie is gone: the API refuses the page's calls.
  const status = await page.evaluate(async () => (await fetch('/api/', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"EnumLinkEx","params":{}}' })).status);
  t.is(status, 401);
});
