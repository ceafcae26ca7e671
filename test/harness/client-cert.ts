import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from './errors.ts';

/**
 * A self-signed RSA-2048 client certificate for certificate-authenticated users (UserCertSet pins
 * exactly this certificate). Made with the openssl CLI in a private temp directory that is always
 * removed.
 */
export function makeClientCert(cn: string): { certPem: string; keyPem: string; certDer: Buffer } {
  // The CN goes into openssl's -subj syntax, where / and = are separators.
  if (!/^[A-Za-z0-9 ._@-]{1,64}$/.test(cn)) throw new HarnessError(`unsupported certificate CN ${JSON.stringify(cn)}`);
  const dir = mkdtempSync(join(tmpdir(), 'sebt-cert-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    try {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
        '-subj', `/CN=${cn}`, '-keyout', keyPath, '-out', certPath,
      ], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      throw new HarnessError('openssl could not make a client certificate', `${err.stderr?.toString() ?? err.message}`);
    }
    const certPem = readFileSync(certPath, 'utf8');
    const keyPem = readFileSync(keyPath, 'utf8');
    return { certPem, keyPem, certDer: Buffer.from(new X509Certificate(certPem).raw) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
