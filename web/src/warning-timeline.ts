/**
 * The health page's warnings timeline: one row per check and target, a bar for every time it was raised (open to
 * "now" while it still is), over the same window as the resource chart. Built from GetHealthHistory's change
 * list; the table below it stays the accessible, exact form of the same data.
 */
import { timeTicks } from './format.ts';
import { timelineRows } from './timeline-rows.ts';
import type { HealthEvent, Severity } from './types.ts';

const SVG = 'http://www.w3.org/2000/svg';
const ROW = 22;
const LABEL = 220;
const COLORS: Record<Severity, string> = { high: '#b42318', medium: '#f79009', low: '#98a2b3' };

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The timeline as an SVG that scales to its box's width (viewBox), or a line of text when nothing was raised. */
export function renderTimeline(events: HealthEvent[], start: number, end: number, width: number): Element {
  const rows = timelineRows(events, start, end);
  if (rows.length === 0) {
    const p = document.createElement('p');
    p.className = 'muted';
    p.textContent = 'No warning was raised in this period.';
    return p;
  }
  const w = Math.max(420, width);
  const plotW = w - LABEL - 8;
  const h = rows.length * ROW + 24;
  const x = (t: number) => LABEL + ((t - start) / Math.max(1, end - start)) * plotW;
  const svg = el('svg', { viewBox: `0 0 ${w} ${h}`, width: '100%', class: 'timeline', role: 'img' });
  svg.setAttribute('aria-label', `Warnings over time: ${rows.map((r) => `${r.label}${r.open ? ' (still raised)' : ''}`).join('; ')}`);
  rows.forEach((r, i) => {
    const y = i * ROW;
    svg.append(el('text', { x: 0, y: y + 15, class: 'timeline-label' }, r.label.length > 34 ? `${r.label.slice(0, 33)}…` : r.label));
    svg.append(el('line', { x1: LABEL, x2: w - 8, y1: y + ROW / 2, y2: y + ROW / 2, stroke: '#eef0f3' }));
    for (const [a, b] of r.spans) {
      const bar = el('rect', { x: x(a), y: y + 4, width: Math.max(2, x(b) - x(a)), height: ROW - 8, rx: 3, fill: COLORS[r.severity] });
      bar.append(el('title', {}, `${r.label}: ${new Date(a).toLocaleString()} – ${b >= end && r.open ? 'now' : new Date(b).toLocaleString()}`));
      svg.append(bar);
    }
  });
  const ticks = 6;
  const times = Array.from({ length: ticks + 1 }, (_, k) => start + ((end - start) * k) / ticks);
  const labels = timeTicks(times.map((t) => t / 1000));
  times.forEach((t, k) => {
    svg.append(el('text', { x: x(t), y: h - 6, 'text-anchor': k === 0 ? 'start' : k === ticks ? 'end' : 'middle', class: 'timeline-tick' }, labels[k]));
  });
  return svg;
}
