import test from 'ava';
import { execFileSync } from 'node:child_process';
import { X509Certificate, constants, createHash, generateKeyPairSync, publicDecrypt, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage, isSessionGone, retryDelayClass } from '../../src/protocol/error-codes.ts';
import { ProtocolError, ServerError } from '../../src/protocol/errors.ts';
import {
  DEFAULT_CLIENT_STR,
  buildAdditionalConnectPack,
  buildLoginPack,
  grantedConnections,
  parseAdditionalConnectReply,
  parseHello,
  parseWelcome,
} from '../../src/protocol/login.ts';
import type { ClientIdentity, LoginOptions, Welcome } from '../../src/protocol/login.ts';
import { Pack, decodePack, encodePack } from '../../src/protocol/pack.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
const vectors = JSON.parse(fixture('vectors.json').toString('utf8'));

const identity: ClientIdentity = {
  clientStr: DEFAULT_CLIENT_STR,
  version: 501,
  build: 9674,
  uniqueId: Buffer.alloc(20, 0xab),
  hostname: 'bridge-1',
};
const options = (over: Partial<LoginOptions> = {}): LoginOptions => ({
  hub: 'REMOTE',
  username: 'linkuser',
  auth: { type: 'password', password: 'linkpw' },
  identity,
  maxConnection: 8,
  useEncrypt: true,
  useCompress: false,
  halfConnection: false,
  qos: false,
  ...over,
});
const random = Buffer.from(vectors.secure_password.server_random_hex, 'hex');
const wireRoundTrip = (p: Pack) => decodePack(encodePack(p));

test('default client string looks like a bridge, never like a client', (t) => {
  t.regex(DEFAULT_CLIENT_STR, /bridge/i);
  t.notRegex(DEFAULT_CLIENT_STR, /client/i);
});

test('login Pack with password auth: fields and the real secure_password', (t) => {
  const p = wireRoundTrip(buildLoginPack(options(), random));
  t.is(p.getStr('method'), 'login');
  t.is(p.getStr('hubname'), 'REMOTE');
  t.is(p.getStr('username'), 'linkuser');
  t.is(p.getInt('authtype'), 1);
  t.is(p.getData('secure_password')?.toString('hex'), vectors.secure_password.secure_password_hex);
  t.is(p.getStr('client_str'), DEFAULT_CLIENT_STR);
  t.is(p.getStr('hello'), DEFAULT_CLIENT_STR);
  t.is(p.getInt('client_ver'), 501);
  t.is(p.getInt('client_build'), 9674);
  t.is(p.getInt('version'), 501);
  t.is(p.getInt('build'), 9674);
  t.is(p.getInt('protocol'), 0);
  t.is(p.getInt('max_connection'), 8);
  t.is(p.getInt('use_encrypt'), 1);
  t.is(p.getInt('use_compress'), 0);
  t.is(p.getInt('half_connection'), 0);
  t.is(p.getInt('require_bridge_routing_mode'), 1);
  t.is(p.getInt('require_monitor_mode'), 0);
  t.is(p.getInt('qos'), 0);
  t.true(p.getData('unique_id')?.equals(identity.uniqueId));
  t.is(p.getStr('ClientHostname'), 'bridge-1');
  t.is(p.getStr('ClientOsName'), 'Linux');
  t.is(p.getInt('ClientProductVer'), 0xf5010000, 'node-info ints are byte-swapped');
  t.false(p.has('plain_password'));
  t.false(p.has('use_fast_rc4'), 'never');
  t.false(p.elements().some((e) => /udp_accel/i.test(e.name)), 'UDP acceleration is declined by omission');
});

test('login Pack from a stored password hash (what CreateLink HashedPassword_bin gives) proves the same', (t) => {
  const hashed = Buffer.from(vectors.secure_password.hashed_password_hex, 'hex');
  const p = wireRoundTrip(buildLoginPack(options({ auth: { type: 'password', hashedPassword: hashed } }), random));
  t.is(p.getInt('authtype'), 1);
  t.is(p.getData('secure_password')?.toString('hex'), vectors.secure_password.secure_password_hex);
});

