import net from 'node:net';
import { ConfigError } from '../config-error.ts';

/** SoftEther's ProxyType: 0 direct, 1 HTTP CONNECT, 2 SOCKS4(a), 3 SOCKS5. */
export type ProxyType = 'direct' | 'http' | 'socks4' | 'socks5';

/**
 * How the cascade's TCP connections reach the server. Same shape as the daemon's config (`proxy` per cascade), so
 * the mapping is one to one. With `type: 'direct'` the other fields are ignored.
 */
export interface ProxyOptions {
  type: ProxyType;
  host: string;
  port: number;
  /** '' = no credentials. SOCKS4 sends it as the user id (SOCKS4 has no passwords). */
  username: string;
  password: string | null;
  /** HTTP only: extra request header lines ("Name: value", separated by CR LF or LF), like SoftEther's CustomHttpHeader. */
  customHttpHeader: string;
}

export const DIRECT: ProxyOptions = Object.freeze({ type: 'direct', host: '', port: 0, username: '', password: null, customHttpHeader: '' });

const SOFTETHER_PROXY_TYPES: readonly ProxyType[] = ['direct', 'http', 'socks4', 'socks5'];

/** JSON-RPC `ProxyType_u32` (0..3) to our name; throws ConfigError for anything else. */
export function proxyTypeFromSoftEther(n: unknown, field = 'ProxyType_u32'): ProxyType {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 3) {
    throw new ConfigError(field, `must be 0 (direct), 1 (HTTP), 2 (SOCKS4) or 3 (SOCKS5) (got ${JSON.stringify(n)})`);
  }
  return SOFTETHER_PROXY_TYPES[n]!;
}

export function proxyTypeToSoftEther(t: ProxyType): 0 | 1 | 2 | 3 {
  return SOFTETHER_PROXY_TYPES.indexOf(t) as 0 | 1 | 2 | 3;
}

const HOST_RE = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;
const DEFAULT_PORTS: Record<Exclude<ProxyType, 'direct'>, number> = { http: 8080, socks4: 1080, socks5: 1080 };
/** Header name: an RFC 9110 token. */
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
export const MAX_CUSTOM_HTTP_HEADER = 4096;
/** Headers our CONNECT request sets itself; a custom line may not replace them. */
const RESERVED_HEADERS = new Set(['host', 'proxy-authorization', 'content-length', 'transfer-encoding']);

/** The custom header lines, validated; each "Name: value". */
export function customHeaderLines(text: string, field = 'proxy.customHttpHeader'): string[] {
  if (typeof text !== 'string') throw new ConfigError(field, 'must be a string');
  if (text.length > MAX_CUSTOM_HTTP_HEADER) throw new ConfigError(field, `is longer than ${MAX_CUSTOM_HTTP_HEADER} characters`);
  const lines: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    const value = colon > 0 ? line.slice(colon + 1).trim() : '';
    if (!TOKEN_RE.test(name)) throw new ConfigError(field, `"${line.slice(0, 60)}" is not a "Name: value" header line`);
    if (/[\x00-\x1f\x7f]/.test(value)) throw new ConfigError(field, `header ${name} contains control characters`);
    if (RESERVED_HEADERS.has(name.toLowerCase())) throw new ConfigError(field, `header ${name} is set by sebridge itself`);
    lines.push(`${name}: ${value}`);
  }
  return lines;
}

type Input = Record<string, unknown>;

/**
 * Untrusted input (config file, web API, CLI) to ProxyOptions; `undefined`/null = direct. Throws ConfigError naming
 * the field (prefixed with `prefix`, e.g. "proxy.port").
 */
export function parseProxyOptions(input: unknown, prefix = 'proxy'): ProxyOptions {
  if (input === undefined || input === null) return DIRECT;
  if (typeof input !== 'object' || Array.isArray(input)) throw new ConfigError(prefix, 'must be an object');
  const o = input as Input;
  const type = o['type'] ?? 'direct';
  if (type !== 'direct' && type !== 'http' && type !== 'socks4' && type !== 'socks5') {
    throw new ConfigError(`${prefix}.type`, `must be one of direct, http, socks4, socks5 (got ${JSON.stringify(type)})`);
  }
  if (type === 'direct') return DIRECT;
  const host = o['host'];
  if (typeof host !== 'string' || host === '') throw new ConfigError(`${prefix}.host`, 'is required for a proxy');
  if (!net.isIP(host) && !HOST_RE.test(host)) throw new ConfigError(`${prefix}.host`, `"${host.slice(0, 80)}" is not a host name or IP address`);
  const port = o['port'] ?? DEFAULT_PORTS[type];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`${prefix}.port`, `must be a whole number from 1 to 65535 (got ${JSON.stringify(port)})`);
  }
  const username = o['username'] ?? '';
  if (typeof username !== 'string') throw new ConfigError(`${prefix}.username`, 'must be a string');
  if (/[\x00-\x1f\x7f]/.test(username)) throw new ConfigError(`${prefix}.username`, 'contains control characters');
  if (Buffer.byteLength(username) > 255) throw new ConfigError(`${prefix}.username`, 'is longer than 255 bytes');
  if (type === 'http' && username.includes(':')) throw new ConfigError(`${prefix}.username`, 'must not contain ":" (HTTP Basic)');
  const password = o['password'] ?? null;
  if (password !== null && typeof password !== 'string') throw new ConfigError(`${prefix}.password`, 'must be a string or null');
  if (password !== null && Buffer.byteLength(password) > 255) throw new ConfigError(`${prefix}.password`, 'is longer than 255 bytes');
  if (password !== null && password !== '' && username === '') throw new ConfigError(`${prefix}.username`, 'is required when a proxy password is set');
  if (type === 'socks4' && password !== null && password !== '') {
    throw new ConfigError(`${prefix}.password`, 'SOCKS4 has no passwords (the user name is sent as the user id); use socks5');
  }
  const customHttpHeader = o['customHttpHeader'] ?? '';
  if (typeof customHttpHeader !== 'string') throw new ConfigError(`${prefix}.customHttpHeader`, 'must be a string');
  if (customHttpHeader.trim() !== '' && type !== 'http') {
    throw new ConfigError(`${prefix}.customHttpHeader`, 'is only for HTTP proxies');
  }
  customHeaderLines(customHttpHeader, `${prefix}.customHttpHeader`);
  return { type, host, port, username, password: password === '' ? null : password, customHttpHeader };
}

