import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Socket } from 'node:net';
import Koa from 'koa';
import { LoginRateLimiter } from '../auth/rate-limit.ts';
import { SessionStore } from '../auth/sessions.ts';
import { answerPlainHttp } from './plain-redirect.ts';
import { SECURITY_HEADERS } from './security-headers.ts';
import { createRequestHandler, LONG_REQUESTS } from './routes.ts';
import { PasswordChecker } from './password-check.ts';
import { StaticFiles } from './static-files.ts';
import { loadOrCreateCertificate } from './tls-cert.ts';
import { UploadStartLimiter } from './upload-limit.ts';
import type { Dispatch, FirmwareUploadTarget, WebLog } from './types.ts';

export type { Caller, Dispatch, FirmwareUploadTarget, WebLog } from './types.ts';
export { FIRMWARE_UPLOAD_PATH } from './routes.ts';

export type WebServerOptions = {
  host: string;
  port: number;
  /** Where web-cert.pem / web-key.pem live (created on first start). */
  certDir: string;
  dispatch: Dispatch;
  /** False until an admin password exists: then only SetServerPassword and GetSetupState are served. */
  isSetUp: () => boolean;
  /** Checks the admin password (scrypt; may be slow). Results are cached briefly here when true. */
  verifyAdminPassword: (pw: string) => Promise<boolean>;
  /** The built browser UI, or null for none. */
  staticDir: string | null;
  now?: () => number;
  log?: WebLog;
  /** Overrides of WEB_LIMITS (tests use short timeouts). */
  limits?: Partial<WebLimits>;
  /** Where POST /firmware/upload streams to; absent: the endpoint answers 404. */
  firmware?: FirmwareUploadTarget | null;
  /** Firmware upload starts allowed per window (default 10 per 10 minutes). */
  uploadStarts?: { max: number; windowMs: number };
};

export type WebServer = {
  port: number;
  certSha256: string;
  sessions: SessionStore;
  rateLimiter: LoginRateLimiter;
  /** Drop cached password checks (the daemon calls this when the password changed by another path). */
  forgetCachedPasswords(): void;
  close(): Promise<void>;
};

/** Limits of the shared port. */
export type WebLimits = {
  maxConnections: number;
  /** Time for a new connection to send its first byte (TLS ClientHello or an HTTP request line). */
  firstByteTimeoutMs: number;
  tlsHandshakeTimeoutMs: number;
  maxHeaderSize: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  idleTimeoutMs: number;
  /** The longest a firmware upload may take (it is exempt from requestTimeoutMs). */
  uploadMaxMs: number;
};

export const WEB_LIMITS: Readonly<WebLimits> = {
  maxConnections: 128,
  firstByteTimeoutMs: 10_000,
  tlsHandshakeTimeoutMs: 10_000,
  maxHeaderSize: 16 * 1024,
  headersTimeoutMs: 15_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 10_000,
  idleTimeoutMs: 120_000,
  uploadMaxMs: 30 * 60_000,
};

const defaultLog: WebLog = (level, msg, fields) => {
  if (level !== 'info') process.stderr.write(`web ${level}: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}\n`);
};

/**
 * Start the daemon's web server: one TCP port that serves HTTPS (browser UI, /auth/*, SoftEther's JSON-RPC at
 * /api/) and answers plain HTTP with a redirect to HTTPS. Which one a connection speaks is decided by its first
 * byte: 0x16 starts a TLS ClientHello, anything else is taken as HTTP.
 */
