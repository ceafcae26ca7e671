/** The health page's warnings timeline: raise/clear pairing from GetHealthHistory's change list. */
import test from 'ava';
import { timelineRows } from '../../../web/src/timeline-rows.ts';
import type { HealthEvent } from '../../../web/src/types.ts';

const T0 = Date.parse('2026-12-03T00:00:00Z');
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();
const ev = (min: number, code: string, target: string, healthy: boolean, severity: HealthEvent['Severity_str'] = 'high'): HealthEvent => ({
  Time_dt: at(min), Code_str: code, Target_str: target, Severity_str: severity, Healthy_bool: healthy, Text_utf: `${code} ${target}`,
});

test('raise/clear pairs become spans; a raise still open ends at now; rows still raised come first', (t) => {
  const events = [
    ev(50, 'cascade-down', 'hq', true), // newest first, as the page may get them
    ev(10, 'cascade-down', 'hq', false),
    ev(60, 'cascade-down', 'hq', false),
    ev(30, 'memory-high', '', false, 'medium'),
    ev(40, 'memory-high', '', true, 'medium'),
  ];
  const rows = timelineRows(events, T0, T0 + 120 * 60_000);
  t.deepEqual(rows.map((r) => [r.label, r.open]), [['cascade-down · hq', true], ['memory-high', false]]);
  t.deepEqual(rows[0]!.spans, [[T0 + 10 * 60_000, T0 + 50 * 60_000], [T0 + 60 * 60_000, T0 + 120 * 60_000]]);
  t.deepEqual(rows[1]!.spans, [[T0 + 30 * 60_000, T0 + 40 * 60_000]]);
  t.is(rows[1]!.severity, 'medium');
});

test('a clear whose raise fell out of the history starts at the window; spans outside the window are dropped or clipped', (t) => {
  const rows = timelineRows(
    [ev(20, 'carrier-lost', 'eth1', true), ev(-300, 'disk-high', '', false), ev(-200, 'disk-high', '', true), ev(-10, 'clock-wrong', '', false), ev(5, 'clock-wrong', '', true)],
    T0,
    T0 + 60 * 60_000,
  );
  t.deepEqual(rows.map((r) => r.label), ['carrier-lost · eth1', 'clock-wrong']);
  t.deepEqual(rows[0]!.spans, [[T0, T0 + 20 * 60_000]]);
  t.deepEqual(rows[1]!.spans, [[T0, T0 + 5 * 60_000]], 'clipped to the window start');
});

test('a repeated clear adds nothing (it does not reach back to the window start)', (t) => {
  const rows = timelineRows([ev(10, 'cascade-down', 'hq', false), ev(12, 'cascade-down', 'hq', true), ev(14, 'cascade-down', 'hq', true)], T0, T0 + 60 * 60_000);
  t.deepEqual(rows[0]!.spans, [[T0 + 10 * 60_000, T0 + 12 * 60_000]]);
  t.false(rows[0]!.open);
});
