import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Key files are small PEM documents; a directory of thousands, or a huge file, is a mistake, not a key ring. */
const MAX_KEY_FILES = 32;
const MAX_KEY_FILE_BYTES = 16 * 1024;

export interface TrustedKey {
  /** The file name in the keys directory. */
  name: string;
  /** SHA-256 of the key's DER SubjectPublicKeyInfo, lower-case hex (`openssl pkey -pubin -outform DER | sha256sum`). */
  fingerprint: string;
  key: KeyObject;
}

export interface KeyRing {
  keys: TrustedKey[];
  /** Files that are not usable Ed25519 public keys, with the reason (shown, never fatal for the others). */
  problems: string[];
}

export function keyFingerprint(key: KeyObject): string {
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
}

/**
 * The trusted signing keys: every `*.pub` in `dir` (PEM, SPKI, Ed25519). Read on every use (a handful of small
 * files), so a key added to or removed from the image takes effect without a restart. A missing directory is an
 * empty ring.
 */
export async function loadTrustedKeys(dir: string): Promise<KeyRing> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.pub')).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { keys: [], problems: [] };
    return { keys: [], problems: [`${dir}: ${(e as Error).message}`] };
  }
  const problems: string[] = [];
  if (names.length > MAX_KEY_FILES) {
    problems.push(`${dir}: ${names.length} key files, only the first ${MAX_KEY_FILES} are used`);
    names = names.slice(0, MAX_KEY_FILES);
  }
  const keys: TrustedKey[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      const st = await stat(path);
      if (!st.isFile()) throw new Error('not a regular file');
      if (st.size > MAX_KEY_FILE_BYTES) throw new Error(`larger than ${MAX_KEY_FILE_BYTES} bytes`);
      const key = createPublicKey({ key: await readFile(path, 'utf8'), format: 'pem' });
      if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key, not Ed25519`);
      keys.push({ name, fingerprint: keyFingerprint(key), key });
    } catch (e) {
      problems.push(`${name}: ${(e as Error).message}`);
    }
  }
  return { keys, problems };
}

/** The first key whose Ed25519 signature over `data` verifies, or null. Verification runs on the thread pool. */
export async function findSigner(keys: readonly TrustedKey[], data: Uint8Array, signature: Uint8Array): Promise<TrustedKey | null> {
  for (const k of keys) {
    const ok = await new Promise<boolean>((resolve, reject) => {
      verify(null, data, k.key, signature, (err, result) => (err ? reject(err) : resolve(result)));
    });
    if (ok) return k;
  }
  return null;
}
