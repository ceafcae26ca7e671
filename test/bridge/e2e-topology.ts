/**
 * The issue-3 acceptance topology, built fresh per test file:
 *
 *   host nsA ── veth ── [root namespace: rootDev, bridged by sebridge] ═ cascade ═ real vpnserver (hub, a password
 *   user, SecureNAT off) ── server's own local bridge on a veth ── host nsB
 *
 * nsA's end keeps every offload ON (super-frames and partial checksums reach sebridge: that is what is tested);
 * nsB's end has them off because the C server's local bridge cannot cope with them.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import { serverCapability, startServer } from '../harness/softether-server.ts';
import type { SoftEtherServer } from '../harness/softether-server.ts';
import { attachServerLan, serverLanCapability } from '../harness/server-lan.ts';
import type { ServerLan } from '../harness/server-lan.ts';
import { runCommand } from '../harness/run-command.ts';
import { inNs, Lab, pickLabSubnets, sh } from './lab.ts';
import type { Ipv4Plan } from './lab.ts';
import type { LinkArgs } from './sebridge-process.ts';

/** Interface name inside each host namespace (their own namespaces: no clash possible). */
export const HOST_DEV = 'lan0';

export interface HostAddrs {
  v4: string;
  v6: string;
}

export interface E2e {
  lab: Lab;
  server: SoftEtherServer;
  serverLan: ServerLan;
  hub: string;
  user: string;
  password: string;
  /** "198.18.N.2:5555" */
  serverAddress: string;
  plan: Ipv4Plan;
  /** IPv6 /64 prefix without the host part, e.g. "fd00:5eb:1a2b:3c4d" */
  v6prefix: string;
  nsA: string;
  nsB: string;
  /** veth end in the root namespace whose peer is nsA's lan0 */
  rootDev: string;
  a: HostAddrs;
  b: HostAddrs;
  /** (Re)creates rootDev <-> nsA:lan0 with nsA's addresses; used at build and to re-create the interface. */
  makeHostA(): Promise<void>;
  /** Kills what the lab started, removes its links and namespaces, stops the server. Idempotent. */
  teardown(): Promise<void>;
}

/**
 * A random /64 under fd00:5eb::/32, written as `ip` prints it (RFC 5952: no leading zeros, no zero group that "::"
 * could swallow), so addresses made from it compare equal to the kernel's text of them.
 */
export function randomV6Prefix(): string {
  const group = () => randomInt(1, 0x10000).toString(16);
  return `fd00:5eb:${group()}:${group()}`;
}

/** Why the machine cannot run these tests, or undefined. Tests skip LOUDLY with this reason. */
export function e2eMissing(): string | undefined {
  const s = serverCapability();
  if (!s.ok) return s.reason;
  const l = serverLanCapability();
  if (!l.ok) return l.reason;
  const tools: Array<[string[], string]> = [
    [['iperf3', '--version'], 'iperf3 (Debian package iperf3)'],
    [['dnsmasq', '--version'], 'dnsmasq (Debian package dnsmasq-base)'],
    [['python3', '-c', 'import socket; socket.AF_PACKET'], 'python3 with AF_PACKET (the raw-socket peer of the VLAN test)'],
  ];
  for (const [argv, what] of tools) {
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
    if (r.error || r.status !== 0) return `needs ${what}`;
  }
  return undefined;
}

/**
 * IPv4 and IPv6 on a host namespace's LAN interface. (No VLAN subinterface: the test machines' kernel has no
 * 802.1Q support, so the VLAN test sends and checks tagged frames through raw sockets instead.)
 */
export async function addHostAddrs(ns: string, dev: string, addrs: HostAddrs): Promise<void> {
  await inNs(ns, ['ip', 'addr', 'add', `${addrs.v4}/24`, 'dev', dev]);
  // nodad: the address is usable at once instead of after ~1 s of duplicate detection.
  await inNs(ns, ['ip', '-6', 'addr', 'add', `${addrs.v6}/64`, 'dev', dev, 'nodad']);
}

