// How bunched the TCP ACKs are that reach the sending host, and how big the data bursts it sends: read from the
// captures `bridge-vs-softether.ts --capture DIR` writes at host B during every server->LAN run. A bunch is a run
// of ACKs less than 30 µs apart; what one bunch acknowledges is roughly what the sender may put on the wire at once
// (docs/server-send-path.md, "Measured"). Not a test: `node_modules/.bin/node bench/ack-bunches.ts FILE.pcap...`
import { spawnSync } from 'node:child_process';

const GAP_S = 30e-6;

interface Packet {
  t: number;
  /** "a.b.c.d.port > e.f.g.h.port" */
  flow: string;
  ack: number | undefined;
  length: number;
}

function readCapture(file: string): Packet[] {
  const r = spawnSync('tcpdump', ['-tt', '-n', '-S', '-r', file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`tcpdump -r ${file}: ${r.stderr.trim()}`);
  const out: Packet[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^(\d+\.\d+) IP (\S+ > \S+): Flags \[[^\]]*\](.*)$/.exec(line);
    if (!m) continue;
    const ack = /\back (\d+)/.exec(m[3]!);
    const len = /\blength (\d+)/.exec(m[3]!);
    out.push({ t: Number(m[1]), flow: m[2]!, ack: ack ? Number(ack[1]) : undefined, length: len ? Number(len[1]) : 0 });
  }
  return out;
}

function runs<T extends { t: number }>(items: T[]): T[][] {
  const out: T[][] = [];
  for (const it of items) {
    const cur = out[out.length - 1];
    if (cur && it.t - cur[cur.length - 1]!.t < GAP_S) cur.push(it);
    else out.push([it]);
  }
  return out;
}

const q = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
const dist = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${q(s, 0.5)} p90 ${q(s, 0.9)} p99 ${q(s, 0.99)} max ${s[s.length - 1]}`;
};

for (const file of process.argv.slice(2)) {
  const pkts = readCapture(file);
  // The bulk flow's ACKs only (iperf3's control connection has its own sequence numbers).
  const perFlow = new Map<string, number>();
  for (const p of pkts) if (p.length === 0 && p.ack !== undefined) perFlow.set(p.flow, (perFlow.get(p.flow) ?? 0) + 1);
  const ackFlow = [...perFlow].sort((a, b) => b[1] - a[1])[0]?.[0];
  const acks = pkts.filter((p) => p.flow === ackFlow && p.length === 0 && p.ack !== undefined);
  const data = pkts.filter((p) => p.length > 0);
  if (acks.length < 2 || data.length < 2) {
    process.stdout.write(`${file}: too few packets (${acks.length} ACKs, ${data.length} data)\n`);
    continue;
  }
  const seconds = pkts[pkts.length - 1]!.t - pkts[0]!.t;
  const bunches = runs(acks);
  // What a bunch acknowledges: from the highest ACK before it to its own highest (sequence numbers wrap at 2^32;
  // an ACK behind the highest one seen, reordered or duplicate, acknowledges nothing new).
  const acked: number[] = [];
  let high = bunches[0]!.at(-1)!.ack!;
  for (let i = 1; i < bunches.length; i++) {
    let gained = 0;
    for (const a of bunches[i]!) {
      const d = (a.ack! - high + 2 ** 32) % 2 ** 32;
      if (d > 0 && d < 2 ** 31) {
        gained += d;
        high = a.ack!;
      }
    }
    acked.push(gained);
  }
  const bursts = runs(data).map((b) => b.reduce((n, p) => n + p.length, 0));
  const mbps = (data.reduce((n, p) => n + p.length, 0) * 8) / seconds / 1e6;
  process.stdout.write(
    `${file}: ${seconds.toFixed(3)} s, ${acks.length} ACKs, ${data.length} data segments, ${mbps.toFixed(0)} Mbit/s\n` +
      `  ACK bunches: ${bunches.length} (${Math.round(bunches.length / seconds)}/s), ACKs per bunch ${dist(bunches.map((b) => b.length))}\n` +
      `  bytes acknowledged per bunch ${dist(acked)}\n` +
      `  data bursts (bytes) ${dist(bursts)}\n`,
  );
}
