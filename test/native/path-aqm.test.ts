// CoDel on the path's delay (native/path_aqm.c), driven on scripted timelines through the addon's pathAqmRun: a LAN
// host's TCP flow leaves through the bridge (outbound frames), the far host's ACKs come back (inbound frames) one
// round trip later, and the round trip grows when a queue stands somewhere beyond the bridge.
import test from 'ava';
import { loadNative } from '../../src/ports/native.ts';
import { eth, ipv4Header, ipv6Header, mac } from './frames.ts';

const TARGET_US = 5000;
const INTERVAL_US = 100_000;
const MSS = 1448;
const ACK = 0x10;
const A_MAC = mac('02:00:00:00:00:0a');
const B_MAC = mac('02:00:00:00:00:0b');
const V6_A = Buffer.from('fd000000000000000000000000000001', 'hex');
const V6_B = Buffer.from('fd000000000000000000000000000002', 'hex');

interface Seg {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags?: number;
  payload?: number;
  v6?: boolean;
  vlan?: number;
}

/** Ethernet + IPv4/IPv6 + a 20-byte TCP header + `payload` zero bytes (checksums do not matter to the path CoDel). */
function tcp(s: Seg): Buffer {
  const th = Buffer.alloc(20 + (s.payload ?? 0));
  th.writeUInt16BE(s.sport, 0);
  th.writeUInt16BE(s.dport, 2);
  th.writeUInt32BE(s.seq >>> 0, 4);
  th.writeUInt32BE(s.ack >>> 0, 8);
  th[12] = 5 << 4;
  th[13] = s.flags ?? ACK;
  th.writeUInt16BE(65535, 14);
  const fromA = s.src === 'A';
  const [dm, sm] = fromA ? [B_MAC, A_MAC] : [A_MAC, B_MAC];
  const vlan = s.vlan === undefined ? undefined : { tci: s.vlan };
  if (s.v6) {
    const [sa, da] = fromA ? [V6_A, V6_B] : [V6_B, V6_A];
    return eth(dm, sm, 0x86dd, Buffer.concat([ipv6Header(sa, da, 6, th.length), th]), vlan);
  }
  const [sa, da] = fromA ? ['10.9.0.1', '10.9.0.2'] : ['10.9.0.2', '10.9.0.1'];
  return eth(dm, sm, 0x0800, Buffer.concat([ipv4Header(sa, da, 6, th.length), th]), vlan);
}

type Step = [number, 0 | 1, Buffer];

interface Flow {
  /** µs between two segments from host A */
  everyUs: number;
  durationUs: number;
  /** the round trip beyond the bridge for a segment sent at t (µs) */
  rttUs: (t: number) => number;
  /** host B acknowledges every n-th segment (2: Linux and Windows under bulk) */
  ackEvery?: number;
  /** µs host B holds an ACK for a segment that is not the n-th (a delayed-ACK timer); default: it waits for the next */
  payload?: number;
  v6?: boolean;
  sport?: number;
  startUs?: number;
  isn?: number;
}

/** A bulk flow A → B and B's ACKs, in time order (open loop: the sender does not react to drops). */
function bulkFlow(f: Flow): Step[] {
  const steps: Step[] = [];
  const payload = f.payload ?? MSS;
  const isn = f.isn ?? 1000;
  const sport = f.sport ?? 40000;
  let n = 0;
  for (let t = f.startUs ?? 0; t < (f.startUs ?? 0) + f.durationUs; t += f.everyUs, n++) {
    const seq = isn + n * payload;
    steps.push([t, 1, tcp({ src: 'A', dst: 'B', sport, dport: 5201, seq, ack: 1, payload, v6: f.v6 })]);
    if ((n + 1) % (f.ackEvery ?? 2) === 0) {
      steps.push([t + f.rttUs(t), 0, tcp({ src: 'B', dst: 'A', sport: 5201, dport: sport, seq: 1, ack: seq + payload, v6: f.v6 })]);
    }
  }
  return steps.sort((a, b) => a[0] - b[0]);
}

function run(steps: Step[], targetUs = TARGET_US, intervalUs = INTERVAL_US) {
  const r = loadNative().pathAqmRun(targetUs, intervalUs, steps);
  const drops = steps.filter((_, i) => r.drops[i] === 1).map((s) => s[0]);
  const delayAt = (t: number): number => {
    let last = -1;
    steps.forEach((s, i) => {
      if (s[1] === 1 && s[0] <= t) last = r.delayUs[i];
    });
    return last;
  };
  return { ...r, drops, delayAt };
}

