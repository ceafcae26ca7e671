/** Logs: level and text filter, live tail; plus the log level / syslog settings. */
import type { Page } from '../app.ts';
import { h, replace, toast } from '../dom.ts';
import { busy, clearErrors, FieldError, input, intIn, select, showError, value } from '../forms.ts';
import { dateTime } from '../format.ts';
import type { LogEntry } from '../types.ts';

const MAX_LINES = 500;
const LEVELS = ['debug', 'info', 'warn', 'error'].map((l) => ({ value: l, label: l }));

export const logsPage: Page = async (ctx) => {
  const level = h('select', { id: 'log-level' }, LEVELS.map((l) => h('option', { value: l.value, selected: l.value === 'info' }, l.label)));
  const text = h('input', { id: 'log-filter', type: 'search', placeholder: 'text in message or object', autocomplete: 'off' });
  const tail = h('input', { id: 'log-tail', type: 'checkbox', checked: true });
  const out = h('div', { class: 'log-view', role: 'log', 'aria-live': 'off', tabindex: '0', 'aria-label': 'Log lines' });
  const status = h('p', { class: 'muted small' });
  const refreshBtn = h('button', { type: 'button', class: 'btn', onclick: () => reload() }, 'Refresh');

  const ls = await ctx.api.call<{ Level_str: string; SyslogHost_str: string; SyslogPort_u32: number }>('GetLogSettings');
  const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save log settings');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'logset', onsubmit: (ev) => void onSave(ev) },
    h('h2', { id: 'logset' }, 'Log settings'),
    h(
      'div',
      { class: 'form-grid' },
      select('Record level', 'Level_str', LEVELS, ls.Level_str),
      input({ label: 'Syslog server (optional)', name: 'SyslogHost_str', value: ls.SyslogHost_str, placeholder: 'syslog.example.com', maxLength: 255 }),
      input({ label: 'Syslog port', name: 'SyslogPort_u32', type: 'number', min: 1, max: 65535, value: String(ls.SyslogPort_u32 || 514) }),
    ),
    h('div', { class: 'actions' }, saveBtn),
  );
  form.noValidate = true;

  ctx.main.append(
    h('h1', null, 'Logs'),
    h(
      'div',
      { class: 'toolbar' },
      h('div', { class: 'field inline' }, h('label', { for: 'log-level' }, 'Minimum level'), level),
      h('div', { class: 'field inline grow' }, h('label', { for: 'log-filter' }, 'Filter'), text),
      h('div', { class: 'field field-check inline' }, tail, h('label', { for: 'log-tail' }, 'Live tail')),
      refreshBtn,
    ),
    status,
    out,
    form,
  );

  let inflight = false;
  let again = false;
  async function load(): Promise<void> {
    if (inflight) {
      // One request at a time; a filter change meanwhile triggers exactly one more load afterwards.
      again = true;
      return;
    }
    inflight = true;
    try {
      const { LogList } = await ctx.api.call<{ LogList: LogEntry[] }>('GetLogs', { MinLevel_str: level.value, Filter_utf: text.value.trim(), Max_u32: MAX_LINES });
      const atBottom = out.scrollHeight - out.scrollTop - out.clientHeight < 24;
      replace(
        out,
        LogList.length === 0
          ? h('p', { class: 'muted' }, 'No log lines match.')
          : LogList.map((l) =>
              h(
                'div',
                { class: `log-line lvl-${l.Level_str}` },
                h('span', { class: 'log-time' }, dateTime(l.Time_dt)),
                h('span', { class: 'log-level' }, l.Level_str.toUpperCase()),
                l.Object_str ? h('span', { class: 'log-obj' }, l.Object_str) : null,
                h('span', { class: 'log-msg' }, l.Message_utf),
              ),
            ),
      );
      if (atBottom || tail.checked) out.scrollTop = out.scrollHeight;
      status.textContent = `${LogList.length} line${LogList.length === 1 ? '' : 's'}${LogList.length >= MAX_LINES ? ` (the newest ${MAX_LINES})` : ''} · updated ${new Date().toLocaleTimeString()}`;
    } finally {
      inflight = false;
      if (again) {
        again = false;
        reload();
      }
    }
  }
  function reload(): void {
    load().catch((err: unknown) => {
      status.textContent = `Could not load the logs: ${err instanceof Error ? err.message : String(err)}`;
    });
  }
  level.onchange = reload;
  let debounce: number | undefined;
  text.oninput = () => {
    window.clearTimeout(debounce);
    debounce = window.setTimeout(reload, 300);
  };
  ctx.onLeave(() => window.clearTimeout(debounce));
  ctx.poll(2, async () => {
    if (tail.checked || out.childElementCount === 0) await load();
  });

  async function onSave(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    clearErrors(form);
    try {
      const host = value(form, 'SyslogHost_str').trim();
      if (/[\s/]/.test(host)) throw new FieldError('SyslogHost_str', 'The syslog server must be a host name or IP address');
      const p = { Level_str: value(form, 'Level_str'), SyslogHost_str: host, SyslogPort_u32: intIn(form, 'SyslogPort_u32', 'The syslog port', 1, 65535) };
      await busy(saveBtn, 'Saving…', () => ctx.api.call('SetLogSettings', p));
      toast('Log settings saved.');
    } catch (err) {
      showError(form, err);
    }
  }
};
