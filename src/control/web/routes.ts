import type { IncomingMessage } from 'node:http';
import type Koa from 'koa';
import getRawBody from 'raw-body';
import { csrfTokenMatches, type Session, type SessionStore } from '../auth/sessions.ts';
import type { LoginRateLimiter } from '../auth/rate-limit.ts';
import { ERR_ACCESS_DENIED, ERR_INTERNAL_ERROR, ERR_INVALID_PARAMETER } from './api-error.ts';
import { isAdminUser, readApiCredentials } from './api-credentials.ts';
import { SESSION_COOKIE, clearedSessionCookie, readCookie, sessionCookie } from './cookies.ts';
import { errorBody, parseEnvelope, resultBody, thrownErrorBody } from './jsonrpc.ts';
import { PasswordCheckBusyError, type PasswordChecker } from './password-check.ts';
import { SECURITY_HEADERS } from './security-headers.ts';
import type { StaticFiles } from './static-files.ts';
import type { Caller, Dispatch, FirmwareUploadTarget, WebLog } from './types.ts';
import type { UploadStartLimiter } from './upload-limit.ts';
import type { FirmwareErrorReason } from '../firmware/errors.ts';

export const API_BODY_LIMIT = 1024 * 1024;
const AUTH_BODY_LIMIT = 8 * 1024;
/** Methods served before an admin password exists (no authentication then). */
export const SETUP_METHODS: ReadonlySet<string> = new Set(['SetServerPassword', 'GetSetupState']);

export type RouteDeps = {
  dispatch: Dispatch;
  isSetUp: () => boolean;
  sessions: SessionStore;
  rateLimiter: LoginRateLimiter;
  passwords: PasswordChecker;
  staticFiles: StaticFiles | null;
  log: WebLog;
  now: () => number;
  firmware: FirmwareUploadTarget | null;
  uploadLimiter: UploadStartLimiter;
  /** The longest a firmware upload may take in total (it is exempt from the server's per-request timeout). */
  uploadMaxMs: number;
};

/** The streamed firmware upload, beside /api/ (a 100 MB body does not belong in JSON-RPC). */
export const FIRMWARE_UPLOAD_PATH = '/firmware/upload';

type Ctx = Koa.ParameterizedContext;

