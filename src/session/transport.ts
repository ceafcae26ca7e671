import net from 'node:net';
import tls from 'node:tls';
import { Duplex } from 'node:stream';
import { createHash } from 'node:crypto';
import { dial, DialTimeout } from './proxy/dial.ts';
import { DIRECT, describeProxy } from './proxy/proxy-options.ts';
import type { ProxyOptions } from './proxy/proxy-options.ts';
import { CHACHA20_CIPHERS } from './tls-cipher.ts';
import type { TlsCipherOffer } from './tls-cipher.ts';

/** Chain verified against the given CAs (OpenSSL's verdict) and the certificate issued for `host` (DNS or IP SAN). */
function caVerdict(s: tls.TLSSocket, host: string, cert: tls.PeerCertificate): { ok: true } | { ok: false; reason: string } {
  if (!s.authorized) return { ok: false, reason: `not signed by a trusted CA (${String(s.authorizationError ?? 'unknown')})` };
  const e = tls.checkServerIdentity(host, cert);
  return e ? { ok: false, reason: `not issued for ${host} (${e.message})` } : { ok: true };
}

/**
 * One TCP connection to the server with TLS on top.
 *
 * Normal case: Node's native TLS directly on the TCP handle (fast path; nothing of ours in between).
 *
 * `detachable` case (use_encrypt=0): SoftEther drops TLS right after the welcome and both sides talk raw TCP on
 * the same socket (docs/protocol-notes.md §7.6). Node cannot take a socket back from its TLS layer, so TLS runs over a small Duplex
 * (`TlsRecordGate`) that we feed whole TLS records one at a time. When the welcome has been read, `detach()` stops
 * feeding: whatever was not handed to TLS yet is the first raw tunnel bytes.
 */
export interface TransportTarget {
  host: string;
  port: number;
  timeoutMs: number;
  detachable: boolean;
  /** Abort the TCP/TLS phase (the owner is shutting down). */
  signal?: AbortSignal;
  /** Reach the server through this proxy (default: direct). The timeout covers the proxy step too. */
  proxy?: ProxyOptions;
  /** PEM CA certificates: verify the server's chain against them and its name against `host` (see caVerdict). */
  ca?: string;
  /**
   * Which ciphers to offer (src/session/tls-cipher.ts; default 'server', Node's usual list). 'chacha20' offers
   * ChaCha20-Poly1305 alone; a server that refuses the handshake for it is dialled again, within the same timeout,
   * with the usual list (`facts.offerRefused`). Ignored for a detachable transport: its TLS ends after the login.
   */
  offer?: TlsCipherOffer;
}

export interface TlsFacts {
  version: string;
  cipher: string;
  certDer: Buffer;
  certSha256: string; // colon-separated upper-case hex, like OpenSSL prints it
  /** Only when a CA bundle was given (else null): the chain and host-name check's outcome. */
  ca: { ok: true } | { ok: false; reason: string } | null;
  /** Set when ChaCha20-Poly1305 alone was offered and the server refused it: the TLS error's code. */
  offerRefused?: string;
}

export interface Transport {
  readonly tcp: net.Socket;
  readonly tls: tls.TLSSocket;
  readonly facts: TlsFacts;
  /** Only for detachable transports: abandon TLS; returns the raw socket and bytes already read past TLS. */
  detach(): { socket: net.Socket; leftover: Buffer };
  destroy(): void;
}

/**
 * After the last handshake answer: the stream the tunnel runs on (TLS, or the bare socket when use_encrypt=0) and
 * the tunnel bytes that were already read (decrypted leftovers first, then raw bytes the TLS layer never saw).
 */
export function tunnelStream(t: Transport, rest: Buffer, encrypted: boolean): { socket: Duplex; initial: Buffer[] } {
  if (encrypted) return { socket: t.tls, initial: [rest] };
  const raw = t.detach();
  return { socket: raw.socket, initial: [rest, raw.leftover] };
}

export function certFingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');
}

const TLS_RECORD_HEADER = 5;
const MAX_TLS_RECORD = 5 + 16384 + 2048;

/** Passes whole TLS records from the TCP socket to the TLS layer, one per event-loop turn, until stopped. */
class TlsRecordGate extends Duplex {
  readonly #tcp: net.Socket;
  #pending: Buffer = Buffer.alloc(0);
  #stopped = false;
  #waiting = false;

  constructor(tcp: net.Socket) {
    super();
    this.#tcp = tcp;
  }

  feed(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pump();
  }

