import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time and memory of a process from /proc, and machine-wide CPU use from /proc/stat, so CPU % can be taken
 * over exactly the interval of one measurement. utime+stime in /proc/PID/stat cover all threads of the process
 * (vpnbridge is multi-threaded; Node has its V8 and libuv threads).
 */
let clockTicks: number | undefined;

export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    clockTicks = Number.isInteger(n) && n > 0 ? n : 100;
  }
  return clockTicks;
}

/** CPU seconds (user + system) the process has used so far, or undefined when it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  const t = processCpuTimes(pid);
  return t === undefined ? undefined : t.user + t.system;
}

/** User and system (kernel) CPU seconds of the process so far. */
export function processCpuTimes(pid: number): { user: number; system: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: the fields we want come after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { user: utime / ticksPerSecond(), system: stime / ticksPerSecond() };
}

export interface MemoryInfo {
  /** peak resident set size (VmHWM), bytes */
  peakRss: number;
  /** current resident set size (VmRSS), bytes */
  rss: number;
  /** current anonymous part (heap, stacks) and file-backed part (the mapped executable and libraries), bytes */
  rssAnon: number;
  rssFile: number;
}

export function processMemory(pid: number): MemoryInfo | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (key: string): number | undefined => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const peakRss = kib('VmHWM');
  const rss = kib('VmRSS');
  if (peakRss === undefined || rss === undefined) return undefined;
  return { peakRss, rss, rssAnon: kib('RssAnon') ?? Number.NaN, rssFile: kib('RssFile') ?? Number.NaN };
}

export interface SystemCpu {
  busy: number;
  total: number;
}

/** Machine-wide jiffies from the "cpu" line of /proc/stat (idle + iowait count as not busy). */
export function systemCpu(): SystemCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // guest time is already inside user/nice
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * Nanoseconds all threads of the process spent runnable but waiting for a CPU (second field of
 * /proc/PID/task/TID/schedstat). High values mean the process was held back by CPU contention, not by its own
 * work: on a 2-core machine shared by four busy processes that is the usual ceiling. Threads that ended during
 * the interval are not counted.
 */
export function processRunqueueWaitNs(pid: number): number | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let sum = 0;
  for (const tid of tids) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/);
      sum += Number(f[1] ?? 0);
    } catch {
      // thread ended meanwhile
    }
  }
  return sum;
}

/** Samples a set of PIDs and the machine at the start of an interval; end() gives CPU % of one core each. */
export class CpuWindow {
  readonly #pids: Record<string, number>;
  readonly #start: Record<string, { user: number; system: number } | undefined> = {};
  readonly #startWait: Record<string, number | undefined> = {};
  readonly #sys: SystemCpu;
  readonly #t0: number;

  constructor(pids: Record<string, number>) {
    this.#pids = pids;
    for (const [k, pid] of Object.entries(pids)) {
      this.#start[k] = processCpuTimes(pid);
      this.#startWait[k] = processRunqueueWaitNs(pid);
    }
    this.#sys = systemCpu();
    this.#t0 = performance.now();
  }

  /**
   * Per PID: CPU % of one core (100 = one core busy), and the part of it spent in the kernel (system time: for a
   * bridge mostly its socket sends, which on veth/loopback also run the receiving side's network stack), and the
   * time its threads waited for a CPU (in % of one core: 30 = its threads together waited 0.3 s per second);
   * machine: % of all cores busy.
   */
  end(): {
    perProcess: Record<string, number | undefined>;
    systemPct: Record<string, number | undefined>;
    runqueueWaitPct: Record<string, number | undefined>;
    machineBusyPct: number;
    seconds: number;
  } {
    const seconds = (performance.now() - this.#t0) / 1000;
    const perProcess: Record<string, number | undefined> = {};
    const systemPct: Record<string, number | undefined> = {};
    const runqueueWaitPct: Record<string, number | undefined> = {};
    for (const [k, pid] of Object.entries(this.#pids)) {
      const w0 = this.#startWait[k];
      const w1 = processRunqueueWaitNs(pid);
      runqueueWaitPct[k] = w0 !== undefined && w1 !== undefined && seconds > 0 ? ((w1 - w0) / 1e9 / seconds) * 100 : undefined;
      const a = this.#start[k];
      const b = processCpuTimes(pid);
      const ok = a !== undefined && b !== undefined && seconds > 0;
      perProcess[k] = ok ? ((b.user + b.system - a.user - a.system) / seconds) * 100 : undefined;
      systemPct[k] = ok ? ((b.system - a.system) / seconds) * 100 : undefined;
    }
    const sys = systemCpu();
    const dt = sys.total - this.#sys.total;
    const machineBusyPct = dt > 0 ? ((sys.busy - this.#sys.busy) / dt) * 100 : 0;
    return { perProcess, systemPct, runqueueWaitPct, machineBusyPct, seconds };
  }
}
