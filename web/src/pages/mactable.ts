/**
 * The hub's MAC table (EnumMacTableEx): which address was learned where — on a cascade (by its name) or on a
 * bridged interface — with a filter box. The stock session names (SID-LINK-n, ...) say nothing to a user; they
 * are only in the row's tooltip and the filter, for matching with SoftEther's own tools.
 */
import type { Page } from '../app.ts';
import { h, replace } from '../dom.ts';
import { duration } from '../format.ts';
import type { MacEntryEx } from '../types.ts';

/** Rendering thousands of rows every few seconds would stall the page; show the first N matches. */
const MAX_ROWS = 500;

const KIND_LABEL: Record<string, string> = { cascade: 'Cascade', local: 'Local bridge' };

/** Whether a row matches the filter text: MAC (any notation), port, kind, session name, or exactly the VLAN. */
function matches(e: MacEntryEx, q: string): boolean {
  if (!q) return true;
  const mac = e.MacAddress_str.toLowerCase();
  const bare = q.replace(/[:.-]/g, '');
  return (
    mac.includes(q) ||
    (bare !== '' && mac.replace(/:/g, '').includes(bare)) ||
    e.Port_str.toLowerCase().includes(q) ||
    (KIND_LABEL[e.PortKind_str] ?? e.PortKind_str).toLowerCase().includes(q) ||
    e.SessionName_str.toLowerCase().includes(q) ||
    String(e.VlanId_u32) === q
  );
}

export const macTablePage: Page = (ctx) => {
  const filter = h('input', { id: 'mac-filter', type: 'search', placeholder: 'MAC, port, kind or VLAN', autocomplete: 'off' });
  const summary = h('p', { class: 'muted small', 'aria-live': 'polite' });
  const body = h('div', { class: 'table-wrap card' });
  ctx.main.append(
    h('h1', null, 'MAC table'),
    h('p', { class: 'muted' }, 'The addresses the bridge hub has learned, and where: on a cascade (the far side) or on a local network port.'),
    h('div', { class: 'toolbar' }, h('div', { class: 'field inline filter' }, h('label', { for: 'mac-filter' }, 'Filter'), filter)),
    summary,
    body,
  );
  let entries: MacEntryEx[] = [];

  function render(): void {
    const q = filter.value.trim().toLowerCase();
    const rows = entries.filter((e) => matches(e, q));
    summary.textContent = `${rows.length} of ${entries.length} entries${rows.length > MAX_ROWS ? `; showing the first ${MAX_ROWS}` : ''}`;
    replace(
      body,
      h(
        'table',
        { class: 'table' },
        h('thead', null, h('tr', null, ['Port', 'Kind', 'MAC address', 'VLAN', 'Last seen'].map((c) => h('th', { scope: 'col' }, c)))),
        h(
          'tbody',
          null,
          rows.length === 0
            ? h('tr', null, h('td', { class: 'muted' }, entries.length ? 'No entry matches the filter.' : 'The table is empty.'))
            : rows.slice(0, MAX_ROWS).map((e) =>
                h(
                  'tr',
                  { 'data-kind': e.PortKind_str, title: e.SessionName_str ? `Session ${e.SessionName_str}` : undefined },
                  h('td', { 'data-k': 'port' }, e.Port_str),
                  h('td', { 'data-k': 'kind' }, h('span', { class: `tag tag-${e.PortKind_str}` }, KIND_LABEL[e.PortKind_str] ?? e.PortKind_str)),
                  h('td', { 'data-k': 'mac' }, h('code', null, e.MacAddress_str.toLowerCase())),
                  h('td', null, e.VlanId_u32 ? String(e.VlanId_u32) : '–'),
                  h('td', null, `${duration(e.AgeSec_u32)} ago`),
                ),
              ),
        ),
      ),
    );
  }
  filter.oninput = render;
  ctx.poll(5, async () => {
    entries = (await ctx.api.call<{ MacTable: MacEntryEx[] }>('EnumMacTableEx')).MacTable;
    render();
  });
};
