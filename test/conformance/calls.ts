import { hashPassword } from '../../src/protocol/password.ts';
import type { RpcAuth, RpcCallOptions, RpcReply } from './jsonrpc-client.ts';
import { shapeOf, type Shape } from './shape.ts';

/**
 * The conformance calls: one ordered script of JSON-RPC calls that any target answering SoftEther's admin API can
 * be put through (the stock vpnbridge, sebridge). Each call says what it sends, what kind of answer it expects
 * (a result, a JSON-RPC error with a code, an HTTP status, a hang-up) and, for results, a few facts about the
 * values that hold whatever the target is. The key/type shapes are not written here: they are recorded from the
 * stock bridge into expected-shapes.json by record.ts.
 *
 * Plugging in a target means giving a `ConformanceTarget`: a `call` function (jsonRpcClient(...).call will do) and
 * a `CallContext` saying which hub, which LAN device exists, and which real server the cascade may connect to.
 */

/** What the calls need to know about the target's surroundings. */
export interface CallContext {
  /** the bridge hub: "BRIDGE" on a SoftEther VPN Bridge */
  hub: string;
  /** the current server admin password (SetServerPassword re-sets it to this value) */
  adminPassword: string;
  /** a network device that exists on the target's machine/namespace and may be bridged */
  lanDevice: string;
  /** a name that is no network device there */
  missingDevice: string;
  /** a real SoftEther server with a hub and password user, reachable from the target */
  cascade: { host: string; port: number; hub: string; user: string; password: string };
  /** makes some frames appear on lanDevice (so the hub learns a MAC address); called while polling EnumMacTable */
  stimulateLan?: () => Promise<void>;
}

export interface ConformanceTarget {
  call(method: string, params: Record<string, unknown>, opts?: RpcCallOptions): Promise<RpcReply>;
  context: CallContext;
}

/** What a call is expected to produce, and what was observed: the same vocabulary. */
export type Expectation =
  | { kind: 'result' }
  | { kind: 'error'; code: number }
  /** an HTTP status without a JSON-RPC body (401 with an HTML page) */
  | { kind: 'http'; status: number }
  /** the server closes the connection without an HTTP reply */
  | { kind: 'hangup' };

export type Observation =
  | { kind: 'result'; shape: Shape; result: Record<string, unknown> }
  | { kind: 'error'; code: number; message: string; httpStatus: number }
  | { kind: 'http'; status: number }
  | { kind: 'hangup'; detail: string }
  | { kind: 'timeout'; detail: string };

export interface ConformanceCall {
  /** unique, stable id (the key in expected-shapes.json) */
  id: string;
  method: string;
  params: (ctx: CallContext) => Record<string, unknown>;
  /** other credentials than the target's default server-admin ones */
  auth?: (ctx: CallContext) => RpcAuth;
  /** a body sent instead of the JSON-RPC request built from method and params */
  rawBody?: string;
  expect: Expectation;
  /** repeat the call (1 s apart) until the result satisfies this, e.g. a link that must be connected first */
  until?: { what: string; test: (result: Record<string, unknown>) => boolean; timeoutMs: number; stimulateLan?: boolean };
  /** facts about the result's values that any conforming target shows; returns problems ("" list when fine) */
  check?: (result: Record<string, unknown>, ctx: CallContext) => string[];
  /**
   * Set when the stock bridge's behaviour is one a reimplementation may deliberately not copy; says why. Such
   * calls are recorded and checked against the stock bridge like all others; a second target may leave them out,
   * loudly (see `callsFor`).
   */
  quirk?: string;
}

const LINK_UP = 'conf-up';
const LINK_PLAIN = 'conf-plain';
const LINK_PLAIN_RENAMED = 'conf-plain2';
const LINK_REFUSED = 'conf-refused';
const TAP_NAME = 'conftap';

