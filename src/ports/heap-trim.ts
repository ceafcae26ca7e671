/**
 * Gives the C heap's free memory back to the system now and then (malloc_trim in the addon, native/heap_trim.c).
 *
 * Under load V8 and OpenSSL free tens of MiB per second of ArrayBuffer backing stores and TLS buffers; glibc keeps
 * the freed pages resident, in the main heap and in the per-thread arenas of V8's worker threads, so without a
 * trim the process's memory stays at its high-water mark after every burst (bench/README.md, "Memory under
 * load"). A trim took 0.1-1 ms of the event loop under full load and microseconds when idle (measured), so one
 * every 2 s costs well under 0.1 % of it.
 */
import { loadNative } from './native.ts';

export const HEAP_TRIM_INTERVAL_MS = 2000;

export interface HeapTrimmer {
  stop(): void;
  /** Trims done, their total and longest time in microseconds. */
  stats(): { trims: number; totalMicros: number; maxMicros: number };
}

/**
 * Starts trimming every `intervalMs` on an unref'd timer (it never keeps the process alive). `trim` defaults to
 * the addon's trimHeap; without the addon (not built, not Linux) nothing is started: there is no C heap traffic
 * of ours to give back either.
 */
export function startHeapTrimmer(opts: { intervalMs?: number; trim?: () => number } = {}): HeapTrimmer {
  const intervalMs = opts.intervalMs ?? HEAP_TRIM_INTERVAL_MS;
  if (!Number.isInteger(intervalMs) || intervalMs < 100 || intervalMs > 3_600_000) {
    throw new RangeError(`heap trim intervalMs must be a whole number of milliseconds from 100 to 3600000, got ${intervalMs}`);
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
  const s = { trims: 0, totalMicros: 0, maxMicros: 0 };
  if (!trim) return { stop() {}, stats: () => ({ ...s }) };
  const run = trim;
  const timer = setInterval(() => {
    const us = run();
    s.trims++;
    s.totalMicros += us;
    if (us > s.maxMicros) s.maxMicros = us;
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), stats: () => ({ ...s }) };
}
