import net from 'node:net';
import * as v from 'valibot';
import { ConfigError } from '../../session/options.ts';
import { NO_ECHO_KEYS } from './secrets.ts';
import type { AppConfig, BridgeConfig, CascadeConfig } from './types.ts';

/**
 * The valibot schema of the configuration document. Every schema and action carries the message a user reads
 * ("must be ..."); `toConfigError` adds the field path and what was given (never a secret value).
 * Validation stops at the first problem (abortEarly), so cross-field checks only ever see well-typed objects.
 */

export const MAX_CASCADES = 64;
export const MAX_BRIDGES = 32;
/** SoftEther's MAX_ACCOUNT_NAME_LEN, MAX_HUBNAME_LEN, MAX_USERNAME_LEN, MAX_PASSWORD_LEN. */
const MAX_NAME = 255;
const MAX_PEM = 16 * 1024;
const MAX_HEADER_BYTES = 4096;
const MAX_URL = 2048;
/** The cascade engine accepts a connection lifetime of up to one day. */
const MAX_LIFETIME_S = 86_400;

// C0 and C1 control characters and DEL.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const HOST_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const HEADER_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t\u0020-\u007e\u0080-\uffff]*$/;

export function isHost(s: string): boolean {
  if (net.isIP(s) !== 0) return true;
  if (s.length === 0 || s.length > 253) return false;
  const labels = s.split('.');
  // An all-numeric last label is a mistyped address (256.1.1.1), not a name (RFC 3696 section 2).
  return labels.every((label) => HOST_LABEL.test(label)) && !/^\d+$/.test(labels[labels.length - 1]!);
}

export function isInterfaceName(s: string): boolean {
  const bytes = Buffer.byteLength(s);
  return bytes >= 1 && bytes <= 15 && s !== '.' && s !== '..' && !/[/:\s]/.test(s) && !CONTROL.test(s);
}

function isHashedPassword(s: string): boolean {
  // 27 base64 digits + one '=' is exactly 20 bytes; the round trip refuses non-canonical trailing bits.
  return /^[A-Za-z0-9+/]{27}=$/.test(s) && Buffer.from(s, 'base64').toString('base64') === s;
}

/** One PEM block with the given labels: armour lines, base64 body lines, a DER SEQUENCE inside. */
function isPem(s: string, labels: readonly string[]): boolean {
  const m = /^-----BEGIN ([A-Z0-9 ]+)-----\r?\n((?:[A-Za-z0-9+/=]+\r?\n)+)-----END ([A-Z0-9 ]+)-----$/.exec(s.trim());
  if (!m || m[1] !== m[3] || !labels.includes(m[1]!)) return false;
  const der = Buffer.from(m[2]!.replace(/\s/g, ''), 'base64');
  return der.length >= 16 && der[0] === 0x30;
}

function isHttpUrl(s: string): boolean {
  if (s.length > MAX_URL || !URL.canParse(s)) return false;
  const u = new URL(s);
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
}

function isHeaderBlock(s: string): boolean {
  if (Buffer.byteLength(s) > MAX_HEADER_BYTES) return false;
  if (s === '') return true;
  const lines = s.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.every((l) => HEADER_LINE.test(l));
}

// ---- building blocks ---------------------------------------------------------------------------------------------

const int = (min: number, max: number) => {
  const m = `must be a whole number from ${min} to ${max}`;
  return v.pipe(v.number(m), v.integer(m), v.minValue(min, m), v.maxValue(max, m));
};
const bool = () => v.boolean('must be true or false');
const checked = (m: string, ok: (s: string) => boolean) => v.pipe(v.string(m), v.check(ok, m));
const orNull = <S extends v.GenericSchema>(s: S) => v.nullable(s);
/** valibot's object schemas take arrays for objects; a list where an object belongs is refused as such. */
const obj = <E extends v.ObjectEntries>(entries: E, message: string) =>
  v.pipe(
    v.custom<Record<string, unknown>>((x) => typeof x === 'object' && x !== null && !Array.isArray(x), message),
    v.strictObject(entries, message),
  );

const hostSchema = () => checked('must be a host name or an IPv4/IPv6 address', isHost);
const ifNameSchema = () =>
  checked('must be a Linux interface name: 1 to 15 bytes, no "/", ":" or whitespace, not "." or ".."', isInterfaceName);

type PathItem = v.IssuePathItem;
const item = (input: unknown, key: string | number, value: unknown): PathItem =>
  ({ type: 'unknown', origin: 'value', input, key, value }) as PathItem;

// ---- cascade -----------------------------------------------------------------------------------------------------

