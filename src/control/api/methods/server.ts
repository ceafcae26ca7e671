import os from 'node:os';
import { BRIDGE_HUB } from '../../supervisor.ts';
import { ConfigError } from '../../../session/options.ts';
import type { AppConfig } from '../../config/types.ts';
import { apiError, ERR, invalid } from '../errors.ts';
import type { ApiContext } from '../context.ts';
import type { Params } from '../params.ts';
import { dt } from '../wire.ts';
import { commit, requireBridgeHub } from './common.ts';
import type { Method } from './common.ts';

/** Identifies the product like the stock bridge's GetServerInfo does, with our own name and version. */
const PRODUCT = 'sebridge VPN Bridge (SoftEther-compatible)';
/** SoftEther's SERVER_TYPE_STANDALONE. */
const SERVER_TYPE_STANDALONE = 0;
/** SoftEther's OSTYPE_LINUX. */
const OSTYPE_LINUX = 3100;

function hubTotals(ctx: ApiContext) {
  const stats = ctx.supervisor.hub.stats();
  const t = stats.totals;
  const cascades = ctx.supervisor.cascades();
  const tcp = cascades.reduce((a, c) => a + (c.status?.connections.total ?? 0), 0);
  const sessions = cascades.filter((c) => c.status?.state === 'online').length + ctx.supervisor.bridges().filter((b) => b.active).length;
  return { t, tcp, sessions, macs: stats.macTable.size };
}

