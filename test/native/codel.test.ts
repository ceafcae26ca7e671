// CoDel (RFC 8289) as the receive path runs it (native/codel.c), driven on scripted timelines through the addon's
// codelDecisions: when it starts dropping, how fast the drops come, and what ends or defers them.
import test from 'ava';
import { loadNative } from '../../src/ports/native.ts';

const TARGET_US = 5000;
const INTERVAL_US = 100_000;

interface Frame {
  atUs: number;
  sojournUs: number;
  droppable?: boolean;
}

/** Times (µs) of the frames CoDel drops. */
function dropsAt(frames: Frame[], targetUs = TARGET_US, intervalUs = INTERVAL_US): number[] {
  const ev = new Float64Array(frames.length * 3);
  frames.forEach((f, i) => ev.set([f.atUs, f.sojournUs, f.droppable === false ? 0 : 1], i * 3));
  const d = loadNative().codelDecisions(targetUs, intervalUs, ev);
  if (d.length !== frames.length) throw new Error(`codelDecisions answered for ${d.length} frames, asked for ${frames.length}`);
  return frames.filter((_, i) => d[i] === 1).map((f) => f.atUs);
}

/** One frame every `stepUs` from `fromUs` (inclusive) to `toUs` (exclusive), each having waited `sojournUs`. */
function steady(fromUs: number, toUs: number, sojournUs: number, stepUs = 1000): Frame[] {
  const out: Frame[] = [];
  for (let at = fromUs; at < toUs; at += stepUs) out.push({ atUs: at, sojournUs });
  return out;
}

/** The first frame at or after each due time of the control law: t1 = start + interval, t(k+1) = t(k) + interval/√k. */
function expectedDrops(firstAboveUs: number, untilUs: number, stepUs = 1000, startCount = 1): number[] {
  const out: number[] = [];
  let due = firstAboveUs + INTERVAL_US;
  let count = startCount;
  while (due < untilUs) {
    const at = Math.ceil(due / stepUs) * stepUs;
    if (at >= untilUs) break;
    out.push(at);
    due = (out.length === 1 ? at : due) + INTERVAL_US / Math.sqrt(count);
    count++;
  }
  return out;
}

test('frames that waited less than the target are never dropped, however long that lasts', (t) => {
  t.deepEqual(dropsAt(steady(0, 2_000_000, TARGET_US - 1)), []);
});

test('a standing delay: the first drop one interval after it rose above the target, then at interval/√count', (t) => {
  const drops = dropsAt(steady(0, 600_000, 10_000));
  t.deepEqual(drops, expectedDrops(0, 600_000));
  t.deepEqual(drops.slice(0, 5), [100_000, 200_000, 271_000, 329_000, 379_000], 'RFC 8289 control law, by hand');
});

test('a burst worked off within the interval is left alone, however long its first frames waited', (t) => {
  const frames: Frame[] = [];
  for (let burst = 0; burst < 20; burst++) {
    const start = burst * 90_000;
    // the wait climbs to 60 ms, then the reader catches up: below the target after 95 ms
    for (let i = 0; i < 90; i++) frames.push({ atUs: start + i * 1000, sojournUs: i < 40 ? i * 1500 : Math.max(0, 60_000 - (i - 40) * 1200) });
  }
  t.deepEqual(dropsAt(frames), []);
});

test('the dropping state ends as soon as a frame waited less than the target', (t) => {
  const frames = [...steady(0, 250_000, 10_000), ...steady(250_000, 400_000, 1000)];
  t.deepEqual(dropsAt(frames), [100_000, 200_000]);
});

test('a drop due on a frame that may not be dropped falls on the next one that may', (t) => {
  const frames = steady(0, 300_000, 10_000).map((f) => ({ ...f, droppable: !(f.atUs >= 200_000 && f.atUs < 205_000) }));
  const drops = dropsAt(frames);
  t.deepEqual(drops.slice(0, 3), [100_000, 205_000, 271_000], 'deferred to 205 ms; the schedule after it unchanged');
  t.deepEqual(dropsAt(steady(0, 300_000, 10_000).map((f) => ({ ...f, droppable: false }))), [], 'nothing droppable, nothing dropped');
});

test('re-entering soon after a dropping state starts at the drop rate that was reached, not at one per interval', (t) => {
  // First episode: drops at 100, 200, 271, 329, 379, 424 ms (count 6), then the delay falls below target.
  const first = steady(0, 430_000, 10_000);
  const calm = steady(430_000, 500_000, 1000);
  const second = steady(500_000, 800_000, 10_000);
  const drops = dropsAt([...first, ...calm, ...second]);
  const firstDrops = drops.filter((d) => d < 430_000);
  t.is(firstDrops.length, 6);
  const again = drops.filter((d) => d >= 500_000);
  // count - lastcount = 5 drops since entering: re-enter with count 5, so the gap after the first is interval/√5.
  t.is(again[0], 600_000, 'still waits one interval above the target before the first drop');
  t.is(again[1]! - again[0]!, Math.ceil(INTERVAL_US / Math.sqrt(5) / 1000) * 1000);
});

test('target 0 switches it off; bad arguments are refused', (t) => {
  t.deepEqual(dropsAt(steady(0, 1_000_000, 500_000), 0), []);
  const n = loadNative();
  t.throws(() => n.codelDecisions(5000, 100_000, new Float64Array(4)), { message: /rows/ });
  t.throws(() => n.codelDecisions(5000, 100_000, [1, 2, 3] as unknown as Float64Array), { message: /Float64Array/ });
});
