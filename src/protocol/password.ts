import { sha0 } from './sha0.ts';

/**
 * Upper-case ASCII a-z only. The server does exactly this; Unicode-aware upper-casing (toUpperCase)
 * would change e.g. "ß" or "ı" and make non-ASCII user names fail to authenticate.
 */
function asciiUpper(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

/** SoftEther's stored password hash: SHA-0(password UTF-8 || ASCII-upper(username) UTF-8). */
export function hashPassword(username: string, password: string): Buffer {
  return sha0(Buffer.from(password, 'utf8'), Buffer.from(asciiUpper(username), 'utf8'));
}

/** The login proof for authtype 1: SHA-0(hashed password || the server's 20-byte hello random). */
export function securePassword(hashed: Uint8Array, random: Uint8Array): Buffer {
  return sha0(hashed, random);
}
