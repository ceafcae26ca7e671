/**
 * The shell: hash routing, the login/setup gate, the navigation and the shared poller. Pages render into
 * <main>; on every route change the poller drops the old page's tasks so nothing keeps polling behind.
 */
import { Api, ApiError } from './api.ts';
import type { Ctx, Page } from './app.ts';
import { h, replace } from './dom.ts';
import { Poller } from './poller.ts';
import { setupPage } from './pages/setup.ts';
import { loginPage } from './pages/login.ts';
import { wizardPage } from './pages/wizard.ts';
import { dashboardPage } from './pages/dashboard.ts';
import { cascadesPage, cascadeEditPage } from './pages/cascades.ts';
import { bridgesPage } from './pages/bridges.ts';
import { macTablePage } from './pages/mactable.ts';
import { healthPage } from './pages/health.ts';
import { logsPage } from './pages/logs.ts';
import { settingsPage } from './pages/settings.ts';
import { firmwarePage } from './pages/firmware.ts';

const ROUTES: Record<string, { page: Page; title: string; nav?: string; open?: boolean }> = {
  setup: { page: setupPage, title: 'Set admin password', open: true },
  login: { page: loginPage, title: 'Sign in', open: true },
  wizard: { page: wizardPage, title: 'Connect to a VPN server' },
  dashboard: { page: dashboardPage, title: 'Dashboard', nav: 'Dashboard' },
  cascades: { page: cascadesPage, title: 'Cascades', nav: 'Cascades' },
  cascade: { page: cascadeEditPage, title: 'Cascade' },
  bridges: { page: bridgesPage, title: 'Bridges', nav: 'Bridges' },
  mac: { page: macTablePage, title: 'MAC table', nav: 'MAC table' },
  health: { page: healthPage, title: 'Health', nav: 'Health' },
  logs: { page: logsPage, title: 'Logs', nav: 'Logs' },
  firmware: { page: firmwarePage, title: 'Firmware', nav: 'Firmware' },
  settings: { page: settingsPage, title: 'Settings', nav: 'Settings' },
};

const api = new Api();
const poller = new Poller({
  setInterval: (fn, ms) => window.setInterval(fn, ms),
  clearInterval: (hnd) => window.clearInterval(hnd as number),
  isHidden: () => document.hidden,
});
const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const banner = document.getElementById('banner') as HTMLElement;

let setupRequired = false;
let loggedIn = false;
let renderSeq = 0;
let flash: string | null = null;
/** Each render gets its own container, so a slow page that finishes after navigation writes into a detached node. */
let currentView: HTMLElement = main;
const leaving: Array<() => void> = [];

/** Live sections whose last refresh failed, by poll id: the banner stays up until all of them recover. */
const failing = new Map<number, string>();
let pollSeq = 0;

function showFailures(): void {
  const msgs = [...new Set(failing.values())];
  showBanner(msgs.length === 0 ? null : `Live data could not be refreshed: ${msgs.join(' · ')}`);
}

function showBanner(text: string | null): void {
  banner.hidden = text === null;
  banner.textContent = text ?? '';
}

const ctx: Ctx = {
  api,
  poller,
  main,
  setFlash(text) {
    flash = text;
  },
  takeFlash() {
    const f = flash;
    flash = null;
    return f;
  },
  navigate(hash: string) {
    if (location.hash === hash) void render();
    else location.hash = hash;
  },
  poll(everySeconds, fn) {
    const seq = renderSeq;
    // A page that finished rendering after the user already left must not leave a task behind.
    if (seq !== renderSeq || !main.contains(currentView)) return;
    const id = ++pollSeq;
    poller.add(everySeconds, async () => {
      if (seq !== renderSeq) return;
      try {
        await fn();
        failing.delete(id);
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return;
        failing.set(id, err instanceof Error ? err.message : String(err));
      }
      if (seq === renderSeq) showFailures();
    });
  },
  onLeave(fn) {
    leaving.push(fn);
  },
  async refreshAuth() {
    const st = await api.authState();
    setupRequired = st.setupRequired;
    loggedIn = st.loggedIn;
  },
};

api.onUnauthorized = () => {
  if (!loggedIn) return;
  loggedIn = false;
  flash = 'Your session has ended. Please sign in again.';
  ctx.navigate('#/login');
};

function parseHash(): { name: string; arg: string } {
  const m = /^#\/([a-z]+)(?:\/(.*))?$/.exec(location.hash);
  return { name: m?.[1] ?? '', arg: m?.[2] ? decodeURIComponent(m[2]) : '' };
}

function renderNav(current: string): void {
  nav.hidden = !loggedIn;
  if (!loggedIn) return;
  const active = current === 'cascade' || current === 'wizard' ? 'cascades' : current;
  replace(
    nav,
    h(
      'ul',
      null,
      Object.entries(ROUTES)
        .filter(([, r]) => r.nav)
        .map(([name, r]) => h('li', null, h('a', { href: `#/${name}`, 'aria-current': name === active ? 'page' : undefined }, r.nav!))),
    ),
  );
}

async function render(): Promise<void> {
  renderSeq += 1;
  const seq = renderSeq;
  poller.clear();
  for (const fn of leaving.splice(0)) fn();
  failing.clear();
  showBanner(null);
  let { name, arg } = parseHash();
  if (setupRequired && name !== 'setup') name = 'setup';
  else if (!setupRequired && !loggedIn && name !== 'login') name = 'login';
  else if (loggedIn && (name === 'login' || name === 'setup' || !ROUTES[name])) name = 'dashboard';
  if (parseHash().name !== name) history.replaceState(null, '', `#/${name}`);
  const route = ROUTES[name];
  document.title = `${route.title} · sebridge`;
  renderNav(name);
  const view = h('div', { class: 'view' });
  currentView = view;
  replace(main, view);
  try {
    await route.page({ ...ctx, main: view }, arg);
  } catch (err) {
    if (seq !== renderSeq) return;
    if (err instanceof ApiError && err.status === 401) return;
    replace(view, h('h1', null, route.title), h('div', { class: 'form-error', role: 'alert' }, err instanceof Error ? err.message : String(err)));
  }
  if (seq === renderSeq && document.activeElement === document.body) main.focus({ preventScroll: true });
}

async function boot(): Promise<void> {
  try {
    const st = await api.authState();
    setupRequired = st.setupRequired;
    loggedIn = st.loggedIn;
    const info = await api.call<{ Hostname_str: string }>('GetSetupState').catch(() => null);
    if (info?.Hostname_str) (document.getElementById('host') as HTMLElement).textContent = info.Hostname_str;
  } catch (err) {
    replace(
      main,
      h('div', { class: 'form-error', role: 'alert' }, `Cannot reach the appliance: ${err instanceof Error ? err.message : String(err)}`),
      h('button', { type: 'button', class: 'btn', onclick: () => location.reload() }, 'Try again'),
    );
    return;
  }
  poller.start();
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) poller.refresh();
  });
  window.addEventListener('hashchange', () => void render());
  await render();
}

void boot();
