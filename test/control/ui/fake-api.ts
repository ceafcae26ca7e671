/**
 * A fake sebridge daemon for UI development and the browser test ONLY: serves dist/web with the daemon's
 * strict CSP and answers the admin API contract from memory (auth, CSRF, cascades that go online or fail,
 * bridges, MAC table, health, logs, config). It checks inputs the way the contract says (a refusal names
 * the field) so the UI's error placement is exercised. It never opens a connection anywhere.
 *
 * Standalone: `node test/control/ui/fake-api.ts [port]` (after `node web/build.ts`), then open the URL.
 */
import http from 'node:http';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashPassword } from '../../../src/protocol/password.ts';
import { errorMessage } from '../../../src/protocol/error-codes.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** As strict as the daemon's: nothing inline, nothing from elsewhere (not even data: images). */
export const CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const MAX_BODY = 2 * 1024 * 1024;
const MAX_CALLS = 2000;
const MAX_LOGS = 1000;
const HUB = 'BRIDGE';

/** The remote SoftEther server the fake pretends exists (TestLink / cascades succeed only against it). */
export interface FakeRemote {
  host: string;
  port: number;
  hub: string;
  user: string;
  password: string;
}

export interface FakeOptions {
  port?: number;
  remote?: Partial<FakeRemote>;
  /** Artificial latency for every API call, to make busy states and overlap bugs visible. */
  latencyMs?: number;
  /** How long a cascade stays "connecting" after going online. */
  connectMs?: number;
}

interface Link {
  p: Record<string, unknown>;
  online: boolean;
  state: 'offline' | 'connecting' | 'online' | 'waiting';
  stateSince: number;
  connectAt: number;
  nextAttempt: number;
  reconnects: number;
  /** Forced failure (set by the test through failLink) — SoftEther error code, 0 = none. */
  forcedError: number;
  /** CheckServerCert_bool (absent = true: trust on first use) and the pinned fingerprint (64 hex) or ''. */
  checkCert: boolean;
  pin: string;
  /** Set while refused for the certificate: the fingerprint the server presented (what TrustLinkCert would accept). */
  presented: string;
  lastError: number;
  /** The daemon's own error text when it is not SoftEther's for the code (certificate refusals). */
  lastErrorText: string;
  lastErrorTime: number;
  bytesIn: number;
  bytesOut: number;
}

interface Bridge {
  DeviceName_str: string;
  TapMode_bool: boolean;
  LinuxBridge_str: string;
}

export interface RecordedCall {
  method: string;
  params: Record<string, unknown>;
}

class RpcError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(`Error code ${code}: ${message}`);
    this.code = code;
  }
}
const ERR_INVALID_PARAMETER = 38;
const ERR_OBJECT_NOT_FOUND = 29;
const ERR_OBJECT_EXISTS = 30;
const ERR_ACCESS_DENIED = 52;

function refuse(field: string, why: string): never {
  throw new RpcError(ERR_INVALID_PARAMETER, `${field}: ${why}`);
}

/** errorMessage() says "text (error N): hint"; the API carries the two parts separately. */
function textAndHint(code: number): { text: string; hint: string } {
  const m = errorMessage(code);
  const i = m.indexOf('): ');
  return i < 0 ? { text: m, hint: '' } : { text: m.slice(0, i + 1), hint: m.slice(i + 3) };
}

const NICS = [
  { DeviceName_str: 'eth0', MacAddress_str: '52:54:00:12:34:56', Carrier_bool: true, SpeedMbps_u32: 1000, Mtu_u32: 1500, Addresses_str: '192.168.10.2/24,fe80::5054:ff:fe12:3456/64', Virtual_bool: false },
  { DeviceName_str: 'eth1', MacAddress_str: '52:54:00:ab:cd:ef', Carrier_bool: true, SpeedMbps_u32: 1000, Mtu_u32: 1500, Addresses_str: '', Virtual_bool: false },
  { DeviceName_str: 'eth2', MacAddress_str: '52:54:00:77:88:99', Carrier_bool: false, SpeedMbps_u32: 0, Mtu_u32: 1500, Addresses_str: '', Virtual_bool: false },
  { DeviceName_str: 'br-lan', MacAddress_str: '52:54:00:00:00:01', Carrier_bool: true, SpeedMbps_u32: 0, Mtu_u32: 1500, Addresses_str: '10.0.0.1/24', Virtual_bool: true },
];

export class FakeDaemon {
  readonly remote: FakeRemote;
  readonly calls: RecordedCall[] = [];
  /** Highest number of concurrent in-flight requests seen per method (the poller must never overlap). */
  readonly maxConcurrent = new Map<string, number>();
  password: string | null = null;
  private inflight = new Map<string, number>();
  private sessions = new Map<string, string>(); // sid -> csrf
  private failedLogins = 0;
  private lockedUntil = 0;
  private links = new Map<string, Link>();
  private bridges: Bridge[] = [];
  private logs: Array<{ Time_dt: string; Level_str: string; Message_utf: string; Object_str: string }> = [];
  private healthEvents: Array<Record<string, unknown>> = [];
  private healthSettings = { WebhookUrl_str: '', CpuWarnPercent_u32: 90, MemoryWarnPercent_u32: 90, DiskWarnPercent_u32: 90, TemperatureWarnC_u32: 80 };
  private logSettings = { Level_str: 'info', SyslogHost_str: '', SyslogPort_u32: 514 };
  private readonly started = Date.now();
  private readonly latencyMs: number;
  private readonly connectMs: number;

  /** The SHA-256 of the certificate the pretend server presents now (see rotateServerCert). */
  serverCertSha256: string;
  private certGeneration = 0;

