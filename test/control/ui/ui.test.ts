/**
 * The browser UI against the fake daemon, in Debian's chromium: first-start password → login → wizard
 * (a failing and then a passing "Test connection") → dashboard → every page, with a screenshot of each
 * under test-artifacts/ui/. Also checks what the UI sends (the SHA-0 password hash, never the plain
 * password), that errors land next to the field they name, that the poller never overlaps requests, and
 * that the strict CSP is never violated.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile, access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { hashPassword } from '../../../src/protocol/password.ts';
import { errorMessage } from '../../../src/protocol/error-codes.ts';
import { startFakeApi, type FakeServer } from './fake-api.ts';
import { fingerprint } from '../../../web/src/format.ts';
import { acceptNewCertificate, fieldError, fillWizard, gotoPage, login, logout, readDashboard, readMacTable, saveAndConnect, setPassword, testConnection, waitForCascadeState } from './steps.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SHOTS = path.join(ROOT, 'test-artifacts', 'ui');
const CHROMIUM = '/usr/bin/chromium';
const ADMIN_PW = 'appliance-admin-1';

let fake: FakeServer;
let browser: Browser;
const pageErrors: string[] = [];

test.before(async () => {
  // Always test the current sources: build dist/web first.
  await promisify(execFile)(process.execPath, [path.join(ROOT, 'web', 'build.ts')], { cwd: ROOT });
  await mkdir(SHOTS, { recursive: true });
  // The screenshots are artifacts, never sources.
  await writeFile(path.join(ROOT, 'test-artifacts', '.gitignore'), '*\n');
  fake = await startFakeApi({ latencyMs: 40 });
  await access(CHROMIUM).catch(() => {
    throw new Error(`the UI test needs Debian's chromium at ${CHROMIUM} (apt-get install chromium)`);
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

test.after.always(async () => {
  await browser?.close();
  await fake?.close();
});

/** Poll `fn` until it returns true (the UI updates asynchronously; fixed sleeps would be flaky under load). */
async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

function watch(page: Page): void {
  page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    const text = msg.text();
    // Expected: the 401 of the deliberately wrong login. Anything else (CSP refusals included) is a bug.
    if (msg.type() === 'error' && !/status of 401/.test(text)) pageErrors.push(`console: ${text} at ${msg.location().url}`);
  });
}

