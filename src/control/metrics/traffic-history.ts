/**
 * Per-cascade traffic history for the dashboard chart. Every `intervalMs` (10 s) the byte counters of every
 * cascade are sampled; the rate of the interval (delta / elapsed, with the real elapsed time, not the nominal
 * one) goes into a fine ring (360 points = 1 h) and is accumulated into a coarse ring (every 5 min, 288 points =
 * 24 h). A counter that went backwards (cascade re-created, counters restarted) is taken as restarted from 0 in
 * that interval, so the delta is the new value, never negative.
 *
 * "Rate now" compares the live counters with the newest sample when that is at least `minNowWindowMs` old,
 * otherwise it answers the last interval's rate: always an average over 2..10 s, never over a few ms.
 */
import { RateRing } from './rate-ring.ts';
import type { RatePoint } from './rate-ring.ts';

export interface TrafficCounters {
  name: string;
  bytesIn: number;
  bytesOut: number;
}

export interface TrafficHistoryOptions {
  /** The current byte counters of every cascade (e.g. from Cascade.status().traffic). */
  source: () => readonly TrafficCounters[];
  intervalMs?: number;
  /** Fine ring length (default 360: 1 h at 10 s). */
  fineCapacity?: number;
  /** Coarse ring interval and length (default 300 000 ms and 288: 24 h); capacity 0 = no coarse ring. */
  coarseIntervalMs?: number;
  coarseCapacity?: number;
  /** Series kept at most (default 64); further names are ignored and counted. */
  maxSeries?: number;
  minNowWindowMs?: number;
  now?: () => number;
}

export interface TrafficSeries {
  intervalMs: number;
  /** [times ms, bytes/s in, bytes/s out], oldest first. */
  columns: [number[], number[], number[]];
}

interface Series {
  last: { t: number; bytesIn: number; bytesOut: number } | null;
  fine: RateRing;
  coarse: RateRing | null;
  acc: { bytesIn: number; bytesOut: number; ms: number };
}

export class TrafficHistory {
  readonly intervalMs: number;
  readonly coarseIntervalMs: number;
  readonly #source: () => readonly TrafficCounters[];
  readonly #fineCapacity: number;
  readonly #coarseCapacity: number;
  readonly #maxSeries: number;
  readonly #minNowWindowMs: number;
  readonly #now: () => number;
  readonly #series = new Map<string, Series>();
  #timer: NodeJS.Timeout | null = null;
  #ignoredSeries = 0;

  constructor(o: TrafficHistoryOptions) {
    this.#source = o.source;
    this.intervalMs = int(o.intervalMs ?? 10_000, 'metrics.intervalMs', 100);
    this.#fineCapacity = int(o.fineCapacity ?? 360, 'metrics.fineCapacity', 2);
    this.coarseIntervalMs = int(o.coarseIntervalMs ?? 300_000, 'metrics.coarseIntervalMs', this.intervalMs);
    this.#coarseCapacity = int(o.coarseCapacity ?? 288, 'metrics.coarseCapacity', 0);
    this.#maxSeries = int(o.maxSeries ?? 64, 'metrics.maxSeries', 1);
    this.#minNowWindowMs = int(o.minNowWindowMs ?? 2000, 'metrics.minNowWindowMs', 0);
    this.#now = o.now ?? Date.now;
  }

  start(): void {
    if (this.#timer) return;
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Take one sample of every cascade (what the timer does). Series of cascades that are gone are removed. */
  sample(): void {
    const now = this.#now();
    const list = this.#source();
    // Forget cascades that are gone first, so their places are free for new ones in this same sample.
    const seen = new Set(list.map((c) => c.name));
    for (const name of [...this.#series.keys()]) if (!seen.has(name)) this.#series.delete(name);
    for (const c of list) {
      let s = this.#series.get(c.name);
      if (!s) {
        if (this.#series.size >= this.#maxSeries) {
          this.#ignoredSeries++;
          continue;
        }
        s = {
          last: null,
          fine: new RateRing(this.#fineCapacity),
          coarse: this.#coarseCapacity > 0 ? new RateRing(this.#coarseCapacity) : null,
          acc: { bytesIn: 0, bytesOut: 0, ms: 0 },
        };
        this.#series.set(c.name, s);
      }
      const prev = s.last;
      s.last = { t: now, bytesIn: c.bytesIn, bytesOut: c.bytesOut };
      if (!prev) continue;
      const ms = now - prev.t;
      if (ms <= 0) continue; // clock stepped back: skip the interval rather than invent a rate
      const dIn = counterDelta(prev.bytesIn, c.bytesIn);
      const dOut = counterDelta(prev.bytesOut, c.bytesOut);
      s.fine.push(now, (dIn * 1000) / ms, (dOut * 1000) / ms);
      if (s.coarse) {
        s.acc.bytesIn += dIn;
        s.acc.bytesOut += dOut;
        s.acc.ms += ms;
        if (s.acc.ms >= this.coarseIntervalMs) {
          s.coarse.push(now, (s.acc.bytesIn * 1000) / s.acc.ms, (s.acc.bytesOut * 1000) / s.acc.ms);
          s.acc = { bytesIn: 0, bytesOut: 0, ms: 0 };
        }
      }
    }
  }

  names(): string[] {
    return [...this.#series.keys()];
  }

  /** The chart data of one cascade: '1h' = the fine ring, '24h' = the coarse ring. null for an unknown name. */
  series(name: string, range: '1h' | '24h' = '1h'): TrafficSeries | null {
    const s = this.#series.get(name);
    if (!s) return null;
    if (range === '24h') {
      if (!s.coarse) throw new Error('metrics: no 24 h ring configured (coarseCapacity 0)');
      return { intervalMs: this.coarseIntervalMs, columns: s.coarse.columns() };
    }
    return { intervalMs: this.intervalMs, columns: s.fine.columns() };
  }

  /** Bytes/s now (see the header comment); null for an unknown name or before two readings exist. */
  rateNow(name: string): RatePoint | null {
    const s = this.#series.get(name);
    if (!s?.last) return null;
    const now = this.#now();
    const elapsed = now - s.last.t;
    if (elapsed >= this.#minNowWindowMs) {
      const live = this.#source().find((c) => c.name === name);
      if (live) {
        return {
          t: now,
          inBps: (counterDelta(s.last.bytesIn, live.bytesIn) * 1000) / elapsed,
          outBps: (counterDelta(s.last.bytesOut, live.bytesOut) * 1000) / elapsed,
        };
      }
    }
    return s.fine.last();
  }

  stats(): { series: number; ignoredSeries: number } {
    return { series: this.#series.size, ignoredSeries: this.#ignoredSeries };
  }
}

/** Increase of a monotonically growing counter; a decrease means it restarted from 0. */
export function counterDelta(before: number, after: number): number {
  return after >= before ? after - before : after;
}

function int(n: number, field: string, min: number): number {
  if (!Number.isInteger(n) || n < min) throw new Error(`${field}: must be an integer >= ${min}`);
  return n;
}
