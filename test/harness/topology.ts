import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { overlaps, usedPrefixes, type Slash30 } from './addresses.ts';
import { HarnessError } from './errors.ts';
import { ownerFile, type InstanceNames } from './names.ts';
import { runChecked } from './run-command.ts';

/**
 * The network a server lives in: its own namespace with only lo and one veth to the root
 * namespace, no default route, and a resolv.conf pointing at 127.0.0.1 so that every name lookup
 * the server tries (DDNS, keep-alive, NAT-T hosts) fails locally instead of leaving the machine.
 */
export const SERVER_DIRS = ['lib', 'log', 'run', 'tmp'] as const;

export function netnsEtcDir(netns: string): string {
  return join('/etc/netns', netns);
}

/** Creates the private directory first, with the owner marker, so cleanup.ts never mistakes a
 * half-built instance for a leftover. */
export function makeInstanceDir(names: InstanceNames): void {
  mkdirSync(names.dir, { mode: 0o700 }); // not recursive: fails if the token is somehow taken
  writeFileSync(ownerFile(names.dir), `${process.pid}\n`);
  for (const d of SERVER_DIRS) mkdirSync(join(names.dir, d), { mode: 0o700 });
}

export async function buildNetwork(names: InstanceNames, net: Slash30): Promise<void> {
  const { netns, hostVeth, serverVeth } = names;
  await runChecked(['ip', 'netns', 'add', netns]);
  await runChecked(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
  await runChecked(['ip', 'link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', serverVeth, 'netns', netns]);
  await runChecked(['ip', 'addr', 'add', `${net.client}/30`, 'dev', hostVeth]);
  await runChecked(['ip', 'link', 'set', hostVeth, 'up']);
  await runChecked(['ip', '-n', netns, 'addr', 'add', `${net.server}/30`, 'dev', serverVeth]);
  await runChecked(['ip', '-n', netns, 'link', 'set', serverVeth, 'up']);
  mkdirSync(netnsEtcDir(netns), { recursive: true });
  writeFileSync(join(netnsEtcDir(netns), 'resolv.conf'), 'nameserver 127.0.0.1\n');

  // Another test process may have picked the same /30 a moment ago; then both would route it.
  const clash = (await usedPrefixes()).filter((u) => overlaps(u.ip, u.len, net.network, 30) && u.dev !== hostVeth);
  if (clash.length > 0) {
    throw new HarnessError(`address block ${net.network}/30 is also used elsewhere on this machine`);
  }
}

function quiet(argv: string[]): { code: number; out: string } {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** PIDs of every process whose network namespace is `netns`. */
export function pidsInNetns(netns: string): number[] {
  const r = quiet(['ip', 'netns', 'pids', netns]);
  if (r.code !== 0) return [];
  return r.out.split(/\s+/).filter((s) => /^\d+$/.test(s)).map(Number);
}

export function netnsExists(netns: string): boolean {
  return existsSync(join('/run/netns', netns));
}

export function linkExists(dev: string): boolean {
  return quiet(['ip', 'link', 'show', 'dev', dev]).code === 0;
}

/**
 * Removes everything an instance made. Synchronous so the process-exit safety net can use it, and
 * idempotent: missing pieces are fine. Processes still inside the namespace are ours (vpncmd
 * stragglers, or the server of a dead test run when called from cleanup.ts) and get SIGKILL by PID.
 * Returns the problems it could not fix.
 */
export function removeInstance(names: InstanceNames): string[] {
  const problems: string[] = [];
  if (netnsExists(names.netns)) {
    for (const pid of pidsInNetns(names.netns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  if (linkExists(names.hostVeth)) {
    const r = quiet(['ip', 'link', 'del', 'dev', names.hostVeth]);
    if (r.code !== 0 && linkExists(names.hostVeth)) problems.push(`ip link del ${names.hostVeth}: ${r.out.trim()}`);
  }
  if (netnsExists(names.netns)) {
    const r = quiet(['ip', 'netns', 'del', names.netns]);
    if (r.code !== 0 && netnsExists(names.netns)) problems.push(`ip netns del ${names.netns}: ${r.out.trim()}`);
  }
  for (const path of [netnsEtcDir(names.netns), names.dir]) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch (e) {
      problems.push(`rm ${path}: ${(e as Error).message}`);
    }
  }
  return problems;
}
