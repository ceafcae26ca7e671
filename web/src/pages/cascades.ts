/** Cascades: the list with online/offline, edit and delete, and the full create/edit form. */
import type { Page } from '../app.ts';
import { confirmDialog, h, replace, toast } from '../dom.ts';
import { busy, checkbox, checked, clearErrors, setFormError, showError } from '../forms.ts';
import { linkForm, LINK_ALIASES } from '../link-form.ts';
import { renderTestResult } from '../test-result.ts';
import { STATE_LABEL } from './dashboard.ts';
import { fingerprintHex } from '../format.ts';
import { HUB, type LinkEx, type LinkParams, type TestLinkResult } from '../types.ts';

export const cascadesPage: Page = (ctx) => {
  const body = h('div');
  ctx.main.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Cascades'), h('a', { class: 'btn btn-primary', href: '#/cascade' }, 'New cascade')),
    h('p', { class: 'muted' }, 'Each cascade is a connection from this appliance to a virtual hub on a SoftEther VPN Server.'),
    body,
  );

  async function act(button: HTMLButtonElement, label: string, fn: () => Promise<unknown>, done: string): Promise<void> {
    try {
      await busy(button, label, fn);
      toast(done);
      ctx.poller.refresh();
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), 'error');
    }
  }

  function row(l: LinkEx): HTMLElement {
    const name = l.AccountName_utf;
    const toggle = h('button', { type: 'button', class: 'btn btn-small' }, l.Online_bool ? 'Set offline' : 'Set online');
    toggle.onclick = () =>
      void act(toggle, l.Online_bool ? 'Stopping…' : 'Starting…', () => ctx.api.call(l.Online_bool ? 'SetLinkOffline' : 'SetLinkOnline', { HubName_str: HUB, AccountName_utf: name }), `"${name}" is ${l.Online_bool ? 'offline' : 'going online'}.`);
    const del = h('button', { type: 'button', class: 'btn btn-small btn-danger' }, 'Delete');
    del.onclick = async () => {
      if (!(await confirmDialog('Delete cascade?', `The cascade "${name}" to ${l.Hostname_str} will be disconnected and removed. This cannot be undone.`, 'Delete'))) return;
      await act(del, 'Deleting…', () => ctx.api.call('DeleteLink', { HubName_str: HUB, AccountName_utf: name }), `"${name}" deleted.`);
    };
    return h(
      'tr',
      { 'data-cascade': name },
      h('td', null, h('a', { href: `#/cascade/${encodeURIComponent(name)}` }, name)),
      h('td', null, `${l.Hostname_str}:${l.Port_u32}`),
      h('td', null, l.TargetHubName_str),
      h('td', null, l.Username_str || '(anonymous)'),
      h(
        'td',
        null,
        h('span', { class: `state state-${l.State_str}` }, STATE_LABEL[l.State_str] ?? l.State_str),
        // Certificate trouble is acted on from the dashboard's card; the list only points at it.
        l.PresentedCertSha256_str
          ? h('a', { class: 'tag tag-bad', href: '#/dashboard', 'data-k': 'cert-tag' }, l.PinnedCertSha256_str ? 'certificate changed' : 'certificate not trusted')
          : l.CertCheck_str === 'off'
            ? h('span', { class: 'tag', 'data-k': 'cert-tag' }, 'certificate not checked')
            : null,
      ),
      h('td', null, h('div', { class: 'row-actions' }, toggle, h('a', { class: 'btn btn-small', href: `#/cascade/${encodeURIComponent(name)}` }, 'Edit'), del)),
    );
  }

  ctx.poll(3, async () => {
    const { LinkList } = await ctx.api.call<{ LinkList: LinkEx[] }>('EnumLinkEx');
    if (body.contains(document.activeElement) && document.activeElement?.getAttribute('aria-busy')) return;
    replace(
      body,
      LinkList.length === 0
        ? h('div', { class: 'card empty' }, h('p', null, 'No cascade yet.'), h('a', { class: 'btn', href: '#/wizard' }, 'Run the setup wizard'))
        : h(
            'div',
            { class: 'table-wrap card' },
            h(
              'table',
              { class: 'table' },
              h('thead', null, h('tr', null, ['Name', 'Server', 'Remote hub', 'User', 'State', ''].map((c) => h('th', { scope: 'col' }, c)))),
              h('tbody', null, LinkList.map(row)),
            ),
          ),
    );
  });
};

