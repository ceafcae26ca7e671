import test from 'ava';
import { parseCascadeOptions, ConfigError, CASCADE_DEFAULTS } from '../../src/session/options.ts';
import { isPriorityFrame } from '../../src/session/session.ts';

const base = { host: '198.18.0.2', hub: 'HUB', username: 'u', password: 'p' };

test('defaults are the stock cascade defaults', (t) => {
  const o = parseCascadeOptions(base);
  t.is(o.port, 443);
  t.is(o.maxConnections, 8);
  t.is(o.additionalConnectionIntervalMs, 1000);
  t.is(o.retryIntervalMs, 10_000);
  t.true(o.encrypt);
  t.false(o.compress);
  t.false(o.halfDuplex);
  t.deepEqual(o.auth, { type: 'password', password: 'p' });
  t.is(o.identity.uniqueId.length, 20);
  t.deepEqual(parseCascadeOptions(base).identity.uniqueId, o.identity.uniqueId, 'unique_id is stable');
  t.is(CASCADE_DEFAULTS.maxConnections, 8);
});

const bad: Array<[string, Record<string, unknown>]> = [
  ['host', { host: undefined }],
  ['host', { host: 'bad host!' }],
  ['hub', { hub: '' }],
  ['username', { username: undefined }],
  ['password', { password: undefined }],
  ['authType', { authType: 'kerberos' }],
  ['maxConnections', { maxConnections: 0 }],
  ['maxConnections', { maxConnections: 33 }],
  ['maxConnections', { maxConnections: 2.5 }],
  ['port', { port: 70000 }],
  ['halfDuplex', { halfDuplex: 'yes' }],
  ['pinnedCertSha256', { pinnedCertSha256: 'abcd' }],
  ['serverCertSha256', { serverCertSha256: 'ab'.repeat(31) + 'zz' }],
  ['checkServerCert', { checkServerCert: 'no' }],
  ['caCertsPem', { caCertsPem: 'not a certificate' }],
  ['checkServerCert', { checkServerCert: false, caCertsPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' }],
  ['authType', { authType: 'plain', checkServerCert: false }],
  ['proxy', { proxy: 'http://x' }],
  ['proxy.type', { proxy: { type: 'socks6', host: 'p', port: 1 } }],
  ['proxy.host', { proxy: { type: 'http', port: 8080 } }],
  ['proxy.host', { proxy: { type: 'http', host: 'a b', port: 8080 } }],
  ['proxy.port', { proxy: { type: 'socks5', host: 'p', port: 0 } }],
  ['proxy.username', { proxy: { type: 'http', host: 'p', port: 1, username: 'a:b' } }],
  ['proxy.username', { proxy: { type: 'socks5', host: 'p', port: 1, password: 'pw' } }],
  ['proxy.password', { proxy: { type: 'socks4', host: 'p', port: 1, username: 'u', password: 'pw' } }],
  ['proxy.password', { proxy: { type: 'socks5', host: 'p', port: 1, username: 'u', password: 'x'.repeat(256) } }],
  ['proxy.customHttpHeader', { proxy: { type: 'http', host: 'p', port: 1, customHttpHeader: 'no colon here' } }],
  ['proxy.customHttpHeader', { proxy: { type: 'http', host: 'p', port: 1, customHttpHeader: 'Host: evil' } }],
  ['proxy.customHttpHeader', { proxy: { type: 'socks5', host: 'p', port: 1, customHttpHeader: 'X-A: b' } }],
  ['certDer', { authType: 'cert', keyPem: 'x' }],
];
for (const [field, patch] of bad) {
  test(`a bad ${field} is refused with a message naming it (${JSON.stringify(patch)})`, (t) => {
    const err = t.throws(() => parseCascadeOptions({ ...base, ...patch }), { instanceOf: ConfigError });
    t.is(err!.field, field);
    t.true(err!.message.startsWith(`${field}:`));
  });
}

test('anonymous needs no password; pin accepts colons', (t) => {
  const pin = 'AA:'.repeat(31) + 'AA';
  const o = parseCascadeOptions({ ...base, password: undefined, authType: 'anonymous', pinnedCertSha256: pin });
  t.deepEqual(o.auth, { type: 'anonymous' });
  t.is(o.serverCertSha256, 'AA:'.repeat(31) + 'AA');
  t.true(o.checkServerCert, 'certificates are checked by default');
});

test('defaults: trust on first use, direct, plain auth allowed to start (checked at login time)', (t) => {
  const o = parseCascadeOptions(base);
  t.is(o.serverCertSha256, null);
  t.true(o.checkServerCert);
  t.false(o.allowPlainOverUnverified);
  t.is(o.proxy.type, 'direct');
  t.is(parseCascadeOptions({ ...base, serverCertSha256: 'ab'.repeat(32) }).serverCertSha256, 'AB:'.repeat(31) + 'AB');
  t.notThrows(() => parseCascadeOptions({ ...base, authType: 'plain', checkServerCert: false, allowPlainOverUnverified: true }));
});

test('proxy options: the daemon config shape maps one to one; password null when empty', (t) => {
  const o = parseCascadeOptions({
    ...base,
    proxy: { type: 'http', host: 'proxy.corp', port: 3128, username: 'me', password: 'pw', customHttpHeader: 'X-A: 1\r\nX-B: two' },
  });
  t.deepEqual(o.proxy, { type: 'http', host: 'proxy.corp', port: 3128, username: 'me', password: 'pw', customHttpHeader: 'X-A: 1\r\nX-B: two' });
  t.deepEqual(parseCascadeOptions({ ...base, proxy: { type: 'socks5', host: '10.0.0.1', port: 1080, username: '', password: '' } }).proxy,
    { type: 'socks5', host: '10.0.0.1', port: 1080, username: '', password: null, customHttpHeader: '' });
  t.is(parseCascadeOptions({ ...base, proxy: { type: 'direct', host: '', port: 0 } }).proxy.type, 'direct');
});

function ipv4Frame(tos: number, proto: number, len: number): Buffer {
  const f = Buffer.alloc(len);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  f[15] = tos;
  f[23] = proto;
  return f;
}

test('QoS priority frames: IPv4 ToS other than 0/8, small ICMP', (t) => {
  t.true(isPriorityFrame(ipv4Frame(0x10, 6, 200)));
  t.false(isPriorityFrame(ipv4Frame(0, 6, 200)));
  t.false(isPriorityFrame(ipv4Frame(8, 6, 200)));
  t.true(isPriorityFrame(ipv4Frame(0, 1, 98)));
  t.false(isPriorityFrame(ipv4Frame(0, 1, 1000)));
  const arp = Buffer.alloc(60);
  arp.writeUInt16BE(0x0806, 12);
  t.false(isPriorityFrame(arp));
});
