import { createPrivateKey, sign } from 'node:crypto';
import { ProtocolError, ServerError } from './errors.ts';
import { byteSwap32 } from './node-info.ts';
import { Pack } from './pack.ts';
import { hashPassword, securePassword } from './password.ts';

/** The handshake Packs of a cascade: hello in, login / additional_connect out, welcome in (notes §4-§8). */

export type Auth =
  | { type: 'anonymous' }
  | { type: 'password'; password: string } // authtype 1, secure_password
  | { type: 'password'; hashedPassword: Uint8Array } // authtype 1 from a stored hash (SHA0(pw ‖ UPPER(user)), 20 bytes)
  | { type: 'plain'; password: string } // authtype 2, plain_password
  | { type: 'cert'; certDer: Buffer; keyPem: string }; // authtype 3, cert + RSA-SHA1 signature over the random

export interface ClientIdentity {
  clientStr: string;
  version: number;
  build: number;
  /** 20 stable random bytes; the server counts multi-logins by it (notes §4.3). */
  uniqueId: Buffer;
  hostname: string;
  /** ClientOsName in the node info; logs only. Default 'Linux'. */
  osName?: string;
}

/**
 * Contains "Bridge", so the server forces bridge/routing mode on for us; never contains "client",
 * which would subject us to the hub's client-version and client-ID checks (notes §4.3, §5).
 */
export const DEFAULT_CLIENT_STR = 'SoftEther VPN Bridge (Cascade Mode) compatible; sebridge';

export interface LoginOptions {
  hub: string;
  username: string;
  auth: Auth;
  identity: ClientIdentity;
  maxConnection: number;
  useEncrypt: boolean;
  useCompress: boolean;
  halfConnection: boolean;
  qos: boolean;
}

const RANDOM_LENGTH = 20;
const SESSION_KEY_LENGTH = 20;
const MAX_CONNECTIONS = 32;
const MAX_CERT_BYTES = 100000; // the server's accepted range for `cert` is 1..100000 bytes
const MAX_SIGNATURE_BYTES = 512; // the server accepts RSA keys up to 4096 bits

const AUTHTYPE = { anonymous: 0, password: 1, plain: 2, cert: 3 } as const;

function checkLength(what: string, b: Uint8Array, n: number): void {
  if (!(b instanceof Uint8Array) || b.length !== n) {
    throw new RangeError(`${what} must be ${n} bytes, got ${b instanceof Uint8Array ? b.length : typeof b}`);
  }
}

function checkNonEmpty(what: string, s: string): void {
  // The server trims STR values, so a blank name would arrive as empty (error 4).
  if (typeof s !== 'string' || s.trim() === '') throw new RangeError(`${what} must not be empty`);
}

function addIdentity(p: Pack, id: ClientIdentity): void {
  p.addStr('client_str', id.clientStr);
  p.addInt('client_ver', id.version);
  p.addInt('client_build', id.build);
}

