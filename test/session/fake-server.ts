/**
 * A scripted SoftEther VPN server for behaviour tests of the cascade engine: the things a real server cannot be
 * made to do on demand (a different certificate on one connection, error 15 then success, garbage in tunnel mode,
 * silence at a chosen step, directions of our choice...).
 *
 * It speaks the server half of the protocol (notes §2, §4, §6, §7, §8, §11) with the project's own codecs, on
 * 127.0.0.1 at a random port, with self-signed certificates made by the openssl CLI. Every TCP connection is
 * recorded (accept/close times, what it asked for, what it got, what it sent in tunnel mode) so tests can assert on
 * what the server SAW, not only on what the engine reports.
 *
 * TLS always runs over a small gate stream between it and the TCP socket (like the client's `use_encrypt=0` path), so
 * that TLS can be abandoned after the welcome and a reply can leave in one TCP write together with the bytes that
 * follow it.
 */
import net from 'node:net';
import tls from 'node:tls';
import { Duplex } from 'node:stream';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, X509Certificate } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import type { ExecutionContext } from 'ava';
import { Pack, decodePack, encodePack } from '../../src/protocol/pack.ts';
import { TunnelDecoder, encodeFrames, encodeKeepAlive } from '../../src/protocol/tunnel.ts';
import { hashPassword, securePassword } from '../../src/protocol/password.ts';
import { Cascade } from '../../src/session/cascade.ts';
import { parseCascadeOptions } from '../../src/session/options.ts';
import type { CascadeOptions } from '../../src/session/options.ts';
import type { CascadeStatus } from '../../src/session/status.ts';
import { MemoryPort } from '../../src/ports/memory-port.ts';

// ---------------------------------------------------------------------------------------------------------------
// Certificates

/** 'a', 'b': self-signed, CN only; 'ip': self-signed with subjectAltName IP:127.0.0.1 (passes a host-name check). */
export type CertName = 'a' | 'b' | 'ip';

interface TestCert {
  key: string;
  cert: string;
  der: Buffer;
}

const certCache = new Map<CertName, TestCert>();

/** A throw-away self-signed server certificate (EC P-256: made in milliseconds), one per name per process. */
export function testCertificate(name: CertName): TestCert {
  const cached = certCache.get(name);
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'sebridge-fake-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'),
        '-out', join(dir, 'cert.pem'), '-subj', `/CN=fake-softether-${name}`, '-days', '2',
        ...(name === 'ip' ? ['-addext', 'subjectAltName=IP:127.0.0.1'] : [])],
      { stdio: 'ignore' },
    );
    const key = readFileSync(join(dir, 'key.pem'), 'utf8');
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const made = { key, cert, der: new X509Certificate(cert).raw };
    certCache.set(name, made);
    return made;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Script

/** What a connection does before any Pack: which certificate, and where it goes silent (if anywhere). */
export interface ConnectionPlan {
  cert?: CertName;
  /** 'tls': accept TCP, never answer the ClientHello. 'hello': finish TLS, never answer the signature POST.
   *  'reply': answer the hello, never answer the login / additional_connect. */
  stall?: 'tls' | 'hello' | 'reply';
  /** The only ciphers this connection's TLS accepts (OpenSSL syntax, TLS_ names for TLS 1.3); default Node's. */
  ciphers?: string;
}

export interface WelcomeFields {
  sessionName: string;
  connectionName: string;
  maxConnection: number;
  /** The welcome `timeout` INT (ms). The fake's default is 5000, the smallest the server sends, to keep tests fast. */
  timeoutMs: number;
  useEncrypt: boolean;
  useCompress: boolean;
  halfConnection: boolean;
  qos: boolean;
}

export interface LoginRequest {
  /** 1 for the first login this server saw. */
  n: number;
  conn: FakeConnection;
  pack: Pack;
}

export interface AdditionalRequest {
  /** 1 for the first additional_connect this server saw. */
  n: number;
  conn: FakeConnection;
  pack: Pack;
  /** The live session the key belongs to (undefined: unknown key). */
  session: FakeSession | undefined;
}

/**
 * `tunnelBytes` leave in the SAME TCP write as the reply: after its TLS record when the session is unencrypted,
 * inside the same TLS record when encrypted. `bareBytes` (encrypted sessions only) follow the reply's TLS record
 * UNENCRYPTED in that same write: a protocol violation no real server commits, for robustness tests.
 */