  constructor(opts: FakeOptions = {}) {
    this.serverCertSha256 = createHash('sha256').update('cert of the pretend server #0').digest('hex');
    this.remote = { host: 'vpn.example.com', port: 443, hub: 'CORP', user: 'alice', password: 'correct horse', ...opts.remote };
    this.latencyMs = opts.latencyMs ?? 0;
    this.connectMs = opts.connectMs ?? 1500;
    this.log('info', 'sebridge started', 'daemon');
  }

  private broken = new Set<string>();

  /** Make every call of `method` fail (to exercise the UI's error display), or heal it. */
  breakMethod(method: string, broken: boolean): void {
    if (broken) this.broken.add(method);
    else this.broken.delete(method);
  }

  /** Forget every browser session (as a daemon restart or an expiry would). */
  dropSessions(): void {
    this.sessions.clear();
  }

  /** The fingerprint a cascade trusts (64 hex, '' when none). */
  linkPin(name: string): string {
    const l = this.links.get(name);
    if (!l) throw new Error(`no link ${name}`);
    return l.pin;
  }

  /** The pretend server gets a new certificate: cascades pinned to the old one are refused until it is accepted. */
  rotateServerCert(): string {
    this.certGeneration += 1;
    this.serverCertSha256 = createHash('sha256').update(`cert of the pretend server #${this.certGeneration}`).digest('hex');
    for (const l of this.links.values()) if (l.online && l.state === 'online') this.toConnecting(l);
    return this.serverCertSha256;
  }

  /** Make a cascade fail with a SoftEther error code (0 = heal it). */
  failLink(name: string, code: number): void {
    const l = this.links.get(name);
    if (!l) throw new Error(`no link ${name}`);
    l.forcedError = code;
    if (code && l.online) this.toWaiting(l, name, code);
    if (!code && l.online) this.toConnecting(l);
  }

  private log(level: string, msg: string, obj: string): void {
    this.logs.push({ Time_dt: new Date().toISOString(), Level_str: level, Message_utf: msg, Object_str: obj });
    if (this.logs.length > MAX_LOGS) this.logs.splice(0, this.logs.length - MAX_LOGS);
  }

  private health(code: string, target: string, severity: string, healthy: boolean, text: string): void {
    this.healthEvents.push({ Time_dt: new Date().toISOString(), Code_str: code, Target_str: target, Severity_str: severity, Healthy_bool: healthy, Text_utf: text });
    if (this.healthEvents.length > 200) this.healthEvents.shift();
  }

  private toConnecting(l: Link): void {
    l.state = 'connecting';
    l.stateSince = Date.now();
    l.connectAt = Date.now() + this.connectMs;
  }

  private toWaiting(l: Link, name: string, code: number, text = ''): void {
    l.state = 'waiting';
    l.stateSince = Date.now();
    l.nextAttempt = Date.now() + 30_000;
    l.lastError = code;
    l.lastErrorText = text;
    l.lastErrorTime = Date.now();
    this.log('warn', `cascade login failed: ${text || errorMessage(code)}`, `cascade:${name}`);
    this.health('cascade-down', name, 'high', false, `Cascade ${name} is not connected: ${text || textAndHint(code).text}`);
  }

  /**
   * The daemon's certificate rules, before any password leaves: a pinned fingerprint must match; a plain-text
   * password (AuthType 2) goes only to a server whose certificate is pinned. Null = may log in.
   */
  private certRefusal(checkCert: boolean, pin: string, auth: unknown): { text: string; presented: string } | null {
    const presented = this.serverCertSha256;
    if (checkCert && pin && pin !== presented) {
      return { text: `server certificate changed: trusted SHA-256 ${pin}, the server presented ${presented}; not logging in (if the change is expected, accept the new certificate explicitly)`, presented };
    }
    if (auth === 2 && !(checkCert && pin)) {
      return { text: `refusing to send a plain-text password to a server whose certificate is not verified (SHA-256 ${presented}); trust this fingerprint explicitly`, presented };
    }
    return null;
  }

  /** Advance the simulated cascades to "now". */
  private tick(): void {
    const now = Date.now();
    for (const [name, l] of this.links) {
      if (!l.online) continue;
      if (l.state === 'waiting' && now >= l.nextAttempt) {
        l.reconnects += 1;
        this.toConnecting(l);
      }
      if (l.state === 'connecting' && now >= l.connectAt) {
        const reachable = this.loginError(l.p) !== 1;
        const refusal = reachable && !l.forcedError ? this.certRefusal(l.checkCert, l.pin, l.p.AuthType_u32) : null;
        const code = l.forcedError || this.loginError(l.p);
        l.presented = refusal ? refusal.presented : '';
        // As the real daemon reports it: no server answer (code 1), the refusal's own text.
        if (refusal) this.toWaiting(l, name, 1, `connection to the server failed: ${refusal.text}`);
        else if (code) this.toWaiting(l, name, code);
        else {
          if (l.checkCert && !l.pin) {
            l.pin = this.serverCertSha256;
            this.log('info', `cascade "${name}": server certificate SHA-256 ${l.pin} trusted on first use`, `cascade:${name}`);
          }
          if (l.lastError) this.health('cascade-down', name, 'high', true, `Cascade ${name} is connected again`);
          l.state = 'online';
          l.stateSince = now;
          this.log('info', `cascade online to ${l.p.Hostname_str}:${l.p.Port_u32}`, `cascade:${name}`);
        }
      }
      if (l.state === 'online') {
        l.bytesIn += 180_000;
        l.bytesOut += 60_000;
      }
    }
  }

