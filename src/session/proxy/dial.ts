import net from 'node:net';
import { lookup } from 'node:dns/promises';
import type { ProxyOptions } from './proxy-options.ts';
import { describeProxy } from './proxy-options.ts';
import { ProxyError, printable } from './proxy-error.ts';
import { ConnectReplyParser, encodeConnectRequest } from './http-connect.ts';
import {
  parseSocks4Reply, parseSocks5AuthReply, parseSocks5ConnectReply, parseSocks5Method,
  socks4Connect, socks5Connect, socks5Greeting, socks5UserPass,
} from './socks.ts';
import type { Parsed } from './socks.ts';

/**
 * One TCP connection to host:port, directly or through a proxy. Resolves with a plain socket (the proxy
 * dialog done) that TLS can start on.
 *
 * `signal`: aborting it (the caller's handshake timeout, or shutdown) ends the attempt; the rejection is the
 * signal's reason, or for a timeout during the proxy step a ProxyError('timeout') naming the step.
 */
export interface DialTarget {
  host: string;
  port: number;
  proxy: ProxyOptions;
  signal: AbortSignal;
}

/** Thrown by the caller's timer through the signal: so dial can tell a timeout from a shutdown. */
export class DialTimeout extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DialTimeout';
  }
}

export async function dial(t: DialTarget): Promise<net.Socket> {
  const viaProxy = t.proxy.type !== 'direct';
  const socket = net.connect({ host: viaProxy ? t.proxy.host : t.host, port: viaProxy ? t.proxy.port : t.port, noDelay: true });
  try {
    await step(socket, t, viaProxy ? `connecting to proxy ${describeProxy(t.proxy)}` : null, null, () => null, true);
    if (viaProxy) await proxyDialog(socket, t);
    return socket;
  } catch (e) {
    socket.destroy();
    throw e;
  }
}

async function proxyDialog(socket: net.Socket, t: DialTarget): Promise<void> {
  const p = t.proxy;
  let rest: Buffer;
  switch (p.type) {
    case 'http': {
      const parser = new ConnectReplyParser();
      const reply = await step(socket, t, 'HTTP CONNECT', encodeConnectRequest(t.host, t.port, p), (b) => {
        const r = parser.push(b);
        return r ? { value: r, used: b.length } : null;
      });
      rest = reply.value.rest;
      break;
    }
    case 'socks5': {
      const withCredentials = p.username !== '';
      let buf: Buffer = Buffer.alloc(0);
      const consume = <T>(parse: (b: Buffer) => Parsed<T> | null) => (chunk: Buffer): Parsed<T> | null => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        const r = parse(buf);
        if (r) buf = buf.subarray(r.used);
        return r ? { value: r.value, used: chunk.length } : null;
      };
      const method = await step(socket, t, 'SOCKS5 greeting', socks5Greeting(withCredentials), consume((b) => parseSocks5Method(b, withCredentials)));
      if (method.value === 'userpass') {
        await step(socket, t, 'SOCKS5 user/password', socks5UserPass(p.username, p.password ?? ''), consume(parseSocks5AuthReply));
      }
      await step(socket, t, 'SOCKS5 CONNECT', socks5Connect(t.host, t.port), consume(parseSocks5ConnectReply));
      rest = buf;
      break;
    }
    case 'socks4': {
      let buf: Buffer = Buffer.alloc(0);
      const ip = await resolveIPv4(t);
      await step(socket, t, 'SOCKS4 CONNECT', socks4Connect(ip, t.port, p.username), (chunk) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        const r = parseSocks4Reply(buf);
        if (r) buf = buf.subarray(r.used);
        return r ? { value: r.value, used: chunk.length } : null;
      });
      rest = buf;
      break;
    }
    default:
      throw new Error(`unknown proxy type ${String(p.type)}`);
  }
  // The server speaks only after our TLS ClientHello, so a correct proxy sends nothing after its reply. TLS takes
  // over the socket's handle and would never see bytes already read here: refuse rather than lose them.
  if (rest.length > 0) throw new ProxyError('protocol', `proxy sent ${rest.length} unexpected byte(s) after its ${p.type} reply: "${printable(rest.subarray(0, 40))}"`);
}

/** Hard bound on what one proxy step may make us hold (the parsers have tighter limits of their own). */
const MAX_STEP_BYTES = 16 * 1024;

/**
 * Write `request` (if any) and feed what arrives to `parse` until it returns a value. `waitConnect`: first wait
 * for the TCP connection itself. Listeners are removed whatever the outcome; the socket is left paused.
 */
function step<T>(
  socket: net.Socket,
  t: DialTarget,
  what: string | null,
  request: Buffer | null,
  parse: (chunk: Buffer) => Parsed<T> | null,
  waitConnect = false,
): Promise<Parsed<T>> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const done = (err: Error | null, v?: Parsed<T>) => {
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      socket.removeListener('connect', onConnect);
      t.signal.removeEventListener('abort', onAbort);
      socket.pause();
      if (err) reject(err);
      else resolve(v!);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      let r: Parsed<T> | null;
      try {
        r = parse(chunk); // the parsers' own, tighter limits give the more precise message
      } catch (e) {
        return done(e as Error);
      }
      if (r) done(null, r);
      else if (received > MAX_STEP_BYTES) done(new ProxyError('protocol', `proxy sent more than ${MAX_STEP_BYTES} bytes during the ${what}`));
    };
    const onError = (e: Error) => {
      if (what === null) return done(e); // direct: the caller words it
      const code = (e as NodeJS.ErrnoException).code;
      done(new ProxyError(waitConnect ? 'connect' : 'protocol', `${what} failed: ${code ?? e.message}`));
    };
    const onClose = () => done(new ProxyError('protocol', `proxy closed the connection during the ${what}`));
    const onAbort = () => {
      const reason = t.signal.reason;
      if (reason instanceof DialTimeout && what !== null) done(new ProxyError('timeout', `proxy ${describeProxy(t.proxy)}: no answer to the ${what} in time`));
      else done(reason instanceof Error ? reason : new Error('connection attempt aborted'));
    };
    const onConnect = () => done(null, { value: undefined as T, used: 0 });
    if (t.signal.aborted) return onAbort();
    t.signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    if (waitConnect) {
      socket.once('connect', onConnect);
      return;
    }
    socket.once('close', onClose);
    socket.on('data', onData);
    if (request) socket.write(request);
    socket.resume();
  });
}

/** SOCKS4 carries an IPv4 address: resolve the server's name here (asynchronously), within the same deadline. */
async function resolveIPv4(t: DialTarget): Promise<string> {
  if (net.isIPv4(t.host)) return t.host;
  if (net.isIPv6(t.host)) throw new ProxyError('refused', 'SOCKS4 cannot connect to an IPv6 address; use socks5');
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(t.signal.reason instanceof DialTimeout
      ? new ProxyError('timeout', `resolving ${t.host} for the SOCKS4 proxy timed out`)
      : t.signal.reason instanceof Error ? t.signal.reason : new Error('connection attempt aborted'));
    if (t.signal.aborted) onAbort();
    else t.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const r = await Promise.race([lookup(t.host, { family: 4 }), aborted]);
    return r.address;
  } catch (e) {
    if (e instanceof ProxyError || !(e as NodeJS.ErrnoException).code) throw e;
    throw new ProxyError('refused', `cannot resolve ${t.host} for the SOCKS4 proxy (${(e as NodeJS.ErrnoException).code}); SOCKS4 needs an IPv4 address, socks5 lets the proxy resolve`);
  } finally {
    t.signal.removeEventListener('abort', onAbort);
  }
}