export type LoginAnswer = { error: number; bareBytes?: Buffer } | { welcome?: Partial<WelcomeFields>; tunnelBytes?: Buffer; bareBytes?: Buffer };
export type AdditionalAnswer = { error: number; bareBytes?: Buffer } | { direction?: 0 | 1 | 2; tunnelBytes?: Buffer; bareBytes?: Buffer };

export interface FakeServerScript {
  /** Checked with the real proof (SHA-0 over the hello random); undefined accepts any password. */
  password?: string;
  /** Per accepted TCP connection, index 0 first. */
  plan?(index: number): ConnectionPlan;
  /** Default: a welcome (see WelcomeFields for the defaults). */
  login?(req: LoginRequest): LoginAnswer | undefined;
  /** Default: the stock server's rules (13 for an unknown key, 15 when full, stock half-duplex directions). */
  additional?(req: AdditionalRequest): AdditionalAnswer | undefined;
  /** Server keep-alive period on connections the server may send on (default 1000 ms); null: never. */
  keepAliveMs?(t: FakeTunnel): number | null;
  /** A connection entered tunnel mode. */
  onTunnel?(t: FakeTunnel): void;
}

// ---------------------------------------------------------------------------------------------------------------
// Server-side TLS over a gate

/** Lets TLS run over a TCP socket that can be taken back (use_encrypt=0), and holds TLS output when asked. */
class ServerTlsGate extends Duplex {
  readonly #tcp: net.Socket;
  #stopped = false;
  #held: Buffer[] | null = null;

  constructor(tcp: net.Socket) {
    super();
    this.#tcp = tcp;
  }

