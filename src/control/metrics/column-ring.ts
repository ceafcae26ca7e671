/**
 * A fixed-size ring of rows of numbers, stored column by column in typed arrays: memory is allocated once
 * (8 bytes per number) and never grows; when full, a push drops the oldest row. The daemon's histories (traffic
 * rates, the health checks' resource readings) are all of this shape.
 */
export class ColumnRing {
  readonly capacity: number;
  readonly width: number;
  readonly #cols: Float64Array[];
  #start = 0;
  #size = 0;

  constructor(capacity: number, width: number, maxCapacity = 1_000_000) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > maxCapacity) throw new Error(`capacity must be an integer 1..${maxCapacity}`);
    this.capacity = capacity;
    this.width = width;
    this.#cols = Array.from({ length: width }, () => new Float64Array(capacity));
  }

  get size(): number {
    return this.#size;
  }

  /** One row: exactly `width` numbers, in column order. */
  push(...row: number[]): void {
    const i = (this.#start + this.#size) % this.capacity;
    for (let c = 0; c < this.width; c++) this.#cols[c]![i] = row[c]!;
    if (this.#size < this.capacity) this.#size++;
    else this.#start = (this.#start + 1) % this.capacity;
  }

  /** The newest row, or null when empty. */
  last(): number[] | null {
    if (this.#size === 0) return null;
    const i = (this.#start + this.#size - 1) % this.capacity;
    return this.#cols.map((col) => col[i]!);
  }

  /** Oldest first, one array per column (the shape uPlot wants: [xs, ys1, ys2, …]). */
  columns(): number[][] {
    const out = this.#cols.map((): number[] => []);
    for (let k = 0; k < this.#size; k++) {
      const i = (this.#start + k) % this.capacity;
      for (let c = 0; c < this.width; c++) out[c]!.push(this.#cols[c]![i]!);
    }
    return out;
  }
}
