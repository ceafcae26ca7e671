import test from 'ava';
import { Hub, HubError, HubErrorCode } from '../../src/hub/hub.ts';
import { MemoryPort } from '../../src/ports/memory-port.ts';
import { FakeClock, RecordingPort, frame, mac, nthMac } from './hub-helpers.ts';

const A1 = '02:00:00:00:0a:01';
const A2 = '02:00:00:00:0a:02';
const B1 = '02:00:00:00:0b:01';
const B2 = '02:00:00:00:0b:02';
const C1 = '02:00:00:00:0c:01';
const BCAST = 'ff:ff:ff:ff:ff:ff';
const MCAST = '01:00:5e:00:00:fb';

function setup(n = 3, options: ConstructorParameters<typeof Hub>[0] = {}) {
  const clock = new FakeClock();
  const hub = new Hub({ now: clock.now, ...options });
  const ports = Array.from({ length: n }, (_, i) => new RecordingPort(String.fromCharCode(97 + i)));
  for (const p of ports) hub.attach(p);
  return { hub, clock, ports };
}

const clearAll = (ports: RecordingPort[]) => ports.forEach((p) => p.clear());

test('learns source MACs and sends known unicast to one port only', (t) => {
  const { hub, ports: [a, b, c] } = setup();
  a.inject(frame(B1, A1)); // B1 unknown: flooded
  t.is(b.frames.length, 1);
  t.is(c.frames.length, 1);
  clearAll([a, b, c]);

  b.inject(frame(A1, B1)); // A1 learned on a
  t.is(a.frames.length, 1);
  t.is(c.frames.length, 0);
  t.is(b.frames.length, 0);
  clearAll([a, b, c]);

  a.inject(frame(B1, A1)); // B1 now learned on b
  t.is(b.frames.length, 1);
  t.is(c.frames.length, 0);

  const table = hub.macTable().map(({ mac, port }) => ({ mac, port }));
  t.deepEqual(table.sort((x, y) => x.mac.localeCompare(y.mac)), [
    { mac: A1, port: 'a' },
    { mac: B1, port: 'b' },
  ]);
});

test('broadcast, multicast and unknown unicast are flooded to every other port, never back', (t) => {
  const { hub, ports } = setup(4);
  const [a] = ports;
  for (const dst of [BCAST, MCAST, '33:33:00:00:00:01', C1]) {
    clearAll(ports);
    const f = frame(dst, A1);
    a!.inject(f);
    t.is(a!.frames.length, 0, `${dst} not sent back`);
    for (const p of ports.slice(1)) {
      t.is(p.frames.length, 1, `${dst} reaches ${p.name}`);
      t.is(p.frames[0], f, 'same Buffer object, not a copy');
    }
  }
  t.is(hub.stats().ports[0]!.framesIn, 4);
  t.is(hub.stats().totals.framesOut, 12);
});

test('a frame whose destination lives on its ingress port is dropped and counted', (t) => {
  const { hub, ports: [a, b, c] } = setup();
  a.inject(frame(BCAST, A1));
  a.inject(frame(BCAST, A2));
  clearAll([a, b, c]);
  a.inject(frame(A2, A1));
  t.is(a.frames.length + b.frames.length + c.frames.length, 0);
  t.is(hub.stats().ports[0]!.drops.noDestination, 1);
});

test('a hub with a single port drops everything as having no destination', (t) => {
  const { hub, ports: [a] } = setup(1);
  a.inject(frame(BCAST, A1), frame(B1, A1));
  t.is(a.frames.length, 0);
  t.is(hub.stats().ports[0]!.drops.noDestination, 2);
});

test('MAC move: a MAC seen on a new port is forwarded there', (t) => {
  const { hub, ports: [a, b, c] } = setup();
  a.inject(frame(BCAST, A1));
  b.inject(frame(BCAST, B1));
  c.inject(frame(BCAST, A1)); // the station moved to c
  clearAll([a, b, c]);
  b.inject(frame(A1, B1));
  t.is(c.frames.length, 1);
  t.is(a.frames.length, 0);
  const s = hub.stats();
  t.is(s.ports[2]!.macMovesIn, 1);
  t.is(s.macTable.moves, 1);
  t.deepEqual(hub.macTable().find((r) => r.mac === A1)?.port, 'c');
  t.is(s.ports[0]!.macs, 0);
  t.is(s.ports[2]!.macs, 1);
});

