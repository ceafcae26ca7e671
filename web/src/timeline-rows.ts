/** The warnings timeline's data: GetHealthHistory's change list paired into raised spans (pure, no DOM). */
import type { HealthEvent, Severity } from './types.ts';

export interface TimelineRow {
  key: string;
  label: string;
  severity: Severity;
  /** [from, to] in ms; `to` is the window's end for a warning still raised */
  spans: Array<[number, number]>;
  open: boolean;
}

/**
 * Pairs raise/clear events per (code, target). A first event that is a clear (its raise fell out of the bounded
 * history) starts at the window's start; a repeated clear adds nothing; a raise without a clear is still raised
 * and ends at `end`.
 */
export function timelineRows(events: HealthEvent[], start: number, end: number): TimelineRow[] {
  const rows = new Map<string, TimelineRow & { from: number | null; seen: number }>();
  const sorted = [...events].sort((a, b) => Date.parse(a.Time_dt) - Date.parse(b.Time_dt));
  for (const e of sorted) {
    const t = Date.parse(e.Time_dt);
    if (!Number.isFinite(t)) continue;
    const key = `${e.Code_str}\u0000${e.Target_str}`;
    let r = rows.get(key);
    if (!r) {
      r = { key, label: e.Target_str ? `${e.Code_str} · ${e.Target_str}` : e.Code_str, severity: e.Severity_str, spans: [], open: false, from: null, seen: 0 };
      rows.set(key, r);
    }
    const first = r.seen === 0;
    r.seen++;
    r.severity = e.Severity_str;
    if (!e.Healthy_bool) {
      if (r.from === null) r.from = t;
    } else if (r.from !== null) {
      r.spans.push([r.from, t]);
      r.from = null;
    } else if (first) {
      r.spans.push([start, t]); // its raise is older than the history (or the window) holds
    } // else a repeated clear: nothing was raised in between

  }
  const out: TimelineRow[] = [];
  for (const r of rows.values()) {
    if (r.from !== null) {
      r.spans.push([r.from, end]);
      r.open = true;
    }
    const spans = r.spans.filter(([a, b]) => b >= start && a <= end).map(([a, b]): [number, number] => [Math.max(a, start), Math.min(b, end)]);
    if (spans.length > 0) out.push({ key: r.key, label: r.label, severity: r.severity, spans, open: r.open });
  }
  return out.sort((a, b) => Number(b.open) - Number(a.open) || a.label.localeCompare(b.label));
}