  #pump(): void {
    if (this.#stopped || this.#waiting || this.#pending.length < TLS_RECORD_HEADER) return;
    const len = TLS_RECORD_HEADER + this.#pending.readUInt16BE(3);
    if (len > MAX_TLS_RECORD) {
      this.destroy(new Error('TLS record too large or not TLS'));
      return;
    }
    if (this.#pending.length < len) return;
    const record = this.#pending.subarray(0, len);
    this.#pending = this.#pending.subarray(len);
    this.push(record);
    // Let TLS decrypt this record and the handshake code see the result before we hand over the next one: the
    // bytes after the welcome may not be TLS at all.
    this.#waiting = true;
    setImmediate(() => {
      this.#waiting = false;
      this.#pump();
    });
  }

  stop(): Buffer {
    this.#stopped = true;
    const rest = this.#pending;
    this.#pending = Buffer.alloc(0);
    return rest;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.#stopped) return cb();
    this.#tcp.write(chunk, cb);
  }

  override _final(cb: () => void): void {
    cb();
  }
}

export async function openTransport(target: TransportTarget): Promise<Transport> {
  // One deadline for the whole step: TCP connect, the proxy dialog, the TLS handshake.
  const deadline = new AbortController();
  const where = target.proxy && target.proxy.type !== 'direct' ? ` through ${describeProxy(target.proxy)}` : '';
  const timer = setTimeout(
    () => deadline.abort(new DialTimeout(`TLS handshake with ${target.host}:${target.port}${where} timed out`)),
    target.timeoutMs,
  );
  const onOuterAbort = () => deadline.abort(new Error('connection attempt aborted'));
  if (target.signal?.aborted) onOuterAbort();
  target.signal?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    const open = async (ciphers: string | undefined) =>
      startTls(await dial({ host: target.host, port: target.port, proxy: target.proxy ?? DIRECT, signal: deadline.signal }), target, ciphers, deadline.signal);
    if (target.offer !== 'chacha20' || target.detachable) return await open(undefined);
    try {
      return await open(CHACHA20_CIPHERS);
    } catch (e) {
      // The server's alert (e.g. handshake_failure: no shared cipher). TCP, proxy and timeout errors are not its
      // answer to the offer, so they are not tried again here.
      if (!isTlsAlert(e) || deadline.signal.aborted) throw e;
      const t = await open(undefined);
      return { ...t, facts: { ...t.facts, offerRefused: String((e as NodeJS.ErrnoException).code) } };
    }
  } finally {
    clearTimeout(timer);
    target.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** An error OpenSSL raised during the handshake (Node's ERR_SSL_* codes), as opposed to the socket's own. */
function isTlsAlert(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code.startsWith('ERR_SSL_');
}

function startTls(tcp: net.Socket, target: TransportTarget, ciphers: string | undefined, signal: AbortSignal): Promise<Transport> {
  return new Promise((resolve, reject) => {
    let gate: TlsRecordGate | undefined;
    let tlsSocket: tls.TLSSocket;
    const tlsOptions: tls.ConnectionOptions = {
      // Trust is decided by the caller from the facts below (fingerprint, or the CA result + our own host-name
      // check), so the presented certificate is known even when it is refused.
      rejectUnauthorized: false,
      ...(target.ca ? { ca: target.ca, checkServerIdentity: () => undefined } : {}),
      minVersion: 'TLSv1.2',
      ...(ciphers ? { ciphers } : {}),
      ...(net.isIP(target.host) ? {} : { servername: target.host }),
    };
    if (target.detachable) {
      gate = new TlsRecordGate(tcp);
      const g = gate;
      tcp.on('data', (c: Buffer) => g.feed(c));
      tcp.on('end', () => g.push(null));
      tcp.resume();
      tlsSocket = tls.connect({ ...tlsOptions, socket: gate });
    } else {
      tlsSocket = tls.connect({ ...tlsOptions, socket: tcp });
    }
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      tlsSocket.destroy();
      tcp.destroy();
      reject(err);
    };
    tcp.once('error', fail);
    tlsSocket.once('error', fail);
    const onAbort = () => fail(signal.reason instanceof Error ? signal.reason : new Error('connection attempt aborted'));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    tlsSocket.once('secureConnect', () => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      tcp.removeListener('error', fail);
      tlsSocket.removeListener('error', fail);
      // From here on whoever owns the connection learns of its end through 'close'. An 'error' can still come
      // with nobody listening (e.g. non-TLS bytes behind a refused answer, while the transport is being
      // destroyed); unhandled, it would take the whole process down.
      tcp.on('error', () => {});
      tlsSocket.on('error', () => {});
      const cert = tlsSocket.getPeerCertificate();
      if (!cert || !cert.raw) {
        tlsSocket.destroy();
        tcp.destroy();
        reject(new Error('server presented no certificate: not a SoftEther VPN server'));
        return;
      }
      const cipher = tlsSocket.getCipher();
      const facts: TlsFacts = {
        version: tlsSocket.getProtocol() ?? 'unknown',
        cipher: cipher?.standardName ?? cipher?.name ?? 'unknown',
        certDer: cert.raw,
        certSha256: certFingerprint(cert.raw),
        ca: target.ca ? caVerdict(tlsSocket, target.host, cert) : null,
      };
      resolve({
        tcp,
        tls: tlsSocket,
        facts,
        detach() {
          if (!gate) throw new Error('transport is not detachable');
          const leftover = gate.stop();
          tcp.removeAllListeners('data');
          tcp.removeAllListeners('end');
          tcp.pause();
          // Drop the TLS object without letting it touch the socket (no close_notify, as SoftEther expects).
          tlsSocket.removeAllListeners();
          tlsSocket.on('error', () => {});
          return { socket: tcp, leftover };
        },
        destroy() {
          tlsSocket.destroy();
          tcp.destroy();
        },
      });
    });
  });
}
