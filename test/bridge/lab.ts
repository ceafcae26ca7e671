/**
 * Throw-away namespaces, links and processes for the end-to-end bridge tests. Every name starts with "sebe" plus
 * six random hex digits (the lab id), so parallel test files and other engineers' tests never collide with ours.
 * cleanup() removes everything the lab made and kills every process it started, by PID; call it from
 * t.teardown / test.after.always so it also runs when a test fails. An owner file (/run/sebe-labs/<id> holding
 * our PID) lets a later run remove what a SIGKILLed run left, but never a live run's lab.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { overlaps, usedPrefixes } from '../harness/addresses.ts';
import { BoundedText } from '../harness/bounded-text.ts';
import { runCommand } from '../harness/run-command.ts';
import type { CommandResult } from '../harness/run-command.ts';
import { processAlive } from '../../src/control/process-alive.ts';

export const LAB_PREFIX = 'sebe';
const OWNERS = `/run/${LAB_PREFIX}-labs`;
const ID_RE = /^[0-9a-f]{6}$/;

export class LabError extends Error {
  readonly detail: string;
  constructor(message: string, detail = '') {
    super(detail ? `${message}\n--- detail ---\n${detail}` : message);
    this.name = 'LabError';
    this.detail = detail;
  }
}


function quiet(argv: string[]): { ok: boolean; out: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** Links and namespaces named after lab ids whose owner process is dead: a killed run's leftovers. */
export function sweepStaleLabs(): void {
  let ids: string[];
  try {
    ids = readdirSync(OWNERS).filter((id) => ID_RE.test(id));
  } catch {
    return;
  }
  const stale = ids.filter((id) => {
    const pid = Number.parseInt(readFileSync(join(OWNERS, id), 'utf8'), 10);
    return !(Number.isInteger(pid) && pid > 0 && processAlive(pid));
  });
  if (stale.length === 0) return;
  const mine = (name: string) => stale.some((id) => name.startsWith(`${LAB_PREFIX}${id}`));
  const links = (JSON.parse(quiet(['ip', '-j', 'link', 'show']).out || '[]') as { ifname: string }[]).map((l) => l.ifname).filter(mine);
  for (const l of links) quiet(['ip', 'link', 'del', l]);
  for (const ns of quiet(['ip', 'netns', 'list']).out.split('\n').map((l) => l.split(' ')[0] ?? '').filter(mine)) quiet(['ip', 'netns', 'del', ns]);
  const scratch = readdirSync(tmpdir()).filter((e) => stale.some((id) => e.startsWith(`${LAB_PREFIX}${id}-`)));
  for (const e of scratch) rmSync(join(tmpdir(), e), { recursive: true, force: true });
  for (const id of stale) rmSync(join(OWNERS, id), { force: true });
}

/** Labs not cleaned up yet; removed at process exit too, in case a crash skips the teardown. */
const live = new Set<Lab>();
process.on('exit', () => {
  for (const lab of live) lab.cleanup();
});

export interface Ipv4Plan {
  /** first three octets of the lab's /24, e.g. "198.18.36" */
  lan: string;
}

/**
 * A /24 of 198.18.0.0/15 that nothing in the root namespace uses (the namespaces' own addresses never show up
 * there; the TAP test puts /32s of it on a root-namespace bridge, which cannot make another test's /30 clash).
 */
export async function pickLabSubnets(): Promise<Ipv4Plan> {
  const used = await usedPrefixes();
  for (let i = 0; i < 64; i++) {
    const n = randomInt(512); // the /15 holds 512 /24s
    const lan = `198.${18 + (n >> 8)}.${n & 255}`;
    if (!used.some((u) => overlaps(u.ip, u.len, `${lan}.0`, 24))) return { lan };
  }
  throw new LabError('no free /24 in 198.18.0.0/15');
}

export class Lab {
  readonly id = randomBytes(3).toString('hex');
  readonly prefix = `${LAB_PREFIX}${this.id}`;
  /** scratch directory (lease files, logs); removed by cleanup() */
  readonly dir: string;
  readonly #namespaces: string[] = [];
  readonly #links: string[] = [];
  readonly #children: ChildProcess[] = [];
  readonly #teardowns: (() => void)[] = [];
  #cleaned = false;

  constructor() {
    sweepStaleLabs();
    mkdirSync(OWNERS, { recursive: true });
    writeFileSync(join(OWNERS, this.id), String(process.pid));
    live.add(this);
    this.dir = mkdtempSync(join(tmpdir(), `${this.prefix}-`));
  }

  /** "sebe" + id + suffix, at most 15 bytes (the kernel's limit for interface names). */
  name(suffix: string): string {
    const n = `${this.prefix}${suffix}`;
    if (n.length > 15 || !/^[a-z0-9]+$/.test(suffix)) throw new LabError(`bad lab name ${n}`);
    return n;
  }

  addNamespace(suffix: string): string {
    const ns = this.name(suffix);
    this.#namespaces.push(ns);
    execFileSync('ip', ['netns', 'add', ns], { stdio: 'pipe' });
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up'], { stdio: 'pipe' });
    return ns;
  }

  /** A namespace someone else created for this lab (e.g. attachServerLan's host namespace): deleted by cleanup(). */
  trackNamespace(ns: string): void {
    this.#namespaces.push(ns);
  }

  trackLink(name: string): void {
    this.#links.push(name);
  }

  /** Runs at cleanup, before links and namespaces go (last registered first). */
  onCleanup(fn: () => void): void {
    this.#teardowns.push(fn);
  }

  /** Start a long-running child; cleanup() SIGKILLs it by PID if it is still there. Output is kept (bounded). */
  spawn(argv: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: 'pipe' | 'ignore' } = {}): { child: ChildProcess; output: BoundedText } {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'], ...(opts.env ? { env: opts.env } : {}) });
    this.#children.push(child);
    const output = new BoundedText(256 * 1024);
    child.stdout?.on('data', (b: Buffer) => output.push(b));
    child.stderr?.on('data', (b: Buffer) => output.push(b));
    child.on('error', (e) => output.push(Buffer.from(`\n[lab] spawn error: ${e.message}\n`)));
    return { child, output };
  }

  /** A child someone else spawned, to be killed by cleanup() if still running. */
  trackChild(child: ChildProcess): void {
    this.#children.push(child);
  }

  cleanup(): void {
    if (this.#cleaned) return;
    this.#cleaned = true;
    live.delete(this);
    for (const c of this.#children) {
      if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const fn of this.#teardowns.reverse()) {
      try {
        fn();
      } catch {
        // keep going: the rest still needs removing
      }
    }
    for (const l of this.#links) quiet(['ip', 'link', 'del', l]);
    for (const ns of this.#namespaces) quiet(['ip', 'netns', 'del', ns]);
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(join(OWNERS, this.id), { force: true });
  }
}

/** Run a command, throw LabError with its output unless it exits 0. */
export async function sh(argv: string[], timeoutMs = 30_000): Promise<CommandResult> {
  const r = await runCommand(argv, { timeoutMs });
  if (r.code !== 0) throw new LabError(`failed (${r.code}${r.killed ? ', killed' : ''}): ${argv.join(' ')}`, `${r.stdout}${r.stderr}`);
  return r;
}

export function inNs(ns: string, argv: string[], timeoutMs = 30_000): Promise<CommandResult> {
  return sh(['ip', 'netns', 'exec', ns, ...argv], timeoutMs);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
