/** Sign in with the admin password; lock-outs are shown with the time left. */
import { ApiError } from '../api.ts';
import type { Page } from '../app.ts';
import type { LinkEx } from '../types.ts';
import { h } from '../dom.ts';
import { busy, clearErrors, input, setFieldError, showError, value } from '../forms.ts';

const RETURN_KEY = 'sebridge.returnTo';

/** Where to go after the next sign-in (kept in sessionStorage: it must survive a reload and a reboot). */
export function setReturnTo(hash: string): void {
  sessionStorage.setItem(RETURN_KEY, hash);
}

function takeReturnTo(): string | null {
  const v = sessionStorage.getItem(RETURN_KEY);
  sessionStorage.removeItem(RETURN_KEY);
  return v && /^#\/[a-z]+$/.test(v) ? v : null;
}

export const loginPage: Page = (ctx) => {
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in');
  const flash = ctx.takeFlash();
  const form = h(
    'form',
    { class: 'card narrow', 'aria-labelledby': 'login-title', onsubmit: (ev) => void onSubmit(ev) },
    h('h1', { id: 'login-title' }, 'Sign in'),
    flash ? h('p', { class: 'notice', role: 'status' }, flash) : null,
    input({ label: 'Admin password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    h('div', { class: 'actions' }, submit),
  );
  ctx.main.append(form);
  (form.querySelector('input') as HTMLInputElement).focus();

  async function onSubmit(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    clearErrors(form);
    const pw = value(form, 'password');
    if (!pw) {
      setFieldError(form, 'password', 'Enter the admin password');
      return;
    }
    try {
      await busy(submit, 'Signing in…', () => ctx.api.login(pw));
      await ctx.refreshAuth();
      // A page that sent the user here on purpose (the firmware page across its reboot) gets them back.
      const back = takeReturnTo();
      if (back) return ctx.navigate(back);
      // A fresh appliance goes straight to the wizard; once a cascade exists, the dashboard is home.
      const links = await ctx.api.call<{ LinkList: LinkEx[] }>('EnumLinkEx');
      ctx.navigate(links.LinkList.length === 0 ? '#/wizard' : '#/dashboard');
    } catch (err) {
      if (err instanceof ApiError && (err.status === 429 || err.retryAfterS)) {
        const s = err.retryAfterS ?? 60;
        setFieldError(form, 'password', `Too many failed attempts. Try again in ${s} s.`);
      } else if (err instanceof ApiError && err.status === 401) {
        setFieldError(form, 'password', 'Wrong password');
      } else {
        showError(form, err);
      }
      (form.querySelector('input') as HTMLInputElement).select();
    }
  }
};
