/**
 * The system checks' readings over time (CPU, memory, disk, temperature), for the health page's chart: one point
 * per system check round (every 30 s by default), 24 h by default, in a five-column ColumnRing (40 bytes a point,
 * allocated once). A missing temperature is stored as NaN and comes back as null.
 */
import { ColumnRing } from '../metrics/column-ring.ts';
import type { SystemSnapshot } from './checks.ts';

export interface ResourcePoint extends SystemSnapshot {
  /** ms since the epoch */
  time: number;
}

export class ResourceHistory {
  readonly #ring: ColumnRing;

  constructor(capacity = 2880) {
    this.#ring = new ColumnRing(capacity, 5, 100_000);
  }

  get capacity(): number {
    return this.#ring.capacity;
  }

  get size(): number {
    return this.#ring.size;
  }

  push(time: number, s: SystemSnapshot): void {
    this.#ring.push(time, s.cpuPercent, s.memPercent, s.diskPercent, s.temperatureC ?? Number.NaN);
  }

  /** Oldest first. */
  points(): ResourcePoint[] {
    const [t, cpu, mem, disk, temp] = this.#ring.columns() as [number[], number[], number[], number[], number[]];
    return t.map((time, i) => ({
      time, cpuPercent: cpu[i]!, memPercent: mem[i]!, diskPercent: disk[i]!, temperatureC: Number.isNaN(temp[i]!) ? null : temp[i]!,
    }));
  }
}
