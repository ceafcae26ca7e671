import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseProxyUrl } from './session/proxy/proxy-options.ts';
import { readTrustFile } from './session/trust-file.ts';
import { X509Certificate } from 'node:crypto';
import { parseCascadeOptions, ConfigError } from './session/options.ts';
import { runLink } from './link.ts';

const USAGE = `usage:
  sebridge run [--data-dir DIR] [--runtime-dir DIR] [--web ADDR:PORT]     the appliance daemon (web UI + admin API)
  sebridge link --server HOST[:PORT] --hub HUB --user USER [auth] [local side] [options]

  auth (default: password):
    --password-env VAR        read the password from environment variable VAR
    --auth password|plain|anonymous|cert
    --cert FILE --key FILE    client certificate (PEM or DER) and its RSA key (PEM), with --auth cert
  local side (what joins the server's hub):
    --bridge IFACE            bridge this Ethernet interface (raw socket, promiscuous)
    --tap NAME                also create TAP device NAME (the appliance's own address on the LAN)
    --tap-bridge BR           join the TAP device to existing Linux bridge BR
  options:
    --connections N           TCP connections, 1..32 (default 8)
    --half-duplex             each TCP connection carries one direction
    --compress                zlib-compress every frame
    --no-encrypt              TLS only for the login, raw TCP afterwards (use_encrypt=0)
    --no-qos                  no priority connection
  proxy (every TCP connection of the link goes through it):
    --proxy URL               http://[user@]host:port (CONNECT), socks5://[user@]host:port (the proxy resolves the
                              server name), socks4://[user@]host:port (SOCKS4: the name is resolved here)
    --proxy-password-env VAR  the proxy password from environment variable VAR (never on the command line)
    --proxy-header 'N: V'     extra header line for the HTTP CONNECT request (repeatable)
  server certificate (default: trust on first use, remembered with --trust-file):
    --trust-file PATH         remember the server certificate's SHA-256 in PATH; a different certificate later is
                              refused (both fingerprints shown) until accepted with --pin
    --pin SHA256              trust exactly this SHA-256 fingerprint (the explicit "accept"; stored in --trust-file)
    --ca FILE                 verify the server certificate against these PEM CA certificates and the --server name
    --insecure-accept-any-cert  do not check the server certificate at all (logged as a warning)
    --allow-plain-unverified  let --auth plain send its password to a server whose certificate is not verified
    --status-interval SEC     print a status line every SEC seconds, 0.1..86400 (default 0 = only on changes)
`;

const FLAG_OF_FIELD: Record<string, string> = {
  host: '--server',
  port: '--server',
  hub: '--hub',
  username: '--user',
  password: '--password-env',
  authType: '--auth',
  maxConnections: '--connections',
  pinnedCertSha256: '--pin',
  serverCertSha256: '--pin',
  caCertsPem: '--ca',
  checkServerCert: '--insecure-accept-any-cert',
  proxy: '--proxy',
  'proxy.type': '--proxy',
  'proxy.host': '--proxy',
  'proxy.port': '--proxy',
  'proxy.username': '--proxy',
  'proxy.password': '--proxy-password-env',
  'proxy.customHttpHeader': '--proxy-header',
  certDer: '--cert',
  keyPem: '--key',
};

/** Upper bound of --status-interval: a day. (setInterval itself overflows beyond 2^31 - 1 ms and then fires every 1 ms.) */
export const MAX_STATUS_INTERVAL_SEC = 86_400;

/**
 * A numeric command-line value, read strictly: plain decimal digits (a fraction only where `fraction` allows), no
 * sign, exponent, hex, blanks or empty string (which Number() would all accept, '' as 0), within [min, max].
 * Throws ConfigError naming the flag, the range and what was given.
 */
export function numberFlag(flag: string, text: string, min: number, max: number, fraction = false): number {
  const ok = fraction ? /^\d{1,12}(\.\d{1,6})?$/ : /^\d{1,12}$/;
  const n = ok.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) {
    const kind = fraction ? 'a number' : 'a whole number';
    throw new ConfigError(flag, `must be ${kind} from ${min} to ${max}, got "${text.length > 40 ? `${text.slice(0, 40)}...` : text}"`);
  }
  return n;
}

