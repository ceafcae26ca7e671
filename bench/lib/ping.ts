import { runCommand } from '../../test/harness/run-command.ts';
import { BenchError } from './child.ts';

export interface PingResult {
  sent: number;
  received: number;
  avgMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Quantile of sorted values by nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

/** Round-trip times of `ping` output, one per "time=" reply line (duplicates and errors have none). */
export function parsePingTimes(output: string): number[] {
  const times: number[] = [];
  for (const m of output.matchAll(/ icmp_seq=\d+ .*time=([\d.]+) ms$/gm)) {
    if (!/\(DUP!\)/.test(m[0])) times.push(Number(m[1]));
  }
  return times;
}

/** ICMP echo from host A's namespace to host B, `count` pings `intervalMs` apart (iputils ping; root). */
export async function pingLatency(nsA: string, hostB: string, count: number, intervalMs: number): Promise<PingResult> {
  const r = await runCommand(
    ['ip', 'netns', 'exec', nsA, 'ping', '-n', '-c', String(count), '-i', String(intervalMs / 1000), '-W', '2', hostB],
    { timeoutMs: count * intervalMs + 15_000 },
  );
  const times = parsePingTimes(r.stdout);
  if (times.length === 0) throw new BenchError(`ping ${hostB} from ${nsA}: no replies (exit ${r.code})`, `${r.stdout}${r.stderr}`.slice(-2000));
  const sorted = [...times].sort((a, b) => a - b);
  return {
    sent: count,
    received: times.length,
    avgMs: times.reduce((a, b) => a + b, 0) / times.length,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    maxMs: sorted[sorted.length - 1]!,
  };
}

/** Waits until one ping gets through (ARP and the bridges' MAC learning settle on the way). */
export async function waitReachable(nsA: string, hostB: string, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const r = await runCommand(['ip', 'netns', 'exec', nsA, 'ping', '-n', '-c', '1', '-W', '1', hostB], { timeoutMs: 5000 });
    if (r.code === 0) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new BenchError(`${hostB} not reachable from ${nsA} within ${timeoutMs} ms`, r.stdout.slice(-1000));
    await new Promise((res) => setTimeout(res, 200));
  }
}
