/** The UI's poller (web/src/poller.ts) with fake timers: cadence, no overlap, paused while hidden. */
import test from 'ava';
import { Poller } from '../../../web/src/poller.ts';

function harness() {
  let tickFn: (() => void) | null = null;
  let hidden = false;
  const poller = new Poller({
    setInterval: (fn) => {
      tickFn = fn;
      return 1;
    },
    clearInterval: () => {
      tickFn = null;
    },
    isHidden: () => hidden,
  });
  poller.start();
  const tick = async (n = 1) => {
    for (let i = 0; i < n; i++) {
      tickFn?.();
      // Let finished tasks settle (their .finally) before the next tick.
      await new Promise((r) => setImmediate(r));
    }
  };
  return { poller, tick, setHidden: (h: boolean) => (hidden = h), stopped: () => tickFn === null };
}

test('a task runs at once, then every N seconds', async (t) => {
  const { poller, tick } = harness();
  let runs = 0;
  poller.add(3, async () => {
    runs++;
  });
  await tick(0);
  await new Promise((r) => setImmediate(r));
  t.is(runs, 1);
  await tick(2);
  t.is(runs, 1);
  await tick(1);
  t.is(runs, 2);
  await tick(3);
  t.is(runs, 3);
});

test('a slow task never overlaps itself and is rescheduled from its end', async (t) => {
  const { poller, tick } = harness();
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  let release: (() => void) | null = null;
  poller.add(1, () => {
    runs++;
    running++;
    maxRunning = Math.max(maxRunning, running);
    return new Promise<void>((r) => {
      release = () => {
        running--;
        r();
      };
    });
  });
  await tick(5);
  t.is(runs, 1, 'still the first run while it has not finished');
  t.is(poller.runningTasks, 1);
  release!();
  await tick(1);
  t.is(runs, 1, 'next run is one interval after the end, not immediately');
  await tick(1);
  t.is(runs, 2);
  t.is(maxRunning, 1);
});

test('nothing runs while the tab is hidden; refresh() catches up when visible', async (t) => {
  const { poller, tick, setHidden } = harness();
  let runs = 0;
  let ticks = 0;
  poller.add(2, async () => {
    runs++;
  });
  poller.onTick(() => ticks++);
  await tick(1);
  setHidden(true);
  const before = runs;
  await tick(10);
  t.is(runs, before);
  t.is(ticks, 1, 'local tickers pause too');
  setHidden(false);
  poller.refresh();
  await new Promise((r) => setImmediate(r));
  t.is(runs, before + 1);
});

test('a failing task reports the error and keeps its schedule; clear() and stop() end everything', async (t) => {
  const { poller, tick, stopped } = harness();
  const errors: unknown[] = [];
  poller.onError = (e) => errors.push(e);
  let runs = 0;
  poller.add(1, async () => {
    runs++;
    throw new Error('boom');
  });
  await tick(3);
  t.true(runs >= 2);
  t.true(errors.length >= 2);
  t.is((errors[0] as Error).message, 'boom');
  poller.clear();
  const n = runs;
  await tick(3);
  t.is(runs, n);
  const remove = poller.add(1, async () => {
    runs++;
  });
  remove();
  await tick(3);
  t.is(runs, n + 1, 'removed after its first run');
  poller.stop();
  t.true(stopped());
});
