import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { overlaps, pickFreeSlash30, type Slash30 } from '../../test/harness/addresses.ts';
import { runChecked } from '../../test/harness/run-command.ts';
import { linkExists, netnsEtcDir, netnsExists, pidsInNetns } from '../../test/harness/topology.ts';
import { benchNames, OWNER_DIR, PREFIX, TOKEN_RE, type BenchNames } from './names.ts';
import { processAlive } from '../../src/control/process-alive.ts';

/**
 * The benchmark's own network pieces around a harness server (which lives in its own namespace):
 *
 *   nsA [hostA] ─veth─ [bridgeLan] nsBridge [bridgeUp] ─veth─ [serverUp] server ns [serverLan] ─veth─ [hostB] nsB
 *
 * The server side (nsB and the server's local-bridge veth) is built once per run. The bridge side (nsA, nsBridge
 * and their veths) is built anew for every measured bridge, because both bridges change their LAN interface
 * (offloads, promiscuity, possibly MTU) and the next bridge must find a pristine one.
 *
 * Offloads (TSO/GSO/GRO, tx checksum, scatter-gather) are switched off at both hosts' ends: the stock bridge's
 * TCP collapses when a host sends GSO super-frames, and the comparison is meant to be about the tunnel.
 */
export const HOST_OFFLOADS_OFF = ['tso', 'gso', 'gro', 'tx', 'sg'] as const;

export interface Addresses {
  /** host A .1 and host B .2 of one /30 (one Ethernet segment across the tunnel) */
  hosts: Slash30;
  /** bridge .1 and server .2 on the uplink */
  uplink: Slash30;
}