test('aging forgets a MAC after agingMs without traffic, refresh keeps it (fake clock)', (t) => {
  const { hub, clock, ports: [a, b, c] } = setup(3, { agingMs: 300_000 });
  a.inject(frame(BCAST, A1));
  clock.advance(300_000); // exactly the aging time: still known
  clearAll([a, b, c]);
  b.inject(frame(A1, B1));
  t.is(c.frames.length, 0);
  t.is(a.frames.length, 1);

  a.inject(frame(BCAST, A1)); // refresh at t0 + 300 s
  clock.advance(299_000);
  clearAll([a, b, c]);
  b.inject(frame(A1, B1));
  t.is(c.frames.length, 0, 'refreshed entry still alive');

  clock.advance(1_001);
  clearAll([a, b, c]);
  b.inject(frame(A1, B1));
  t.is(a.frames.length, 1);
  t.is(c.frames.length, 1, 'expired: flooded again');
  t.false(hub.macTable().some((r) => r.mac === A1));
  t.true(hub.stats().macTable.aged >= 1);
  // age is reported
  const row = hub.macTable().find((r) => r.mac === B1);
  t.is(row?.ageMs, 0);
  clock.advance(1234);
  t.is(hub.macTable().find((r) => r.mac === B1)?.ageMs, 1234);
});

test('table limit: the 4097th MAC is not learned, its frames are flooded and counted', (t) => {
  const { hub, clock, ports: [a, b, c] } = setup();
  const batch = Array.from({ length: 4096 }, (_, i) => frame(BCAST, nthMac(i + 1)));
  a.inject(...batch);
  t.is(hub.stats().macTable.size, 4096);
  const extra = nthMac(5000);
  a.inject(frame(BCAST, extra));
  let s = hub.stats();
  t.is(s.macTable.size, 4096);
  t.is(s.ports[0]!.notLearnedTableFull, 1);
  t.is(s.totals.notLearnedTableFull, 1);
  t.false(hub.macTable().some((r) => r.mac === '06:00:00:00:13:88'));

  clearAll([a, b, c]);
  b.inject(frame(extra, B1)); // B1 is also new: not learned either
  t.is(a.frames.length, 1, 'unknown destination flooded');
  t.is(c.frames.length, 1);
  s = hub.stats();
  t.is(s.ports[1]!.notLearnedTableFull, 1);

  // Established stations keep working while the table is full.
  clearAll([a, b, c]);
  b.inject(frame(nthMac(7), B1));
  t.is(a.frames.length, 1);
  t.is(c.frames.length, 0);

  // Once old entries expire, new MACs are learned again.
  clock.advance(300_001);
  a.inject(frame(BCAST, extra));
  t.true(hub.macTable().some((r) => r.mac === '06:00:00:00:13:88'));
  t.is(hub.stats().macTable.size, 1);
});

test('maxMacs option is honoured', (t) => {
  const { hub, ports: [a] } = setup(2, { maxMacs: 2 });
  a.inject(frame(BCAST, nthMac(1)), frame(BCAST, nthMac(2)), frame(BCAST, nthMac(3)));
  t.is(hub.stats().macTable.size, 2);
  t.is(hub.stats().ports[0]!.notLearnedTableFull, 1);
});

test('runts (< 14 bytes) and oversize (> 1600) frames are dropped and counted', (t) => {
  const { hub, ports: [a, b] } = setup(2);
  const runt = frame(BCAST, A1, 14).subarray(0, 13);
  a.inject(runt, Buffer.alloc(0), frame(BCAST, A1, 14), frame(BCAST, A1, 1600), frame(BCAST, A1, 1601), frame(BCAST, A1, 9000));
  t.deepEqual(b.frames.map((f) => f.length), [14, 1600]);
  const s = hub.stats().ports[0]!;
  t.is(s.drops.runt, 2);
  t.is(s.drops.oversize, 2);
  t.is(s.framesIn, 6);
  t.is(s.bytesIn, 13 + 0 + 14 + 1600 + 1601 + 9000);
  t.is(hub.stats().ports[1]!.bytesOut, 1614);
});

test('a multicast/broadcast source is never learned, but counted and forwarded', (t) => {
  const { hub, ports: [a, b, c] } = setup();
  a.inject(frame(B1, BCAST), frame(B1, MCAST));
  t.is(hub.macTable().length, 0);
  t.is(hub.stats().ports[0]!.multicastSource, 2);
  t.is(b.frames.length, 2);
  t.is(c.frames.length, 2);
});

test('a batch becomes at most one write per destination, order kept per destination', (t) => {
  const { hub, ports: [a, b, c, d] } = setup(4);
  b.inject(frame(BCAST, B1), frame(BCAST, B2));
  c.inject(frame(BCAST, C1));
  clearAll([a!, b!, c!, d!]);

  const batch = [
    frame(B1, A1, 60, 1),
    frame(BCAST, A1, 60, 2),
    frame(C1, A1, 60, 3),
    frame(B2, A1, 60, 4),
    frame('02:99:99:99:99:99', A1, 60, 5), // unknown
    frame(B1, A1, 60, 6),
    frame(A1, A1, 60, 7), // to itself: dropped
  ];
  a!.inject(...batch);
  const tags = (p: RecordingPort) => p.calls.map((call) => call.map((f) => f.readUInt16BE(14)));
  t.deepEqual(tags(b!), [[1, 2, 4, 5, 6]]);
  t.deepEqual(tags(c!), [[2, 3, 5]]);
  t.deepEqual(tags(d!), [[2, 5]]);
  t.deepEqual(a!.calls, []);
  t.is(b!.frames[0], batch[0]);
  t.is(c!.frames[0], d!.frames[0]);
  t.is(hub.stats().ports[0]!.drops.noDestination, 1);
});