/** --status-interval: 0 (only on changes) or 0.1 s .. one day. */
export function statusIntervalFlag(text: string | undefined): number {
  if (text === undefined) return 0;
  const sec = numberFlag('--status-interval', text, 0, MAX_STATUS_INTERVAL_SEC, true);
  if (sec > 0 && sec < 0.1) throw new ConfigError('--status-interval', `must be 0 (off) or at least 0.1 seconds, got "${text}"`);
  return sec;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // The daemon (web server, config store, certificates, metrics) is imported only for `run`: loading it costs
  // `link` ~14 MiB of anonymous memory (module sources and compiled code) it would never use.
  if (command === 'run') return (await import('./run.ts')).runDaemon(rest);
  if (command !== 'link') {
    process.stderr.write(USAGE);
    return command === undefined || command === '--help' || command === 'help' ? 0 : 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      options: {
        server: { type: 'string' },
        hub: { type: 'string' },
        user: { type: 'string' },
        'password-env': { type: 'string' },
        auth: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        bridge: { type: 'string' },
        tap: { type: 'string' },
        'tap-bridge': { type: 'string' },
        connections: { type: 'string' },
        'half-duplex': { type: 'boolean' },
        compress: { type: 'boolean' },
        'no-encrypt': { type: 'boolean' },
        'no-qos': { type: 'boolean' },
        pin: { type: 'string' },
        'trust-file': { type: 'string' },
        ca: { type: 'string' },
        'insecure-accept-any-cert': { type: 'boolean' },
        'allow-plain-unverified': { type: 'boolean' },
        proxy: { type: 'string' },
        'proxy-password-env': { type: 'string' },
        'proxy-header': { type: 'string', multiple: true },
        'status-interval': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (e) {
    process.stderr.write(`sebridge: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    const server = values.server;
    if (!server) throw new ConfigError('--server', 'is required');
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(server);
    if (!m) throw new ConfigError('--server', `"${server}" is not HOST or HOST:PORT`);
    const input: Record<string, unknown> = {
      host: m[1]!.replace(/^\[|\]$/g, ''),
      port: m[2] === undefined ? undefined : numberFlag('--server', m[2], 1, 65535),
      hub: values.hub,
      username: values.user,
      authType: values.auth ?? (values['password-env'] ? 'password' : undefined),
      halfDuplex: values['half-duplex'] ?? false,
      compress: values.compress ?? false,
      encrypt: !values['no-encrypt'],
      qos: !values['no-qos'],
      serverCertSha256: values.pin,
      checkServerCert: !values['insecure-accept-any-cert'],
      allowPlainOverUnverified: values['allow-plain-unverified'] ?? false,
    };
    const trustFile = values['trust-file'];
    if (values['insecure-accept-any-cert'] && (values.pin || values.ca || trustFile)) {
      throw new ConfigError('--insecure-accept-any-cert', 'contradicts --pin, --ca and --trust-file');
    }
    if (values.pin === undefined && trustFile !== undefined) {
      const stored = await readTrustFile(trustFile);
      if (stored) input.serverCertSha256 = stored;
    }
    if (values.ca !== undefined) {
      try {
        input.caCertsPem = await readFile(values.ca, 'utf8');
      } catch (e) {
        throw new ConfigError('--ca', `cannot read ${values.ca}: ${(e as Error).message}`);
      }
    }
    if (values.proxy !== undefined) {
      const proxy: Record<string, unknown> = { ...parseProxyUrl(values.proxy), password: null, customHttpHeader: (values['proxy-header'] ?? []).join('\r\n') };
      const pwEnv = values['proxy-password-env'];
      if (pwEnv !== undefined) {
        const pw = process.env[pwEnv];
        if (pw === undefined) throw new ConfigError('--proxy-password-env', `environment variable ${pwEnv} is not set`);
        proxy.password = pw;
      }
      input.proxy = proxy;
    } else if (values['proxy-password-env'] !== undefined || values['proxy-header'] !== undefined) {
      throw new ConfigError('--proxy', 'is required with --proxy-password-env and --proxy-header');
    }
    if (values.connections !== undefined) input.maxConnections = numberFlag('--connections', values.connections, 1, 32);
    const statusInterval = statusIntervalFlag(values['status-interval']);
    const envName = values['password-env'];
    if (envName !== undefined) {
      const pw = process.env[envName];
      if (pw === undefined) throw new ConfigError('--password-env', `environment variable ${envName} is not set`);
      input.password = pw;
    }
    if (input.authType === 'cert') {
      if (!values.cert || !values.key) throw new ConfigError('--cert', '--cert and --key are required with --auth cert');
      input.certDer = Buffer.from(new X509Certificate(readFileSync(values.cert)).raw);
      input.keyPem = readFileSync(values.key, 'utf8');
    }
    if (values['tap-bridge'] && !values.tap) throw new ConfigError('--tap-bridge', 'needs --tap NAME');
    const options = parseCascadeOptions(input);
    return await runLink({
      options,
      ...(values.bridge ? { bridge: values.bridge } : {}),
      ...(values.tap ? { tap: values.tap } : {}),
      ...(values['tap-bridge'] ? { tapBridge: values['tap-bridge'] } : {}),
      statusIntervalMs: Math.round(statusInterval * 1000),
      ...(trustFile !== undefined ? { trustFile } : {}),
      ...(values.pin !== undefined ? { pinGiven: true } : {}),
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      // Name the command-line flag, not the option field behind it.
      const flag = FLAG_OF_FIELD[e.field];
      process.stderr.write(`sebridge: ${flag ? e.message.replace(`${e.field}:`, `${flag}:`) : e.message}\n`);
      return 2;
    }
    throw e;
  }
}