// Base round trip 1 ms; from 1 s on, a queue of 12 ms stands beyond the bridge (the stock server's hub queue under
// CUBIC, as measured on the test machine).
const standing = (t: number): number => 1000 + (t >= 1_000_000 ? 12_000 : 0);

test('no queue beyond the bridge: round trips are measured, nothing is dropped', (t) => {
  const r = run(bulkFlow({ everyUs: 100, durationUs: 2_000_000, rttUs: () => 1000 }));
  t.deepEqual(r.drops, []);
  t.true(r.samples > 1000, `one sample per round trip: ${r.samples}`);
  t.is(r.delayAt(1_999_000), 0);
});

test('a standing queue beyond the bridge: its delay is seen, and drops begin one interval after it stood above the target', (t) => {
  const r = run(bulkFlow({ everyUs: 100, durationUs: 2_000_000, rttUs: standing }));
  const d = r.delayAt(1_500_000);
  t.true(d >= 11_000 && d <= 12_100, `the queue's 12 ms seen as the flow's delay: ${d} µs`);
  t.true(r.drops.length >= 3, `drops: ${r.drops.join(', ')}`);
  // The first sample with the queue comes back 13 ms after the first segment that met it; CoDel's interval follows.
  t.true(r.drops[0] >= 1_000_000 + 13_000 + INTERVAL_US && r.drops[0] <= 1_000_000 + 13_000 + INTERVAL_US + 2_000, `first drop at ${r.drops[0]}`);
  t.true(r.drops.every((at) => at >= 1_000_000), 'none before the queue');
  // CoDel's control law: the gaps shrink (interval/√count).
  const gaps = r.drops.slice(1).map((at, i) => at - r.drops[i]);
  t.true(gaps[0] >= 95_000 && gaps[0] <= 105_000, `second drop one interval later: ${gaps[0]}`);
  t.true(gaps.at(-1)! < gaps[0], `gaps shrink: ${gaps.join(', ')}`);
});

test('a queue below the target, or one that drains within the interval, is left alone', (t) => {
  const below = run(bulkFlow({ everyUs: 100, durationUs: 2_000_000, rttUs: (x) => 1000 + (x >= 500_000 ? 4000 : 0) }));
  t.deepEqual(below.drops, []);
  const burst = run(bulkFlow({ everyUs: 100, durationUs: 2_000_000, rttUs: (x) => 1000 + (x >= 500_000 && x < 560_000 ? 20_000 : 0) }));
  t.deepEqual(burst.drops, []);
});

test('a sparse flow (a segment every 200 ms, ACKs held by a 40 ms delayed-ACK timer) is never dropped', (t) => {
  const r = run(bulkFlow({ everyUs: 200_000, durationUs: 5_000_000, rttUs: (x) => (x === 0 ? 1000 : 41_000), ackEvery: 1 }));
  t.true(r.delayAt(4_900_000) >= 39_000, 'the held ACKs look like a queue');
  t.deepEqual(r.drops, [], 'but the flow does not send in bulk');
});

test('small segments are never dropped, even in a bulk flow behind a standing queue', (t) => {
  const r = run(bulkFlow({ everyUs: 100, durationUs: 2_000_000, rttUs: standing, payload: 200 }));
  t.deepEqual(r.drops, []);
});

test('a retransmission of the timed segment ends its timing (Karn): the ACK after it gives no sample', (t) => {
  const out = (at: number, seq: number): Step => [at, 1, tcp({ src: 'A', dst: 'B', sport: 40000, dport: 5201, seq, ack: 1, payload: MSS })];
  const ack = (at: number, a: number): Step => [at, 0, tcp({ src: 'B', dst: 'A', sport: 5201, dport: 40000, seq: 1, ack: a })];
  const timed = run([out(0, 1000), ack(1000, 1000 + MSS)]);
  t.is(timed.samples, 1);
  const resent = run([out(0, 1000), out(300_000, 1000), ack(301_000, 1000 + MSS)]);
  t.is(resent.samples, 0);
});

