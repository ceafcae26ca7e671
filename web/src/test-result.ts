/** How a TestLink answer is shown: the server's identity and what to trust, or the exact error and its hint. */
import { h } from './dom.ts';
import { fingerprint, version } from './format.ts';
import type { TestLinkResult } from './types.ts';

export function renderTestResult(r: TestLinkResult): HTMLElement {
  if (!r.Success_bool) {
    return h(
      'div',
      { class: 'result result-error', 'data-test-result': 'error' },
      h('h3', null, 'Connection failed'),
      h(
        'p',
        { class: 'error-text' },
        r.ErrorText_utf || `Error ${r.Error_u32}`,
        // The daemon's text usually carries the code already; add it only when it does not.
        r.Error_u32 && !(r.ErrorText_utf ?? '').includes(`error ${r.Error_u32}`) ? h('span', { class: 'muted' }, ` (error ${r.Error_u32})`) : null,
      ),
      r.ErrorHint_utf ? h('p', { class: 'hint' }, h('strong', null, 'What to do: '), r.ErrorHint_utf) : null,
    );
  }
  return h(
    'div',
    { class: 'result result-ok', 'data-test-result': 'ok' },
    h('h3', null, 'Connection succeeded'),
    h(
      'dl',
      { class: 'kv' },
      h('dt', null, 'Server'),
      h('dd', { 'data-k': 'product' }, r.ServerProductName_str || '–'),
      h('dt', null, 'Version'),
      h('dd', { 'data-k': 'version' }, version(r.ServerVersion_u32, r.ServerBuild_u32)),
      h('dt', null, 'Granted connections'),
      h('dd', { 'data-k': 'granted' }, String(r.GrantedConnections_u32)),
      h('dt', null, 'Encryption'),
      h('dd', null, [r.TlsVersion_str, r.CipherName_str].filter(Boolean).join(', ') || '–'),
      h('dt', null, 'Server certificate (SHA-256)'),
      h('dd', null, h('code', { class: 'fp', 'data-k': 'fingerprint' }, fingerprint(r.ServerCertSha256_str))),
    ),
    h('p', { class: 'help' }, 'Compare this fingerprint with the one shown by the server\'s administrator before you trust it.'),
  );
}