function linkParams(ctx: CallContext, name: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const c = ctx.cascade;
  return {
    HubName_Ex_str: ctx.hub,
    AccountName_utf: name,
    Hostname_str: c.host,
    Port_u32: c.port,
    HubName_str: c.hub,
    AuthType_u32: 1,
    Username_str: c.user,
    HashedPassword_bin: hashPassword(c.user, c.password).toString('base64'),
    CheckServerCert_bool: false,
    MaxConnection_u32: 2,
    UseEncrypt_bool: true,
    UseCompress_bool: false,
    HalfConnection_bool: false,
    AdditionalConnectionInterval_u32: 1,
    ...over,
  };
}

function plainLinkParams(ctx: CallContext, name: string): Record<string, unknown> {
  const p = linkParams(ctx, name, { AuthType_u32: 2, PlainPassword_str: ctx.cascade.password });
  delete p.HashedPassword_bin;
  return p;
}

const hubLink = (name: string) => (ctx: CallContext) => ({ HubName_str: ctx.hub, AccountName_utf: name });
const hubExLink = (name: string) => (ctx: CallContext) => ({ HubName_Ex_str: ctx.hub, AccountName_utf: name });

/** problems unless result[key] equals want */
function expectValue(result: Record<string, unknown>, key: string, want: unknown): string[] {
  return result[key] === want ? [] : [`${key} is ${JSON.stringify(result[key])}, expected ${JSON.stringify(want)}`];
}

function list(result: Record<string, unknown>, key: string): Array<Record<string, unknown>> {
  const v = result[key];
  return Array.isArray(v) ? (v as Array<Record<string, unknown>>) : [];
}

const ZERO_TIME = '1970-01-01T09:00:00.000Z';
const SECRET_ECHO_QUIRK = 'echoes secrets (admin or link password) on read; a target may blank the values but keeps the keys';

