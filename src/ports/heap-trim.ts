/**
 * Gives the C heap's free memory back to the system now and then (malloc_trim in the addon, native/heap_trim.c).
 *
 * Under load V8 and OpenSSL free tens of MiB per second of ArrayBuffer backing stores and TLS buffers; glibc keeps
 * the freed pages resident, in the main heap and in the per-thread arenas of V8's worker threads, so without a
 * trim the process's memory stays at its high-water mark after every burst (bench/README.md, "Memory under
 * load"). A trim took 0.1-1 ms of the event loop under full load, so one every 2 s costs well under 0.1 % of it.
 *
 * A trim runs only when the resident set grew by at least `minReclaimBytes` since the previous trim (or since its
 * lowest point after it). Trimming every 2 s regardless raised the idle ping's p99 through the bridge by ~0.5 ms
 * (bench/README.md, "Idle ping"): the pages a trim gives back are faulted in again by the next allocations, and
 * while idle there was nothing worth giving back.
 */
import { loadNative } from './native.ts';

export const HEAP_TRIM_INTERVAL_MS = 2000;
export const HEAP_TRIM_MIN_RECLAIM_BYTES = 1 << 20;

export interface HeapTrimmer {
  stop(): void;
  /** Trims done, their total and longest time in microseconds, and intervals with too little to give back. */
  stats(): { trims: number; totalMicros: number; maxMicros: number; skipped: number };
}

export interface HeapTrimmerOptions {
  intervalMs?: number;
  /** Trim only when the resident set grew by at least this much since the previous trim (default 1 MiB). */
  minReclaimBytes?: number;
  /** Defaults to the addon's trimHeap: trims, returns the microseconds it took. */
  trim?: () => number;
  /** Defaults to process.memoryUsage.rss (cheap: one read of /proc/self/stat). */
  residentBytes?: () => number;
}

/**
 * Starts trimming every `intervalMs` on an unref'd timer (it never keeps the process alive). Without the addon
 * (not built, not Linux) nothing is started: there is no C heap traffic of ours to give back either.
 */
export function startHeapTrimmer(opts: HeapTrimmerOptions = {}): HeapTrimmer {
  const intervalMs = opts.intervalMs ?? HEAP_TRIM_INTERVAL_MS;
  if (!Number.isInteger(intervalMs) || intervalMs < 100 || intervalMs > 3_600_000) {
    throw new RangeError(`heap trim intervalMs must be a whole number of milliseconds from 100 to 3600000, got ${intervalMs}`);
  }
  const minReclaim = opts.minReclaimBytes ?? HEAP_TRIM_MIN_RECLAIM_BYTES;
  if (!Number.isInteger(minReclaim) || minReclaim < 0) {
    throw new RangeError(`heap trim minReclaimBytes must be a whole number of bytes >= 0, got ${minReclaim}`);
  }
  let trim = opts.trim;
  if (!trim) {
    try {
      const native = loadNative();
      trim = () => native.trimHeap();
    } catch {
      trim = undefined;
    }
  }
  const s = { trims: 0, totalMicros: 0, maxMicros: 0, skipped: 0 };
  if (!trim) return { stop() {}, stats: () => ({ ...s }) };
  const run = trim;
  const resident = opts.residentBytes ?? (() => process.memoryUsage.rss());
  let base = 0; // the resident set after the last trim, or its lowest point since
  const timer = setInterval(() => {
    const now = resident();
    if (now - base < minReclaim) {
      if (now < base) base = now;
      s.skipped++;
      return;
    }
    const us = run();
    base = resident();
    s.trims++;
    s.totalMicros += us;
    if (us > s.maxMicros) s.maxMicros = us;
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), stats: () => ({ ...s }) };
}
