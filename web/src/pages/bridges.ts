/** Local bridges: which network ports (or TAP devices) are joined to the hub; add and delete. */
import type { Page } from '../app.ts';
import { confirmDialog, h, replace, toast } from '../dom.ts';
import { busy, clearErrors, showError } from '../forms.ts';
import { bridgeForm } from '../bridge-form.ts';
import { bytes, count, dropReason, speed } from '../format.ts';
import type { BridgeEx } from '../types.ts';

export const bridgesPage: Page = async (ctx) => {
  const list = h('div');
  const bf = await bridgeForm(ctx.api);
  const addBtn = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add bridge');
  const form = h('form', { class: 'card', 'aria-labelledby': 'add-br', onsubmit: (ev) => void onAdd(ev) }, h('h2', { id: 'add-br' }, 'Add a bridge'), bf.el, h('div', { class: 'actions' }, addBtn));
  form.noValidate = true;
  ctx.main.append(
    h('h1', null, 'Bridges'),
    h('p', { class: 'muted' }, 'A local bridge joins a network port of this appliance to the virtual hub, so the LAN behind it reaches the VPN.'),
    list,
    form,
  );

  async function onAdd(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    clearErrors(form);
    try {
      const p = bf.read();
      await busy(addBtn, 'Adding…', () => ctx.api.call('AddLocalBridge', p));
      toast(`${p.DeviceName_str} bridged.`);
      await bf.reload();
      ctx.poller.refresh();
    } catch (err) {
      showError(form, err, bf.aliases());
    }
  }

  function row(b: BridgeEx): HTMLElement {
    const del = h('button', { type: 'button', class: 'btn btn-small btn-danger' }, 'Delete');
    del.onclick = async () => {
      if (!(await confirmDialog('Delete bridge?', `${b.DeviceName_str} will be disconnected from the hub.`, 'Delete'))) return;
      try {
        await busy(del, 'Deleting…', () => ctx.api.call('DeleteLocalBridge', { DeviceName_str: b.DeviceName_str, HubNameLB_str: 'BRIDGE', TapMode_bool: b.TapMode_bool }));
        toast(`${b.DeviceName_str} removed.`);
        await bf.reload();
        ctx.poller.refresh();
      } catch (err) {
        toast(err instanceof Error ? err.message : String(err), 'error');
      }
    };
    const drops = b.DropList.reduce((n, d) => n + d.Count_u64, 0);
    return h(
      'tr',
      { 'data-bridge': b.DeviceName_str },
      h('td', null, h('strong', null, b.DeviceName_str), b.InterfaceName_str && b.InterfaceName_str !== b.DeviceName_str ? h('span', { class: 'muted small' }, ` (${b.InterfaceName_str})`) : null),
      h('td', null, b.TapMode_bool ? `TAP${b.LinuxBridge_str ? ` → ${b.LinuxBridge_str}` : ''}` : 'Raw'),
      h('td', null, h('span', { class: `state state-${b.Active_bool && b.Carrier_bool ? 'online' : 'offline'}` }, !b.Present_bool ? 'Missing' : !b.Carrier_bool ? 'No carrier' : b.Active_bool ? 'Active' : 'Inactive')),
      h('td', null, b.Carrier_bool ? speed(b.SpeedMbps_u32) : '–'),
      h('td', null, `${count(b.FramesIn_u64)} / ${count(b.FramesOut_u64)}`),
      h('td', null, `${bytes(b.BytesIn_u64)} / ${bytes(b.BytesOut_u64)}`),
      h('td', { title: b.DropList.map((d) => `${dropReason(d.Reason_str)}: ${d.Count_u64}`).join(', ') }, count(drops)),
      h('td', null, h('div', { class: 'row-actions' }, del)),
    );
  }

  ctx.poll(5, async () => {
    const { LocalBridgeList } = await ctx.api.call<{ LocalBridgeList: BridgeEx[] }>('EnumLocalBridgeEx');
    replace(
      list,
      LocalBridgeList.length === 0
        ? h('p', { class: 'card empty' }, 'No bridge yet: add one below.')
        : h(
            'div',
            { class: 'table-wrap card' },
            h(
              'table',
              { class: 'table' },
              h('thead', null, h('tr', null, ['Device', 'Mode', 'State', 'Speed', 'Frames in / out', 'Bytes in / out', 'Drops', ''].map((c) => h('th', { scope: 'col' }, c)))),
              h('tbody', null, LocalBridgeList.map(row)),
            ),
          ),
    );
  });
};
