import test from 'ava';
import { HealthTracker } from '../../../src/control/health/tracker.ts';
import type { HealthChange } from '../../../src/control/health/tracker.ts';
import { validateWarnables } from '../../../src/control/health/warnable.ts';
import type { Warnable } from '../../../src/control/health/warnable.ts';
import { WARNABLES } from '../../../src/control/health/warnings.ts';
import { fakeClock } from './fixtures.ts';

const W: Warnable[] = [
  { code: 'parent', title: 'Parent', severity: 'high', impactsConnectivity: true, text: (t) => `${t} down` },
  { code: 'child', title: 'Child', severity: 'medium', dependsOn: ['parent'], text: (t, a) => `${t} quiet ${a.n ?? ''}` },
  { code: 'slow', title: 'Slow', severity: 'low', timeToVisibleMs: 10_000, text: (t) => `${t} slow` },
];

function setup(historyLimit?: number) {
  const clock = fakeClock();
  const tracker = new HealthTracker({ warnables: W, now: clock.now, autoTimer: false, historyLimit });
  const changes: HealthChange[] = [];
  tracker.on('change', (c: HealthChange) => changes.push(c));
  return { clock, tracker, changes };
}

test('the shipped warnables are valid (unique codes, known dependencies, no cycle)', (t) => {
  t.is(validateWarnables(WARNABLES).size, WARNABLES.length);
});

test('bad declarations are refused with the code named', (t) => {
  t.throws(() => validateWarnables([W[0], W[0]]), { message: /parent declared twice/ });
  t.throws(() => validateWarnables([{ ...W[1], dependsOn: ['nope'] }]), { message: /child depends on unknown code nope/ });
  t.throws(
    () => validateWarnables([{ ...W[0], dependsOn: ['child'] }, W[1]]),
    { message: /cycle: parent -> child -> parent/ },
  );
  t.throws(() => validateWarnables([{ ...W[0], code: 'Bad Code' }]), { message: /"Bad Code"/ });
});

test('setUnhealthy makes a warning visible at once without timeToVisible and records broken-since', (t) => {
  const { clock, tracker, changes } = setup();
  const t0 = clock.now();
  tracker.setUnhealthy('parent', 'c1');
  t.is(tracker.brokenSince('parent', 'c1'), t0);
  t.deepEqual(tracker.visible().map((v) => [v.code, v.target, v.text, v.brokenSince]), [['parent', 'c1', 'c1 down', new Date(t0).toISOString()]]);
  t.is(changes.length, 1);
  t.like(changes[0], { code: 'parent', target: 'c1', healthy: false, severity: 'high', impactsConnectivity: true, text: 'c1 down' });
  // Setting it again with the same args is no change: no event, broken-since kept.
  clock.advance(1000);
  tracker.setUnhealthy('parent', 'c1');
  t.is(changes.length, 1);
  t.is(tracker.brokenSince('parent', 'c1'), t0);
  tracker.setHealthy('parent', 'c1');
  t.is(tracker.brokenSince('parent', 'c1'), null);
  t.deepEqual(tracker.visible(), []);
  t.is(changes.length, 2);
  t.like(changes[1], { code: 'parent', healthy: true });
  tracker.setHealthy('parent', 'c1'); // already healthy: nothing
  t.is(changes.length, 2);
});

test('timeToVisible: a flap shorter than it never reaches the UI; a longer one does', (t) => {
  const { clock, tracker, changes } = setup();
  tracker.setUnhealthy('slow', '');
  clock.advance(9_999);
  tracker.reevaluate();
  t.deepEqual(tracker.visible(), []);
  tracker.setHealthy('slow', '');
  t.deepEqual(changes, [], 'short flap: no change at all');
  tracker.setUnhealthy('slow', '');
  clock.advance(10_000);
  tracker.reevaluate();
  t.is(tracker.visible().length, 1);
  t.is(changes.length, 1);
  tracker.reevaluate();
  t.is(changes.length, 1, 're-evaluating without a change emits nothing');
});

