import { randomInt } from 'node:crypto';

/**
 * The switch's forwarding table: which port a source MAC was last seen on.
 *
 * Storage is an open-addressing hash table (linear probing, kept at most half full) in typed arrays,
 * keyed by the MAC's two 24-bit halves: a lookup allocates nothing. The hash is seeded at random per
 * table so that a sender cannot pick MACs that all collide into one long probe chain.
 *
 * Aging is lazy: nothing runs in the background. An entry older than `agingMs` is treated as absent
 * when looked up (and removed then), and a full sweep of expired entries runs only when the table is
 * full and someone wants a slot (at most once per `sweepIntervalMs`, so a flood of new MACs against a
 * full table costs O(1) per frame, not O(table)). So there is no timer to own or to stop.
 *
 * The size limit is flood protection: once `maxEntries` MACs are held, new ones are not learned and
 * the caller floods their traffic (and counts it) instead of evicting established stations.
 */

export const LearnResult = {
  /** Known MAC on the same port: age refreshed. */
  Refreshed: 0,
  /** New (or expired) MAC, now in the table. */
  Learned: 1,
  /** Known MAC seen on another port: now points at the new one. */
  Moved: 2,
  /** New MAC, table full: not learned. */
  TableFull: 3,
} as const;
export type LearnResult = (typeof LearnResult)[keyof typeof LearnResult];

export interface MacTableOptions {
  maxEntries?: number;
  agingMs?: number;
  /** Minimum time between two full sweeps triggered by a full table. */
  sweepIntervalMs?: number;
}

const EMPTY = -1;

export class MacTable<P> {
  readonly maxEntries: number;
  readonly agingMs: number;
  readonly sweepIntervalMs: number;
  /** Entries removed because they expired (lazily or by a sweep). */
  aged = 0;
  learned = 0;
  moves = 0;
  #size = 0;
  #mask: number;
  #shift: number;
  #seedHi: number;
  #seedLo: number;
  #hi: Int32Array; // EMPTY marks a free slot (real halves are 0..2^24-1)
  #lo: Int32Array;
  #seen: Float64Array;
  #port: (P | undefined)[];
  #lastSweep = -Infinity;

  constructor(options: MacTableOptions = {}) {
    this.maxEntries = options.maxEntries ?? 4096;
    this.agingMs = options.agingMs ?? 300_000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 1000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 0 || this.maxEntries > 1 << 24) {
      throw new RangeError('maxEntries must be an integer in [0, 2^24]');
    }
    if (!(this.agingMs > 0)) throw new RangeError('agingMs must be > 0');
    let bits = 4;
    while (1 << bits < 2 * this.maxEntries) bits++;
    const capacity = 1 << bits;
    this.#mask = capacity - 1;
    this.#shift = 32 - bits;
    this.#seedHi = randomInt(1, 2 ** 31) | 1;
    this.#seedLo = randomInt(1, 2 ** 31) | 1;
    this.#hi = new Int32Array(capacity).fill(EMPTY);
    this.#lo = new Int32Array(capacity);
    this.#seen = new Float64Array(capacity);
    this.#port = new Array<P | undefined>(capacity).fill(undefined);
  }

  /** Number of entries held, including expired ones not yet removed. */
  get size(): number {
    return this.#size;
  }

  #home(hi: number, lo: number): number {
    // Multiplicative hashing; the top bits of the product are the best mixed.
    return Math.imul(Math.imul(hi, this.#seedHi) ^ lo ^ this.#seedLo, 0x9e3779b1) >>> this.#shift;
  }

  /** Slot holding the MAC, or -1. */
  #find(hi: number, lo: number): number {
    const his = this.#hi;
    const mask = this.#mask;
    let i = this.#home(hi, lo);
    for (;;) {
      const h = his[i]!;
      if (h === EMPTY) return -1;
      if (h === hi && this.#lo[i] === lo) return i;
      i = (i + 1) & mask;
    }
  }

  /** Free slot `i`, shifting later members of its probe run back so lookups never stop early. */
  #remove(i: number): void {
    const his = this.#hi;
    const mask = this.#mask;
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (his[j] === EMPTY) break;
      const home = this.#home(his[j]!, this.#lo[j]!);
      // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      his[hole] = his[j]!;
      this.#lo[hole] = this.#lo[j]!;
      this.#seen[hole] = this.#seen[j]!;
      this.#port[hole] = this.#port[j];
      hole = j;
    }
    his[hole] = EMPTY;
    this.#port[hole] = undefined;
    this.#size--;
  }

  learn(hi: number, lo: number, port: P, now: number): LearnResult {
    const i = this.#find(hi, lo);
    if (i >= 0) {
      const wasSeen = this.#seen[i]!;
      this.#seen[i] = now;
      if (now - wasSeen > this.agingMs) {
        // Expired but not yet removed: a fresh sighting, not a move.
        this.#port[i] = port;
        this.aged++;
        this.learned++;
        return LearnResult.Learned;
      }
      if (this.#port[i] === port) return LearnResult.Refreshed;
      this.#port[i] = port;
      this.moves++;
      return LearnResult.Moved;
    }
    if (this.#size >= this.maxEntries) {
      if (now - this.#lastSweep < this.sweepIntervalMs || this.sweep(now) === 0) return LearnResult.TableFull;
    }
    let j = this.#home(hi, lo);
    while (this.#hi[j] !== EMPTY) j = (j + 1) & this.#mask;
    this.#hi[j] = hi;
    this.#lo[j] = lo;
    this.#seen[j] = now;
    this.#port[j] = port;
    this.#size++;
    this.learned++;
    return LearnResult.Learned;
  }

  /** The port the MAC lives on, or undefined if unknown or expired. */
  lookup(hi: number, lo: number, now: number): P | undefined {
    const i = this.#find(hi, lo);
    if (i < 0) return undefined;
    if (now - this.#seen[i]! > this.agingMs) {
      this.#remove(i);
      this.aged++;
      return undefined;
    }
    return this.#port[i];
  }

  /** Remove every expired entry; returns how many. */
  sweep(now: number): number {
    this.#lastSweep = now;
    const n = this.#removeWhere((i) => now - this.#seen[i]! > this.agingMs);
    this.aged += n;
    return n;
  }

  /** Remove every entry pointing at `port` (it left the hub); returns how many. */
  forgetPort(port: P): number {
    return this.#removeWhere((i) => this.#port[i] === port);
  }

  clear(): void {
    this.#hi.fill(EMPTY);
    this.#port.fill(undefined);
    this.#size = 0;
  }

  /** Snapshot of the live entries (expired ones are swept first). */
  entries(now: number): { hi: number; lo: number; port: P; ageMs: number }[] {
    this.sweep(now);
    const out: { hi: number; lo: number; port: P; ageMs: number }[] = [];
    for (let i = 0; i <= this.#mask; i++) {
      if (this.#hi[i] !== EMPTY) out.push({ hi: this.#hi[i]!, lo: this.#lo[i]!, port: this.#port[i]!, ageMs: now - this.#seen[i]! });
    }
    return out;
  }

  // Removal shifts entries around, so collect the victims' keys first, then remove them one by one.
  #removeWhere(pred: (slot: number) => boolean): number {
    const victims: number[] = [];
    for (let i = 0; i <= this.#mask; i++) if (this.#hi[i] !== EMPTY && pred(i)) victims.push(this.#hi[i]!, this.#lo[i]!);
    for (let v = 0; v < victims.length; v += 2) this.#remove(this.#find(victims[v]!, victims[v + 1]!));
    return victims.length / 2;
  }
}