export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  if (typeof opts.host !== 'string' || opts.host === '') throw new TypeError('web server: host must be a non-empty string');
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new RangeError('web server: port must be an integer 0..65535');
  if (typeof opts.certDir !== 'string' || opts.certDir === '') throw new TypeError('web server: certDir must be a non-empty string');
  if (typeof opts.dispatch !== 'function') throw new TypeError('web server: dispatch must be a function');
  if (typeof opts.isSetUp !== 'function') throw new TypeError('web server: isSetUp must be a function');
  if (typeof opts.verifyAdminPassword !== 'function') throw new TypeError('web server: verifyAdminPassword must be a function');
  const log = opts.log ?? defaultLog;
  const now = opts.now ?? Date.now;
  const limits: WebLimits = { ...WEB_LIMITS, ...opts.limits };

  const cert = await loadOrCreateCertificate(opts.certDir);
  if (cert.created) {
    log('info', 'web certificate created', { sha256: cert.sha256, ...(cert.replacedReason ? { replaced: cert.replacedReason } : {}) });
  }

  let staticFiles: StaticFiles | null = null;
  if (opts.staticDir !== null) {
    try {
      staticFiles = await StaticFiles.load(opts.staticDir);
    } catch (e) {
      // The API stays usable without pages (scripts, vpnrpc); say loudly why the browser gets none.
      log('error', 'web UI files not loaded; serving the API only', { dir: opts.staticDir, error: (e as Error).message });
    }
  }

  const sessions = new SessionStore({ now });
  const rateLimiter = new LoginRateLimiter({ now });
  const passwords = new PasswordChecker({ verify: opts.verifyAdminPassword, now });

  const app = new Koa();
  app.proxy = false; // never trust X-Forwarded-For: the rate limit keys on the real peer address
  app.silent = true;
  const uploadLimiter = new UploadStartLimiter({ ...opts.uploadStarts, now });
  app.use(createRequestHandler({
    dispatch: opts.dispatch, isSetUp: opts.isSetUp, sessions, rateLimiter, passwords, staticFiles, log, now,
    firmware: opts.firmware ?? null, uploadLimiter, uploadMaxMs: limits.uploadMaxMs,
  }));

  const https: HttpsServer = createHttpsServer(
    {
      cert: cert.certPem,
      key: cert.keyPem,
      minVersion: 'TLSv1.2',
      handshakeTimeout: limits.tlsHandshakeTimeoutMs,
      maxHeaderSize: limits.maxHeaderSize,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    app.callback(),
  );
  https.timeout = limits.idleTimeoutMs;
  https.on('tlsClientError', () => {}); // scanners and aborted handshakes: the socket is destroyed, nothing to log
  // Node's default answer to a malformed request is written and then the socket destroyed at once, which over TLS
  // loses the answer; end it gracefully instead (431 for oversized headers, 408 for a request that took too long).
  https.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // A firmware upload bounds its own time (routes.ts); Node has already taken it off its timeout list.
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && LONG_REQUESTS.has(socket)) return;
    if (!socket.writable || (socket as Socket).bytesWritten > 0) return socket.destroy();
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout'
      : '400 Bad Request';
    const headers = Object.entries(SECURITY_HEADERS).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n${headers}\r\n`);
    setTimeout(() => socket.destroy(), 2000).unref();
  });
  // The HTTPS server never listens itself (the shared port hands it sockets); 'listening' starts its timers that
  // enforce headersTimeout/requestTimeout.
  https.emit('listening');

  const sockets = new Set<Socket>();
  let port = 0;
  const outer = createNetServer({ pauseOnConnect: true, noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // resets before/while peeking; HTTPS adds its own handling afterwards
    socket.setTimeout(limits.firstByteTimeoutMs, () => socket.destroy());
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      if (chunk[0] === 0x16) {
        // Put the ClientHello back; the TLS layer finds it in the socket's buffer and reads on from there
        // (resuming the socket here ourselves would flush the buffer as 'data' to nobody).
        socket.unshift(chunk);
        https.emit('connection', socket);
      } else {
        answerPlainHttp(socket, chunk, port);
      }
    });
    socket.resume();
  });
  outer.maxConnections = limits.maxConnections;

  try {
    await new Promise<void>((resolve, reject) => {
      outer.once('error', reject);
      outer.listen({ host: opts.host, port: opts.port }, () => {
        outer.removeListener('error', reject);
        resolve();
      });
    });
  } catch (e) {
    https.close(() => {});
    throw new Error(`web server: cannot listen on ${opts.host}:${opts.port}: ${(e as Error).message}`, { cause: e });
  }
  outer.on('error', (e) => log('error', 'web listener error', { error: e.message }));
  const addr = outer.address();
  port = typeof addr === 'object' && addr ? addr.port : opts.port;
  log('info', 'web server listening', { host: opts.host, port, certSha256: cert.sha256 });

  let closing: Promise<void> | null = null;
  return {
    port,
    certSha256: cert.sha256,
    sessions,
    rateLimiter,
    forgetCachedPasswords: () => passwords.forget(),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        outer.close(() => resolve());
        https.close(() => {}); // stops its timers; it never listened, so its own callback reports "not running"
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}