  feed(chunk: Buffer): void {
    if (!this.#stopped) this.push(chunk);
  }

  /** Stop both directions: the TLS object is abandoned without a close_notify, as SoftEther does. */
  stop(): void {
    this.#stopped = true;
  }

  hold(): void {
    this.#held = [];
  }

  /** Send what TLS produced since hold(), followed by `extra`, with one TCP write. */
  release(extra: Buffer): { tlsBytes: number; tunnelBytes: number } {
    const held = Buffer.concat(this.#held ?? []);
    this.#held = null;
    const all = Buffer.concat([held, extra]);
    if (all.length > 0 && !this.#tcp.destroyed) this.#tcp.write(all);
    return { tlsBytes: held.length, tunnelBytes: extra.length };
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.#held) {
      this.#held.push(chunk);
      cb();
    } else if (this.#stopped || this.#tcp.destroyed) {
      cb();
    } else {
      this.#tcp.write(chunk, () => cb());
    }
  }

  override _final(cb: () => void): void {
    if (!this.#stopped && !this.#tcp.destroyed) this.#tcp.end();
    cb();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP requests (server side): just enough, bounded

export interface HttpRequest {
  method: string;
  target: string;
  headers: Map<string, string>;
  body: Buffer;
}

const MAX_HEAD = 8192;
const MAX_BODY = 65536;

class RequestReader {
  #buf: Buffer = Buffer.alloc(0);
  #waiter: { resolve: (r: HttpRequest) => void; reject: (e: Error) => void } | null = null;
  #failed: Error | null = null;

  push(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    this.#try();
  }

  fail(e: Error): void {
    this.#failed ??= e;
    const w = this.#waiter;
    this.#waiter = null;
    w?.reject(e);
  }

  /** Bytes after the last request (tunnel bytes the client sent early; normally none). */
  takeRest(): Buffer {
    const r = this.#buf;
    this.#buf = Buffer.alloc(0);
    return r;
  }

  next(): Promise<HttpRequest> {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#try();
    });
  }

  #try(): void {
    if (!this.#waiter) {
      if (this.#buf.length > MAX_HEAD + MAX_BODY) this.fail(new Error('client sent too much before an answer'));
      return;
    }
    const end = this.#buf.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.#buf.length > MAX_HEAD) this.fail(new Error('request head too long'));
      return;
    }
    const lines = this.#buf.toString('latin1', 0, end).split('\r\n');
    const [method = '', target = '', version = ''] = lines[0]!.split(' ');
    const headers = new Map<string, string>();
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      if (c <= 0) return this.fail(new Error(`bad header line ${JSON.stringify(l)}`));
      headers.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
    }
    const cl = Number(headers.get('content-length'));
    if (version !== 'HTTP/1.1' || !Number.isInteger(cl) || cl <= 0 || cl > MAX_BODY) {
      return this.fail(new Error(`bad request: ${lines[0]} content-length ${headers.get('content-length')}`));
    }
    if (this.#buf.length < end + 4 + cl) return;
    const body = Buffer.from(this.#buf.subarray(end + 4, end + 4 + cl));
    this.#buf = this.#buf.subarray(end + 4 + cl);
    const w = this.#waiter;
    this.#waiter = null;
    w.resolve({ method, target, headers, body });
  }
}

function packResponse(p: Pack): Buffer {
  const body = encodePack(p);
  const head =
    'HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\n' +
    `Content-Length: ${body.length}\r\nContent-Type: application/octet-stream\r\n` +
    `Date: ${new Date().toUTCString()}\r\nKeep-Alive: timeout=15; max=19\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

// ---------------------------------------------------------------------------------------------------------------
// Recorded state

export class FakeSession {
  readonly name: string;
  readonly key: Buffer;
  readonly welcome: WelcomeFields;
  readonly tunnels: FakeTunnel[] = [];

  constructor(name: string, key: Buffer, welcome: WelcomeFields) {
    this.name = name;
    this.key = key;
    this.welcome = welcome;
  }

  live(): FakeTunnel[] {
    return this.tunnels.filter((t) => !t.conn.closed);
  }
}

/** One accepted TCP connection, from accept to close. */
export class FakeConnection {
  readonly index: number;
  readonly acceptedAt = Date.now();
  readonly plan: ConnectionPlan;
  readonly tcp: net.Socket;
  closedAt: number | null = null;
  /** The client sent FIN (a TLS close with close_notify, or a clean socket end). */
  gotFin = false;
  /** The socket ended with an error (e.g. a reset). */
  error: string | null = null;
  kind: 'login' | 'additional' | null = null;
  /** The error code we answered with, if any. */
  answeredError: number | null = null;
  tlsDoneAt: number | null = null;
  /** The cipher the TLS handshake agreed on (standard name). */
  cipher: string | null = null;
  tunnel: FakeTunnel | null = null;
  /** The ONE TCP write that carried the reply's TLS record(s) and the bytes behind them (use_encrypt=0, bareBytes). */
  replyWrite: { tlsBytes: number; tunnelBytes: number } | null = null;
  /** Bytes received before TLS (only recorded for stalled-TLS connections). */
  rawBytesIn = 0;
  /** The client sent its first request (the signature POST) over TLS. */
  sawRequest = false;
  readonly #closeWaiters: Array<() => void> = [];

  constructor(index: number, tcp: net.Socket, plan: ConnectionPlan) {
    this.index = index;
    this.tcp = tcp;
    this.plan = plan;
  }

  get closed(): boolean {
    return this.closedAt !== null;
  }

  /** @internal */
  markClosed(): void {
    if (this.closedAt !== null) return;
    this.closedAt = Date.now();
    for (const w of this.#closeWaiters.splice(0)) w();
  }

  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((r) => this.#closeWaiters.push(r));
  }
}

export interface ReceivedRecord {
  at: number;
  kind: 'data' | 'keepalive';
  /** Frames in a data record (after inflation in compress mode). */
  frames: number;
}

const MAX_RECORDED = 20_000;

/** One connection in tunnel mode, server side. */
export class FakeTunnel {
  readonly conn: FakeConnection;
  readonly session: FakeSession;
  readonly direction: 0 | 1 | 2;
  readonly startedAt = Date.now();
  /** Frames from the client (inflated when compressed). */
  readonly frames: Buffer[] = [];
  /** Blocks exactly as on the wire (compressed ones still compressed). */
  readonly blocks: Buffer[] = [];
  readonly records: ReceivedRecord[] = [];
  /** When the server last wrote to this connection (reply included). */
  lastSentAt = Date.now();
  protocolError: string | null = null;
  readonly #out: Duplex;
  readonly #decoder: TunnelDecoder;
  #timer: NodeJS.Timeout | null = null;
  #pendingBlocks: Buffer[] = [];

  constructor(conn: FakeConnection, session: FakeSession, direction: 0 | 1 | 2, out: Duplex) {
    this.conn = conn;
    this.session = session;
    this.direction = direction;
    this.#out = out;
    // Decode without inflation so the raw blocks can be checked too; inflate here.
    this.#decoder = new TunnelDecoder({
      compressed: false,
      onFrames: (blocks) => this.#onBlocks(blocks),
      onKeepAlive: () => this.#record('keepalive', 0),
    });
  }

  /** Whether the server may send on it (direction 2 = client->server only). */
  get serverSends(): boolean {
    return this.direction !== 2;
  }

  get keepAlives(): number[] {
    return this.records.filter((r) => r.kind === 'keepalive').map((r) => r.at);
  }

  /** @internal */
  receive(chunk: Buffer): void {
    if (this.protocolError) return;
    try {
      this.#decoder.push(chunk);
    } catch (e) {
      this.protocolError = (e as Error).message;
      this.conn.tcp.destroy();
    }
  }

  #onBlocks(blocks: Buffer[]): void {
    // The decoder calls back once per push with every block of that push; records are counted by header below.
    for (const b of blocks) {
      const copy = Buffer.from(b);
      if (this.blocks.length < MAX_RECORDED) this.blocks.push(copy);
      let frame = copy;
      if (this.session.welcome.useCompress) {
        try {
          frame = inflateSync(copy, { maxOutputLength: 1600 });
        } catch (e) {
          this.protocolError = `client sent a block that does not inflate: ${(e as Error).message}`;
          continue;
        }
      }
      if (this.frames.length < MAX_RECORDED) this.frames.push(frame);
    }
    this.#record('data', blocks.length);
  }

  #record(kind: ReceivedRecord['kind'], frames: number): void {
    if (this.records.length < MAX_RECORDED) this.records.push({ at: Date.now(), kind, frames });
  }

  /** Frames as one record, compressed when the session is. */
  sendFrames(frames: readonly Buffer[]): void {
    this.sendRaw(encodeFrames(frames, this.session.welcome.useCompress));
  }

  sendKeepAlive(payload?: number): void {
    this.sendRaw(encodeKeepAlive(payload));
  }

  /** Any bytes, e.g. malformed records. */
  sendRaw(b: Buffer): void {
    if (this.conn.closed || this.#out.destroyed) return;
    this.lastSentAt = Date.now();
    this.#out.write(b);
  }

  /** @internal */
  startKeepAlives(periodMs: number | null): void {
    if (periodMs === null || !this.serverSends) return;
    // The stock server sends one at once (notes §7), then periodically.
    this.sendKeepAlive();
    this.#timer = setInterval(() => this.sendKeepAlive(), periodMs);
  }

  stopKeepAlives(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Close with TLS close_notify (when encrypted) and FIN. */
  end(): void {
    this.stopKeepAlives();
    this.#out.end();
  }

  /** Close abruptly. */
  destroy(): void {
    this.stopKeepAlives();
    this.conn.tcp.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The server

export interface FakeLogin {
  at: number;
  conn: FakeConnection;
  pack: Pack;
  answeredError: number | null;
  session: FakeSession | null;
}

export interface FakeAdditional {
  at: number;
  conn: FakeConnection;
  pack: Pack;
  answeredError: number | null;
  direction: 0 | 1 | 2 | null;
}

export class FakeServer {
  readonly script: FakeServerScript;
  readonly connections: FakeConnection[] = [];
  readonly logins: FakeLogin[] = [];
  readonly additionals: FakeAdditional[] = [];
  readonly sessions: FakeSession[] = [];
  /** Failures of the CLIENT's side of the handshake as the server saw them (should stay empty). */
  readonly clientErrors: string[] = [];
  readonly #server: net.Server;
  readonly #timers = new Set<NodeJS.Timeout>();
  #port = 0;
  #closed = false;

  constructor(script: FakeServerScript = {}) {
    this.script = script;
    this.#server = net.createServer({ noDelay: true }, (tcp) => this.#accept(tcp));
  }

  get port(): number {
    return this.#port;
  }

  async listen(): Promise<this> {
    // Made now (openssl CLI, synchronous) rather than in the accept path, where it would stall the event loop the
    // cascade under test shares with us and distort its timings.
    testCertificate('a');
    testCertificate('b');
    testCertificate('ip');
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as net.AddressInfo).port;
    return this;
  }

  openConnections(): FakeConnection[] {
    return this.connections.filter((c) => !c.closed);
  }

  tunnels(): FakeTunnel[] {
    return this.connections.flatMap((c) => (c.tunnel ? [c.tunnel] : []));
  }

  liveTunnels(): FakeTunnel[] {
    return this.tunnels().filter((t) => !t.conn.closed);
  }

  /** Poll `pred` every 10 ms; reject with `what` and a summary after `timeoutMs`. */
  waitFor<T>(pred: () => T | undefined | null | false, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        let v: T | undefined | null | false;
        try {
          v = pred();
        } catch (e) {
          finish();
          reject(e as Error);
          return true;
        }
        if (v) {
          finish();
          resolve(v);
          return true;
        }
        return false;
      };
      const finish = () => {
        clearInterval(iv);
        clearTimeout(to);
      };
      const iv = setInterval(check, 10);
      const to = setTimeout(() => {
        finish();
        reject(new Error(`fake server: timed out after ${timeoutMs} ms waiting for ${what}; ${this.summary()}`));
      }, timeoutMs);
      check();
    });
  }

  summary(): string {
    const conns = this.connections.map(
      (c) => `#${c.index}:${c.kind ?? '-'}${c.answeredError !== null ? `(err ${c.answeredError})` : ''}${c.tunnel ? `(dir ${c.tunnel.direction})` : ''}${c.closed ? ' closed' : ''}`,
    );
    return `logins ${this.logins.length}, additional ${this.additionals.length}, connections [${conns.join(', ')}], client errors ${JSON.stringify(this.clientErrors)}`;
  }

  /** Destroy every connection and stop listening (teardown). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const c of this.connections) {
      c.tunnel?.stopKeepAlives();
      c.tcp.destroy();
    }
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  #accept(tcp: net.Socket): void {
    const index = this.connections.length;
    const plan = this.script.plan?.(index) ?? {};
    const conn = new FakeConnection(index, tcp, plan);
    this.connections.push(conn);
    if (this.#closed) {
      tcp.destroy();
      conn.markClosed();
      return;
    }
    tcp.on('end', () => (conn.gotFin = true));
    tcp.on('error', (e) => (conn.error ??= e.message));
    tcp.on('close', () => {
      conn.tunnel?.stopKeepAlives();
      conn.markClosed();
    });
    if (plan.stall === 'tls') {
      tcp.on('data', (c: Buffer) => (conn.rawBytesIn += c.length));
      return;
    }
    this.#serve(conn).catch((e: Error) => {
      if (!conn.closed) this.clientErrors.push(`connection ${index}: ${e.message}`);
      tcp.destroy();
    });
  }

  async #serve(conn: FakeConnection): Promise<void> {
    const tcp = conn.tcp;
    const gate = new ServerTlsGate(tcp);
    const reader = new RequestReader();
    let tunnel: FakeTunnel | null = null;
    // Where TCP bytes go: into TLS until the tunnel takes over the raw socket (use_encrypt=0).
    tcp.on('data', (c: Buffer) => (tunnel && !tunnel.session.welcome.useEncrypt ? tunnel.receive(c) : gate.feed(c)));
    tcp.on('end', () => gate.push(null));
    const cert = testCertificate(conn.plan.cert ?? 'a');
    const tlsSocket = new tls.TLSSocket(gate, {
      isServer: true,
      secureContext: tls.createSecureContext({ key: cert.key, cert: cert.cert, minVersion: 'TLSv1.2', ...(conn.plan.ciphers ? { ciphers: conn.plan.ciphers } : {}) }),
    });
    tlsSocket.on('error', (e) => {
      conn.error ??= `tls: ${e.message}`;
      tcp.destroy();
    });
    tlsSocket.on('data', (c: Buffer) => (tunnel ? tunnel.receive(c) : reader.push(c)));
    tcp.on('close', () => {
      reader.fail(new Error('closed'));
      tlsSocket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      tlsSocket.once('secure', () => resolve());
      tcp.once('close', () => reject(new Error('closed during the TLS handshake')));
    });
    conn.tlsDoneAt = Date.now();
    conn.cipher = tlsSocket.getCipher()?.standardName ?? null;

    // Signature POST -> hello.
    const sig = await reader.next();
    conn.sawRequest = true;
    if (sig.target.toLowerCase() !== '/vpnsvc/connect.cgi' || sig.body.toString('latin1') !== 'VPNCONNECT') {
      throw new Error(`unexpected signature request ${sig.method} ${sig.target} (${sig.body.length} bytes)`);
    }
    if (conn.plan.stall === 'hello') return;
    const random = randomBytes(20);
    tlsSocket.write(
      packResponse(new Pack().addStr('hello', 'Fake SoftEther VPN Server (sebridge tests)').addInt('version', 501).addInt('build', 9674).addData('random', random)),
    );

    const req = await reader.next();
    if (req.target.toLowerCase() !== '/vpnsvc/vpn.cgi' || req.headers.get('content-type')?.toLowerCase() !== 'application/octet-stream') {
      throw new Error(`unexpected Pack request ${req.method} ${req.target}`);
    }
    const pack = decodePack(req.body);
    const method = pack.getStr('method');
    if (conn.plan.stall === 'reply') {
      conn.kind = method === 'login' ? 'login' : method === 'additional_connect' ? 'additional' : null;
      return;
    }

    const sendError = (code: number, bareBytes?: Buffer) => {
      conn.answeredError = code;
      if (bareBytes) {
        gate.hold();
        tlsSocket.write(packResponse(new Pack().addInt('error', code)), () => (conn.replyWrite = gate.release(bareBytes)));
      } else {
        tlsSocket.write(packResponse(new Pack().addInt('error', code)));
      }
      // Like the stock server: wait for the client to go away; close ourselves if it does not.
      this.#later(3000, () => tcp.destroy());
    };

    // Enter tunnel mode: the reply leaves with `tunnelBytes` in ONE TCP write; raw TCP from then on if unencrypted.
    const enterTunnel = (reply: Pack, session: FakeSession, direction: 0 | 1 | 2, tunnelBytes: Buffer | undefined, bareBytes: Buffer | undefined) => {
      const raw = !session.welcome.useEncrypt;
      const out: Duplex = raw ? tcp : tlsSocket;
      const t = new FakeTunnel(conn, session, direction, out);
      const early = reader.takeRest();
      tunnel = t;
      conn.tunnel = t;
      session.tunnels.push(t);
      // The tunnel starts (keep-alives, the script's onTunnel) only once the reply is on its way, so nothing can
      // overtake it, and the first raw bytes are the scripted ones.
      const start = () => {
        if (conn.closed) return;
        if (early.length) t.receive(early);
        t.startKeepAlives(this.script.keepAliveMs ? this.script.keepAliveMs(t) : 1000);
        this.script.onTunnel?.(t);
      };
      if (raw) {
        gate.stop();
        gate.hold();
        tlsSocket.write(packResponse(reply), () => {
          conn.replyWrite = gate.release(tunnelBytes ?? Buffer.alloc(0));
          start();
        });
      } else if (bareBytes) {
        gate.hold();
        tlsSocket.write(tunnelBytes ? Buffer.concat([packResponse(reply), tunnelBytes]) : packResponse(reply), () => {
          conn.replyWrite = gate.release(bareBytes);
          start();
        });
      } else {
        tlsSocket.write(tunnelBytes ? Buffer.concat([packResponse(reply), tunnelBytes]) : packResponse(reply));
        start();
      }
    };

    if (method === 'login') {
      conn.kind = 'login';
      const record: FakeLogin = { at: Date.now(), conn, pack, answeredError: null, session: null };
      this.logins.push(record);
      const answer = this.script.login?.({ n: this.logins.length, conn, pack }) ?? this.#defaultLogin(pack, random);
      if ('error' in answer) {
        record.answeredError = answer.error;
        sendError(answer.error, answer.bareBytes);
        return;
      }
      const requested = pack.getInt('max_connection') ?? 1;
      const n = this.sessions.length + 1;
      const welcome: WelcomeFields = {
        sessionName: `SID-FAKE-${n}`,
        connectionName: `CID-${conn.index}`,
        maxConnection: Math.max(1, Math.min(32, requested)),
        timeoutMs: 5000,
        useEncrypt: pack.getBool('use_encrypt'),
        useCompress: pack.getBool('use_compress'),
        halfConnection: pack.getBool('half_connection'),
        qos: pack.getBool('qos'),
        ...answer.welcome,
      };
      const session = new FakeSession(welcome.sessionName, randomBytes(20), welcome);
      this.sessions.push(session);
      record.session = session;
      const reply = new Pack()
        .addStr('session_name', welcome.sessionName)
        .addStr('connection_name', welcome.connectionName)
        .addData('session_key', session.key)
        .addInt('session_key_32', randomBytes(4).readUInt32BE(0))
        .addInt('max_connection', welcome.maxConnection)
        .addBool('use_encrypt', welcome.useEncrypt)
        .addBool('use_compress', welcome.useCompress)
        .addBool('half_connection', welcome.halfConnection)
        .addInt('timeout', welcome.timeoutMs)
        .addBool('qos', welcome.qos)
        .addInt('is_azure_session', 0)
        .addInt('vlan_id', 0)
        .addInt('enable_udp_recovery', 0)
        .addInt('policy:Access', 1)
        .addInt('policy:Ver3', 1)
        .addData('Msg', Buffer.alloc(0));
      // The first connection of a half-duplex session is client->server (notes §7.5).
      enterTunnel(reply, session, welcome.halfConnection ? 2 : 0, answer.tunnelBytes, answer.bareBytes);
      return;
    }

    if (method === 'additional_connect') {
      conn.kind = 'additional';
      const key = pack.getData('session_key');
      const session = key ? this.sessions.find((s) => s.key.equals(key) && this.#resumable(s)) : undefined;
      const record: FakeAdditional = { at: Date.now(), conn, pack, answeredError: null, direction: null };
      this.additionals.push(record);
      const answer = this.script.additional?.({ n: this.additionals.length, conn, pack, session }) ?? this.#defaultAdditional(session);
      if ('error' in answer) {
        record.answeredError = answer.error;
        sendError(answer.error, answer.bareBytes);
        return;
      }
      if (!session) throw new Error('script accepted an additional_connect for an unknown session key');
      const direction = answer.direction ?? this.#stockDirection(session);
      record.direction = direction;
      enterTunnel(new Pack().addInt('error', 0).addInt('direction', direction), session, direction, answer.tunnelBytes, answer.bareBytes);
      return;
    }
    sendError(4);
  }

  /** Like the stock server, a session without connections lives on for T after its last one closed. */
  #resumable(s: FakeSession): boolean {
    const last = Math.max(0, ...s.tunnels.map((t) => t.conn.closedAt ?? Date.now()));
    return Date.now() - last < s.welcome.timeoutMs;
  }

