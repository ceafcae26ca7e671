/**
 * One daemon per data directory. Two `sebridge run` on the same directory would both bridge the same NICs, fight
 * over the offload records and write the config behind each other's back; the second must refuse to start and say
 * who holds the directory.
 *
 * The lock is a small file `DATA/.lock` created with O_EXCL holding "PID STARTTIME TOKEN". It is stale (left by a
 * killed daemon) when no process with that PID and that start time (field 22 of /proc/PID/stat, which tells a
 * reused PID apart) exists any more; a stale lock is taken over. Not fsynced: after a power cut no process holds
 * anything, so a lost or stale lock is harmless. Written once per start, so flash wear does not matter.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from './process-alive.ts';

export class InstanceLockError extends Error {}

export interface InstanceLock {
  readonly path: string;
  release(): Promise<void>;
}

async function startTime(pid: number): Promise<string | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'latin1');
    // the command name (field 2) may contain spaces and parentheses: count fields after the last ')'
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null; // field 22 overall = index 19 after pid, comm
  } catch {
    return null;
  }
}


export async function acquireInstanceLock(dataDir: string): Promise<InstanceLock> {
  const path = join(dataDir, '.lock');
  const token = randomBytes(8).toString('hex');
  const mine = `${process.pid} ${(await startTime(process.pid)) ?? '-'} ${token}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      try {
        await fh.writeFile(mine);
      } finally {
        await fh.close();
      }
      return {
        path,
        async release() {
          // Only our own lock: a later daemon may have taken over a lock we were too slow to release.
          const now = await readFile(path, 'utf8').catch(() => '');
          if (now === mine) await unlink(path).catch(() => {});
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const held = (await readFile(path, 'utf8').catch(() => '')).trim().split(' ');
    const pid = Number(held[0]);
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
      const st = await startTime(pid);
      if (held[1] === '-' || st === null || st === held[1]) {
        throw new InstanceLockError(`${dataDir} is in use by another sebridge (PID ${pid}); stop it first, or use another --data-dir`);
      }
    }
    // Stale (killed daemon, or a PID since reused by something else): take it over.
    await unlink(path).catch(() => {});
  }
  throw new InstanceLockError(`${dataDir}: could not take the lock ${path}`);
}
