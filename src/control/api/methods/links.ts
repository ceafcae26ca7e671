import { createPrivateKey, X509Certificate } from 'node:crypto';
import { normalizeFingerprint } from '../../../session/trust.ts';
import { certFingerprint } from '../../../session/transport.ts';
import { ConfigError } from '../../../session/options.ts';
import type { CascadeConfig } from '../../config/types.ts';
import { hashPassword } from '../../../protocol/password.ts';
import { errorMessage } from '../../../protocol/error-codes.ts';
import { cascadeOptionsFrom, configFingerprint } from '../../cascade-options.ts';
import { BRIDGE_HUB } from '../../supervisor.ts';
import type { CascadeView } from '../../supervisor.ts';
import { apiError, ERR, invalid } from '../errors.ts';
import type { Params } from '../params.ts';
import type { ApiContext } from '../context.ts';
import { b64, dt, splitHint } from '../wire.ts';
import { policyKeys } from '../policy.ts';
import { apiFieldOf, commit, requireBridgeHub } from './common.ts';
import type { Method, Result } from './common.ts';

const PROXY_TYPES = ['direct', 'http', 'socks4', 'socks5'] as const;
const AUTH_TYPES = ['anonymous', 'password', 'plain', 'cert'] as const;
/** SoftEther's CLIENT_STATUS_* numbers (GetLinkStatus SessionStatus_u32). */
const SESSION_STATUS = { connecting: 0, negotiation: 1, auth: 2, established: 3, retry: 4, idle: 5 } as const;

function findLink(ctx: ApiContext, name: string, field = 'AccountName_utf'): CascadeConfig {
  const c = ctx.config.get().cascades.find((x) => x.name.toLowerCase() === name.toLowerCase());
  if (!c) throw apiError(ERR.OBJECT_NOT_FOUND, `${field}: no cascade connection named "${name}"`, field);
  return c;
}

function certPemFromDer(der: Buffer, field: string): string {
  try {
    return new X509Certificate(der).toString();
  } catch {
    throw invalid(field, 'is not an X.509 certificate (DER, base64)');
  }
}

function keyPemFromDer(der: Buffer, field: string): string {
  for (const type of ['pkcs1', 'pkcs8'] as const) {
    try {
      return createPrivateKey({ key: der, format: 'der', type }).export({ format: 'pem', type: 'pkcs8' }).toString();
    } catch {
      // try the next encoding
    }
  }
  throw invalid(field, 'is not an RSA private key (DER, base64)');
}

/**
 * CreateLink/SetLink parameters → the config entry. `existing` (SetLink) supplies secrets the caller did not
 * resend: SoftEther's tools send the password hash only when it changes, and read methods never return it.
 */