test.serial('first start → login → wizard → dashboard → every page', async (t) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await ctx.newPage();
  watch(page);
  await page.goto(fake.url);

  // --- first start: no default password; the rules are enforced next to the fields
  await page.getByRole('heading', { name: 'Welcome to sebridge' }).waitFor();
  t.regex(page.url(), /#\/setup$/);
  await shot(page, '01-setup');
  await setPassword(page, 'short', 'short', true);
  t.regex(await fieldError(page, 'PlainTextPassword_str'), /at least 8/);
  await setPassword(page, ADMIN_PW, ADMIN_PW + 'x', true);
  t.regex(await fieldError(page, 'confirm'), /do not match/);
  t.is(fake.daemon.password, null, 'nothing was set while the input was invalid');
  await setPassword(page, ADMIN_PW);
  t.is(fake.daemon.password, ADMIN_PW);
  await page.getByText('The admin password is set. Sign in with it.').waitFor();

  // --- login: a wrong password is refused next to the field
  await page.getByLabel('Admin password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.field[data-field="password"] .field-error').waitFor();
  t.regex(await fieldError(page, 'password'), /Wrong password/);
  await shot(page, '02-login');
  t.is(await login(page, ADMIN_PW), 'wizard', 'a fresh appliance opens the wizard');

  // --- wizard: NIC list with the in-use/virtual markers, client-side checks, failing then passing test
  await page.getByRole('heading', { name: 'Connect this LAN to a VPN server' }).waitFor();
  t.is(await page.locator('input[name="DeviceName_str"]').count(), 4);
  await shot(page, '03-wizard');
  await page.getByRole('button', { name: 'Test connection' }).click();
  t.regex(await fieldError(page, 'Hostname_str'), /Enter the server address/);

  const r = fake.daemon.remote;
  await fillWizard(page, { name: 'hq', server: `${r.host}`, hub: r.hub, user: r.user, password: 'not the password', nic: 'eth1', maxConnections: 4 });
  const bad = await testConnection(page);
  t.false(bad.ok);
  t.regex(bad.errorText, /authentication failed \(error 9\)/);
  t.regex(bad.hint, /check user name and password/);
  t.true(await page.getByRole('button', { name: 'Save and connect' }).isDisabled(), 'cannot save after a failed test');
  await shot(page, '04-wizard-test-failed');

  await page.getByLabel('Password', { exact: true }).fill(r.password);
  const good = await testConnection(page);
  t.true(good.ok, JSON.stringify(good));
  t.is(good.product, 'SoftEther VPN Server (64 bit)');
  t.is(good.version, '5.01 build 9674');
  t.is(good.granted, '4');
  t.is(good.fingerprint, fingerprint(fake.daemon.serverCertSha256));
  t.regex((await page.locator('[data-k="save-note"]').textContent()) ?? '', /"Save and connect" trusts this certificate/);
  await shot(page, '05-wizard-test-ok');

  // What went over the wire: SoftEther's SHA-0 hash of password+USER, never the password itself.
  const tests = fake.daemon.calls.filter((c) => c.method === 'TestLink');
  const last = tests[tests.length - 1].params;
  t.is(last.AuthType_u32, 1);
  t.is(last.HashedPassword_bin, hashPassword(r.user, r.password).toString('base64'));
  t.is(last.PlainPassword_str, undefined);
  t.false(JSON.stringify(fake.daemon.calls).includes(r.password), 'the plain cascade password never reached the API');
  t.is(last.Port_u32, 443);
  t.is(last.MaxConnection_u32, 4);

  await saveAndConnect(page);
  const order = fake.daemon.calls.map((c) => c.method).filter((m) => ['CreateLink', 'AddLocalBridge', 'SetLinkOnline'].includes(m));
  t.deepEqual(order, ['CreateLink', 'AddLocalBridge', 'SetLinkOnline']);
  t.deepEqual(fake.daemon.calls.find((c) => c.method === 'AddLocalBridge')?.params, { DeviceName_str: 'eth1', HubNameLB_str: 'BRIDGE', TapMode_bool: false, LinuxBridge_str: '' });
  // Saving pins the certificate the user saw in the test result.
  const createdHq = fake.daemon.calls.find((c) => c.method === 'CreateLink')!.params;
  t.is(createdHq.ServerCertSha256_str, fake.daemon.serverCertSha256);
  t.is(createdHq.CheckServerCert_bool, true);

  // --- dashboard: connecting → online, n of N connections, chart drawn
  await waitForCascadeState(page, 'hq', 'online');
  const dash = await readDashboard(page);
  t.is(dash.cascades.length, 1);
  t.is(dash.cascades[0].state, 'online');
  t.regex(dash.cascades[0].connections, /^4 of 4/);
  t.regex(dash.cascades[0].stateDetail, /^up /);
  t.is(dash.cascades[0].certMode, 'pinned');
  t.is(dash.cascades[0].pinned, fingerprint(fake.daemon.serverCertSha256));
  t.is(dash.cascades[0].certWarning, '');
  await page.locator('article[data-cascade="hq"] .chart canvas').waitFor();
  await page.locator('article[data-bridge="eth1"]').waitFor();
  await page.getByText('Temperature').waitFor();
  await shot(page, '06-dashboard');

  // A failing cascade: "waiting" with a live countdown, the error and its hint, a health warning.
  fake.daemon.failLink('hq', 9);
  await waitForCascadeState(page, 'hq', 'waiting', 10_000);
  const w1 = (await readDashboard(page)).cascades[0];
  t.regex(w1.stateDetail, /next attempt in \d+s/);
  t.regex(w1.lastError, /authentication failed/);
  await page.locator('[data-health="warn"]').getByText('Cascade hq is not connected').waitFor();
  const secs = (s: string) => Number(/(\d+)s/.exec(s)?.[1]);
  await page.waitForTimeout(2200);
  const w2 = (await readDashboard(page)).cascades[0];
  t.true(secs(w2.stateDetail) < secs(w1.stateDetail), `countdown runs: ${w1.stateDetail} → ${w2.stateDetail}`);
  await shot(page, '07-dashboard-waiting');
  fake.daemon.failLink('hq', 0);
  await page.getByRole('button', { name: 'Reconnect now' }).click();
  await waitForCascadeState(page, 'hq', 'online');
  t.true(fake.daemon.calls.some((c) => c.method === 'ReconnectLink' && c.params.AccountName_utf === 'hq'));

  // --- cascades: list, edit form with all options; a server refusal lands next to its field
  await gotoPage(page, 'Cascades');
  await page.locator('tr[data-cascade="hq"]').waitFor();
  await shot(page, '08-cascades');
  await page.locator('tr[data-cascade="hq"]').getByRole('link', { name: 'Edit' }).click();
  await page.getByRole('heading', { name: 'Edit cascade "hq"' }).waitFor();
  await page.getByText('Advanced options').click();
  t.is(await page.getByLabel('TCP connections').inputValue(), '4');
  t.is(await page.getByLabel('Server address').inputValue(), r.host);
  await page.getByLabel('Connection name').fill('hq/main');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('.field[data-field="AccountName_utf"] .field-error').waitFor();
  t.regex(await fieldError(page, 'AccountName_utf'), /AccountName_utf: must not contain/);
  await page.getByLabel('TCP connections').fill('40');
  await page.getByLabel('Connection name').fill('hq');
  await page.getByRole('button', { name: 'Save changes' }).click();
  t.regex(await fieldError(page, 'MaxConnection_u32'), /from 1 to 32/);
  await page.getByLabel('Proxy type').selectOption('1');
  await shot(page, '09-cascade-edit');
  await page.getByLabel('Proxy type').selectOption('0');
  await page.getByLabel('TCP connections').fill('8');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.waitForURL(/#\/cascades$/);
  const setLink = fake.daemon.calls.filter((c) => c.method === 'SetLink').pop()?.params;
  t.is(setLink?.MaxConnection_u32, 8);
  t.is(setLink?.HashedPassword_bin, undefined, 'an empty password field keeps the stored one (not sent)');

  // New cascade, then delete it through the confirm dialog.
  await page.getByRole('link', { name: 'New cascade' }).click();
  await page.getByRole('heading', { name: 'New cascade' }).waitFor();
  await page.getByLabel('Connection name').fill('branch');
  await page.getByLabel('Server address').fill('[2001:db8::10]:5555');
  await page.getByLabel('Virtual hub on the server').fill('BRANCH');
  await page.getByLabel('User name', { exact: true }).fill('bob');
  await page.getByLabel('Password', { exact: true }).fill('pw-of-bob');
  await page.getByLabel('Connect after saving').uncheck();
  await page.getByRole('button', { name: 'Create cascade' }).click();
  await page.locator('tr[data-cascade="branch"]').waitFor();
  const created = fake.daemon.calls.filter((c) => c.method === 'CreateLink').pop()?.params;
  t.is(created?.Hostname_str, '2001:db8::10');
  t.is(created?.Port_u32, 5555);
  await page.locator('tr[data-cascade="branch"]').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.locator('tr[data-cascade="branch"]').waitFor({ state: 'detached' });

  // --- bridges: eth1 is in use now and cannot be picked again
  await gotoPage(page, 'Bridges');
  await page.locator('tr[data-bridge="eth1"]').waitFor();
  t.true(await page.locator('input[name="DeviceName_str"][value="eth1"]').isDisabled());
  await page.getByLabel('Use a TAP device').check();
  await page.getByLabel('TAP device name').fill('bad name!');
  await page.getByRole('button', { name: 'Add bridge' }).click();
  t.regex(await fieldError(page, 'TapDevice'), /TAP device name must be/);
  await page.getByLabel('TAP device name').fill('vpn0');
  await page.getByLabel('Linux bridge to join (optional)').fill('br-lan');
  await page.getByRole('button', { name: 'Add bridge' }).click();
  await page.locator('tr[data-bridge="vpn0"]').waitFor();
  await shot(page, '10-bridges');

  // --- MAC table (EnumMacTableEx): the port is the cascade's name or the interface, with its kind; the filter
  await gotoPage(page, 'MAC table');
  // Remote MACs appear once the cascade is online again (the edit above made it reconnect).
  await page.locator('table tbody tr[data-kind="cascade"]').first().waitFor({ timeout: 15_000 });
  const allRows = await readMacTable(page);
  t.deepEqual([...new Set(allRows.map((x) => `${x.kind} ${x.port}`))].sort(), ['cascade hq', 'local eth1']);
  t.false((await page.locator('table').textContent())?.includes('SID-'), 'the stock session names are not shown');
  await page.getByLabel('Filter').fill('Cascade');
  await until('the kind filter narrows the table', async () => (await readMacTable(page)).length < allRows.length);
  const cascRows = await readMacTable(page);
  t.true(cascRows.length > 0);
  t.deepEqual(new Set(cascRows.map((x) => x.port)), new Set(['hq']));
  await page.getByLabel('Filter').fill('eth1');
  await until('the port filter applies', async () => (await readMacTable(page)).every((x) => x.port === 'eth1'));
  await page.getByLabel('Filter').fill('sid-link');
  await until('the session name still finds the rows', async () => (await readMacTable(page)).every((x) => x.kind === 'cascade'));
  await page.getByLabel('Filter').fill('5e:10:00:2a');
  await until('a MAC filter finds one row', async () => (await readMacTable(page)).length === 1);
  t.is((await readMacTable(page))[0].mac, '02:00:5e:10:00:2a');
  await page.getByLabel('Filter').fill('5E10002B');
  await until('a bare MAC finds its row', async () => (await readMacTable(page)).length === 1);
  await page.getByLabel('Filter').fill('');
  await shot(page, '11-mac-table');

  // --- health: history, settings with a refused webhook URL
  await gotoPage(page, 'Health');
  await page.getByRole('heading', { name: 'History' }).waitFor();
  await page.locator('table tbody tr').first().waitFor();
  // The resource chart draws the API's readings (uPlot's legend lists the series); the timeline has a bar per raise.
  await page.getByRole('heading', { name: 'Resources, last 24 hours' }).waitFor();
  await page.locator('.chart canvas').first().waitFor();
  t.deepEqual(await page.locator('.u-legend .u-label').allInnerTexts(), ['CPU', 'Memory', 'Disk', 'Temperature', 'CPU limit', 'Memory limit', 'Temperature limit']);
  const bars = await page.locator('svg.timeline rect').count();
  t.true(bars >= 1, `the timeline shows the raised warnings (${bars} bars)`);
  t.regex((await page.locator('svg.timeline').getAttribute('aria-label')) ?? '', /cascade-down · hq/);
  await page.getByLabel('Webhook URL').fill('ftp://example.com/hook');
  await page.getByRole('button', { name: 'Save settings' }).click();
  t.regex(await fieldError(page, 'WebhookUrl_str'), /http:\/\/ or https:\/\//);
  await page.getByLabel('Webhook URL').fill('https://hooks.example.com/sebridge');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText('Health settings saved.').waitFor();
  await shot(page, '12-health');

  // --- logs: level filter, text filter, live tail
  await gotoPage(page, 'Logs');
  await page.locator('.log-line').first().waitFor();
  t.true((await page.locator('.log-line .log-level').allTextContents()).includes('INFO'));
  await page.getByLabel('Minimum level').selectOption('warn');
  const onlyWarn = async () => {
    const levels = await page.locator('.log-line .log-level').allTextContents();
    return levels.length > 0 && levels.every((l) => l === 'WARN' || l === 'ERROR');
  };
  await until('only warnings and errors are listed', onlyWarn);
  t.true(await onlyWarn());
  await page.getByLabel('Filter', { exact: true }).fill('bridge:');
  await page.getByLabel('Minimum level').selectOption('debug');
  await until('the text filter applies', async () => {
    const objs = await page.locator('.log-line .log-obj').allTextContents();
    return objs.length > 0 && objs.every((o) => o.startsWith('bridge:'));
  });
  await page.getByLabel('Filter', { exact: true }).fill('');
  await until('the filter is cleared', async () => (await page.locator('.log-line .log-obj', { hasText: 'cascade:' }).count()) > 0);
  await shot(page, '13-logs');

  // --- settings: export downloads JSON without secrets; a refused import names the field; restart confirm
  await gotoPage(page, 'Settings');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download configuration' }).click()]);
  t.regex(download.suggestedFilename(), /^sebridge-config-.*\.json$/);
  const exported = JSON.parse(await readFile((await download.path())!, 'utf8'));
  t.is(exported.cascades[0].AccountName_utf, 'hq');
  t.is(exported.cascades[0].HashedPassword_bin, undefined);
  await page.getByLabel('Configuration file (JSON)').setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify({ version: 1, cascades: [{ AccountName_utf: 'x', Hostname_str: '', HubName_str: 'H' }] })) });
  await page.getByRole('button', { name: 'Import configuration' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Import' }).click();
  await page.locator('.form-error').getByText('cascades[0].Hostname_str').waitFor();
  await page.getByLabel('Configuration file (JSON)').setInputFiles({ name: 'bad2.json', mimeType: 'application/json', buffer: Buffer.from('{not json') });
  await page.getByRole('button', { name: 'Import configuration' }).click();
  t.regex(await fieldError(page, 'Config_utf'), /not valid JSON/);
  await shot(page, '14-settings');
  await page.getByRole('button', { name: 'Restart services' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Restart' }).click();
  await page.getByText('Services are restarting.').waitFor();
  t.true(fake.daemon.calls.some((c) => c.method === 'RebootServer'));

  // --- the poller never had two requests of the same kind in flight
  for (const m of ['EnumLinkEx', 'GetTrafficHistory', 'EnumLocalBridgeEx', 'GetSystemStatus', 'GetHealth', 'GetLogs', 'EnumMacTableEx']) {
    t.true((fake.daemon.maxConcurrent.get(m) ?? 0) <= 1, `${m} overlapped: ${fake.daemon.maxConcurrent.get(m)}`);
  }

  // --- sign out; the API then refuses, and the next login goes to the dashboard
  await logout(page);
  await page.getByText('You are signed out.').waitFor();
  t.is(await login(page, ADMIN_PW), 'dashboard');
  await ctx.close();
  t.deepEqual(pageErrors, []);
});

test.serial('cascade form: certificate files, server certificate pin (file or fingerprint), rename, offline/online', async (t) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  watch(page);
  await page.goto(fake.url);
  await login(page, ADMIN_PW);
  await page.goto(`${fake.url}#/cascade`);
  await page.getByRole('heading', { name: 'New cascade' }).waitFor();
  await page.getByLabel('Connection name').fill('certs');
  await page.getByLabel('Server address').fill('vpn2.example.com:992');
  await page.getByLabel('Virtual hub on the server').fill('LAB');
  await page.getByLabel('Authentication type').selectOption('3');
  t.false(await page.getByLabel('Password', { exact: true }).isVisible(), 'no password field for certificate auth');
  await page.getByLabel('User name', { exact: true }).fill('bridge01');
  await page.getByLabel('Connect after saving').uncheck();
  await page.getByRole('button', { name: 'Create cascade' }).click();
  t.regex(await fieldError(page, 'ClientX_bin'), /Choose the client certificate/);

  const certDer = Buffer.from([0x30, 0x82, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef]);
  const keyDer = Buffer.from([0x30, 0x82, 0x02, 0x00, 0x01, 0x02, 0x03]);
  const pem = (label: string, der: Buffer) => Buffer.from(`-----BEGIN ${label}-----\n${der.toString('base64')}\n-----END ${label}-----\n`);
  await page.getByLabel('Client certificate (PEM or DER)').setInputFiles({ name: 'client.pem', mimeType: 'application/x-pem-file', buffer: pem('CERTIFICATE', certDer) });
  await page.getByLabel('Private key (PEM or DER, unencrypted)').setInputFiles({ name: 'client.key', mimeType: 'application/octet-stream', buffer: keyDer });
  await page.getByText('Advanced options').click();
  t.true(await page.getByLabel('Check the server certificate').isChecked(), 'the certificate check is on by default (trust on first use)');
  await page.getByLabel('Trusted certificate fingerprint (SHA-256)').fill('12:34:not-hex');
  await page.getByRole('button', { name: 'Create cascade' }).click();
  t.regex(await fieldError(page, 'ServerCertSha256_str'), /64 hex digits/);
  const serverDer = Buffer.from([0x30, 0x82, 0x03, 0x00, 0x42]);
  const serverFp = createHash('sha256').update(serverDer).digest('hex');
  await page.getByLabel('Trusted server certificate (PEM or DER)').setInputFiles({ name: 'server.crt', mimeType: 'application/x-x509-ca-cert', buffer: pem('CERTIFICATE', serverDer) });
  await page.getByLabel('Trusted certificate fingerprint (SHA-256)').fill('ab'.repeat(32));
  await page.getByRole('button', { name: 'Create cascade' }).click();
  t.regex(await fieldError(page, 'ServerCert_bin'), /either the fingerprint or the certificate file/);
  await page.getByLabel('Trusted certificate fingerprint (SHA-256)').fill('');
  await page.getByLabel('TCP connections').fill('1');
  await page.getByLabel('Half-duplex (separate upload and download connections)').check();
  await page.getByRole('button', { name: 'Create cascade' }).click();
  t.regex(await fieldError(page, 'HalfConnection_bool'), /at least 2 TCP connections/);
  await page.getByLabel('TCP connections').fill('2');
  await page.getByRole('button', { name: 'Create cascade' }).click();
  await page.locator('tr[data-cascade="certs"]').waitFor();
  const p = fake.daemon.calls.filter((c) => c.method === 'CreateLink').pop()!.params;
  t.is(p.AuthType_u32, 3);
  t.is(p.ClientX_bin, certDer.toString('base64'), 'PEM unwrapped to DER');
  t.is(p.ClientK_bin, keyDer.toString('base64'), 'DER passed through');
  t.is(p.ServerCert_bin, serverDer.toString('base64'));
  t.is(p.ServerCertSha256_str, undefined, 'the file alone pins');
  t.is(p.CheckServerCert_bool, true);
  t.is(p.HalfConnection_bool, true);
  t.is(p.Port_u32, 992);
  t.is(p.HashedPassword_bin, undefined);

  // Rename through the edit form: RenameLink first, then SetLink under the new name.
  await page.locator('tr[data-cascade="certs"]').getByRole('link', { name: 'Edit' }).click();
  await page.getByRole('heading', { name: 'Edit cascade "certs"' }).waitFor();
  t.is(await page.getByLabel('Trusted certificate fingerprint (SHA-256)').inputValue(), fingerprint(serverFp), 'the pinned fingerprint is shown');
  await page.getByLabel('Connection name').fill('lab');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('tr[data-cascade="lab"]').waitFor();
  const methods = fake.daemon.calls.map((c) => c.method);
  t.deepEqual(methods.slice(methods.lastIndexOf('RenameLink'), methods.lastIndexOf('RenameLink') + 2), ['RenameLink', 'SetLink']);
  const set = fake.daemon.calls.filter((c) => c.method === 'SetLink').pop()!.params;
  t.is(set.AccountName_utf, 'lab');
  t.is(set.ClientX_bin, certDer.toString('base64'), 'the stored certificate is kept when no new file is chosen');
  t.is(set.ServerCert_bin, undefined, 'the stored pin is kept by not sending it again');
  t.is(set.ServerCertSha256_str, undefined);
  t.is(fake.daemon.linkPin('lab'), serverFp);

  // Online / offline from the list.
  await page.locator('tr[data-cascade="lab"]').getByRole('button', { name: 'Set online' }).click();
  await page.locator('tr[data-cascade="lab"]').getByRole('button', { name: 'Set offline' }).waitFor();
  await page.locator('tr[data-cascade="lab"]').getByRole('button', { name: 'Set offline' }).click();
  await page.locator('tr[data-cascade="lab"]').getByRole('button', { name: 'Set online' }).waitFor();
  t.true(fake.daemon.calls.some((c) => c.method === 'SetLinkOnline' && c.params.AccountName_utf === 'lab'));
  t.true(fake.daemon.calls.some((c) => c.method === 'SetLinkOffline' && c.params.AccountName_utf === 'lab'));
  await page.locator('tr[data-cascade="lab"]').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  t.false(fake.daemon.calls.some((c) => c.method === 'DeleteLink' && c.params.AccountName_utf === 'lab'), 'Cancel deletes nothing');
  await page.locator('tr[data-cascade="lab"]').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.locator('tr[data-cascade="lab"]').waitFor({ state: 'detached' });
  await ctx.close();
  t.deepEqual(pageErrors, []);
});

test.serial('a narrow phone-sized screen shows the dashboard without horizontal scrolling', async (t) => {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();
  watch(page);
  await page.goto(fake.url);
  await login(page, ADMIN_PW);
  await waitForCascadeState(page, 'hq', 'online');
  // The chart is filled right away, not only at the next 10 s history refresh.
  await page.locator('article[data-cascade="hq"] .chart canvas').waitFor({ timeout: 4000 });
  await shot(page, '15-dashboard-mobile');
  const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
  t.true((overflow as number) <= 0, `page is ${overflow}px wider than the screen`);
  await ctx.close();
  t.deepEqual(pageErrors, []);
});

test.serial('a hidden tab polls nothing; a failing section shows the banner until it recovers', async (t) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  watch(page);
  await page.goto(fake.url);
  await login(page, ADMIN_PW);
  await waitForCascadeState(page, 'hq', 'online');
  const count = () => fake.daemon.calls.filter((c) => c.method === 'EnumLinkEx').length;
  // Pretend the tab went to the background, as the browser would report it.
  await page.evaluate(`Object.defineProperty(document, 'hidden', { configurable: true, get: () => true }); document.dispatchEvent(new Event('visibilitychange'))`);
  await page.waitForTimeout(500);
  const before = count();
  await page.waitForTimeout(4500);
  t.is(count(), before, 'no EnumLinkEx while hidden');
  await page.evaluate(`Object.defineProperty(document, 'hidden', { configurable: true, get: () => false }); document.dispatchEvent(new Event('visibilitychange'))`);
  await until('polling resumes when visible', async () => count() > before);

  // The daemon stops answering one method: the banner names the failure; it goes away on recovery.
  fake.daemon.breakMethod('GetSystemStatus', true);
  const banner = page.locator('#banner');
  await banner.getByText('Live data could not be refreshed').waitFor({ timeout: 15_000 });
  t.regex((await banner.textContent()) ?? '', /GetSystemStatus is broken/);
  await shot(page, '16-dashboard-banner');
  fake.daemon.breakMethod('GetSystemStatus', false);
  await banner.waitFor({ state: 'hidden', timeout: 15_000 });

  // The session ends behind the page's back: the next poll gets 401 and the page asks to sign in again.
  fake.daemon.dropSessions();
  await page.getByText('Your session has ended. Please sign in again.').waitFor({ timeout: 15_000 });
  t.regex(page.url(), /#\/login$/);
  t.true(await page.getByRole('navigation', { name: 'Main' }).isHidden());
  await ctx.close();
  t.deepEqual(pageErrors, []);
});

test.serial('a RADIUS/NT-domain (plain-text) password needs a trusted certificate: the test offers the fingerprint, saving pins it', async (t) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  watch(page);
  await page.goto(fake.url);
  await login(page, ADMIN_PW);
  await page.goto(`${fake.url}#/cascade`);
  await page.getByRole('heading', { name: 'New cascade' }).waitFor();
  const r = fake.daemon.remote;
  await page.getByLabel('Connection name').fill('radius');
  await page.getByLabel('Server address').fill(r.host);
  await page.getByLabel('Virtual hub on the server').fill(r.hub);
  await page.getByLabel('Authentication type').selectOption('2');
  await page.getByLabel('User name', { exact: true }).fill(r.user);
  await page.getByLabel('Password', { exact: true }).fill(r.password);
  t.regex((await page.locator('.field[data-field="password"] .help').textContent()) ?? '', /only over a certificate you trusted/, 'the help says where this password goes');
  await page.getByText('Advanced options').click();
  await page.getByLabel('Check the server certificate').uncheck();
  await page.getByRole('button', { name: 'Test connection' }).click();
  t.regex(await fieldError(page, 'CheckServerCert_bool'), /plain text.*turn the check on/);
  t.false(fake.daemon.calls.some((c) => c.method === 'TestLink' && c.params.AuthType_u32 === 2), 'nothing was sent with the check off');
  await page.getByLabel('Check the server certificate').check();

  // First test: refused before the password is sent; the server's fingerprint is offered.
  const refused = await testConnection(page);
  t.false(refused.ok);
  t.regex(refused.errorText, /error 85/);
  const offer = page.locator('[data-k="cert-offer"]');
  t.is((await offer.locator('[data-k="presented-fingerprint"]').textContent())?.trim(), fingerprint(fake.daemon.serverCertSha256));
  await shot(page, '17-cascade-plain-password-offer');
  const tests = () => fake.daemon.calls.filter((c) => c.method === 'TestLink').length;
  const before = tests();
  await offer.getByRole('button', { name: 'Trust this certificate and test again' }).click();
  await until('the second test ran', async () => tests() > before);
  await page.locator('[data-test-result="ok"]').waitFor({ timeout: 15_000 });
  t.is(await page.getByLabel('Trusted certificate fingerprint (SHA-256)').inputValue(), fingerprint(fake.daemon.serverCertSha256));
  const retest = fake.daemon.calls.filter((c) => c.method === 'TestLink').pop()!.params;
  t.is(retest.ServerCertSha256_str, fake.daemon.serverCertSha256);
  await page.getByRole('button', { name: 'Create cascade' }).click();
  await page.locator('tr[data-cascade="radius"]').waitFor();
  const created = fake.daemon.calls.filter((c) => c.method === 'CreateLink').pop()!.params;
  t.is(created.AuthType_u32, 2);
  t.is(created.PlainPassword_str, r.password);
  t.is(created.ServerCertSha256_str, fake.daemon.serverCertSha256);
  await gotoPage(page, 'Dashboard');
  await waitForCascadeState(page, 'radius', 'online');
  t.is((await readDashboard(page)).cascades.find((c) => c.name === 'radius')?.certMode, 'pinned');
  await gotoPage(page, 'Cascades');
  await page.locator('tr[data-cascade="radius"]').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.locator('tr[data-cascade="radius"]').waitFor({ state: 'detached' });
  await ctx.close();
  t.deepEqual(pageErrors, []);
});

test.serial('the server\'s certificate changed: the card shows both fingerprints; only the explicit, confirmed accept pins the new one', async (t) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  watch(page);
  await page.goto(fake.url);
  await login(page, ADMIN_PW);
  await waitForCascadeState(page, 'hq', 'online');
  const old = fake.daemon.serverCertSha256;
  const now = fake.daemon.rotateServerCert();
  await waitForCascadeState(page, 'hq', 'waiting', 15_000);
  const card = (await readDashboard(page)).cascades.find((c) => c.name === 'hq')!;
  t.regex(card.certWarning, /The server's certificate changed/);
  t.regex(card.lastError, /server certificate changed/);
  const connectFailedHint = errorMessage(1).split('): ')[1];
  t.truthy(connectFailedHint);
  t.false(card.lastError.includes(connectFailedHint), 'no misleading "connect failed" hint under a certificate refusal');
  t.is(card.pinned, fingerprint(old), 'still pinned to the old certificate');
  await shot(page, '18-dashboard-cert-changed');
  // On a phone the warning and both fingerprints fit the screen (they wrap between pairs).
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
  t.true((overflow as number) <= 0, `page is ${overflow}px wider than the screen`);
  await shot(page, '19-dashboard-cert-changed-mobile');
  await page.setViewportSize({ width: 1280, height: 900 });
  await gotoPage(page, 'Cascades');
  t.is((await page.locator('tr[data-cascade="hq"] [data-k="cert-tag"]').textContent())?.trim(), 'certificate changed');
  await page.locator('tr[data-cascade="hq"] [data-k="cert-tag"]').click();
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();

  // Cancel changes nothing.
  const shown = await acceptNewCertificate(page, 'hq', false);
  t.deepEqual(shown, { trusted: fingerprint(old), presented: fingerprint(now) });
  t.false(fake.daemon.calls.some((c) => c.method === 'TrustLinkCert'), 'Cancel accepts nothing');
  t.is(fake.daemon.linkPin('hq'), old);

  await acceptNewCertificate(page, 'hq');
  // The call goes out after the dialog closed: wait for it rather than race it.
  await until('TrustLinkCert was called', async () => fake.daemon.calls.some((c) => c.method === 'TrustLinkCert'));
  const trust = fake.daemon.calls.filter((c) => c.method === 'TrustLinkCert').pop()!.params;
  t.deepEqual(trust, { AccountName_utf: 'hq', ServerCertSha256_str: now });
  await waitForCascadeState(page, 'hq', 'online', 15_000);
  await page.locator('article[data-cascade="hq"] [data-k="cert-warning"]').waitFor({ state: 'detached' });
  const after = (await readDashboard(page)).cascades.find((c) => c.name === 'hq')!;
  t.is(after.pinned, fingerprint(now));
  t.is(after.certWarning, '');
  await ctx.close();
  t.deepEqual(pageErrors, []);
});

test.serial('repeated wrong admin passwords lock the login, and the page says for how long', async (t) => {
  const own = await startFakeApi();
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  watch(page);
  try {
    own.daemon.password = 'the-right-password';
    await page.goto(own.url);
    for (let i = 0; i < 5; i++) {
      await page.getByLabel('Admin password').fill(`wrong-${i}`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      t.regex(await fieldError(page, 'password'), /Wrong password|Too many failed attempts/);
    }
    await page.getByLabel('Admin password').fill('the-right-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await until('the lock-out is shown', async () => /Too many failed attempts\. Try again in \d+ s/.test(await fieldError(page, 'password')));
    t.regex(page.url(), /#\/login$/);
  } finally {
    await ctx.close();
    await own.close();
  }
  t.deepEqual(pageErrors.filter((e) => !/status of 429/.test(e)), []);
});
