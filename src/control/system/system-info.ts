/**
 * System facts for the dashboard and the health checks, cached briefly: a dashboard polling every 2 s and the
 * health checks share one reading per `cacheMs`, and concurrent callers share one read in flight.
 *
 * Sources, all asynchronous: CPU load from /proc/stat (cpu-load.ts: systeminformation's currentLoad() blocks the
 * loop with execSync), memory from systeminformation (it reads /proc/meminfo asynchronously); temperature and NICs from
 * sysfs (see temperature.ts, nics.ts for why not systeminformation); disk of the data directory from statfs
 * (one syscall on exactly that file system; systeminformation's fsSize() runs df for all mounts); uptime from
 * os.uptime().
 */
import { statfs } from 'node:fs/promises';
import { uptime } from 'node:os';
import si from 'systeminformation';
import { listNics } from './nics.ts';
import type { ListNicsOptions, NicInfo } from './nics.ts';
import { readTemperatureC } from './temperature.ts';
import { CpuLoad } from './cpu-load.ts';

export interface DiskFacts {
  path: string;
  totalBytes: number;
  /** Available to unprivileged writers (what df shows as Avail). */
  availableBytes: number;
  /** Used share as df computes it: used / (used + available). */
  percent: number;
}

export interface SystemFacts {
  cpuPercent: number;
  memTotalBytes: number;
  /** What can be allocated without swapping (MemAvailable), not "free". */
  memAvailableBytes: number;
  memPercent: number;
  temperatureC: number | null;
  disk: DiskFacts;
  uptimeSec: number;
  /** ISO time of the reading. */
  at: string;
}

export interface SystemSource {
  cpuPercent(): Promise<number>;
  memory(): Promise<{ total: number; available: number }>;
  temperatureC(): Promise<number | null>;
  disk(path: string): Promise<{ totalBytes: number; availableBytes: number; usedBytes: number }>;
  uptimeSec(): number;
  nics(): Promise<NicInfo[]>;
}

export function realSystemSource(nicOptions: ListNicsOptions = {}): SystemSource {
  const cpu = new CpuLoad();
  return {
    cpuPercent: () => cpu.percent(),
    memory: async () => {
      const m = await si.mem();
      return { total: m.total, available: m.available };
    },
    temperatureC: () => readTemperatureC(),
    disk: async (path) => {
      const s = await statfs(path);
      const totalBytes = s.blocks * s.bsize;
      return { totalBytes, availableBytes: s.bavail * s.bsize, usedBytes: (s.blocks - s.bfree) * s.bsize };
    },
    uptimeSec: () => uptime(),
    nics: () => listNics(nicOptions),
  };
}

export interface SystemInfoOptions {
  /** The directory whose file system is reported as "disk" (the config/data directory). */
  dataDir: string;
  /** How long a reading is reused (default 5000 ms). */
  cacheMs?: number;
  source?: SystemSource;
  now?: () => number;
}

interface Cached<T> {
  at: number;
  value: Promise<T>;
}

export class SystemInfo {
  readonly #dataDir: string;
  readonly #cacheMs: number;
  readonly #src: SystemSource;
  readonly #now: () => number;
  #facts: Cached<SystemFacts> | null = null;
  #nics: Cached<NicInfo[]> | null = null;
  #reads = { facts: 0, nics: 0 };

  constructor(o: SystemInfoOptions) {
    if (typeof o.dataDir !== 'string' || o.dataDir === '') throw new Error('system.dataDir: a directory path is required');
    this.#dataDir = o.dataDir;
    this.#cacheMs = o.cacheMs ?? 5000;
    if (!Number.isFinite(this.#cacheMs) || this.#cacheMs < 0) throw new Error('system.cacheMs: must be a number >= 0');
    this.#src = o.source ?? realSystemSource();
    this.#now = o.now ?? Date.now;
  }

  facts(): Promise<SystemFacts> {
    this.#facts = this.#cached(this.#facts, () => {
      this.#reads.facts++;
      return this.#readFacts();
    });
    return this.#facts.value;
  }

  /** Ethernet interfaces for the setup wizard (no `lo`), physical first. */
  listNics(): Promise<NicInfo[]> {
    this.#nics = this.#cached(this.#nics, () => {
      this.#reads.nics++;
      return this.#src.nics();
    });
    return this.#nics.value;
  }

  /** Adapter for HealthInputs.system(). */
  async healthSnapshot(): Promise<{ cpuPercent: number; memPercent: number; diskPercent: number; temperatureC: number | null }> {
    const f = await this.facts();
    return { cpuPercent: f.cpuPercent, memPercent: f.memPercent, diskPercent: f.disk.percent, temperatureC: f.temperatureC };
  }

  /** How many real reads happened (the rest were served from the cache). */
  reads(): { facts: number; nics: number } {
    return { ...this.#reads };
  }

  #cached<T>(c: Cached<T> | null, read: () => Promise<T>): Cached<T> {
    const now = this.#now();
    if (c && now - c.at < this.#cacheMs) return c;
    const value = read();
    const entry: Cached<T> = { at: now, value };
    // A failed read is not cached: the next caller tries again.
    value.catch(() => {
      if (entry === this.#facts) this.#facts = null;
      if ((entry as unknown) === this.#nics) this.#nics = null;
    });
    return entry;
  }

  async #readFacts(): Promise<SystemFacts> {
    const [cpu, mem, temperatureC, disk] = await Promise.all([
      this.#src.cpuPercent(),
      this.#src.memory(),
      this.#src.temperatureC(),
      this.#src.disk(this.#dataDir),
    ]);
    const usedAvail = disk.usedBytes + disk.availableBytes;
    return {
      cpuPercent: round1(cpu),
      memTotalBytes: mem.total,
      memAvailableBytes: mem.available,
      memPercent: mem.total > 0 ? round1((100 * (mem.total - mem.available)) / mem.total) : 0,
      temperatureC,
      disk: {
        path: this.#dataDir,
        totalBytes: disk.totalBytes,
        availableBytes: disk.availableBytes,
        percent: usedAvail > 0 ? round1((100 * disk.usedBytes) / usedAvail) : 0,
      },
      uptimeSec: Math.round(this.#src.uptimeSec()),
      at: new Date(this.#now()).toISOString(),
    };
  }
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
