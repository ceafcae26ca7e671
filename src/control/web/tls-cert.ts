import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { writeFileAtomic } from '../atomic-write.ts';
import { readIfExists } from '../read-if-exists.ts';

/**
 * The web server's TLS certificate: self-signed, made on first start and reused afterwards, so the fingerprint
 * the admin noted (and the browser exception they accepted) stays valid across restarts.
 *
 * Key: EC P-256 with ECDSA-SHA256 (small, fast handshakes on a weak CPU). `selfsigned` 5 generates through
 * WebCrypto (key generation and signing run on the thread pool). Measured on one AMD EPYC core at 2.6 GHz: the
 * first generation in a process takes ~55 ms and stalls the event loop for at most ~20 ms (loading the ASN.1
 * libraries and building the certificate in JS); later ones ~17 ms with ≤ 10 ms stalls. It happens once in the
 * life of an appliance, at first start, before any link runs.
 */
export type WebCertificate = {
  certPem: string;
  keyPem: string;
  /** SHA-256 of the DER certificate, upper-case hex pairs joined by ':' (AA:BB:...). */
  sha256: string;
  /** True when this call generated it (first start, or the stored pair was unusable). */
  created: boolean;
  /** Why a stored pair was replaced, when it was. */
  replacedReason?: string;
};

export const CERT_FILE = 'web-cert.pem';
export const KEY_FILE = 'web-key.pem';
const VALIDITY_DAYS = 3650;

export type CertificateOptions = {
  hostname?: string;
  now?: () => number;
};

export async function loadOrCreateCertificate(dir: string, opts: CertificateOptions = {}): Promise<WebCertificate> {
  const now = opts.now ?? Date.now;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const certPath = join(dir, CERT_FILE);
  const keyPath = join(dir, KEY_FILE);

  const [certPem, keyPem] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);
  let replacedReason: string | undefined;
  if (certPem !== null && keyPem !== null) {
    const problem = checkPair(certPem, keyPem, now());
    if (problem === null) return { certPem, keyPem, sha256: fingerprint(certPem), created: false };
    replacedReason = problem;
  } else if (certPem !== null || keyPem !== null) {
    replacedReason = `${certPem === null ? CERT_FILE : KEY_FILE} is missing`;
  }

  const made = await createCertificate(opts.hostname ?? safeHostname(), now());
  // Key first: a crash between the two writes leaves a mismatched pair, which the next start detects and replaces.
  await writeFileAtomic(keyPath, made.keyPem, 0o600);
  await writeFileAtomic(certPath, made.certPem, 0o644);
  return { ...made, sha256: fingerprint(made.certPem), created: true, ...(replacedReason ? { replacedReason } : {}) };
}

/** SHA-256 fingerprint of a PEM certificate as AA:BB:... */
export function fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

async function createCertificate(host: string, t: number): Promise<{ certPem: string; keyPem: string }> {
  const notBefore = new Date(t - 24 * 3600_000); // a day of slack for clocks that are a bit behind
  const notAfter = new Date(t + VALIDITY_DAYS * 24 * 3600_000);
  const dnsNames = [...new Set([host, 'localhost'])];
  const pems = await generate([{ name: 'commonName', value: host }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [...dnsNames.map((value) => ({ type: 2 as const, value })), { type: 7 as const, ip: '127.0.0.1' }],
      },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}

function checkPair(certPem: string, keyPem: string, t: number): string | null {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return `${CERT_FILE} is not a readable certificate`;
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return `${KEY_FILE} is not a readable private key`;
  }
  if (!cert.checkPrivateKey(key)) return `${KEY_FILE} does not belong to ${CERT_FILE}`;
  if (Date.parse(cert.validTo) <= t) return `${CERT_FILE} expired on ${cert.validTo}`;
  return null;
}


// A certificate CN/SAN must be a DNS name; fall back to a fixed one when the system name is not usable.
function safeHostname(): string {
  const h = osHostname();
  return /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(h) ? h : 'sebridge';
}
