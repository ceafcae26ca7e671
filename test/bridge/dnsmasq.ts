/**
 * Debian's dnsmasq (dnsmasq-base) as the DHCP server of a host namespace: DHCP only (DNS off), in the foreground,
 * its log on our pipe, its lease file in the lab's scratch directory. Killed by PID through the lab.
 */
import { join } from 'node:path';
import type { BoundedText } from '../harness/bounded-text.ts';
import { LabError, sleep } from './lab.ts';
import type { Lab } from './lab.ts';

export interface DhcpServer {
  pid: number;
  leaseFile: string;
  log(): string;
  stop(): void;
}

export async function startDnsmasq(lab: Lab, ns: string, dev: string, range: { first: string; last: string }, timeoutMs = 10_000): Promise<DhcpServer> {
  const leaseFile = join(lab.dir, `dnsmasq-${ns}.leases`);
  const { child, output } = lab.spawn([
    'setpriv', '--pdeathsig', 'KILL',
    'ip', 'netns', 'exec', ns,
    'dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--port=0', `--interface=${dev}`, '--bind-interfaces',
    `--dhcp-range=${range.first},${range.last},255.255.255.0,10m`, `--dhcp-leasefile=${leaseFile}`, '--pid-file=',
    '--log-dhcp', '--log-facility=-',
  ]);
  const pid = child.pid;
  if (pid === undefined) throw new LabError('could not start dnsmasq');
  const ready = (text: BoundedText) => /DHCP, sockets bound exclusively to interface/.test(text.text());
  const deadline = Date.now() + timeoutMs;
  while (!ready(output)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new LabError(`dnsmasq exited (${child.exitCode ?? child.signalCode})`, output.text());
    if (Date.now() > deadline) throw new LabError(`dnsmasq not ready after ${timeoutMs} ms`, output.text());
    await sleep(50);
  }
  return {
    pid,
    leaseFile,
    log: () => output.text(),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGTERM');
    },
  };
}