export const CONFORMANCE_CALLS: readonly ConformanceCall[] = [
  // --- read-only server information
  {
    id: 'Test', method: 'Test', expect: { kind: 'result' },
    params: () => ({ IntValue_u32: 7, Int64Value_u64: 12345678901234, StrValue_str: 'ignored', UniStrValue_utf: 'äö€' }),
    check: (r) => [...expectValue(r, 'IntValue_u32', 7), ...expectValue(r, 'StrValue_str', '7'), ...expectValue(r, 'Int64Value_u64', 12345678901234), ...expectValue(r, 'UniStrValue_utf', 'äö€')],
  },
  { id: 'Test/empty', method: 'Test', params: () => ({}), expect: { kind: 'result' }, check: (r) => [...expectValue(r, 'IntValue_u32', 0), ...expectValue(r, 'StrValue_str', '0')] },
  {
    id: 'GetServerInfo', method: 'GetServerInfo', params: () => ({}), expect: { kind: 'result' },
    check: (r) => [...expectValue(r, 'ServerType_u32', 0), ...(/VPN Bridge/.test(String(r.ServerProductName_str)) ? [] : [`ServerProductName_str ${JSON.stringify(r.ServerProductName_str)} does not say "VPN Bridge"`])],
  },
  { id: 'GetServerStatus', method: 'GetServerStatus', params: () => ({}), expect: { kind: 'result' }, check: (r) => expectValue(r, 'NumHubTotal_u32', 1) },
  {
    id: 'GetCaps', method: 'GetCaps', params: () => ({}), expect: { kind: 'result' },
    check: (r) => [...expectValue(r, 'caps_b_bridge_u32', 1), ...expectValue(r, 'caps_b_local_bridge_u32', 1), ...expectValue(r, 'caps_b_support_cascade_u32', 1)],
  },
  { id: 'GetBridgeSupport', method: 'GetBridgeSupport', params: () => ({}), expect: { kind: 'result' }, check: (r) => expectValue(r, 'IsBridgeSupportedOs_bool', true) },
  {
    id: 'EnumEthernet', method: 'EnumEthernet', params: () => ({}), expect: { kind: 'result' },
    check: (r, ctx) => (list(r, 'EthList').some((e) => e.DeviceName_str === ctx.lanDevice) ? [] : [`EthList does not list ${ctx.lanDevice}`]),
  },
  {
    id: 'EnumHub', method: 'EnumHub', params: () => ({}), expect: { kind: 'result' },
    check: (r, ctx) => (list(r, 'HubList').map((h) => h.HubName_str).join() === ctx.hub ? [] : [`HubList is not exactly [${ctx.hub}]`]),
  },
  { id: 'GetHubStatus', method: 'GetHubStatus', params: (ctx) => ({ HubName_str: ctx.hub }), expect: { kind: 'result' }, check: (r, ctx) => expectValue(r, 'HubName_str', ctx.hub) },
  {
    id: 'SetServerPassword', method: 'SetServerPassword', params: (ctx) => ({ PlainTextPassword_str: ctx.adminPassword }), expect: { kind: 'result' },
    quirk: SECRET_ECHO_QUIRK,
  },

  // --- cascades (links)
  {
    id: 'CreateLink/hashed', method: 'CreateLink', params: (ctx) => linkParams(ctx, LINK_UP), expect: { kind: 'result' },
    check: (r) => [...expectValue(r, 'AccountName_utf', LINK_UP), ...expectValue(r, 'Online_bool', false)],
  },
  { id: 'CreateLink/plain', method: 'CreateLink', params: (ctx) => plainLinkParams(ctx, LINK_PLAIN), expect: { kind: 'result' }, quirk: SECRET_ECHO_QUIRK },
  { id: 'CreateLink/refused-port', method: 'CreateLink', params: (ctx) => linkParams(ctx, LINK_REFUSED, { Port_u32: 1 }), expect: { kind: 'result' } },
  { id: 'CreateLink/duplicate', method: 'CreateLink', params: (ctx) => linkParams(ctx, LINK_UP), expect: { kind: 'error', code: 59 } },
  { id: 'CreateLink/only-hub', method: 'CreateLink', params: (ctx) => ({ HubName_Ex_str: ctx.hub }), expect: { kind: 'error', code: 23 }, quirk: 'stock answers "internal error" (23) where 38 would be more telling' },
  {
    id: 'GetLink/hashed', method: 'GetLink', params: hubExLink(LINK_UP), expect: { kind: 'result' },
    check: (r) => [...expectValue(r, 'Online_bool', false), ...expectValue(r, 'NumRetry_u32', 4294967295), ...expectValue(r, 'RetryInterval_u32', 10), ...expectValue(r, 'RequireBridgeRoutingMode_bool', true)],
  },
  { id: 'GetLink/plain', method: 'GetLink', params: hubExLink(LINK_PLAIN), expect: { kind: 'result' }, quirk: SECRET_ECHO_QUIRK },
  { id: 'GetLink/unknown', method: 'GetLink', params: hubExLink('conf-nosuch'), expect: { kind: 'error', code: 29 } },
  { id: 'GetLink/no-name', method: 'GetLink', params: (ctx) => ({ HubName_Ex_str: ctx.hub }), expect: { kind: 'error', code: 29 } },
  { id: 'GetLink/no-params', method: 'GetLink', params: () => ({}), expect: { kind: 'error', code: 38 } },
  { id: 'GetLink/hub-key-without-Ex', method: 'GetLink', params: hubLink(LINK_UP), expect: { kind: 'error', code: 38 } },
  {
    id: 'GetLink/name-case-insensitive', method: 'GetLink', params: hubExLink(LINK_UP.toUpperCase()), expect: { kind: 'result' },
    check: (r) => expectValue(r, 'AccountName_utf', LINK_UP),
  },
  { id: 'CreateLink/unknown-hub', method: 'CreateLink', params: (ctx) => ({ ...linkParams(ctx, 'conf-x'), HubName_Ex_str: 'NOHUB' }), expect: { kind: 'error', code: 8 } },
  { id: 'CreateLink/empty-name', method: 'CreateLink', params: (ctx) => linkParams(ctx, ''), expect: { kind: 'error', code: 23 }, quirk: 'stock answers "internal error" (23) for an empty name' },
  { id: 'SetLink', method: 'SetLink', params: (ctx) => linkParams(ctx, LINK_UP, { MaxConnection_u32: 2 }), expect: { kind: 'result' } },
  { id: 'SetLink/unknown', method: 'SetLink', params: (ctx) => linkParams(ctx, 'conf-nosuch'), expect: { kind: 'error', code: 29 } },
  {
    id: 'EnumLink', method: 'EnumLink', params: (ctx) => ({ HubName_str: ctx.hub }), expect: { kind: 'result' },
    check: (r) => {
      const names = list(r, 'LinkList').map((l) => l.AccountName_utf).sort();
      const want = [LINK_PLAIN, LINK_REFUSED, LINK_UP].sort();
      const p = names.join() === want.join() ? [] : [`LinkList names ${names.join()} instead of ${want.join()}`];
      const never = list(r, 'LinkList').find((l) => l.AccountName_utf === LINK_UP);
      if (never && never.ConnectedTime_dt !== ZERO_TIME) p.push(`ConnectedTime_dt of a never-connected link is ${String(never.ConnectedTime_dt)}, stock says ${ZERO_TIME}`);
      return p;
    },
  },
  { id: 'EnumLink/no-hub', method: 'EnumLink', params: () => ({}), expect: { kind: 'error', code: 38 } },
  { id: 'EnumLink/unknown-hub', method: 'EnumLink', params: () => ({ HubName_str: 'NOHUB' }), expect: { kind: 'error', code: 8 } },
  { id: 'GetLinkStatus/offline', method: 'GetLinkStatus', params: hubExLink(LINK_UP), expect: { kind: 'error', code: 61 } },
  { id: 'GetLinkStatus/unknown', method: 'GetLinkStatus', params: hubExLink('conf-nosuch'), expect: { kind: 'error', code: 29 } },
  { id: 'SetLinkOnline', method: 'SetLinkOnline', params: hubLink(LINK_UP), expect: { kind: 'result' }, check: (r) => expectValue(r, 'AccountName_utf', LINK_UP) },
  { id: 'SetLinkOnline/refused-port', method: 'SetLinkOnline', params: hubLink(LINK_REFUSED), expect: { kind: 'result' } },
  { id: 'SetLinkOnline/unknown', method: 'SetLinkOnline', params: hubLink('conf-nosuch'), expect: { kind: 'error', code: 29 } },
  {
    id: 'GetLinkStatus/not-connected', method: 'GetLinkStatus', params: hubExLink(LINK_REFUSED), expect: { kind: 'result' },
    check: (r) => [...expectValue(r, 'Connected_bool', false), ...expectValue(r, 'Active_bool', true), ...expectValue(r, 'CurrentConnectionEstablishTime_dt', ZERO_TIME)],
  },
  {
    id: 'GetLinkStatus/connected', method: 'GetLinkStatus', params: hubExLink(LINK_UP), expect: { kind: 'result' },
    until: { what: 'Connected_bool true', test: (r) => r.Connected_bool === true, timeoutMs: 20_000 },
    check: (r, ctx) => [...expectValue(r, 'SessionStatus_u32', 3), ...expectValue(r, 'IsBridgeMode_bool', true), ...expectValue(r, 'ServerName_str', ctx.cascade.host), ...expectValue(r, 'ServerPort_u32', ctx.cascade.port)],
  },
  {
    id: 'EnumLink/retrying', method: 'EnumLink', params: (ctx) => ({ HubName_str: ctx.hub }), expect: { kind: 'result' },
    until: { what: `${LINK_REFUSED} LastError_u32 1 (connect failed)`, test: (r) => list(r, 'LinkList').some((l) => l.AccountName_utf === LINK_REFUSED && l.LastError_u32 === 1), timeoutMs: 15_000 },
  },

  // --- local bridges
  {
    id: 'AddLocalBridge/existing-device', method: 'AddLocalBridge', params: (ctx) => ({ DeviceName_str: ctx.lanDevice, HubNameLB_str: ctx.hub, TapMode_bool: false }), expect: { kind: 'result' },
    check: (r, ctx) => expectValue(r, 'DeviceName_str', ctx.lanDevice),
  },
  { id: 'AddLocalBridge/again', method: 'AddLocalBridge', params: (ctx) => ({ DeviceName_str: ctx.lanDevice, HubNameLB_str: ctx.hub, TapMode_bool: false }), expect: { kind: 'result' } },
  { id: 'AddLocalBridge/missing-device', method: 'AddLocalBridge', params: (ctx) => ({ DeviceName_str: ctx.missingDevice, HubNameLB_str: ctx.hub, TapMode_bool: false }), expect: { kind: 'result' } },
  { id: 'AddLocalBridge/tap', method: 'AddLocalBridge', params: (ctx) => ({ DeviceName_str: TAP_NAME, HubNameLB_str: ctx.hub, TapMode_bool: true }), expect: { kind: 'result' } },
  {
    id: 'EnumLocalBridge', method: 'EnumLocalBridge', params: () => ({}), expect: { kind: 'result' },
    until: { what: 'the existing device active', test: (r) => list(r, 'LocalBridgeList').some((b) => b.Active_bool === true && b.TapMode_bool === false), timeoutMs: 10_000 },
    check: (r, ctx) => {
      const items = list(r, 'LocalBridgeList');
      const by = (d: string) => items.filter((b) => b.DeviceName_str === d);
      const p: string[] = [];
      if (items.length !== 3) p.push(`${items.length} local bridges listed, expected 3 (adding the same pair twice keeps one)`);
      if (by(ctx.lanDevice)[0]?.Active_bool !== true) p.push(`${ctx.lanDevice} not active`);
      if (by(ctx.missingDevice)[0]?.Active_bool !== false) p.push(`${ctx.missingDevice} should be listed inactive`);
      if (by(TAP_NAME)[0]?.TapMode_bool !== true) p.push(`${TAP_NAME} should be listed with TapMode_bool true`);
      return p;
    },
  },
  {
    id: 'EnumMacTable', method: 'EnumMacTable', params: (ctx) => ({ HubName_str: ctx.hub }), expect: { kind: 'result' },
    until: { what: 'a learned MAC address', test: (r) => list(r, 'MacTable').length > 0, timeoutMs: 15_000, stimulateLan: true },
    check: (r) => (list(r, 'MacTable').every((m) => /^SID-(LOCALBRIDGE|LINK)-\d+$/.test(String(m.SessionName_str))) ? [] : ['MacTable session names are not SID-LOCALBRIDGE-<n> / SID-LINK-<n>']),
  },
  {
    id: 'EnumSession', method: 'EnumSession', params: (ctx) => ({ HubName_str: ctx.hub }), expect: { kind: 'result' },
    check: (r) => {
      const names = list(r, 'SessionList').map((s) => String(s.Name_str));
      return names.some((n) => /^SID-LINK-\d+$/.test(n)) && names.some((n) => /^SID-LOCALBRIDGE-\d+$/.test(n)) ? [] : [`session names ${names.join()} lack SID-LINK-<n> or SID-LOCALBRIDGE-<n>`];
    },
  },
  { id: 'GetHubStatus/busy', method: 'GetHubStatus', params: (ctx) => ({ HubName_str: ctx.hub }), expect: { kind: 'result' } },
  { id: 'GetHubStatus/unknown-hub', method: 'GetHubStatus', params: () => ({ HubName_str: 'NOHUB' }), expect: { kind: 'error', code: 8 } },
  { id: 'GetHubStatus/wrong-key', method: 'GetHubStatus', params: (ctx) => ({ HubName_Ex_str: ctx.hub }), expect: { kind: 'error', code: 38 } },
  { id: 'DeleteLocalBridge/tap', method: 'DeleteLocalBridge', params: (ctx) => ({ DeviceName_str: TAP_NAME, HubNameLB_str: ctx.hub }), expect: { kind: 'result' } },
  { id: 'DeleteLocalBridge/missing-device', method: 'DeleteLocalBridge', params: (ctx) => ({ DeviceName_str: ctx.missingDevice, HubNameLB_str: ctx.hub }), expect: { kind: 'result' } },
  { id: 'AddLocalBridge/empty-device', method: 'AddLocalBridge', params: (ctx) => ({ DeviceName_str: '', HubNameLB_str: ctx.hub, TapMode_bool: false }), expect: { kind: 'error', code: 38 } },
  { id: 'AddLocalBridge/unknown-hub', method: 'AddLocalBridge', params: (ctx) => ({ DeviceName_str: ctx.lanDevice, HubNameLB_str: 'NOHUB', TapMode_bool: false }), expect: { kind: 'result' }, quirk: 'stock stores a local bridge to a hub that does not exist (it can never work); sebridge refuses it with 8' },
  { id: 'DeleteLocalBridge/unknown-hub', method: 'DeleteLocalBridge', params: (ctx) => ({ DeviceName_str: ctx.lanDevice, HubNameLB_str: 'NOHUB' }), expect: { kind: 'result' }, quirk: 'follows the stock quirk above: deletes the bridge to the hub that does not exist' },
  { id: 'DeleteLocalBridge/never-added', method: 'DeleteLocalBridge', params: (ctx) => ({ DeviceName_str: 'confnever0', HubNameLB_str: ctx.hub }), expect: { kind: 'error', code: 29 } },

  // --- rename, offline, delete
  { id: 'RenameLink', method: 'RenameLink', params: (ctx) => ({ HubName_str: ctx.hub, OldAccountName_utf: LINK_PLAIN, NewAccountName_utf: LINK_PLAIN_RENAMED }), expect: { kind: 'result' } },
  { id: 'RenameLink/to-existing', method: 'RenameLink', params: (ctx) => ({ HubName_str: ctx.hub, OldAccountName_utf: LINK_PLAIN_RENAMED, NewAccountName_utf: LINK_UP }), expect: { kind: 'error', code: 59 } },
  { id: 'RenameLink/unknown', method: 'RenameLink', params: (ctx) => ({ HubName_str: ctx.hub, OldAccountName_utf: 'conf-nosuch', NewAccountName_utf: 'conf-other' }), expect: { kind: 'error', code: 29 } },
  { id: 'SetLinkOffline', method: 'SetLinkOffline', params: hubLink(LINK_UP), expect: { kind: 'result' } },
  { id: 'SetLinkOffline/unknown', method: 'SetLinkOffline', params: hubLink('conf-nosuch'), expect: { kind: 'error', code: 29 } },
  { id: 'DeleteLink', method: 'DeleteLink', params: hubLink(LINK_UP), expect: { kind: 'result' } },
  { id: 'DeleteLink/renamed', method: 'DeleteLink', params: hubLink(LINK_PLAIN_RENAMED), expect: { kind: 'result' } },
  { id: 'DeleteLink/refused-port', method: 'DeleteLink', params: hubLink(LINK_REFUSED), expect: { kind: 'result' } },
  { id: 'DeleteLink/unknown', method: 'DeleteLink', params: hubLink(LINK_UP), expect: { kind: 'error', code: 29 } },
  { id: 'DeleteLocalBridge/existing-device', method: 'DeleteLocalBridge', params: (ctx) => ({ DeviceName_str: ctx.lanDevice, HubNameLB_str: ctx.hub }), expect: { kind: 'result' } },

  // --- protocol and authentication errors
  { id: 'error/unknown-method', method: 'NoSuchMethod', params: () => ({}), expect: { kind: 'error', code: 33 } },
  { id: 'error/not-json', method: 'Test', params: () => ({}), rawBody: '{not json', expect: { kind: 'error', code: 38 } },
  { id: 'error/no-params-member', method: 'Test', params: () => ({}), rawBody: '{"jsonrpc":"2.0","id":"x","method":"Test"}', expect: { kind: 'error', code: 38 } },
  { id: 'error/params-not-object', method: 'Test', params: () => ({}), rawBody: '{"jsonrpc":"2.0","id":"x","method":"Test","params":[]}', expect: { kind: 'error', code: 38 } },
  { id: 'error/no-method', method: 'Test', params: () => ({}), rawBody: '{"jsonrpc":"2.0","id":"x","params":{}}', expect: { kind: 'error', code: 38 } },
  { id: 'error/batch', method: 'Test', params: () => ({}), rawBody: '[{"jsonrpc":"2.0","id":"x","method":"Test","params":{}}]', expect: { kind: 'error', code: 38 }, quirk: 'stock treats a JSON-RPC batch as a parse error' },
  { id: 'error/hub-management-unsupported', method: 'CreateHub', params: () => ({ HubName_str: 'HUB2', Online_bool: true, HubType_u32: 0 }), expect: { kind: 'error', code: 33 } },
  { id: 'auth/wrong-password', method: 'Test', params: () => ({}), auth: () => ({ kind: 'password', password: 'conf-wrong-password' }), expect: { kind: 'http', status: 401 } },
  { id: 'auth/none', method: 'Test', params: () => ({}), auth: () => ({ kind: 'none' }), expect: { kind: 'http', status: 401 } },
  { id: 'auth/hub-admin-without-hub-password', method: 'Test', params: () => ({}), auth: (ctx) => ({ kind: 'password', password: ctx.adminPassword, hub: ctx.hub }), expect: { kind: 'http', status: 401 } },
  { id: 'auth/basic-administrator', method: 'Test', params: () => ({ IntValue_u32: 3 }), auth: (ctx) => ({ kind: 'basic', user: 'administrator', password: ctx.adminPassword }), expect: { kind: 'result' }, check: (r) => expectValue(r, 'IntValue_u32', 3) },
  { id: 'auth/basic-empty-user', method: 'Test', params: () => ({}), auth: (ctx) => ({ kind: 'basic', user: '', password: ctx.adminPassword }), expect: { kind: 'result' } },
  { id: 'auth/basic-wrong', method: 'Test', params: () => ({}), auth: () => ({ kind: 'basic', user: 'administrator', password: 'conf-wrong-password' }), expect: { kind: 'http', status: 401 } },
  {
    id: 'auth/empty-hub-header', method: 'Test', params: () => ({}), auth: (ctx) => ({ kind: 'password', password: ctx.adminPassword, hub: '' }), expect: { kind: 'hangup' },
    quirk: 'stock 5.01 hangs up on an empty X-VPNADMIN-HUBNAME, which SoftEther\'s own vpnrpc client always sends; answering as server admin is the useful behaviour',
  },
];
// RebootServer is deliberately absent: it restarts the target (see docs/softether-admin-api.md).