test('login Pack: flags, plain and anonymous auth', (t) => {
  const flags = wireRoundTrip(
    buildLoginPack(options({ useEncrypt: false, useCompress: true, halfConnection: true, qos: true, maxConnection: 32 }), random),
  );
  t.is(flags.getInt('use_encrypt'), 0, 'use_encrypt is sent even when 0');
  t.is(flags.getInt('use_compress'), 1);
  t.is(flags.getInt('half_connection'), 1);
  t.is(flags.getInt('qos'), 1);
  t.is(flags.getInt('max_connection'), 32);

  const plain = wireRoundTrip(buildLoginPack(options({ auth: { type: 'plain', password: 'pässwörd' } }), random));
  t.is(plain.getInt('authtype'), 2);
  t.is(plain.getStr('plain_password'), 'pässwörd');
  t.false(plain.has('secure_password'));

  const anon = wireRoundTrip(buildLoginPack(options({ auth: { type: 'anonymous' } }), random));
  t.is(anon.getInt('authtype'), 0);
  t.false(anon.has('secure_password') || anon.has('plain_password') || anon.has('cert'));
});

test('login Pack rejects bad arguments', (t) => {
  t.throws(() => buildLoginPack(options(), Buffer.alloc(19)), { instanceOf: RangeError });
  t.throws(() => buildLoginPack(options({ hub: ' ' }), random), { instanceOf: RangeError });
  t.throws(() => buildLoginPack(options({ username: '' }), random), { instanceOf: RangeError });
  t.throws(() => buildLoginPack(options({ maxConnection: 0 }), random), { instanceOf: RangeError });
  t.throws(() => buildLoginPack(options({ maxConnection: 33 }), random), { instanceOf: RangeError });
  t.throws(() => buildLoginPack(options({ identity: { ...identity, uniqueId: Buffer.alloc(16) } }), random), { instanceOf: RangeError });
});

test('login Pack with certificate auth: PKCS#1 v1.5 SHA-1 signature over the random verifies with the cert key', (t) => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const dir = mkdtempSync(join(tmpdir(), 'sebridge-proto-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'key.pem'), keyPem, { mode: 0o600 });
  execFileSync('openssl', ['req', '-x509', '-new', '-key', join(dir, 'key.pem'), '-subj', '/CN=sebridge-test', '-days', '1', '-outform', 'DER', '-out', join(dir, 'cert.der')], { stdio: 'ignore' });
  const certDer = readFileSync(join(dir, 'cert.der'));

  const p = wireRoundTrip(buildLoginPack(options({ auth: { type: 'cert', certDer, keyPem } }), random));
  t.is(p.getInt('authtype'), 3);
  t.true(p.getData('cert')?.equals(certDer));
  const sig = p.getData('sign')!;
  t.is(sig.length, 256, 'key bits / 8');
  const publicKey = new X509Certificate(p.getData('cert')!).publicKey;
  t.true(verify('sha1', random, publicKey, sig));
  t.false(verify('sha1', Buffer.alloc(20), publicKey, sig));
  // Exactly PKCS#1 v1.5 with a SHA-1 DigestInfo, which is what the server checks.
  const digestInfo = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, sig);
  t.is(digestInfo.toString('hex'), `3021300906052b0e03021a05000414${createHash('sha1').update(random).digest('hex')}`);
  t.false(p.has('secure_password'));

  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  t.throws(() => buildLoginPack(options({ auth: { type: 'cert', certDer, keyPem: ec } }), random), { instanceOf: TypeError });
  t.throws(() => buildLoginPack(options({ auth: { type: 'cert', certDer: Buffer.alloc(0), keyPem } }), random), { instanceOf: RangeError });
});

