/** Health: current warnings, the history of changes, and thresholds + webhook. */
import type { Page } from '../app.ts';
import { h, replace, toast } from '../dom.ts';
import { busy, clearErrors, FieldError, input, intIn, showError, value } from '../forms.ts';
import { dateTime } from '../format.ts';
import { renderWarnings } from '../health-view.ts';
import { ResourceChart } from '../resource-chart.ts';
import { renderTimeline } from '../warning-timeline.ts';
import type { HealthEvent, HealthSettings, HealthWarning, ResourceHistory } from '../types.ts';

/** The charts' window: what the daemon keeps of the resource readings (24 h at 30 s). */
const WINDOW_MS = 24 * 3600 * 1000;

export const healthPage: Page = async (ctx) => {
  const current = h('div', { 'aria-live': 'polite' });
  const history = h('div', { class: 'table-wrap' });
  const timeline = h('div', { class: 'timeline-box' });
  const chartBox = h('div', { class: 'chart', role: 'img', 'aria-label': 'CPU, memory, disk and temperature over the last 24 hours' });
  const chart = new ResourceChart(chartBox);
  ctx.onLeave(() => chart.destroy());
  let s = await ctx.api.call<HealthSettings>('GetHealthSettings');
  const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save settings');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'hs-title', onsubmit: (ev) => void onSave(ev) },
    h('h2', { id: 'hs-title' }, 'Settings'),
    h(
      'div',
      { class: 'form-grid' },
      input({ label: 'CPU warning above (%)', name: 'CpuWarnPercent_u32', type: 'number', min: 1, max: 100, value: String(s.CpuWarnPercent_u32) }),
      input({ label: 'Memory warning above (%)', name: 'MemoryWarnPercent_u32', type: 'number', min: 1, max: 100, value: String(s.MemoryWarnPercent_u32) }),
      input({ label: 'Disk warning above (%)', name: 'DiskWarnPercent_u32', type: 'number', min: 1, max: 100, value: String(s.DiskWarnPercent_u32) }),
      input({ label: 'Temperature warning above (°C)', name: 'TemperatureWarnC_u32', type: 'number', min: 1, max: 150, value: String(s.TemperatureWarnC_u32) }),
    ),
    input({ label: 'Webhook URL', name: 'WebhookUrl_str', type: 'url', value: s.WebhookUrl_str, placeholder: 'https://hooks.example.com/sebridge', maxLength: 2048, help: 'Receives a JSON POST whenever a warning appears or clears. Leave empty for none.' }),
    h('div', { class: 'actions' }, saveBtn),
  );
  form.noValidate = true;
  ctx.main.append(
    h('h1', null, 'Health'),
    h('section', { class: 'card', 'aria-labelledby': 'hc-title' }, h('h2', { id: 'hc-title' }, 'Current warnings'), current),
    h('section', { class: 'card', 'aria-labelledby': 'hr-title' }, h('h2', { id: 'hr-title' }, 'Resources, last 24 hours'), chartBox),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'hh-title' },
      h('h2', { id: 'hh-title' }, 'History'),
      h('p', { class: 'muted small' }, 'When each warning was raised (bars, same span as the resource chart), then every change.'),
      timeline,
      history,
    ),
    form,
  );

  async function onSave(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    clearErrors(form);
    try {
      const url = value(form, 'WebhookUrl_str').trim();
      if (url && !/^https?:\/\/[^\s]+$/i.test(url)) throw new FieldError('WebhookUrl_str', 'The webhook URL must start with http:// or https://');
      const p: HealthSettings = {
        WebhookUrl_str: url,
        CpuWarnPercent_u32: intIn(form, 'CpuWarnPercent_u32', 'The CPU threshold', 1, 100),
        MemoryWarnPercent_u32: intIn(form, 'MemoryWarnPercent_u32', 'The memory threshold', 1, 100),
        DiskWarnPercent_u32: intIn(form, 'DiskWarnPercent_u32', 'The disk threshold', 1, 100),
        TemperatureWarnC_u32: intIn(form, 'TemperatureWarnC_u32', 'The temperature threshold', 1, 150),
      };
      await busy(saveBtn, 'Saving…', () => ctx.api.call('SetHealthSettings', p));
      s = p;
      toast('Health settings saved.');
    } catch (err) {
      showError(form, err);
    }
  }

  ctx.poll(5, async () => {
    replace(current, renderWarnings((await ctx.api.call<{ WarningList: HealthWarning[] }>('GetHealth')).WarningList));
  });
  // Both charts cover the same span: from the oldest reading the daemon still has (at most 24 h) to now.
  let oldestReading = Date.now();
  ctx.poll(30, async () => {
    const r = await ctx.api.call<ResourceHistory>('GetHealthResourceHistory');
    const first = r.PointList[0] ? Date.parse(r.PointList[0].Time_dt) : Number.NaN;
    if (Number.isFinite(first)) oldestReading = first;
    chart.update(r, s);
  });
  ctx.poll(15, async () => {
    const { EventList } = await ctx.api.call<{ EventList: HealthEvent[] }>('GetHealthHistory');
    const end = Date.now();
    const oldestEvent = Math.min(...EventList.map((e) => Date.parse(e.Time_dt)).filter(Number.isFinite));
    const start = Math.max(end - WINDOW_MS, Math.min(oldestReading, oldestEvent) - 60_000);
    replace(timeline, renderTimeline(EventList, start, end, timeline.clientWidth));
    const events = [...EventList].sort((a, b) => Date.parse(b.Time_dt) - Date.parse(a.Time_dt));
    replace(
      history,
      events.length === 0
        ? h('p', { class: 'muted' }, 'No health events recorded.')
        : h(
            'table',
            { class: 'table' },
            h('thead', null, h('tr', null, ['Time', 'Event', 'Target', 'Severity', 'Details'].map((c) => h('th', { scope: 'col' }, c)))),
            h(
              'tbody',
              null,
              events.map((e) =>
                h(
                  'tr',
                  null,
                  h('td', { class: 'nowrap' }, dateTime(e.Time_dt)),
                  h('td', null, h('span', { class: `state state-${e.Healthy_bool ? 'online' : 'waiting'}` }, e.Healthy_bool ? 'Cleared' : 'Raised'), ' ', h('code', null, e.Code_str)),
                  h('td', null, e.Target_str || '–'),
                  h('td', null, h('span', { class: `badge sev-${e.Severity_str}` }, e.Severity_str)),
                  h('td', null, e.Text_utf),
                ),
              ),
            ),
          ),
    );
  });
};
