import net from 'node:net';
import os from 'node:os';
import { createHash } from 'node:crypto';
import type { Auth, ClientIdentity } from '../protocol/login.ts';
import { DEFAULT_CLIENT_STR } from '../protocol/login.ts';
import { ConfigError } from './config-error.ts';
import { checkCaPem, normalizeFingerprint } from './trust.ts';
import { parseProxyOptions } from './proxy/proxy-options.ts';
import type { ProxyOptions } from './proxy/proxy-options.ts';
import type { TlsCipherOffer } from './tls-cipher.ts';

/** Everything a cascade link needs; what a network engineer fills in on the appliance's page. */
export interface CascadeOptions {
  host: string;
  port: number;
  hub: string;
  username: string;
  auth: Auth;
  /** TCP connections to ask for (1..32). */
  maxConnections: number;
  additionalConnectionIntervalMs: number;
  /** Close and replace each TCP connection after this long; 0 = never. */
  connectionLifetimeMs: number;
  halfDuplex: boolean;
  compress: boolean;
  /** false = use_encrypt=0: TLS only for the login, raw TCP afterwards (faster, for trusted networks). */
  encrypt: boolean;
  /** Ask for a dedicated priority connection (only effective with >= 2 connections). */
  qos: boolean;
  /**
   * false = accept any server certificate (SoftEther's CheckServerCert off; an explicit, loudly logged choice).
   * true (default) = check it: against `caCertsPem` if given, else by fingerprint (trust on first use while
   * `serverCertSha256` is null). See trust.ts.
   */
  checkServerCert: boolean;
  /** Trusted SHA-256 of the server certificate, canonical "AB:CD:..." form; null = not known yet (first use). */
  serverCertSha256: string | null;
  /** PEM CA certificates to verify the server's chain and host name against (instead of trust on first use). */
  caCertsPem?: string;
  /** Let --auth plain send its password to a server whose certificate is not verified (accept-any / first use). */
  allowPlainOverUnverified: boolean;
  /** How the TCP connections reach the server (direct, HTTP CONNECT, SOCKS4/4a, SOCKS5). */
  proxy: ProxyOptions;
  /** Base reconnect interval; the stock cascade uses a fixed 10 s with +-20 % jitter. */
  retryIntervalMs: number;
  /** How long each handshake step (TCP+TLS, hello, welcome) may take; the stock client uses 15 s. */
  handshakeTimeoutMs: number;
  identity: ClientIdentity;
  /** Which TLS ciphers to offer (src/session/tls-cipher.ts); absent: the process's choice (SEBRIDGE_TLS_CIPHER). */
  tlsCipher?: TlsCipherOffer;
}

export { ConfigError };

export const CASCADE_DEFAULTS = {
  port: 443,
  maxConnections: 8,
  additionalConnectionIntervalMs: 1000,
  connectionLifetimeMs: 0,
  halfDuplex: false,
  compress: false,
  encrypt: true,
  qos: true,
  retryIntervalMs: 10_000,
  handshakeTimeoutMs: 15_000,
} as const;

/** A stable 20-byte id per appliance+link: the server counts multi-logins by it (docs/protocol-notes.md §4.3). */
export function defaultIdentity(seed: string): ClientIdentity {
  return {
    clientStr: DEFAULT_CLIENT_STR,
    version: 501,
    build: 9674,
    uniqueId: createHash('sha1').update(`sebridge:${os.hostname()}:${seed}`).digest(),
    hostname: os.hostname(),
  };
}

type Input = Record<string, unknown>;

function str(o: Input, field: string, required: boolean): string | undefined {
  const v = o[field];
  if (v === undefined || v === null || v === '') {
    if (required) throw new ConfigError(field, 'is required');
    return undefined;
  }
  if (typeof v !== 'string') throw new ConfigError(field, 'must be a string');
  return v;
}

function int(o: Input, field: string, def: number, min: number, max: number): number {
  const v = o[field];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(field, `must be a whole number from ${min} to ${max} (got ${JSON.stringify(v)})`);
  }
  return v;
}

function bool(o: Input, field: string, def: boolean): boolean {
  const v = o[field];
  if (v === undefined) return def;
  if (typeof v !== 'boolean') throw new ConfigError(field, 'must be true or false');
  return v;
}

const HOST_RE = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;

