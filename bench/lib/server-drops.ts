// Where vpnserver drops frames on their way from its own local bridge (host B) to the cascade under test
// (docs/server-send-path.md, "Measured"). Sampled before and after one iperf3 run.
import { runCommand } from '../../test/harness/run-command.ts';
import type { SoftEtherServer } from '../../test/harness/softether-server.ts';

export interface ServerDropSnapshot {
  /** sum of the drop counters (skmem "d") of vpnserver's packet sockets: frames the kernel could not queue to it */
  packetSocketDrops: number;
  /** per session (by user name; the local bridge's as "bridge:" + its session name): SessionGet rows that count
   * packets or bytes */
  sessions: Record<string, Record<string, number>>;
}

async function packetSocketDrops(server: SoftEtherServer): Promise<number> {
  const r = await runCommand(['ip', 'netns', 'exec', server.netns, 'ss', '-0', '-m', '-n', '-p'], { timeoutMs: 5000 });
  if (r.code !== 0) return Number.NaN;
  let drops = 0;
  // ss prints a socket's skmem on the line after it (or on the same line): count the "d" of every vpnserver socket.
  const lines = r.stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.includes('vpnserver')) continue;
    const m = /skmem:\([^)]*\bd(\d+)\)/.exec(`${lines[i]} ${lines[i + 1] ?? ''}`);
    if (m) drops += Number(m[1]);
  }
  return drops;
}

export async function serverDropSnapshot(server: SoftEtherServer, hub: string): Promise<ServerDropSnapshot> {
  const sessions: Record<string, Record<string, number>> = {};
  for (const s of await server.listSessions(hub)) {
    const d = await server.getSession(hub, s.name).catch(() => undefined);
    if (!d) continue;
    const rows: Record<string, number> = {};
    for (const [k, v] of Object.entries(d.raw)) {
      if (!/Packets|Size/.test(k)) continue;
      const n = Number(v.replace(/[^0-9]/g, ''));
      if (Number.isFinite(n)) rows[k] = n;
    }
    sessions[/^SID-LOCALBRIDGE-/i.test(s.name) ? `bridge:${s.name}` : s.user] = rows;
  }
  return { packetSocketDrops: await packetSocketDrops(server), sessions };
}

/** after - before, per counter (sessions present in both only). */
export function serverDropDelta(before: ServerDropSnapshot, after: ServerDropSnapshot): Record<string, number> {
  const out: Record<string, number> = { packetSocketDrops: after.packetSocketDrops - before.packetSocketDrops };
  for (const [sess, rows] of Object.entries(after.sessions)) {
    const b = before.sessions[sess];
    if (!b) continue;
    for (const [k, v] of Object.entries(rows)) if (b[k] !== undefined) out[`${sess} / ${k}`] = v - b[k]!;
  }
  return out;
}
