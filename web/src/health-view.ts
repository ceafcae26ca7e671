/** Current health warnings, as shown on the dashboard and the Health page. */
import { h } from './dom.ts';
import { dateTime, duration, since } from './format.ts';
import type { HealthWarning } from './types.ts';

const SEVERITY_LABEL = { low: 'Low', medium: 'Medium', high: 'High' } as const;

export function renderWarnings(list: HealthWarning[]): HTMLElement {
  if (list.length === 0) return h('p', { class: 'ok-line', 'data-health': 'ok' }, 'No warnings: everything looks healthy.');
  const order = { high: 0, medium: 1, low: 2 } as const;
  const sorted = [...list].sort((a, b) => (order[a.Severity_str] ?? 3) - (order[b.Severity_str] ?? 3));
  return h(
    'ul',
    { class: 'warnings', 'data-health': 'warn' },
    sorted.map((w) => {
      const age = since(w.BrokenSince_dt);
      return h(
        'li',
        { class: `warning sev-${w.Severity_str}` },
        h('span', { class: `badge sev-${w.Severity_str}` }, SEVERITY_LABEL[w.Severity_str] ?? w.Severity_str),
        h(
          'div',
          null,
          h('strong', null, w.Title_utf),
          w.Target_str ? h('span', { class: 'muted' }, ` · ${w.Target_str}`) : null,
          w.ImpactsConnectivity_bool ? h('span', { class: 'tag tag-bad' }, 'affects connectivity') : null,
          h('p', null, w.Text_utf),
          age !== null ? h('p', { class: 'muted small', title: dateTime(w.BrokenSince_dt) }, `Since ${dateTime(w.BrokenSince_dt)} (${duration(age)})`) : null,
        ),
      );
    }),
  );
}
