import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../../src/protocol/password.ts';
import { makeClientCert } from '../../harness/client-cert.ts';
import { defaultCascade, defaultConfig, type AppConfig } from '../../../src/control/config/types.ts';

let cert: { certPem: string; keyPem: string } | undefined;
/** One real self-signed RSA certificate and key (openssl), made once per test process. */
export function clientCert(): { certPem: string; keyPem: string } {
  cert ??= makeClientCert('sebridge config test');
  return cert;
}

export const hashedPw = (user: string, pw: string) => hashPassword(user, pw).toString('base64');

/** A valid document that uses every field, most with non-default values. */
export function fullConfig(): AppConfig {
  const c = defaultConfig();
  c.admin.passwordHash = 'scrypt$16384$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNo';
  const pw = defaultCascade('Head office', 'vpn.example.com', 443, 'HUB', 'bridge1');
  pw.authType = 'password';
  pw.hashedPassword = hashedPw('bridge1', 'pw-of-bridge1');
  pw.online = true;
  pw.maxConnections = 4;
  pw.additionalConnectionInterval = 2;
  pw.connectionLifetime = 600;
  pw.halfDuplex = true;
  pw.compress = true;
  pw.encrypt = false;
  pw.disableQos = true;
  pw.checkServerCert = true;
  pw.serverCertSha256 = 'ab'.repeat(32);
  pw.proxy = { type: 'http', host: 'proxy.example.com', port: 3128, username: 'pu', password: 'proxy-secret', customHttpHeader: 'X-Site: 7\r\nX-Other: a b c\r\n' };
  const plain = defaultCascade('Radius users', '2001:db8::1', 5555, 'RAD', 'nt-user');
  plain.authType = 'plain';
  plain.plainPassword = 'plain-secret';
  const certC = defaultCascade('cert link', '192.0.2.10', 992, 'CERTHUB', 'certuser');
  certC.authType = 'cert';
  certC.clientCertPem = clientCert().certPem;
  certC.clientKeyPem = clientCert().keyPem;
  certC.proxy = { type: 'socks5', host: '192.0.2.20', port: 1080, username: '', password: null, customHttpHeader: '' };
  const anon = defaultCascade('anon', 'h.example', 443, 'PUBLIC', '');
  c.cascades = [pw, plain, certC, anon];
  c.bridges = [
    { device: 'eth1', tapMode: false, linuxBridge: null },
    { device: 'tap_seb', tapMode: true, linuxBridge: 'br-lan' },
  ];
  c.health = { webhookUrl: 'https://hooks.example.com/T0/B1/secret-token', cpuWarnPercent: 75, memoryWarnPercent: 80, diskWarnPercent: 95, temperatureWarnC: 70 };
  c.log = { level: 'debug', syslog: { host: 'syslog.example.com', port: 514 } };
  return c;
}

/** A fresh directory under the system temp dir; remove it with `cleanup`. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const base = await mkdtemp(join(tmpdir(), 'sebridge-config-'));
  return { dir: join(base, 'data'), cleanup: () => rm(base, { recursive: true, force: true }) };
}