/** Builds everything; on failure removes what was made and rethrows. The caller owns teardown() (test.after.always). */
export async function buildE2e(): Promise<E2e> {
  const lab = new Lab();
  let server: SoftEtherServer | undefined;
  const teardown = async () => {
    lab.cleanup();
    await server?.stop();
  };
  try {
    const plan = await pickLabSubnets();
    const v6prefix = randomV6Prefix();
    const a: HostAddrs = { v4: `${plan.lan}.10`, v6: `${v6prefix}::10` };
    const b: HostAddrs = { v4: `${plan.lan}.20`, v6: `${v6prefix}::20` };

    server = await startServer();
    const hub = 'LAN';
    const user = 'bridge';
    const password = `pw-${randomBytes(8).toString('hex')}`;
    await server.createHub(hub);
    await server.createPasswordUser(hub, user, password);

    const nsB = lab.name('b');
    lab.trackNamespace(nsB);
    const serverLan = await attachServerLan(server, hub, { hostNetns: nsB, serverDev: `${lab.prefix}s`, hostDev: HOST_DEV });
    await addHostAddrs(nsB, HOST_DEV, b);

    const nsA = lab.addNamespace('a');
    const rootDev = lab.name('r');
    lab.trackLink(rootDev);
    const makeHostA = async () => {
      await sh(['ip', 'link', 'add', rootDev, 'type', 'veth', 'peer', 'name', HOST_DEV, 'netns', nsA]);
      // Our own host stack stays off the bridged link: only nsA and nsB talk on it.
      await sh(['sysctl', '-q', '-w', `net.ipv6.conf.${rootDev}.disable_ipv6=1`]);
      await inNs(nsA, ['ip', 'link', 'set', HOST_DEV, 'up']);
      await addHostAddrs(nsA, HOST_DEV, a);
      await sh(['ip', 'link', 'set', rootDev, 'up']);
    };
    await makeHostA();

    return {
      lab,
      server,
      serverLan,
      hub,
      user,
      password,
      serverAddress: `${server.host}:${server.port}`,
      plan,
      v6prefix,
      nsA,
      nsB,
      rootDev,
      a,
      b,
      makeHostA,
      teardown,
    };
  } catch (e) {
    await teardown().catch(() => undefined);
    throw e;
  }
}

/** `sebridge link` bridging rootDev (host A's side) into the lab's hub, with `more` (connections, environment). */
export function bridgeLinkArgs(e2e: E2e, more: Pick<LinkArgs, 'extra' | 'env'> = {}): LinkArgs {
  return { server: e2e.serverAddress, hub: e2e.hub, user: e2e.user, password: e2e.password, bridge: e2e.rootDev, ...more };
}

// --------------------------------------------------------------------------------------------------------------
// Measurements

export interface PingResult {
  transmitted: number;
  received: number;
  avgMs: number;
}

/** `ping` from a namespace; resolves with the summary even when packets were lost (the caller asserts). */
export async function ping(ns: string, target: string, args: string[] = [], count = 3, deadlineS = 10): Promise<PingResult & { output: string }> {
  const argv = ['ip', 'netns', 'exec', ns, 'ping', '-n', '-c', String(count), '-i', '0.2', '-w', String(deadlineS), ...args, target];
  const r = await runCommand(argv, { timeoutMs: (deadlineS + 5) * 1000 });
  const output = `${r.stdout}${r.stderr}`;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(output);
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(output);
  return { transmitted: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), avgMs: Number(rtt?.[1] ?? NaN), output };
}

/**
 * Asserts that `count` echo replies came back before the deadline. One lost request is tolerated (ping then
 * sends another): the first frame towards a just-(re)appeared interface may race its carrier; more is a failure.
 */
export async function expectPing(t: ExecutionContext, ns: string, target: string, what: string, args: string[] = [], count = 3): Promise<number> {
  const r = await ping(ns, target, args, count);
  t.true(r.received >= count, `${what}: ${r.output}`);
  t.true(r.transmitted - r.received <= 1, `${what}: more than one lost: ${r.output}`);
  return r.avgMs;
}