function signRandom(certDer: Buffer, keyPem: string, random: Buffer): Buffer {
  if (!(certDer instanceof Uint8Array) || certDer.length < 1 || certDer.length > MAX_CERT_BYTES) {
    throw new RangeError(`client certificate must be 1..${MAX_CERT_BYTES} bytes of DER`);
  }
  const key = createPrivateKey(keyPem);
  if (key.asymmetricKeyType !== 'rsa') {
    throw new TypeError(`certificate authentication needs an RSA key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits / 8 > MAX_SIGNATURE_BYTES) throw new RangeError(`RSA key of ${bits} bits is larger than the server accepts (4096)`);
  // node:crypto signs RSA keys with PKCS#1 v1.5 by default; the server verifies SHA-1 with DigestInfo.
  return sign('sha1', random, key);
}

export function buildLoginPack(opts: LoginOptions, serverRandom: Buffer): Pack {
  checkLength('server random', serverRandom, RANDOM_LENGTH);
  checkNonEmpty('hub name', opts.hub);
  checkNonEmpty('user name', opts.username);
  checkLength('unique_id', opts.identity.uniqueId, 20);
  if (!Number.isInteger(opts.maxConnection) || opts.maxConnection < 1 || opts.maxConnection > MAX_CONNECTIONS) {
    throw new RangeError(`max_connection must be 1..${MAX_CONNECTIONS}, got ${opts.maxConnection}`);
  }

  const p = new Pack()
    .addStr('method', 'login')
    .addStr('hubname', opts.hub)
    .addStr('username', opts.username)
    .addInt('authtype', AUTHTYPE[opts.auth.type]);
  const auth = opts.auth;
  switch (auth.type) {
    case 'anonymous':
      break;
    case 'password':
      p.addData('secure_password', securePassword('hashedPassword' in auth ? auth.hashedPassword : hashPassword(opts.username, auth.password), serverRandom));
      break;
    case 'plain':
      p.addStr('plain_password', auth.password);
      break;
    case 'cert':
      p.addData('cert', auth.certDer);
      p.addData('sign', signRandom(auth.certDer, auth.keyPem, serverRandom));
      break;
    default:
      throw new TypeError(`unknown auth type ${String((auth as { type: unknown }).type)}`);
  }
  const id = opts.identity;
  addIdentity(p, id);
  // `hello` overwrites client_str in the server's later checks and logs, so keep them equal.
  p.addStr('hello', id.clientStr)
    .addInt('version', id.version)
    .addInt('build', id.build)
    .addInt('protocol', 0) // TCP
    .addInt('max_connection', opts.maxConnection)
    // Always present: a missing use_encrypt means 0, which silently switches the tunnel to raw TCP.
    .addBool('use_encrypt', opts.useEncrypt)
    .addBool('use_compress', opts.useCompress)
    .addBool('half_connection', opts.halfConnection)
    // Without this a non-local session is limited to 3 source MACs (notes §4.3, §5).
    .addBool('require_bridge_routing_mode', true)
    .addBool('require_monitor_mode', false)
    .addBool('qos', opts.qos)
    .addData('unique_id', id.uniqueId)
    // Node info: logs only on the server. No udp_acceleration_* (declined), never use_fast_rc4.
    .addStr('ClientProductName', id.clientStr)
    .addInt('ClientProductVer', byteSwap32(id.version))
    .addInt('ClientProductBuild', byteSwap32(id.build))
    .addStr('ClientOsName', id.osName ?? 'Linux')
    .addStr('ClientHostname', id.hostname);
  return p;
}

export function buildAdditionalConnectPack(sessionKey: Buffer, identity: ClientIdentity): Pack {
  checkLength('session key', sessionKey, SESSION_KEY_LENGTH);
  const p = new Pack().addStr('method', 'additional_connect').addData('session_key', sessionKey);
  addIdentity(p, identity);
  return p;
}

function throwIfError(p: Pack): void {
  const code = p.getInt('error');
  if (code !== undefined && code !== 0) throw new ServerError(code);
}

export interface Hello {
  serverStr: string;
  version: number;
  build: number;
  random: Buffer;
}

/** The stock client's GetHello rule: `hello` STR present and `random` exactly 20 bytes. */
export function parseHello(p: Pack): Hello {
  throwIfError(p);
  const serverStr = p.getStr('hello');
  if (serverStr === undefined) throw new ProtocolError('handshake', 'the server is not a SoftEther VPN server (hello Pack has no `hello` string)');
  const random = p.getData('random');
  if (random === undefined || random.length !== RANDOM_LENGTH) {
    throw new ProtocolError('handshake', `hello Pack needs a ${RANDOM_LENGTH}-byte random, got ${random === undefined ? 'none' : `${random.length} bytes`}`);
  }
  return { serverStr, version: p.getInt('version') ?? 0, build: p.getInt('build') ?? 0, random };
}

export interface Welcome {
  sessionName: string;
  connectionName: string;
  sessionKey: Buffer;
  maxConnection: number;
  useEncrypt: boolean;
  useCompress: boolean;
  halfConnection: boolean;
  timeoutMs: number;
  qos: boolean;
  vlanId: number;
  /** `policy:<Name>` INTs without the prefix, e.g. { Access: 1, MaxConnection: 32 }. */
  policy: Record<string, number>;
  /** The hub's message (`Msg`), may be empty. */
  message: string;
}

const DEFAULT_TIMEOUT_MS = 20000;
const MIN_TIMEOUT_MS = 5000;
const MAX_TIMEOUT_MS = 60000;
const POLICY_PREFIX = 'policy:';

export function parseWelcome(p: Pack): Welcome {
  throwIfError(p);
  if (p.getInt('Redirect') === 1) {
    throw new ProtocolError('handshake', 'the server sent a cluster redirect, which is not supported: connect to the cluster member directly');
  }
  const sessionName = p.getStr('session_name');
  const connectionName = p.getStr('connection_name');
  const sessionKey = p.getData('session_key');
  if (sessionName === undefined || connectionName === undefined) {
    throw new ProtocolError('handshake', 'welcome Pack lacks session_name or connection_name');
  }
  if (sessionKey === undefined || sessionKey.length !== SESSION_KEY_LENGTH) {
    throw new ProtocolError('handshake', `welcome Pack needs a ${SESSION_KEY_LENGTH}-byte session_key`);
  }
  const rawTimeout = p.getInt('timeout') ?? 0;
  // The server clamps to 5..60 s; 0 would make the stock client drop the session at once.
  const timeoutMs = rawTimeout === 0 ? DEFAULT_TIMEOUT_MS : Math.min(MAX_TIMEOUT_MS, Math.max(MIN_TIMEOUT_MS, rawTimeout));

  const policy: Record<string, number> = {};
  for (const el of p.elements()) {
    if (el.type === 'int' && el.values.length > 0 && el.name.toLowerCase().startsWith(POLICY_PREFIX) && el.name.length > POLICY_PREFIX.length) {
      policy[el.name.slice(POLICY_PREFIX.length)] = el.values[0];
    }
  }
  const msg = p.getData('Msg');
  return {
    sessionName,
    connectionName,
    sessionKey,
    maxConnection: Math.max(1, p.getInt('max_connection') ?? 1), // missing or 0 means 1
    useEncrypt: p.getBool('use_encrypt'),
    useCompress: p.getBool('use_compress'),
    halfConnection: p.getBool('half_connection'),
    timeoutMs,
    qos: p.getBool('qos'),
    vlanId: p.getInt('vlan_id') ?? 0,
    policy,
    message: msg !== undefined ? msg.toString('utf8') : (p.getUniStr('Msg') ?? ''),
  };
}

export function parseAdditionalConnectReply(p: Pack): { direction: 0 | 1 | 2 } {
  throwIfError(p);
  const direction = p.getInt('direction') ?? 0;
  if (direction !== 0 && direction !== 1 && direction !== 2) {
    throw new ProtocolError('handshake', `additional connection reply has unknown direction ${direction}`);
  }
  return { direction };
}

/**
 * How many TCP connections the client may hold (notes §6.1): the smaller of what the server
 * granted and what we asked for, clamped to 1..32, then the server's own minimums for half duplex
 * (>= 2) and QoS (>= 2, or >= 4 with half duplex).
 */
export function grantedConnections(welcome: Welcome, requested: number): number {
  let n = Math.min(welcome.maxConnection, requested);
  n = Math.max(1, Math.min(MAX_CONNECTIONS, Number.isFinite(n) ? Math.floor(n) : 1));
  if (welcome.halfConnection) n = Math.max(n, 2);
  if (welcome.qos) n = Math.max(n, welcome.halfConnection ? 4 : 2);
  return n;
}