function linkFromParams(p: Params, existing: CascadeConfig | null, nameRequired = true): CascadeConfig {
  const name = nameRequired ? p.str('AccountName_utf', { required: true }) : p.str('AccountName_utf') || 'test';
  const host = p.str('Hostname_str', { required: true });
  const authNum = p.num('AuthType_u32', { max: 4 });
  if (authNum === 4) throw apiError(ERR.NOT_SUPPORTED, 'AuthType_u32: smart-card authentication (4) is not available on this appliance', 'AuthType_u32');
  const authType = AUTH_TYPES[authNum];
  const username = p.str('Username_str');
  if (authType !== 'anonymous' && username === '') throw invalid('Username_str', `is required for AuthType_u32 ${authNum}`);

  let hashedPassword: string | null = null;
  let plainPassword: string | null = null;
  let clientCertPem: string | null = null;
  let clientKeyPem: string | null = null;
  if (authType === 'password') {
    const hashed = p.bin('HashedPassword_bin', { max: 64 });
    if (hashed.length > 0) {
      if (hashed.length !== 20) throw invalid('HashedPassword_bin', 'must be the 20-byte SoftEther password hash');
      hashedPassword = hashed.toString('base64');
    } else if (p.str('PlainPassword_str') !== '') {
      // sebridge extension: a plain password with AuthType 1 is hashed here (the stock bridge ignores it and the
      // login then fails with error 9), so curl users need not compute SHA-0 themselves.
      hashedPassword = hashPassword(username, p.str('PlainPassword_str')).toString('base64');
    } else if (existing?.authType === 'password' && existing.username === username && existing.hashedPassword) {
      hashedPassword = existing.hashedPassword;
    } else {
      throw invalid('HashedPassword_bin', 'is required for password authentication (AuthType_u32 1)');
    }
  } else if (authType === 'plain') {
    plainPassword = p.str('PlainPassword_str') || (existing?.authType === 'plain' ? existing.plainPassword : '') || null;
    if (!plainPassword) throw invalid('PlainPassword_str', 'is required for plain-password authentication (AuthType_u32 2)');
  } else if (authType === 'cert') {
    const x = p.bin('ClientX_bin', { max: 100_000 });
    const k = p.bin('ClientK_bin', { max: 100_000 });
    clientCertPem = x.length > 0 ? certPemFromDer(x, 'ClientX_bin') : (existing?.clientCertPem ?? null);
    clientKeyPem = k.length > 0 ? keyPemFromDer(k, 'ClientK_bin') : (existing?.clientKeyPem ?? null);
    if (!clientCertPem) throw invalid('ClientX_bin', 'a client certificate is required for certificate authentication (AuthType_u32 3)');
    if (!clientKeyPem) throw invalid('ClientK_bin', 'the client certificate\'s private key is required (AuthType_u32 3)');
  }

  let serverCertSha256: string | null = existing?.serverCertSha256 ?? null;
  const serverCert = p.bin('ServerCert_bin', { max: 100_000 });
  if (serverCert.length > 0) {
    certPemFromDer(serverCert, 'ServerCert_bin');
    serverCertSha256 = configFingerprint(certFingerprint(serverCert));
  }
  if (p.has('ServerCertSha256_str')) {
    const pin = p.str('ServerCertSha256_str', { max: 128 }) === '' ? '' : fingerprintParam(p, 'ServerCertSha256_str');
    serverCertSha256 = pin || null;
  }

  const proxyType = PROXY_TYPES[p.num('ProxyType_u32', { max: 3 })];
  const maxConnections = p.num('MaxConnection_u32', { max: 32 }) || 8;
  return {
    name,
    online: existing?.online ?? false, // the stock server creates a cascade offline; SetLinkOnline starts it
    host,
    port: p.num('Port_u32', { min: 1, max: 65535, required: true }),
    hub: p.str('HubName_str', { required: true }),
    username,
    authType,
    hashedPassword,
    plainPassword,
    clientCertPem,
    clientKeyPem,
    maxConnections,
    additionalConnectionInterval: p.num('AdditionalConnectionInterval_u32', { max: 3600 }) || 1,
    connectionLifetime: p.num('ConnectionDisconnectSpan_u32', { max: 86_400 }),
    halfDuplex: p.bool('HalfConnection_bool'),
    compress: p.bool('UseCompress_bool'),
    encrypt: p.bool('UseEncrypt_bool', true),
    disableQos: p.bool('DisableQoS_bool'),
    // Absent = check (trust on first use, issue 8); false = SoftEther's "do not check", logged loudly by the engine.
    checkServerCert: p.bool('CheckServerCert_bool', existing?.checkServerCert ?? true),
    serverCertSha256,
    proxy: {
      type: proxyType,
      host: p.str('ProxyName_str'),
      port: p.num('ProxyPort_u32', { max: 65535 }),
      username: p.str('ProxyUsername_str'),
      password: p.str('ProxyPassword_str') || (existing?.proxy.password ?? null),
      customHttpHeader: p.str('CustomHttpHeader_str', { max: 4096 }),
    },
  };
}

/**
 * GetLink's answer (also CreateLink's and SetLink's): the stock bridge's 35 keys + 39 `policy:*` keys, with the
 * auth-type-specific keys it sends (1: HashedPassword_bin, 2: PlainPassword_str, 3: ClientX_bin/ClientK_bin).
 * Secrets keep their key but never their value: the hash is 20 zero bytes, passwords and keys are empty.
 */
