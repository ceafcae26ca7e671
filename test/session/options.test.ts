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
  t.is(o.pinnedCertSha256, 'aa'.repeat(32));
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
