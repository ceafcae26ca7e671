import test from 'ava';
import fc from 'fast-check';
import { LoopDelayMonitor } from '../../../src/control/metrics/loop-delay.ts';
import { RateRing } from '../../../src/control/metrics/rate-ring.ts';
import { counterDelta, TrafficHistory } from '../../../src/control/metrics/traffic-history.ts';
import type { TrafficCounters } from '../../../src/control/metrics/traffic-history.ts';

function setup(over: Partial<ConstructorParameters<typeof TrafficHistory>[0]> = {}) {
  let t = 1_000_000;
  const counters = new Map<string, TrafficCounters>();
  const set = (name: string, bytesIn: number, bytesOut: number) => counters.set(name, { name, bytesIn, bytesOut });
  const h = new TrafficHistory({ source: () => [...counters.values()], now: () => t, ...over });
  return { h, set, counters, advance: (ms: number) => void (t += ms), now: () => t };
}

test('rate = delta / real elapsed time, per cascade, oldest first', (t) => {
  const { h, set, advance } = setup();
  set('a', 0, 0);
  h.sample();
  t.deepEqual(h.series('a')!.columns, [[], [], []], 'one sample is no rate yet');
  set('a', 10_000, 5_000);
  advance(10_000);
  h.sample();
  set('a', 30_000, 5_000);
  advance(20_000); // a late timer: the real interval counts
  h.sample();
  const [ts, inB, outB] = h.series('a')!.columns;
  t.deepEqual(inB, [1000, 1000]);
  t.deepEqual(outB, [500, 0]);
  t.deepEqual(ts, [1_010_000, 1_030_000]);
  t.is(h.series('a')!.intervalMs, 10_000);
  t.is(h.series('nope'), null);
});

test('a counter reset counts as restarted from 0, never as a negative rate', (t) => {
  const { h, set, advance } = setup();
  set('a', 1_000_000, 1_000_000);
  h.sample();
  set('a', 20_000, 0); // cascade re-created
  advance(10_000);
  h.sample();
  t.deepEqual(h.series('a')!.columns.slice(1), [[2000], [0]]);
  t.is(counterDelta(5, 3), 3);
  t.is(counterDelta(3, 5), 2);
});

test('the fine ring holds 1 h (360 points) and the coarse ring 24 h of 5-min averages', (t) => {
  const { h, set, advance } = setup();
  let bytes = 0;
  set('a', 0, 0);
  h.sample();
  for (let i = 1; i <= 400; i++) {
    bytes += i <= 30 ? 10_000 : 20_000; // 1000 B/s for the first 5 min, then 2000 B/s
    set('a', bytes, 0);
    advance(10_000);
    h.sample();
  }
  const fine = h.series('a', '1h')!.columns;
  t.is(fine[0].length, 360);
  t.true(fine[1].every((r) => r === 2000));
  const coarse = h.series('a', '24h')!;
  t.is(coarse.intervalMs, 300_000);
  t.deepEqual(coarse.columns[1], [1000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000]);
});

test('property: a ring never exceeds its capacity and keeps the newest points in order', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 50 }), fc.array(fc.double({ noNaN: true }), { maxLength: 200 }), (cap, values) => {
      const r = new RateRing(cap);
      values.forEach((v, i) => r.push(i, v, -v));
      const [ts, a, b] = r.columns();
      const keep = values.slice(-cap);
      return r.size === Math.min(cap, values.length) && a.length === keep.length &&
        a.every((v, i) => Object.is(v, keep[i])) && b.every((v, i) => Object.is(v, -keep[i])) &&
        ts.every((x, i) => x === values.length - keep.length + i);
    }),
  );
  t.pass();
});

test('series of cascades that are gone are removed; the number of series is bounded', (t) => {
  const { h, set, counters } = setup({ maxSeries: 2 });
  set('a', 0, 0);
  set('b', 0, 0);
  set('c', 0, 0);
  h.sample();
  t.deepEqual(h.names(), ['a', 'b']);
  t.deepEqual(h.stats(), { series: 2, ignoredSeries: 1 });
  counters.delete('a');
  h.sample();
  t.deepEqual(h.names().sort(), ['b', 'c']);
});

test('rate now: live counters against the newest sample once it is 2 s old, else the last interval', (t) => {
  const { h, set, advance } = setup();
  set('a', 0, 0);
  h.sample();
  t.is(h.rateNow('a'), null, 'nothing to compare within the first 2 s');
  set('a', 50_000, 0);
  advance(10_000);
  h.sample();
  set('a', 50_100, 0);
  advance(1000);
  t.like(h.rateNow('a'), { inBps: 5000 }, '1 s after the sample: the last interval');
  advance(1000);
  t.like(h.rateNow('a'), { inBps: 50 }, '2 s after: live');
  t.is(h.rateNow('x'), null);
});

test('start() samples at once and then every interval; stop() ends it', async (t) => {
  let reads = 0;
  const h = new TrafficHistory({ source: () => (reads++, []), intervalMs: 100 });
  h.start();
  t.is(reads, 1);
  await new Promise((r) => setTimeout(r, 250));
  h.stop();
  const n = reads;
  t.true(n >= 3, `${n} reads`);
  await new Promise((r) => setTimeout(r, 200));
  t.is(reads, n);
});

test('options are validated with the field named', (t) => {
  t.throws(() => new TrafficHistory({ source: () => [], intervalMs: 0 }), { message: /metrics\.intervalMs/ });
  t.throws(() => new TrafficHistory({ source: () => [], fineCapacity: 1.5 }), { message: /metrics\.fineCapacity/ });
});

test('event-loop delay: a 60 ms block shows in p99 and max (µs)', async (t) => {
  const m = new LoopDelayMonitor({ resolutionMs: 5, windowMs: 60_000 });
  t.is(m.read(), null);
  m.start();
  await new Promise((r) => setTimeout(r, 100));
  const end = performance.now() + 60;
  while (performance.now() < end); // block the loop on purpose
  await new Promise((r) => setTimeout(r, 50));
  const d = m.read()!;
  m.stop();
  t.true(d.samples > 0);
  t.true(d.maxUs >= 50_000, `max ${d.maxUs} µs`);
  t.true(d.p99Us >= 50_000, `p99 ${d.p99Us} µs`);
  t.true(d.p50Us < 50_000, `p50 ${d.p50Us} µs`);
});
