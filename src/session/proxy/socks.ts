import net from 'node:net';
import { ProxyError } from './proxy-error.ts';

/**
 * SOCKS5 (RFC 1928, user/password sub-negotiation RFC 1929) and SOCKS4/4a, client side: message encoders and
 * parsers of the proxy's replies. Each parser takes the bytes received so far and returns null while incomplete,
 * the parsed reply with the number of bytes it used, or throws a ProxyError; no reply is longer than 262 bytes.
 */

export interface Parsed<T> {
  value: T;
  used: number;
}

const NO_AUTH = 0x00;
const USER_PASS = 0x02;
const NO_ACCEPTABLE = 0xff;

export function socks5Greeting(withCredentials: boolean): Buffer {
  // With credentials we still offer "no authentication": a proxy that needs none may pick it.
  return Buffer.from(withCredentials ? [5, 2, NO_AUTH, USER_PASS] : [5, 1, NO_AUTH]);
}

export function parseSocks5Method(b: Buffer, withCredentials: boolean): Parsed<'none' | 'userpass'> | null {
  if (b.length < 2) return null;
  if (b[0] !== 5) throw new ProxyError('protocol', `not a SOCKS5 proxy (reply version ${b[0]})`);
  const m = b[1]!;
  if (m === NO_AUTH) return { value: 'none', used: 2 };
  if (m === USER_PASS && withCredentials) return { value: 'userpass', used: 2 };
  if (m === NO_ACCEPTABLE || m === USER_PASS) {
    throw new ProxyError('auth', withCredentials
      ? 'proxy authentication failed (the SOCKS5 proxy accepts none of our methods: no authentication, user/password)'
      : 'proxy authentication failed (the SOCKS5 proxy requires a user name and password)');
  }
  throw new ProxyError('protocol', `SOCKS5 proxy chose method ${m}, which we did not offer`);
}

export function socks5UserPass(username: string, password: string): Buffer {
  const u = Buffer.from(username, 'utf8');
  const p = Buffer.from(password, 'utf8');
  if (u.length < 1 || u.length > 255 || p.length > 255) throw new RangeError('SOCKS5 user name must be 1..255 bytes, password 0..255');
  return Buffer.concat([Buffer.from([1, u.length]), u, Buffer.from([p.length]), p]);
}

export function parseSocks5AuthReply(b: Buffer): Parsed<true> | null {
  if (b.length < 2) return null;
  // RFC 1929 says version 1; some proxies answer with 5. Either way only status 0 is success.
  if (b[0] !== 1 && b[0] !== 5) throw new ProxyError('protocol', `bad SOCKS5 user/password reply version ${b[0]}`);
  if (b[1] !== 0) throw new ProxyError('auth', 'proxy authentication failed (SOCKS5 proxy refused the user name or password)');
  return { value: true, used: 2 };
}

function addressBytes(host: string): { atyp: number; bytes: Buffer } {
  if (net.isIPv4(host)) return { atyp: 1, bytes: Buffer.from(host.split('.').map(Number)) };
  if (net.isIPv6(host)) return { atyp: 4, bytes: ipv6Bytes(host) };
  const name = Buffer.from(host, 'ascii');
  if (name.length < 1 || name.length > 255) throw new RangeError('SOCKS5 host name must be 1..255 bytes');
  return { atyp: 3, bytes: Buffer.concat([Buffer.from([name.length]), name]) };
}

/** CONNECT; a host name is sent as a name (atyp 3), so the proxy resolves it. */
export function socks5Connect(host: string, port: number): Buffer {
  const { atyp, bytes } = addressBytes(host);
  const p = Buffer.alloc(2);
  p.writeUInt16BE(port);
  return Buffer.concat([Buffer.from([5, 1, 0, atyp]), bytes, p]);
}

const SOCKS5_REPLIES: Record<number, string> = {
  1: 'general SOCKS server failure',
  2: 'connection not allowed by ruleset',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

export function parseSocks5ConnectReply(b: Buffer): Parsed<true> | null {
  if (b.length < 2) return null;
  if (b[0] !== 5) throw new ProxyError('protocol', `not a SOCKS5 reply (version ${b[0]})`);
  const rep = b[1]!;
  if (rep !== 0) {
    throw new ProxyError('refused', `proxy refused the connection: SOCKS5 reply ${rep} (${SOCKS5_REPLIES[rep] ?? 'unknown reply code'})`);
  }
  if (b.length < 5) return null;
  const atyp = b[3]!;
  const addrLen = atyp === 1 ? 4 : atyp === 4 ? 16 : atyp === 3 ? 1 + b[4]! : -1;
  if (addrLen < 0) throw new ProxyError('protocol', `SOCKS5 reply with unknown address type ${atyp}`);
  const total = 4 + addrLen + 2;
  if (b.length < total) return null;
  return { value: true, used: total };
}

/**
 * SOCKS4 CONNECT to an IPv4 address, or SOCKS4a (address 0.0.0.1 + the host name) so the proxy resolves the name.
 * SOCKS4 cannot carry IPv6. (The dialer resolves names itself and sends plain SOCKS4, like SoftEther: Debian's
 * dante refuses SOCKS4a.)
 */
export function socks4Connect(host: string, port: number, userId: string): Buffer {
  if (net.isIPv6(host)) throw new ProxyError('refused', 'SOCKS4 cannot connect to an IPv6 address; use socks5');
  const head = Buffer.alloc(8);
  head[0] = 4;
  head[1] = 1;
  head.writeUInt16BE(port, 2);
  const user = Buffer.from(userId, 'utf8');
  if (user.includes(0)) throw new RangeError('SOCKS4 user id must not contain NUL');
  if (net.isIPv4(host)) {
    Buffer.from(host.split('.').map(Number)).copy(head, 4);
    return Buffer.concat([head, user, Buffer.from([0])]);
  }
  head.writeUInt32BE(1, 4); // 0.0.0.1: "SOCKS4a, the name follows"
  return Buffer.concat([head, user, Buffer.from([0]), Buffer.from(host, 'ascii'), Buffer.from([0])]);
}

const SOCKS4_REPLIES: Record<number, string> = {
  0x5b: 'request rejected or failed',
  0x5c: 'the proxy could not reach our identd',
  0x5d: 'identd reported a different user id',
};

export function parseSocks4Reply(b: Buffer): Parsed<true> | null {
  if (b.length < 1) return null;
  // The reply version is 0 by the spec; some servers echo 4.
  if (b[0] !== 0 && b[0] !== 4) throw new ProxyError('protocol', `not a SOCKS4 reply (version byte ${b[0]})`);
  if (b.length < 2) return null;
  const cd = b[1]!;
  if (cd !== 0x5a) {
    const what = SOCKS4_REPLIES[cd];
    if (what === undefined) throw new ProxyError('protocol', `not a SOCKS4 reply (code ${cd})`);
    throw new ProxyError(cd === 0x5b ? 'refused' : 'auth', `proxy refused the connection: SOCKS4 reply ${cd} (${what})`);
  }
  if (b.length < 8) return null;
  return { value: true, used: 8 };
}

function ipv6Bytes(addr: string): Buffer {
  // Expand "::" and an embedded IPv4 tail into 8 groups.
  let s = addr;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    s = `${s.slice(0, -v4[1]!.length)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
