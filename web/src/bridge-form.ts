/**
 * Which local network to bridge into the hub: a NIC picker (raw mode: the NIC itself joins the hub) or a
 * TAP device (optionally enslaved to a Linux bridge). Shared by the wizard and the Bridges page.
 */
import type { Api } from './api.ts';
import { h, replace, uid } from './dom.ts';
import { control, FieldError, input } from './forms.ts';
import { speed } from './format.ts';
import { HUB, type EthernetEx } from './types.ts';

export interface BridgeParams {
  DeviceName_str: string;
  HubNameLB_str: string;
  TapMode_bool: boolean;
  LinuxBridge_str: string;
}

export interface BridgeForm {
  el: HTMLElement;
  read(): BridgeParams;
  /** Where an API error naming a field belongs in the current mode. */
  aliases(): Record<string, string>;
  reload(): Promise<void>;
}

const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

export async function bridgeForm(api: Api): Promise<BridgeForm> {
  const rawId = uid('mode');
  const tapId = uid('mode');
  const nicBox = h('div', { class: 'field', 'data-field': 'DeviceName_str' });
  const tapBox = h(
    'div',
    { class: 'tap-fields' },
    input({ label: 'TAP device name', name: 'TapDevice', value: 'vpn0', maxLength: 15, help: 'Created by the appliance; up to 15 letters, digits, ".", "_" or "-".' }),
    input({ label: 'Linux bridge to join (optional)', name: 'LinuxBridge_str', placeholder: 'br0', maxLength: 15, help: 'The TAP device is added to this existing bridge, e.g. one that holds your LAN port.' }),
  );
  const el = h(
    'fieldset',
    { class: 'bridge-form' },
    h('legend', null, 'Local network'),
    h(
      'div',
      { class: 'field radio-row', role: 'radiogroup', 'aria-label': 'Bridge mode' },
      h('span', { class: 'radio' }, h('input', { type: 'radio', id: rawId, name: 'mode', value: 'raw', checked: true, onchange: () => sync() }), h('label', { for: rawId }, 'Bridge a network port directly')),
      h('span', { class: 'radio' }, h('input', { type: 'radio', id: tapId, name: 'mode', value: 'tap', onchange: () => sync() }), h('label', { for: tapId }, 'Use a TAP device')),
    ),
    nicBox,
    tapBox,
  );

  let nics: EthernetEx[] = [];
  const isTap = () => (el.querySelector(`#${tapId}`) as HTMLInputElement).checked;
  function sync(): void {
    nicBox.hidden = isTap();
    tapBox.hidden = !isTap();
  }

  function nicRow(n: EthernetEx, preselect: boolean): HTMLElement {
    const id = uid('nic');
    return h(
      'tr',
      { class: n.InUse_bool ? 'disabled' : undefined },
      h(
        'td',
        null,
        h(
          'span',
          { class: 'radio' },
          h('input', { type: 'radio', id, name: 'DeviceName_str', value: n.DeviceName_str, disabled: n.InUse_bool, checked: preselect }),
          h('label', { for: id }, n.DeviceName_str, n.InUse_bool ? h('span', { class: 'tag' }, 'in use') : null, n.Virtual_bool ? h('span', { class: 'tag' }, 'virtual') : null),
        ),
      ),
      h('td', null, h('code', null, n.MacAddress_str || '–')),
      h('td', null, h('span', { class: n.Carrier_bool ? 'dot dot-ok' : 'dot dot-off' }, n.Carrier_bool ? 'up' : 'no carrier')),
      h('td', null, n.Carrier_bool ? speed(n.SpeedMbps_u32) : '–'),
      h('td', { class: 'addr' }, n.Addresses_str ? n.Addresses_str.split(',').map((a) => h('div', null, a.trim())) : '–'),
    );
  }

  async function reload(): Promise<void> {
    const res = await api.call<{ EthList: EthernetEx[] }>('EnumEthernetEx');
    nics = res.EthList;
    const legendId = uid('nics');
    // With exactly one usable port there is nothing to choose: preselect it.
    const free = nics.filter((n) => !n.InUse_bool);
    const table = h(
      'table',
      { class: 'table nic-table' },
      h('thead', null, h('tr', null, ['Port', 'MAC address', 'Link', 'Speed', 'Addresses'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, nics.map((n) => nicRow(n, free.length === 1 && !n.InUse_bool))),
    );
    replace(
      nicBox,
      h('span', { class: 'label', id: legendId }, 'Network port to bridge'),
      nics.length === 0 ? h('p', { class: 'notice' }, 'No network ports found.') : h('div', { class: 'table-wrap', role: 'radiogroup', 'aria-labelledby': legendId }, table),
    );
  }

  function read(): BridgeParams {
    if (isTap()) {
      const dev = (control(el, 'TapDevice') as HTMLInputElement).value.trim();
      if (!IFNAME_RE.test(dev)) throw new FieldError('TapDevice', 'The TAP device name must be 1 to 15 letters, digits, ".", "_" or "-"');
      const br = (control(el, 'LinuxBridge_str') as HTMLInputElement).value.trim();
      if (br && !IFNAME_RE.test(br)) throw new FieldError('LinuxBridge_str', 'The bridge name must be 1 to 15 letters, digits, ".", "_" or "-"');
      if (nics.some((n) => n.DeviceName_str === dev && n.InUse_bool)) throw new FieldError('TapDevice', `${dev} is already in use`);
      return { DeviceName_str: dev, HubNameLB_str: HUB, TapMode_bool: true, LinuxBridge_str: br };
    }
    const picked = el.querySelector<HTMLInputElement>('input[name="DeviceName_str"]:checked');
    if (!picked) throw new FieldError('DeviceName_str', 'Choose the network port to bridge');
    return { DeviceName_str: picked.value, HubNameLB_str: HUB, TapMode_bool: false, LinuxBridge_str: '' };
  }

  await reload();
  sync();
  return { el, read, reload, aliases: (): Record<string, string> => (isTap() ? { DeviceName_str: 'TapDevice' } : {}) };
}
