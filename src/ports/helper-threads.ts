/**
 * V8's background threads at SCHED_BATCH, so that waking them never takes the CPU from the data path.
 *
 * The event loop posts JIT compile jobs (Maglev, TurboFan) and GC helper tasks to V8's worker threads. At the
 * normal policy Linux runs a freshly woken worker on the loop's own CPU and lets it preempt the loop: measured
 * through `sebridge link` (bench/README.md, "V8's worker threads"), a ping request then waited up to 1.5 ms inside
 * sebridge between its arrival on the LAN and its TLS record leaving. A SCHED_BATCH thread never preempts anyone
 * when it wakes up, and it keeps a normal share of the CPU when it runs.
 *
 * Not SCHED_IDLE, which was tried and removed: the loop waits for workers at times (a GC job it joins while a
 * worker holds a piece of it), and a SCHED_IDLE worker gets almost no CPU while any other program is busy. With a
 * CPU-bound program on the same CPU the loop then stalled for 0.6-30 s, half of the pings through sebridge were lost
 * and it could not even be killed quickly; at SCHED_BATCH the worst stall stayed at the normal policy's (31-44 ms).
 *
 * Only threads named `node-V8Worker` (Node's platform workers) are touched: not libuv's thread pool (DNS, file
 * system, scrypt for the admin login), not the addon's I/O threads (data path), not the main thread.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { ConfigError } from '../session/config-error.ts';
import { loadNative } from './native.ts';

export const HELPER_THREAD_NAMES: readonly string[] = ['node-V8Worker'];

/** What `SEBRIDGE_HELPER_POLICY` may say: batch (the default), or normal to leave the threads as they are. */
export const HELPER_POLICIES = ['batch', 'normal'] as const;
export type HelperPolicy = (typeof HELPER_POLICIES)[number];

export interface HelperThreadsResult {
  /** the policy applied ('normal': none was) */
  policy: HelperPolicy;
  /** threads moved to it */
  moved: number;
  /** "tid name: error" for each one that could not be moved */
  failed: string[];
}

export interface HelperThreadsOptions {
  /** Directory of this process's threads (default /proc/self/task). */
  taskDir?: string;
  /** Defaults to the addon's setThreadPolicy. */
  setPolicy?: (tid: number, policy: 'batch') => void;
  /** Defaults to helperPolicy(process.env.SEBRIDGE_HELPER_POLICY). */
  policy?: HelperPolicy;
}

/** The policy asked for; a ConfigError naming the variable and what it may say otherwise. */
export function helperPolicy(value: string | undefined): HelperPolicy {
  if (value === undefined || value === '') return 'batch';
  if ((HELPER_POLICIES as readonly string[]).includes(value)) return value as HelperPolicy;
  throw new ConfigError('SEBRIDGE_HELPER_POLICY', `must be one of ${HELPER_POLICIES.join(', ')}, got "${value.slice(0, 40)}"`);
}

/**
 * Moves every V8 worker thread of this process to SCHED_BATCH (`SEBRIDGE_HELPER_POLICY=normal` leaves them as
 * they are, for measuring the difference). Without the addon nothing is changed. Throws only when no policy is
 * given and SEBRIDGE_HELPER_POLICY is bad (callers parse it with helperPolicy() first, to refuse it at start).
 */
export function lowerHelperThreads(opts: HelperThreadsOptions = {}): HelperThreadsResult {
  const policy = opts.policy ?? helperPolicy(process.env.SEBRIDGE_HELPER_POLICY);
  const result: HelperThreadsResult = { policy, moved: 0, failed: [] };
  if (policy === 'normal') return result;
  let setPolicy = opts.setPolicy;
  if (!setPolicy) {
    try {
      const native = loadNative();
      setPolicy = (tid, p) => native.setThreadPolicy(tid, p);
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
      setPolicy(Number(tid), policy);
      result.moved++;
    } catch (e) {
      result.failed.push(`${tid} ${name}: ${(e as Error).message}`);
    }
  }
  return result;
}
