import { X509Certificate } from 'node:crypto';
import type { Auth } from '../protocol/login.ts';
import { CASCADE_DEFAULTS, ConfigError, defaultIdentity } from '../session/options.ts';
import type { CascadeOptions } from '../session/options.ts';
import type { CascadeConfig } from './config/types.ts';

/**
 * Settings the engine cannot honour yet. They are refused with a clear message wherever a config enters (API,
 * import, start-up), never silently ignored.
 */
export function unsupportedReason(c: CascadeConfig): { field: string; message: string } | null {
  if (c.proxy.type !== 'direct') {
    return { field: 'proxy.type', message: `proxy type "${c.proxy.type}" is not supported yet (only direct connections)` };
  }
  return null;
}

/** The engine options for one configured cascade. Throws ConfigError naming the field when it cannot be run. */
export function cascadeOptionsFrom(c: CascadeConfig): CascadeOptions {
  const unsupported = unsupportedReason(c);
  if (unsupported) throw new ConfigError(unsupported.field, unsupported.message);
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
    ...(c.checkServerCert && c.serverCertSha256 ? { pinnedCertSha256: c.serverCertSha256 } : {}),
    retryIntervalMs: CASCADE_DEFAULTS.retryIntervalMs,
    handshakeTimeoutMs: CASCADE_DEFAULTS.handshakeTimeoutMs,
    identity: defaultIdentity(`${c.host}:${c.port}/${c.hub}/${c.username}`),
  };
}

/**
 * What decides whether a running cascade must be replaced: every field except the name (a rename is cosmetic:
 * the session and its counters stay) and the online switch (handled as start/stop).
 */
export function engineKey(c: CascadeConfig): string {
  const { name: _name, online: _online, ...rest } = c;
  return JSON.stringify(rest);
}