/** The calls for a target; `skipQuirks` leaves out the stock quirks a reimplementation chose not to copy (listed, so the caller can log them). */
export function callsFor(opts: { skipQuirks?: readonly string[] } = {}): { calls: ConformanceCall[]; skipped: ConformanceCall[] } {
  const skip = new Set(opts.skipQuirks ?? []);
  for (const id of skip) {
    const c = CONFORMANCE_CALLS.find((x) => x.id === id);
    if (!c) throw new Error(`skipQuirks: no call ${JSON.stringify(id)}`);
    if (!c.quirk) throw new Error(`skipQuirks: ${id} is not marked as a quirk and must conform`);
  }
  return { calls: CONFORMANCE_CALLS.filter((c) => !skip.has(c.id)), skipped: CONFORMANCE_CALLS.filter((c) => skip.has(c.id)) };
}

/** Turns a reply into the vocabulary of expectations. */
export function observe(reply: RpcReply): Observation {
  if ('result' in reply) return { kind: 'result', shape: shapeOf(reply.result), result: reply.result };
  if ('error' in reply) return { kind: 'error', code: reply.error.code, message: reply.error.message, httpStatus: reply.httpStatus };
  if (reply.httpStatus === 0) {
    return /no reply within/.test(reply.transport) ? { kind: 'timeout', detail: reply.transport } : { kind: 'hangup', detail: reply.transport };
  }
  return { kind: 'http', status: reply.httpStatus };
}

