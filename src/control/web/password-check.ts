import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Admin password checks for the web server, in front of the (slow, scrypt-based) `verifyAdminPassword`:
 *
 * - A successful check is remembered for `cacheTtlMs` as HMAC-SHA256(password) under a key made at random for
 *   this process, so a script calling /api/ in a loop does not pay scrypt per call, and the remembered value is
 *   useless outside this process. Lookups compare against every entry with timingSafeEqual (at most
 *   `maxCached`). Wrong passwords are never cached (each wrong guess costs the guesser a full check and counts
 *   towards the lock-out).
 * - At most `maxConcurrent` checks run at once (each scrypt takes 16 MiB and a thread-pool thread, which file
 *   I/O also needs); up to `maxQueued` wait; beyond that a check is refused as busy.
 * - `forget()` drops the cache (the password changed).
 */
export type PasswordCheckOptions = {
  verify: (pw: string) => Promise<boolean>;
  cacheTtlMs?: number;
  maxCached?: number;
  maxConcurrent?: number;
  maxQueued?: number;
  now?: () => number;
};

export class PasswordCheckBusyError extends Error {
  constructor() {
    super('too many password checks in progress');
    this.name = 'PasswordCheckBusyError';
  }
}

export class PasswordChecker {
  private readonly key = randomBytes(32);
  private cache: { mac: Buffer; expiresAt: number }[] = [];
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private generation = 0;
  private readonly verify: (pw: string) => Promise<boolean>;
  private readonly cacheTtlMs: number;
  private readonly maxCached: number;
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private readonly now: () => number;

  constructor(opts: PasswordCheckOptions) {
    this.verify = opts.verify;
    this.cacheTtlMs = opts.cacheTtlMs ?? 5 * 60_000;
    this.maxCached = opts.maxCached ?? 4;
    this.maxConcurrent = opts.maxConcurrent ?? 2;
    this.maxQueued = opts.maxQueued ?? 32;
    this.now = opts.now ?? Date.now;
  }

  /** True when the cache alone says the password is right (no scrypt needed). */
  isCached(pw: string): boolean {
    const mac = this.mac(pw);
    const t = this.now();
    this.cache = this.cache.filter((e) => e.expiresAt > t);
    let hit = false;
    for (const e of this.cache) if (timingSafeEqual(e.mac, mac)) hit = true; // no early exit: constant time
    return hit;
  }

  /** Check `pw`; throws PasswordCheckBusyError when too many checks are queued. */
  async check(pw: string): Promise<boolean> {
    if (this.isCached(pw)) return true;
    const generation = this.generation;
    await this.acquire();
    let ok: boolean;
    try {
      ok = (await this.verify(pw)) === true;
    } finally {
      this.release();
    }
    // A check that started before forget() must not re-populate the cache with a possibly old password.
    if (ok && generation === this.generation) this.remember(pw);
    return ok;
  }

  forget(): void {
    this.generation++;
    this.cache = [];
  }

  private remember(pw: string): void {
    const mac = this.mac(pw);
    this.cache = this.cache.filter((e) => !timingSafeEqual(e.mac, mac));
    this.cache.push({ mac, expiresAt: this.now() + this.cacheTtlMs });
    while (this.cache.length > this.maxCached) this.cache.shift();
  }

  private mac(pw: string): Buffer {
    return createHmac('sha256', this.key).update(pw, 'utf8').digest();
  }

  private acquire(): Promise<void> {
    if (this.running < this.maxConcurrent) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.maxQueued) return Promise.reject(new PasswordCheckBusyError());
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else this.running--;
  }
}