test('after a drop nothing is timed until the ACKs have passed the hole, so the repair does not count as queue', (t) => {
  // The queue stands from 1 s. After the first drop, B's ACKs stop at the hole for 200 ms (the sender's recovery),
  // then jump past everything sent; the queue is gone by then (1 ms round trips again).
  const first = run(bulkFlow({ everyUs: 100, durationUs: 1_300_000, rttUs: standing })).drops[0];
  t.truthy(first);
  const holeSeq = 1000 + Math.round(first / 100) * MSS;
  const repairAt = first + 200_000;
  const steps = bulkFlow({ everyUs: 100, durationUs: 1_600_000, rttUs: (x) => (x < first ? standing(x) : 1000) }).map((s): Step => {
    if (s[1] === 0 && s[0] > first && s[0] < repairAt) {
      return [s[0], 0, tcp({ src: 'B', dst: 'A', sport: 5201, dport: 40000, seq: 1, ack: holeSeq })];
    }
    return s;
  });
  const r = run(steps);
  t.is(r.drops[0], first);
  let worst = 0;
  steps.forEach((s, i) => {
    if (s[1] === 1 && s[0] > first) worst = Math.max(worst, r.delayUs[i]);
  });
  t.true(worst < 13_000, `no sample spans the repair: largest delay estimate after the drop ${worst} µs`);
  t.is(r.delayAt(1_590_000), 0, 'timing resumes after the repair');
});

test('a path that got longer for good: after dropping without effect the base is taken anew, and the drops stop', (t) => {
  // The round trip goes from 1 ms to 30 ms at 1 s and stays there (the cascade moved to a farther server).
  const r = run(bulkFlow({ everyUs: 100, durationUs: 8_000_000, rttUs: (x) => (x < 1_000_000 ? 1000 : 30_000) }));
  t.is(r.rebases, 1);
  const last = r.drops.at(-1)!;
  t.true(last < 4_000_000, `the drops stopped after the rebase: last at ${last}`);
  t.is(r.delayAt(7_900_000), 0);
});

test('flows are measured separately: a standing queue on one does not drop the other', (t) => {
  const queued = bulkFlow({ everyUs: 200, durationUs: 2_000_000, rttUs: standing, sport: 40001 });
  const clear = bulkFlow({ everyUs: 200, durationUs: 2_000_000, rttUs: () => 1000, sport: 40002, startUs: 50 });
  const steps = [...queued, ...clear].sort((a, b) => a[0] - b[0]);
  const r = loadNative().pathAqmRun(TARGET_US, INTERVAL_US, steps);
  const dropped = steps.filter((_, i) => r.drops[i] === 1).map((s) => s[2].readUInt16BE(34));
  t.true(dropped.length >= 3);
  t.true(dropped.every((p) => p === 40001), `ports of dropped frames: ${[...new Set(dropped)].join(', ')}`);
});

/** The table slot native/path_aqm.c puts an IPv4 flow in (its FNV-1a hash, 256 slots): to make two flows collide. */
function slotOf(lan: string, far: string, lanPort: number, farPort: number): number {
  let h = 2166136261;
  const mix = (x: number) => (h = Math.imul(h ^ x, 16777619) >>> 0);
  for (const b of [...lan.split('.'), ...far.split('.')].map(Number)) mix(b);
  mix(lanPort);
  mix(farPort);
  return ((h ^ (h >>> 15)) >>> 0) & 255;
}

test('a flow never answered through the bridge (between two LAN hosts) gives its slot up to one that is', (t) => {
  const target = slotOf('10.9.0.1', '10.9.0.2', 40000, 5201);
  let other = 40001;
  while (slotOf('10.9.0.1', '10.9.0.2', other, 5201) !== target) other++;
  // `other` sends all along and never gets an ACK through the bridge; the measured flow starts 2 s later in its slot.
  const local = bulkFlow({ everyUs: 200, durationUs: 5_000_000, rttUs: () => 1000, sport: other }).filter((s) => s[1] === 1);
  const measured = bulkFlow({ everyUs: 200, durationUs: 3_000_000, rttUs: (x) => 1000 + (x >= 3_000_000 ? 12_000 : 0), startUs: 2_000_050 });
  const r = run([...local, ...measured].sort((a, b) => a[0] - b[0]));
  t.true(r.drops.length >= 3, `the measured flow is managed: ${r.drops.length} drops`);
  // While the slot holder is answered, a newcomer in its slot goes unmeasured (and is never dropped).
  const answered = bulkFlow({ everyUs: 200, durationUs: 5_000_000, rttUs: () => 1000, sport: other });
  const r2 = run([...answered, ...measured].sort((a, b) => a[0] - b[0]));
  t.deepEqual(r2.drops, []);
});