test('additional_connect Pack matches the stock one apart from the client string', (t) => {
  const key = Buffer.from('0102030405060708090a0b0c0d0e0f1011121314', 'hex');
  const ours = wireRoundTrip(buildAdditionalConnectPack(key, identity));
  const stock = decodePack(fixture('real_cascade_additional_connect_pack.bin'));
  for (const name of ['method', 'client_ver', 'client_build']) {
    t.deepEqual(ours.elements().find((e) => e.name === name), stock.elements().find((e) => e.name === name), name);
  }
  t.true(ours.getData('session_key')?.equals(stock.getData('session_key')!));
  t.is(ours.getStr('client_str'), DEFAULT_CLIENT_STR);
  t.deepEqual(
    ours.elements().map((e) => e.name).sort(),
    stock.elements().map((e) => e.name).filter((n) => n !== 'pencore').sort(),
  );
  t.throws(() => buildAdditionalConnectPack(Buffer.alloc(16), identity), { instanceOf: RangeError });
});

test('parseHello: the real hello, errors and non-VPN answers', (t) => {
  const h = parseHello(decodePack(fixture('real_server_hello_pack.bin')));
  const v = vectors.real_packs.server_hello.fields;
  t.is(h.serverStr, v.hello.value);
  t.is(h.version, 501);
  t.is(h.build, 9674);
  t.is(h.random.toString('hex'), v.random.hex);

  const e = t.throws(() => parseHello(new Pack().addInt('error', 33)), { instanceOf: ServerError });
  t.is(e?.code, 33);
  const missing = t.throws(() => parseHello(new Pack().addData('random', Buffer.alloc(20))), { instanceOf: ProtocolError });
  t.is(missing?.layer, 'handshake');
  t.throws(() => parseHello(new Pack().addUniStr('hello', 'x').addData('random', Buffer.alloc(20))), { instanceOf: ProtocolError }, 'typed');
  t.throws(() => parseHello(new Pack().addStr('hello', 'x').addData('random', Buffer.alloc(19))), { instanceOf: ProtocolError });
  t.throws(() => parseHello(new Pack().addStr('hello', 'x')), { instanceOf: ProtocolError });
  t.notThrows(() => parseHello(new Pack().addInt('error', 0).addStr('hello', 'x').addData('random', Buffer.alloc(20))));
});

test('parseWelcome: the real welcome', (t) => {
  const w = parseWelcome(decodePack(fixture('real_server_welcome_pack.bin')));
  const f = vectors.real_packs.server_welcome.fields;
  t.is(w.sessionName, 'SID-ALICE-35');
  t.is(w.connectionName, 'CID-204');
  t.is(w.sessionKey.toString('hex'), f.session_key.hex);
  t.is(w.maxConnection, 1);
  t.true(w.useEncrypt);
  t.false(w.useCompress);
  t.false(w.halfConnection);
  t.is(w.timeoutMs, 20000);
  t.false(w.qos);
  t.is(w.vlanId, 0);
  t.is(w.message, '');
  const policyFields = Object.keys(f).filter((k) => k.startsWith('policy:'));
  t.is(Object.keys(w.policy).length, policyFields.length);
  t.is(policyFields.length, 39, '29 booleans + 10 integers');
  for (const k of policyFields) t.is(w.policy[k.slice(7)], f[k].value, k);
});

const minimalWelcome = () =>
  new Pack().addStr('session_name', 'SID-X-1').addStr('connection_name', 'CID-1').addData('session_key', Buffer.alloc(20, 1));

test('parseWelcome: defaults, clamping and required fields', (t) => {
  const w = parseWelcome(minimalWelcome());
  t.is(w.timeoutMs, 20000, 'missing timeout means 20 s');
  t.is(w.maxConnection, 1, 'missing max_connection means 1');
  t.false(w.useEncrypt, 'missing use_encrypt means 0 (the caller should refuse it)');
  t.deepEqual(w.policy, {});
  const timeout = (ms: number) => parseWelcome(minimalWelcome().addInt('timeout', ms)).timeoutMs;
  t.is(timeout(0), 20000);
  t.is(timeout(1), 5000);
  t.is(timeout(30000), 30000);
  t.is(timeout(4294967295), 60000);
  t.is(parseWelcome(minimalWelcome().addInt('max_connection', 0)).maxConnection, 1);
  t.is(parseWelcome(minimalWelcome().addData('Msg', Buffer.from('héllo'))).message, 'héllo');
  t.is(parseWelcome(minimalWelcome().addInt('vlan_id', 12)).vlanId, 12);

  const bad = [
    new Pack().addStr('connection_name', 'c').addData('session_key', Buffer.alloc(20)),
    new Pack().addStr('session_name', 's').addData('session_key', Buffer.alloc(20)),
    new Pack().addStr('session_name', 's').addStr('connection_name', 'c'),
    new Pack().addStr('session_name', 's').addStr('connection_name', 'c').addData('session_key', Buffer.alloc(21)),
    new Pack().addStr('session_name', 's').addStr('connection_name', 'c').addStr('session_key', 'x'.repeat(20)),
    minimalWelcome().addInt('Redirect', 1),
  ];
  for (const p of bad) {
    const e = t.throws(() => parseWelcome(p), { instanceOf: ProtocolError });
    t.is(e?.layer, 'handshake');
  }
});

