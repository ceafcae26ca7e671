/**
 * How often a firmware upload may start: at most `max` starts in any `windowMs` (for the whole server: there is
 * one slot to write, whoever sends). Refused starts are not counted. Bounded: it remembers at most `max` times.
 */
export class UploadStartLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #starts: number[] = [];

  constructor(o: { max?: number; windowMs?: number; now?: () => number } = {}) {
    this.#max = o.max ?? 10;
    this.#windowMs = o.windowMs ?? 10 * 60_000;
    this.#now = o.now ?? Date.now;
  }

  /** Records a start and returns null, or returns the ms until one is allowed again. */
  tryStart(): number | null {
    const now = this.#now();
    this.#starts = this.#starts.filter((t) => now - t < this.#windowMs);
    if (this.#starts.length >= this.#max) return this.#starts[0]! + this.#windowMs - now;
    this.#starts.push(now);
    return null;
  }
}
