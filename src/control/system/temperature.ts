/**
 * The hottest thermal zone in °C, or null when the machine has none (VMs, many x86 boxes without drivers).
 * Read from /sys/class/thermal asynchronously; systeminformation's cpuTemperature() runs shell commands with
 * execSync on Linux (measured stalls of 12-27 ms of the event loop here).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function readTemperatureC(root = '/sys/class/thermal'): Promise<number | null> {
  let names: string[];
  try {
    names = (await readdir(root)).filter((n) => n.startsWith('thermal_zone'));
  } catch {
    return null;
  }
  const temps = await Promise.all(
    names.map(async (n) => {
      try {
        const milli = Number((await readFile(join(root, n, 'temp'), 'utf8')).trim());
        // Some drivers report nonsense (negative or absurd values) for absent sensors.
        return Number.isFinite(milli) && milli > -40_000 && milli < 200_000 ? milli / 1000 : null;
      } catch {
        return null;
      }
    }),
  );
  const valid = temps.filter((t): t is number => t !== null);
  return valid.length ? Math.max(...valid) : null;
}
