import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { parseCascadeOptions, ConfigError } from './session/options.ts';
import { runLink } from './link.ts';
import { runDaemon } from './run.ts';

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
    --pin SHA256              refuse any server certificate with another SHA-256 fingerprint
    --status-interval SEC     print a status line every SEC seconds (default 0 = only on changes)
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
  certDer: '--cert',
  keyPem: '--key',
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'run') return runDaemon(rest);
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
      port: m[2] === undefined ? undefined : Number(m[2]),
      hub: values.hub,
      username: values.user,
      authType: values.auth ?? (values['password-env'] ? 'password' : undefined),
      halfDuplex: values['half-duplex'] ?? false,
      compress: values.compress ?? false,
      encrypt: !values['no-encrypt'],
      qos: !values['no-qos'],
      pinnedCertSha256: values.pin,
    };
    if (values.connections !== undefined) {
      const n = Number(values.connections);
      input.maxConnections = Number.isInteger(n) ? n : values.connections;
    }
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
    const statusInterval = values['status-interval'] === undefined ? 0 : Number(values['status-interval']);
    if (!Number.isFinite(statusInterval) || statusInterval < 0) throw new ConfigError('--status-interval', 'must be a number of seconds');
    return await runLink({
      options,
      ...(values.bridge ? { bridge: values.bridge } : {}),
      ...(values.tap ? { tap: values.tap } : {}),
      ...(values['tap-bridge'] ? { tapBridge: values['tap-bridge'] } : {}),
      statusIntervalMs: statusInterval * 1000,
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
