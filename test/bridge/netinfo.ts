/**
 * What the kernel says about an interface, read with the ordinary tools (ip, ethtool) rather than through the
 * addon under test, so an assertion about sebridge's effect on an interface does not trust sebridge's own code.
 */
import { runCommand } from '../harness/run-command.ts';
import { sh } from './lab.ts';

function nsArgs(ns: string | undefined): string[] {
  return ns ? ['-n', ns] : [];
}

export interface LinkView {
  ifindex: number;
  mac: string;
  flags: string[];
  /** how many promiscuous-mode requests are active (a packet socket's membership counts, not only IFF_PROMISC) */
  promiscuity: number;
  master?: string;
}

export async function linkView(dev: string, ns?: string): Promise<LinkView> {
  const out = await sh(['ip', ...nsArgs(ns), '-d', '-j', 'link', 'show', 'dev', dev]);
  const l = (JSON.parse(out.stdout) as Array<{ ifindex: number; address: string; flags: string[]; promiscuity: number; master?: string }>)[0];
  if (!l) throw new Error(`no link ${dev}`);
  return { ifindex: l.ifindex, mac: l.address, flags: l.flags, promiscuity: l.promiscuity, ...(l.master ? { master: l.master } : {}) };
}

export async function linkExists(dev: string, ns?: string): Promise<boolean> {
  return (await runCommand(['ip', ...nsArgs(ns), 'link', 'show', 'dev', dev], { timeoutMs: 10_000 })).code === 0;
}

/** `ethtool -k`: every feature the driver lets one change, on or off ("[fixed]" ones are left out). */
export async function offloadFeatures(dev: string, ns?: string): Promise<Record<string, boolean>> {
  const argv = ns ? ['ip', 'netns', 'exec', ns, 'ethtool', '-k', dev] : ['ethtool', '-k', dev];
  const out = (await sh(argv)).stdout;
  const features: Record<string, boolean> = {};
  for (const m of out.matchAll(/^\s*([a-z0-9-]+): (on|off)(?: \[requested (?:on|off)\])?\s*$/gm)) features[m[1]!] = m[2] === 'on';
  return features;
}

/**
 * The canonical text of an IP address (RFC 5952 for IPv6: lower case, no leading zeros, longest zero run as "::"),
 * which is how `ip` prints addresses. "fd00:5eb:0abc::20" and "fd00:5eb:abc::20" are the same address; as strings
 * they are not (a random IPv6 prefix with a leading zero once made the neighbour-discovery check fail at random).
 */
export function canonicalIp(addr: string): string {
  if (!addr.includes(':')) return addr;
  return new URL(`http://[${addr}]/`).hostname.slice(1, -1);
}

export interface NeighbourEntry {
  dst: string;
  lladdr?: string;
  state?: string[];
}

/** The resolved entry for addr among `ip -j neigh` entries (compared as addresses, not as strings). */
export function resolvedNeighbour(entries: readonly NeighbourEntry[], addr: string): string | undefined {
  const want = canonicalIp(addr);
  return entries.find((e) => canonicalIp(e.dst) === want && e.lladdr && !e.state?.includes('FAILED') && !e.state?.includes('INCOMPLETE'))?.lladdr;
}

/** The MAC an IPv4/IPv6 neighbour entry holds, or undefined when there is no resolved entry. */
export async function neighbourMac(ns: string, dev: string, addr: string): Promise<string | undefined> {
  const family = addr.includes(':') ? '-6' : '-4';
  const out = await sh(['ip', '-n', ns, family, '-j', 'neigh', 'show', 'dev', dev, 'to', addr]);
  return resolvedNeighbour(JSON.parse(out.stdout || '[]') as NeighbourEntry[], addr);
}

/** The neighbour entry for addr, polled for up to `ms` (under load the entry may still be settling after a ping). */
export async function waitNeighbourMac(ns: string, dev: string, addr: string, want: string, ms = 3000): Promise<string | undefined> {
  const until = Date.now() + ms;
  let mac = await neighbourMac(ns, dev, addr);
  while (mac !== want && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    mac = await neighbourMac(ns, dev, addr);
  }
  return mac;
}

export async function flushNeighbours(ns: string, dev: string): Promise<void> {
  await sh(['ip', '-n', ns, 'neigh', 'flush', 'dev', dev]);
  await sh(['ip', '-n', ns, '-6', 'neigh', 'flush', 'dev', dev]);
}
