/**
 * V8's background threads at the lowest scheduling class, so they never take the CPU from the data path.
 *
 * The event loop posts JIT compile jobs (Maglev, TurboFan) and GC helper tasks to V8's worker threads. At the
 * normal policy Linux runs a freshly woken worker on the loop's own CPU and lets it preempt the loop: measured
 * through `sebridge link` (bench/README.md, "V8's worker threads, and where LAN→server stops"), a ping request then waited up to 1.5 ms inside sebridge
 * between its arrival on the LAN and its TLS record leaving, and a reply whose wake-up landed on a CPU busy with a
 * worker waited for the worker's time slice. At SCHED_IDLE a worker runs only on time nobody else wants, a CPU that
 * runs only such threads counts as idle when the loop is woken, and the loop preempts it at once. The work still
 * gets done: the loop joins GC jobs itself, and compiles finish in the idle time every load leaves here.
 *
 * Only threads named `node-V8Worker` (Node's platform workers) are touched: not libuv's thread pool (DNS, file
 * system, scrypt for the admin login), not the addon's I/O threads (data path), not the main thread.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadNative } from './native.ts';

export const HELPER_THREAD_NAMES: readonly string[] = ['node-V8Worker'];

export interface HelperThreadsResult {
  /** threads moved to SCHED_IDLE */
  idled: number;
  /** "tid name: error" for each one that could not be moved */
  failed: string[];
}

export interface HelperThreadsOptions {
  /** Directory of this process's threads (default /proc/self/task). */
  taskDir?: string;
  /** Defaults to the addon's setThreadIdle. */
  setIdle?: (tid: number) => void;
}

/**
 * Moves every V8 worker thread of this process to SCHED_IDLE. `SEBRIDGE_IDLE_HELPERS=0` in the environment leaves
 * them as they are (for measuring the difference). Without the addon nothing is changed.
 */
export function idleHelperThreads(opts: HelperThreadsOptions = {}): HelperThreadsResult {
  const result: HelperThreadsResult = { idled: 0, failed: [] };
  if (process.env.SEBRIDGE_IDLE_HELPERS === '0') return result;
  let setIdle = opts.setIdle;
  if (!setIdle) {
    try {
      const native = loadNative();
      setIdle = (tid) => native.setThreadIdle(tid);
    } catch {
      return result;
    }
  }
  const dir = opts.taskDir ?? '/proc/self/task';
  let tids: string[];
  try {
    tids = readdirSync(dir);
  } catch {
    return result;
  }
  for (const tid of tids) {
    let name: string;
    try {
      name = readFileSync(`${dir}/${tid}/comm`, 'utf8').trim();
    } catch {
      continue; // the thread ended meanwhile
    }
    if (!HELPER_THREAD_NAMES.includes(name)) continue;
    try {
      setIdle(Number(tid));
      result.idled++;
    } catch (e) {
      result.failed.push(`${tid} ${name}: ${(e as Error).message}`);
    }
  }
  return result;
}
