/** How a TestLink answer is shown: the server's identity and what to trust, or the exact error and its hint. */
import { h } from './dom.ts';
import { version } from './format.ts';
import { fingerprintCode } from './fingerprint-view.ts';
import type { TestLinkResult } from './types.ts';

/** Error 85, "server certificate not trusted": the daemon's answer to every certificate refusal. */
const ERR_CERT_NOT_TRUSTED = 85;

export interface TestResultOptions {
  /**
   * Offered when the test was refused only because the certificate is not trusted (yet): the user compared the
   * shown fingerprint and accepts it; the caller pins it in the form and tests again.
   */
  onTrust?: (sha256: string) => void;
  /** What saving will do with the shown certificate (the wizard pins it). */
  saveNote?: string;
}

export function renderTestResult(r: TestLinkResult, opts: TestResultOptions = {}): HTMLElement {
  if (!r.Success_bool) {
    const certRefused = r.Error_u32 === ERR_CERT_NOT_TRUSTED && Boolean(r.ServerCertSha256_str);
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
      certRefused
        ? h(
            'div',
            { class: 'cert-offer', 'data-k': 'cert-offer' },
            h('p', null, 'The server presented this certificate (SHA-256):'),
            fingerprintCode(r.ServerCertSha256_str, { 'data-k': 'presented-fingerprint' }),
            h('p', { class: 'help' }, 'Compare it with the fingerprint the server\'s administrator gives you. Trust it only if they match.'),
            opts.onTrust
              ? h('button', { type: 'button', class: 'btn', onclick: () => opts.onTrust?.(r.ServerCertSha256_str) }, 'Trust this certificate and test again')
              : null,
          )
        : null,
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
      h('dd', null, fingerprintCode(r.ServerCertSha256_str, { 'data-k': 'fingerprint' })),
    ),
    h('p', { class: 'help', 'data-k': 'save-note' }, opts.saveNote ?? 'Compare this fingerprint with the one shown by the server\'s administrator before you trust it.'),
  );
}
