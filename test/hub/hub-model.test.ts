import test from 'ava';
import fc from 'fast-check';
import { Hub } from '../../src/hub/hub.ts';
import { FakeClock, RecordingPort, frame } from './hub-helpers.ts';

/**
 * Model-based check: random traffic, clock steps and port bounces against a naive reference switch
 * written independently (string keys, one frame at a time, no batching tricks). Every port must get
 * exactly the same frames in the same order, in one write per batch, with the same counters.
 */

const AGING = 5_000;
const MAX_MACS = 4;
const UNICAST = ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03', '02:00:00:00:00:04', '02:00:00:00:00:05', '02:00:00:00:00:06'];
const GROUP = ['ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01'];

interface ModelPort {
  framesIn: number;
  framesOut: number;
  runt: number;
  oversize: number;
  noDestination: number;
  tableFull: number;
  mcastSrc: number;
  moves: number;
}
const freshCounters = (): ModelPort => ({ framesIn: 0, framesOut: 0, runt: 0, oversize: 0, noDestination: 0, tableFull: 0, mcastSrc: 0, moves: 0 });

class ModelSwitch {
  table = new Map<string, { port: number; seen: number }>();
  order: number[] = []; // attached ports in attach order
  counters = new Map<number, ModelPort>();

  constructor(n: number) {
    for (let i = 0; i < n; i++) this.attach(i);
  }
  attach(p: number) {
    this.order.push(p);
    this.counters.set(p, freshCounters());
  }
  detach(p: number) {
    this.order = this.order.filter((x) => x !== p);
    for (const [m, e] of this.table) if (e.port === p) this.table.delete(m);
  }
  live(m: string, now: number) {
    const e = this.table.get(m);
    return e !== undefined && now - e.seen <= AGING ? e : undefined;
  }
  forward(ingress: number, frames: { dst: string; src: string; len: number; tag: number }[], now: number): Map<number, number[]> {
    const out = new Map<number, number[]>();
    const c = this.counters.get(ingress)!;
    const send = (p: number, tag: number) => {
      if (!out.has(p)) out.set(p, []);
      out.get(p)!.push(tag);
      this.counters.get(p)!.framesOut++;
    };
    for (const f of frames) {
      c.framesIn++;
      if (f.len < 14) { c.runt++; continue; }
      if (f.len > 1600) { c.oversize++; continue; }
      if (GROUP.includes(f.src)) c.mcastSrc++;
      else {
        const e = this.live(f.src, now);
        if (e) {
          if (e.port !== ingress) c.moves++;
          e.port = ingress;
          e.seen = now;
        } else {
          const liveCount = [...this.table.keys()].filter((m) => this.live(m, now)).length;
          if (liveCount >= MAX_MACS) c.tableFull++;
          else this.table.set(f.src, { port: ingress, seen: now });
        }
      }
      const d = GROUP.includes(f.dst) ? undefined : this.live(f.dst, now);
      if (d) {
        if (d.port === ingress) c.noDestination++;
        else send(d.port, f.tag);
      } else {
        const others = this.order.filter((p) => p !== ingress);
        if (others.length === 0) c.noDestination++;
        for (const p of others) send(p, f.tag);
      }
    }
    return out;
  }
}

const frameArb = fc.record({
  dst: fc.constantFrom(...UNICAST, ...GROUP),
  src: fc.constantFrom(...UNICAST, ...UNICAST, GROUP[1]!),
  len: fc.oneof({ weight: 8, arbitrary: fc.constant(60) }, { weight: 1, arbitrary: fc.constant(13) }, { weight: 1, arbitrary: fc.constant(1601) }),
});
const opArb = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('inject' as const), port: fc.nat(3), frames: fc.array(frameArb, { minLength: 1, maxLength: 6 }) }) },
  // Clock steps are whole multiples of the table's sweep interval (1 s), where lazy aging is exact.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.constantFrom(0, 1000, 2000, 4000, 5000, 6000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bounce' as const), port: fc.nat(3) }) },
);

test('hub behaves like a naive reference switch on random traffic', (t) => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
      const clock = new FakeClock();
      const hub = new Hub({ now: clock.now, agingMs: AGING, maxMacs: MAX_MACS });
      const ports = [0, 1, 2, 3].map((i) => new RecordingPort(`p${i}`));
      for (const p of ports) hub.attach(p);
      const model = new ModelSwitch(4);
      let tag = 0;
      for (const op of ops) {
        if (op.kind === 'tick') {
          clock.advance(op.ms);
        } else if (op.kind === 'bounce') {
          hub.detach(ports[op.port]!);
          model.detach(op.port);
          hub.attach(ports[op.port]!);
          model.attach(op.port);
        } else {
          const fs = op.frames.map((f) => ({ ...f, tag: ++tag }));
          const before = ports.map((p) => p.calls.length);
          ports[op.port]!.inject(...fs.map((f) => frame(f.dst, f.src, Math.max(f.len, 16), f.tag).subarray(0, f.len)));
          const expected = model.forward(op.port, fs, clock.t);
          ports.forEach((p, i) => {
            const got = p.calls.slice(before[i]).map((call) => call.map((b) => b.readUInt16BE(14)));
            const want = expected.has(i) ? [expected.get(i)!] : [];
            if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`port ${i}: got ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
          });
        }
      }
      const s = hub.stats();
      for (const ps of s.ports) {
        const m = model.counters.get(Number(ps.name.slice(1)))!;
        const got = { framesIn: ps.framesIn, framesOut: ps.framesOut, runt: ps.drops.runt, oversize: ps.drops.oversize, noDestination: ps.drops.noDestination, tableFull: ps.notLearnedTableFull, mcastSrc: ps.multicastSource, moves: ps.macMovesIn };
        if (JSON.stringify(got) !== JSON.stringify(m)) throw new Error(`${ps.name}: got ${JSON.stringify(got)} want ${JSON.stringify(m)}`);
      }
      const liveModel = [...model.table.keys()].filter((k) => model.live(k, clock.t)).sort();
      const liveHub = hub.macTable().map((r) => r.mac).sort();
      if (JSON.stringify(liveHub) !== JSON.stringify(liveModel)) throw new Error(`table: ${liveHub} vs ${liveModel}`);
    }),
    { numRuns: 300 },
  );
  t.pass();
});