export function describeObservation(o: Observation): string {
  switch (o.kind) {
    case 'result':
      return `result with ${Object.keys(o.result).length} keys`;
    case 'error':
      return `error ${o.code} (${o.message}), HTTP ${o.httpStatus}`;
    case 'http':
      return `HTTP ${o.status} without a JSON-RPC body`;
    case 'hangup':
    case 'timeout':
      return `${o.kind}: ${o.detail}`;
  }
}

/** Problems with an observation against the call's declared expectation (not against recorded shapes). */
export function checkExpectation(call: ConformanceCall, o: Observation, ctx: CallContext): string[] {
  const e = call.expect;
  if (o.kind !== e.kind) return [`expected ${e.kind === 'error' ? `error ${e.code}` : e.kind === 'http' ? `HTTP ${e.status}` : e.kind}, got ${describeObservation(o)}`];
  if (e.kind === 'error' && o.kind === 'error') {
    const p = o.code === e.code ? [] : [`expected error ${e.code}, got ${o.code} (${o.message})`];
    if (o.httpStatus !== 200) p.push(`error came with HTTP ${o.httpStatus}, stock sends 200`);
    return p;
  }
  if (e.kind === 'http' && o.kind === 'http' && o.status !== e.status) return [`expected HTTP ${e.status}, got ${o.status}`];
  if (o.kind === 'result' && call.check) return call.check(o.result, ctx);
  return [];
}