/** Thrown inside a handler to answer with `status` and a finished body; caught by the top of the chain. */
class Reply extends Error {
  readonly status: number;
  readonly body: string;
  readonly type: string;
  readonly headers: Record<string, string>;
  constructor(status: number, body: string, type: string, headers: Record<string, string> = {}) {
    super(`HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.type = type;
    this.headers = headers;
  }
}

function send(ctx: Ctx, reply: Reply): void {
  ctx.status = reply.status;
  ctx.type = reply.type;
  ctx.set(reply.headers);
  ctx.body = reply.body;
}

const jsonReply = (status: number, obj: object, headers: Record<string, string> = {}) =>
  new Reply(status, JSON.stringify(obj), 'application/json', headers);

export function createRequestHandler(deps: RouteDeps): Koa.Middleware {
  const { log } = deps;
  return async (ctx: Ctx) => {
    // Set on every answer, including errors (Koa's own error handler would drop them; we never let it run).
    ctx.set(SECURITY_HEADERS);
    try {
      const path = ctx.path;
      if (path === '/api/' || path === '/api') await api(ctx, deps);
      else if (path.startsWith('/auth/')) await auth(ctx, deps);
      else if (path === FIRMWARE_UPLOAD_PATH) await firmwareUpload(ctx, deps);
      else serveStatic(ctx, deps.staticFiles);
    } catch (e) {
      if (e instanceof Reply) return send(ctx, e);
      log('error', 'web request failed', { path: ctx.path, error: (e as Error)?.message, stack: (e as Error)?.stack });
      ctx.status = 500;
      ctx.type = 'application/json';
      ctx.set('Connection', 'close');
      ctx.body = JSON.stringify({ error: 'internal error' });
    }
  };
}

// ---------------------------------------------------------------------------------------------------- /api/

async function api(ctx: Ctx, deps: RouteDeps): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  if (ctx.method !== 'POST') {
    throw new Reply(405, errorBody('0', ERR_INVALID_PARAMETER, 'Invalid request: use POST for /api/'), 'application/json', { Allow: 'POST' });
  }
  const address = clientAddress(ctx.req);
  if (!originAllowed(ctx)) {
    throw new Reply(403, errorBody('0', ERR_ACCESS_DENIED, 'Access has been denied: cross-site request (Origin is not this server)'), 'application/json');
  }
  let caller: Caller;
  let sessionId: string | null = null;
  if (!deps.isSetUp()) {
    caller = { kind: 'setup', via: 'none', address };
  } else {
    const authed = await authenticateApi(ctx, deps, address);
    caller = authed.caller;
    sessionId = authed.sessionId;
  }

  const body = await readBody(ctx, API_BODY_LIMIT, true);
  const env = parseEnvelope(body);
  let answer: string;
  if (!env.ok) {
    answer = errorBody(env.id, env.code, env.text);
  } else if (caller.kind === 'setup' && !SETUP_METHODS.has(env.method)) {
    answer = errorBody(env.id, ERR_ACCESS_DENIED, 'Access has been denied: the admin password must be set first (SetServerPassword)');
  } else {
    answer = await callMethod(deps, env.id, env.method, env.params, caller, sessionId);
  }
  ctx.status = 200; // SoftEther answers every JSON-RPC outcome, errors included, with 200
  ctx.type = 'application/json';
  ctx.body = answer;
}

async function callMethod(
  deps: RouteDeps,
  id: string | number,
  method: string,
  params: Record<string, unknown>,
  caller: Caller,
  sessionId: string | null,
): Promise<string> {
  let result: unknown;
  try {
    result = await deps.dispatch(method, params, caller);
  } catch (e) {
    const { body, internal } = thrownErrorBody(id, e);
    if (internal) log500(deps.log, method, e);
    return body;
  } finally {
    // Whatever the outcome, a password change makes every remembered check suspect.
    if (method === 'SetServerPassword') deps.passwords.forget();
  }
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    log500(deps.log, method, new Error('the method returned no result object'));
    return errorBody(id, ERR_INTERNAL_ERROR, '');
  }
  if (method === 'SetServerPassword' && caller.kind === 'admin') {
    // Other browsers logged in with the old password are logged out; the one that changed it stays.
    deps.sessions.clear(sessionId ?? undefined);
  }
  try {
    return resultBody(id, result as Record<string, unknown>);
  } catch (e) {
    log500(deps.log, method, e);
    return errorBody(id, ERR_INTERNAL_ERROR, '');
  }
}

function log500(log: WebLog, method: string, e: unknown): void {
  log('error', 'API method failed with an unexpected error', { method, error: (e as Error)?.message ?? String(e), stack: (e as Error)?.stack });
}

async function authenticateApi(ctx: Ctx, deps: RouteDeps, address: string): Promise<{ caller: Caller; sessionId: string | null }> {
  const creds = readApiCredentials(ctx.headers);
  if (creds.via === 'malformed') throw unauthorized(`User authentication failed: ${creds.reason}`, false);
  if (creds.via === 'password' || creds.via === 'basic') {
    if (!isAdminUser(creds.user)) {
      throw unauthorized('a VPN Bridge has no hub administrators: send an empty or no X-VPNADMIN-HUBNAME (Basic user "administrator") with the admin password', creds.via === 'basic');
    }
    const ok = await checkPassword(deps, address, creds.password);
    if (!ok.ok) {
      deps.log('warn', 'admin API: wrong password', { address, via: creds.via, ...(ok.lockedUntil ? { lockedUntil: new Date(ok.lockedUntil).toISOString() } : {}) });
      throw unauthorized('wrong admin password', creds.via === 'basic');
    }
    return { caller: { kind: 'admin', via: creds.via, address }, sessionId: null };
  }
  const session = sessionFromCookie(ctx, deps);
  if (!session) throw unauthorized('send the admin password (header X-VPNADMIN-PASSWORD, or HTTP Basic with user "administrator"), or log in to the web UI', false);
  requireCsrf(ctx, session, true);
  deps.sessions.use(session.id);
  return { caller: { kind: 'admin', via: 'session', address }, sessionId: session.id };
}

function unauthorized(text: string, basic: boolean): Reply {
  const headers: Record<string, string> = { Connection: 'close' };
  // Only a client that tried Basic gets the challenge: for the browser UI it would pop up the browser's dialog.
  if (basic) headers['WWW-Authenticate'] = 'Basic realm="sebridge administrator", charset="UTF-8"';
  // Like the stock server: 401 with a small HTML page, not a JSON-RPC answer (scripts check the status).
  const page = `<!doctype html><html><head><title>401 Unauthorized</title></head><body><h1>Administrative authentication required</h1><p>${escapeHtml(text)}</p></body></html>\n`;
  return new Reply(401, page, 'text/html; charset=utf-8', headers);
}

type PasswordOutcome = { ok: true } | { ok: false; lockedUntil: number | null };

/**
 * Rate-limited password check. A locked-out address is answered 429 before anything is checked (not even the
 * cache, or a warm cache would become an oracle that ignores the lock-out).
 */
async function checkPassword(deps: RouteDeps, address: string, password: string, api = true): Promise<PasswordOutcome> {
  const locked = deps.rateLimiter.lockedUntil(address);
  if (locked !== null) throw lockedOut(deps, locked, api);
  if (deps.passwords.isCached(password)) return { ok: true };
  const attempt = deps.rateLimiter.begin(address);
  if (!attempt.allowed) throw lockedOut(deps, attempt.lockedUntil, api, attempt.reason);
  let ok: boolean;
  try {
    ok = await deps.passwords.check(password);
  } catch (e) {
    attempt.cancel();
    if (e instanceof PasswordCheckBusyError) {
      const text = 'too many password checks in progress; try again in a few seconds';
      throw api
        ? new Reply(503, errorBody('0', ERR_INTERNAL_ERROR, text), 'application/json', { 'Retry-After': '5', Connection: 'close' })
        : jsonReply(503, { error: text }, { 'Retry-After': '5' });
    }
    throw e;
  }
  const lockedUntil = attempt.finish(ok);
  if (lockedUntil !== null) deps.log('warn', 'too many wrong passwords: address locked out', { address, until: new Date(lockedUntil).toISOString() });
  return ok ? { ok: true } : { ok: false, lockedUntil };
}

function lockedOut(deps: RouteDeps, until: number, api: boolean, reason: 'locked' | 'busy' = 'locked'): Reply {
  const seconds = Math.max(1, Math.ceil((until - deps.now()) / 1000));
  const what = reason === 'locked' ? 'too many wrong passwords from this address' : 'too many password checks from this address at once';
  const text = `${what}; try again in ${seconds} s`;
  const headers = { 'Retry-After': String(seconds), Connection: 'close' };
  return api
    ? new Reply(429, errorBody('0', ERR_ACCESS_DENIED, `Access has been denied: ${text}`), 'application/json', headers)
    : jsonReply(429, { error: text, lockedUntil: new Date(until).toISOString() }, headers);
}

// ---------------------------------------------------------------------------------------------------- /firmware/upload

/** HTTP status of a refused upload: state conflicts 409, a bad file 422, the server's own trouble 500. */
const UPLOAD_STATUS: Record<FirmwareErrorReason, number> = {
  'no-slots': 409, busy: 409, 'not-confirmed': 409, 'not-ready': 409,
  magic: 422, 'header-size': 422, header: 422, signature: 422, arch: 422, kernel: 422, version: 422, size: 422,
  truncated: 422, hash: 422, aborted: 400, io: 500,
};

/** Sockets carrying a firmware upload right now: exempt from the server's request timeout (server.ts). */
export const LONG_REQUESTS = new WeakSet<object>();

const BEFORE_BODY: ReadonlySet<FirmwareErrorReason> = new Set(['no-slots', 'busy', 'not-confirmed']);

/**
 * `POST /firmware/upload[?force=1]`, body = the .fw file (Content-Length required). Authenticated exactly like
 * /api/ (password header, Basic, or session cookie + X-CSRF-Token; same lock-out); at most one at a time and a few
 * starts per 10 minutes; the body is streamed into the firmware manager, never buffered. Answers JSON:
 * `{ok: true, version, slot, ...}` or `{ok: false, reason, error}`. After a refusal the rest of the body is read
 * and discarded, so the client gets the answer instead of a reset.
 */
async function firmwareUpload(ctx: Ctx, deps: RouteDeps): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  const fail = (status: number, reason: string, error: string, headers: Record<string, string> = {}) =>
    jsonReply(status, { ok: false, reason, error }, { Connection: 'close', ...headers });
  if (ctx.method !== 'POST') throw jsonReply(405, { ok: false, reason: 'method', error: `use POST for ${FIRMWARE_UPLOAD_PATH}` }, { Allow: 'POST' });
  if (!deps.firmware) throw fail(404, 'no-firmware', 'firmware upgrades are not available in this daemon');
  const address = clientAddress(ctx.req);
  if (!originAllowed(ctx)) throw fail(403, 'origin', 'cross-site request refused (Origin is not this server)');
  if (!deps.isSetUp()) throw fail(403, 'setup', 'the admin password must be set first');
  const { caller } = await authenticateApi(ctx, deps, address);
  const encoding = ctx.get('content-encoding');
  if (encoding !== '' && encoding.toLowerCase() !== 'identity') throw fail(415, 'encoding', 'Content-Encoding is not supported');
  const lengthHeader = ctx.get('content-length');
  if (!/^\d{1,15}$/.test(lengthHeader)) throw fail(411, 'length', 'send the file with a Content-Length (not chunked)');
  const length = Number(lengthHeader);
  const max = await deps.firmware.maxBytes();
  if (length > max) throw fail(413, 'size', `the upload is ${length} bytes; at most ${max} fit this system's firmware slot`);
  const waitMs = deps.uploadLimiter.tryStart();
  if (waitMs !== null) {
    const s = Math.max(1, Math.ceil(waitMs / 1000));
    throw fail(429, 'rate', `too many firmware uploads; try again in ${s} s`, { 'Retry-After': String(s) });
  }
  const force = ['1', 'true', 'yes'].includes(String(ctx.query.force ?? '').toLowerCase());

  // A 100 MB upload over a slow link outlasts the server's per-request timeout (meant for small API bodies): the
  // server's clientError handler lets this request's timeout pass (LONG_REQUESTS) and it is bounded here instead.
  // A stalled client still hits the socket's idle timeout.
  const req = ctx.req;
  LONG_REQUESTS.add(req.socket);
  const deadline = setTimeout(() => req.destroy(new Error(`the upload took longer than ${deps.uploadMaxMs / 1000} s`)), deps.uploadMaxMs);

  deps.log('info', 'firmware upload started', { address, via: caller.via, bytes: length, force });
  const it = req[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  const body: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => ({ next: () => it.next() }) };
  try {
    const result = await deps.firmware.upload(body, { force, length });
    // Closed after the answer: Node's request-timeout handling may have detached its error handler from this socket.
    send(ctx, jsonReply(200, { ok: true, ...result }, { Connection: 'close' }));
  } catch (e) {
    const reason = (e as { reason?: FirmwareErrorReason }).reason;
    if (!reason || !(reason in UPLOAD_STATUS)) throw e;
    // A refusal of the file: read what the client is still sending (bounded by the Content-Length checked above),
    // so it reads our answer. A refusal before the first byte (no slots, busy, not confirmed) is answered at once.
    if (reason !== 'aborted' && !BEFORE_BODY.has(reason)) {
      try {
        while (!(await it.next()).done);
      } catch {
        /* the client went away meanwhile: nobody to answer */
      }
    }
    send(ctx, fail(UPLOAD_STATUS[reason], reason, (e as Error).message));
  } finally {
    clearTimeout(deadline);
    LONG_REQUESTS.delete(req.socket);
  }
}

// ---------------------------------------------------------------------------------------------------- /auth/*

async function auth(ctx: Ctx, deps: RouteDeps): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  const route = `${ctx.method} ${ctx.path}`;
  if (route === 'GET /auth/state') {
    const session = sessionFromCookie(ctx, deps);
    if (session) deps.sessions.use(session.id);
    return send(ctx, jsonReply(200, { setupRequired: !deps.isSetUp(), loggedIn: session !== null, ...(session ? { csrfToken: session.csrfToken } : {}) }));
  }
  if (route === 'POST /auth/login') return login(ctx, deps);
  if (route === 'POST /auth/logout') return logout(ctx, deps);
  if (['/auth/state', '/auth/login', '/auth/logout'].includes(ctx.path)) {
    throw jsonReply(405, { error: `${ctx.method} is not allowed on ${ctx.path}` }, { Allow: ctx.path === '/auth/state' ? 'GET' : 'POST' });
  }
  throw jsonReply(404, { error: 'not found' });
}

async function login(ctx: Ctx, deps: RouteDeps): Promise<void> {
  // CSRF defence for the one request that has no session yet: a cross-site form cannot send this content type
  // without a CORS preflight (which we never grant), and browsers send Origin with every POST.
  if (!ctx.is('application/json')) throw jsonReply(415, { error: 'Content-Type must be application/json' });
  if (!originAllowed(ctx)) throw jsonReply(403, { error: 'cross-site login refused (Origin is not this server)' });
  if (!deps.isSetUp()) throw jsonReply(409, { error: 'no admin password is set yet: set one first' });
  const address = clientAddress(ctx.req);
  const text = await readBody(ctx, AUTH_BODY_LIMIT, false);
  let password: unknown;
  try {
    password = (JSON.parse(text) as { password?: unknown })?.password;
  } catch {
    throw jsonReply(400, { error: 'the body must be JSON: {"password": "..."}' });
  }
  if (typeof password !== 'string' || password === '') throw jsonReply(400, { error: 'field password must be a non-empty string' });
  const ok = await checkPassword(deps, address, password, false);
  if (!ok.ok) {
    deps.log('warn', 'browser login: wrong password', { address, ...(ok.lockedUntil ? { lockedUntil: new Date(ok.lockedUntil).toISOString() } : {}) });
    throw jsonReply(401, { error: 'wrong password', ...(ok.lockedUntil ? { lockedUntil: new Date(ok.lockedUntil).toISOString() } : {}) });
  }
  const session = deps.sessions.create(address);
  deps.log('info', 'browser login', { address });
  ctx.set('Set-Cookie', sessionCookie(session.id, deps.sessions.absoluteTtlMs / 1000));
  send(ctx, jsonReply(200, { csrfToken: session.csrfToken }));
}

async function logout(ctx: Ctx, deps: RouteDeps): Promise<void> {
  if (!originAllowed(ctx)) throw jsonReply(403, { error: 'cross-site logout refused (Origin is not this server)' });
  const session = sessionFromCookie(ctx, deps);
  if (session) {
    requireCsrf(ctx, session, false);
    deps.sessions.delete(session.id);
  }
  ctx.set('Set-Cookie', clearedSessionCookie());
  send(ctx, jsonReply(200, { loggedIn: false }));
}

function sessionFromCookie(ctx: Ctx, deps: RouteDeps): Session | null {
  return deps.sessions.peek(readCookie(ctx.get('cookie'), SESSION_COOKIE));
}

function requireCsrf(ctx: Ctx, session: Session, api: boolean): void {
  if (csrfTokenMatches(session, ctx.get('x-csrf-token'))) return;
  const text = 'missing or wrong X-CSRF-Token header';
  throw api
    ? new Reply(403, errorBody('0', ERR_ACCESS_DENIED, `Access has been denied: ${text}`), 'application/json')
    : jsonReply(403, { error: text });
}

// ---------------------------------------------------------------------------------------------------- helpers

/** Same-origin check: a request that names an Origin must name this server (scheme https, the Host it used). */
function originAllowed(ctx: Ctx): boolean {
  const origin = ctx.get('origin');
  if (origin === '') return true;
  const host = ctx.get('host');
  return host !== '' && origin.toLowerCase() === `https://${host.toLowerCase()}`;
}

function clientAddress(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

async function readBody(ctx: Ctx, limit: number, api: boolean): Promise<string> {
  const encoding = ctx.get('content-encoding');
  if (encoding !== '' && encoding.toLowerCase() !== 'identity') {
    throw api
      ? new Reply(415, errorBody('0', ERR_INVALID_PARAMETER, 'Invalid request: Content-Encoding is not supported'), 'application/json', { Connection: 'close' })
      : jsonReply(415, { error: 'Content-Encoding is not supported' }, { Connection: 'close' });
  }
  try {
    return await getRawBody(ctx.req, { limit, encoding: 'utf8', length: ctx.get('content-length') || undefined });
  } catch (e) {
    const err = e as { type?: string; message?: string };
    if (err.type === 'entity.too.large') {
      const text = `Invalid request: the body is larger than ${limit} bytes`;
      throw api
        ? new Reply(413, errorBody('0', ERR_INVALID_PARAMETER, text), 'application/json', { Connection: 'close' })
        : jsonReply(413, { error: `the body is larger than ${limit} bytes` }, { Connection: 'close' });
    }
    throw api
      ? new Reply(400, errorBody('0', ERR_INVALID_PARAMETER, 'Invalid request: the body could not be read'), 'application/json', { Connection: 'close' })
      : jsonReply(400, { error: 'the body could not be read' }, { Connection: 'close' });
  }
}

function serveStatic(ctx: Ctx, files: StaticFiles | null): void {
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
    throw jsonReply(405, { error: `${ctx.method} is not allowed here` }, { Allow: 'GET, HEAD' });
  }
  let path: string;
  try {
    path = decodeURIComponent(ctx.path);
  } catch {
    throw new Reply(400, 'bad path\n', 'text/plain');
  }
  const file = files?.lookup(path) ?? null;
  if (!file) throw new Reply(404, files ? 'not found\n' : 'no web UI is installed; the API is at /api/\n', 'text/plain');
  ctx.set('Cache-Control', file.cacheControl);
  ctx.set('ETag', file.etag);
  ctx.vary('Accept-Encoding');
  if (ctx.get('if-none-match') === file.etag) {
    ctx.status = 304;
    return;
  }
  ctx.type = file.type;
  if (file.gzipped && ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
    ctx.set('Content-Encoding', 'gzip');
    ctx.body = file.gzipped;
  } else {
    ctx.body = file.body;
  }
  ctx.status = 200;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
