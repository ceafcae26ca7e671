/**
 * Throw-away network namespaces and veth pairs for the native port tests. Every name starts with "sebn" plus
 * random hex, so tests of other engineers running at the same time never collide with ours, and everything a
 * lab created is deleted by cleanup() (call it from t.teardown, so it also runs when a test fails).
 * Addresses come from 198.18.0.0/15 only.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { processAlive } from '../../src/control/process-alive.ts';

export const isRoot = process.getuid?.() === 0;

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function nsExec(ns: string, ...cmd: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Promiscuity counter of an interface (how many promisc requests are active). */
export function promiscuity(ifname: string, ns?: string): number {
  const args = [...(ns ? ['-n', ns] : []), '-d', '-j', 'link', 'show', 'dev', ifname];
  return JSON.parse(ip(...args))[0].promiscuity as number;
}

export function linkStats(ifname: string, ns?: string): { rx: { packets: number }; tx: { packets: number } } {
  const args = [...(ns ? ['-n', ns] : []), '-s', '-j', 'link', 'show', 'dev', ifname];
  return JSON.parse(ip(...args))[0].stats64;
}

/**
 * Wait (synchronously, ≤ 5 s) until the kernel says the interface is operationally up. Both ends of a veth get
 * their carrier at once, but IFF_RUNNING / operstate are set later by the kernel's linkwatch work, which under
 * load lags by up to a second; a test that looks at the link right after creating it would otherwise race it.
 */
export function waitOperUp(ifname: string): void {
  const deadline = Date.now() + 5000;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    const state = readFileSync(`/sys/class/net/${ifname}/operstate`, 'utf8').trim();
    if (state === 'up') return;
    if (Date.now() > deadline) throw new Error(`${ifname} still ${state} 5 s after it was set up`);
    Atomics.wait(nap, 0, 0, 10);
  }
}

/**
 * Each lab notes its owner's PID here; a later run removes what a killed run (SIGKILL: no exit handler) left,
 * but only labs whose owner is dead, so parallel test processes never touch each other's.
 */
const OWNERS = '/run/sebn-labs';
let swept = false;


function sweepStaleLabs(): void {
  swept = true;
  let owners: string[];
  try {
    owners = readdirSync(OWNERS);
  } catch {
    return;
  }
  const stale = owners.filter((id) => /^[0-9a-f]{6}$/.test(id) && !processAlive(Number(readFileSync(`${OWNERS}/${id}`, 'utf8'))));
  if (stale.length === 0) return;
  const mine = (name: string) => stale.some((id) => name.startsWith(`sebn${id}`));
  const links = (JSON.parse(ip('-j', 'link', 'show')) as { ifname: string }[]).map((l) => l.ifname).filter(mine);
  const namespaces = ip('netns', 'list').split('\n').map((l) => l.split(' ')[0]).filter(mine);
  for (const l of links) {
    try {
      ip('link', 'del', l);
    } catch {
      // went with its peer
    }
  }
  for (const ns of namespaces) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // already gone
    }
  }
  for (const id of stale) rmSync(`${OWNERS}/${id}`, { force: true });
}

/** Labs not cleaned up yet; removed at process exit too, in case a crash skips the test's teardown. */
const liveLabs = new Set<NetLab>();
process.on('exit', () => {
  for (const lab of liveLabs) lab.cleanup();
});

export class NetLab {
  readonly id = randomBytes(3).toString('hex');
  /** A 198.18.x.0/24 subnet per lab (x random) keeps parallel labs apart even though they use separate namespaces. */
  readonly subnet = `198.18.${randomBytes(1)[0]}`;
  readonly #namespaces: string[] = [];
  readonly #links: string[] = [];
  readonly #children: ChildProcessWithoutNullStreams[] = [];

  constructor() {
    if (isRoot && !swept) sweepStaleLabs();
  }

  #register(): void {
    if (liveLabs.has(this)) return;
    liveLabs.add(this);
    mkdirSync(OWNERS, { recursive: true });
    writeFileSync(`${OWNERS}/${this.id}`, String(process.pid));
  }

  /** Interface/namespace name: "sebn" + lab id + suffix; at most 15 bytes. */
  name(suffix: string): string {
    const n = `sebn${this.id}${suffix}`;
    if (n.length > 15) throw new Error(`name too long: ${n}`);
    return n;
  }

  addNamespace(suffix: string): string {
    const ns = this.name(suffix);
    this.#register();
    ip('netns', 'add', ns);
    this.#namespaces.push(ns);
    nsExec(ns, 'ip', 'link', 'set', 'lo', 'up');
    return ns;
  }

  /**
   * veth pair: `outer` stays in our namespace (where the port under test opens it), `inner` goes into ns.
   * IPv6 is off on the outer end so our own host stack stays quiet on the link under test.
   */
  addVeth(outer: string, ns: string, inner: string, innerAddr?: string): void {
    this.#register();
    ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
    this.#links.push(outer);
    ip('link', 'set', inner, 'netns', ns);
    execFileSync('sysctl', ['-q', '-w', `net.ipv6.conf.${outer}.disable_ipv6=1`]);
    ip('link', 'set', outer, 'up');
    nsExec(ns, 'ip', 'link', 'set', inner, 'up');
    if (innerAddr) nsExec(ns, 'ip', 'addr', 'add', innerAddr, 'dev', inner);
    waitOperUp(outer);
  }

  trackLink(name: string): void {
    this.#register();
    this.#links.push(name);
  }

  /** Start a child process; cleanup() kills it (by PID) if it is still running. */
  spawn(cmd: string, args: string[]): ChildProcessWithoutNullStreams {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#children.push(child);
    return child;
  }

  /** The Python raw-socket peer (peer_agent.py) on an interface inside ns. */
  async peer(ns: string, ifname: string): Promise<Peer> {
    const script = fileURLToPath(new URL('./peer_agent.py', import.meta.url));
    const child = this.spawn('ip', ['netns', 'exec', ns, 'python3', '-u', script, ifname]);
    const peer = new Peer(child);
    await peer.ready;
    return peer;
  }

  cleanup(): void {
    const registered = liveLabs.delete(this);
    for (const c of this.#children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const l of this.#links) {
      try {
        ip('link', 'del', l);
      } catch {
        // already gone with its namespace or its peer
      }
    }
    for (const ns of this.#namespaces) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
    if (registered) rmSync(`${OWNERS}/${this.id}`, { force: true });
  }
}

