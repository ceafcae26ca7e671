/** Pure UI helpers: the server-address box and the number formats shown to operators. */
import test from 'ava';
import { parseHostPort, formatHostPort } from '../../../web/src/host-port.ts';
import { FieldError } from '../../../web/src/errors.ts';
import { bitsShort, bytes, dropReason, duration, fingerprint, fingerprintHex, parseDate, parseFingerprint, rate, sameFingerprint, version } from '../../../web/src/format.ts';
import { fieldNamed } from '../../../web/src/api.ts';
import { COUNTER_KEYS } from '../../../src/ports/raw-socket-port.ts';

test('server address: host, host:port, [v6]:port, bare v6', (t) => {
  t.deepEqual(parseHostPort('vpn.example.com'), { host: 'vpn.example.com', port: 443 });
  t.deepEqual(parseHostPort(' vpn.example.com:5555 '), { host: 'vpn.example.com', port: 5555 });
  t.deepEqual(parseHostPort('192.0.2.1:992'), { host: '192.0.2.1', port: 992 });
  t.deepEqual(parseHostPort('[2001:db8::1]:443'), { host: '2001:db8::1', port: 443 });
  t.deepEqual(parseHostPort('[2001:db8::1]'), { host: '2001:db8::1', port: 443 });
  t.deepEqual(parseHostPort('2001:db8::1'), { host: '2001:db8::1', port: 443 });
  for (const bad of ['', '  ', 'host:', 'host:abc', 'host:0', 'host:65536', 'a b', 'http://x', '[2001:db8::1]:', 'user@host']) {
    const err = t.throws(() => parseHostPort(bad), { instanceOf: FieldError }, JSON.stringify(bad));
    t.is(err?.field, 'Hostname_str');
  }
  t.is(formatHostPort('vpn.example.com', 443), 'vpn.example.com');
  t.is(formatHostPort('2001:db8::1', 5555), '[2001:db8::1]:5555');
  for (const s of ['vpn.example.com:5555', '[2001:db8::1]:992', '10.0.0.1']) {
    const p = parseHostPort(s);
    t.deepEqual(parseHostPort(formatHostPort(p.host, p.port)), p);
  }
});

test('an API error text names its field', (t) => {
  t.is(fieldNamed('Error code 38: Hostname_str: must not be empty'), 'Hostname_str');
  t.is(fieldNamed('Error code 38: cascades[0].HubName_str: must be a non-empty string'), 'HubName_str');
  t.is(fieldNamed('Error code 9: authentication failed'), null);
  t.is(fieldNamed('HalfConnection_bool needs MaxConnection_u32 of at least 2'), 'HalfConnection_bool');
});

test('formats', (t) => {
  t.is(rate(125_000), '1.00 Mbit/s');
  t.is(rate(0), '0 bit/s');
  t.is(rate(125_000_000), '1.00 Gbit/s');
  t.is(bytes(1536), '1.50 KiB');
  t.is(bytes(512), '512 B');
  t.is(duration(59), '59s');
  t.is(duration(61), '1m 01s');
  t.is(duration(3 * 3600 + 5 * 60), '3h 05m');
  t.is(duration(2 * 86400 + 3600), '2d 1h');
  t.is(version(501, 9674), '5.01 build 9674');
  t.is(version(0), '–');
  t.is(fingerprint('ab01ff'), 'AB:01:FF');
  t.is(bitsShort(7_300_000), '7.3M');
  t.is(bitsShort(800_000), '800k');
  t.is(parseDate('1970-01-01T00:00:00.000Z'), null, 'SoftEther "no date" is unset');
  t.is(parseDate(''), null);
  t.is(parseDate('2026-12-03T08:00:00Z'), Date.parse('2026-12-03T08:00:00Z'));
});

test('fingerprints: the API form, comparison across notations, what a user may paste', (t) => {
  const hex = 'ab'.repeat(32);
  const colons = fingerprint(hex);
  t.is(colons, Array(32).fill('AB').join(':'));
  t.is(fingerprintHex(colons), hex);
  t.true(sameFingerprint(colons, hex));
  t.false(sameFingerprint(hex, 'ab'.repeat(31) + 'ac'));
  t.false(sameFingerprint('', ''), 'no fingerprint matches nothing');
  t.is(parseFingerprint(` ${colons.toLowerCase()} `), hex);
  t.is(parseFingerprint(colons.replace(/:/g, ' ')), hex);
  t.is(parseFingerprint(''), '');
  for (const bad of ['ab'.repeat(31), 'ab'.repeat(33), 'zz'.repeat(32), 'sha256:' + hex]) t.is(parseFingerprint(bad), null, bad);
});

test('every drop counter a bridge port reports has words in the UI; an unknown reason is shown as it is', (t) => {
  const keys = [...COUNTER_KEYS.filter((k) => /Drop/.test(k)), 'rxDropNoReceiver', 'txDropNoDevice'];
  for (const k of keys) t.not(dropReason(k), k, `${k} has no description`);
  t.regex(dropReason('rxDropAqm'), /normal under load/);
  t.regex(dropReason('rxDropPathAqm'), /beyond the bridge/);
  t.is(dropReason('somethingNew'), 'somethingNew');
  t.is(dropReason('toString'), 'toString', 'not an inherited property');
});
