/**
 * The cascade connection settings (CreateLink / SetLink fields), shared by the setup wizard and the
 * Cascades page. read() validates and returns the exact API parameters; for AuthType 1 the password is
 * hashed here (SHA-0 of password + upper-cased user name, like SoftEther's own tools) and never sent plain.
 */
import { h, readFileInput, type Child } from './dom.ts';
import { checkbox, checked, control, input, intIn, select, value } from './forms.ts';
import { FieldError } from './errors.ts';
import { DEFAULT_PORT, formatHostPort, parseHostPort } from './host-port.ts';
import { hashPassword } from './sha0.ts';
import { pemOrDer, toBase64 } from './bytes.ts';
import { HUB, type LinkParams } from './types.ts';

/** API fields that are entered through another control. */
export const LINK_ALIASES: Record<string, string> = {
  Port_u32: 'Hostname_str',
  HashedPassword_bin: 'password',
  PlainPassword_str: 'password',
  HubName_Ex_str: 'AccountName_utf',
};

export interface LinkFormOptions {
  existing?: Partial<LinkParams>;
  /** The wizard shows the advanced options collapsed under a shorter intro. */
  compact?: boolean;
}

export interface LinkForm {
  el: HTMLElement;
  read(): Promise<LinkParams>;
}

function fieldset(legend: string, ...children: Child[]): HTMLFieldSetElement {
  return h('fieldset', null, h('legend', null, legend), ...children);
}

