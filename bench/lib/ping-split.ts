/**
 * Where the idle ping's time goes: a tcpdump in the bridge's namespace, on its LAN veth and its uplink, while the
 * idle pings run. For each echo request: from its arrival on the LAN to the first data segment leaving on the uplink
 * (the bridge's request path), and from the next data segment arriving on the uplink to the echo reply leaving on the
 * LAN (its reply path); these two compare the bridges themselves. What lies between is the server and host B; a
 * second capture in the server's namespace splits that into vpnserver's two paths and host B.
 *
 * A keep-alive leaving between a request and its record would shorten that one request's time (rare while idle:
 * one per connection every few seconds, and only pings 10 ms apart); a ping without all four packets is skipped.
 */
import { spawn } from 'node:child_process';
import { quantile } from './ping.ts';

const pct = (v: number[], q: number) => quantile([...v].sort((a, b) => a - b), q);

export interface PingSplit {
  /** pings with all four packets seen */
  pings: number;
  requestP50Ms: number;
  requestP99Ms: number;
  replyP50Ms: number;
  replyP99Ms: number;
  /** request + reply path of the same ping */
  bridgeP99Ms: number;
  /** from the request's record leaving to the reply's record arriving: the server and host B */
  serverP50Ms: number;
  serverP99Ms: number;
  /** with a capture in the server's namespace too: inside vpnserver (record in -> request out to host B, reply in
   * from host B -> record out) and host B (request out -> reply in) */
  inServer?: { pings: number; requestP50Ms: number; requestP99Ms: number; replyP50Ms: number; replyP99Ms: number; hostBP50Ms: number; hostBP99Ms: number };
}

interface Pkt {
  t: number;
  kind: 'req' | 'rep' | 'up' | 'down';
  seq: number;
}

/** One line of `tcpdump -i any -n -tt [-q]`: an ICMP echo (with its seq) or a TCP segment carrying data. */
interface Line {
  t: number;
  ifname: string;
  out: boolean;
  echo?: { request: boolean; seq: number };
}

function* lines(text: string): Generator<Line> {
  for (const line of text.split('\n')) {
    const m = /^(\d+\.\d+) (\S+) +(In|Out|P|B|M)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, ts, ifname, dir, rest] = m as unknown as [string, string, string, string, string];
    const e = /ICMP echo (request|reply), id \d+, seq (\d+)/.exec(rest);
    const l: Line = { t: Number(ts) * 1000, ifname, out: dir === 'Out' };
    if (e) yield { ...l, echo: { request: e[1] === 'request', seq: Number(e[2]) } };
    else if (/(?:length|tcp) [1-9]/.test(rest)) yield l;
  }
}

/** Parses `tcpdump -i any -n -tt` lines (LAN interface lanIf, uplink upIf). Exported for the bench's unit test. */
export function parsePingSplit(text: string, lanIf: string, upIf: string): PingSplit | undefined {
  const pkts: Pkt[] = [];
  for (const l of lines(text)) {
    if (l.ifname === lanIf && l.echo) {
      if (l.echo.request && !l.out) pkts.push({ t: l.t, kind: 'req', seq: l.echo.seq });
      else if (!l.echo.request && l.out) pkts.push({ t: l.t, kind: 'rep', seq: l.echo.seq });
    } else if (l.ifname === upIf && !l.echo) {
      pkts.push({ t: l.t, kind: l.out ? 'up' : 'down', seq: 0 });
    }
  }
  const req: number[] = [];
  const rep: number[] = [];
  const both: number[] = [];
  const server: number[] = [];
  for (let i = 0; i < pkts.length; i++) {
    const p = pkts[i]!;
    if (p.kind !== 'req') continue;
    let up: number | undefined;
    let down: number | undefined;
    for (let j = i + 1; j < pkts.length && j < i + 16; j++) {
      const q = pkts[j]!;
      if (q.kind === 'up' && up === undefined) up = q.t;
      else if (q.kind === 'down' && up !== undefined && down === undefined) down = q.t;
      else if (q.kind === 'rep' && q.seq === p.seq) {
        if (up !== undefined && down !== undefined) {
          req.push(up - p.t);
          rep.push(q.t - down);
          both.push(up - p.t + (q.t - down));
          server.push(down - up);
        }
        break;
      }
    }
  }
  if (req.length === 0) return undefined;
  return {
    pings: req.length,
    requestP50Ms: pct(req, 0.5),
    requestP99Ms: pct(req, 0.99),
    replyP50Ms: pct(rep, 0.5),
    replyP99Ms: pct(rep, 0.99),
    bridgeP99Ms: pct(both, 0.99),
    serverP50Ms: pct(server, 0.5),
    serverP99Ms: pct(server, 0.99),
  };
}