test('an empty batch writes nothing', (t) => {
  const { ports: [a, b] } = setup(2);
  a!.receiver!([]);
  t.deepEqual(b!.calls, []);
});

test('detach forgets the port MACs, stops forwarding to and from it', (t) => {
  const { hub, ports: [a, b, c] } = setup();
  b.inject(frame(BCAST, B1), frame(BCAST, B2));
  a.inject(frame(BCAST, A1));
  const rx = b.receiver!;
  t.true(hub.detach(b));
  t.is(b.receiver, null, 'receiver released');
  t.false(hub.detach(b), 'second detach is a no-op');
  t.deepEqual(hub.macTable().map((r) => r.port), ['a']);
  clearAll([a, b, c]);
  a.inject(frame(B1, A1));
  t.is(b.frames.length, 0);
  t.is(c.frames.length, 1, 'B1 unknown again: flooded to the remaining ports');
  rx([frame(A1, B1)]); // a stale receiver must not inject
  t.is(a.frames.length, 0);
  t.deepEqual(hub.stats().ports.map((p) => p.name), ['a', 'c']);
  hub.attach(b); // can come back
  b.inject(frame(A1, B1));
  t.is(a.frames.length, 1);
});

test('attach twice and attach after close are typed errors; close detaches everything', (t) => {
  const { hub, ports: [a, b] } = setup(2);
  const err = t.throws(() => hub.attach(a!), { instanceOf: HubError });
  t.is(err?.code, HubErrorCode.AlreadyAttached);
  hub.close();
  hub.close();
  t.true(hub.closed);
  t.is(a!.receiver, null);
  t.is(b!.receiver, null);
  t.is(hub.stats().ports.length, 0);
  t.is(hub.macTable().length, 0);
  t.is(t.throws(() => hub.attach(new RecordingPort('x')), { instanceOf: HubError })?.code, HubErrorCode.Closed);
});

test('ports that answer synchronously inside write() (re-entrancy) are switched correctly', (t) => {
  const { hub, ports: [a, b, c] } = setup();
  // b answers every frame addressed to B1 immediately, from within write().
  b.onWriteHook = (frames) => {
    for (const f of frames) if (f.subarray(0, 6).equals(mac(B1))) b.inject(frame(f.subarray(6, 12), B1, 60, f.readUInt16BE(14) + 100));
  };
  b.inject(frame(BCAST, B1));
  clearAll([a, b, c]);
  a.inject(frame(B1, A1, 60, 1), frame(BCAST, A1, 60, 2), frame(B1, A1, 60, 3));
  const tags = (p: RecordingPort) => p.calls.map((call) => call.map((f) => f.readUInt16BE(14)));
  t.deepEqual(tags(b), [[1, 2, 3]]);
  t.deepEqual(tags(c), [[2]]);
  t.deepEqual(tags(a), [[101], [103]]);
  t.is(hub.stats().ports[0]!.framesOut, 3); // 101, 103 and B1's first broadcast
});

test('a port detached by an earlier write of the same batch gets nothing and is not counted', (t) => {
  const { hub, ports: [a, b, c] } = setup();
  b.onWriteHook = () => hub.detach(c);
  a.inject(frame(BCAST, A1));
  t.is(b.frames.length, 1);
  t.is(c.frames.length, 0);
  t.is(hub.stats().ports.find((p) => p.name === 'b')?.framesOut, 1);
});

test('works with MemoryPort: frames reach the other ports unchanged and uncopied', (t) => {
  const hub = new Hub();
  const x = new MemoryPort('x');
  const y = new MemoryPort('y');
  hub.attach(x);
  hub.attach(y);
  const f = frame(BCAST, A1);
  t.true(x.inject([f]));
  t.is(y.written[0], f);
  t.is(x.written.length, 0);
  hub.close();
  t.false(x.inject([f]));
});

test('stats totals add up over ports', (t) => {
  const { hub, ports: [a, b, c] } = setup();
  a.inject(frame(BCAST, A1, 100));
  b.inject(frame(A1, B1, 200));
  c.inject(frame(B1, C1, 300), Buffer.alloc(5));
  const s = hub.stats();
  t.is(s.totals.framesIn, 4);
  t.is(s.totals.bytesIn, 605);
  t.is(s.totals.framesOut, 4); // 2 (flood) + 1 + 1
  t.is(s.totals.bytesOut, 200 + 200 + 300);
  t.is(s.totals.drops.runt, 1);
  t.deepEqual(s.ports.map((p) => p.macs), [1, 1, 1]);
});

test('a port whose write() throws does not stop delivery to the others; the error surfaces', (t) => {
  const { ports: [a, b, c, d] } = setup(4);
  b!.onWriteHook = () => {
    throw new Error('broken port');
  };
  t.throws(() => a!.inject(frame(BCAST, A1)), { message: 'broken port' });
  t.is(c!.frames.length, 1);
  t.is(d!.frames.length, 1);
});