test('parseWelcome: error Packs become ServerError with an actionable message', (t) => {
  const e9 = t.throws(() => parseWelcome(new Pack().addInt('error', 9).addInt('no_save_password', 0)), { instanceOf: ServerError });
  t.is(e9?.code, 9);
  t.is(e9?.message, 'authentication failed (error 9): check user name and password');
  const e8 = t.throws(() => parseWelcome(new Pack().addInt('error', 8)), { instanceOf: ServerError });
  t.is(e8?.message, 'virtual hub not found (error 8): check the hub name');
});

test('parseAdditionalConnectReply', (t) => {
  t.deepEqual(parseAdditionalConnectReply(new Pack().addInt('error', 0).addInt('direction', 2)), { direction: 2 });
  t.deepEqual(parseAdditionalConnectReply(new Pack().addInt('direction', 1)), { direction: 1 });
  t.deepEqual(parseAdditionalConnectReply(new Pack()), { direction: 0 });
  const e = t.throws(() => parseAdditionalConnectReply(new Pack().addInt('error', 13)), { instanceOf: ServerError });
  t.true(isSessionGone(e!.code));
  t.is(t.throws(() => parseAdditionalConnectReply(new Pack().addInt('error', 15)), { instanceOf: ServerError })?.code, 15);
  t.throws(() => parseAdditionalConnectReply(new Pack().addInt('direction', 3)), { instanceOf: ProtocolError });
});

test('grantedConnections applies the client rule and the QoS / half-duplex minimums', (t) => {
  const w = (maxConnection: number, qos = false, halfConnection = false): Welcome => ({
    ...parseWelcome(minimalWelcome()),
    maxConnection,
    qos,
    halfConnection,
  });
  t.is(grantedConnections(w(8), 8), 8);
  t.is(grantedConnections(w(4), 8), 4, 'server granted fewer');
  t.is(grantedConnections(w(32), 2), 2, 'we asked for fewer');
  t.is(grantedConnections(w(64), 64), 32, 'capped at 32');
  t.is(grantedConnections(w(1), 0), 1, 'at least 1');
  t.is(grantedConnections(w(1, false, true), 1), 2, 'half duplex needs 2');
  t.is(grantedConnections(w(1, true, false), 1), 2, 'QoS needs 2');
  t.is(grantedConnections(w(1, true, true), 1), 4, 'QoS + half duplex needs 4');
  t.is(grantedConnections(w(8, true, true), 6), 6);
});

test('error codes: every code in the notes has an actionable message', (t) => {
  const codes = [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 21, 23, 33, 51, 63, 85, 87, 105, 106, 107, 108, 109, 124, 125, 127, 131, 138];
  for (const c of codes) {
    const m = errorMessage(c);
    t.true(m.includes(`(error ${c})`), m);
    t.not(m, `server error ${c}`);
    if (c !== 0) t.regex(m, /: \S/, `${c} has an explanation`);
  }
  t.is(errorMessage(999), 'server error 999');
  t.is(new ServerError(999).message, 'server error 999');
  t.is(new ServerError(9).message, errorMessage(9));
  t.deepEqual(codes.filter(isSessionGone), [13, 14]);
  t.deepEqual(codes.filter((c) => retryDelayClass(c) === 'long'), [10, 16, 20, 21]);
  t.is(retryDelayClass(9), 'normal');
});
