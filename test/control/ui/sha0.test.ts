/**
 * The browser's SHA-0 (web/src/sha0.ts, Uint8Array only) must give exactly what the daemon's
 * src/protocol/sha0.ts / password.ts give: the cascade password hash is computed in the browser.
 */
import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { hashPassword as daemonHash } from '../../../src/protocol/password.ts';
import { sha0 as daemonSha0 } from '../../../src/protocol/password.ts';
import { hashPassword, sha0 } from '../../../web/src/sha0.ts';
import { fromBase64, pemOrDer, toBase64, toHex } from '../../../web/src/bytes.ts';

const vectors = JSON.parse(readFileSync(new URL('../../fixtures/vectors.json', import.meta.url), 'utf8'));

test('web sha0 matches the published vectors', (t) => {
  t.true(vectors.sha0.length >= 3);
  for (const v of vectors.sha0) {
    t.is(toHex(sha0(new Uint8Array(Buffer.from(v.input_ascii, 'latin1')))), v.digest_hex);
  }
});

test('web sha0 equals the daemon sha0 at every padding edge and on random input', (t) => {
  for (let len = 0; len <= 200; len++) {
    const data = new Uint8Array(Array.from({ length: len }, (_, i) => (i * 31 + len) & 0xff));
    t.is(toHex(sha0(data)), daemonSha0(data).toString('hex'), `length ${len}`);
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (data) => toHex(sha0(data)) === daemonSha0(data).toString('hex')),
    { numRuns: 300 },
  );
  t.pass();
});

test('web hashPassword equals the daemon hashPassword (ASCII-only upper-casing of the user)', (t) => {
  const cases: Array<[string, string]> = [
    ['alice', 'correct horse'],
    ['Alice', 'correct horse'],
    ['straße', 'pässwörd'],
    ['ımran', 'x'],
    ['', ''],
    ['user', '🔑 emoji'],
  ];
  for (const [u, p] of cases) t.is(toHex(hashPassword(u, p)), daemonHash(u, p).toString('hex'), `${u}/${p}`);
  // Upper-casing is ASCII only: "ß" must not become "SS".
  t.not(toHex(hashPassword('straße', 'p')), toHex(hashPassword('STRASSE', 'p')));
  t.is(toHex(hashPassword('alice', 'p')), toHex(hashPassword('ALICE', 'p')));
  fc.assert(fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 80 }), (u, p) => toHex(hashPassword(u, p)) === daemonHash(u, p).toString('hex')), { numRuns: 300 });
});

test('base64 round trip and PEM unwrapping', (t) => {
  const bytes = new Uint8Array(Array.from({ length: 70000 }, (_, i) => (i * 7) & 0xff));
  t.is(toBase64(bytes), Buffer.from(bytes).toString('base64'));
  t.deepEqual(fromBase64(toBase64(bytes)), bytes);
  const der = new Uint8Array([0x30, 0x82, 0x01, 0x0a, 1, 2, 3]);
  const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE-----\n`;
  t.deepEqual(pemOrDer(new TextEncoder().encode(pem)), der);
  t.deepEqual(pemOrDer(der), der, 'DER passes through');
  t.throws(() => pemOrDer(new TextEncoder().encode('-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----')), { message: /encrypted/ });
  t.throws(() => pemOrDer(new TextEncoder().encode('-----BEGIN CERTIFICATE-----\nAAAA\n')), { message: /no complete/ });
});
