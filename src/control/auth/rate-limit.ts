/**
 * Failed-login tracking per client address, for the browser login and for wrong admin passwords on /api/.
 *
 * After `maxFailures` failures in a row an address is locked out for `baseLockMs`; every further failure after a
 * lock-out locks it again for twice as long, up to `maxLockMs`. A success forgets the address. Attempts that are
 * still being checked count as failures for the decision, so 100 parallel guesses cannot slip past the limit
 * while the (slow) password hash runs. An address that has been quiet for `forgetAfterMs` after its last lock-out
 * is forgotten. The map is bounded: when full, the entry least recently touched that is not locked goes first.
 */
export type RateLimitOptions = {
  maxFailures?: number;
  baseLockMs?: number;
  maxLockMs?: number;
  maxEntries?: number;
  forgetAfterMs?: number;
  now?: () => number;
};

export const RATE_LIMIT_DEFAULTS = {
  maxFailures: 5,
  baseLockMs: 30_000,
  maxLockMs: 15 * 60_000,
  maxEntries: 1024,
  forgetAfterMs: 24 * 3600_000,
} as const;

type Entry = {
  failures: number; // failures since the last lock-out (or since the start)
  lockouts: number; // how many lock-outs so far (drives the doubling)
  lockedUntil: number; // ms epoch; 0 = not locked
  pending: number; // attempts being checked right now
  touchedAt: number;
};

export type Attempt =
  | {
      allowed: false;
      /** When to try again (ms epoch). */
      lockedUntil: number;
      /** 'locked': lock-out after wrong passwords; 'busy': too many checks from this address already in flight. */
      reason: 'locked' | 'busy';
    }
  | {
      allowed: true;
      /** Report the outcome; returns the lock-out end if this failure locked the address. */
      finish(success: boolean): number | null;
      /** The check did not happen (e.g. the server was too busy): forget the attempt without an outcome. */
      cancel(): void;
    };

export class LoginRateLimiter {
  private readonly opts: Required<Omit<RateLimitOptions, 'now'>>;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();

  constructor(opts: RateLimitOptions = {}) {
    this.opts = {
      maxFailures: opts.maxFailures ?? RATE_LIMIT_DEFAULTS.maxFailures,
      baseLockMs: opts.baseLockMs ?? RATE_LIMIT_DEFAULTS.baseLockMs,
      maxLockMs: opts.maxLockMs ?? RATE_LIMIT_DEFAULTS.maxLockMs,
      maxEntries: opts.maxEntries ?? RATE_LIMIT_DEFAULTS.maxEntries,
      forgetAfterMs: opts.forgetAfterMs ?? RATE_LIMIT_DEFAULTS.forgetAfterMs,
    };
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The end of the current lock-out of `address` (ms epoch), or null when it may try. */
  lockedUntil(address: string): number | null {
    const e = this.live(address);
    return e && e.lockedUntil > this.now() ? e.lockedUntil : null;
  }

  /** Ask to check a password from `address`; when allowed, call finish() with the outcome exactly once. */
  begin(address: string): Attempt {
    const t = this.now();
    const e = this.live(address) ?? this.insert(address, t);
    if (e.lockedUntil > t) return { allowed: false, lockedUntil: e.lockedUntil, reason: 'locked' };
    // After a lock-out one try at a time; before it, up to the remaining allowance (counting those in flight).
    const allowance = e.lockouts > 0 ? 1 : this.opts.maxFailures;
    if (e.failures + e.pending >= allowance) {
      // Too many in flight: refuse without a lock-out of its own (the pending ones decide); retry shortly.
      return { allowed: false, lockedUntil: t + 1000, reason: 'busy' };
    }
    e.pending++;
    e.touchedAt = t;
    let done = false;
    return {
      allowed: true,
      finish: (success: boolean) => {
        if (done) return null;
        done = true;
        e.pending = Math.max(0, e.pending - 1);
        return success ? this.succeed(address, e) : this.fail(e);
      },
      cancel: () => {
        if (done) return;
        done = true;
        e.pending = Math.max(0, e.pending - 1);
      },
    };
  }

  /** Record a failure outside begin()/finish() (e.g. a refused hub name); returns the lock-out end if it locked. */
  recordFailure(address: string): number | null {
    const e = this.live(address) ?? this.insert(address, this.now());
    return this.fail(e);
  }

  private succeed(address: string, e: Entry): null {
    if (this.entries.get(address) === e) this.entries.delete(address);
    return null;
  }

  private fail(e: Entry): number | null {
    const t = this.now();
    e.touchedAt = t;
    e.failures++;
    const allowance = e.lockouts > 0 ? 1 : this.opts.maxFailures;
    if (e.failures < allowance) return null;
    const duration = Math.min(this.opts.baseLockMs * 2 ** e.lockouts, this.opts.maxLockMs);
    e.lockouts++;
    e.failures = 0;
    e.lockedUntil = Math.max(e.lockedUntil, t + duration);
    return e.lockedUntil;
  }

  private live(address: string): Entry | undefined {
    const e = this.entries.get(address);
    if (!e) return undefined;
    const t = this.now();
    if (e.pending === 0 && e.lockedUntil <= t && t - Math.max(e.touchedAt, e.lockedUntil) >= this.opts.forgetAfterMs) {
      this.entries.delete(address);
      return undefined;
    }
    return e;
  }

  private insert(address: string, t: number): Entry {
    if (this.entries.size >= this.opts.maxEntries) this.evictOne(t);
    const e: Entry = { failures: 0, lockouts: 0, lockedUntil: 0, pending: 0, touchedAt: t };
    this.entries.set(address, e);
    return e;
  }

  private evictOne(t: number): void {
    let victim: string | undefined;
    let victimAt = Infinity;
    let fallback: string | undefined;
    let fallbackAt = Infinity;
    for (const [addr, e] of this.entries) {
      if (e.pending > 0) continue;
      if (e.lockedUntil <= t && e.touchedAt < victimAt) {
        victim = addr;
        victimAt = e.touchedAt;
      }
      if (e.touchedAt < fallbackAt) {
        fallback = addr;
        fallbackAt = e.touchedAt;
      }
    }
    const gone = victim ?? fallback ?? this.entries.keys().next().value;
    if (gone !== undefined) this.entries.delete(gone);
  }
}