  #defaultLogin(pack: Pack, random: Buffer): LoginAnswer {
    const pw = this.script.password;
    if (pw === undefined) return {};
    const user = pack.getStr('username') ?? '';
    const proof = pack.getData('secure_password');
    const ok = pack.getInt('authtype') === 1 && proof !== undefined && proof.equals(securePassword(hashPassword(user, pw), random));
    return ok ? {} : { error: 9 };
  }

  #defaultAdditional(session: FakeSession | undefined): AdditionalAnswer {
    if (!session) return { error: 13 };
    // The stock server rejects only when the count is already GREATER than max_connection (notes §8).
    if (session.live().length > session.welcome.maxConnection) return { error: 15 };
    return { direction: this.#stockDirection(session) };
  }

  /** Notes §8: 2 (client->server) if there are more server->client connections than others, else 1. */
  #stockDirection(session: FakeSession): 0 | 1 | 2 {
    if (!session.welcome.halfConnection) return 0;
    const live = session.live();
    const s2c = live.filter((t) => t.direction === 1).length;
    return s2c > live.length - s2c ? 2 : 1;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Test helpers

export interface CascadeUnderTest {
  cascade: Cascade;
  port: MemoryPort;
  log: string[];
}

export const USER = 'tester';
export const PASSWORD = 'pw-tester';