const proxySchema = v.pipe(
  obj(
    {
      type: v.picklist(['direct', 'http', 'socks4', 'socks5'], 'must be one of direct, http, socks4, socks5'),
      host: checked('must be empty or a host name or IPv4/IPv6 address', (s) => s === '' || isHost(s)),
      port: int(0, 65535),
      username: checked(`must be a string of at most ${MAX_NAME} characters without control characters`, (s) => s.length <= MAX_NAME && !CONTROL.test(s)),
      password: orNull(checked(`must be a string of at most ${MAX_NAME} characters, or null`, (s) => s.length <= MAX_NAME)),
      customHttpHeader: checked(`must be at most ${MAX_HEADER_BYTES} bytes of lines "Name: value"`, isHeaderBlock),
    },
    'must be an object',
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const p = dataset.value;
    if (p.type === 'direct') return;
    if (p.host === '') addIssue({ message: `is required for proxy type "${p.type}"`, input: p.host, path: [item(p, 'host', p.host)] });
    else if (p.port === 0) addIssue({ message: `must be from 1 to 65535 for proxy type "${p.type}"`, input: p.port, path: [item(p, 'port', p.port)] });
  }),
);

const cascadeSchema = v.pipe(
  obj(
    {
      name: checked(
        `must be 1 to ${MAX_NAME} characters, no control characters, not only spaces`,
        (s) => s.length >= 1 && s.length <= MAX_NAME && !CONTROL.test(s) && s.trim() !== '',
      ),
      online: bool(),
      host: hostSchema(),
      port: int(1, 65535),
      hub: checked(`must be a hub name of 1 to ${MAX_NAME} characters without whitespace`, (s) => s.length >= 1 && s.length <= MAX_NAME && !/\s/.test(s) && !CONTROL.test(s)),
      username: checked(`must be a user name of at most ${MAX_NAME} characters without control characters`, (s) => s.length <= MAX_NAME && !CONTROL.test(s)),
      authType: v.picklist(['anonymous', 'password', 'plain', 'cert'], 'must be one of anonymous, password, plain, cert'),
      hashedPassword: orNull(checked('must be the base64 of the 20-byte password hash (28 characters), or null', isHashedPassword)),
      plainPassword: orNull(checked(`must be a string of at most ${MAX_NAME} characters, or null`, (s) => s.length <= MAX_NAME)),
      clientCertPem: orNull(checked(`must be one PEM certificate (-----BEGIN CERTIFICATE-----, at most ${MAX_PEM} characters), or null`, (s) => s.length <= MAX_PEM && isPem(s, ['CERTIFICATE']))),
      clientKeyPem: orNull(checked(`must be one unencrypted PEM private key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY, at most ${MAX_PEM} characters), or null`, (s) => s.length <= MAX_PEM && isPem(s, ['PRIVATE KEY', 'RSA PRIVATE KEY']))),
      maxConnections: int(1, 32),
      additionalConnectionInterval: int(1, 3600),
      connectionLifetime: int(0, MAX_LIFETIME_S),
      halfDuplex: bool(),
      compress: bool(),
      encrypt: bool(),
      disableQos: bool(),
      checkServerCert: bool(),
      serverCertSha256: orNull(checked('must be 64 lowercase hex digits (SHA-256), or null', (s) => /^[0-9a-f]{64}$/.test(s))),
      proxy: proxySchema,
    },
    'must be an object',
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const c = dataset.value;
    const need = (key: keyof typeof c, what: string) =>
      addIssue({ message: `is required for authType "${c.authType}" (${what})`, input: c[key], path: [item(c, key, c[key])] });
    if (c.authType === 'password' && c.hashedPassword === null) need('hashedPassword', 'base64 of the 20-byte password hash');
    else if (c.authType === 'plain' && c.plainPassword === null) need('plainPassword', 'the password the server checks, e.g. by RADIUS');
    else if (c.authType === 'cert' && c.clientCertPem === null) need('clientCertPem', 'PEM certificate');
    else if (c.authType === 'cert' && c.clientKeyPem === null) need('clientKeyPem', 'PEM private key');
    else if (c.authType !== 'anonymous' && c.username === '') {
      addIssue({ message: `must not be empty for authType "${c.authType}" (only anonymous logins have no user name)`, input: c.username, path: [item(c, 'username', c.username)] });
    } else if (c.halfDuplex && c.maxConnections < 2) {
      addIssue({ message: 'must be at least 2 with halfDuplex (each connection carries one direction)', input: c.maxConnections, path: [item(c, 'maxConnections', c.maxConnections)] });
    }
  }),
);

// ---- bridge ------------------------------------------------------------------------------------------------------

const bridgeSchema = v.pipe(
  obj(
    {
      device: ifNameSchema(),
      tapMode: bool(),
      linuxBridge: v.nullable(ifNameSchema()),
    },
    'must be an object',
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const b = dataset.value;
    if (b.linuxBridge === null) return;
    if (!b.tapMode) addIssue({ message: 'is only allowed with tapMode (must be null otherwise)', input: b.linuxBridge, path: [item(b, 'linuxBridge', b.linuxBridge)] });
    else if (b.linuxBridge === b.device) addIssue({ message: 'must differ from device', input: b.linuxBridge, path: [item(b, 'linuxBridge', b.linuxBridge)] });
  }),
);

