/**
 * Issue 6 §3 proof of compatibility: SoftEther's own published Node client (`vpnrpc`) configures sebridge's
 * daemon exactly as it would configure a stock VPN Bridge, and traffic then flows through the real server:
 *
 *   nsA ── veth ── [sebridge run: local bridge on rootDev] ═ cascade ═ real vpnserver hub ── its local bridge ── nsB
 */
import test from 'ava';
import * as vpnrpc from 'vpnrpc';
import { hashPassword } from '../../src/protocol/password.ts';
import { buildE2e, e2eMissing, expectPing, HOST_DEV } from '../bridge/e2e-topology.ts';
import type { E2e } from '../bridge/e2e-topology.ts';
import { linkView } from '../bridge/netinfo.ts';
import { startDaemon } from './daemon-process.ts';
import type { DaemonRun } from './daemon-process.ts';

const missing = e2eMissing();
if (missing) console.error(`\n!!! SKIPPING test/control/vpnrpc.real.test.ts: ${missing} !!!\n`);
const serial = missing ? test.serial.skip : test.serial;

let e2e: E2e;
let daemon: DaemonRun;
const ADMIN_PW = 'vpnrpc-admin-pw-1';

test.before(async () => {
  if (missing) return;
  e2e = await buildE2e();
  daemon = await startDaemon(e2e.lab);
});

test.after.always(async () => {
  await daemon?.stop();
  await e2e?.teardown();
});

const rpc = (password: string) => new vpnrpc.VpnServerRpc('127.0.0.1', daemon.port, '', password, false);

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not within ${ms} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

serial('vpnrpc sets the first admin password on a fresh daemon (its empty hub-name header is server admin)', async (t) => {
  const fresh = rpc('');
  const before = await t.throwsAsync(fresh.EnumLink(new vpnrpc.VpnRpcEnumLink({ HubName_str: 'BRIDGE' })));
  t.regex(before!.message, /admin password must be set first|Error code 12/);
  await fresh.SetServerPassword(new vpnrpc.VpnRpcSetPassword({ PlainTextPassword_str: ADMIN_PW }));
  await t.throwsAsync(rpc('wrong-password').Test(new vpnrpc.VpnRpcTest({ IntValue_u32: 1 })), { message: /401/ });
  const echo = await rpc(ADMIN_PW).Test(new vpnrpc.VpnRpcTest({ IntValue_u32: 12345 }));
  t.is(echo.StrValue_str, '12345');
});

serial('vpnrpc: CreateLink + SetLinkOnline + AddLocalBridge bring the LAN onto the server hub; ping crosses it', async (t) => {
  t.timeout(120_000);
  const api = rpc(ADMIN_PW);
  await api.CreateLink(new vpnrpc.VpnRpcCreateLink({
    HubName_Ex_str: 'BRIDGE',
    AccountName_utf: 'to-hq',
    Hostname_str: e2e.server.host,
    Port_u32: e2e.server.port,
    HubName_str: e2e.hub,
    AuthType_u32: vpnrpc.VpnRpcClientAuthType.SHA0_Hashed_Password,
    Username_str: e2e.user,
    HashedPassword_bin: new Uint8Array(hashPassword(e2e.user, e2e.password)),
    MaxConnection_u32: 8,
    UseEncrypt_bool: true,
    UseCompress_bool: false,
    HalfConnection_bool: false,
    AdditionalConnectionInterval_u32: 1,
    CheckServerCert_bool: false,
  }));
  const links = await api.EnumLink(new vpnrpc.VpnRpcEnumLink({ HubName_str: 'BRIDGE' }));
  t.is(links.LinkList.length, 1);
  t.false(links.LinkList[0].Online_bool, 'created offline, like the stock bridge');
  await api.SetLinkOnline(new vpnrpc.VpnRpcLink({ HubName_str: 'BRIDGE', AccountName_utf: 'to-hq' }));
  await api.AddLocalBridge(new vpnrpc.VpnRpcLocalBridge({ DeviceName_str: e2e.rootDev, HubNameLB_str: 'BRIDGE', TapMode_bool: false }));

  const status = await until('cascade online with 8 connections', async () => {
    const s = await api.GetLinkStatus(new vpnrpc.VpnRpcLinkStatus({ HubName_Ex_str: 'BRIDGE', AccountName_utf: 'to-hq' }));
    return s.Connected_bool && s.NumTcpConnections_u32 === 8 ? s : undefined;
  }, 60_000);
  t.is(status.ServerProductBuild_u32, 9674);
  t.true(status.IsBridgeMode_bool);
  // vpnrpc hands the JSON values through as they are: a _dt is an ISO string, a _bin base64.
  t.false(Number.isNaN(Date.parse(String(status.StartTime_dt))), `StartTime_dt is a date: ${status.StartTime_dt}`);
  const bridges = await api.EnumLocalBridge();
  t.like(bridges.LocalBridgeList[0], { DeviceName_str: e2e.rootDev, Active_bool: true });
  t.true((await linkView(e2e.rootDev)).promiscuity >= 1, 'the NIC is bridged (promiscuous)');

  // The server sees the session as a bridge with 8 TCP connections.
  const sessions = await e2e.server.listSessions(e2e.hub);
  const ours = sessions.find((s) => s.user.toLowerCase() === e2e.user.toLowerCase());
  t.truthy(ours, 'the server lists the cascade session');
  const detail = await e2e.server.getSession(e2e.hub, ours!.name);
  t.is(detail.tcpConnections, 8);
  t.true(detail.bridgeMode);

  await expectPing(t, e2e.nsA, e2e.b.v4, 'nsA → nsB through sebridge and the server');
  await expectPing(t, e2e.nsB, e2e.a.v4, 'nsB → nsA');
  const bMac = (await linkView(HOST_DEV, e2e.nsB)).mac;
  const macs = await api.EnumMacTable(new vpnrpc.VpnRpcEnumMacTable({ HubName_str: 'BRIDGE' }));
  const seen = macs.MacTable.map((m) => Buffer.from(m.MacAddress_bin as unknown as string, 'base64').toString('hex').replace(/(..)(?!$)/g, '$1:'));
  t.true(seen.includes(bMac), `the MAC table shows nsB (${bMac}) from the far side: ${seen.join(' ')}`);
});

serial('vpnrpc: SetLinkOffline ends the session on the server; DeleteLocalBridge gives the NIC back', async (t) => {
  const api = rpc(ADMIN_PW);
  await api.SetLinkOffline(new vpnrpc.VpnRpcLink({ HubName_str: 'BRIDGE', AccountName_utf: 'to-hq' }));
  const e = await t.throwsAsync(api.GetLinkStatus(new vpnrpc.VpnRpcLinkStatus({ HubName_Ex_str: 'BRIDGE', AccountName_utf: 'to-hq' })));
  t.regex(e!.message, /61/);
  await api.DeleteLocalBridge(new vpnrpc.VpnRpcLocalBridge({ DeviceName_str: e2e.rootDev, HubNameLB_str: 'BRIDGE' }));
  t.is((await linkView(e2e.rootDev)).promiscuity, 0);
  await api.DeleteLink(new vpnrpc.VpnRpcLink({ HubName_str: 'BRIDGE', AccountName_utf: 'to-hq' }));
  t.is((await api.EnumLink(new vpnrpc.VpnRpcEnumLink({ HubName_str: 'BRIDGE' }))).LinkList.length, 0);
});
