import test from 'ava';
import vpnrpc from 'vpnrpc';
import { ADMIN_PASSWORD, startHarness } from './web-helpers.ts';

const { VpnServerRpc, VpnRpcTest, VpnRpcCreateLink } = vpnrpc;

// SoftEther's own npm client always sends X-VPNADMIN-HUBNAME, empty for the server admin (Debian's 5.01 bridge
// hangs up on that; we must not).
test("SoftEther's npm client vpnrpc: Test round-trips all four value types with an empty hub name", async (t) => {
  const h = await startHarness(t);
  const api = new VpnServerRpc('127.0.0.1', h.port, '', ADMIN_PASSWORD, false);
  const out = await api.Test(new VpnRpcTest({ IntValue_u32: 12345, Int64Value_u64: 2 ** 40, StrValue_str: 'hello', UniStrValue_utf: 'ünïcødé' }));
  t.is(out.IntValue_u32, 12345);
  t.is(out.Int64Value_u64, 2 ** 40);
  t.is(out.StrValue_str, 'hello');
  t.is(out.UniStrValue_utf, 'ünïcødé');
  t.deepEqual(h.calls.map((c) => [c.method, c.caller.kind, c.caller.via]), [['Test', 'admin', 'password']]);
});

test('vpnrpc in hub-admin mode (hub BRIDGE) gets 401 like from the stock bridge; an error from the method table reaches it as JsonRpcException', async (t) => {
  const h = await startHarness(t);
  const hubAdmin = new VpnServerRpc('127.0.0.1', h.port, 'BRIDGE', ADMIN_PASSWORD, false);
  t.regex((await t.throwsAsync(hubAdmin.Test(new VpnRpcTest({ IntValue_u32: 1 }))))!.message, /HTTP Error: 401/);
  const api = new VpnServerRpc('127.0.0.1', h.port, '', ADMIN_PASSWORD, false);
  t.is((await api.Test(new VpnRpcTest({ IntValue_u32: 1 }))).IntValue_u32, 1);
  const err = await t.throwsAsync(api.CreateLink(new VpnRpcCreateLink({ HubName_Ex_str: 'BRIDGE', AccountName_utf: 'x' })));
  t.regex(err.message, /Code=33, Message=Error code 33: method CreateLink is not supported/);
});

test('vpnrpc with a wrong password gets HTTP 401 like from the real server', async (t) => {
  const h = await startHarness(t);
  const api = new VpnServerRpc('127.0.0.1', h.port, '', 'not the password', false);
  const err = await t.throwsAsync(api.Test(new VpnRpcTest({ IntValue_u32: 1 })));
  t.regex(err.message, /HTTP Error: 401/);
  t.is(h.calls.length, 0);
});