// ---- document ----------------------------------------------------------------------------------------------------

/** Refuse the second of two list entries whose `key(entry)` is equal; the issue points at that entry's field. */
function unique<T>(field: string, key: (e: T) => string, what: string) {
  return v.rawCheck<T[]>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const seen = new Map<string, number>();
    const list = dataset.value;
    for (let i = 0; i < list.length; i++) {
      const k = key(list[i]!);
      const first = seen.get(k);
      if (first !== undefined) {
        const value = (list[i] as Record<string, unknown>)[field];
        addIssue({ message: `duplicates entry [${first}] (${what})`, input: value, path: [item(list, i, list[i]), item(list[i], field, value)] });
        return;
      }
      seen.set(k, i);
    }
  });
}

const percent = () => int(1, 100);

export const configSchema = obj(
  {
    version: v.literal(1, 'must be 1'),
    admin: obj(
      {
        passwordHash: orNull(checked('must be a password hash string of 1 to 512 characters, or null', (s) => s.length >= 1 && s.length <= 512 && !CONTROL.test(s))),
      },
      'must be an object',
    ),
    cascades: v.pipe(
      v.array(cascadeSchema, 'must be a list'),
      v.maxLength(MAX_CASCADES, `must have at most ${MAX_CASCADES} entries`),
      unique<CascadeConfig>('name', (c) => c.name.toLowerCase(), 'cascade names must be unique, compared without case'),
    ),
    bridges: v.pipe(
      v.array(bridgeSchema, 'must be a list'),
      v.maxLength(MAX_BRIDGES, `must have at most ${MAX_BRIDGES} entries`),
      unique<BridgeConfig>('device', (b) => b.device, 'each device can be bridged once'),
    ),
    health: obj(
      {
        webhookUrl: orNull(checked(`must be an http:// or https:// URL of at most ${MAX_URL} characters, or null`, isHttpUrl)),
        cpuWarnPercent: percent(),
        memoryWarnPercent: percent(),
        diskWarnPercent: percent(),
        temperatureWarnC: int(30, 120),
      },
      'must be an object',
    ),
    log: obj(
      {
        level: v.picklist(['debug', 'info', 'warn', 'error'], 'must be one of debug, info, warn, error'),
        syslog: v.nullable(obj({ host: hostSchema(), port: int(1, 65535) }, 'must be an object or null')),
      },
      'must be an object',
    ),
  },
  'must be an object',
);

// The schema's output must be exactly the document type (a compile-time check).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesTypes: Same<v.InferOutput<typeof configSchema>, AppConfig> = true;
void schemaMatchesTypes;

// ---- errors ------------------------------------------------------------------------------------------------------

function describe(value: unknown, noEcho: boolean): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    if (noEcho) return `a string of ${value.length} characters`;
    return value.length > 64 ? `${JSON.stringify(value.slice(0, 64))}… (${value.length} characters)` : JSON.stringify(value);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return noEcho ? typeof value : String(value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

function fieldName(prefix: string, keys: readonly unknown[]): string {
  let s = prefix;
  for (const k of keys) s += typeof k === 'number' ? `[${k}]` : s === '' ? String(k) : `.${String(k)}`;
  return s === '' ? 'config' : s;
}

function toConfigError(issue: v.BaseIssue<unknown>, prefix: string): ConfigError {
  const keys = (issue.path ?? []).map((p) => p.key);
  const field = fieldName(prefix, keys);
  const last = [...keys].reverse().find((k) => typeof k === 'string') as string | undefined;
  const noEcho = last !== undefined && NO_ECHO_KEYS.has(last);
  const lastItem = issue.path?.[issue.path.length - 1];
  if (issue.type === 'strict_object' && lastItem?.origin === 'key') {
    // The object schema reports both missing and unknown keys; the key name itself is safe to show, its value is not.
    return issue.expected === 'never'
      ? new ConfigError(field, 'is not a known setting (unknown key)')
      : new ConfigError(field, 'is required');
  }
  return new ConfigError(field, `${issue.message} (got ${describe(issue.input, noEcho)})`);
}

function run<S extends v.GenericSchema>(schema: S, input: unknown, prefix: string): v.InferOutput<S> {
  const r = v.safeParse(schema, input, { abortEarly: true });
  if (!r.success) throw toConfigError(r.issues[0], prefix);
  return r.output;
}

/** The whole document (current version; migrate first). Returns a fresh copy in canonical key order. */
export function validateConfig(input: unknown): AppConfig {
  return run(configSchema, input, '');
}

/** One cascade; `path` prefixes the field names in errors (e.g. `cascades[2]`). Does not check name uniqueness. */
export function validateCascade(input: unknown, path = 'cascade'): CascadeConfig {
  return run(cascadeSchema, input, path);
}

/** One bridge; `path` prefixes the field names in errors. Does not check device uniqueness. */
export function validateBridge(input: unknown, path = 'bridge'): BridgeConfig {
  return run(bridgeSchema, input, path);
}