/** Start a fake server with `script` (password checked by default); closed on teardown. */
export async function fakeServer(t: ExecutionContext, script: FakeServerScript = {}): Promise<FakeServer> {
  const server = await new FakeServer({ password: PASSWORD, ...script }).listen();
  t.teardown(() => server.close());
  return server;
}

/**
 * A cascade to `server` with fast test timings (retry 1 s, additional connections every 100 ms) and a MemoryPort
 * as its local side; stopped on teardown (before the server closes: teardowns run last-registered first).
 */
export function cascadeTo(t: ExecutionContext, server: FakeServer, input: Record<string, unknown> = {}, start = true, extra: Partial<CascadeOptions> = {}): CascadeUnderTest {
  const options = { ...parseCascadeOptions(childOptions(server, input)), ...extra };
  const cascade = new Cascade(options, 'cascade-under-test');
  const port = new MemoryPort('local', 100_000);
  cascade.setReceiver((frames) => port.write(frames));
  const log: string[] = [];
  cascade.on('log', (l: string) => log.push(`${Date.now()} ${l}`));
  t.teardown(async () => {
    await cascade.stop();
    if (t.passed === false) t.log(`cascade log:\n${log.join('\n')}\nserver: ${server.summary()}`);
  });
  if (start) cascade.start();
  return { cascade, port, log };
}