export interface CallOutcome {
  call: ConformanceCall;
  observation: Observation;
  /** problems against the declared expectation and value checks (empty when fine) */
  problems: string[];
  ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function callOnce(target: ConformanceTarget, call: ConformanceCall): Promise<Observation> {
  const ctx = target.context;
  const opts: RpcCallOptions = {};
  if (call.auth) opts.auth = call.auth(ctx);
  if (call.rawBody !== undefined) opts.rawBody = call.rawBody;
  return observe(await target.call(call.method, call.params(ctx), opts));
}

/** Runs one call, repeating it while `until` is not yet satisfied. */
export async function runCall(target: ConformanceTarget, call: ConformanceCall): Promise<CallOutcome> {
  const t0 = Date.now();
  let o = await callOnce(target, call);
  if (call.until) {
    const deadline = t0 + call.until.timeoutMs;
    while (!(o.kind === 'result' && call.until.test(o.result)) && Date.now() < deadline) {
      if (call.until.stimulateLan) await target.context.stimulateLan?.();
      await sleep(1000);
      o = await callOnce(target, call);
    }
  }
  const problems = checkExpectation(call, o, target.context);
  if (call.until && o.kind === 'result' && !call.until.test(o.result)) problems.unshift(`waited ${call.until.timeoutMs} ms for ${call.until.what}`);
  return { call, observation: o, problems, ms: Date.now() - t0 };
}

/** Runs the calls in order (later calls rely on earlier ones: links created, bridges added). */
export async function runConformance(target: ConformanceTarget, calls: readonly ConformanceCall[] = CONFORMANCE_CALLS): Promise<CallOutcome[]> {
  const outcomes: CallOutcome[] = [];
  for (const call of calls) outcomes.push(await runCall(target, call));
  return outcomes;
}
