import { X509Certificate } from 'node:crypto';
import type { Auth } from '../protocol/login.ts';
import { CASCADE_DEFAULTS, ConfigError, defaultIdentity } from '../session/options.ts';
import type { CascadeOptions } from '../session/options.ts';
import type { CascadeConfig } from './config/types.ts';
import { normalizeFingerprint } from '../session/trust.ts';

/** The engine options for one configured cascade. Throws ConfigError naming the field when it cannot be run. */
export function cascadeOptionsFrom(c: CascadeConfig): CascadeOptions {
  let auth: Auth;
  switch (c.authType) {
    case 'anonymous':
      auth = { type: 'anonymous' };
      break;
    case 'password': {
      const hashed = Buffer.from(c.hashedPassword ?? '', 'base64');
      if (hashed.length !== 20) throw new ConfigError('hashedPassword', 'must be the 20-byte SoftEther password hash');
      auth = { type: 'password', hashedPassword: hashed };
      break;
    }
    case 'plain':
      auth = { type: 'plain', password: c.plainPassword ?? '' };
      break;
    case 'cert': {
      if (!c.clientCertPem || !c.clientKeyPem) throw new ConfigError('clientCertPem', 'a client certificate and key are required');
      let certDer: Buffer;
      try {
        certDer = new X509Certificate(c.clientCertPem).raw;
      } catch (e) {
        throw new ConfigError('clientCertPem', `is not a readable X.509 certificate (${(e as Error).message})`);
      }
      auth = { type: 'cert', certDer, keyPem: c.clientKeyPem };
      break;
    }
  }
  return {
    host: c.host,
    port: c.port,
    hub: c.hub,
    username: c.username,
    auth,
    maxConnections: c.maxConnections,
    additionalConnectionIntervalMs: c.additionalConnectionInterval * 1000,
    connectionLifetimeMs: c.connectionLifetime * 1000,
    halfDuplex: c.halfDuplex,
    compress: c.compress,
    encrypt: c.encrypt,
    qos: !c.disableQos,
    checkServerCert: c.checkServerCert,
    serverCertSha256: c.serverCertSha256 ? normalizeFingerprint(c.serverCertSha256) : null,
    // A plain-text password goes only to a server whose certificate is verified (pinned); on first use the
    // cascade stops and asks for the fingerprint to be accepted (issue 8).
    allowPlainOverUnverified: false,
    proxy: { ...c.proxy },
    retryIntervalMs: CASCADE_DEFAULTS.retryIntervalMs,
    handshakeTimeoutMs: CASCADE_DEFAULTS.handshakeTimeoutMs,
    identity: defaultIdentity(`${c.host}:${c.port}/${c.hub}/${c.username}`),
  };
}

/**
 * What decides whether a running cascade must be replaced: every field except the name (a rename is cosmetic:
 * the session and its counters stay), the online switch (start/stop) and the trusted server fingerprint (applied
 * live: recording it on first use or accepting a new one must not cut the session).
 */
export function engineKey(c: CascadeConfig): string {
  const { name: _name, online: _online, serverCertSha256: _fp, ...rest } = c;
  return JSON.stringify(rest);
}

/** Config form of a fingerprint: 64 lower-case hex digits. */
export function configFingerprint(sha256: string): string {
  return sha256.replace(/:/g, '').toLowerCase();
}