test('a quiet connection that is answered (a control channel, an SSH session) does not shield a bulk flow in its slot', (t) => {
  const target = slotOf('10.9.0.1', '10.9.0.2', 40000, 5201);
  let other = 40001;
  while (slotOf('10.9.0.1', '10.9.0.2', other, 5201) !== target) other++;
  // `other` sends a segment every 500 ms, each answered 1 ms later, for the whole run (iperf3's control connection,
  // which CI once hashed into the data connection's slot); the bulk flow starts in its slot at 2 s and meets a
  // standing queue from 3 s.
  const quiet = bulkFlow({ everyUs: 500_000, durationUs: 6_000_000, rttUs: () => 1000, sport: other, ackEvery: 1, payload: 100 });
  const bulk = bulkFlow({ everyUs: 200, durationUs: 4_000_000, rttUs: (x) => 1000 + (x >= 3_000_000 ? 12_000 : 0), startUs: 2_000_050 });
  const steps = [...quiet, ...bulk].sort((a, b) => a[0] - b[0]);
  const r = run(steps);
  const raw = loadNative().pathAqmRun(TARGET_US, INTERVAL_US, steps);
  const dropped = steps.filter((_, i) => raw.drops[i] === 1).map((s) => s[2].readUInt16BE(34));
  t.true(dropped.length >= 3, `the bulk flow is managed: ${dropped.length} drops`);
  t.true(dropped.every((p) => p === 40000), 'only the bulk flow loses frames');
  // And the quiet flow's later segments do not take the slot back from the bulk flow: its state is kept (drops keep
  // coming at CoDel's shrinking spacing, not starting over at one interval).
  const gaps = r.drops.slice(1).map((at, i) => at - r.drops[i]!);
  t.true(gaps.at(-1)! < 60_000, `spacing keeps shrinking: ${gaps.map((g) => Math.round(g / 1000)).join(', ')} ms`);
});

test('IPv6, and VLAN-tagged ACKs, are measured too', (t) => {
  const v6 = run(bulkFlow({ everyUs: 100, durationUs: 2_000_000, rttUs: standing, v6: true }));
  t.true(v6.drops.length >= 3);
  t.true(v6.delayAt(1_500_000) >= 11_000);
  const tagged = bulkFlow({ everyUs: 100, durationUs: 2_000_000, rttUs: standing }).map((s): Step => {
    if (s[1] === 1) return s;
    const f = s[2];
    return [s[0], 0, Buffer.concat([f.subarray(0, 12), Buffer.from([0x81, 0x00, 0x00, 0x07]), f.subarray(12)])];
  });
  t.true(run(tagged).drops.length >= 3);
});

test('a new connection on the same ports (SYN) starts from nothing', (t) => {
  const first = bulkFlow({ everyUs: 100, durationUs: 2_000_000, rttUs: standing });
  const syn: Step = [2_000_000, 1, tcp({ src: 'A', dst: 'B', sport: 40000, dport: 5201, seq: 99, ack: 0, flags: 0x02 })];
  const r = loadNative().pathAqmRun(TARGET_US, INTERVAL_US, [...first, syn]);
  t.is(r.delayUs[first.length], -1, 'no flow after the SYN');
});

test('off (target 0): no samples, no drops', (t) => {
  const r = run(bulkFlow({ everyUs: 100, durationUs: 2_000_000, rttUs: standing }), 0);
  t.is(r.samples, 0);
  t.deepEqual(r.drops, []);
});

test('malformed and truncated frames are passed over without harm', (t) => {
  const good = tcp({ src: 'A', dst: 'B', sport: 40000, dport: 5201, seq: 1, ack: 1, payload: MSS });
  const goodV6 = tcp({ src: 'B', dst: 'A', sport: 5201, dport: 40000, seq: 1, ack: 1, v6: true });
  const steps: Step[] = [];
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 4000; i++) {
    const src = i % 2 ? good : goodV6;
    const f = Buffer.from(src.subarray(0, Math.floor(rnd() * (src.length + 1))));
    for (let k = 0; k < 3; k++) if (f.length) f[Math.floor(rnd() * f.length)] = Math.floor(rnd() * 256);
    steps.push([i * 10, (i % 3 === 0 ? 0 : 1) as 0 | 1, f]);
  }
  const r = loadNative().pathAqmRun(TARGET_US, INTERVAL_US, steps);
  t.is(r.drops.length, steps.length);
  t.throws(() => loadNative().pathAqmRun(TARGET_US, INTERVAL_US, [[0, 1, 'x' as unknown as Buffer]]), { message: /frame/ });
});
