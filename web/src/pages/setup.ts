/** First start: there is no default password; the operator sets one (8..255 characters, typed twice). */
import type { Page } from '../app.ts';
import { h, append } from '../dom.ts';
import { busy, clearErrors, FieldError, input, showError, value } from '../forms.ts';
import { fingerprint } from '../format.ts';

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 255;

/** Check a new admin password and its confirmation; errors name the control. */
export function checkNewPassword(form: HTMLElement, name: string, confirmName: string): string {
  const pw = value(form, name);
  const len = [...pw].length;
  if (len < PASSWORD_MIN) throw new FieldError(name, `The password needs at least ${PASSWORD_MIN} characters`);
  if (len > PASSWORD_MAX) throw new FieldError(name, `The password can have at most ${PASSWORD_MAX} characters`);
  if (value(form, confirmName) !== pw) throw new FieldError(confirmName, 'The two passwords do not match');
  return pw;
}

export const setupPage: Page = async (ctx) => {
  const info = await ctx.api
    .call<{ Version_str: string; Hostname_str: string; WebCertSha256_str: string }>('GetSetupState')
    .catch(() => null);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Set password');
  const form = h(
    'form',
    { class: 'card narrow', 'aria-labelledby': 'setup-title', onsubmit: (ev) => void onSubmit(ev) },
    h('h1', { id: 'setup-title' }, 'Welcome to sebridge'),
    h('p', null, 'This appliance has no admin password yet. Choose one now; you will use it to sign in to this page.'),
    input({ label: 'New admin password', name: 'PlainTextPassword_str', type: 'password', autocomplete: 'new-password', required: true, help: `${PASSWORD_MIN} to ${PASSWORD_MAX} characters.` }),
    input({ label: 'Confirm password', name: 'confirm', type: 'password', autocomplete: 'new-password', required: true }),
    h('div', { class: 'actions' }, submit),
  );
  if (info?.WebCertSha256_str) {
    append(form, [
      h(
        'p',
        { class: 'help' },
        'Check that your browser shows this certificate fingerprint (SHA-256) for this page before entering a password: ',
        h('code', { class: 'fp' }, fingerprint(info.WebCertSha256_str)),
      ),
    ]);
  }
  ctx.main.append(form);
  (form.querySelector('input') as HTMLInputElement).focus();

  async function onSubmit(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    clearErrors(form);
    try {
      const pw = checkNewPassword(form, 'PlainTextPassword_str', 'confirm');
      await busy(submit, 'Saving…', () => ctx.api.call('SetServerPassword', { PlainTextPassword_str: pw }));
      await ctx.refreshAuth();
      ctx.setFlash('The admin password is set. Sign in with it.');
      ctx.navigate('#/login');
    } catch (err) {
      showError(form, err);
    }
  }
};
