import { readdir } from 'node:fs/promises';
import { BRIDGE_HUB, tapInterfaceName } from '../../supervisor.ts';
import { apiError, ERR, invalid } from '../errors.ts';
import type { ApiContext, NicView } from '../context.ts';
import type { Params } from '../params.ts';
import { macBin, dt } from '../wire.ts';
import { commit, requireBridgeHub } from './common.ts';
import { isInterfaceName } from '../../config/schema.ts';
import type { Method } from './common.ts';

/** A Linux interface name (the config schema's rule) of at most maxLen bytes. */
function ifname(p: Params, field: string, maxLen = 15): string {
  const v = p.str(field, { required: true, max: 64 });
  if (!isInterfaceName(v) || Buffer.byteLength(v) > maxLen) throw invalid(field, `"${v}" is not a valid interface name (1..${maxLen} characters, no '/', ':' or spaces)`);
  return v;
}

async function nics(ctx: ApiContext): Promise<NicView[]> {
  if (ctx.system) return ctx.system.nics();
  const names = await readdir('/sys/class/net').catch(() => [] as string[]);
  return names.filter((n) => n !== 'lo').map((name) => ({ name, mac: '', carrier: false, speedMbps: null, mtu: 0, addresses: [], virtual: false }));
}

/** Hub port name → session name as the stock bridge shows it ("SID-LINK-<n>", "SID-LOCALBRIDGE-<n>"). */
function sessionNames(ctx: ApiContext): Map<string, string> {
  const m = new Map<string, string>();
  for (const c of ctx.supervisor.cascades()) if (c.sessionName) m.set(c.config.name, c.sessionName);
  for (const b of ctx.supervisor.bridges()) if (b.sessionName) m.set(b.ifname, b.sessionName);
  return m;
}