function traffic(t: { framesIn: number; bytesIn: number; framesOut: number; bytesOut: number }) {
  // Counted as the hub sees its ports: "Recv" = from the ports into the hub, "Send" = out to them.
  return {
    'Recv.BroadcastBytes_u64': 0,
    'Recv.BroadcastCount_u64': 0,
    'Recv.UnicastBytes_u64': t.bytesIn,
    'Recv.UnicastCount_u64': t.framesIn,
    'Send.BroadcastBytes_u64': 0,
    'Send.BroadcastCount_u64': 0,
    'Send.UnicastBytes_u64': t.bytesOut,
    'Send.UnicastCount_u64': t.framesOut,
  };
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

async function replaceConfig(ctx: ApiContext, json: unknown): Promise<void> {
  try {
    await ctx.config.importConfig(json);
  } catch (e) {
    if (e instanceof ConfigError) throw invalid(`Config_utf ${e.field}`, e.message.replace(/^[^:]*:\s*/, ''));
    throw e;
  }
  await ctx.supervisor.apply(ctx.config.get());
}

export const serverMethods: Record<string, Method> = {
  Test: {
    access: 'admin',
    async run(p) {
      // Like the stock server: StrValue is the decimal of IntValue; the 64-bit and Unicode values are echoed.
      const n = p.num('IntValue_u32');
      return { IntValue_u32: n, Int64Value_u64: p.num('Int64Value_u64', { max: Number.MAX_SAFE_INTEGER }), StrValue_str: String(n), UniStrValue_utf: p.str('UniStrValue_utf', { max: 1024 }) };
    },
  },
  GetServerInfo: {
    access: 'admin',
    async run(_p, ctx) {
      const [major, minor] = ctx.version.split('.').map(Number);
      return {
        ServerProductName_str: PRODUCT,
        ServerVersionString_str: `Version ${ctx.version}`,
        ServerBuildInfoString_str: `sebridge ${ctx.version}, Node.js ${process.versions.node}`,
        ServerVerInt_u32: (major || 0) * 100 + (minor || 0),
        ServerBuildInt_u32: 0,
        ServerHostName_str: ctx.hostname,
        ServerType_u32: SERVER_TYPE_STANDALONE,
        ServerBuildDate_dt: dt(ctx.startedAt),
        ServerFamilyName_str: 'sebridge',
        OsType_u32: OSTYPE_LINUX,
        OsServicePack_u32: 0,
        OsSystemName_str: 'Linux',
        OsProductName_str: 'Linux',
        OsVendorName_str: 'sebridge',
        OsVersion_str: os.release(),
        KernelName_str: 'Linux',
        KernelVersion_str: os.release(),
      };
    },
  },
  GetServerStatus: {
    access: 'admin',
    async run(_p, ctx) {
      const { t, tcp, sessions, macs } = hubTotals(ctx);
      const total = os.totalmem();
      const free = os.freemem();
      return {
        ServerType_u32: SERVER_TYPE_STANDALONE,
        NumHubTotal_u32: 1,
        NumHubStandalone_u32: 1,
        NumHubStatic_u32: 0,
        NumHubDynamic_u32: 0,
        NumSessionsTotal_u32: sessions,
        NumSessionsLocal_u32: sessions,
        NumSessionsRemote_u32: 0,
        NumTcpConnections_u32: tcp,
        NumTcpConnectionsLocal_u32: tcp,
        NumTcpConnectionsRemote_u32: 0,
        NumMacTables_u32: macs,
        NumIpTables_u32: 0,
        NumUsers_u32: 0,
        NumGroups_u32: 0,
        AssignedBridgeLicenses_u32: 0,
        AssignedClientLicenses_u32: 0,
        AssignedBridgeLicensesTotal_u32: 0,
        AssignedClientLicensesTotal_u32: 0,
        ...traffic(t),
        CurrentTime_dt: dt(ctx.now()),
        CurrentTick_u64: Math.round(performance.now()),
        StartTime_dt: dt(ctx.startedAt),
        TotalMemory_u64: total,
        UsedMemory_u64: total - free,
        FreeMemory_u64: free,
        TotalPhys_u64: total,
        UsedPhys_u64: total - free,
        FreePhys_u64: free,
      };
    },
  },
  EnumHub: {
    access: 'admin',
    async run(_p, ctx) {
      const { t, sessions, macs } = hubTotals(ctx);
      const ex = Object.fromEntries(Object.entries(traffic(t)).map(([k, v]) => [`Ex.${k}`, v]));
      return {
        HubList: [{
          HubName_str: BRIDGE_HUB, Online_bool: true, HubType_u32: 0, NumSessions_u32: sessions, NumUsers_u32: 0,
          NumGroups_u32: 0, NumMacTables_u32: macs, NumIpTables_u32: 0, LastCommTime_dt: dt(ctx.now()),
          CreatedTime_dt: dt(ctx.startedAt), LastLoginTime_dt: dt(ctx.startedAt), NumLogin_u32: 0, IsTrafficFilled_bool: true, ...ex,
        }],
      };
    },
  },
  GetHubStatus: {
    access: 'admin',
    async run(p, ctx) {
      requireBridgeHub(p, 'HubName_str');
      const { t, sessions, macs } = hubTotals(ctx);
      return {
        HubName_str: BRIDGE_HUB,
        Online_bool: true,
        HubType_u32: 0,
        NumSessions_u32: sessions,
        NumSessionsClient_u32: 0,
        NumSessionsBridge_u32: sessions,
        NumAccessLists_u32: 0,
        NumUsers_u32: 0,
        NumGroups_u32: 0,
        NumMacTables_u32: macs,
        NumIpTables_u32: 0,
        SecureNATEnabled_bool: false,
        ...traffic(t),
        LastCommTime_dt: dt(ctx.now()),
        CreatedTime_dt: dt(ctx.startedAt),
        LastLoginTime_dt: dt(ctx.startedAt),
        NumLogin_u32: 0,
      };
    },
  },
  SetServerPassword: {
    access: 'setup',
    async run(p, ctx, caller) {
      const pw = p.str('PlainTextPassword_str', { required: true, max: 255 });
      // Before setup anyone on the network may set the first password; afterwards only an admin (the transport
      // lets 'setup' callers through only while no password exists).
      if (caller.kind === 'setup' && ctx.config.get().admin.passwordHash !== null) {
        throw apiError(ERR.ACCESS_DENIED, 'the admin password is already set: log in to change it');
      }
      const hash = await ctx.hashAdminPassword(pw);
      await ctx.config.update((d) => void (d.admin.passwordHash = hash));
      // The stock server echoes the password and its hash here; a secret never leaves sebridge, so both are blank.
      return { HashedPassword_bin: Buffer.alloc(20).toString('base64'), PlainTextPassword_str: '' };
    },
  },
  GetCaps: {
    access: 'admin',
    async run() {
      // The capabilities a SoftEther manager asks a VPN Bridge for before it shows its pages.
      // The stock bridge's capability names (measured), with sebridge's own values: what it can do is 1 or its
      // limit, what it cannot (SecureNAT, listeners, ACLs, clustering, layer 3, UDP acceleration ...) is 0.
      const caps: Array<[string, number]> = [
        ['i_max_packet_size', 1600], ['i_max_hubs', 1], ['i_max_sessions', 0], ['i_max_clients', 0], ['i_max_bridges', 0],
        ['i_max_users_per_hub', 0], ['i_max_groups_per_hub', 0], ['i_max_access_lists', 0], ['b_support_qos', 1],
        ['b_support_syslog', 1], ['b_support_ipsec', 0], ['b_support_sstp', 0], ['b_support_openvpn', 0], ['b_support_ddns', 0],
        ['b_support_special_listener', 0], ['b_cluster_hub_type_fixed', 1], ['i_max_mac_tables', 4096], ['i_max_ip_tables', 0],
        ['b_support_securenat', 0], ['b_suppport_push_route', 0], ['b_suppport_push_route_config', 0], ['i_max_secnat_tables', 0],
        ['b_support_cascade', 1], ['b_bridge', 1], ['b_support_config_hub', 0], ['b_vpn_client_connect', 0], ['b_support_radius', 0],
        ['b_local_bridge', 1], ['b_must_install_pcap', 0], ['b_tap_supported', 1], ['b_support_cascade_cert', 1],
        ['b_support_config_log', 0], ['b_support_autodelete', 0], ['b_support_config_rw', 0], ['b_support_hub_admin_option', 0],
        ['b_support_cascade_client_cert', 1], ['b_support_hide_hub', 0], ['b_support_cluster_admin', 0], ['b_is_softether', 1],
        ['b_support_layer3', 0], ['i_max_l3_sw', 0], ['i_max_l3_if', 0], ['i_max_l3_table', 0], ['b_support_cluster', 0],
        ['b_support_read_log', 0], ['b_support_rename_cascade', 1], ['b_is_in_vm', 0], ['b_support_check_mac', 0],
        ['b_support_check_tcp_state', 0], ['b_support_radius_retry_interval_and_several_servers', 0], ['b_support_vlan', 1],
        ['b_support_hub_ext_options', 0], ['b_support_policy_ver_3', 1], ['b_support_ipv6_acl', 0], ['b_support_ex_acl', 0],
        ['b_support_redirect_url_acl', 0], ['b_support_acl_group', 0], ['b_support_ipv6_ac', 0], ['b_support_eth_vlan', 0],
        ['b_support_msg', 0], ['b_support_udp_acceleration', 0], ['b_support_aes_ni', 0], ['b_support_azure', 0], ['b_vpn3', 1], ['b_vpn4', 1],
      ];
      // The stock answer carries each capability twice: in CapsList and as a flat caps_<name>_u32 key.
      const flat = Object.fromEntries(caps.map(([name, value]) => [`caps_${name}_u32`, value]));
      return { CapsList: caps.map(([name, value]) => ({ CapsName_str: name, CapsValue_u32: value, CapsDescrption_utf: '' })), ...flat };
    },
  },
  RebootServer: {
    access: 'admin',
    async run(p, ctx) {
      const n = p.num('IntValue_u32');
      // Answer first, then restart the services in-process (the API connection stays usable afterwards).
      setImmediate(() => ctx.restart());
      return { IntValue_u32: n };
    },
  },

  // ---- sebridge's own methods ----

  GetSetupState: {
    access: 'setup',
    async run(_p, ctx) {
      return {
        AdminPasswordSet_bool: ctx.config.get().admin.passwordHash !== null,
        Version_str: ctx.version,
        Hostname_str: ctx.hostname,
        WebCertSha256_str: ctx.webCertSha256(),
      };
    },
  },
  GetSystemStatus: {
    access: 'admin',
    async run(_p, ctx) {
      const s = await ctx.system?.status(ctx.dataDir);
      return {
        Version_str: ctx.version,
        Hostname_str: ctx.hostname,
        CpuPercent_u32: Math.round(s?.cpuPercent ?? 0),
        MemTotal_u64: s?.memTotal ?? os.totalmem(),
        MemUsed_u64: s?.memUsed ?? os.totalmem() - os.freemem(),
        TemperatureC_u32: Math.round(s?.temperatureC ?? 0),
        HasTemperature_bool: s?.temperatureC !== null && s?.temperatureC !== undefined,
        SystemUptime_u64: Math.round(s?.systemUptimeSec ?? os.uptime()),
        ProcessUptime_u64: Math.round((ctx.now() - ctx.startedAt) / 1000),
        ProcessRss_u64: process.memoryUsage.rss(),
        EventLoopDelayP99Us_u32: Math.round(ctx.metrics?.eventLoopDelayP99Us() ?? 0),
        DiskTotal_u64: s?.diskTotal ?? 0,
        DiskUsed_u64: s?.diskUsed ?? 0,
        ConfigWarnings_utf: ctx.config.startupWarnings.join('\n'),
      };
    },
  },
  GetHealth: {
    access: 'admin',
    async run(_p, ctx) {
      return {
        WarningList: (ctx.health?.warnings() ?? []).map((w) => ({
          Code_str: w.code, Target_str: w.target, Severity_str: w.severity, Title_utf: w.title, Text_utf: w.text,
          BrokenSince_dt: dt(w.brokenSince), ImpactsConnectivity_bool: w.impactsConnectivity,
        })),
      };
    },
  },
  GetHealthHistory: {
    access: 'admin',
    async run(_p, ctx) {
      return {
        EventList: (ctx.health?.history() ?? []).map((e) => ({
          Time_dt: dt(e.time), Code_str: e.code, Target_str: e.target, Severity_str: e.severity, Healthy_bool: e.healthy, Text_utf: e.text,
        })),
      };
    },
  },
  /** Own method: the system checks' readings over time (the health page's chart). */
  GetHealthResourceHistory: {
    access: 'admin',
    async run(_p, ctx) {
      const r = ctx.health?.resources() ?? { intervalSec: 30, points: [] };
      return {
        Interval_u32: r.intervalSec,
        PointList: r.points.map((x) => ({
          Time_dt: dt(x.time),
          CpuPercent_u32: Math.round(x.cpuPercent),
          MemoryPercent_u32: Math.round(x.memPercent),
          DiskPercent_u32: Math.round(x.diskPercent),
          TemperatureKnown_bool: x.temperatureC !== null,
          TemperatureC_u32: x.temperatureC === null ? 0 : Math.max(0, Math.round(x.temperatureC)),
        })),
      };
    },
  },
  GetHealthSettings: {
    access: 'admin',
    async run(_p, ctx) {
      const h = ctx.config.get().health;
      return {
        WebhookUrl_str: h.webhookUrl ?? '', CpuWarnPercent_u32: h.cpuWarnPercent, MemoryWarnPercent_u32: h.memoryWarnPercent,
        DiskWarnPercent_u32: h.diskWarnPercent, TemperatureWarnC_u32: h.temperatureWarnC,
      };
    },
  },
  SetHealthSettings: {
    access: 'admin',
    async run(p, ctx) {
      const cur = ctx.config.get().health;
      const url = p.has('WebhookUrl_str') ? p.str('WebhookUrl_str', { max: 2048 }) : (cur.webhookUrl ?? '');
      if (url !== '') {
        let u: URL;
        try {
          u = new URL(url);
        } catch {
          throw invalid('WebhookUrl_str', 'must be an http:// or https:// URL');
        }
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid('WebhookUrl_str', 'must be an http:// or https:// URL');
      }
      const next = {
        webhookUrl: url || null,
        cpuWarnPercent: p.num('CpuWarnPercent_u32', { min: 1, max: 100, def: cur.cpuWarnPercent }),
        memoryWarnPercent: p.num('MemoryWarnPercent_u32', { min: 1, max: 100, def: cur.memoryWarnPercent }),
        diskWarnPercent: p.num('DiskWarnPercent_u32', { min: 1, max: 100, def: cur.diskWarnPercent }),
        temperatureWarnC: p.num('TemperatureWarnC_u32', { min: 30, max: 120, def: cur.temperatureWarnC }),
      };
      await commit(ctx, (d) => void (d.health = next));
      return serverMethods.GetHealthSettings.run(p, ctx, { kind: 'admin', via: 'internal', address: '' });
    },
  },
  GetLogs: {
    access: 'admin',
    async run(p, ctx) {
      const minLevel = p.str('MinLevel_str') || 'debug';
      if (!(LEVELS as readonly string[]).includes(minLevel)) throw invalid('MinLevel_str', `must be one of ${LEVELS.join(', ')}`);
      const entries = ctx.logs?.query({ minLevel, text: p.str('Filter_utf'), max: p.num('Max_u32', { max: 5000, def: 500 }) || 500 }) ?? [];
      return { LogList: entries.map((e) => ({ Time_dt: dt(e.time), Level_str: e.level, Message_utf: e.message, Object_str: e.object })) };
    },
  },
  GetLogSettings: {
    access: 'admin',
    async run(_p, ctx) {
      const l = ctx.config.get().log;
      return { Level_str: l.level, SyslogHost_str: l.syslog?.host ?? '', SyslogPort_u32: l.syslog?.port ?? 0 };
    },
  },
  SetLogSettings: {
    access: 'admin',
    async run(p, ctx) {
      const cur = ctx.config.get().log;
      const level = (p.str('Level_str') || cur.level) as AppConfig['log']['level'];
      if (!(LEVELS as readonly string[]).includes(level)) throw invalid('Level_str', `must be one of ${LEVELS.join(', ')}`);
      const host = p.has('SyslogHost_str') ? p.str('SyslogHost_str') : (cur.syslog?.host ?? '');
      const port = p.num('SyslogPort_u32', { max: 65535, def: cur.syslog?.port ?? 514 }) || 514;
      if (host !== '' && !/^[A-Za-z0-9.:-]+$/.test(host)) throw invalid('SyslogHost_str', 'must be a host name or IP address');
      await commit(ctx, (d) => void (d.log = { level, syslog: host ? { host, port } : null }));
      return serverMethods.GetLogSettings.run(p, ctx, { kind: 'admin', via: 'internal', address: '' });
    },
  },
  GetConfig: {
    access: 'admin',
    async run(p, ctx) {
      const doc = ctx.config.exportConfig({ includeSecrets: p.bool('IncludeSecrets_bool') });
      return { Config_utf: JSON.stringify(doc, null, 2) };
    },
  },
  SetConfig: {
    access: 'admin',
    async run(p: Params, ctx) {
      const text = p.str('Config_utf', { required: true, max: 512 * 1024 });
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw invalid('Config_utf', `is not valid JSON (${(e as Error).message})`);
      }
      await replaceConfig(ctx, json);
      return {};
    },
  },
};