export interface PeerFrame {
  frame: Buffer;
  /** VLAN TCI the kernel stripped on the peer's side, or null. */
  tci: number | null;
}

export class Peer {
  readonly frames: PeerFrame[] = [];
  readonly ready: Promise<void>;
  readonly #child: ChildProcessWithoutNullStreams;
  #waiters: (() => void)[] = [];
  #paced: ((sent: number) => void)[] = [];

  constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    this.ready = new Promise((resolve, reject) => {
      child.on('exit', (code) => reject(new Error(`peer agent exited ${code}: ${stderr}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line === 'ready') return resolve();
        const [kind, hex, tci] = line.split(' ');
        if (kind === 'paced') {
          const w = this.#paced;
          this.#paced = [];
          for (const f of w) f(Number(hex));
          return;
        }
        if (kind !== 'rx') return;
        this.frames.push({ frame: Buffer.from(hex, 'hex'), tci: tci === '-' ? null : Number(tci) });
        const w = this.#waiters;
        this.#waiters = [];
        for (const f of w) f();
      });
    });
  }

  send(frame: Buffer): void {
    this.#child.stdin.write(`send ${frame.toString('hex')}\n`);
  }

  /** Send `frame` `count` times back to back (so the receiver finds several in one read). */
  burst(frame: Buffer, count: number): void {
    this.#child.stdin.write(`burst ${count} ${frame.toString('hex')}\n`);
  }

  /** Send `frame` `count` times at `rate` frames per second; resolves with how many were sent once done. */
  pace(frame: Buffer, count: number, rate: number): Promise<number> {
    const done = new Promise<number>((resolve) => this.#paced.push(resolve));
    this.#child.stdin.write(`pace ${count} ${rate} ${frame.toString('hex')}\n`);
    return done;
  }

  /** Like pace, but the 32-bit big-endian number at byte `offset` of the frame grows by `step` per frame (a TCP
   *  sequence number: a flow of new data). */
  paceSeq(frame: Buffer, count: number, rate: number, offset: number, step: number): Promise<number> {
    const done = new Promise<number>((resolve) => this.#paced.push(resolve));
    this.#child.stdin.write(`paceseq ${count} ${rate} ${frame.toString('hex')} ${offset} ${step}\n`);
    return done;
  }

  /** Wait until some received frame satisfies pred (or time out). */
  async waitFor(pred: (f: PeerFrame) => boolean, timeoutMs = 3000): Promise<PeerFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames.find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('peer: expected frame did not arrive');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** The usual setup: a namespace of the test's own and a veth pair into it (`outer` is the end in this namespace),
 * removed in the test's teardown. */
export function vethLab(t: { teardown(fn: () => void): void }): { lab: NetLab; ns: string; outer: string; inner: string } {
  const lab = new NetLab();
  t.teardown(() => lab.cleanup());
  const ns = lab.addNamespace('n');
  const outer = lab.name('o');
  const inner = lab.name('i');
  lab.addVeth(outer, ns, inner);
  return { lab, ns, outer, inner };
}

/** vethLab with `outer` in a Linux bridge of the test's own (up), for a TAP port to join. */
export function bridgedVethLab(t: { teardown(fn: () => void): void }): { lab: NetLab; ns: string; outer: string; inner: string; bridge: string } {
  const v = vethLab(t);
  const bridge = v.lab.name('br');
  ip('link', 'add', bridge, 'type', 'bridge');
  v.lab.trackLink(bridge);
  ip('link', 'set', v.outer, 'master', bridge);
  ip('link', 'set', bridge, 'up');
  return { ...v, bridge };
}

/** vethLab plus the Python peer on the inner end. */
export async function vethWithPeer(t: { teardown(fn: () => void): void }): Promise<{ lab: NetLab; ns: string; outer: string; inner: string; peer: Peer }> {
  const v = vethLab(t);
  return { ...v, peer: await v.lab.peer(v.ns, v.inner) };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Wait until cond() holds, checking every 10 ms. */
export async function until(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
