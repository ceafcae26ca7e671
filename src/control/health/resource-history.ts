/**
 * The system checks' readings over time (CPU, memory, disk, temperature), for the health page's chart: one point
 * per system check round (every 30 s by default), 24 h by default. Fixed-size typed arrays (40 bytes a point):
 * allocated once, never grows. A missing temperature is stored as NaN and comes back as null.
 */
import type { SystemSnapshot } from './checks.ts';

export interface ResourcePoint extends SystemSnapshot {
  /** ms since the epoch */
  time: number;
}

export class ResourceHistory {
  readonly capacity: number;
  readonly #cols: Float64Array[];
  #start = 0;
  #size = 0;

  constructor(capacity = 2880) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 100_000) throw new Error('capacity must be an integer 1..100000');
    this.capacity = capacity;
    this.#cols = Array.from({ length: 5 }, () => new Float64Array(capacity));
  }

  get size(): number {
    return this.#size;
  }

  push(time: number, s: SystemSnapshot): void {
    const i = (this.#start + this.#size) % this.capacity;
    const [t, cpu, mem, disk, temp] = this.#cols as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    t[i] = time;
    cpu[i] = s.cpuPercent;
    mem[i] = s.memPercent;
    disk[i] = s.diskPercent;
    temp[i] = s.temperatureC ?? Number.NaN;
    if (this.#size < this.capacity) this.#size++;
    else this.#start = (this.#start + 1) % this.capacity;
  }

  /** Oldest first. */
  points(): ResourcePoint[] {
    const [t, cpu, mem, disk, temp] = this.#cols as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    const out: ResourcePoint[] = [];
    for (let k = 0; k < this.#size; k++) {
      const i = (this.#start + k) % this.capacity;
      out.push({ time: t[i]!, cpuPercent: cpu[i]!, memPercent: mem[i]!, diskPercent: disk[i]!, temperatureC: Number.isNaN(temp[i]!) ? null : temp[i]! });
    }
    return out;
  }
}
