/**
 * The setup wizard: where the VPN server is, how to log in, which network to bridge; "Test connection"
 * does a real login (TestLink) and shows what the server said, its certificate's fingerprint included;
 * "Save and connect" creates the cascade trusting (pinning) exactly that certificate — the user saw and
 * accepted it — then adds the local bridge and brings the cascade online. Re-running it after a partial failure continues where it
 * stopped instead of creating duplicates.
 */
import type { Page } from '../app.ts';
import { h, replace, toast } from '../dom.ts';
import { busy, clearErrors, FieldError, setFormError, showError } from '../forms.ts';
import { linkForm, LINK_ALIASES } from '../link-form.ts';
import { bridgeForm } from '../bridge-form.ts';
import { renderTestResult } from '../test-result.ts';
import { fingerprintHex } from '../format.ts';
import { HUB, type LinkParams, type TestLinkResult } from '../types.ts';

export const wizardPage: Page = async (ctx) => {
  const link = linkForm({ compact: true });
  const bridge = await bridgeForm(ctx.api);
  const result = h('div', { class: 'test-result', 'aria-live': 'polite' });
  const progress = h('ol', { class: 'progress', 'aria-live': 'polite' });
  const testBtn = h('button', { type: 'button', class: 'btn', onclick: () => void onTest() }, 'Test connection');
  const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary', disabled: true }, 'Save and connect');
  const form = h(
    'form',
    { class: 'card wizard', 'aria-labelledby': 'wiz-title', onsubmit: (ev) => void onSave(ev) },
    h('h1', { id: 'wiz-title' }, 'Connect this LAN to a VPN server'),
    h('p', { class: 'muted' }, 'Enter the SoftEther VPN Server and the account this appliance uses, choose the local network, test, then save.'),
    link.el,
    bridge.el,
    result,
    h('div', { class: 'actions' }, testBtn, saveBtn),
    progress,
  );
  form.noValidate = true;
  ctx.main.append(form);

  let tested: string | null = null;
  /** The certificate the passing test saw (what "Save and connect" pins). */
  let testedCert = '';
  let created = false;
  let bridged = false;
  const invalidate = () => {
    // A passing test covers exactly the connection settings that were tested (not the local NIC choice).
    saveBtn.disabled = true;
    tested = null;
    testedCert = '';
  };
  link.el.addEventListener('input', invalidate);
  link.el.addEventListener('change', invalidate);

  const aliases = () => ({ ...LINK_ALIASES, ...bridge.aliases() });

  async function onTest(): Promise<void> {
    clearErrors(form);
    replace(result);
    try {
      const p = await link.read();
      bridge.read();
      const r = await busy(testBtn, 'Testing…', () => ctx.api.call<TestLinkResult>('TestLink', p));
      const saveNote = p.CheckServerCert_bool
        ? '"Save and connect" trusts this certificate: the cascade will log in only to a server that presents it. ' +
          'Compare the fingerprint with the one the server\'s administrator gives you before you save.'
        : 'The certificate check is off (Advanced options): the cascade will accept any certificate.';
      replace(
        result,
        renderTestResult(r, {
          saveNote,
          onTrust: (sha256) => {
            link.setPin(sha256);
            void onTest();
          },
        }),
      );
      if (r.Success_bool) {
        tested = JSON.stringify(p);
        testedCert = p.CheckServerCert_bool ? fingerprintHex(r.ServerCertSha256_str) : '';
        saveBtn.disabled = false;
        saveBtn.focus();
      }
    } catch (err) {
      showError(form, err, aliases());
    }
  }

  async function onSave(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    clearErrors(form);
    let p: LinkParams;
    try {
      p = await link.read();
      if (JSON.stringify(p) !== tested) throw new Error('The settings changed after the test. Test the connection again.');
    } catch (err) {
      showError(form, err, aliases());
      return;
    }
    const step = (text: string) => {
      const li = h('li', null, text);
      progress.append(li);
      return li;
    };
    replace(progress);
    await busy(saveBtn, 'Saving…', async () => {
      try {
        const s1 = step(`${created ? 'Updating' : 'Creating'} the cascade${testedCert ? ', trusting the tested certificate' : ''}…`);
        // The pin is the certificate the user saw in the test result and accepted by saving.
        await ctx.api.call(created ? 'SetLink' : 'CreateLink', { ...p, Online_bool: false, ...(testedCert ? { ServerCertSha256_str: testedCert } : {}) });
        created = true;
        s1.className = 'done';
        if (!bridged) {
          const b = bridge.read();
          const s2 = step(`Bridging ${b.DeviceName_str} into the hub…`);
          await ctx.api.call('AddLocalBridge', b);
          bridged = true;
          s2.className = 'done';
        }
        const s3 = step('Connecting…');
        await ctx.api.call('SetLinkOnline', { HubName_str: HUB, AccountName_utf: p.AccountName_utf });
        s3.className = 'done';
        toast(`Cascade "${p.AccountName_utf}" saved; connecting.`);
        ctx.navigate('#/dashboard');
      } catch (err) {
        const last = progress.lastElementChild;
        if (last && last.className !== 'done') last.className = 'failed';
        if (err instanceof FieldError || (err instanceof Error && 'field' in err && err.field)) showError(form, err, aliases());
        else setFormError(form, err instanceof Error ? err.message : String(err));
      }
    });
  }
};