/**
 * The server's namespace, `tcpdump -i any -n -tt -q` of ICMP and TCP segments with data: tunnel records come and go
 * on the uplink (TCP), the pings on the server's LAN side (ICMP) towards host B.
 */
export function parseServerSplit(text: string): PingSplit['inServer'] {
  type Ev = { t: number; kind: 'in' | 'out' | 'req' | 'rep'; seq: number };
  const evs: Ev[] = [];
  for (const l of lines(text)) {
    if (l.ifname === 'lo') continue; // the bench's own admin calls to the server
    if (!l.echo) evs.push({ t: l.t, kind: l.out ? 'out' : 'in', seq: 0 });
    else if (l.echo.request && l.out) evs.push({ t: l.t, kind: 'req', seq: l.echo.seq });
    else if (!l.echo.request && !l.out) evs.push({ t: l.t, kind: 'rep', seq: l.echo.seq });
  }
  const req: number[] = [];
  const rep: number[] = [];
  const hostB: number[] = [];
  for (let i = 0; i < evs.length; i++) {
    const q = evs[i]!;
    if (q.kind !== 'req') continue;
    // the last record in before the request left, the reply of the same seq, the first record out after it
    let recIn: number | undefined;
    for (let j = i - 1; j >= 0 && j >= i - 16; j--) if (evs[j]!.kind === 'in') { recIn = evs[j]!.t; break; }
    let r: number | undefined;
    let recOut: number | undefined;
    for (let j = i + 1; j < evs.length && j < i + 16; j++) {
      const e = evs[j]!;
      if (r === undefined && e.kind === 'rep' && e.seq === q.seq) r = e.t;
      else if (r !== undefined && e.kind === 'out') { recOut = e.t; break; }
    }
    if (recIn === undefined || r === undefined || recOut === undefined) continue;
    req.push(q.t - recIn);
    hostB.push(r - q.t);
    rep.push(recOut - r);
  }
  if (req.length === 0) return undefined;
  return { pings: req.length, requestP50Ms: pct(req, 0.5), requestP99Ms: pct(req, 0.99), replyP50Ms: pct(rep, 0.5), replyP99Ms: pct(rep, 0.99), hostBP50Ms: pct(hostB, 0.5), hostBP99Ms: pct(hostB, 0.99) };
}

function capture(ns: string): { stop: () => Promise<string> } {
  const filter = 'icmp or (tcp and (tcp[tcpflags] & tcp-push != 0))';
  const child = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', 'any', '-n', '-tt', '-l', '-q', '-s', '96', filter], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    if (out.length < 8_000_000) out += d.toString();
  });
  return {
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      return out;
    },
  };
}

/** One log line's worth of a split. */
export function describePingSplit(s: PingSplit): string {
  const ms = (a: number, b: number) => `${a.toFixed(3)}/${b.toFixed(3)} ms`;
  let d = `in the bridge: request p50/p99 ${ms(s.requestP50Ms, s.requestP99Ms)}, reply ${ms(s.replyP50Ms, s.replyP99Ms)}`;
  const v = s.inServer;
  if (v) d += `; in vpnserver: request ${ms(v.requestP50Ms, v.requestP99Ms)}, reply ${ms(v.replyP50Ms, v.replyP99Ms)}, host B ${ms(v.hostBP50Ms, v.hostBP99Ms)}`;
  return d;
}

/**
 * Starts the capture in `ns` (and in `serverNs` when given); the returned function stops it and gives the split
 * (undefined if nothing matched).
 */
export async function startPingSplit(ns: string, lanIf: string, upIf: string, serverNs?: string): Promise<() => Promise<PingSplit | undefined>> {
  const bridge = capture(ns);
  const server = serverNs ? capture(serverNs) : undefined;
  // tcpdump needs a moment to attach before the first ping is worth counting
  await new Promise((r) => setTimeout(r, 500));
  return async () => {
    const [b, srv] = await Promise.all([bridge.stop(), server?.stop()]);
    const split = parsePingSplit(b, lanIf, upIf);
    const inServer = srv !== undefined ? parseServerSplit(srv) : undefined;
    return split && inServer ? { ...split, inServer } : split;
  };
}
