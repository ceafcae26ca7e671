/**
 * The Ethernet interfaces the setup wizard offers for bridging, read from /sys/class/net with async file reads.
 *
 * Not systeminformation's networkInterfaces(): on Linux it runs a shell command per interface with execSync,
 * which measured here stalled the event loop ~100 ms per call (2 interfaces) — on the appliance that loop also
 * carries every frame. Addresses come from `ip -j addr show` (async child process): os.networkInterfaces()
 * (libuv) leaves out every interface without carrier, and an unplugged port's address is what the wizard must show.
 *
 * Listed: interfaces of link type Ethernet (ARPHRD_ETHER = 1), which excludes `lo` (772), tun and similar.
 * `virtual` is true for interfaces without a device behind them (/sys/devices/virtual/...: veth, bridge, TAP,
 * dummy, ifb), so the wizard can show physical ports first; in a test namespace with veths they are all virtual.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface NicInfo {
  name: string;
  mac: string;
  /** Administratively up. */
  adminUp: boolean;
  /** Link detected (false when administratively down: the kernel then reports no carrier). */
  carrier: boolean;
  /** null when unknown (virtual interfaces, no link). */
  speedMbps: number | null;
  mtu: number;
  /** CIDR notation, IPv4 first. */
  addresses: string[];
  virtual: boolean;
}

const ARPHRD_ETHER = 1;
const IFF_UP = 0x1;

export interface ListNicsOptions {
  /** Where the interfaces are listed (default /sys/class/net; tests point it elsewhere). */
  sysClassNet?: string;
  /** Addresses per interface name in CIDR notation (default: ipAddresses()). */
  addresses?: () => Promise<Map<string, string[]>>;
}

/** Every interface's addresses (CIDR, IPv4 first) from `ip -j addr show`. */
export async function ipAddresses(): Promise<Map<string, string[]>> {
  const { stdout } = await execFileAsync('ip', ['-j', 'addr', 'show'], { timeout: 5000, maxBuffer: 4 << 20 });
  const list = JSON.parse(stdout) as Array<{ ifname: string; addr_info?: Array<{ family: string; local: string; prefixlen: number }> }>;
  const out = new Map<string, string[]>();
  for (const l of list) {
    const a = [...(l.addr_info ?? [])].sort((x, y) => Number(x.family !== 'inet') - Number(y.family !== 'inet'));
    out.set(l.ifname, a.map((x) => `${x.local}/${x.prefixlen}`));
  }
  return out;
}

export async function listNics(o: ListNicsOptions = {}): Promise<NicInfo[]> {
  const root = o.sysClassNet ?? '/sys/class/net';
  const [names, addrs] = await Promise.all([readdir(root), (o.addresses ?? ipAddresses)()]);
  const nics = await Promise.all(names.map((name) => readNic(root, name, addrs.get(name) ?? [])));
  return nics.filter((n): n is NicInfo => n !== null).sort((a, b) => Number(a.virtual) - Number(b.virtual) || a.name.localeCompare(b.name));
}

async function readNic(root: string, name: string, addresses: string[]): Promise<NicInfo | null> {
  const dir = join(root, name);
  const [type, mac, flags, carrier, speed, mtu, real] = await Promise.all([
    attr(dir, 'type'), attr(dir, 'address'), attr(dir, 'flags'), attr(dir, 'carrier'), attr(dir, 'speed'), attr(dir, 'mtu'),
    realpath(dir).catch(() => ''),
  ]);
  // Gone between readdir and now, or not Ethernet (loopback, tun, ...).
  if (type === null || Number(type) !== ARPHRD_ETHER) return null;
  const speedN = speed === null ? NaN : Number(speed);
  return {
    name,
    mac: mac ?? '',
    adminUp: flags !== null && (Number.parseInt(flags, 16) & IFF_UP) !== 0,
    carrier: carrier === '1',
    speedMbps: Number.isInteger(speedN) && speedN > 0 ? speedN : null,
    mtu: Number(mtu ?? 0),
    addresses,
    virtual: real === '' || real.includes('/devices/virtual/'),
  };
}

/** One sysfs attribute, trimmed; null when it cannot be read (e.g. carrier of a down interface gives EINVAL). */
async function attr(dir: string, file: string): Promise<string | null> {
  try {
    return (await readFile(join(dir, file), 'utf8')).trim();
  } catch {
    return null;
  }
}
