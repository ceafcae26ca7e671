import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Admin password hashing: scrypt through node:crypto's asynchronous API (it runs on libuv's thread pool, so the
 * event loop that carries frames never waits for it), stored as a self-describing string
 * `scrypt$N$r$p$<salt base64>$<hash base64>` so the parameters can be raised later without breaking old hashes.
 *
 * Parameters N=2^14, r=8, p=1 need 128·N·r = 16 MiB per running hash: affordable on a 256 MiB router even with
 * a few at once (the web server lets at most 2 run concurrently). Measured: 38 ms per hash on one core of an
 * AMD EPYC at 2.6 GHz (2026-12, Node 24); expect roughly 0.3-0.5 s on a 1.2 GHz Cortex-A53, which is fine for a
 * login and is why the web server caches a successful check for a few minutes.
 */
export const SCRYPT_PARAMS = { N: 1 << 14, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

// A stored string is trusted only within these bounds, so a tampered config cannot make us allocate gigabytes.
const MAX_MEMORY = 64 * 1024 * 1024;

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 255;

/**
 * The rules for a new admin password. Returns null when acceptable, else a sentence saying what is wrong
 * (never containing the password). Length is counted in Unicode code points.
 */
export function passwordRuleViolation(pw: unknown): string | null {
  if (typeof pw !== 'string') return 'the password must be a string';
  const length = [...pw].length;
  if (length < PASSWORD_MIN_LENGTH) return `the password is too short: at least ${PASSWORD_MIN_LENGTH} characters are required`;
  if (length > PASSWORD_MAX_LENGTH) return `the password is too long: at most ${PASSWORD_MAX_LENGTH} characters are allowed`;
  // Control characters cannot be typed in a browser or carried in an HTTP header (X-VPNADMIN-PASSWORD).
  if (/[\u0000-\u001f\u007f]/.test(pw)) return 'the password must not contain control characters';
  return null;
}

export class PasswordRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswordRuleError';
  }
}

function scryptAsync(pw: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(pw.normalize('NFC'), salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hash a new password (refused with PasswordRuleError when it breaks the rules). */
export async function hashPassword(pw: string): Promise<string> {
  const violation = passwordRuleViolation(pw);
  if (violation) throw new PasswordRuleError(violation);
  const { N, r, p } = SCRYPT_PARAMS;
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(pw, salt, HASH_BYTES, { N, r, p, maxmem: MAX_MEMORY });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

type Parsed = { N: number; r: number; p: number; salt: Buffer; hash: Buffer };

function parseStored(stored: string): Parsed {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') throw new Error('stored password hash: not in the form scrypt$N$r$p$salt$hash');
  const [N, r, p] = parts.slice(1, 4).map((s) => (/^[0-9]{1,8}$/.test(s) ? Number(s) : NaN));
  if (!(N >= 2 && N <= 1 << 20 && (N & (N - 1)) === 0)) throw new Error('stored password hash: N must be a power of two between 2 and 2^20');
  if (!(r >= 1 && r <= 32)) throw new Error('stored password hash: r must be 1..32');
  if (!(p >= 1 && p <= 16)) throw new Error('stored password hash: p must be 1..16');
  if (128 * N * r > MAX_MEMORY) throw new Error('stored password hash: N·r needs more than 64 MiB');
  const b64 = /^[A-Za-z0-9+/]+={0,2}$/;
  if (!b64.test(parts[4]) || !b64.test(parts[5])) throw new Error('stored password hash: salt and hash must be base64');
  const salt = Buffer.from(parts[4], 'base64');
  const hash = Buffer.from(parts[5], 'base64');
  if (salt.length < 8 || salt.length > 64) throw new Error('stored password hash: salt must be 8..64 bytes');
  if (hash.length < 16 || hash.length > 64) throw new Error('stored password hash: hash must be 16..64 bytes');
  return { N, r, p, salt, hash };
}

/** True when `stored` (from hashPassword) is well-formed; lets a config validator refuse a broken one early. */
export function isWellFormedHash(stored: string): boolean {
  try {
    parseStored(stored);
    return true;
  } catch {
    return false;
  }
}

/**
 * Check `pw` against `stored` in constant time. A malformed stored string throws (that is a broken config, not a
 * wrong password). Any string is accepted as `pw` (rules apply to new passwords only), up to 1024 characters:
 * longer input is simply wrong and is not hashed.
 */
export async function verifyPassword(pw: string, stored: string): Promise<boolean> {
  const { N, r, p, salt, hash } = parseStored(stored);
  if (typeof pw !== 'string' || pw.length > 1024) return false;
  const candidate = await scryptAsync(pw, salt, hash.length, { N, r, p, maxmem: MAX_MEMORY });
  return timingSafeEqual(candidate, hash);
}
