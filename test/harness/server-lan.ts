/**
 * A LAN behind the real server: a host namespace joined to a hub by the SERVER's own local bridge (SoftEther's
 * `BridgeCreate ... /TAP:no` on a veth whose other end is in the host namespace). This is the far end of an
 * end-to-end test of a bridge: frames a cascade delivers to the hub come out in that namespace, and the other way.
 *
 * Facts this relies on (5.01 build 9674, see docs/softether-server-in-tests.md):
 * - the bridged device must exist and be up before BridgeCreate, and the bridge is only usable once BridgeList
 *   says "Operating";
 * - the server's local bridge collapses on super-frames, so the host end has segmentation/checksum offloads
 *   off (that is the C server's limitation, not something under test).
 */
import { spawnSync } from 'node:child_process';
import { csvRecords } from './csv.ts';
import { HarnessError } from './errors.ts';
import { runChecked } from './run-command.ts';
import type { SoftEtherServer } from './softether-server.ts';

export interface ServerLanNames {
  /** new network namespace of the host on the server's LAN */
  hostNetns: string;
  /** veth end inside the server's namespace (what the server bridges) */
  serverDev: string;
  /** veth end inside hostNetns */
  hostDev: string;
}

export interface ServerLan extends ServerLanNames {
  readonly hub: string;
  /** MAC of hostDev, lower case with colons */
  readonly hostMac: string;
  /** Removes the host namespace (and with it the veth pair). Synchronous, idempotent, never throws. */
  remove(): void;
}

/** Offloads that produce super-frames or partial checksums, switched off at the host end for the C server's sake. */
export const HOST_END_OFFLOADS_OFF = ['tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off', 'sg', 'off'];

const NAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

/** Does the machine have what attachServerLan needs beyond the server harness itself (an ethtool binary)? */
export function serverLanCapability(): { ok: true } | { ok: false; reason: string } {
  const r = spawnSync('ethtool', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return { ok: false, reason: 'needs an ethtool binary (Debian package ethtool)' };
  return { ok: true };
}

function removeNetns(netns: string): void {
  spawnSync('ip', ['netns', 'del', netns], { timeout: 10_000 });
}

/** Bridge states BridgeList shows, by device name. */
export async function bridgeStates(server: SoftEtherServer): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  for (const r of csvRecords(await server.vpncmdCsv('BridgeList'))) {
    const dev = r['Network Adapter or Tap Device Name'];
    const status = r['Status'];
    if (dev !== undefined && status !== undefined) states.set(dev, status);
  }
  return states;
}

export async function attachServerLan(server: SoftEtherServer, hub: string, names: ServerLanNames, timeoutMs = 15_000): Promise<ServerLan> {
  for (const n of [names.hostNetns, names.serverDev, names.hostDev]) {
    if (!NAME_RE.test(n)) throw new HarnessError(`bad name ${JSON.stringify(n)} (at most 15 of A-Z a-z 0-9 _ . -)`);
  }
  const { hostNetns, serverDev, hostDev } = names;
  await runChecked(['ip', 'netns', 'add', hostNetns]);
  try {
    await runChecked(['ip', '-n', hostNetns, 'link', 'set', 'lo', 'up']);
    await runChecked(['ip', '-n', server.netns, 'link', 'add', serverDev, 'type', 'veth', 'peer', 'name', hostDev, 'netns', hostNetns]);
    // The server's end carries no address: keep its own IPv6 stack off the LAN under test.
    await runChecked(['ip', 'netns', 'exec', server.netns, 'sysctl', '-q', '-w', `net.ipv6.conf.${serverDev}.disable_ipv6=1`]);
    await runChecked(['ip', '-n', server.netns, 'link', 'set', serverDev, 'up']);
    await runChecked(['ip', 'netns', 'exec', hostNetns, 'ethtool', '-K', hostDev, ...HOST_END_OFFLOADS_OFF]);
    await runChecked(['ip', '-n', hostNetns, 'link', 'set', hostDev, 'up']);
    const link = JSON.parse((await runChecked(['ip', '-n', hostNetns, '-j', 'link', 'show', 'dev', hostDev])).stdout) as { address: string }[];
    const hostMac = link[0]?.address;
    if (!hostMac) throw new HarnessError(`no MAC for ${hostDev}`);

    await server.vpncmd('BridgeCreate', [hub, `/DEVICE:${serverDev}`, '/TAP:no']);
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      last = (await bridgeStates(server)).get(serverDev) ?? '(not listed)';
      if (last === 'Operating') break;
      if (Date.now() > deadline) throw new HarnessError(`local bridge ${hub} <-> ${serverDev} not operating after ${timeoutMs} ms: ${last}`, server.logTail(2000));
      await new Promise((r) => setTimeout(r, 200));
    }
    let removed = false;
    return {
      ...names,
      hub,
      hostMac,
      remove: () => {
        if (removed) return;
        removed = true;
        removeNetns(hostNetns);
      },
    };
  } catch (e) {
    removeNetns(hostNetns);
    throw e;
  }
}
