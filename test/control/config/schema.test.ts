import test from 'ava';
import { ConfigError } from '../../../src/session/options.ts';
import { validateBridge, validateCascade, validateConfig } from '../../../src/control/config/schema.ts';
import { defaultCascade, defaultConfig, type AppConfig } from '../../../src/control/config/types.ts';
import { clientCert, fullConfig, hashedPw } from './fixtures.ts';

type Doc = AppConfig & Record<string, unknown>;
type Row = [field: string, mutate: (d: any) => void, message?: RegExp];

const b64 = (n: number) => Buffer.alloc(n, 7).toString('base64');
const long = (n: number) => 'x'.repeat(n);

// cascades[0] = password auth, [1] = plain, [2] = cert, [3] = anonymous; bridges[1] is in tap mode.
const rows: Row[] = [
  // document
  ['version', (d) => (d.version = 'one'), /must be 1/],
  ['version', (d) => (d.version = 2), /must be 1 \(got 2\)/],
  ['version', (d) => delete d.version, /is required/],
  ['admin', (d) => (d.admin = null), /must be an object/],
  ['admin.passwordHash', (d) => (d.admin.passwordHash = '')],
  ['admin.passwordHash', (d) => (d.admin.passwordHash = long(513))],
  ['admin.passwordHash', (d) => (d.admin.passwordHash = 12)],
  ['admin.passwordHash', (d) => (d.admin.passwordHash = 'a\nb')],
  ['admin.extra', (d) => (d.admin.extra = 1), /unknown key/],
  ['cascades', (d) => (d.cascades = {}), /must be a list/],
  ['cascades', (d) => (d.cascades = Array.from({ length: 65 }, (_, i) => defaultCascade(`c${i}`, 'h', 1, 'H', ''))), /at most 64/],
  ['bridges', (d) => (d.bridges = 'eth0'), /must be a list/],
  ['bridges', (d) => (d.bridges = Array.from({ length: 33 }, (_, i) => ({ device: `eth${i}`, tapMode: false, linuxBridge: null }))), /at most 32/],
  ['health', (d) => (d.health = []), /must be an object/],
  ['health.webhookUrl', (d) => (d.health.webhookUrl = 'ftp://example.com/x'), /http:\/\/ or https:\/\//],
  ['health.webhookUrl', (d) => (d.health.webhookUrl = 'not a url')],
  ['health.webhookUrl', (d) => (d.health.webhookUrl = `https://example.com/${long(2048)}`)],
  ['health.cpuWarnPercent', (d) => (d.health.cpuWarnPercent = 0), /from 1 to 100 \(got 0\)/],
  ['health.cpuWarnPercent', (d) => (d.health.cpuWarnPercent = 50.5)],
  ['health.cpuWarnPercent', (d) => (d.health.cpuWarnPercent = '90'), /got "90"/],
  ['health.memoryWarnPercent', (d) => (d.health.memoryWarnPercent = 101)],
  ['health.diskWarnPercent', (d) => (d.health.diskWarnPercent = -5)],
  ['health.diskWarnPercent', (d) => (d.health.diskWarnPercent = Number.NaN)],
  ['health.temperatureWarnC', (d) => (d.health.temperatureWarnC = 29), /from 30 to 120/],
  ['health.temperatureWarnC', (d) => (d.health.temperatureWarnC = 121)],
  ['health.fanWarn', (d) => (d.health.fanWarn = 1), /unknown key/],
  ['log', (d) => (d.log = 'info')],
  ['log.level', (d) => (d.log.level = 'trace'), /one of debug, info, warn, error \(got "trace"\)/],
  ['log.syslog', (d) => (d.log.syslog = 'syslog.example.com'), /object or null/],
  ['log.syslog.host', (d) => (d.log.syslog.host = 'bad host!')],
  ['log.syslog.host', (d) => (d.log.syslog.host = '')],
  ['log.syslog.port', (d) => (d.log.syslog.port = 0)],
  ['log.syslog.port', (d) => (d.log.syslog.port = 65536)],
  ['log.syslog.protocol', (d) => (d.log.syslog.protocol = 'tcp'), /unknown key/],
  ['unknownTopLevel', (d) => (d.unknownTopLevel = true), /is not a known setting/],
  // cascades: every field
  ['cascades[1]', (d) => (d.cascades[1] = 'x'), /must be an object/],
  ['cascades[1].name', (d) => (d.cascades[1].name = '')],
  ['cascades[1].name', (d) => (d.cascades[1].name = long(256))],
  ['cascades[1].name', (d) => (d.cascades[1].name = 'a\tb')],
  ['cascades[1].name', (d) => (d.cascades[1].name = 'a\u0085b')],
  ['cascades[1].name', (d) => (d.cascades[1].name = '   '), /not only spaces/],
  ['cascades[1].name', (d) => (d.cascades[1].name = 5)],
  ['cascades[1].online', (d) => (d.cascades[1].online = 'yes'), /true or false/],
  ['cascades[1].host', (d) => (d.cascades[1].host = '')],
  ['cascades[1].host', (d) => (d.cascades[1].host = 'bad host')],
  ['cascades[1].host', (d) => (d.cascades[1].host = 'a..b')],
  ['cascades[1].host', (d) => (d.cascades[1].host = '-a.example')],
  ['cascades[1].host', (d) => (d.cascades[1].host = `${long(63)}.${long(63)}.${long(63)}.${long(63)}.com`)],
  ['cascades[1].host', (d) => (d.cascades[1].host = `${long(64)}.com`)],
  ['cascades[1].host', (d) => (d.cascades[1].host = 'https://vpn.example.com')],
  ['cascades[1].host', (d) => (d.cascades[1].host = '256.1.1.1')],
  ['cascades[1].host', (d) => (d.cascades[1].host = '[2001:db8::1]')],
  ['cascades[1].port', (d) => (d.cascades[1].port = 0), /from 1 to 65535 \(got 0\)/],
  ['cascades[1].port', (d) => (d.cascades[1].port = 65536)],
  ['cascades[1].port', (d) => (d.cascades[1].port = 443.5)],
  ['cascades[1].port', (d) => (d.cascades[1].port = '443')],
  ['cascades[1].hub', (d) => (d.cascades[1].hub = '')],
  ['cascades[1].hub', (d) => (d.cascades[1].hub = 'MY HUB'), /without whitespace/],
  ['cascades[1].hub', (d) => (d.cascades[1].hub = long(256))],
  ['cascades[1].username', (d) => (d.cascades[1].username = long(256))],
  ['cascades[1].username', (d) => (d.cascades[1].username = 'a\u0000b')],
  ['cascades[1].username', (d) => (d.cascades[1].username = null)],
  ['cascades[1].authType', (d) => (d.cascades[1].authType = 'radius'), /one of anonymous, password, plain, cert/],
  ['cascades[1].hashedPassword', (d) => (d.cascades[1].hashedPassword = 'abc')],
  ['cascades[1].hashedPassword', (d) => (d.cascades[1].hashedPassword = b64(19))],
  ['cascades[1].hashedPassword', (d) => (d.cascades[1].hashedPassword = b64(21))],
  ['cascades[1].hashedPassword', (d) => (d.cascades[1].hashedPassword = b64(20).slice(0, 26) + 'B=')],
  ['cascades[1].plainPassword', (d) => (d.cascades[1].plainPassword = long(256))],
  ['cascades[1].plainPassword', (d) => (d.cascades[1].plainPassword = 5)],
  ['cascades[1].clientCertPem', (d) => (d.cascades[1].clientCertPem = 'garbage')],
  ['cascades[1].clientCertPem', (d) => (d.cascades[1].clientCertPem = clientCert().keyPem)],
  ['cascades[1].clientCertPem', (d) => (d.cascades[1].clientCertPem = clientCert().certPem + clientCert().certPem)],
  ['cascades[1].clientKeyPem', (d) => (d.cascades[1].clientKeyPem = clientCert().certPem)],
  ['cascades[1].clientKeyPem', (d) => (d.cascades[1].clientKeyPem = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n'), /unencrypted/],
  ['cascades[1].clientKeyPem', (d) => (d.cascades[1].clientKeyPem = '-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n')],
  ['cascades[1].maxConnections', (d) => (d.cascades[1].maxConnections = 0)],
  ['cascades[1].maxConnections', (d) => (d.cascades[1].maxConnections = 33), /from 1 to 32/],
  ['cascades[1].additionalConnectionInterval', (d) => (d.cascades[1].additionalConnectionInterval = 0)],
  ['cascades[1].additionalConnectionInterval', (d) => (d.cascades[1].additionalConnectionInterval = 3601)],
  ['cascades[1].connectionLifetime', (d) => (d.cascades[1].connectionLifetime = -1)],
  ['cascades[1].connectionLifetime', (d) => (d.cascades[1].connectionLifetime = 86_401)],
  ['cascades[1].halfDuplex', (d) => (d.cascades[1].halfDuplex = 1)],
  ['cascades[1].compress', (d) => (d.cascades[1].compress = null)],
  ['cascades[1].encrypt', (d) => (d.cascades[1].encrypt = 'true')],
  ['cascades[1].disableQos', (d) => (d.cascades[1].disableQos = 0)],
  ['cascades[1].checkServerCert', (d) => delete d.cascades[1].checkServerCert, /is required/],
  ['cascades[1].serverCertSha256', (d) => (d.cascades[1].serverCertSha256 = 'AB'.repeat(32)), /lowercase hex/],
  ['cascades[1].serverCertSha256', (d) => (d.cascades[1].serverCertSha256 = 'a'.repeat(63))],
  ['cascades[1].serverCertSha256', (d) => (d.cascades[1].serverCertSha256 = 'ab:'.repeat(31) + 'ab')],
  ['cascades[1].proxy', (d) => (d.cascades[1].proxy = null)],
  ['cascades[1].proxy.type', (d) => (d.cascades[1].proxy.type = 'https'), /direct, http, socks4, socks5/],
  ['cascades[1].proxy.host', (d) => (d.cascades[1].proxy.host = 'bad host')],
  ['cascades[1].proxy.port', (d) => (d.cascades[1].proxy.port = 65536)],
  ['cascades[1].proxy.port', (d) => (d.cascades[1].proxy.port = -1)],
  ['cascades[1].proxy.username', (d) => (d.cascades[1].proxy.username = long(256))],
  ['cascades[1].proxy.password', (d) => (d.cascades[1].proxy.password = 5)],
  ['cascades[1].proxy.password', (d) => (d.cascades[1].proxy.password = long(256))],
  ['cascades[1].proxy.customHttpHeader', (d) => (d.cascades[1].proxy.customHttpHeader = 'no colon here'), /lines "Name: value"/],
  ['cascades[1].proxy.customHttpHeader', (d) => (d.cascades[1].proxy.customHttpHeader = 'X-A: 1\r\n\r\nX-B: 2')],
  ['cascades[1].proxy.customHttpHeader', (d) => (d.cascades[1].proxy.customHttpHeader = 'X-A: 1\rInjected: yes')],
  ['cascades[1].proxy.customHttpHeader', (d) => (d.cascades[1].proxy.customHttpHeader = `X-Big: ${long(4090)}`)],
  ['cascades[1].proxy.bypass', (d) => (d.cascades[1].proxy.bypass = []), /unknown key/],
  ['cascades[1].passwrod', (d) => (d.cascades[1].passwrod = 'typo'), /unknown key/],
  // bridges: every field
  ['bridges[0]', (d) => (d.bridges[0] = null)],
  ['bridges[0].device', (d) => (d.bridges[0].device = '')],
  ['bridges[0].device', (d) => (d.bridges[0].device = long(16)), /1 to 15 bytes/],
  ['bridges[0].device', (d) => (d.bridges[0].device = 'ä'.repeat(8))],
  ['bridges[0].device', (d) => (d.bridges[0].device = 'a/b')],
  ['bridges[0].device', (d) => (d.bridges[0].device = 'eth0:1')],
  ['bridges[0].device', (d) => (d.bridges[0].device = 'eth 0')],
  ['bridges[0].device', (d) => (d.bridges[0].device = '.')],
  ['bridges[0].device', (d) => (d.bridges[0].device = '..')],
  ['bridges[0].tapMode', (d) => (d.bridges[0].tapMode = 'no')],
  ['bridges[1].linuxBridge', (d) => (d.bridges[1].linuxBridge = 'br/lan')],
  ['bridges[1].linuxBridge', (d) => (d.bridges[1].linuxBridge = '')],
  ['bridges[1].vlan', (d) => (d.bridges[1].vlan = 5), /unknown key/],
  // cross-field rules
  ['cascades[0].hashedPassword', (d) => (d.cascades[0].hashedPassword = null), /required for authType "password"/],
  ['cascades[1].plainPassword', (d) => (d.cascades[1].plainPassword = null), /required for authType "plain"/],
  ['cascades[2].clientCertPem', (d) => (d.cascades[2].clientCertPem = null), /required for authType "cert"/],
  ['cascades[2].clientKeyPem', (d) => (d.cascades[2].clientKeyPem = null), /required for authType "cert"/],
  ['cascades[3].hashedPassword', (d) => ((d.cascades[3].authType = 'password'), (d.cascades[3].username = 'u')), /required for authType "password"/],
  ['cascades[0].username', (d) => (d.cascades[0].username = ''), /only anonymous/],
  ['cascades[0].maxConnections', (d) => (d.cascades[0].maxConnections = 1), /at least 2 with halfDuplex/],
  ['cascades[3].proxy.host', (d) => (d.cascades[3].proxy.type = 'socks4'), /required for proxy type "socks4"/],
  ['cascades[3].proxy.port', (d) => (d.cascades[3].proxy = { ...d.cascades[3].proxy, type: 'http', host: 'p.example' }), /from 1 to 65535 for proxy type "http"/],
  ['cascades[3].name', (d) => (d.cascades[3].name = 'HEAD OFFICE'), /duplicates entry \[0\]/],
  ['bridges[0].linuxBridge', (d) => (d.bridges[0].linuxBridge = 'br-lan'), /only allowed with tapMode/],
  ['bridges[1].linuxBridge', (d) => (d.bridges[1].linuxBridge = 'tap_seb'), /differ from device/],
  ['bridges[1].device', (d) => (d.bridges[1].device = 'eth1'), /duplicates entry \[0\]/],
];

for (const [field, mutate, message] of rows) {
  test(`refused with the field named: ${field} (${mutate.toString().replace(/^\(d\) => /, '').slice(0, 70)})`, (t) => {
    const doc = fullConfig() as Doc;
    mutate(doc);
    const err = t.throws(() => validateConfig(doc), { instanceOf: ConfigError });
    t.is(err?.field, field, err?.message);
    t.true(err!.message.startsWith(`${field}: `));
    if (message) t.regex(err!.message, message);
  });
}

test('the full document and the defaults are valid; the result is a fresh copy in canonical key order', (t) => {
  const full = fullConfig();
  const out = validateConfig(full);
  t.deepEqual(out, full);
  t.not(out, full);
  t.not(out.cascades[0], full.cascades[0]);
  t.deepEqual(validateConfig(defaultConfig()), defaultConfig());
  // Same content with keys in another order gives the same serialization.
  const shuffled = JSON.parse(JSON.stringify(full), function (this: unknown, _k, v) {
    return v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v;
  });
  t.not(JSON.stringify(shuffled), JSON.stringify(full));
  t.is(JSON.stringify(validateConfig(shuffled)), JSON.stringify(full));
});

test('accepted edge values', (t) => {
  const d = fullConfig();
  d.cascades[0].name = 'x'.repeat(255);
  d.cascades[0].port = 65535;
  d.cascades[0].maxConnections = 32;
  d.cascades[0].additionalConnectionInterval = 3600;
  d.cascades[0].connectionLifetime = 86_400;
  d.cascades[1].host = 'fe80::1';
  d.cascades[1].plainPassword = '';
  d.cascades[3].proxy.port = 65535;
  d.bridges[0].device = 'x'.repeat(15);
  d.health.cpuWarnPercent = 100;
  d.health.temperatureWarnC = 30;
  d.health.webhookUrl = 'http://192.0.2.1:8080/hook';
  d.log.syslog = null;
  d.cascades[0].proxy.customHttpHeader = `X-A: ${'y'.repeat(4000)}`;
  t.deepEqual(validateConfig(d), d);
});

test('secret values never appear in error messages', (t) => {
  const secret = 'S3cr3t-value-do-not-echo';
  const cases: Array<(d: any) => void> = [
    (d) => (d.admin.passwordHash = `${secret}\n`),
    (d) => (d.cascades[0].hashedPassword = secret),
    (d) => (d.cascades[1].plainPassword = secret.repeat(20)),
    (d) => (d.cascades[2].clientKeyPem = secret),
    (d) => (d.cascades[0].proxy.password = secret.repeat(20)),
    (d) => (d.cascades[0].proxy.customHttpHeader = `Proxy-Authorization ${secret}`),
    (d) => (d.health.webhookUrl = `ftp://${secret}`),
  ];
  for (const c of cases) {
    const d = fullConfig();
    c(d);
    const err = t.throws(() => validateConfig(d), { instanceOf: ConfigError });
    t.false(err!.message.includes(secret), err!.message);
    t.regex(err!.message, /got a string of \d+ characters/);
  }
});

test('a wrong value of an ordinary field is shown (shortened when long)', (t) => {
  const d = fullConfig();
  d.cascades[0].hub = `A B${'c'.repeat(300)}`;
  const err = t.throws(() => validateConfig(d), { instanceOf: ConfigError });
  t.regex(err!.message, /got "A Bc+"… \(303 characters\)/);
});

test('validateCascade and validateBridge check single objects with the given path', (t) => {
  const c = fullConfig().cascades[0];
  t.deepEqual(validateCascade(c, 'cascades[5]'), c);
  const bad = { ...c, port: 70000 };
  t.is(t.throws(() => validateCascade(bad, 'cascades[5]'), { instanceOf: ConfigError })?.field, 'cascades[5].port');
  t.is(t.throws(() => validateCascade({ ...c, hashedPassword: null }), { instanceOf: ConfigError })?.field, 'cascade.hashedPassword');
  const anon = defaultCascade('x', 'h.example', 443, 'HUB', '');
  t.deepEqual(validateCascade(anon), anon);
  const withPw = { ...anon, authType: 'password', username: 'u', hashedPassword: hashedPw('u', 'p') };
  t.deepEqual(validateCascade(withPw), withPw);
  t.deepEqual(validateBridge({ device: 'tap0', tapMode: true, linuxBridge: 'br0' }), { device: 'tap0', tapMode: true, linuxBridge: 'br0' });
  t.is(t.throws(() => validateBridge({ device: 'eth0', tapMode: false, linuxBridge: 'br0' }, 'bridges[2]'), { instanceOf: ConfigError })?.field, 'bridges[2].linuxBridge');
  t.is(t.throws(() => validateBridge(undefined, 'bridges[2]'), { instanceOf: ConfigError })?.field, 'bridges[2]');
});
