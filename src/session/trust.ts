import { X509Certificate } from 'node:crypto';
import { ConfigError } from './config-error.ts';

/**
 * Server certificate trust for a cascade (issue 8). Modes, decided from the options:
 * - 'ca': the chain is verified against the given CA certificates and the certificate must be issued for the
 *   host name/IP we connect to (SoftEther's CheckServerCert with a CA); a set fingerprint must match as well;
 * - 'fingerprint': the SHA-256 of the server certificate must equal the trusted one (SoftEther's ServerCert);
 * - 'first-use': no fingerprint yet: the first certificate that leads to a successful login becomes the trusted
 *   one (reported through the cascade's 'certificate-trusted' event so the owner stores it), and from then on
 *   the mode is 'fingerprint';
 * - 'accept-any': nothing is checked (the stock cascade's default), only when asked for explicitly, logged loudly.
 */
export type TrustMode = 'ca' | 'fingerprint' | 'first-use' | 'accept-any';

export function trustModeOf(o: { checkServerCert: boolean; caCertsPem?: string }, trustedSha256: string | null): TrustMode {
  if (!o.checkServerCert) return 'accept-any';
  if (o.caCertsPem) return 'ca';
  return trustedSha256 ? 'fingerprint' : 'first-use';
}

/**
 * The certificate rules, applied right after TLS and before any request is sent (the cascade's logins and the
 * "Test connection" probe alike): throws CertificateUntrustedError / CertificateChangedError when the certificate
 * must not be used, or when a plain-text password would go to a server whose certificate is not verified. Returns
 * whether it is verified (CA-checked or matching the trusted fingerprint) rather than merely accepted.
 */
export function checkServerCertificate(
  facts: { certSha256: string; ca: { ok: true } | { ok: false; reason: string } | null },
  mode: TrustMode,
  trustedSha256: string | null,
  plainAuth: { plain: boolean; allowOverUnverified: boolean },
): boolean {
  let verified = false;
  if (mode === 'ca') {
    if (facts.ca && !facts.ca.ok) {
      throw new CertificateUntrustedError(`server certificate refused: ${facts.ca.reason} (SHA-256 ${facts.certSha256}); not logging in`, facts.certSha256);
    }
    if (!facts.ca) throw new Error('internal: CA mode without a CA verdict');
    verified = true;
  }
  if (mode === 'ca' || mode === 'fingerprint') {
    if (trustedSha256 !== null && facts.certSha256 !== trustedSha256) throw new CertificateChangedError(trustedSha256, facts.certSha256);
    verified = true;
  }
  if (plainAuth.plain && !verified && !plainAuth.allowOverUnverified) {
    throw new CertificateUntrustedError(
      `refusing to send a plain-text password to a server whose certificate is not verified (SHA-256 ${facts.certSha256}); ` +
        'trust this fingerprint explicitly, give CA certificates, or allow plain auth over an unverified certificate',
      facts.certSha256,
    );
  }
  return verified;
}

/** Canonical form: colon-separated upper-case hex, as OpenSSL prints it and as the status shows it. */
export function normalizeFingerprint(value: string, field = 'serverCertSha256'): string {
  if (typeof value !== 'string') throw new ConfigError(field, 'must be a string of 64 hex digits');
  const hex = value.replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) throw new ConfigError(field, 'must be 64 hex digits (colons allowed)');
  return hex.replace(/(..)(?!$)/g, '$1:');
}

/** A later certificate differs from the trusted one: never logged in; the cascade keeps retrying. */
export class CertificateChangedError extends Error {
  readonly expected: string;
  readonly presented: string;
  constructor(expected: string, presented: string) {
    super(
      `server certificate changed: trusted SHA-256 ${expected}, the server presented ${presented}; not logging in ` +
        '(if the change is expected, accept the new certificate explicitly)',
    );
    this.name = 'CertificateChangedError';
    this.expected = expected;
    this.presented = presented;
  }
}

/** The certificate failed the CA/host-name check, or plain-text auth was about to go to an unverified server. */
export class CertificateUntrustedError extends Error {
  readonly presented: string;
  constructor(message: string, presented: string) {
    super(message);
    this.name = 'CertificateUntrustedError';
    this.presented = presented;
  }
}

/** What the owner learns when a fingerprint becomes trusted. */
export interface CertificateTrustedEvent {
  sha256: string;
  /** 'first-use': recorded after the first successful login; 'accepted': the explicit trust action. */
  reason: 'first-use' | 'accepted';
  /** The certificate's subject and validity, for the owner's log/UI (empty when it was accepted by fingerprint). */
  subject: string;
  validTo: string;
}

export function describeCertificate(der: Buffer): { subject: string; validTo: string } {
  try {
    const c = new X509Certificate(der);
    return { subject: c.subject.replace(/\n/g, ', '), validTo: c.validTo };
  } catch {
    return { subject: '(unparsable certificate)', validTo: '' };
  }
}

/** PEM text with at least one parsable certificate, else ConfigError. */
export function checkCaPem(pem: unknown, field = 'caCertsPem'): string {
  if (typeof pem !== 'string' || !pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(field, 'must be PEM text with at least one certificate');
  if (pem.length > 1_000_000) throw new ConfigError(field, 'is larger than 1 MB');
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  for (const [i, b] of blocks.entries()) {
    try {
      new X509Certificate(b);
    } catch (e) {
      throw new ConfigError(field, `certificate ${i + 1} does not parse (${(e as Error).message})`);
    }
  }
  return pem;
}
