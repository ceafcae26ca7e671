/** The hub's MAC table: which address was learned on which port/session, with a filter box. */
import type { Page } from '../app.ts';
import { h, replace } from '../dom.ts';
import { fromBase64, toHex } from '../bytes.ts';
import { dateTime, duration, since } from '../format.ts';
import { HUB, type MacEntry } from '../types.ts';

/** Rendering thousands of rows every few seconds would stall the page; show the first N matches. */
const MAX_ROWS = 500;

function mac(b64: string): string {
  try {
    return toHex(fromBase64(b64), ':');
  } catch {
    return b64;
  }
}

export const macTablePage: Page = (ctx) => {
  const filter = h('input', { id: 'mac-filter', type: 'search', placeholder: 'MAC, port or VLAN', autocomplete: 'off' });
  const summary = h('p', { class: 'muted small', 'aria-live': 'polite' });
  const body = h('div', { class: 'table-wrap card' });
  ctx.main.append(
    h('h1', null, 'MAC table'),
    h('div', { class: 'toolbar' }, h('div', { class: 'field inline filter' }, h('label', { for: 'mac-filter' }, 'Filter'), filter)),
    summary,
    body,
  );
  let entries: MacEntry[] = [];

  function render(): void {
    const q = filter.value.trim().toLowerCase();
    const now = Date.now();
    const rows = entries
      .map((e) => ({ e, mac: mac(e.MacAddress_bin), port: e.RemoteItem_bool ? `${e.SessionName_str} (${e.RemoteHostname_str})` : e.SessionName_str }))
      .filter((r) => !q || r.mac.includes(q) || r.mac.replace(/:/g, '').includes(q.replace(/[:-]/g, '')) || r.port.toLowerCase().includes(q) || String(r.e.VlanId_u32) === q);
    summary.textContent = `${rows.length} of ${entries.length} entries${rows.length > MAX_ROWS ? `; showing the first ${MAX_ROWS}` : ''}`;
    replace(
      body,
      h(
        'table',
        { class: 'table' },
        h('thead', null, h('tr', null, ['Port / session', 'MAC address', 'VLAN', 'Learned', 'Age'].map((c) => h('th', { scope: 'col' }, c)))),
        h(
          'tbody',
          null,
          rows.length === 0
            ? h('tr', null, h('td', { class: 'muted' }, entries.length ? 'No entry matches the filter.' : 'The table is empty.'))
            : rows.slice(0, MAX_ROWS).map((r) =>
                h(
                  'tr',
                  null,
                  h('td', null, r.port),
                  h('td', null, h('code', null, r.mac)),
                  h('td', null, r.e.VlanId_u32 ? String(r.e.VlanId_u32) : '–'),
                  h('td', null, dateTime(r.e.CreatedTime_dt)),
                  h('td', null, duration(since(r.e.UpdatedTime_dt, now) ?? NaN)),
                ),
              ),
        ),
      ),
    );
  }
  filter.oninput = render;
  ctx.poll(5, async () => {
    entries = (await ctx.api.call<{ MacTable: MacEntry[] }>('EnumMacTable', { HubName_str: HUB })).MacTable;
    render();
  });
};
