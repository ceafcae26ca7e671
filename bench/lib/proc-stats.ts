import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
  return (utime + stime) / ticksPerSecond();
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

/** Samples a set of PIDs and the machine at the start of an interval; end() gives CPU % of one core each. */
export class CpuWindow {
  readonly #pids: Record<string, number>;
  readonly #start: Record<string, number | undefined> = {};
  readonly #sys: SystemCpu;
  readonly #t0: number;

  constructor(pids: Record<string, number>) {
    this.#pids = pids;
    for (const [k, pid] of Object.entries(pids)) this.#start[k] = processCpuSeconds(pid);
    this.#sys = systemCpu();
    this.#t0 = performance.now();
  }

  /** Per PID: CPU % of one core (100 = one core busy); machine: % of all cores busy. */
  end(): { perProcess: Record<string, number | undefined>; machineBusyPct: number; seconds: number } {
    const seconds = (performance.now() - this.#t0) / 1000;
    const perProcess: Record<string, number | undefined> = {};
    for (const [k, pid] of Object.entries(this.#pids)) {
      const a = this.#start[k];
      const b = processCpuSeconds(pid);
      perProcess[k] = a === undefined || b === undefined || seconds <= 0 ? undefined : ((b - a) / seconds) * 100;
    }
    const sys = systemCpu();
    const dt = sys.total - this.#sys.total;
    const machineBusyPct = dt > 0 ? ((sys.busy - this.#sys.busy) / dt) * 100 : 0;
    return { perProcess, machineBusyPct, seconds };
  }
}