/**
 * `http://user@host:port`, `socks5://user@host:port`, `socks4://user@host:port` (user optional, IPv6 in brackets).
 * A password in the URL is refused: it would sit in the process list and shell history.
 */
export function parseProxyUrl(url: string, field = '--proxy'): Omit<ProxyOptions, 'password' | 'customHttpHeader'> {
  const m = /^(http|socks4|socks5h?):\/\/(?:([^@/]*)@)?(\[[0-9A-Fa-f:.]+\]|[^:/@[\]]+)(?::(\d{1,5}))?\/?$/.exec(url);
  if (!m) throw new ConfigError(field, `"${url.slice(0, 100)}" is not http://[user@]host:port, socks5://[user@]host:port or socks4://[user@]host:port`);
  const scheme = m[1]!;
  const userinfo = m[2] ?? '';
  if (userinfo.includes(':')) throw new ConfigError(field, 'put no password in the URL; use --proxy-password-env VAR');
  let username: string;
  try {
    username = decodeURIComponent(userinfo);
  } catch {
    throw new ConfigError(field, 'the user name is not valid percent-encoding');
  }
  const type: Exclude<ProxyType, 'direct'> = scheme === 'http' ? 'http' : scheme === 'socks4' ? 'socks4' : 'socks5';
  const port = m[4] === undefined ? DEFAULT_PORTS[type] : Number(m[4]);
  return { type, host: m[3]!.replace(/^\[|\]$/g, ''), port, username };
}

/** For logs and status: never includes the password. */
export function describeProxy(p: ProxyOptions): string {
  if (p.type === 'direct') return 'direct';
  const host = net.isIPv6(p.host) ? `[${p.host}]` : p.host;
  return `${p.type}://${p.username ? `${encodeURIComponent(p.username)}@` : ''}${host}:${p.port}`;
}

/** The proxy fields of SoftEther's JSON-RPC `CreateLink`/`SetLink`/`GetLink` (ClientOption). */
export interface SoftEtherProxyFields {
  ProxyType_u32?: unknown;
  ProxyName_str?: unknown;
  ProxyPort_u32?: unknown;
  ProxyUsername_str?: unknown;
  ProxyPassword_str?: unknown;
  CustomHttpHeader_str?: unknown;
}

const RPC_FIELD: Record<string, keyof SoftEtherProxyFields> = {
  'proxy.type': 'ProxyType_u32',
  'proxy.host': 'ProxyName_str',
  'proxy.port': 'ProxyPort_u32',
  'proxy.username': 'ProxyUsername_str',
  'proxy.password': 'ProxyPassword_str',
  'proxy.customHttpHeader': 'CustomHttpHeader_str',
};

/**
 * JSON-RPC fields to ProxyOptions, with the same checks as the config; a ConfigError names the RPC field.
 * An empty `ProxyPassword_str` means "no password" (SoftEther never reads passwords back, so a client that
 * round-trips GetLink into SetLink sends it empty: keeping a stored password is the caller's decision).
 */
export function proxyOptionsFromSoftEther(f: SoftEtherProxyFields): ProxyOptions {
  const type = proxyTypeFromSoftEther(f.ProxyType_u32 ?? 0);
  try {
    return parseProxyOptions({
      type,
      host: f.ProxyName_str ?? '',
      port: f.ProxyPort_u32,
      username: f.ProxyUsername_str ?? '',
      password: f.ProxyPassword_str === '' ? null : (f.ProxyPassword_str ?? null),
      customHttpHeader: f.CustomHttpHeader_str ?? '',
    });
  } catch (e) {
    if (e instanceof ConfigError && RPC_FIELD[e.field]) {
      throw new ConfigError(RPC_FIELD[e.field]!, e.message.slice(e.field.length + 2));
    }
    throw e;
  }
}

/** ProxyOptions to the JSON-RPC fields (the password left empty: secrets are never read back). */
export function proxyOptionsToSoftEther(p: ProxyOptions): Required<SoftEtherProxyFields> {
  return {
    ProxyType_u32: proxyTypeToSoftEther(p.type),
    ProxyName_str: p.type === 'direct' ? '' : p.host,
    ProxyPort_u32: p.type === 'direct' ? 0 : p.port,
    ProxyUsername_str: p.type === 'direct' ? '' : p.username,
    ProxyPassword_str: '',
    CustomHttpHeader_str: p.type === 'direct' ? '' : p.customHttpHeader,
  };
}