function quiet(argv: string[]): { code: number; out: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function ownerFile(token: string): string {
  return join(OWNER_DIR, token);
}

/** Records this process as the owner of the token's pieces. */
export function claimToken(names: BenchNames): void {
  mkdirSync(OWNER_DIR, { recursive: true });
  writeFileSync(ownerFile(names.token), `${process.pid}\n`);
  mkdirSync(names.dir, { mode: 0o700 });
}


/** Kills what runs in a namespace (only ours: the namespace is ours) and deletes it with its veths. */
function removeNamespace(ns: string, problems: string[]): void {
  if (!netnsExists(ns)) return;
  for (const pid of pidsInNetns(ns)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const r = quiet(['ip', 'netns', 'del', ns]);
  if (r.code !== 0 && netnsExists(ns)) problems.push(`ip netns del ${ns}: ${r.out.trim()}`);
}

/** Synchronous and idempotent, so the exit safety net can run it. */
export function removeBridgeSide(names: BenchNames, serverNetns: string | undefined): string[] {
  const problems: string[] = [];
  removeNamespace(names.nsBridge, problems);
  removeNamespace(names.nsA, problems);
  // Its peer went with nsBridge; only a half-built pair could still be there.
  if (serverNetns && netnsExists(serverNetns)) quiet(['ip', '-n', serverNetns, 'link', 'del', names.serverUp]);
  rmSync(netnsEtcDir(names.nsBridge), { recursive: true, force: true });
  return problems;
}

export function removeAll(names: BenchNames, serverNetns: string | undefined): string[] {
  const problems = removeBridgeSide(names, serverNetns);
  removeNamespace(names.nsB, problems);
  if (serverNetns && netnsExists(serverNetns)) quiet(['ip', '-n', serverNetns, 'link', 'del', names.serverLan]);
  rmSync(names.dir, { recursive: true, force: true });
  rmSync(ownerFile(names.token), { force: true });
  return problems;
}

/** Removes the pieces of earlier runs whose owner process is dead (a SIGKILLed benchmark runs no exit handler). */
export function sweepStaleRuns(): string[] {
  const removed: string[] = [];
  let tokens: string[];
  try {
    tokens = readdirSync(OWNER_DIR).filter((t) => TOKEN_RE.test(t));
  } catch {
    return removed;
  }
  for (const token of tokens) {
    const pid = Number.parseInt(readFileSync(ownerFile(token), 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) continue;
    const names = benchNames(token);
    removeAll(names, undefined);
    if (linkExists(names.hostA)) quiet(['ip', 'link', 'del', names.hostA]);
    removed.push(`${PREFIX}${token}`);
  }
  return removed;
}

async function ns(nsName: string, ...argv: string[]): Promise<void> {
  await runChecked(['ip', 'netns', 'exec', nsName, ...argv]);
}

async function hostEnd(nsName: string, dev: string, cidr: string, gro = false): Promise<void> {
  await ns(nsName, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1');
  await ns(nsName, 'ip', 'link', 'set', 'lo', 'up');
  await ns(nsName, 'ip', 'addr', 'add', cidr, 'dev', dev);
  await ns(nsName, 'ethtool', '-K', dev, ...HOST_OFFLOADS_OFF.flatMap((f) => [f, gro && f === 'gro' ? 'on' : 'off']));
  await ns(nsName, 'ip', 'link', 'set', dev, 'up');
}

/** Two /30s from the test range, apart from each other and from the server's own veth (`serverIp`). */
export async function pickAddresses(serverIp: string): Promise<Addresses> {
  for (;;) {
    const hosts = await pickFreeSlash30();
    const uplink = await pickFreeSlash30();
    if (hosts.network !== uplink.network && !overlaps(serverIp, 32, hosts.network, 30) && !overlaps(serverIp, 32, uplink.network, 30)) {
      return { hosts, uplink };
    }
  }
}

/** nsB with host B, and the veth the server bridges into its hub. */
export async function buildServerSide(names: BenchNames, serverNetns: string, addr: Addresses): Promise<void> {
  await runChecked(['ip', 'netns', 'add', names.nsB]);
  await runChecked(['ip', 'link', 'add', names.hostB, 'netns', names.nsB, 'type', 'veth', 'peer', 'name', names.serverLan, 'netns', serverNetns]);
  await runChecked(['ip', '-n', serverNetns, 'link', 'set', names.serverLan, 'up']);
  await hostEnd(names.nsB, names.hostB, `${addr.hosts.server}/30`);
}

/** nsBridge (uplink to the server, LAN veth without address) and nsA with host A. */
export async function buildBridgeSide(names: BenchNames, serverNetns: string, addr: Addresses, opts: { hostGro?: boolean; lanTsoOff?: boolean } = {}): Promise<void> {
  await runChecked(['ip', 'netns', 'add', names.nsBridge]);
  await runChecked(['ip', 'netns', 'add', names.nsA]);
  // The bridge namespace has no default route and resolves names at 127.0.0.1: vpnbridge's internet features
  // (keep-alive, NAT-T lookups) fail locally instead of leaving the machine.
  mkdirSync(netnsEtcDir(names.nsBridge), { recursive: true });
  writeFileSync(join(netnsEtcDir(names.nsBridge), 'resolv.conf'), 'nameserver 127.0.0.1\n');
  await ns(names.nsBridge, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1');
  await ns(names.nsBridge, 'ip', 'link', 'set', 'lo', 'up');
  await runChecked(['ip', 'link', 'add', names.bridgeUp, 'netns', names.nsBridge, 'type', 'veth', 'peer', 'name', names.serverUp, 'netns', serverNetns]);
  await runChecked(['ip', '-n', serverNetns, 'addr', 'add', `${addr.uplink.server}/30`, 'dev', names.serverUp]);
  await runChecked(['ip', '-n', serverNetns, 'link', 'set', names.serverUp, 'up']);
  await ns(names.nsBridge, 'ip', 'addr', 'add', `${addr.uplink.client}/30`, 'dev', names.bridgeUp);
  await ns(names.nsBridge, 'ip', 'link', 'set', names.bridgeUp, 'up');
  await runChecked(['ip', 'link', 'add', names.hostA, 'netns', names.nsA, 'type', 'veth', 'peer', 'name', names.bridgeLan, 'netns', names.nsBridge]);
  await ns(names.nsBridge, 'ip', 'link', 'set', names.bridgeLan, 'up');
  // What-ifs: a LAN NIC without TSO (the kernel then cuts sebridge's super-frames); a LAN host that receives with GRO.
  if (opts.lanTsoOff) await ns(names.nsBridge, 'ethtool', '-K', names.bridgeLan, 'tso', 'off', 'tx', 'off');
  await hostEnd(names.nsA, names.hostA, `${addr.hosts.client}/30`, opts.hostGro);
}