export { waitForStatus } from '../helpers/wait-status.ts';

// ---------------------------------------------------------------------------------------------------------------
// A cascade in a child process

/**
 * The child: start a cascade, wait for a phase, stop(), report, and then simply return: Node exits as soon as
 * nothing (timer, socket) is left in its event loop. A crash (uncaught exception) shows as a non-zero exit.
 */
const CHILD = `
const { Cascade } = await import(process.env.SEBT_CASCADE_URL);
const { parseCascadeOptions } = await import(process.env.SEBT_OPTIONS_URL);
const { options, phase } = JSON.parse(process.env.SEBT_STOP_TEST);
const reached = {
  tls: (s, ms) => s.state === 'connecting' && ms >= 300,
  hello: (s, ms) => s.tls !== null && ms >= 300,
  login: (s, ms) => s.server !== null && ms >= 300,
  online: (s) => s.state === 'online' && s.connections.granted > 0 && s.connections.total === s.connections.granted,
  recovered: (s) => s.lastError !== null && s.state === 'online' && s.connections.total === s.connections.granted,
  settled: (s, ms) => s.state === 'online' && s.connections.total === s.connections.granted && ms >= 1000,
  adding: (s, ms) => s.state === 'online' && s.connections.connecting === 1 && ms >= 500,
  waiting: (s) => s.state === 'waiting',
  resuming: (s, ms) => s.sessions === 1 && s.state === 'connecting' && s.connections.connecting === 1 && ms >= 300,
};
const cascade = new Cascade(parseCascadeOptions(options));
cascade.on('log', (l) => process.stderr.write(Date.now() + ' ' + l + '\\n'));
const t0 = Date.now();
cascade.start();
await new Promise((resolve, reject) => {
  const iv = setInterval(() => {
    const s = cascade.status();
    if (reached[phase](s, Date.now() - t0)) { clearInterval(iv); resolve(); }
    else if (Date.now() - t0 > 8000) { clearInterval(iv); reject(new Error('phase ' + phase + ' not reached: ' + JSON.stringify(s))); }
  }, 5);
});
const before = cascade.status();
const stopCalledAt = Date.now();
await cascade.stop();
const stoppedAt = Date.now();
// What still keeps the event loop alive (stdio pipes aside). Checked from an immediate queued by the polling timer:
// there neither of the two counts itself (inside the timer's own callback it still would).
const busy = () => process.getActiveResourcesInfo().filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap');
const quietAfterMs = await new Promise((resolve) => {
  const check = () => {
    const ms = Date.now() - stoppedAt;
    if (busy().length === 0) resolve(ms);
    else if (ms > 1500) resolve(null);
    else setTimeout(() => setImmediate(check), 5);
  };
  setImmediate(check);
});
process.stdout.write(JSON.stringify({ before, after: cascade.status(), stopCalledAt, stoppedAt, quietAfterMs, lingering: busy() }) + '\\n');
`;

