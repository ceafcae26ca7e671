import test from 'ava';
import { CpuLoad, parseProcStat } from '../../../src/control/system/cpu-load.ts';

const stat = (user: number, idle: number) => `cpu  ${user} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 1 2 3 4\n`;

test('parseProcStat: busy and total from the aggregate line; garbage is refused', (t) => {
  t.deepEqual(parseProcStat('cpu  10 1 2 100 5 1 1 0 7 0\n'), { busy: 15, total: 120 });
  t.throws(() => parseProcStat('intr 1 2 3\n'));
  t.throws(() => parseProcStat('cpu a b c d\n'));
});

test('CpuLoad: the load between two readings; the first reading samples twice', async (t) => {
  const samples = [stat(100, 900), stat(150, 950), stat(250, 950)];
  const load = new CpuLoad({ read: async () => samples.shift()!, firstGapMs: 1 });
  t.is(await load.percent(), 50);
  t.is(await load.percent(), 100);
});

test('CpuLoad on this machine reads /proc/stat without blocking the loop', async (t) => {
  const load = new CpuLoad({ firstGapMs: 50 });
  const p = await load.percent();
  t.true(p >= 0 && p <= 100);
});
