/** Settings: admin password, configuration export/import, restart, sign out. */
import type { Page } from '../app.ts';
import { confirmDialog, h, readFileInput, replace, toast } from '../dom.ts';
import { busy, checkbox, checked, clearErrors, FieldError, input, setFormError, showError } from '../forms.ts';
import { checkNewPassword, PASSWORD_MAX, PASSWORD_MIN } from './setup.ts';

const MAX_IMPORT_BYTES = 1024 * 1024;

export const settingsPage: Page = (ctx) => {
  // --- password
  const pwBtn = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Change password');
  const pwForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'pw-title', onsubmit: (ev) => void onPassword(ev) },
    h('h2', { id: 'pw-title' }, 'Admin password'),
    h(
      'div',
      { class: 'form-grid' },
      input({ label: 'New password', name: 'PlainTextPassword_str', type: 'password', autocomplete: 'new-password', help: `${PASSWORD_MIN} to ${PASSWORD_MAX} characters.` }),
      input({ label: 'Confirm new password', name: 'confirm', type: 'password', autocomplete: 'new-password' }),
    ),
    h('div', { class: 'actions' }, pwBtn),
  );
  async function onPassword(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    clearErrors(pwForm);
    try {
      const pw = checkNewPassword(pwForm, 'PlainTextPassword_str', 'confirm');
      await busy(pwBtn, 'Saving…', () => ctx.api.call('SetServerPassword', { PlainTextPassword_str: pw }));
      pwForm.reset();
      toast('Admin password changed.');
    } catch (err) {
      showError(pwForm, err);
    }
  }

  // --- export
  const exportBtn = h('button', { type: 'submit', class: 'btn' }, 'Download configuration');
  const exportForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'exp-title', onsubmit: (ev) => void onExport(ev) },
    h('h2', { id: 'exp-title' }, 'Export configuration'),
    checkbox('Include secrets (passwords, keys)', 'IncludeSecrets_bool', false, 'Only for a full backup: keep such a file as safe as the passwords in it.'),
    h('div', { class: 'actions' }, exportBtn),
  );
  async function onExport(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    clearErrors(exportForm);
    try {
      const secrets = checked(exportForm, 'IncludeSecrets_bool');
      const { Config_utf } = await busy(exportBtn, 'Exporting…', () => ctx.api.call<{ Config_utf: string }>('GetConfig', { IncludeSecrets_bool: secrets }));
      const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
      const url = URL.createObjectURL(new Blob([Config_utf], { type: 'application/json' }));
      const a = h('a', { href: url, class: 'hidden' });
      a.download = `sebridge-config-${stamp}${secrets ? '-with-secrets' : ''}.json`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      showError(exportForm, err);
    }
  }

  // --- import
  const importBtn = h('button', { type: 'submit', class: 'btn' }, 'Import configuration');
  const importResult = h('div', { 'aria-live': 'polite' });
  const importForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'imp-title', onsubmit: (ev) => void onImport(ev) },
    h('h2', { id: 'imp-title' }, 'Import configuration'),
    input({ label: 'Configuration file (JSON)', name: 'Config_utf', type: 'file', accept: '.json,application/json', help: 'The appliance checks the whole file first; nothing changes if any part is refused.' }),
    importResult,
    h('div', { class: 'actions' }, importBtn),
  );
  importForm.noValidate = true;
  async function onImport(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    clearErrors(importForm);
    replace(importResult);
    try {
      const fileInput = importForm.querySelector('input[type=file]') as HTMLInputElement;
      const f = fileInput.files?.[0];
      if (!f) throw new FieldError('Config_utf', 'Choose a configuration file');
      if (f.size > MAX_IMPORT_BYTES) throw new FieldError('Config_utf', 'The file is larger than 1 MiB; this is not a sebridge configuration');
      const raw = new TextDecoder().decode((await readFileInput(fileInput)) ?? new Uint8Array());
      try {
        JSON.parse(raw);
      } catch (e) {
        throw new FieldError('Config_utf', `The file is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (!(await confirmDialog('Import configuration?', 'The current configuration is replaced by the file. Cascades may reconnect.', 'Import', false))) return;
      await busy(importBtn, 'Importing…', () => ctx.api.call('SetConfig', { Config_utf: raw }));
      importForm.reset();
      replace(importResult, h('p', { class: 'notice', role: 'status' }, 'Configuration imported.'));
    } catch (err) {
      // A refusal names the field of the configuration it is about: show it as such, next to the file.
      if (err instanceof FieldError) showError(importForm, err);
      else setFormError(importForm, h('span', null, h('strong', null, 'Refused: '), err instanceof Error ? err.message : String(err)));
    }
  }

  // --- restart / logout
  const restartBtn = h('button', { type: 'button', class: 'btn btn-danger' }, 'Restart services');
  restartBtn.onclick = async () => {
    if (!(await confirmDialog('Restart services?', 'All cascades and bridges stop and start again. The LAN loses the VPN for a few seconds.', 'Restart'))) return;
    try {
      await busy(restartBtn, 'Restarting…', () => ctx.api.call('RebootServer', { IntValue_u32: 0 }));
      toast('Services are restarting.');
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), 'error');
    }
  };
  const logoutBtn = h('button', { type: 'button', class: 'btn' }, 'Sign out');
  logoutBtn.onclick = async () => {
    try {
      await ctx.api.logout();
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), 'error');
      return;
    }
    await ctx.refreshAuth();
    ctx.setFlash('You are signed out.');
    ctx.navigate('#/login');
  };

  ctx.main.append(
    h('h1', null, 'Settings'),
    pwForm,
    h('div', { class: 'grid2' }, exportForm, importForm),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'sys-title' },
      h('h2', { id: 'sys-title' }, 'System'),
      h('div', { class: 'actions actions-left' }, restartBtn, logoutBtn),
    ),
  );
};
