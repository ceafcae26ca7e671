import { passwordHashBytes, sha0Bytes } from './sha0.ts';

const asBuffer = (r: Uint8Array): Buffer => Buffer.from(r.buffer, r.byteOffset, r.length);

export function sha0(...parts: Uint8Array[]): Buffer {
  return asBuffer(sha0Bytes(...parts));
}

/** SoftEther's stored password hash: SHA-0(password UTF-8 || ASCII-upper(username) UTF-8). */
export function hashPassword(username: string, password: string): Buffer {
  return asBuffer(passwordHashBytes(username, password));
}

/** The login proof for authtype 1: SHA-0(hashed password || the server's 20-byte hello random). */
export function securePassword(hashed: Uint8Array, random: Uint8Array): Buffer {
  return sha0(hashed, random);
}