/**
 * Turn untrusted input (CLI flags, the web API, the config file) into options, or throw a ConfigError that
 * names the offending field. Never half-accepts.
 */
export function parseCascadeOptions(input: Input): CascadeOptions {
  const host = str(input, 'host', true)!;
  if (!net.isIP(host) && !HOST_RE.test(host)) throw new ConfigError('host', `"${host}" is not a host name or IP address`);
  const hub = str(input, 'hub', true)!;
  if (hub.length > 255 || /[\s]/.test(hub)) throw new ConfigError('hub', 'must be a hub name without spaces');
  const username = str(input, 'username', true)!;
  if (username.length > 255) throw new ConfigError('username', 'is too long');
  const authType = str(input, 'authType', false) ?? 'password';
  let auth: Auth;
  switch (authType) {
    case 'anonymous':
      auth = { type: 'anonymous' };
      break;
    case 'password':
    case 'plain': {
      const password = input['password'];
      if (typeof password !== 'string') throw new ConfigError('password', `is required for authType "${authType}"`);
      auth = authType === 'password' ? { type: 'password', password } : { type: 'plain', password };
      break;
    }
    case 'cert': {
      const certDer = input['certDer'];
      const keyPem = str(input, 'keyPem', true)!;
      if (!Buffer.isBuffer(certDer) || certDer.length === 0) throw new ConfigError('certDer', 'a DER certificate is required for authType "cert"');
      auth = { type: 'cert', certDer, keyPem };
      break;
    }
    default:
      throw new ConfigError('authType', `must be one of anonymous, password, plain, cert (got "${authType}")`);
  }
  // `pinnedCertSha256` is the field's earlier name, still accepted.
  const pinField = input['serverCertSha256'] !== undefined && input['serverCertSha256'] !== null ? 'serverCertSha256' : 'pinnedCertSha256';
  const pin = str(input, pinField, false);
  const serverCertSha256 = pin === undefined ? null : normalizeFingerprint(pin, pinField);
  const checkServerCert = bool(input, 'checkServerCert', true);
  const hasCa = input['caCertsPem'] !== undefined && input['caCertsPem'] !== null;
  if (!checkServerCert && hasCa) throw new ConfigError('checkServerCert', 'must be true when CA certificates are given');
  const caCertsPem = hasCa ? checkCaPem(input['caCertsPem']) : undefined;
  const allowPlainOverUnverified = bool(input, 'allowPlainOverUnverified', false);
  if (auth.type === 'plain' && !checkServerCert && !allowPlainOverUnverified) {
    throw new ConfigError('authType', 'plain sends the password as text; refused with checkServerCert off unless allowPlainOverUnverified is set');
  }
  const proxy = parseProxyOptions(input['proxy']);
  const port = int(input, 'port', CASCADE_DEFAULTS.port, 1, 65535);
  return {
    host,
    port,
    hub,
    username,
    auth,
    maxConnections: int(input, 'maxConnections', CASCADE_DEFAULTS.maxConnections, 1, 32),
    additionalConnectionIntervalMs: int(input, 'additionalConnectionIntervalMs', CASCADE_DEFAULTS.additionalConnectionIntervalMs, 100, 60_000),
    connectionLifetimeMs: int(input, 'connectionLifetimeMs', CASCADE_DEFAULTS.connectionLifetimeMs, 0, 86_400_000),
    halfDuplex: bool(input, 'halfDuplex', CASCADE_DEFAULTS.halfDuplex),
    compress: bool(input, 'compress', CASCADE_DEFAULTS.compress),
    encrypt: bool(input, 'encrypt', CASCADE_DEFAULTS.encrypt),
    qos: bool(input, 'qos', CASCADE_DEFAULTS.qos),
    checkServerCert,
    serverCertSha256,
    ...(caCertsPem !== undefined ? { caCertsPem } : {}),
    allowPlainOverUnverified,
    proxy,
    retryIntervalMs: int(input, 'retryIntervalMs', CASCADE_DEFAULTS.retryIntervalMs, 1000, 300_000),
    handshakeTimeoutMs: int(input, 'handshakeTimeoutMs', CASCADE_DEFAULTS.handshakeTimeoutMs, 1000, 120_000),
    identity: defaultIdentity(`${host}:${port}/${hub}/${username}`),
  };
}
