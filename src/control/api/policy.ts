/**
 * The 39 `policy:*` keys SoftEther puts into CreateLink/SetLink/GetLink/GetLinkStatus results (measured on the
 * stock 5.01 bridge, docs/softether-admin-api.md). For a connected cascade the values are the policy the server sent
 * in its welcome; otherwise the stock cascade's stored defaults.
 */
const POLICY: ReadonlyArray<readonly [name: string, type: 'bool' | 'u32']> = [
  ['Access', 'bool'], ['ArpDhcpOnly', 'bool'], ['AutoDisconnect', 'u32'], ['CheckIP', 'bool'], ['CheckIPv6', 'bool'],
  ['CheckMac', 'bool'], ['DHCPFilter', 'bool'], ['DHCPForce', 'bool'], ['DHCPNoServer', 'bool'], ['DHCPv6Filter', 'bool'],
  ['DHCPv6NoServer', 'bool'], ['FilterIPv4', 'bool'], ['FilterIPv6', 'bool'], ['FilterNonIP', 'bool'], ['FixPassword', 'bool'],
  ['MaxConnection', 'u32'], ['MaxDownload', 'u32'], ['MaxIP', 'u32'], ['MaxIPv6', 'u32'], ['MaxMac', 'u32'],
  ['MaxUpload', 'u32'], ['MonitorPort', 'bool'], ['MultiLogins', 'u32'], ['NoBridge', 'bool'], ['NoBroadcastLimiter', 'bool'],
  ['NoIPv6DefaultRouterInRA', 'bool'], ['NoIPv6DefaultRouterInRAWhenIPv6', 'bool'], ['NoQoS', 'bool'], ['NoRouting', 'bool'],
  ['NoRoutingV6', 'bool'], ['NoSavePassword', 'bool'], ['NoServer', 'bool'], ['NoServerV6', 'bool'], ['PrivacyFilter', 'bool'],
  ['RAFilter', 'bool'], ['RSandRAFilter', 'bool'], ['TimeOut', 'u32'], ['VLanId', 'u32'], ['Ver3', 'bool'],
];

/** What the stock bridge stores for a cascade it created (GetLink): access allowed, 32 connections, T = 20 s. */
const STORED_DEFAULTS: Record<string, number> = { Access: 1, MaxConnection: 32, TimeOut: 20, Ver3: 1 };

export function policyKeys(values: Record<string, number> | null): Record<string, boolean | number> {
  const v = values ?? STORED_DEFAULTS;
  const out: Record<string, boolean | number> = {};
  for (const [name, type] of POLICY) out[`policy:${name}_${type}`] = type === 'bool' ? (v[name] ?? 0) !== 0 : (v[name] ?? 0);
  return out;
}