function linkToResult(c: CascadeConfig): Result {
  const auth: Result = {};
  if (c.authType === 'password') auth.HashedPassword_bin = b64(Buffer.alloc(20));
  if (c.authType === 'plain') auth.PlainPassword_str = '';
  if (c.authType === 'cert') {
    auth.ClientX_bin = c.clientCertPem ? new X509Certificate(c.clientCertPem).raw.toString('base64') : '';
    auth.ClientK_bin = '';
  }
  return {
    HubName_Ex_str: BRIDGE_HUB,
    AccountName_utf: c.name,
    Online_bool: c.online,
    Hostname_str: c.host,
    Port_u32: c.port,
    PortUDP_u32: 0,
    HubName_str: c.hub,
    DeviceName_str: '_SEHUBLINKCLI_',
    AuthType_u32: AUTH_TYPES.indexOf(c.authType),
    Username_str: c.username,
    ...auth,
    MaxConnection_u32: c.maxConnections,
    AdditionalConnectionInterval_u32: c.additionalConnectionInterval,
    ConnectionDisconnectSpan_u32: c.connectionLifetime,
    UseEncrypt_bool: c.encrypt,
    UseCompress_bool: c.compress,
    HalfConnection_bool: c.halfDuplex,
    DisableQoS_bool: c.disableQos,
    NoUdpAcceleration_bool: false,
    CheckServerCert_bool: c.checkServerCert,
    ProxyType_u32: PROXY_TYPES.indexOf(c.proxy.type),
    ProxyName_str: c.proxy.host,
    ProxyPort_u32: c.proxy.port,
    ProxyUsername_str: c.proxy.username,
    ProxyPassword_str: '',
    CustomHttpHeader_str: c.proxy.customHttpHeader,
    NumRetry_u32: 0xffffffff,
    RetryInterval_u32: 10,
    RequireBridgeRoutingMode_bool: true,
    RequireMonitorMode_bool: false,
    NoRoutingTracking_bool: true,
    HideStatusWindow_bool: false,
    HideNicInfoWindow_bool: false,
    FromAdminPack_bool: false,
    HostUniqueKey_bin: b64(Buffer.alloc(20)),
    ...policyKeys(null),
  };
}

function stateOf(v: CascadeView): 'offline' | 'connecting' | 'online' | 'waiting' {
  if (!v.config.online || !v.status) return 'offline';
  const s = v.status.state;
  return s === 'online' ? 'online' : s === 'waiting' ? 'waiting' : s === 'stopped' || s === 'idle' ? 'offline' : 'connecting';
}

function lastErrorOf(v: CascadeView): { code: number; text: string; hint: string; at: string | null } {
  if (v.configError) return { code: ERR.NOT_SUPPORTED, text: v.configError, hint: 'change the cascade\'s settings', at: null };
  const e = v.status?.lastError;
  if (!e) return { code: 0, text: '', hint: '', at: null };
  if (e.kind === 'certificate-changed' || e.kind === 'certificate-untrusted') {
    // Refused before anything was sent: SoftEther's "server certificate not trusted" (85).
    return { code: 85, text: e.message, hint: splitHint(errorMessage(85)).hint, at: e.at };
  }
  if (e.code === undefined) {
    // No answer from a server (refused, unreachable, TLS, timeout): SoftEther calls that "connect failed" (1).
    return { code: 1, text: `connection to the server failed: ${e.message}`, hint: splitHint(errorMessage(1)).hint, at: e.at };
  }
  const { text, hint } = splitHint(e.message);
  return { code: e.code, text, hint, at: e.at };
}

/** A missing link name finds no link (29), as on the stock server. */
/** A SHA-256 fingerprint parameter (64 hex digits, colons allowed) in the config's form, or code 38 naming it. */
function fingerprintParam(p: Params, field: string): string {
  try {
    return configFingerprint(normalizeFingerprint(p.str(field, { required: true, max: 128 }), field));
  } catch (e) {
    if (e instanceof ConfigError) throw invalid(field, e.message.replace(/^[^:]*:\s*/, ''));
    throw e;
  }
}

/** The engine's own refusals (e.g. an unreadable client certificate), as code 38 naming the API field. */
function engineCheck(c: CascadeConfig): void {
  try {
    cascadeOptionsFrom(c);
  } catch (e) {
    const field = (e as { field?: string }).field ?? 'params';
    throw invalid(apiFieldOf(field) ?? field, (e as Error).message.replace(/^[^:]*:\s*/, ''));
  }
}

const nameParam = (p: Params) => p.str('AccountName_utf');