  /** What the pretend server answers to a login with these settings (0 = welcome). */
  private loginError(p: Record<string, unknown>): number {
    const r = this.remote;
    if (String(p.Hostname_str).toLowerCase() !== r.host || p.Port_u32 !== r.port) return 1;
    if (String(p.HubName_str).toUpperCase() !== r.hub.toUpperCase()) return 8;
    if (p.AuthType_u32 !== 1 && p.AuthType_u32 !== 2) return 9;
    if (String(p.Username_str).toLowerCase() !== r.user.toLowerCase()) return 9;
    if (p.AuthType_u32 === 2) return p.PlainPassword_str === r.password ? 0 : 9;
    const want = hashPassword(r.user, r.password).toString('base64');
    return p.HashedPassword_bin === want ? 0 : 9;
  }

  // ---------------------------------------------------------------- HTTP
  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (url.pathname === '/auth/state' && req.method === 'GET') return this.authState(req, res);
    if (url.pathname === '/auth/login' && req.method === 'POST') return this.login(req, res);
    if (url.pathname === '/auth/logout' && req.method === 'POST') return this.logout(req, res);
    if (url.pathname === '/api/' && req.method === 'POST') return this.api(req, res);
    if (req.method === 'GET') return this.static(url.pathname, res);
    json(res, 405, { error: 'method not allowed' });
  }

  private sid(req: http.IncomingMessage): string | null {
    const m = /(?:^|;\s*)sebridge_sid=([A-Za-z0-9_-]+)/.exec(req.headers.cookie ?? '');
    return m && this.sessions.has(m[1]) ? m[1] : null;
  }

  private authState(req: http.IncomingMessage, res: http.ServerResponse): void {
    const sid = this.sid(req);
    json(res, 200, { setupRequired: this.password === null, loggedIn: sid !== null, ...(sid ? { csrfToken: this.sessions.get(sid) } : {}) });
  }

  private async login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const now = Date.now();
    if (now < this.lockedUntil) {
      res.setHeader('Retry-After', String(Math.ceil((this.lockedUntil - now) / 1000)));
      return json(res, 429, { error: 'too many failed logins', lockedUntil: new Date(this.lockedUntil).toISOString() });
    }
    let body: { password?: unknown };
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return json(res, 400, { error: 'body must be JSON' });
    }
    const pw = typeof body.password === 'string' ? body.password : '';
    if (this.password === null || !sameText(pw, this.password)) {
      this.failedLogins += 1;
      if (this.failedLogins >= 5) {
        this.lockedUntil = now + 30_000;
        this.failedLogins = 0;
      }
      return json(res, 401, { error: 'wrong password', ...(this.lockedUntil > now ? { lockedUntil: new Date(this.lockedUntil).toISOString() } : {}) });
    }
    this.failedLogins = 0;
    const sid = randomBytes(18).toString('base64url');
    const csrf = randomBytes(18).toString('base64url');
    this.sessions.set(sid, csrf);
    res.setHeader('Set-Cookie', `sebridge_sid=${sid}; HttpOnly; SameSite=Strict; Path=/`);
    json(res, 200, { csrfToken: csrf });
  }

  private logout(req: http.IncomingMessage, res: http.ServerResponse): void {
    const sid = this.sid(req);
    if (!sid) return json(res, 401, { error: 'not logged in' });
    if (req.headers['x-csrf-token'] !== this.sessions.get(sid)) return json(res, 403, { error: 'bad CSRF token' });
    this.sessions.delete(sid);
    res.setHeader('Set-Cookie', 'sebridge_sid=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0');
    json(res, 200, {});
  }

  private async static(pathname: string, res: http.ServerResponse): Promise<void> {
    const name = pathname === '/' ? 'index.html' : pathname.slice(1);
    if (!/^[A-Za-z0-9._-]+$/.test(name)) return json(res, 404, { error: 'not found' });
    let data: Buffer;
    try {
      data = await readFile(path.join(ROOT, 'dist', 'web', name));
    } catch {
      return json(res, 404, { error: 'not found' });
    }
    const type = name.endsWith('.html') ? 'text/html; charset=utf-8' : name.endsWith('.js') ? 'text/javascript; charset=utf-8' : name.endsWith('.css') ? 'text/css; charset=utf-8' : name.endsWith('.svg') ? 'image/svg+xml' : 'application/octet-stream';
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Security-Policy': CSP,
      'Cache-Control': /-[A-Z0-9]{8}\.(js|css)$/.test(name) ? 'public, max-age=31536000, immutable' : 'no-store',
    });
    res.end(data);
  }

  private async api(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let rpc: { id?: unknown; method?: unknown; params?: unknown };
    try {
      rpc = JSON.parse(await readBody(req));
    } catch {
      return json(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } });
    }
    const method = typeof rpc.method === 'string' ? rpc.method : '';
    const params = (rpc.params && typeof rpc.params === 'object' ? rpc.params : {}) as Record<string, unknown>;
    const open = method === 'GetSetupState' || (this.password === null && method === 'SetServerPassword');
    if (!open) {
      if (this.password === null) return json(res, 200, { jsonrpc: '2.0', id: rpc.id, error: { code: ERR_ACCESS_DENIED, message: `Error code ${ERR_ACCESS_DENIED}: set the admin password first` } });
      const sid = this.sid(req);
      if (!sid) {
        // Like the real daemon (and the stock server): an HTML page, not JSON.
        res.writeHead(401, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
        res.end('<!DOCTYPE html><html><head><title>401 Unauthorized</title></head><body><h1>Unauthorized</h1></body></html>\n');
        return;
      }
      if (req.headers['x-csrf-token'] !== this.sessions.get(sid)) return json(res, 403, { jsonrpc: '2.0', id: rpc.id, error: { code: ERR_ACCESS_DENIED, message: `Error code ${ERR_ACCESS_DENIED}: bad CSRF token` } });
    }
    this.calls.push({ method, params });
    if (this.calls.length > MAX_CALLS) this.calls.shift();
    const n = (this.inflight.get(method) ?? 0) + 1;
    this.inflight.set(method, n);
    this.maxConcurrent.set(method, Math.max(n, this.maxConcurrent.get(method) ?? 0));
    try {
      if (this.latencyMs) await sleep(this.latencyMs);
      this.tick();
      if (this.broken.has(method)) throw new RpcError(1, `${method} is broken (test fault injection)`);
      const result = await this.dispatch(method, params);
      json(res, 200, { jsonrpc: '2.0', id: rpc.id, result });
    } catch (err) {
      const code = err instanceof RpcError ? err.code : 1;
      json(res, 200, { jsonrpc: '2.0', id: rpc.id, error: { code, message: err instanceof Error ? err.message : String(err) } });
    } finally {
      this.inflight.set(method, (this.inflight.get(method) ?? 1) - 1);
    }
  }

  // ---------------------------------------------------------------- API methods
  private async dispatch(method: string, p: Record<string, unknown>): Promise<unknown> {
    switch (method) {
      case 'GetSetupState':
        return { AdminPasswordSet_bool: this.password !== null, Version_str: '0.1.0-fake', Hostname_str: 'sebridge-lab', WebCertSha256_str: createHash('sha256').update('fake web cert').digest('hex') };
      case 'SetServerPassword': {
        const pw = str(p, 'PlainTextPassword_str');
        const len = [...pw].length;
        if (len < 8 || len > 255) refuse('PlainTextPassword_str', 'the password must have 8 to 255 characters');
        this.password = pw;
        this.log('info', 'admin password changed', 'auth');
        return {};
      }
      case 'TestLink': {
        const lp = this.checkLink(p, false);
        const { checkCert, pin } = this.certParams(p, null);
        await sleep(300);
        const code = this.loginError(lp);
        const refusal = code === 1 ? null : this.certRefusal(checkCert, pin, lp.AuthType_u32);
        if (refusal) {
          const { text, hint } = textAndHint(85);
          return { ...this.serverInfo(lp), Success_bool: false, Error_u32: 85, ErrorText_utf: `${text} (${refusal.text})`, ErrorHint_utf: hint, ServerProductName_str: '', ServerVersion_u32: 0, ServerBuild_u32: 0, GrantedConnections_u32: 0 };
        }
        if (code) {
          const { text, hint } = textAndHint(code);
          return { Success_bool: false, Error_u32: code, ErrorText_utf: text, ErrorHint_utf: hint, ServerProductName_str: '', ServerVersion_u32: 0, ServerBuild_u32: 0, GrantedConnections_u32: 0, ServerCertSha256_str: '', CipherName_str: '', TlsVersion_str: '' };
        }
        return { Success_bool: true, Error_u32: 0, ErrorText_utf: '', ErrorHint_utf: '', ...this.serverInfo(lp) };
      }
      case 'CreateLink': {
        const lp = this.checkLink(p, true);
        const name = lp.AccountName_utf as string;
        if (this.links.has(name)) throw new RpcError(ERR_OBJECT_EXISTS, `AccountName_utf: a cascade named "${name}" already exists`);
        const { checkCert, pin } = this.certParams(p, null);
        this.links.set(name, { p: lp, online: false, state: 'offline', stateSince: Date.now(), connectAt: 0, nextAttempt: 0, reconnects: 0, forcedError: 0, checkCert, pin, presented: '', lastError: 0, lastErrorText: '', lastErrorTime: 0, bytesIn: 0, bytesOut: 0 });
        this.log('info', `cascade created`, `cascade:${name}`);
        if (p.Online_bool === true) this.setOnline(name, true);
        return {};
      }
      case 'SetLink': {
        const l = this.link(p.AccountName_utf);
        const merged = { ...p };
        for (const secret of ['HashedPassword_bin', 'PlainPassword_str', 'ClientK_bin', 'ProxyPassword_str']) if (merged[secret] === undefined && l.p[secret] !== undefined) merged[secret] = l.p[secret];
        const lp = this.checkLink(merged, true);
        const cert = this.certParams(p, l);
        l.p = lp;
        l.checkCert = cert.checkCert;
        l.pin = cert.pin;
        if (l.online) this.toConnecting(l);
        return {};
      }
      case 'GetLink': {
        const l = this.link(p.AccountName_utf);
        // Like the daemon: no secrets, and the trusted certificate only as EnumLinkEx's fingerprint.
        const { HashedPassword_bin: _h, PlainPassword_str: _p, ClientK_bin: _k, ProxyPassword_str: _pp, ServerCert_bin: _c, ServerCertSha256_str: _f, ...pub } = l.p;
        return { ...pub, Online_bool: l.online, CheckServerCert_bool: l.checkCert };
      }
      case 'TrustLinkCert': {
        const l = this.link(p.AccountName_utf);
        const fp = str(p, 'ServerCertSha256_str').replace(/:/g, '').toLowerCase();
        if (!/^[0-9a-f]{64}$/.test(fp)) refuse('ServerCertSha256_str', 'must be 64 hex digits (colons allowed)');
        l.pin = fp;
        l.checkCert = true;
        this.log('info', `cascade "${p.AccountName_utf}": server certificate SHA-256 ${fp} accepted`, `cascade:${p.AccountName_utf}`);
        // Applied live: a cascade refused for its certificate logs in again at once.
        if (l.online && l.presented) this.toConnecting(l);
        return { AccountName_utf: p.AccountName_utf, ServerCertSha256_str: fp };
      }
      case 'EnumLink':
        return { LinkList: [...this.links].map(([name, l]) => ({ AccountName_utf: name, Online_bool: l.online, Connected_bool: l.state === 'online', ConnectedTime_dt: iso(l.state === 'online' ? l.stateSince : 0), Hostname_str: l.p.Hostname_str, TargetHubName_str: l.p.HubName_str, LastError_u32: l.lastError, ConnectedHubName_str: HUB })) };
      case 'EnumLinkEx':
        return { LinkList: [...this.links].map(([name, l]) => this.linkEx(name, l)) };
      case 'SetLinkOnline':
        this.hubParam(p, 'HubName_str');
        this.setOnline(str(p, 'AccountName_utf'), true);
        return {};
      case 'SetLinkOffline':
        this.hubParam(p, 'HubName_str');
        this.setOnline(str(p, 'AccountName_utf'), false);
        return {};
      case 'DeleteLink':
        this.hubParam(p, 'HubName_str');
        this.link(p.AccountName_utf);
        this.links.delete(str(p, 'AccountName_utf'));
        return {};
      case 'RenameLink': {
        const l = this.link(p.OldAccountName_utf, 'OldAccountName_utf');
        const to = str(p, 'NewAccountName_utf').trim();
        if (!to) refuse('NewAccountName_utf', 'must not be empty');
        if (this.links.has(to)) throw new RpcError(ERR_OBJECT_EXISTS, `NewAccountName_utf: a cascade named "${to}" already exists`);
        this.links.delete(str(p, 'OldAccountName_utf'));
        l.p.AccountName_utf = to;
        this.links.set(to, l);
        return {};
      }
      case 'ReconnectLink': {
        const l = this.link(p.AccountName_utf);
        if (!l.online) refuse('AccountName_utf', 'the cascade is offline');
        l.reconnects += 1;
        this.toConnecting(l);
        return {};
      }
      case 'GetTrafficHistory': {
        const l = this.link(p.AccountName_utf);
        const now = Math.floor(Date.now() / 5000) * 5000;
        const PointList = [];
        for (let i = 59; i >= 0; i--) {
          const t = now - i * 5000;
          const up = l.state === 'online' && t >= l.stateSince - 5000;
          const wave = 1 + 0.5 * Math.sin(t / 40_000) + 0.2 * Math.sin(t / 7000);
          PointList.push({ Time_dt: iso(t), BytesInPerSec_u64: up ? Math.round(900_000 * wave) : 0, BytesOutPerSec_u64: up ? Math.round(300_000 * (2 - wave)) : 0 });
        }
        return { Interval_u32: 5, PointList };
      }
      case 'EnumEthernetEx':
        return { EthList: NICS.map((n) => ({ ...n, InUse_bool: this.bridges.some((b) => b.DeviceName_str === n.DeviceName_str) })) };
      case 'EnumEthernet':
        return { EthList: NICS.map((n) => ({ DeviceName_str: n.DeviceName_str, NetworkConnectionName_utf: n.DeviceName_str })) };
      case 'AddLocalBridge': {
        const dev = str(p, 'DeviceName_str');
        if (p.HubNameLB_str !== HUB) refuse('HubNameLB_str', `the hub is "${HUB}"`);
        const tap = p.TapMode_bool === true;
        if (!tap && !NICS.some((n) => n.DeviceName_str === dev)) refuse('DeviceName_str', `no network device "${dev}"`);
        if (tap && !/^[A-Za-z0-9_.-]{1,15}$/.test(dev)) refuse('DeviceName_str', 'not a valid interface name');
        if (this.bridges.some((b) => b.DeviceName_str === dev)) throw new RpcError(ERR_OBJECT_EXISTS, `DeviceName_str: ${dev} is already bridged`);
        this.bridges.push({ DeviceName_str: dev, TapMode_bool: tap, LinuxBridge_str: tap ? str(p, 'LinuxBridge_str', true) : '' });
        this.log('info', `local bridge added (${tap ? 'tap' : 'raw'})`, `bridge:${dev}`);
        return {};
      }
      case 'DeleteLocalBridge': {
        const dev = str(p, 'DeviceName_str');
        const i = this.bridges.findIndex((b) => b.DeviceName_str === dev);
        if (i < 0) throw new RpcError(ERR_OBJECT_NOT_FOUND, `DeviceName_str: no bridge on ${dev}`);
        this.bridges.splice(i, 1);
        return {};
      }
      case 'EnumLocalBridge':
        return { LocalBridgeList: this.bridges.map((b) => ({ DeviceName_str: b.DeviceName_str, HubNameLB_str: HUB, Online_bool: true, Active_bool: true, TapMode_bool: b.TapMode_bool })) };
      case 'EnumLocalBridgeEx':
        return { LocalBridgeList: this.bridges.map((b) => this.bridgeEx(b)) };
      case 'EnumMacTable':
        this.hubParam(p, 'HubName_str');
        return {
          MacTable: this.macRows().map((r, i) => ({
            Key_u32: i + 1, SessionName_str: r.SessionName_str, MacAddress_bin: Buffer.from(r.MacAddress_str.split(':').map((x) => parseInt(x, 16))).toString('base64'),
            CreatedTime_dt: iso(Date.now() - r.AgeSec_u32 * 1000), UpdatedTime_dt: iso(Date.now() - r.AgeSec_u32 * 1000), RemoteItem_bool: false, RemoteHostname_str: 'sebridge-lab', VlanId_u32: r.VlanId_u32,
          })),
        };
      case 'EnumMacTableEx':
        return { MacTable: this.macRows() };
      case 'GetSystemStatus':
        return {
          Version_str: '0.1.0-fake', Hostname_str: 'sebridge-lab', CpuPercent_u32: 7, MemTotal_u64: 1024 ** 3, MemUsed_u64: 312 * 1024 ** 2,
          TemperatureC_u32: 48, HasTemperature_bool: true, SystemUptime_u64: 86400 * 3 + 3600 * 5, ProcessUptime_u64: Math.floor((Date.now() - this.started) / 1000),
          ProcessRss_u64: 41 * 1024 ** 2, EventLoopDelayP99Us_u32: 1800, DiskTotal_u64: 8 * 1024 ** 3, DiskUsed_u64: 2.2 * 1024 ** 3, ConfigWarnings_utf: '',
        };
      case 'GetFirmwareInfo':
        // Like the daemon on a developer's PC: no boot slots, so the Firmware page shows why it cannot upgrade.
        return {
          Version_str: '0.1.0-fake', Arch_str: 'x86_64', Kernel_str: '6.1.0-fake', HasSlots_bool: false,
          NoSlotsReason_utf: 'this system has no firmware slots (it was not started from a sebridge image: no boot slot information)',
          Slot_str: '', SlotDevice_str: '', ActiveSlot_str: '', Trial_bool: false, TrialConfirmed_bool: false, PendingSlot_str: '',
          OtherSlot_str: '', OtherDevice_str: '', OtherVersion_str: '', OtherKernel_str: '', OtherCreated_str: '', OtherSha256_str: '',
          OtherWritten_dt: '1970-01-01T09:00:00.000Z', KeyList: [], KeyProblems_utf: '', UploadPath_str: '/firmware/upload',
          MaxUploadBytes_u64: 0, UploadPhase_str: 'idle', UploadReceived_u64: 0, UploadTotal_u64: 0, UploadWritten_u64: 0,
          UploadRootfsSize_u64: 0, UploadTargetSlot_str: '', UploadVersion_str: '', UploadKernel_str: '', UploadArch_str: '',
          UploadCreated_str: '', UploadSha256_str: '', UploadSignedBy_str: '', UploadDowngrade_bool: false,
          UploadStarted_dt: '1970-01-01T09:00:00.000Z', UploadFinished_dt: '1970-01-01T09:00:00.000Z', UploadReason_str: '', UploadError_utf: '',
        };
      case 'GetHealth': {
        const WarningList = [];
        for (const [name, l] of this.links) {
          if (l.online && l.state === 'waiting') {
            WarningList.push({ Code_str: 'cascade-down', Target_str: name, Severity_str: 'high', Title_utf: `Cascade ${name} is not connected`, Text_utf: `${textAndHint(l.lastError).text}. ${textAndHint(l.lastError).hint}`, BrokenSince_dt: iso(l.stateSince), ImpactsConnectivity_bool: true });
          }
        }
        if (this.bridges.length === 0) WarningList.push({ Code_str: 'no-bridge', Target_str: '', Severity_str: 'medium', Title_utf: 'No local bridge', Text_utf: 'No network port is bridged into the hub, so the LAN is not connected.', BrokenSince_dt: iso(this.started), ImpactsConnectivity_bool: true });
        return { WarningList };
      }
      case 'GetHealthHistory':
        return { EventList: this.healthEvents };
      case 'GetHealthResourceHistory': {
        // Ten readings 30 s apart ending now; the CPU climbs past the default 90 % threshold at the end.
        const now = Date.now();
        const PointList = Array.from({ length: 10 }, (_, i) => ({
          Time_dt: new Date(now - (9 - i) * 30_000).toISOString(), CpuPercent_u32: 10 + i * 10, MemoryPercent_u32: 42,
          DiskPercent_u32: 7, TemperatureKnown_bool: true, TemperatureC_u32: 48 + i,
        }));
        return { Interval_u32: 30, PointList };
      }
      case 'GetHealthSettings':
        return { ...this.healthSettings };
      case 'SetHealthSettings': {
        const url = str(p, 'WebhookUrl_str', true);
        if (url && !/^https?:\/\//.test(url)) refuse('WebhookUrl_str', 'must be an http:// or https:// URL');
        for (const k of ['CpuWarnPercent_u32', 'MemoryWarnPercent_u32', 'DiskWarnPercent_u32'] as const) num(p, k, 1, 100);
        num(p, 'TemperatureWarnC_u32', 1, 150);
        this.healthSettings = { WebhookUrl_str: url, CpuWarnPercent_u32: p.CpuWarnPercent_u32 as number, MemoryWarnPercent_u32: p.MemoryWarnPercent_u32 as number, DiskWarnPercent_u32: p.DiskWarnPercent_u32 as number, TemperatureWarnC_u32: p.TemperatureWarnC_u32 as number };
        return {};
      }
      case 'GetLogs': {
        const order = ['debug', 'info', 'warn', 'error'];
        const min = order.indexOf(str(p, 'MinLevel_str', true) || 'debug');
        if (min < 0) refuse('MinLevel_str', 'must be debug, info, warn or error');
        const f = str(p, 'Filter_utf', true).toLowerCase();
        const max = typeof p.Max_u32 === 'number' ? Math.min(p.Max_u32, 1000) : 100;
        const LogList = this.logs.filter((l) => order.indexOf(l.Level_str) >= min && (!f || l.Message_utf.toLowerCase().includes(f) || l.Object_str.toLowerCase().includes(f)));
        return { LogList: LogList.slice(-max) };
      }
      case 'GetLogSettings':
        return { ...this.logSettings };
      case 'SetLogSettings': {
        if (!['debug', 'info', 'warn', 'error'].includes(str(p, 'Level_str'))) refuse('Level_str', 'must be debug, info, warn or error');
        this.logSettings = { Level_str: str(p, 'Level_str'), SyslogHost_str: str(p, 'SyslogHost_str', true), SyslogPort_u32: num(p, 'SyslogPort_u32', 1, 65535) };
        return {};
      }
      case 'GetConfig': {
        const secrets = p.IncludeSecrets_bool === true;
        const cascades = [...this.links.values()].map((l) => {
          if (secrets) return { ...l.p, Online_bool: l.online };
          const { HashedPassword_bin: _h, PlainPassword_str: _p, ClientK_bin: _k, ProxyPassword_str: _pp, ...pub } = l.p;
          return { ...pub, Online_bool: l.online };
        });
        return { Config_utf: JSON.stringify({ version: 1, cascades, bridges: this.bridges, health: this.healthSettings, log: this.logSettings }, null, 2) };
      }
      case 'SetConfig': {
        let doc: { version?: unknown; cascades?: unknown; bridges?: unknown };
        try {
          doc = JSON.parse(str(p, 'Config_utf'));
        } catch (err) {
          return refuse('Config_utf', `not JSON (${err instanceof Error ? err.message : String(err)})`);
        }
        if (doc.version !== 1) refuse('version', 'must be 1');
        if (!Array.isArray(doc.cascades)) refuse('cascades', 'must be an array');
        (doc.cascades as Record<string, unknown>[]).forEach((c, i) => {
          for (const k of ['AccountName_utf', 'Hostname_str', 'HubName_str']) {
            if (typeof c[k] !== 'string' || !(c[k] as string).trim()) refuse(`cascades[${i}].${k}`, 'must be a non-empty string');
          }
        });
        this.log('info', 'configuration imported', 'config');
        return {};
      }
      case 'RebootServer':
        for (const l of this.links.values()) if (l.online) this.toConnecting(l);
        this.log('warn', 'services restarting on admin request', 'daemon');
        return {};
      case 'Test':
        return { IntValue_u32: p.IntValue_u32 ?? 0 };
      default:
        throw new RpcError(ERR_INVALID_PARAMETER, `unknown method ${method}`);
    }
  }

  /** The hub's learned addresses: odd rows on the first online cascade, even rows on the first local bridge. */
  private macRows(): Array<{ MacAddress_str: string; Port_str: string; PortKind_str: string; SessionName_str: string; VlanId_u32: number; AgeSec_u32: number }> {
    const online = [...this.links].filter(([, l]) => l.state === 'online');
    const local = this.bridges[0]?.DeviceName_str;
    const rows = [];
    for (let i = 0; i < 14; i++) {
      const remote = i % 2 === 1 && online.length > 0;
      if (!remote && !local) continue;
      rows.push({
        MacAddress_str: [0x02, 0x00, 0x5e, 0x10, 0x00, 0x20 + i].map((b) => b.toString(16).padStart(2, '0')).join(':'),
        Port_str: remote ? online[0][0] : local!,
        PortKind_str: remote ? 'cascade' : 'local',
        // The stock names, from one counter as on the daemon: cascades first, then the bridges.
        SessionName_str: remote ? 'SID-LINK-1' : `SID-LOCALBRIDGE-${online.length + 1}`,
        VlanId_u32: i % 5 === 0 ? 20 : 0,
        AgeSec_u32: i * 7,
      });
    }
    return rows;
  }

  /** CheckServerCert_bool (absent = keep, or true for a new cascade) and the pin from ServerCertSha256_str / ServerCert_bin. */
  private certParams(p: Record<string, unknown>, existing: Link | null): { checkCert: boolean; pin: string } {
    const checkCert = typeof p.CheckServerCert_bool === 'boolean' ? p.CheckServerCert_bool : (existing?.checkCert ?? true);
    let pin = existing?.pin ?? '';
    if (typeof p.ServerCert_bin === 'string' && p.ServerCert_bin) pin = createHash('sha256').update(Buffer.from(p.ServerCert_bin, 'base64')).digest('hex');
    if (p.ServerCertSha256_str !== undefined) {
      const fp = str(p, 'ServerCertSha256_str').replace(/:/g, '').toLowerCase();
      if (fp && !/^[0-9a-f]{64}$/.test(fp)) refuse('ServerCertSha256_str', 'must be 64 hex digits (colons allowed)');
      pin = fp;
    }
    return { checkCert, pin };
  }

  private serverInfo(p: Record<string, unknown>): Record<string, unknown> {
    return {
      ServerProductName_str: 'SoftEther VPN Server (64 bit)',
      ServerVersion_u32: 501,
      ServerBuild_u32: 9674,
      GrantedConnections_u32: Math.min(p.MaxConnection_u32 as number, 8),
      // In the daemon's notation for a live connection (colon pairs); the API's own fields are bare hex.
      ServerCertSha256_str: this.serverCertSha256.toUpperCase().replace(/(..)(?!$)/g, '$1:'),
      CipherName_str: 'ECDHE-RSA-AES256-GCM-SHA384',
      TlsVersion_str: 'TLSv1.3',
    };
  }

  private linkEx(name: string, l: Link): Record<string, unknown> {
    const online = l.state === 'online';
    const granted = online ? Math.min(l.p.MaxConnection_u32 as number, 8) : 0;
    const err = l.lastError ? textAndHint(l.lastError) : { text: '', hint: '' };
    if (l.lastErrorText) err.text = l.lastErrorText;
    const info = online ? this.serverInfo(l.p) : { ServerProductName_str: '', ServerVersion_u32: 0, ServerBuild_u32: 0, ServerCertSha256_str: '', CipherName_str: '', TlsVersion_str: '' };
    const half = l.p.HalfConnection_bool === true;
    return {
      AccountName_utf: name, Online_bool: l.online, State_str: l.state,
      Hostname_str: l.p.Hostname_str, Port_u32: l.p.Port_u32, TargetHubName_str: l.p.HubName_str, Username_str: l.p.Username_str,
      ConnectedSince_dt: iso(online ? l.stateSince : 0), NextAttempt_dt: iso(l.state === 'waiting' ? l.nextAttempt : 0),
      Reconnects_u32: l.reconnects, Connections_u32: granted, ConnectionsUp_u32: half ? Math.floor(granted / 2) : 0, ConnectionsDown_u32: half ? Math.ceil(granted / 2) : 0,
      MaxConnection_u32: l.p.MaxConnection_u32, GrantedConnections_u32: granted, HalfConnection_bool: half,
      UseEncrypt_bool: l.p.UseEncrypt_bool, UseCompress_bool: l.p.UseCompress_bool, ...info,
      PinnedCertSha256_str: l.checkCert ? l.pin : '', CertCheck_str: l.checkCert ? (l.pin ? 'pinned' : 'first-use') : 'off', PresentedCertSha256_str: l.presented,
      LastError_u32: l.lastError, LastErrorText_utf: err.text, LastErrorHint_utf: err.hint, LastErrorTime_dt: iso(l.lastErrorTime),
      FramesIn_u64: Math.floor(l.bytesIn / 600), FramesOut_u64: Math.floor(l.bytesOut / 400), BytesIn_u64: l.bytesIn, BytesOut_u64: l.bytesOut, Drops_u64: online ? 3 : 0,
      RateIn_u64: online ? 912_000 : 0, RateOut_u64: online ? 287_500 : 0,
    };
  }

  private bridgeEx(b: Bridge): Record<string, unknown> {
    const nic = NICS.find((n) => n.DeviceName_str === b.DeviceName_str);
    return {
      DeviceName_str: b.DeviceName_str, InterfaceName_str: b.DeviceName_str, TapMode_bool: b.TapMode_bool, LinuxBridge_str: b.LinuxBridge_str,
      Active_bool: true, Online_bool: true, Present_bool: true, Carrier_bool: nic?.Carrier_bool ?? true, SpeedMbps_u32: nic?.SpeedMbps_u32 ?? 10000,
      MacAddress_str: nic?.MacAddress_str ?? '02:00:00:00:00:aa', FramesIn_u64: 123_456, FramesOut_u64: 98_765, BytesIn_u64: 81_234_567, BytesOut_u64: 45_678_901,
      DropList: [{ Reason_str: 'rxDropAqm', Count_u64: 2 }, { Reason_str: 'rxDropOversize', Count_u64: 1 }, { Reason_str: 'txDropQueueFull', Count_u64: 0 }], LastError_utf: '',
    };
  }

  private setOnline(name: string, on: boolean): void {
    const l = this.link(name);
    l.online = on;
    if (on) this.toConnecting(l);
    else {
      l.state = 'offline';
      l.stateSince = Date.now();
      l.presented = '';
    }
  }

  private link(name: unknown, field = 'AccountName_utf'): Link {
    const l = typeof name === 'string' ? this.links.get(name) : undefined;
    if (!l) throw new RpcError(ERR_OBJECT_NOT_FOUND, `${field}: no cascade named "${String(name)}"`);
    return l;
  }

  private hubParam(p: Record<string, unknown>, field: string): void {
    if (p[field] !== HUB) refuse(field, `the hub of this appliance is "${HUB}"`);
  }

  /** CreateLink/SetLink/TestLink validation, as the contract asks: each refusal names its field. */
  private checkLink(p: Record<string, unknown>, store: boolean): Record<string, unknown> {
    if (store) this.hubParam(p, 'HubName_Ex_str');
    const name = str(p, 'AccountName_utf').trim();
    if (store && !name) refuse('AccountName_utf', 'must not be empty');
    if (/[\\/]/.test(name)) refuse('AccountName_utf', 'must not contain "/" or "\\"');
    if (!str(p, 'Hostname_str').trim()) refuse('Hostname_str', 'must not be empty');
    num(p, 'Port_u32', 1, 65535);
    if (!str(p, 'HubName_str').trim()) refuse('HubName_str', 'must not be empty');
    const auth = num(p, 'AuthType_u32', 0, 3);
    if (auth === 1) {
      if (p.PlainPassword_str) refuse('PlainPassword_str', 'must not be sent with AuthType 1');
      const h = str(p, 'HashedPassword_bin');
      if (Buffer.from(h, 'base64').length !== 20) refuse('HashedPassword_bin', 'must be 20 bytes (SHA-0)');
    }
    num(p, 'MaxConnection_u32', 1, 32);
    if (p.HalfConnection_bool === true && (p.MaxConnection_u32 as number) < 2) refuse('HalfConnection_bool', 'needs MaxConnection_u32 of at least 2');
    return { ...p, AccountName_utf: name };
  }
}

function str(p: Record<string, unknown>, k: string, optional = false): string {
  const v = p[k];
  if (v === undefined && optional) return '';
  if (typeof v !== 'string') refuse(k, 'must be a string');
  return v;
}

function num(p: Record<string, unknown>, k: string, min: number, max: number): number {
  const v = p[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) refuse(k, `must be an integer from ${min} to ${max}`);
  return v;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function sameText(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export interface FakeServer {
  url: string;
  daemon: FakeDaemon;
  close(): Promise<void>;
}

/** Start the fake on 127.0.0.1 (loopback only). */
export async function startFakeApi(opts: FakeOptions = {}): Promise<FakeServer> {
  const daemon = new FakeDaemon(opts);
  const server = http.createServer((req, res) => {
    daemon.handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${addr.port}/`,
    daemon,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? 8080);
  const s = await startFakeApi({ port });
  console.log(`fake sebridge daemon at ${s.url} (remote server: ${JSON.stringify(s.daemon.remote)})`);
}