export const cascadeEditPage: Page = async (ctx, arg) => {
  const editing = arg !== '';
  // The stored name; changes once a rename succeeded, so a retry after a later failure does not rename twice.
  let current = arg;
  const existing = editing ? await ctx.api.call<LinkParams>('GetLink', { HubName_Ex_str: HUB, AccountName_utf: arg }) : undefined;
  // GetLink has the stock fields only; the trusted fingerprint is in EnumLinkEx.
  const pinned = editing
    ? ((await ctx.api.call<{ LinkList: LinkEx[] }>('EnumLinkEx')).LinkList.find((l) => l.AccountName_utf === arg)?.PinnedCertSha256_str ?? '')
    : '';
  const link = linkForm({ existing, pinned });
  const result = h('div', { class: 'test-result', 'aria-live': 'polite' });
  const testBtn = h('button', { type: 'button', class: 'btn', onclick: () => void onTest() }, 'Test connection');
  const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary' }, editing ? 'Save changes' : 'Create cascade');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'casc-title', onsubmit: (ev) => void onSave(ev) },
    h('h1', { id: 'casc-title' }, editing ? `Edit cascade "${arg}"` : 'New cascade'),
    link.el,
    editing ? null : checkbox('Connect after saving', 'connect', true),
    result,
    h('div', { class: 'actions' }, h('a', { class: 'btn', href: '#/cascades' }, 'Cancel'), testBtn, saveBtn),
  );
  form.noValidate = true;
  ctx.main.append(form);

  /** The settings of the last passing test and the certificate it saw: saving exactly these pins that certificate. */
  let tested: { params: string; cert: string } | null = null;

  async function onTest(): Promise<void> {
    clearErrors(form);
    replace(result);
    tested = null;
    try {
      const p = await link.read();
      // Test what the cascade would do: with the stored pin too (read() sends it only when it changed).
      const pin = link.pin();
      const params = pin && !p.ServerCert_bin ? { ...p, ServerCertSha256_str: pin } : p;
      const r = await busy(testBtn, 'Testing…', () => ctx.api.call<TestLinkResult>('TestLink', params));
      const pins = p.CheckServerCert_bool && !pin && !p.ServerCert_bin;
      if (r.Success_bool && pins) tested = { params: JSON.stringify(p), cert: fingerprintHex(r.ServerCertSha256_str) };
      replace(
        result,
        renderTestResult(r, {
          onTrust: (sha256) => {
            link.setPin(sha256);
            void onTest();
          },
          saveNote: pins ? 'Saving these settings trusts this certificate (compare the fingerprint with the one the server\'s administrator gives you first).' : undefined,
        }),
      );
    } catch (err) {
      showError(form, err, LINK_ALIASES);
    }
  }

  async function onSave(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    clearErrors(form);
    try {
      const p = await link.read();
      // The user saw the certificate in the passing test of exactly these settings: saving accepts it.
      if (tested && tested.cert && tested.params === JSON.stringify(p)) p.ServerCertSha256_str = tested.cert;
      await busy(saveBtn, 'Saving…', async () => {
        if (editing) {
          if (p.AccountName_utf !== current) {
            await ctx.api.call('RenameLink', { HubName_str: HUB, OldAccountName_utf: current, NewAccountName_utf: p.AccountName_utf });
            current = p.AccountName_utf;
          }
          await ctx.api.call('SetLink', { ...p, Online_bool: existing?.Online_bool ?? false });
        } else {
          await ctx.api.call('CreateLink', { ...p, Online_bool: false });
          if (checked(form, 'connect')) await ctx.api.call('SetLinkOnline', { HubName_str: HUB, AccountName_utf: p.AccountName_utf });
        }
      });
      toast(editing ? `"${p.AccountName_utf}" saved.` : `"${p.AccountName_utf}" created.`);
      ctx.navigate('#/cascades');
    } catch (err) {
      showError(form, err, LINK_ALIASES);
      if (!form.querySelector('.field-error, .form-error')) setFormError(form, String(err));
    }
  }
};