export const linkMethods: Record<string, Method> = {
  CreateLink: {
    access: 'admin',
    async run(p, ctx) {
      requireBridgeHub(p, 'HubName_Ex_str');
      const c = linkFromParams(p, null);
      if (ctx.config.get().cascades.some((x) => x.name.toLowerCase() === c.name.toLowerCase())) {
        throw apiError(ERR.LINK_ALREADY_EXISTS, `AccountName_utf: "${c.name}"`, 'AccountName_utf');
      }
      engineCheck(c); // refuses what the engine could not run, before anything is stored
      await commit(ctx, (d) => void d.cascades.push(c));
      return linkToResult(c);
    },
  },
  SetLink: {
    access: 'admin',
    async run(p, ctx) {
      requireBridgeHub(p, 'HubName_Ex_str');
      const existing = findLink(ctx, nameParam(p));
      const c = { ...linkFromParams(p, existing), name: existing.name, online: existing.online };
      engineCheck(c);
      await commit(ctx, (d) => {
        const i = d.cascades.findIndex((x) => x.name === existing.name);
        d.cascades[i] = c;
      });
      return linkToResult(c);
    },
  },
  GetLink: {
    access: 'admin',
    async run(p, ctx) {
      requireBridgeHub(p, 'HubName_Ex_str');
      return linkToResult(findLink(ctx, nameParam(p)));
    },
  },
  EnumLink: {
    access: 'admin',
    async run(p, ctx) {
      requireBridgeHub(p, 'HubName_str');
      const list = ctx.config.get().cascades.map((c) => {
        const v = ctx.supervisor.cascade(c.name);
        const st = v?.status;
        return {
          AccountName_utf: c.name,
          Online_bool: c.online,
          Connected_bool: st?.state === 'online',
          ConnectedTime_dt: dt(st?.connectedSince ?? null),
          Hostname_str: c.host,
          TargetHubName_str: c.hub,
          ConnectedHubName_str: c.hub,
          LastError_u32: v ? lastErrorOf(v).code : 0,
        };
      });
      return { HubName_str: BRIDGE_HUB, LinkList: list };
    },
  },
  SetLinkOnline: {
    access: 'admin',
    async run(p, ctx) {
      requireBridgeHub(p, 'HubName_str');
      const c = findLink(ctx, nameParam(p));
      await commit(ctx, (d) => void (d.cascades.find((x) => x.name === c.name)!.online = true));
      return { HubName_str: BRIDGE_HUB, AccountName_utf: c.name };
    },
  },
  SetLinkOffline: {
    access: 'admin',
    async run(p, ctx) {
      requireBridgeHub(p, 'HubName_str');
      const c = findLink(ctx, nameParam(p));
      await commit(ctx, (d) => void (d.cascades.find((x) => x.name === c.name)!.online = false));
      return { HubName_str: BRIDGE_HUB, AccountName_utf: c.name };
    },
  },
  DeleteLink: {
    access: 'admin',
    async run(p, ctx) {
      requireBridgeHub(p, 'HubName_str');
      const c = findLink(ctx, nameParam(p));
      await commit(ctx, (d) => void (d.cascades = d.cascades.filter((x) => x.name !== c.name)));
      return { HubName_str: BRIDGE_HUB, AccountName_utf: c.name };
    },
  },
  RenameLink: {
    access: 'admin',
    async run(p, ctx) {
      requireBridgeHub(p, 'HubName_str');
      const oldName = p.str('OldAccountName_utf', { required: true });
      const newName = p.str('NewAccountName_utf', { required: true });
      const c = findLink(ctx, oldName, 'OldAccountName_utf');
      if (c.name.toLowerCase() !== newName.toLowerCase() && ctx.config.get().cascades.some((x) => x.name.toLowerCase() === newName.toLowerCase())) {
        throw apiError(ERR.LINK_ALREADY_EXISTS, `NewAccountName_utf: "${newName}"`, 'NewAccountName_utf');
      }
      await commit(
        ctx,
        (d) => void (d.cascades.find((x) => x.name === c.name)!.name = newName),
        () => ctx.supervisor.renameCascade(c.name, newName),
      );
      return { HubName_str: BRIDGE_HUB, OldAccountName_utf: c.name, NewAccountName_utf: newName };
    },
  },
  GetLinkStatus: {
    access: 'admin',
    async run(p, ctx) {
      requireBridgeHub(p, 'HubName_Ex_str');
      const c = findLink(ctx, nameParam(p));
      const v = ctx.supervisor.cascade(c.name);
      const st = v?.status ?? null;
      if (!c.online || !v || !st) throw apiError(ERR.LINK_IS_OFFLINE, `AccountName_utf: "${c.name}" is offline`, 'AccountName_utf');
      const online = st.state === 'online';
      const n = online ? st.negotiated : null;
      const t = st.traffic;
      const since = online ? st.connectedSince : null;
      return {
        HubName_Ex_str: BRIDGE_HUB,
        AccountName_utf: c.name,
        Active_bool: true,
        Connected_bool: online,
        SessionStatus_u32: online ? SESSION_STATUS.established : st.state === 'waiting' ? SESSION_STATUS.retry : SESSION_STATUS.connecting,
        ServerName_str: online ? c.host : '',
        ServerPort_u32: online ? c.port : 0,
        ServerProductName_str: online ? (st.server?.product ?? '') : '',
        ServerProductVer_u32: online ? (st.server?.version ?? 0) : 0,
        ServerProductBuild_u32: online ? (st.server?.build ?? 0) : 0,
        CipherName_str: n?.useEncrypt ? (st.tls?.cipher ?? '') : '',
        SessionName_str: n?.sessionName ?? '',
        ConnectionName_str: n?.connectionName ?? '',
        // The real session key would let anyone resume the session: never read back (zeros keep the shape).
        SessionKey_bin: b64(Buffer.alloc(20)),
        StartTime_dt: dt(v.startedAt),
        FirstConnectionEstablisiedTime_dt: dt(since),
        CurrentConnectionEstablishTime_dt: dt(since),
        NumConnectionsEstablished_u32: st.sessions,
        HalfConnection_bool: n?.halfConnection ?? false,
        QoS_bool: n?.qos ?? false,
        MaxTcpConnections_u32: n?.maxConnection ?? 0,
        NumTcpConnections_u32: online ? st.connections.total : 0,
        NumTcpConnectionsUpload_u32: n?.halfConnection ? st.connections.up : 0,
        NumTcpConnectionsDownload_u32: n?.halfConnection ? st.connections.down : 0,
        UseEncrypt_bool: n?.useEncrypt ?? false,
        UseCompress_bool: n?.useCompress ?? false,
        IsRUDPSession_bool: false,
        UnderlayProtocol_str: online ? 'Standard TCP/IP (IPv4)' : '',
        IsUdpAccelerationEnabled_bool: false,
        IsUsingUdpAcceleration_bool: false,
        IsBridgeMode_bool: online,
        IsMonitorMode_bool: false,
        VLanId_u32: n?.vlanId ?? 0,
        TotalSendSize_u64: t.bytesOut,
        TotalRecvSize_u64: t.bytesIn,
        TotalSendSizeReal_u64: t.bytesOut,
        TotalRecvSizeReal_u64: t.bytesIn,
        'Send.BroadcastBytes_u64': 0,
        'Send.BroadcastCount_u64': 0,
        'Send.UnicastBytes_u64': t.bytesOut,
        'Send.UnicastCount_u64': t.framesOut,
        'Recv.BroadcastBytes_u64': 0,
        'Recv.BroadcastCount_u64': 0,
        'Recv.UnicastBytes_u64': t.bytesIn,
        'Recv.UnicastCount_u64': t.framesIn,
        ...(online && v.serverCert ? { ServerX_bin: b64(v.serverCert) } : {}),
        ...policyKeys(n ? n.policy : {}),
      };
    },
  },

  // ---- sebridge's own methods ----

  TestLink: {
    access: 'admin',
    async run(p, ctx) {
      const c = linkFromParams(p, null, false);
      const r = await ctx.testLogin(cascadeOptionsFrom({ ...c, online: true }));
      const { text, hint } = splitHint(r.errorText || (r.error ? errorMessage(r.error) : ''));
      return {
        Success_bool: r.ok,
        Error_u32: r.error,
        ErrorText_utf: text,
        ErrorHint_utf: hint,
        ServerProductName_str: r.server?.product ?? '',
        ServerVersion_u32: r.server?.version ?? 0,
        ServerBuild_u32: r.server?.build ?? 0,
        GrantedConnections_u32: r.granted,
        ServerCertSha256_str: r.certSha256 ?? '',
        CipherName_str: r.tls?.cipher ?? '',
        TlsVersion_str: r.tls?.version ?? '',
      };
    },
  },
  TrustLinkCert: {
    access: 'admin',
    async run(p, ctx) {
      // The one explicit action that accepts a (new) server certificate: applied live, a cascade that was
      // refused for its certificate logs in again at once.
      const c = findLink(ctx, nameParam(p));
      const raw = fingerprintParam(p, 'ServerCertSha256_str');
      await commit(ctx, (d) => {
        const x = d.cascades.find((y) => y.name === c.name)!;
        x.serverCertSha256 = raw;
        x.checkServerCert = true;
      });
      return { AccountName_utf: c.name, ServerCertSha256_str: raw };
    },
  },
  ReconnectLink: {
    access: 'admin',
    async run(p, ctx) {
      const c = findLink(ctx, nameParam(p));
      if (!ctx.supervisor.reconnect(c.name)) throw apiError(ERR.LINK_IS_OFFLINE, `AccountName_utf: "${c.name}" is offline`, 'AccountName_utf');
      return { AccountName_utf: c.name };
    },
  },
  EnumLinkEx: {
    access: 'admin',
    async run(_p, ctx) {
      const list = ctx.config.get().cascades.map((c) => {
        const v = ctx.supervisor.cascade(c.name) ?? { config: c, status: null, serverCert: null, startedAt: 0, sessionName: null, configError: null, reconnects: 0 };
        const st = v.status;
        const err = lastErrorOf(v);
        const rate = ctx.metrics?.rate(c.name) ?? { bytesInPerSec: 0, bytesOutPerSec: 0 };
        const t = st?.traffic;
        const drops = t ? Object.values(t.drops).reduce((a, b) => a + b, 0) : 0;
        return {
          AccountName_utf: c.name,
          Online_bool: c.online,
          State_str: stateOf(v),
          Hostname_str: c.host,
          Port_u32: c.port,
          TargetHubName_str: c.hub,
          Username_str: c.username,
          ConnectedSince_dt: dt(st?.state === 'online' ? st.connectedSince : null),
          NextAttempt_dt: dt(st?.state === 'waiting' ? st.nextAttemptAt : null),
          Reconnects_u32: v.reconnects,
          Connections_u32: st?.connections.total ?? 0,
          ConnectionsUp_u32: st?.connections.up ?? 0,
          ConnectionsDown_u32: st?.connections.down ?? 0,
          MaxConnection_u32: c.maxConnections,
          GrantedConnections_u32: st?.connections.granted ?? 0,
          HalfConnection_bool: st?.negotiated?.halfConnection ?? c.halfDuplex,
          UseEncrypt_bool: st?.negotiated?.useEncrypt ?? c.encrypt,
          UseCompress_bool: st?.negotiated?.useCompress ?? c.compress,
          ServerProductName_str: st?.server?.product ?? '',
          ServerVersion_u32: st?.server?.version ?? 0,
          ServerBuild_u32: st?.server?.build ?? 0,
          CipherName_str: st?.tls?.cipher ?? '',
          TlsVersion_str: st?.tls?.version ?? '',
          ServerCertSha256_str: st?.serverCertSha256 ?? '',
          PinnedCertSha256_str: c.checkServerCert ? (c.serverCertSha256 ?? '') : '',
          CertCheck_str: c.checkServerCert ? (c.serverCertSha256 ? 'pinned' : 'first-use') : 'off',
          // Set while the cascade is refused because the server's certificate is not the trusted one: what to accept.
          PresentedCertSha256_str: st?.lastError?.certificate ? configFingerprint(st.lastError.certificate.presented) : '',
          LastError_u32: err.code,
          LastErrorText_utf: err.text,
          LastErrorHint_utf: err.hint,
          LastErrorTime_dt: dt(err.at),
          FramesIn_u64: t?.framesIn ?? 0,
          FramesOut_u64: t?.framesOut ?? 0,
          BytesIn_u64: t?.bytesIn ?? 0,
          BytesOut_u64: t?.bytesOut ?? 0,
          Drops_u64: drops,
          RateIn_u64: Math.round(rate.bytesInPerSec),
          RateOut_u64: Math.round(rate.bytesOutPerSec),
        };
      });
      return { LinkList: list };
    },
  },
  GetTrafficHistory: {
    access: 'admin',
    async run(p, ctx) {
      const c = findLink(ctx, nameParam(p));
      const h = ctx.metrics?.history(c.name) ?? { intervalSec: 10, points: [] };
      return {
        AccountName_utf: c.name,
        Interval_u32: h.intervalSec,
        PointList: h.points.map((x) => ({ Time_dt: dt(x.time), BytesInPerSec_u64: Math.round(x.bytesInPerSec), BytesOutPerSec_u64: Math.round(x.bytesOutPerSec) })),
      };
    },
  },
};
