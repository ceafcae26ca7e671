/** A ring of rate points (time, bytes/s in, bytes/s out): a three-column ColumnRing (24 bytes a point). */
import { ColumnRing } from './column-ring.ts';

export interface RatePoint {
  /** End of the interval, ms since the epoch. */
  t: number;
  inBps: number;
  outBps: number;
}

export class RateRing {
  readonly #ring: ColumnRing;

  constructor(capacity: number) {
    this.#ring = new ColumnRing(capacity, 3);
  }

  get capacity(): number {
    return this.#ring.capacity;
  }

  get size(): number {
    return this.#ring.size;
  }

  push(t: number, inBps: number, outBps: number): void {
    this.#ring.push(t, inBps, outBps);
  }

  /** The newest point, or null when empty. */
  last(): RatePoint | null {
    const r = this.#ring.last();
    return r ? { t: r[0]!, inBps: r[1]!, outBps: r[2]! } : null;
  }

  /** Oldest first, as three parallel arrays (the shape uPlot wants: [xs, ys1, ys2]). */
  columns(): [number[], number[], number[]] {
    return this.#ring.columns() as [number[], number[], number[]];
  }

  points(): RatePoint[] {
    const [t, a, b] = this.columns();
    return t.map((x, i) => ({ t: x, inBps: a[i]!, outBps: b[i]! }));
  }
}
