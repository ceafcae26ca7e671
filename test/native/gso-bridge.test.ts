// Super-frames through a bridge made of two RawSocketPorts: host A (namespace, veth with TSO/GSO on, so its
// kernel hands whole 64 KiB TCP/UDP chunks to the veth) -- [port a | JS patch | port b] -- host B (namespace).
// The stock SoftEther bridge collapses here; every frame the port delivers must be wire-sized with valid
// checksums, and the stream must arrive complete and intact.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { RawSocketPort } from '../../src/ports/raw-socket-port.ts';
import { parseL4 } from './frames.ts';
import { isRoot, NetLab, nsExec } from './netlab.ts';

if (!isRoot) console.warn('SKIPPING test/native/gso-bridge.test.ts: needs root (network namespaces, AF_PACKET)');
const rootTest = (title: string, fn: (t: ExecutionContext) => void | Promise<void>) =>
  isRoot ? test.serial(title, fn) : test.skip(title, fn);
const AGENT = fileURLToPath(new URL('./stream_agent.py', import.meta.url));

/** Follows one TCP direction by sequence numbers: how many bytes are covered without a hole. */
class StreamCheck {
  #isn: number | undefined;
  #next = 0;
  readonly #pending = new Map<number, number>();
  segments = 0;

  add(seq: number, flags: number, len: number): void {
    if (flags & 0x02) {
      this.#isn = seq;
      this.#next = 1;
      return;
    }
    if (this.#isn === undefined || len === 0) return;
    this.segments++;
    const start = (seq - this.#isn) >>> 0;
    const end = start + len;
    if (start > this.#next) {
      this.#pending.set(start, Math.max(this.#pending.get(start) ?? 0, end));
      return;
    }
    this.#next = Math.max(this.#next, end);
    for (let again = true; again; ) {
      again = false;
      for (const [s, e] of this.#pending) {
        if (s <= this.#next) {
          this.#next = Math.max(this.#next, e);
          this.#pending.delete(s);
          again = true;
        }
      }
    }
  }

  get contiguousBytes(): number {
    return this.#next - 1;
  }
}

interface Bridge {
  lab: NetLab;
  nsA: string;
  nsB: string;
  a: RawSocketPort;
  b: RawSocketPort;
  ipB: string;
  llB: string;
  /** Every frame port a delivered (A -> B direction). */
  inspect: (f: Buffer) => void;
  maxFrame: number;
  badChecksums: number;
}

function makeBridge(t: ExecutionContext, inspect: (f: Buffer) => void): Bridge {
  const lab = new NetLab();
  t.teardown(() => lab.cleanup());
  const nsA = lab.addNamespace('a');
  const nsB = lab.addNamespace('b');
  const ipA = `${lab.subnet}.1`;
  const ipB = `${lab.subnet}.2`;
  lab.addVeth(lab.name('ra'), nsA, lab.name('va'), `${ipA}/24`);
  lab.addVeth(lab.name('rb'), nsB, lab.name('vb'), `${ipB}/24`);
  nsExec(nsA, 'ip', 'addr', 'add', 'fe80::5eb:a/64', 'dev', lab.name('va'), 'nodad');
  nsExec(nsB, 'ip', 'addr', 'add', 'fe80::5eb:b/64', 'dev', lab.name('vb'), 'nodad');
  // Make sure the sender's veth segments late (veth defaults, but be explicit).
  nsExec(nsA, 'ethtool', '-K', lab.name('va'), 'tso', 'on', 'gso', 'on', 'tx', 'on', 'sg', 'on');
  const a = RawSocketPort.open(lab.name('ra'));
  const b = RawSocketPort.open(lab.name('rb'));
  t.teardown(() => {
    a.close();
    b.close();
  });
  const br: Bridge = { lab, nsA, nsB, a, b, ipB, llB: `fe80::5eb:b%${lab.name('va')}`, inspect, maxFrame: 0, badChecksums: 0 };
  a.setReceiver((frames) => {
    b.write(frames);
    for (const f of frames) {
      br.maxFrame = Math.max(br.maxFrame, f.length);
      inspect(f);
    }
  });
  b.setReceiver((frames) => a.write(frames));
  return br;
}

function agent(br: Bridge, ns: string, args: string[]): { ready: Promise<unknown>; result: Promise<any> } {
  const child = br.lab.spawn('ip', ['netns', 'exec', ns, 'python3', '-u', AGENT, ...args]);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines: any[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(JSON.parse(l));
    waiters.splice(0).forEach((w) => w());
  });
  const nth = (i: number) =>
    new Promise<any>((resolve, reject) => {
      const check = () => (lines.length > i ? resolve(lines[i]) : waiters.push(check));
      check();
      child.on('exit', (code) => setTimeout(() => (lines.length > i ? resolve(lines[i]) : reject(new Error(`agent ${args[0]} exited ${code}: ${stderr}`))), 50));
    });
  const hasReady = args[0].endsWith('recv');
  return { ready: hasReady ? nth(0) : Promise.resolve(), result: nth(hasReady ? 1 : 0) };
}

for (const v6 of [false, true]) {
  rootTest(`TCP over IPv${v6 ? 6 : 4} from a TSO sender arrives segmented, valid and complete`, async (t) => {
    const port = 5201;
    const total = v6 ? 24 << 20 : 48 << 20;
    const stream = new StreamCheck();
    let bad = 0;
    let tcpFrames = 0;
    const br = makeBridge(t, (f) => {
      const p = parseL4(f);
      if (!p || p.proto !== 6 || p.dstPort !== port) return;
      tcpFrames++;
      if (!p.ipHeaderOk || !p.l4ChecksumOk) bad++;
      stream.add(p.seq!, p.flags!, p.payload.length);
    });
    const recv = agent(br, br.nsB, ['tcp-recv', String(port)]);
    await recv.ready;
    const send = agent(br, br.nsA, ['tcp-send', v6 ? br.llB : br.ipB, String(port), String(total)]);
    const [sent, got] = await Promise.all([send.result, recv.result]);
    const s = br.a.stats();
    const mbit = (total * 8) / sent.seconds / 1e6;
    t.log(`IPv${v6 ? 6 : 4}: ${total >> 20} MiB in ${sent.seconds.toFixed(2)} s = ${mbit.toFixed(0)} Mbit/s; ` +
      `${s.gsoSuperFrames} super-frames -> ${s.gsoSegments} frames, largest frame ${br.maxFrame} B, ` +
      `kernel drops ${s.rxDropKernel}, tx queue drops ${br.b.stats().txDropQueueFull}`);
    t.is(got.bytes, total);
    t.is(got.sha256, sent.sha256);
    t.true(s.gsoSuperFrames > 0, 'the sender really produced super-frames');
    // B's ACKs leave its veth with checksum offload pending; they only count as accepted by A if completed.
    t.true(br.b.stats().checksumsCompleted > 0, 'partial checksums were completed');
    t.true(br.maxFrame <= 1514, `largest frame ${br.maxFrame}`);
    t.is(bad, 0, 'frames with bad checksums');
    t.is(stream.contiguousBytes, total, 'sequence numbers cover the stream without a hole');
    t.true(tcpFrames >= total / 1448);
    t.is(s.rxDropOversize + s.rxDropBadGso + s.rxDropTruncated, 0);
    t.true(mbit > 20, `throughput ${mbit.toFixed(1)} Mbit/s`);
  });
}

rootTest('UDP GSO (USO) super-frames become datagrams the receiver accepts', async (t) => {
  const port = 5301;
  const n = 40;
  const size = 14000;
  const seg = 1400;
  let udpFrames = 0;
  let bad = 0;
  const br = makeBridge(t, (f) => {
    const p = parseL4(f);
    if (!p || p.proto !== 17 || p.dstPort !== port) return;
    udpFrames++;
    if (!p.ipHeaderOk || !p.l4ChecksumOk) bad++;
  });
  const want = n * Math.ceil(size / seg);
  const recv = agent(br, br.nsB, ['udp-recv', String(port), String(want)]);
  await recv.ready;
  const send = agent(br, br.nsA, ['udp-send', br.ipB, String(port), String(n), String(size), String(seg)]);
  const [, got] = await Promise.all([send.result, recv.result]);
  const s = br.a.stats();
  t.log(`UDP: ${s.gsoSuperFrames} super-frames -> ${s.gsoSegments} frames; receiver got ${got.datagrams} datagrams`);
  t.true(s.gsoSuperFrames > 0, 'the sender really produced UDP super-frames');
  t.is(got.datagrams, want);
  t.deepEqual(got.sizes, [seg]);
  t.is(udpFrames, want);
  t.is(bad, 0);
  t.true(br.maxFrame <= 1514);
});