export function linkForm(opts: LinkFormOptions = {}): LinkForm {
  const ex = opts.existing;
  const editing = ex !== undefined;
  const authType = String(ex?.AuthType_u32 ?? 1);
  const pwHelp = editing ? 'Leave empty to keep the stored password.' : 'Sent to the appliance only as SoftEther\'s password hash.';

  const el = h(
    'div',
    { class: 'link-form' },
    fieldset(
      'VPN server',
      input({ label: 'Connection name', name: 'AccountName_utf', value: ex?.AccountName_utf ?? 'uplink', required: true, maxLength: 255, help: 'How this cascade is called on this appliance.' }),
      input({
        label: 'Server address',
        name: 'Hostname_str',
        value: ex?.Hostname_str ? formatHostPort(ex.Hostname_str, ex.Port_u32 ?? DEFAULT_PORT) : '',
        placeholder: 'vpn.example.com:443',
        required: true,
        help: `Host name or IP address of the SoftEther VPN Server, with :port if not ${DEFAULT_PORT}.`,
      }),
      input({ label: 'Virtual hub on the server', name: 'HubName_str', value: ex?.HubName_str ?? '', placeholder: 'DEFAULT', required: true, maxLength: 255 }),
    ),
    fieldset(
      'Authentication',
      select(
        'Authentication type',
        'AuthType_u32',
        [
          { value: '1', label: 'Password (standard)' },
          { value: '2', label: 'Password (RADIUS / NT domain)' },
          { value: '3', label: 'Client certificate' },
          { value: '0', label: 'Anonymous' },
        ],
        authType,
      ),
      input({ label: 'User name', name: 'Username_str', value: ex?.Username_str ?? '', autocomplete: 'username', maxLength: 255 }),
      input({ label: 'Password', name: 'password', type: 'password', autocomplete: 'new-password', help: pwHelp, maxLength: 255 }),
      input({ label: 'Client certificate (PEM or DER)', name: 'ClientX_bin', type: 'file', accept: '.pem,.crt,.cer,.der', help: editing ? 'Leave empty to keep the stored certificate.' : undefined }),
      input({ label: 'Private key (PEM or DER, unencrypted)', name: 'ClientK_bin', type: 'file', accept: '.pem,.key,.der', help: editing ? 'Leave empty to keep the stored key.' : undefined }),
    ),
    h(
      'details',
      { class: 'advanced' },
      h('summary', null, 'Advanced options'),
      fieldset(
        'Connections',
        input({ label: 'TCP connections', name: 'MaxConnection_u32', type: 'number', min: 1, max: 32, value: String(ex?.MaxConnection_u32 ?? 8), help: '1 to 32 (the stock cascade uses 8). More parallel connections can raise throughput on long links.' }),
        input({ label: 'Interval between additional connections (s)', name: 'AdditionalConnectionInterval_u32', type: 'number', min: 1, max: 3600, value: String(ex?.AdditionalConnectionInterval_u32 ?? 1) }),
        input({ label: 'Connection lifetime (s)', name: 'ConnectionDisconnectSpan_u32', type: 'number', min: 0, max: 86400, value: String(ex?.ConnectionDisconnectSpan_u32 ?? 0), help: '0 keeps connections open indefinitely.' }),
        checkbox('Half-duplex (separate upload and download connections)', 'HalfConnection_bool', ex?.HalfConnection_bool ?? false, 'Needs at least 2 connections.'),
        checkbox('Encrypt VPN traffic', 'UseEncrypt_bool', ex?.UseEncrypt_bool ?? true),
        checkbox('Compress VPN traffic', 'UseCompress_bool', ex?.UseCompress_bool ?? false),
        checkbox('Disable VoIP / QoS prioritisation', 'DisableQoS_bool', ex?.DisableQoS_bool ?? false),
      ),
      fieldset(
        'Server certificate',
        checkbox('Verify the server certificate', 'CheckServerCert_bool', ex?.CheckServerCert_bool ?? false, 'Connect only if the server presents exactly this certificate.'),
        input({ label: 'Trusted server certificate (PEM or DER)', name: 'ServerCert_bin', type: 'file', accept: '.pem,.crt,.cer,.der', help: ex?.ServerCert_bin ? 'A certificate is stored; choose a file to replace it.' : undefined }),
      ),
      fieldset(
        'Proxy',
        select(
          'Proxy type',
          'ProxyType_u32',
          [
            { value: '0', label: 'Direct connection' },
            { value: '1', label: 'HTTP proxy' },
            { value: '2', label: 'SOCKS4 proxy' },
            { value: '3', label: 'SOCKS5 proxy' },
          ],
          String(ex?.ProxyType_u32 ?? 0),
        ),
        input({ label: 'Proxy host', name: 'ProxyName_str', value: ex?.ProxyName_str ?? '', maxLength: 255 }),
        input({ label: 'Proxy port', name: 'ProxyPort_u32', type: 'number', min: 1, max: 65535, value: String(ex?.ProxyPort_u32 || 8080) }),
        input({ label: 'Proxy user name', name: 'ProxyUsername_str', value: ex?.ProxyUsername_str ?? '', maxLength: 255 }),
        input({ label: 'Proxy password', name: 'ProxyPassword_str', type: 'password', autocomplete: 'new-password', maxLength: 255, help: editing ? 'Leave empty to keep the stored proxy password.' : undefined }),
        input({ label: 'Custom HTTP header', name: 'CustomHttpHeader_str', value: ex?.CustomHttpHeader_str ?? '', maxLength: 1024, placeholder: 'X-Header: value' }),
      ),
    ),
  );

  const show = (name: string, on: boolean) => {
    const box = control(el, name)?.closest('.field') as HTMLElement | null;
    if (box) box.hidden = !on;
  };
  const sync = () => {
    const t = value(el, 'AuthType_u32');
    show('Username_str', t !== '0');
    show('password', t === '1' || t === '2');
    show('ClientX_bin', t === '3');
    show('ClientK_bin', t === '3');
    const proxy = value(el, 'ProxyType_u32') !== '0';
    for (const n of ['ProxyName_str', 'ProxyPort_u32', 'ProxyUsername_str', 'ProxyPassword_str']) show(n, proxy);
  };
  (control(el, 'AuthType_u32') as HTMLSelectElement).addEventListener('change', sync);
  (control(el, 'ProxyType_u32') as HTMLSelectElement).addEventListener('change', sync);
  sync();
  if (opts.compact && ex === undefined) (el.querySelector('details') as HTMLDetailsElement).open = false;

  async function fileB64(name: string): Promise<string | undefined> {
    try {
      const raw = await readFileInput(control(el, name) as HTMLInputElement);
      return raw ? toBase64(pemOrDer(raw)) : undefined;
    } catch (err) {
      throw new FieldError(name, err instanceof Error ? err.message : String(err));
    }
  }

  async function read(): Promise<LinkParams> {
    const name = value(el, 'AccountName_utf').trim();
    if (!name) throw new FieldError('AccountName_utf', 'Enter a name for this connection');
    const { host, port } = parseHostPort(value(el, 'Hostname_str'));
    const hub = value(el, 'HubName_str').trim();
    if (!hub) throw new FieldError('HubName_str', 'Enter the name of the virtual hub on the server');
    const auth = Number(value(el, 'AuthType_u32'));
    const user = value(el, 'Username_str').trim();
    const pw = value(el, 'password');
    if (auth !== 0 && !user) throw new FieldError('Username_str', 'Enter the user name on the VPN server');

    const p: LinkParams = {
      HubName_Ex_str: HUB,
      AccountName_utf: name,
      Hostname_str: host,
      Port_u32: port,
      HubName_str: hub,
      AuthType_u32: auth,
      Username_str: auth === 0 ? '' : user,
      MaxConnection_u32: intIn(el, 'MaxConnection_u32', 'TCP connections', 1, 32),
      AdditionalConnectionInterval_u32: intIn(el, 'AdditionalConnectionInterval_u32', 'The interval', 1, 3600),
      ConnectionDisconnectSpan_u32: intIn(el, 'ConnectionDisconnectSpan_u32', 'The connection lifetime', 0, 86400),
      HalfConnection_bool: checked(el, 'HalfConnection_bool'),
      UseEncrypt_bool: checked(el, 'UseEncrypt_bool'),
      UseCompress_bool: checked(el, 'UseCompress_bool'),
      DisableQoS_bool: checked(el, 'DisableQoS_bool'),
      CheckServerCert_bool: checked(el, 'CheckServerCert_bool'),
      ProxyType_u32: Number(value(el, 'ProxyType_u32')),
      ProxyName_str: '',
      ProxyPort_u32: 0,
      ProxyUsername_str: '',
      CustomHttpHeader_str: value(el, 'CustomHttpHeader_str').trim(),
    };
    if (p.HalfConnection_bool && p.MaxConnection_u32 < 2) {
      throw new FieldError('HalfConnection_bool', 'Half-duplex needs at least 2 TCP connections');
    }

    if (auth === 1 || auth === 2) {
      const userChanged = editing && ex?.Username_str !== user;
      if (!pw && (!editing || (auth === 1 && userChanged) || ex?.AuthType_u32 !== auth)) {
        throw new FieldError('password', userChanged ? 'The user name changed: enter the password again' : 'Enter the password');
      }
      if (pw) {
        if (auth === 1) p.HashedPassword_bin = toBase64(hashPassword(user, pw));
        else p.PlainPassword_str = pw;
      }
    } else if (auth === 3) {
      const x = await fileB64('ClientX_bin');
      const k = await fileB64('ClientK_bin');
      if (!editing || ex?.AuthType_u32 !== 3) {
        if (!x) throw new FieldError('ClientX_bin', 'Choose the client certificate file');
        if (!k) throw new FieldError('ClientK_bin', 'Choose the private key file');
      }
      if (x) p.ClientX_bin = x;
      if (k) p.ClientK_bin = k;
    }

    const cert = await fileB64('ServerCert_bin');
    if (cert) p.ServerCert_bin = cert;
    if (p.CheckServerCert_bool && !cert && !ex?.ServerCert_bin) {
      throw new FieldError('ServerCert_bin', 'Choose the server certificate to verify against, or turn verification off');
    }

    if (p.ProxyType_u32 !== 0) {
      p.ProxyName_str = value(el, 'ProxyName_str').trim();
      if (!p.ProxyName_str) throw new FieldError('ProxyName_str', 'Enter the proxy host');
      p.ProxyPort_u32 = intIn(el, 'ProxyPort_u32', 'The proxy port', 1, 65535);
      p.ProxyUsername_str = value(el, 'ProxyUsername_str').trim();
      const ppw = value(el, 'ProxyPassword_str');
      if (ppw) p.ProxyPassword_str = ppw;
    }
    // SetLink replaces the whole account: carry over stored binary settings the form did not replace.
    if (editing && ex) {
      if (!p.ServerCert_bin && ex.ServerCert_bin) p.ServerCert_bin = ex.ServerCert_bin;
      if (auth === 3 && ex.AuthType_u32 === 3) {
        if (!p.ClientX_bin && ex.ClientX_bin) p.ClientX_bin = ex.ClientX_bin;
        if (!p.ClientK_bin && ex.ClientK_bin) p.ClientK_bin = ex.ClientK_bin;
      }
      if (auth === 1 && ex.AuthType_u32 === 1 && ex.Username_str === user && !p.HashedPassword_bin && ex.HashedPassword_bin) {
        p.HashedPassword_bin = ex.HashedPassword_bin;
      }
    }
    if (/[\r\n]/.test(p.CustomHttpHeader_str)) throw new FieldError('CustomHttpHeader_str', 'The custom header must be a single line');
    return p;
  }

  return { el, read };
}
