import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../control/atomic-write.ts';
import { ConfigError } from './config-error.ts';
import { normalizeFingerprint } from './trust.ts';

/**
 * Where `sebridge link --trust-file PATH` remembers the server certificate fingerprint between runs (the daemon
 * keeps it in its config instead). The file holds one line: the SHA-256 fingerprint, "AB:CD:..." form; lines
 * starting with # are comments.
 */

/** The stored fingerprint, or null when the file does not exist yet. A file with anything else in it is an error. */
export async function readTrustFile(path: string, field = '--trust-file'): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(field, `cannot read ${path}: ${(e as Error).message}`);
  }
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length !== 1) throw new ConfigError(field, `${path} must hold exactly one SHA-256 fingerprint line`);
  return normalizeFingerprint(lines[0]!, field);
}

/** Durably replaces the file's fingerprint (temp file, fsync, rename). */
export async function writeTrustFile(path: string, sha256: string, note: string): Promise<void> {
  const fp = normalizeFingerprint(sha256);
  await writeFileAtomic(path, `# sebridge: trusted SHA-256 of the VPN server's certificate (${note.replace(/\n/g, ' ')})\n${fp}\n`, 0o644);
}
