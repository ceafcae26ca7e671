/**
 * A fixed-size ring of rate points (time, bytes/s in, bytes/s out) in typed arrays: memory is allocated once
 * (24 bytes a point) and never grows.
 */
export interface RatePoint {
  /** End of the interval, ms since the epoch. */
  t: number;
  inBps: number;
  outBps: number;
}

export class RateRing {
  readonly capacity: number;
  readonly #t: Float64Array;
  readonly #in: Float64Array;
  readonly #out: Float64Array;
  #start = 0;
  #size = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1_000_000) throw new Error('capacity must be an integer 1..1000000');
    this.capacity = capacity;
    this.#t = new Float64Array(capacity);
    this.#in = new Float64Array(capacity);
    this.#out = new Float64Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(t: number, inBps: number, outBps: number): void {
    const i = (this.#start + this.#size) % this.capacity;
    this.#t[i] = t;
    this.#in[i] = inBps;
    this.#out[i] = outBps;
    if (this.#size < this.capacity) this.#size++;
    else this.#start = (this.#start + 1) % this.capacity;
  }

  /** The newest point, or null when empty. */
  last(): RatePoint | null {
    if (this.#size === 0) return null;
    const i = (this.#start + this.#size - 1) % this.capacity;
    return { t: this.#t[i], inBps: this.#in[i], outBps: this.#out[i] };
  }

  /** Oldest first, as three parallel arrays (the shape uPlot wants: [xs, ys1, ys2]). */
  columns(): [number[], number[], number[]] {
    const t: number[] = [];
    const a: number[] = [];
    const b: number[] = [];
    for (let k = 0; k < this.#size; k++) {
      const i = (this.#start + k) % this.capacity;
      t.push(this.#t[i]);
      a.push(this.#in[i]);
      b.push(this.#out[i]);
    }
    return [t, a, b];
  }

  points(): RatePoint[] {
    const [t, a, b] = this.columns();
    return t.map((x, i) => ({ t: x, inBps: a[i], outBps: b[i] }));
  }
}
