// Run: npx ava --config bench/ava.config.js (the project's ava config only looks at test/).
import test from 'ava';
import { windowAtEnd, windowsInside, type StatusSample } from './status-sampler.ts';

const s = (sent: number, p99Us: number): StatusSample => ({ sent, answered: sent + 20, p99Us, rssBytes: 1 });

test('a window counts only when it began and ended inside the load', (t) => {
  // Windows end at 5 s, 15 s, 25 s, 35 s; samples every second from 0 to 40 s; load from 3 s to 33 s.
  const samples: StatusSample[] = [];
  for (let ms = 0; ms <= 40_000; ms += 1000) samples.push(s(ms, 20_000 + Math.floor((ms + 5000) / 10_000)));
  // The window ending at 15 s began at 5 s (inside); at 25 s began at 15 s; at 5 s began before the load; at 35 s
  // ended after it.
  t.deepEqual(windowsInside(samples, 3000, 33_000), [20_002, 20_003]);
});

test('no whole window in a load shorter than a window plus the sampling period', (t) => {
  const samples: StatusSample[] = [];
  for (let ms = 0; ms <= 30_000; ms += 1000) samples.push(s(ms, 20_000 + Math.floor(ms / 10_000)));
  t.deepEqual(windowsInside(samples, 500, 10_400), []);
  t.deepEqual(windowsInside(samples, 0, 20_100), [20_002]);
});

test('an unchanged value is the same window, not a new one', (t) => {
  t.deepEqual(windowsInside([s(0, 25_000), s(11_000, 25_000), s(12_000, 25_000)], -1, 99_000), []);
});

test('one reading after the load vouches for its window only when the load lasted two windows', (t) => {
  t.is(windowAtEnd(s(21_000, 27_000), 0), 27_000);
  t.is(windowAtEnd(s(20_000, 27_000), 0), 27_000);
  t.is(windowAtEnd(s(19_999, 27_000), 0), undefined);
});
