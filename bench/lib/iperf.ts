import { runCommand } from '../../test/harness/run-command.ts';
import { BenchError, LongChild } from './child.ts';

export const IPERF_PORT = 5201;

export interface IperfResult {
  /** receiver-side goodput over the measured (non-omitted) seconds */
  bitsPerSecond: number;
  /** TCP retransmissions at the sender, when iperf3 reports them */
  retransmits: number | undefined;
  seconds: number;
}

/** iperf3 server in host B's namespace, kept for all measurements of one bridge and stopped by PID. */
export async function startIperfServer(nsB: string, bindAddress: string): Promise<LongChild> {
  const server = new LongChild(['setpriv', '--pdeathsig', 'KILL', 'ip', 'netns', 'exec', nsB, 'iperf3', '-s', '-B', bindAddress, '-p', String(IPERF_PORT)]);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await runCommand(['ip', 'netns', 'exec', nsB, 'ss', '-Hltn', `sport = :${IPERF_PORT}`], { timeoutMs: 5000 });
    if (r.code === 0 && r.stdout.includes(`:${IPERF_PORT}`)) return server;
    if (!server.running || Date.now() > deadline) {
      server.killNow();
      throw new BenchError(`iperf3 server in ${nsB} did not listen (${server.describeExit()})`, server.tail());
    }
    await new Promise((res) => setTimeout(res, 100));
  }
}

interface IperfJson {
  error?: string;
  end?: {
    sum_received?: { bits_per_second?: number; seconds?: number };
    sum_sent?: { retransmits?: number };
  };
}

export function parseIperfJson(text: string): IperfResult {
  let j: IperfJson;
  try {
    j = JSON.parse(text) as IperfJson;
  } catch {
    throw new BenchError('iperf3 printed no JSON', text.slice(-2000));
  }
  if (j.error) throw new BenchError(`iperf3: ${j.error}`);
  const bps = j.end?.sum_received?.bits_per_second;
  if (typeof bps !== 'number' || !Number.isFinite(bps)) throw new BenchError('iperf3 JSON without end.sum_received', text.slice(-2000));
  return { bitsPerSecond: bps, retransmits: j.end?.sum_sent?.retransmits, seconds: j.end?.sum_received?.seconds ?? 0 };
}

/**
 * One TCP stream from host A to host B (reverse: B to A) for `seconds`, after `omit` seconds of warm-up that are
 * not counted. The caller brackets this call with its CPU sampling. `rate` (iperf3's -b, e.g. "1500M") offers a
 * fixed load instead of as much as TCP carries; `cpus` confines the client (taskset -c syntax).
 */
export async function runIperf(nsA: string, hostB: string, seconds: number, omit: number, reverse: boolean, rate?: string, cpus?: string): Promise<IperfResult> {
  const argv = [...(cpus ? ['taskset', '-c', cpus] : []), 'ip', 'netns', 'exec', nsA, 'iperf3', '-c', hostB, '-p', String(IPERF_PORT), '-t', String(seconds), '-O', String(omit), '-J', '--connect-timeout', '5000'];
  if (reverse) argv.push('-R');
  if (rate) argv.push('-b', rate);
  const r = await runCommand(argv, { timeoutMs: (seconds + omit + 30) * 1000 });
  if (r.killed) throw new BenchError(`iperf3 did not finish within ${seconds + omit + 30} s (tunnel stalled?)`, r.stdout.slice(-1000));
  return parseIperfJson(r.stdout);
}
