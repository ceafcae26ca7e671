import { isIPv4 } from 'node:net';
import { inTestRange } from './addresses.ts';
import { HarnessError } from './errors.ts';
import { runCommand } from './run-command.ts';

/**
 * Closes TCP connections from the root namespace (the engine's side of the veth) to dst:dport with
 * `ss -K` (SOCK_DESTROY: the local socket gets ECONNABORTED, the server sees nothing until it
 * next writes) — a way to break cascade connections without touching the server. `max` limits it
 * to that many (the first ss lists). Only 198.18.0.0/15 is allowed, so it can only hit test
 * connections. Returns how many were closed; throws if ss listed sockets it could not close.
 */
export async function killTcpConnections(filter: { dst: string; dport: number; max?: number }): Promise<number> {
  const { dst, dport, max } = filter;
  if (!isIPv4(dst) || !inTestRange(dst)) throw new HarnessError(`killTcpConnections: ${dst} is not a test address in 198.18.0.0/15`);
  if (!Number.isInteger(dport) || dport < 1 || dport > 65535) throw new HarnessError(`killTcpConnections: bad port ${dport}`);
  if (max !== undefined && (!Number.isInteger(max) || max < 0)) throw new HarnessError(`killTcpConnections: bad max ${max}`);
  const all = ['dst', dst, 'and', 'dport', '=', `:${dport}`];
  let killed: string[];
  if (max === undefined) {
    killed = await ss(true, all);
  } else {
    killed = [];
    for (const t of (await ss(false, all)).slice(0, max)) {
      const [src, sport] = splitAddr(t.split(' ')[0]);
      killed.push(...(await ss(true, ['src', src, 'and', 'sport', '=', `:${sport}`, 'and', ...all])));
    }
  }
  const left = new Set(await ss(false, all));
  const survivors = killed.filter((t) => left.has(t));
  if (survivors.length > 0) {
    throw new HarnessError('ss -K listed sockets but could not close them (kernel without CONFIG_INET_DIAG_DESTROY?)', survivors.join('\n'));
  }
  return killed.length;
}

/** Connections matching expr as "src:port dst:port"; TIME-WAIT cannot be destroyed, listeners are not connections. */
async function ss(kill: boolean, expr: string[]): Promise<string[]> {
  const argv = ['ss', ...(kill ? ['-K'] : []), '-H', '-t', '-n', 'state', 'connected', 'exclude', 'time-wait', ...expr];
  const r = await runCommand(argv, { timeoutMs: 10_000 });
  if (r.code !== 0) throw new HarnessError(`${argv.join(' ')} failed (${r.code})`, r.stderr);
  return r.stdout.split('\n').map(tuple).filter((t) => t !== '');
}

/**
 * "ESTAB 0 0 198.18.0.1:40000 198.18.0.2:5555" -> "198.18.0.1:40000 198.18.0.2:5555". The State
 * column comes and goes with the state filter, so pick the address:port fields, not positions.
 */
function tuple(line: string): string {
  const f = line.trim().split(/\s+/).filter((x) => /^\d+\.\d+\.\d+\.\d+:\d+$/.test(x));
  return f.length >= 2 ? f.slice(-2).join(' ') : '';
}

function splitAddr(a: string): [string, string] {
  const i = a.lastIndexOf(':');
  return [a.slice(0, i), a.slice(i + 1)];
}