test('a broken parent for the same target hides the child; other targets are not hidden', (t) => {
  const { tracker, changes } = setup();
  tracker.setUnhealthy('child', 'c1');
  tracker.setUnhealthy('child', 'c2');
  t.deepEqual(tracker.visible().map((v) => v.target).sort(), ['c1', 'c2']);
  tracker.setUnhealthy('parent', 'c1');
  t.deepEqual(tracker.visible().map((v) => `${v.code}/${v.target}`).sort(), ['child/c2', 'parent/c1']);
  t.like(changes.at(-2), { code: 'child', target: 'c1', healthy: true });
  t.true(tracker.isUnhealthy('child', 'c1'), 'hidden is not healthy');
  t.deepEqual(
    tracker.states().map((x) => `${x.code}/${x.target}:${x.visible}`).sort(),
    ['child/c1:false', 'child/c2:true', 'parent/c1:true'],
  );
  tracker.setHealthy('parent', 'c1');
  t.deepEqual(tracker.visible().map((v) => `${v.code}/${v.target}`).sort(), ['child/c1', 'child/c2']);
});

test('a global parent (target "") hides the child for every target', (t) => {
  const { tracker } = setup();
  tracker.setUnhealthy('child', 'c1');
  tracker.setUnhealthy('parent', '');
  t.deepEqual(tracker.visible().map((v) => v.code), ['parent']);
});

test('a text change of a visible warning is a change; args-only refresh is not', (t) => {
  const { tracker, changes } = setup();
  tracker.setUnhealthy('child', 'c1', { n: 1 });
  tracker.setUnhealthy('child', 'c1', { n: 2 });
  t.deepEqual(changes.map((c) => c.text), ['c1 quiet 1', 'c1 quiet 2']);
  t.is(tracker.history().length, 1, 'history records state changes, not text refreshes');
});

test('batch evaluates once: no transient child between clearing and setting a parent', (t) => {
  const { tracker, changes } = setup();
  tracker.setUnhealthy('parent', 'c1');
  tracker.setUnhealthy('child', 'c1');
  changes.length = 0;
  tracker.batch(() => {
    tracker.setHealthy('child', 'c1');
    tracker.setHealthy('parent', 'c1');
    tracker.setUnhealthy('parent', 'c1', { again: true });
  });
  t.deepEqual(changes, [], 'parent visible before and after with the same text; child never visible');
});

test('history is bounded and keeps the newest entries in order', (t) => {
  const { clock, tracker } = setup(5);
  for (let i = 0; i < 8; i++) {
    clock.advance(1000);
    if (i % 2 === 0) tracker.setUnhealthy('parent', 'x');
    else tracker.setHealthy('parent', 'x');
  }
  const h = tracker.history();
  t.is(h.length, 5);
  t.deepEqual(h.map((e) => e.healthy), [false, true, false, true, false].map((_, i) => (i + 3) % 2 === 1));
  const times = h.map((e) => Date.parse(e.time));
  t.deepEqual(times, [...times].sort((a, b) => a - b));
  t.is(times.at(-1), clock.now());
});

test('unknown codes are refused', (t) => {
  const { tracker } = setup();
  t.throws(() => tracker.setUnhealthy('nope', 'x'), { message: /unknown health code "nope"/ });
});

test('autoTimer makes a pending warning visible by itself when its time has come', async (t) => {
  const tracker = new HealthTracker({
    warnables: [{ code: 'soon', title: 'Soon', severity: 'low', timeToVisibleMs: 50, text: () => 'soon' }],
  });
  const seen = new Promise<HealthChange>((resolve) => tracker.once('change', resolve));
  tracker.setUnhealthy('soon', '');
  t.deepEqual(tracker.visible(), []);
  // The tracker's timer is unref'd (it must not keep a daemon alive); hold the test process open meanwhile.
  const hold = setTimeout(() => {}, 2000);
  const c = await seen;
  clearTimeout(hold);
  t.like(c, { code: 'soon', healthy: false });
  tracker.close();
});
