/**
 * iperf3 between two host namespaces: a server kept running (killed by PID through the lab) and one client run
 * per direction, results read from iperf3's JSON.
 */
import type { Lab } from './lab.ts';
import { LabError, sleep } from './lab.ts';
import { runCommand } from '../harness/run-command.ts';

export interface IperfServer {
  pid: number;
  stop(): void;
}

export async function startIperfServer(lab: Lab, ns: string, bind: string, port: number, timeoutMs = 10_000): Promise<IperfServer> {
  const { child, output } = lab.spawn(['setpriv', '--pdeathsig', 'KILL', 'ip', 'netns', 'exec', ns, 'iperf3', '-s', '-B', bind, '-p', String(port), '--forceflush']);
  const pid = child.pid;
  if (pid === undefined) throw new LabError('could not start iperf3');
  const deadline = Date.now() + timeoutMs;
  while (!/Server listening/.test(output.text())) {
    if (child.exitCode !== null || child.signalCode !== null) throw new LabError('iperf3 server exited', output.text());
    if (Date.now() > deadline) throw new LabError(`iperf3 server not listening after ${timeoutMs} ms`, output.text());
    await sleep(50);
  }
  return {
    pid,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGTERM');
    },
  };
}

export interface IperfResult {
  /** what the receiving side counted */
  mbps: number;
  retransmits: number;
}

/** One TCP run from ns to server; reverse: the server sends (iperf3 -R). */
/** `mbit`: cap the sending rate (iperf3 -b); unlimited when absent. */
export async function iperfClient(ns: string, server: string, port: number, seconds: number, reverse: boolean, mbit?: number): Promise<IperfResult> {
  const argv = ['setpriv', '--pdeathsig', 'KILL', 'ip', 'netns', 'exec', ns, 'iperf3', '-c', server, '-p', String(port), '-t', String(seconds), '-J', ...(reverse ? ['-R'] : []), ...(mbit ? ['-b', `${mbit}M`] : [])];
  const r = await runCommand(argv, { timeoutMs: (seconds + 20) * 1000 });
  let json: { error?: string; end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } } };
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new LabError(`iperf3 output is not JSON (exit ${r.code})`, `${r.stdout}${r.stderr}`.slice(-4000));
  }
  if (r.code !== 0 || json.error) throw new LabError(`iperf3 failed (exit ${r.code}): ${json.error ?? ''}`, r.stderr.slice(-4000));
  const bps = json.end?.sum_received?.bits_per_second;
  if (typeof bps !== 'number') throw new LabError('iperf3 JSON without end.sum_received.bits_per_second', r.stdout.slice(-4000));
  return { mbps: bps / 1e6, retransmits: json.end?.sum_sent?.retransmits ?? 0 };
}
