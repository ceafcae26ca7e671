import test from 'ava';
import { scryptSync } from 'node:crypto';
import {
  PasswordRuleError,
  SCRYPT_PARAMS,
  hashPassword,
  isWellFormedHash,
  passwordRuleViolation,
  verifyPassword,
} from '../../../src/control/auth/password-hash.ts';

test('hash is self-describing scrypt$N$r$p$salt$hash and verifies only the right password', async (t) => {
  const stored = await hashPassword('correct horse battery');
  const parts = stored.split('$');
  t.is(parts.length, 6);
  t.deepEqual(parts.slice(0, 4), ['scrypt', String(SCRYPT_PARAMS.N), String(SCRYPT_PARAMS.r), String(SCRYPT_PARAMS.p)]);
  t.is(Buffer.from(parts[4], 'base64').length, 16);
  t.is(Buffer.from(parts[5], 'base64').length, 32);
  // Independent check of the derivation (test code may use the sync API).
  const expect = scryptSync('correct horse battery', Buffer.from(parts[4], 'base64'), 32, { N: 16384, r: 8, p: 1, maxmem: 64 << 20 });
  t.is(parts[5], expect.toString('base64'));
  t.true(await verifyPassword('correct horse battery', stored));
  t.false(await verifyPassword('correct horse batterY', stored));
  t.false(await verifyPassword('', stored));
  t.false(await verifyPassword('x'.repeat(5000), stored));
  t.true(isWellFormedHash(stored));
});

test('two hashes of the same password differ (random salt)', async (t) => {
  const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
  t.not(a, b);
  t.true(await verifyPassword('same password', b));
});

test('hashes with other parameters still verify (parameters come from the string)', async (t) => {
  const salt = Buffer.alloc(16, 7);
  const hash = scryptSync('older password', salt, 32, { N: 1024, r: 4, p: 2 });
  const stored = `scrypt$1024$4$2$${salt.toString('base64')}$${hash.toString('base64')}`;
  t.true(await verifyPassword('older password', stored));
  t.false(await verifyPassword('older passwort', stored));
});

test('password rules: 8..255 code points, no control characters, clear messages', async (t) => {
  t.regex(passwordRuleViolation('short') ?? '', /too short: at least 8/);
  t.regex(passwordRuleViolation('x'.repeat(256)) ?? '', /too long: at most 255/);
  t.is(passwordRuleViolation('x'.repeat(255)), null);
  t.is(passwordRuleViolation('12345678'), null);
  t.is(passwordRuleViolation('ü'.repeat(8)), null);
  t.regex(passwordRuleViolation('😀😀😀😀') ?? '', /too short/); // 4 code points although 8 UTF-16 units
  t.regex(passwordRuleViolation('abc\ndefgh') ?? '', /control characters/);
  t.regex(passwordRuleViolation(12345678) ?? '', /must be a string/);
  t.regex(passwordRuleViolation(undefined) ?? '', /must be a string/);
  const err = await t.throwsAsync(hashPassword('short'));
  t.true(err instanceof PasswordRuleError);
  t.false(err.message.includes('short"'));
});

test('malformed or oversized stored hashes are refused with a clear error, not treated as a wrong password', async (t) => {
  const good = await hashPassword('a good password');
  const [, , , , salt, hash] = good.split('$');
  const bad: [string, RegExp][] = [
    ['', /not in the form/],
    ['bcrypt$2$3$4$5$6', /not in the form/],
    [`scrypt$16384$8$1$${salt}`, /not in the form/],
    [`scrypt$1000$8$1$${salt}$${hash}`, /power of two/],
    [`scrypt$1048576$8$1$${salt}$${hash}`, /64 MiB/],
    [`scrypt$16384$0$1$${salt}$${hash}`, /r must be/],
    [`scrypt$16384$8$99$${salt}$${hash}`, /p must be/],
    [`scrypt$16384$8$1$***$${hash}`, /base64/],
    [`scrypt$16384$8$1$${salt}$AAAA`, /hash must be/],
  ];
  for (const [stored, msg] of bad) {
    await t.throwsAsync(verifyPassword('a good password', stored), { message: msg }, stored);
    t.false(isWellFormedHash(stored));
  }
});
