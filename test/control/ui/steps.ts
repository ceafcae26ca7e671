/**
 * Browser-driving steps for the sebridge UI, reusable against the fake daemon (ui.test.ts) and, later, the
 * real daemon with a real SoftEther server (the integrator's acceptance test). They use what a user sees:
 * labels, button names and headings — plus a few data- attributes the UI sets for exactly this purpose.
 */
import type { Page } from 'playwright-core';

const T = 15_000;

/** First start: set the admin password; ends on the sign-in page (unless `expectRefusal`). */
export async function setPassword(page: Page, password: string, confirm = password, expectRefusal = false): Promise<void> {
  await page.getByRole('heading', { name: 'Welcome to sebridge' }).waitFor({ timeout: T });
  await page.getByLabel('New admin password').fill(password);
  await page.getByLabel('Confirm password').fill(confirm);
  await page.getByRole('button', { name: 'Set password' }).click();
  if (expectRefusal) await page.locator('.field-error').first().waitFor({ timeout: T });
  else await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: T });
}

/** Sign in; resolves once the wizard (fresh appliance) or the dashboard is shown. */
export async function login(page: Page, password: string): Promise<'wizard' | 'dashboard'> {
  await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: T });
  await page.getByLabel('Admin password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/#\/(wizard|dashboard)$/, { timeout: T });
  return page.url().endsWith('#/wizard') ? 'wizard' : 'dashboard';
}

/** The error shown next to a form control (by its API field name); waits for it, '' if none appears. */
export async function fieldError(page: Page, field: string, timeoutMs = 5000): Promise<string> {
  const el = page.locator(`.field[data-field="${field}"] .field-error`).first();
  try {
    await el.waitFor({ timeout: timeoutMs });
  } catch {
    return '';
  }
  return (await el.textContent()) ?? '';
}

export interface WizardInput {
  name?: string;
  /** host[:port] */
  server: string;
  hub: string;
  user: string;
  password: string;
  /** Raw mode: the NIC to bridge. */
  nic?: string;
  /** TAP mode instead of a NIC. */
  tap?: { device: string; linuxBridge?: string };
  maxConnections?: number;
}

export async function fillWizard(page: Page, w: WizardInput): Promise<void> {
  await page.getByRole('heading', { name: 'Connect this LAN to a VPN server' }).waitFor({ timeout: T });
  if (w.name !== undefined) await page.getByLabel('Connection name').fill(w.name);
  await page.getByLabel('Server address').fill(w.server);
  await page.getByLabel('Virtual hub on the server').fill(w.hub);
  await page.getByLabel('Authentication type').selectOption('1');
  await page.getByLabel('User name', { exact: true }).fill(w.user);
  await page.getByLabel('Password', { exact: true }).fill(w.password);
  if (w.maxConnections !== undefined) {
    await page.getByText('Advanced options').click();
    await page.getByLabel('TCP connections').fill(String(w.maxConnections));
  }
  if (w.tap) {
    await page.getByLabel('Use a TAP device').check();
    await page.getByLabel('TAP device name').fill(w.tap.device);
    await page.getByLabel('Linux bridge to join (optional)').fill(w.tap.linuxBridge ?? '');
  } else if (w.nic) {
    await page.getByLabel('Bridge a network port directly').check();
    await page.locator(`input[name="DeviceName_str"][value="${w.nic}"]`).check();
  }
}

export interface TestOutcome {
  ok: boolean;
  errorText: string;
  hint: string;
  product: string;
  version: string;
  granted: string;
  fingerprint: string;
}

/** Press "Test connection" and read what the UI shows. */
export async function testConnection(page: Page, timeoutMs = 90_000): Promise<TestOutcome> {
  const result = page.locator('[data-test-result]');
  // A previous result is cleared when the test starts; wait for the new one.
  await page.getByRole('button', { name: 'Test connection' }).click();
  await page.getByRole('button', { name: 'Test connection' }).waitFor({ timeout: timeoutMs });
  await result.waitFor({ timeout: timeoutMs });
  const ok = (await result.getAttribute('data-test-result')) === 'ok';
  const text = async (sel: string) => ((await result.locator(sel).count()) ? ((await result.locator(sel).first().textContent()) ?? '') : '');
  return {
    ok,
    errorText: await text('.error-text'),
    hint: await text('.hint'),
    product: await text('[data-k="product"]'),
    version: await text('[data-k="version"]'),
    granted: await text('[data-k="granted"]'),
    fingerprint: await text('[data-k="fingerprint"]'),
  };
}

