import { readFile } from 'node:fs/promises';

/** The aggregate "cpu" line of /proc/stat: busy and total jiffies since boot. */
export function parseProcStat(text: string): { busy: number; total: number } {
  const line = text.split('\n', 1)[0] ?? '';
  const f = line.trim().split(/\s+/);
  if (f[0] !== 'cpu' || f.length < 5) throw new Error('/proc/stat: no aggregate cpu line');
  const n = f.slice(1).map(Number);
  if (n.some((x) => !Number.isFinite(x))) throw new Error('/proc/stat: unreadable cpu line');
  // user nice system idle iowait irq softirq steal [guest guest_nice, already counted in user/nice]
  const idle = n[3] + (n[4] ?? 0);
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * CPU load in percent since the previous reading, from /proc/stat read asynchronously. (systeminformation's
 * currentLoad() runs `cat /proc/stat | grep cpu` with execSync on the event loop: measured stalls of 2-22 ms under
 * load, the data path's loop. This reads the same numbers without a process or a blocking call.) The first reading
 * takes two samples `firstGapMs` apart.
 */
export class CpuLoad {
  #last: { busy: number; total: number } | null = null;
  readonly #read: () => Promise<string>;
  readonly #firstGapMs: number;

  constructor(o: { read?: () => Promise<string>; firstGapMs?: number } = {}) {
    this.#read = o.read ?? (() => readFile('/proc/stat', 'utf8'));
    this.#firstGapMs = o.firstGapMs ?? 250;
  }

  async percent(): Promise<number> {
    if (!this.#last) {
      this.#last = parseProcStat(await this.#read());
      await new Promise((r) => setTimeout(r, this.#firstGapMs));
    }
    const now = parseProcStat(await this.#read());
    const prev = this.#last;
    this.#last = now;
    const dt = now.total - prev.total;
    return dt > 0 ? Math.min(100, Math.max(0, ((now.busy - prev.busy) / dt) * 100)) : 0;
  }
}
