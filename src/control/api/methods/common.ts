import type { AppConfig } from '../../config/types.ts';
import { ConfigError } from '../../../session/options.ts';
import { ApiError, apiError, ERR, invalid } from '../errors.ts';
import type { ApiContext, Caller } from '../context.ts';
import type { Params } from '../params.ts';
import { BRIDGE_HUB } from '../../supervisor.ts';

export type Result = Record<string, unknown>;

export interface Method {
  /** 'setup': callable before an admin password exists (and always by an admin). */
  access: 'setup' | 'admin';
  run(p: Params, ctx: ApiContext, caller: Caller): Promise<Result>;
}

/** The virtual hub named in a request must be the bridge's one hub (SoftEther: error 8 otherwise). */
export function requireBridgeHub(p: Params, field: string): void {
  const hub = p.str(field);
  // Like the stock server: a missing hub name is an invalid parameter (38), a wrong one "hub not found" (8).
  if (hub === '') throw apiError(ERR.INVALID_PARAMETER, `${field}: the Virtual Hub name is required ("${BRIDGE_HUB}")`, field);
  if (hub.toUpperCase() !== BRIDGE_HUB) throw apiError(ERR.HUB_NOT_FOUND, `${field}: this VPN Bridge has one Virtual Hub, "${BRIDGE_HUB}"`, field);
}

/** Config paths (store validation) → the API field a caller sent, so a refusal names what the caller wrote. */
const API_FIELD: Record<string, string> = {
  name: 'AccountName_utf', host: 'Hostname_str', port: 'Port_u32', hub: 'HubName_str', username: 'Username_str',
  authType: 'AuthType_u32', hashedPassword: 'HashedPassword_bin', plainPassword: 'PlainPassword_str',
  clientCertPem: 'ClientX_bin', clientKeyPem: 'ClientK_bin', maxConnections: 'MaxConnection_u32',
  additionalConnectionInterval: 'AdditionalConnectionInterval_u32', connectionLifetime: 'ConnectionDisconnectSpan_u32',
  halfDuplex: 'HalfConnection_bool', compress: 'UseCompress_bool', encrypt: 'UseEncrypt_bool', disableQos: 'DisableQoS_bool',
  checkServerCert: 'CheckServerCert_bool', serverCertSha256: 'ServerCert_bin', 'proxy.type': 'ProxyType_u32',
  'proxy.host': 'ProxyName_str', 'proxy.port': 'ProxyPort_u32', 'proxy.username': 'ProxyUsername_str',
  'proxy.password': 'ProxyPassword_str', 'proxy.customHttpHeader': 'CustomHttpHeader_str',
  device: 'DeviceName_str', tapMode: 'TapMode_bool', linuxBridge: 'LinuxBridge_str',
};

/** `cascades[2].port` or plain `port` → `Port_u32`. */
export function apiFieldOf(configPath: string): string | undefined {
  const m = /^(?:(?:cascades|bridges)\[\d+\]\.)?(.+)$/.exec(configPath);
  return m ? API_FIELD[m[1]] : undefined;
}

/**
 * Change the config (validated by the store; nothing is written or applied when it refuses), then bring the
 * running cascades and bridges in line. Store refusals become code 38 naming the API field when there is one.
 */
export async function commit(ctx: ApiContext, mutate: (draft: AppConfig) => void, beforeApply?: () => void): Promise<void> {
  try {
    await ctx.config.update(mutate);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    if (e instanceof ConfigError) {
      const field = apiFieldOf(e.field);
      throw field ? invalid(field, e.message.replace(/^[^:]*:\s*/, '')) : invalid(e.field, e.message.replace(/^[^:]*:\s*/, ''));
    }
    throw e;
  }
  beforeApply?.();
  await ctx.supervisor.apply(ctx.config.get());
}
