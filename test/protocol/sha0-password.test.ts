import test from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hashPassword, securePassword } from '../../src/protocol/password.ts';
import { sha0 } from '../../src/protocol/password.ts';

const vectors = JSON.parse(readFileSync(new URL('../fixtures/vectors.json', import.meta.url), 'utf8'));

test('sha0 matches every published/computed vector', (t) => {
  t.true(vectors.sha0.length >= 3);
  for (const v of vectors.sha0) {
    t.is(sha0(Buffer.from(v.input_ascii, 'latin1')).toString('hex'), v.digest_hex, JSON.stringify(v.input_ascii).slice(0, 20));
  }
});

test('sha0 is not sha1', (t) => {
  const v = vectors.sha1_is_not_sha0;
  t.is(createHash('sha1').update(v.input_ascii).digest('hex'), v.sha1_hex);
  t.not(sha0(Buffer.from(v.input_ascii)).toString('hex'), v.sha1_hex);
});

test('sha0 hashes the concatenation of its parts, across block boundaries', (t) => {
  // Lengths around the 55/56/64-byte padding edges, split at every position.
  const data = Buffer.from(Array.from({ length: 130 }, (_, i) => (i * 7 + 3) & 0xff));
  for (const len of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 130]) {
    const whole = sha0(data.subarray(0, len));
    for (let cut = 0; cut <= len; cut += 13) {
      t.true(sha0(data.subarray(0, cut), data.subarray(cut, len)).equals(whole));
    }
  }
  t.true(sha0().equals(sha0(Buffer.alloc(0))));
});

test('hashPassword reproduces every hash the real server produced', (t) => {
  t.is(vectors.hash_password.length, 7);
  for (const v of vectors.hash_password) {
    const h = hashPassword(v.username, v.password);
    t.is(h.length, 20);
    t.is(h.toString('hex'), v.hashed_hex, v.username);
    t.is(h.toString('base64'), v.hashed_base64);
    // The documented input layout, checked independently of the hash.
    t.is(Buffer.concat([Buffer.from(v.password, 'utf8'), Buffer.from(v.username.toUpperCase(), 'utf8')]).toString('hex'), v.sha0_input_hex);
  }
});

test('server admin password hash is plain SHA0(password)', (t) => {
  const v = vectors.server_admin_password_hash;
  t.is(sha0(Buffer.from(v.password, 'utf8')).toString('hex'), v.hashed_hex);
});

test('hashPassword upper-cases only ASCII a-z of the user name', (t) => {
  // "ß".toUpperCase() is "SS" and "ı" becomes "I": the server does neither.
  const expected = sha0(Buffer.from('pw', 'utf8'), Buffer.from('STRAßE-ı', 'utf8'));
  t.true(hashPassword('straße-ı', 'pw').equals(expected));
  t.true(hashPassword('Alice', 'secret').equals(hashPassword('ALICE', 'secret')));
  t.false(hashPassword('alice', 'Secret').equals(hashPassword('alice', 'secret')), 'password is case-sensitive');
});

test('securePassword matches the stock cascade capture', (t) => {
  const v = vectors.secure_password;
  const hashed = hashPassword(v.username, v.password);
  t.is(hashed.toString('hex'), v.hashed_password_hex);
  t.is(securePassword(hashed, Buffer.from(v.server_random_hex, 'hex')).toString('hex'), v.secure_password_hex);
});
