import test from 'ava';
import { ApiError } from '../../src/control/api/errors.ts';
import { apiHarness } from './api-harness.ts';

test('AddLocalBridge opens the NIC; a missing device is accepted and shown inactive (like the stock bridge)', async (t) => {
  const h = apiHarness();
  await h.call('AddLocalBridge', { DeviceName_str: 'eth1', HubNameLB_str: 'BRIDGE', TapMode_bool: false });
  await h.call('AddLocalBridge', { DeviceName_str: 'eth7', HubNameLB_str: 'BRIDGE', TapMode_bool: false });
  await h.call('AddLocalBridge', { DeviceName_str: 'eth1', HubNameLB_str: 'BRIDGE', TapMode_bool: false });
  const list = (await h.call('EnumLocalBridge')).LocalBridgeList as Array<Record<string, unknown>>;
  t.is(list.length, 2, 'adding the same device twice leaves one entry');
  t.like(list.find((b) => b.DeviceName_str === 'eth1'), { Active_bool: true, Online_bool: true, HubNameLB_str: 'BRIDGE' });
  t.like(list.find((b) => b.DeviceName_str === 'eth7'), { Active_bool: false });
  const ex = (await h.call('EnumLocalBridgeEx')).LocalBridgeList as Array<Record<string, unknown>>;
  t.regex(String(ex.find((b) => b.DeviceName_str === 'eth7')!.LastError_utf), /no interface named eth7/);
  await h.call('DeleteLocalBridge', { DeviceName_str: 'eth1', HubNameLB_str: 'BRIDGE' });
  t.true(h.system.ports.find((p) => p.ifname === 'eth1')!.closed);
  const e = await t.throwsAsync(h.call('DeleteLocalBridge', { DeviceName_str: 'eth1', HubNameLB_str: 'BRIDGE' }), { instanceOf: ApiError });
  t.is(e!.code, 29);
  await h.supervisor.stop();
});

test('TAP mode creates tap_<name>; bad names and a Linux bridge without TAP mode are refused with the field named', async (t) => {
  const h = apiHarness();
  await h.call('AddLocalBridge', { DeviceName_str: 'lan', HubNameLB_str: 'BRIDGE', TapMode_bool: true, LinuxBridge_str: 'br0' });
  t.truthy(h.system.ports.find((p) => p.ifname === 'tap_lan'));
  for (const [params, field] of [
    [{ DeviceName_str: 'a/b', HubNameLB_str: 'BRIDGE' }, /DeviceName_str/],
    [{ DeviceName_str: 'averylongname', HubNameLB_str: 'BRIDGE', TapMode_bool: true }, /DeviceName_str/],
    [{ DeviceName_str: 'eth2', HubNameLB_str: 'BRIDGE', LinuxBridge_str: 'br0' }, /LinuxBridge_str/],
  ] as const) {
    const e = await t.throwsAsync(h.call('AddLocalBridge', params), { instanceOf: ApiError });
    t.is(e!.code, 38);
    t.regex(e!.message, field);
  }
  const e = await t.throwsAsync(h.call('AddLocalBridge', { DeviceName_str: 'eth2', HubNameLB_str: 'OTHER' }), { instanceOf: ApiError });
  t.is(e!.code, 8);
  t.is(h.config.doc.bridges.length, 1);
  await h.supervisor.stop();
});

test('EnumMacTable shows learned MACs with stock-style session names; hub and server status count them', async (t) => {
  const h = apiHarness();
  await h.call('AddLocalBridge', { DeviceName_str: 'eth1', HubNameLB_str: 'BRIDGE' });
  const port = h.system.ports[0];
  const f = Buffer.alloc(60);
  f.fill(0xff, 0, 6);
  Buffer.from('02aabbccddee', 'hex').copy(f, 6);
  port.inject([f]);
  const mt = await h.call('EnumMacTable', { HubName_str: 'BRIDGE' });
  const rows = mt.MacTable as Array<Record<string, unknown>>;
  t.is(rows.length, 1);
  t.is(Buffer.from(String(rows[0].MacAddress_bin), 'base64').toString('hex'), '02aabbccddee');
  t.is(rows[0].SessionName_str, 'SID-LOCALBRIDGE-1');
  const hs = await h.call('GetHubStatus', { HubName_str: 'BRIDGE' });
  t.is(hs.NumMacTables_u32, 1);
  t.is(hs['Recv.UnicastCount_u64'], 1);
  const ss = await h.call('GetServerStatus');
  t.is(Object.keys(ss).length, 36, 'the stock key count');
  const si = await h.call('GetServerInfo');
  t.is(Object.keys(si).length, 17, 'the stock key count');
  await h.supervisor.stop();
});
