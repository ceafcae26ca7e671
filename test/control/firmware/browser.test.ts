/**
 * The Firmware page in Debian's chromium against the real daemon (fake system layer; temp files as slots): a
 * refused file shows why, a good one shows its verification, "Apply and reboot" writes try and reboots — here a
 * simulated reboot that does what the initrd does (take try, boot that slot on trial) and starts the daemon of the
 * new version on the same port — and after signing in again the page says the new version runs, confirmed.
 * Screenshots: test-artifacts/ui/firmware-*.png.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Daemon } from '../../../src/control/daemon.ts';
import { FakeSystem } from '../fake-system.ts';
import { AdminClient } from '../admin-client.ts';
import { firmware, makeSystem, pseudoRandom, type Sys } from './fw-helpers.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SHOTS = path.join(ROOT, 'test-artifacts', 'ui');
const CHROMIUM = '/usr/bin/chromium';
const PW = 'firmware-admin-1';
const T = 20_000;

let browser: Browser;

test.before(async () => {
  await promisify(execFile)(process.execPath, [path.join(ROOT, 'web', 'build.ts')], { cwd: ROOT });
  await mkdir(SHOTS, { recursive: true });
  await writeFile(path.join(ROOT, 'test-artifacts', '.gitignore'), '*\n');
  await access(CHROMIUM).catch(() => {
    throw new Error(`the firmware browser test needs Debian's chromium at ${CHROMIUM} (apt-get install chromium)`);
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

test.after.always(async () => {
  await browser?.close();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function signIn(page: Page): Promise<void> {
  await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: T });
  await page.getByLabel('Admin password').fill(PW);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(SHOTS, `firmware-${name}.png`), fullPage: true });
}

test('firmware page: refused file, verified file, apply and reboot, the new version after the reboot', async (t) => {
  const sys: Sys = await makeSystem(t, { slotBytes: 8 * 1024 * 1024 });
  const dir = await mkdtemp(join(tmpdir(), 'sebd-fwui-'));
  const port = await freePort();
  const errors: string[] = [];
  let daemon: Daemon | null = null;
  let rebooted: Promise<void> | null = null;
  const start = (version: string) =>
    Daemon.start({
      dataDir: join(dir, 'data'), runtimeDir: join(dir, 'run'), web: { host: '127.0.0.1', port }, staticDir: join(ROOT, 'dist', 'web'),
      version, system: new FakeSystem(), echo: () => {},
      firmware: {
        bootEnvPath: sys.bootEnvPath, bootDir: sys.bootDir, keysDir: sys.keysDir, arch: 'x86_64', kernel: '6.1.0-test-amd64', rebootDelayMs: 200,
        reboot: async () => {
          sys.reboots.push(Date.now());
          rebooted = (async () => {
            await daemon!.stop();
            // The initrd: take try (deleting it), boot that slot once on trial.
            const tried = (await readFile(join(sys.bootDir, 'try'), 'utf8')).trim();
            await unlink(join(sys.bootDir, 'try'));
            await sys.writeEnv({ SLOT: tried, ACTIVE: 'a', TRIAL: '1', SLOT_DEV: sys.slotB, OTHER_DEV: sys.slotA });
            await new Promise((r) => setTimeout(r, 2500)); // the machine is away for a while
            daemon = await start('1.3.0');
          })();
        },
      },
    });
  t.teardown(async () => {
    await rebooted?.catch(() => {});
    await daemon?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  daemon = await start('1.2.0');
  await new AdminClient('127.0.0.1', port, daemon.web.certSha256).ok('SetServerPassword', { PlainTextPassword_str: PW });

  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 1000 } });
  t.teardown(() => context.close());
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // Expected while the appliance reboots: failed requests. Anything else (CSP refusals included) is a bug.
    if (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE|status of 401/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  await page.goto(`https://127.0.0.1:${port}/#/firmware`);
  await signIn(page);
  await page.getByRole('link', { name: 'Firmware' }).click();
  await page.getByRole('heading', { name: 'Installed firmware' }).waitFor({ timeout: T });
  t.is(await page.locator('[data-k="version"]').first().textContent(), '1.2.0');
  t.regex((await page.locator('[data-k="slot"]').textContent()) ?? '', /slot A/);
  await shot(page, '01-installed');

  // Not a firmware file at all: refused in the browser, next to the field.
  const fileInput = page.locator('input[name="firmware"]');
  await fileInput.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await page.getByRole('button', { name: 'Upload and verify' }).click();
  await page.locator('.field[data-field="firmware"] .field-error').waitFor({ timeout: T });
  t.regex((await page.locator('.field[data-field="firmware"] .field-error').textContent()) ?? '', /not a sebridge firmware file/);

  // A signed file for another kernel: the daemon refuses it and the page says why.
  const rootfs = pseudoRandom(3 * 1024 * 1024, 77);
  await fileInput.setInputFiles({ name: 'other-kernel.fw', mimeType: 'application/octet-stream', buffer: firmware(rootfs, sys.key, { kernel: '6.12.0-9-amd64' }) });
  await page.getByRole('button', { name: 'Upload and verify' }).click();
  const refused = page.locator('[data-upload-result="error"]');
  await refused.waitFor({ timeout: T });
  t.regex((await refused.textContent()) ?? '', /built for kernel 6\.12\.0-9-amd64, this system runs 6\.1\.0-test-amd64/);
  t.is(await refused.getAttribute('data-reason'), 'kernel');
  t.is(await sys.tryFile(), null);
  await shot(page, '02-refused');

  // The good file.
  await fileInput.setInputFiles({ name: 'sebridge-1.3.0-x86_64.fw', mimeType: 'application/octet-stream', buffer: firmware(rootfs, sys.key) });
  await page.getByRole('button', { name: 'Upload and verify' }).click();
  const ok = page.locator('[data-upload-result="ok"]');
  await ok.waitFor({ timeout: T });
  t.regex((await ok.textContent()) ?? '', /Verified: firmware 1\.3\.0 is in slot B/);
  t.regex((await ok.textContent()) ?? '', new RegExp(sys.key.fingerprint));
  t.true((await readFile(sys.slotB)).subarray(0, rootfs.length).equals(rootfs), 'slot B holds the rootfs');
  await shot(page, '03-verified');

  // Apply: the confirmation first (cancel changes nothing), then for real.
  await page.getByRole('button', { name: 'Apply and reboot' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  t.is(await sys.tryFile(), null, 'cancelled: nothing applied');
  await page.getByRole('button', { name: 'Apply and reboot' }).click();
  await shot(page, '04-confirm');
  await page.getByRole('dialog').getByRole('button', { name: 'Apply and reboot' }).click();
  await page.getByText('The appliance is rebooting', { exact: false }).first().waitFor({ timeout: T });
  await shot(page, '05-rebooting');

  // After the reboot: sign in again and the page shows what runs now.
  await page.getByText('The appliance has restarted. Sign in to see the firmware it runs now.').waitFor({ timeout: 60_000 });
  await signIn(page);
  await page.waitForURL(/#\/firmware$/, { timeout: T });
  const outcome = page.locator('[data-k="outcome"]');
  await outcome.waitFor({ timeout: T });
  t.regex((await outcome.textContent()) ?? '', /The upgrade worked: firmware 1\.3\.0 is running from slot B and is confirmed/);
  t.is(await page.locator('[data-k="version"]').first().textContent(), '1.3.0');
  t.regex((await page.locator('[data-k="trial"]').textContent()) ?? '', /trial boot, confirmed/);
  t.regex((await page.locator('[data-k="other"]').textContent()) ?? '', /^1\.2\.0 \(ran from it before\)$/, 'the previous version is known to be in slot A');
  t.is(await sys.activeFile(), 'b\n', 'the daemon confirmed the trial boot');
  t.is(sys.reboots.length, 1);
  await shot(page, '06-after-reboot');
  t.deepEqual(errors, []);
});