export async function saveAndConnect(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Save and connect' }).click();
  await page.waitForURL(/#\/dashboard$/, { timeout: 60_000 });
}

/** The whole wizard; throws with the UI's error text if the connection test fails. */
export async function runWizard(page: Page, w: WizardInput): Promise<TestOutcome> {
  await fillWizard(page, w);
  const r = await testConnection(page);
  if (!r.ok) throw new Error(`Test connection failed: ${r.errorText} ${r.hint}`);
  await saveAndConnect(page);
  return r;
}

export interface CascadeCard {
  name: string;
  state: string;
  stateDetail: string;
  connections: string;
  lastError: string;
  /** The certificate check as shown: 'pinned', 'first-use' or 'off'. */
  certMode: string;
  /** The pinned fingerprint as shown (colon pairs), '' if none. */
  pinned: string;
  /** The "certificate changed / not trusted" warning's text, '' when there is none. */
  certWarning: string;
}

/** The cascade cards on the dashboard (waits until at least one is shown). */
export async function readDashboard(page: Page): Promise<{ cascades: CascadeCard[] }> {
  await page.locator('article[data-cascade][data-state]').first().waitFor({ timeout: T });
  const cards = page.locator('article[data-cascade]');
  const out: CascadeCard[] = [];
  for (let i = 0; i < (await cards.count()); i++) {
    const c = cards.nth(i);
    const t = async (sel: string) => ((await c.locator(sel).count()) ? ((await c.locator(sel).first().textContent()) ?? '').trim() : '');
    out.push({
      name: (await c.getAttribute('data-cascade')) ?? '',
      state: (await c.getAttribute('data-state')) ?? '',
      stateDetail: await t('[data-k="state-detail"]'),
      connections: await t('[data-k="connections"]'),
      lastError: await t('[data-k="last-error"]'),
      certMode: (await c.locator('[data-cert]').count()) ? ((await c.locator('[data-cert]').first().getAttribute('data-cert')) ?? '') : '',
      pinned: await t('[data-k="pinned-fingerprint"]'),
      certWarning: await t('[data-k="cert-warning"]'),
    });
  }
  return { cascades: out };
}

/** Wait until the named cascade's card shows `state` (online, waiting, ...). */
export async function waitForCascadeState(page: Page, name: string, state: string, timeoutMs = 60_000): Promise<void> {
  await page.locator(`article[data-cascade="${name}"][data-state="${state}"]`).waitFor({ timeout: timeoutMs });
}

/**
 * The dashboard's "The server's certificate changed" warning on a cascade's card: the fingerprints it shows, then
 * (unless `accept` is false) "Accept the new certificate" and the confirm dialog. Waits for the warning.
 */
export async function acceptNewCertificate(page: Page, name: string, accept = true): Promise<{ trusted: string; presented: string }> {
  const warning = page.locator(`article[data-cascade="${name}"] [data-k="cert-warning"]`);
  await warning.waitFor({ timeout: 60_000 });
  const fp = async (k: string) => ((await warning.locator(`[data-k="${k}"]`).count()) ? ((await warning.locator(`[data-k="${k}"]`).textContent()) ?? '').trim() : '');
  const shown = { trusted: await fp('trusted-fingerprint'), presented: await fp('presented-fingerprint') };
  await warning.getByRole('button').click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor({ timeout: T });
  await dialog.getByRole('button', { name: accept ? /Accept the new certificate|Trust this certificate/ : 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached', timeout: T });
  return shown;
}

export interface MacRow {
  port: string;
  kind: 'cascade' | 'local' | string;
  mac: string;
}

/** The rows of the MAC table page as shown (after the current filter). */
export async function readMacTable(page: Page): Promise<MacRow[]> {
  const rows = page.locator('table tbody tr[data-kind]');
  const out: MacRow[] = [];
  for (let i = 0; i < (await rows.count()); i++) {
    const r = rows.nth(i);
    out.push({
      port: ((await r.locator('[data-k="port"]').textContent()) ?? '').trim(),
      kind: (await r.getAttribute('data-kind')) ?? '',
      mac: ((await r.locator('[data-k="mac"]').textContent()) ?? '').trim(),
    });
  }
  return out;
}

export type NavPage = 'Dashboard' | 'Cascades' | 'Bridges' | 'MAC table' | 'Health' | 'Logs' | 'Settings';

/** Open a page from the main navigation and wait for its heading. */
export async function gotoPage(page: Page, name: NavPage): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { level: 1, name, exact: true }).waitFor({ timeout: T });
}

export async function logout(page: Page): Promise<void> {
  await gotoPage(page, 'Settings');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: T });
}
