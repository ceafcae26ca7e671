/**
 * The daemon's admin API as the browser sees it: JSON-RPC 2.0 at POST /api/ with the session cookie
 * and the X-CSRF-Token header, plus the small /auth/ endpoints. The UI has no other way to the daemon.
 */

/** A refusal or failure. `field` is the API field the message names (e.g. "Hostname_str"), if any. */
export class ApiError extends Error {
  readonly code: number;
  readonly field: string | null;
  readonly status: number;
  readonly retryAfterS: number | null;
  constructor(message: string, code: number, status: number, retryAfterS: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.field = fieldNamed(message);
    this.retryAfterS = retryAfterS;
  }
}

const FIELD_RE = /\b([A-Z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*_(?:str|utf|u32|u64|bool|bin|dt))\b/;

/** The first SoftEther-style field name (`Name_suffix`) in an error text. */
export function fieldNamed(message: string): string | null {
  return FIELD_RE.exec(message)?.[1] ?? null;
}

export interface AuthState {
  setupRequired: boolean;
  loggedIn: boolean;
  csrfToken?: string;
}

const DEFAULT_TIMEOUT_MS = 20_000;
/** TestLink does a real login to the remote server (DNS, TCP, TLS, auth): give it longer. */
const SLOW_METHODS: Record<string, number> = { TestLink: 75_000, GetConfig: 30_000, SetConfig: 30_000 };

export class Api {
  private csrf: string | null = null;
  private seq = 0;
  /** Called when the daemon says the session is gone (HTTP 401 on /api/). */
  onUnauthorized: () => void = () => {};

  async authState(): Promise<AuthState> {
    const res = await this.fetch('/auth/state', { method: 'GET' }, DEFAULT_TIMEOUT_MS);
    if (!res.ok) throw await httpError(res);
    const st = (await res.json()) as AuthState;
    if (st.csrfToken) this.csrf = st.csrfToken;
    return st;
  }

  async login(password: string): Promise<void> {
    const res = await this.fetch(
      '/auth/login',
      { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password }) },
      DEFAULT_TIMEOUT_MS,
    );
    if (!res.ok) throw await httpError(res);
    const body = (await res.json()) as { csrfToken?: string };
    this.csrf = body.csrfToken ?? null;
  }

  async logout(): Promise<void> {
    const res = await this.fetch('/auth/logout', { method: 'POST', headers: this.csrfHeader() }, DEFAULT_TIMEOUT_MS);
    this.csrf = null;
    if (!res.ok && res.status !== 401) throw await httpError(res);
  }

  async call<T = Record<string, unknown>>(method: string, params: object = {}): Promise<T> {
    this.seq += 1;
    const res = await this.fetch(
      '/api/',
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...this.csrfHeader() },
        body: JSON.stringify({ jsonrpc: '2.0', id: this.seq, method, params }),
      },
      SLOW_METHODS[method] ?? DEFAULT_TIMEOUT_MS,
    );
    if (res.status === 401) {
      this.csrf = null;
      this.onUnauthorized();
      throw new ApiError('Your session has ended. Please sign in again.', 401, 401);
    }
    let body: { result?: T; error?: { code: number; message: string } };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw await httpError(res);
    }
    if (body.error) throw new ApiError(body.error.message, body.error.code, res.status);
    if (!res.ok) throw new ApiError(`HTTP ${res.status} from the daemon`, res.status, res.status);
    return (body.result ?? {}) as T;
  }

  /** The session's CSRF header, for requests this client does not make itself (the firmware upload). */
  sessionHeaders(): Record<string, string> {
    return this.csrfHeader();
  }

  /** A request made elsewhere got 401: the session is gone. */
  sessionEnded(): void {
    this.csrf = null;
    this.onUnauthorized();
  }

  private csrfHeader(): Record<string, string> {
    return this.csrf ? { 'X-CSRF-Token': this.csrf } : {};
  }

  private async fetch(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    try {
      return await fetch(url, { ...init, credentials: 'same-origin', cache: 'no-store', signal: ctl.signal });
    } catch (err) {
      if (ctl.signal.aborted) throw new ApiError(`The appliance did not answer within ${Math.round(timeoutMs / 1000)} s`, 0, 0);
      throw new ApiError(`Cannot reach the appliance: ${err instanceof Error ? err.message : String(err)}`, 0, 0);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function httpError(res: Response): Promise<ApiError> {
  let text = `HTTP ${res.status}`;
  let lockedUntil: string | undefined;
  try {
    const body = (await res.json()) as { error?: string | { message?: string }; lockedUntil?: string };
    if (typeof body.error === 'string') text = body.error;
    else if (body.error?.message) text = body.error.message;
    lockedUntil = body.lockedUntil;
  } catch {
    /* not JSON: keep the status text */
  }
  let retry: number | null = null;
  const ra = res.headers.get('Retry-After');
  if (ra && /^\d+$/.test(ra)) retry = Number(ra);
  else if (lockedUntil) {
    const ms = Date.parse(lockedUntil) - Date.now();
    if (Number.isFinite(ms) && ms > 0) retry = Math.ceil(ms / 1000);
  }
  return new ApiError(text, res.status, res.status, retry);
}
