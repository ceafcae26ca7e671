import { randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Browser login sessions, in memory only (a restart logs everybody out, which is fine for an appliance).
 * Each session has a random 32-byte id (the cookie) and its own random CSRF token, which the page must echo in
 * the X-CSRF-Token header of every state-changing request. Bounded: at most `maxSessions`; creating one more
 * evicts the least recently used. Expiry is lazy (checked on lookup, swept on create), so there is no timer.
 */
export type Session = {
  readonly id: string;
  readonly csrfToken: string;
  readonly address: string;
  readonly createdAt: number;
  lastSeenAt: number;
};

export type SessionStoreOptions = {
  maxSessions?: number;
  /** Absolute lifetime from login (ms). */
  absoluteTtlMs?: number;
  /** A session not used for this long ends (ms). */
  idleTtlMs?: number;
  now?: () => number;
};

export const SESSION_DEFAULTS = {
  maxSessions: 64,
  absoluteTtlMs: 12 * 3600_000,
  idleTtlMs: 30 * 60_000,
} as const;

const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/; // base64url of 32 bytes

export class SessionStore {
  readonly maxSessions: number;
  readonly absoluteTtlMs: number;
  readonly idleTtlMs: number;
  private readonly now: () => number;
  // Map order = least recently used first (an entry is re-inserted when used).
  private readonly byId = new Map<string, Session>();

  constructor(opts: SessionStoreOptions = {}) {
    this.maxSessions = opts.maxSessions ?? SESSION_DEFAULTS.maxSessions;
    this.absoluteTtlMs = opts.absoluteTtlMs ?? SESSION_DEFAULTS.absoluteTtlMs;
    this.idleTtlMs = opts.idleTtlMs ?? SESSION_DEFAULTS.idleTtlMs;
    this.now = opts.now ?? Date.now;
    if (!(this.maxSessions >= 1)) throw new RangeError('maxSessions must be at least 1');
  }

  get size(): number {
    return this.byId.size;
  }

  create(address: string): Session {
    this.sweep();
    while (this.byId.size >= this.maxSessions) {
      const oldest = this.byId.keys().next().value as string;
      this.byId.delete(oldest);
    }
    const t = this.now();
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      csrfToken: randomBytes(32).toString('base64url'),
      address,
      createdAt: t,
      lastSeenAt: t,
    };
    this.byId.set(session.id, session);
    return session;
  }

  /** The live session with this id, marked as used now; null when unknown or expired (an expired one is dropped). */
  use(id: string | undefined | null): Session | null {
    const s = this.peek(id);
    if (!s) return null;
    s.lastSeenAt = this.now();
    this.byId.delete(s.id);
    this.byId.set(s.id, s);
    return s;
  }

  /** Like use() but does not extend the idle time. */
  peek(id: string | undefined | null): Session | null {
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) return null;
    const s = this.byId.get(id);
    if (!s) return null;
    if (this.expired(s, this.now())) {
      this.byId.delete(id);
      return null;
    }
    return s;
  }

  /** When this session ends at the latest if it is not used again (ms epoch). */
  expiresAt(s: Session): number {
    return Math.min(s.createdAt + this.absoluteTtlMs, s.lastSeenAt + this.idleTtlMs);
  }

  delete(id: string): boolean {
    return this.byId.delete(id);
  }

  /** End every session except `keepId` (e.g. after the admin password changed). */
  clear(keepId?: string): void {
    for (const id of [...this.byId.keys()]) if (id !== keepId) this.byId.delete(id);
  }

  private expired(s: Session, t: number): boolean {
    return t >= s.createdAt + this.absoluteTtlMs || t >= s.lastSeenAt + this.idleTtlMs;
  }

  private sweep(): void {
    const t = this.now();
    for (const s of [...this.byId.values()]) if (this.expired(s, t)) this.byId.delete(s.id);
  }
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfTokenMatches(session: Session, presented: string | undefined | null): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(session.csrfToken);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