export const bridgeMethods: Record<string, Method> = {
  EnumEthernet: {
    access: 'admin',
    async run(_p, ctx) {
      const list = (await nics(ctx)).filter((n) => !n.name.startsWith('tap_'));
      return { NumItem_u32: list.length, EthList: list.map((n) => ({ DeviceName_str: n.name, NetworkConnectionName_utf: '' })) };
    },
  },
  AddLocalBridge: {
    access: 'admin',
    async run(p, ctx) {
      // The stock bridge stores a bridge to a hub that does not exist (it can never work); sebridge refuses it.
      requireBridgeHub(p, 'HubNameLB_str');
      const tapMode = p.bool('TapMode_bool');
      // TAP devices are named tap_<name>, which must fit the kernel's 15 bytes.
      const device = ifname(p, 'DeviceName_str', tapMode ? 15 - 'tap_'.length : 15);
      const linuxBridgeName = p.str('LinuxBridge_str');
      if (linuxBridgeName !== '' && !tapMode) throw invalid('LinuxBridge_str', 'joining a Linux bridge needs TapMode_bool true');
      if (linuxBridgeName !== '') ifname(p, 'LinuxBridge_str');
      const existing = ctx.config.get().bridges.find((b) => b.device === device);
      if (!existing) {
        await commit(ctx, (d) => void d.bridges.push({ device, tapMode, linuxBridge: linuxBridgeName || null }));
      }
      return { DeviceName_str: device, HubNameLB_str: BRIDGE_HUB, TapMode_bool: existing ? existing.tapMode : tapMode };
    },
  },
  DeleteLocalBridge: {
    access: 'admin',
    async run(p, ctx) {
      const device = p.str('DeviceName_str', { required: true, max: 64 });
      requireBridgeHub(p, 'HubNameLB_str');
      const existing = ctx.config.get().bridges.find((b) => b.device === device);
      if (!existing) throw apiError(ERR.OBJECT_NOT_FOUND, `DeviceName_str: no local bridge on "${device}"`, 'DeviceName_str');
      await commit(ctx, (d) => void (d.bridges = d.bridges.filter((b) => b.device !== device)));
      return { DeviceName_str: device, HubNameLB_str: BRIDGE_HUB, TapMode_bool: false }; // the stock echo always says false
    },
  },
  EnumLocalBridge: {
    access: 'admin',
    async run(_p, ctx) {
      const list = ctx.supervisor.bridges().map((b) => ({
        DeviceName_str: b.config.device,
        HubNameLB_str: BRIDGE_HUB,
        Online_bool: true,
        Active_bool: b.active && (b.status?.present ?? false),
        TapMode_bool: b.config.tapMode,
      }));
      return { NumItem_u32: list.length, LocalBridgeList: list };
    },
  },
  GetBridgeSupport: {
    access: 'admin',
    async run() {
      return { IsBridgeSupportedOs_bool: true, IsWinPcapNeeded_bool: false };
    },
  },
  EnumMacTable: {
    access: 'admin',
    async run(p, ctx) {
      requireBridgeHub(p, 'HubName_str');
      const now = ctx.now();
      const sessions = sessionNames(ctx);
      const rows = ctx.supervisor.hub.macTable().map((r, i) => {
        const seen = now - r.ageMs;
        return {
          Key_u32: i + 1,
          SessionName_str: sessions.get(r.port) ?? r.port,
          MacAddress_bin: macBin(r.mac),
          VlanId_u32: 0,
          CreatedTime_dt: dt(seen),
          UpdatedTime_dt: dt(seen),
          RemoteItem_bool: false,
          RemoteHostname_str: ctx.hostname,
        };
      });
      return { HubName_str: BRIDGE_HUB, MacTable: rows };
    },
  },

  EnumSession: {
    access: 'admin',
    async run(p, ctx) {
      requireBridgeHub(p, 'HubName_str');
      const list = [
        ...ctx.supervisor.cascades().filter((c) => c.sessionName).map((c) => ({
          name: c.sessionName!, user: 'Cascade', link: true, bridge: false,
          tcp: c.status!.connections.total, max: c.config.maxConnections, created: c.startedAt,
          packets: c.status!.traffic.framesIn + c.status!.traffic.framesOut, bytes: c.status!.traffic.bytesIn + c.status!.traffic.bytesOut,
        })),
        ...ctx.supervisor.bridges().filter((b) => b.sessionName).map((b) => ({
          name: b.sessionName!, user: 'Local Bridge', link: false, bridge: true, tcp: 0, max: 0, created: ctx.startedAt,
          packets: (b.status?.framesIn ?? 0) + (b.status?.framesOut ?? 0), bytes: (b.status?.bytesIn ?? 0) + (b.status?.bytesOut ?? 0),
        })),
      ];
      return {
        HubName_str: BRIDGE_HUB,
        SessionList: list.map((s) => ({
          Name_str: s.name, RemoteSession_bool: false, RemoteHostname_str: ctx.hostname, Username_str: s.user,
          ClientIP_ip: '0.0.0.0', Ip_ip: '0.0.0.0', Hostname_str: '', MaxNumTcp_u32: s.max, CurrentNumTcp_u32: s.tcp,
          PacketSize_u64: s.bytes, PacketNum_u64: s.packets, LinkMode_bool: s.link, SecureNATMode_bool: false,
          BridgeMode_bool: s.bridge, Layer3Mode_bool: false, Client_BridgeMode_bool: s.link, Client_MonitorMode_bool: false,
          VLanId_u32: 0, UniqueId_bin: Buffer.alloc(16).toString('base64'), CreatedTime_dt: dt(s.created),
          LastCommTime_dt: dt(ctx.now()), IsDormantEnabled_bool: false, IsDormant_bool: false, LastCommDormant_dt: dt(null),
        })),
      };
    },
  },

  // ---- sebridge's own methods ----

  EnumMacTableEx: {
    access: 'admin',
    async run(_p, ctx) {
      // The MAC table with the cascade or interface each address was learned on (EnumMacTable only has session names).
      const cascades = new Set(ctx.config.get().cascades.map((c) => c.name));
      const sessions = sessionNames(ctx);
      return {
        MacTable: ctx.supervisor.hub.macTable().map((r) => ({
          MacAddress_str: r.mac,
          Port_str: r.port,
          PortKind_str: cascades.has(r.port) ? 'cascade' : 'local',
          SessionName_str: sessions.get(r.port) ?? '',
          VlanId_u32: 0,
          AgeSec_u32: Math.floor(r.ageMs / 1000),
        })),
      };
    },
  },
  EnumEthernetEx: {
    access: 'admin',
    async run(_p, ctx) {
      const inUse = new Set(ctx.config.get().bridges.map((b) => b.device));
      const list = (await nics(ctx)).map((n) => ({
        DeviceName_str: n.name,
        MacAddress_str: n.mac,
        Carrier_bool: n.carrier,
        SpeedMbps_u32: n.speedMbps ?? 0,
        Mtu_u32: n.mtu,
        Addresses_str: n.addresses.join(','),
        Virtual_bool: n.virtual,
        InUse_bool: inUse.has(n.name),
      }));
      return { EthList: list };
    },
  },
  EnumLocalBridgeEx: {
    access: 'admin',
    async run(_p, ctx) {
      const speed = new Map((await nics(ctx).catch(() => [] as NicView[])).map((n) => [n.name, n.speedMbps ?? 0]));
      const list = ctx.supervisor.bridges().map((b) => {
        const s = b.status;
        return {
          DeviceName_str: b.config.device,
          InterfaceName_str: b.config.tapMode ? tapInterfaceName(b.config.device) : b.config.device,
          TapMode_bool: b.config.tapMode,
          LinuxBridge_str: b.config.linuxBridge ?? '',
          Active_bool: b.active,
          Online_bool: true,
          Present_bool: s?.present ?? false,
          Carrier_bool: s?.up ?? false,
          SpeedMbps_u32: speed.get(b.ifname) ?? 0,
          MacAddress_str: s?.mac ?? '',
          FramesIn_u64: s?.framesIn ?? 0,
          FramesOut_u64: s?.framesOut ?? 0,
          BytesIn_u64: s?.bytesIn ?? 0,
          BytesOut_u64: s?.bytesOut ?? 0,
          DropList: Object.entries(s?.drops ?? {}).map(([reason, count]) => ({ Reason_str: reason, Count_u64: count })),
          LastError_utf: b.lastError || s?.lastError || '',
        };
      });
      return { LocalBridgeList: list };
    },
  },
};