export interface ChildReport {
  before: CascadeStatus;
  after: CascadeStatus;
  stopCalledAt: number;
  stoppedAt: number;
  /** How long after stop() resolved nothing (no socket, no timer) kept the event loop alive; null: > 1.5 s. */
  quietAfterMs: number | null;
  /** process.getActiveResourcesInfo() (stdio aside) when the child reported. */
  lingering: string[];
}

/**
 * Run a cascade in its own Node process until `phase` (a name in CHILD's table), stop it there and report. Rejects
 * if the process crashes or does not exit by itself; it is killed (by PID) after 15 s at the latest.
 */
export function runCascadeInChild(t: ExecutionContext, phase: string, options: Record<string, unknown>): Promise<{ report: ChildReport; exitedAt: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: {
        ...process.env,
        SEBT_CASCADE_URL: new URL('../../src/session/cascade.ts', import.meta.url).href,
        SEBT_OPTIONS_URL: new URL('../../src/session/options.ts', import.meta.url).href,
        SEBT_STOP_TEST: JSON.stringify({ phase, options }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 100_000) stderr += c.toString();
    });
    const limit = setTimeout(() => child.kill('SIGKILL'), 15_000);
    t.teardown(() => {
      clearTimeout(limit);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const exitedAt = Date.now();
      clearTimeout(limit);
      if (code !== 0) {
        reject(new Error(`the child process exited with ${code ?? signal}\nstdout: ${stdout}\nstderr: ${stderr}`));
        return;
      }
      try {
        resolve({ report: JSON.parse(stdout) as ChildReport, exitedAt, stderr });
      } catch (e) {
        reject(new Error(`child output not JSON: ${stdout}\nstderr: ${stderr}`));
      }
    });
  });
}

/** Options for runCascadeInChild: the same fast test timings as cascadeTo. */
export function childOptions(server: FakeServer, input: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    host: '127.0.0.1',
    port: server.port,
    hub: 'HUB',
    username: USER,
    password: PASSWORD,
    retryIntervalMs: 1000,
    additionalConnectionIntervalMs: 100,
    maxConnections: 1,
    ...input,
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A recognisable Ethernet frame: broadcast dst, locally administered src, EtherType 0x88b5 (local experimental). */
export function testFrame(seq: number, length = 64): Buffer {
  const f = Buffer.alloc(length);
  f.fill(0xff, 0, 6);
  Buffer.from([0x02, 0x5e, 0xb7, 0x00, 0x00, 0x01]).copy(f, 6);
  f.writeUInt16BE(0x88b5, 12);
  f.writeUInt32BE(seq >>> 0, 14);
  for (let i = 18; i < length; i++) f[i] = (seq * 7 + i) & 0xff;
  return f;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
