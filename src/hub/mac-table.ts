/**
 * The switch's forwarding table: which port a source MAC was last seen on.
 *
 * Aging is lazy: nothing runs in the background. An entry older than `agingMs` is treated as absent
 * when looked up (and removed then), and a full sweep of expired entries runs only when the table is
 * full and someone wants a slot (at most once per `sweepIntervalMs`, so a flood of new MACs against a
 * full table costs O(1) per frame, not O(table)). So there is no timer to own or to stop.
 *
 * The size limit is flood protection: once `maxEntries` MACs are live, new ones are not learned and
 * the caller floods their traffic (and counts it) instead of evicting established stations.
 */

export const LearnResult = {
  /** Known MAC on the same port: age refreshed. */
  Refreshed: 0,
  /** New MAC, now in the table. */
  Learned: 1,
  /** Known MAC seen on another port: now points at the new one. */
  Moved: 2,
  /** New MAC, table full: not learned. */
  TableFull: 3,
} as const;
export type LearnResult = (typeof LearnResult)[keyof typeof LearnResult];

interface Entry<P> {
  port: P;
  lastSeen: number;
}

export interface MacTableOptions {
  maxEntries?: number;
  agingMs?: number;
  /** Minimum time between two full sweeps triggered by a full table. */
  sweepIntervalMs?: number;
}

export class MacTable<P> {
  readonly maxEntries: number;
  readonly agingMs: number;
  readonly sweepIntervalMs: number;
  /** Entries removed because they expired (lazily or by a sweep). */
  aged = 0;
  learned = 0;
  moves = 0;
  #entries = new Map<number, Entry<P>>();
  #lastSweep = -Infinity;

  constructor(options: MacTableOptions = {}) {
    this.maxEntries = options.maxEntries ?? 4096;
    this.agingMs = options.agingMs ?? 300_000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 1000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 0) throw new RangeError('maxEntries must be an integer >= 0');
    if (!(this.agingMs > 0)) throw new RangeError('agingMs must be > 0');
  }

  /** Number of entries held, including expired ones not yet removed. */
  get size(): number {
    return this.#entries.size;
  }

  learn(mac: number, port: P, now: number): LearnResult {
    const e = this.#entries.get(mac);
    if (e !== undefined) {
      if (now - e.lastSeen > this.agingMs) {
        // Expired but not yet removed: this is a fresh sighting, not a move.
        e.port = port;
        e.lastSeen = now;
        this.aged++;
        this.learned++;
        return LearnResult.Learned;
      }
      e.lastSeen = now;
      if (e.port === port) return LearnResult.Refreshed;
      e.port = port;
      this.moves++;
      return LearnResult.Moved;
    }
    if (this.#entries.size >= this.maxEntries) {
      if (now - this.#lastSweep < this.sweepIntervalMs || this.sweep(now) === 0) return LearnResult.TableFull;
    }
    this.#entries.set(mac, { port, lastSeen: now });
    this.learned++;
    return LearnResult.Learned;
  }

  /** The port `mac` lives on, or undefined if unknown or expired. */
  lookup(mac: number, now: number): P | undefined {
    const e = this.#entries.get(mac);
    if (e === undefined) return undefined;
    if (now - e.lastSeen > this.agingMs) {
      this.#entries.delete(mac);
      this.aged++;
      return undefined;
    }
    return e.port;
  }

  /** Remove every expired entry; returns how many. */
  sweep(now: number): number {
    this.#lastSweep = now;
    let n = 0;
    // Deleting the current key while iterating a Map is well defined in JS.
    for (const [mac, e] of this.#entries) {
      if (now - e.lastSeen > this.agingMs) {
        this.#entries.delete(mac);
        n++;
      }
    }
    this.aged += n;
    return n;
  }

  /** Remove every entry pointing at `port` (it left the hub); returns how many. */
  forgetPort(port: P): number {
    let n = 0;
    for (const [mac, e] of this.#entries) {
      if (e.port === port) {
        this.#entries.delete(mac);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.#entries.clear();
  }

  /** Live entries (expired ones are swept first). */
  *entries(now: number): IterableIterator<{ mac: number; port: P; ageMs: number }> {
    this.sweep(now);
    for (const [mac, e] of this.#entries) yield { mac, port: e.port, ageMs: now - e.lastSeen };
  }
}
