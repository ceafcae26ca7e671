import { randomInt } from 'node:crypto';
import { HarnessError } from './errors.ts';
import { runChecked } from './run-command.ts';

/**
 * Test hosts live in 198.18.0.0/15 (RFC 2544 benchmarking range), one /30 per server: .1 for the
 * root-namespace end of the veth, .2 for the server. Picking at random keeps parallel test files
 * apart; we still check the machine does not already use or route the block.
 */
export interface Slash30 {
  network: string;
  client: string;
  server: string;
}

const BASE = ipToInt('198.18.0.0');
const BLOCKS = (1 << 17) / 4; // a /15 holds 32768 /30s

export function ipToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function inTestRange(ip: string): boolean {
  const n = ipToInt(ip);
  return n >= BASE && n < BASE + (1 << 17);
}

export function slash30(block: number): Slash30 {
  const net = BASE + block * 4;
  return { network: intToIp(net), client: intToIp(net + 1), server: intToIp(net + 2) };
}

/** Does prefix a/len overlap b/len2? */
export function overlaps(a: string, alen: number, b: string, blen: number): boolean {
  const len = Math.min(alen, blen);
  if (len === 0) return true;
  const mask = len === 32 ? 0xffffffff : (~((1 << (32 - len)) - 1)) >>> 0;
  return ((ipToInt(a) & mask) >>> 0) === ((ipToInt(b) & mask) >>> 0);
}

/** IPv4 prefixes the root namespace already has as addresses or routes (default route excluded). */
export interface UsedPrefix {
  ip: string;
  len: number;
  dev: string;
}

export async function usedPrefixes(): Promise<UsedPrefix[]> {
  const found: UsedPrefix[] = [];
  const addrs = await runChecked(['ip', '-4', '-o', 'addr', 'show']);
  for (const m of addrs.stdout.matchAll(/^\d+:\s+(\S+)\s+inet (\d+\.\d+\.\d+\.\d+)\/(\d+)/gm)) {
    found.push({ ip: m[2], len: Number(m[3]), dev: m[1] });
  }
  const routes = await runChecked(['ip', '-4', 'route', 'show', 'table', 'all']);
  for (const line of routes.stdout.split('\n')) {
    // "local 198.18.0.1 dev ..." and "198.18.0.0/30 dev ..." alike; "default" never overlaps a /30 we'd pick.
    const m = /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?\s/.exec(line.replace(/^(unicast|local|broadcast|multicast|anycast) /, ''));
    if (m) found.push({ ip: m[1], len: m[2] === undefined ? 32 : Number(m[2]), dev: /\sdev (\S+)/.exec(line)?.[1] ?? '' });
  }
  return found;
}

export async function pickFreeSlash30(): Promise<Slash30> {
  const used = await usedPrefixes();
  for (let attempt = 0; attempt < 64; attempt++) {
    const s = slash30(randomInt(BLOCKS));
    if (!used.some((u) => overlaps(u.ip, u.len, s.network, 30))) return s;
  }
  throw new HarnessError('no free /30 found in 198.18.0.0/15');
}
