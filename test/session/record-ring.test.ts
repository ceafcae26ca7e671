import test from 'ava';
import fc from 'fast-check';
import { NumberQueue, RecordRing } from '../../src/session/record-ring.ts';

test('records come from the ring and its space comes back when released', (t) => {
  const ring = new RecordRing(4096);
  const a = ring.take(1000);
  const seqA = ring.lastSeq;
  const b = ring.take(1000);
  const seqB = ring.lastSeq;
  t.is(a.length, 1000);
  t.is(b.length, 1000);
  t.true(seqA >= 0 && seqB > seqA);
  t.is(a.buffer, b.buffer, 'both are views of the ring');
  t.is(b.byteOffset, a.byteOffset + 1000, 'handed out one after the other');
  t.is(ring.inUse, 2000);
  ring.release(seqA);
  ring.release(seqB);
  t.is(ring.inUse, 0);
  const c = ring.take(10);
  t.is(c.byteOffset, a.byteOffset, 'an empty ring starts over at its beginning');
  t.deepEqual([ring.pooled, ring.allocated], [3, 0]);
});

test('a record larger than half the ring, or one that does not fit, gets memory of its own', (t) => {
  const ring = new RecordRing(4096);
  const big = ring.take(2049);
  t.is(ring.lastSeq, -1);
  t.is(big.length, 2049);
  t.is(ring.inUse, 0);
  ring.take(2000);
  ring.take(2000);
  const third = ring.take(2000);
  t.is(ring.lastSeq, -1, '4000 of 4096 bytes are held: no room for 2000 more');
  t.is(third.length, 2000);
  t.deepEqual([ring.pooled, ring.allocated], [2, 2]);
  ring.release(-1); // a write outside the ring: nothing to give back
  t.is(ring.inUse, 4000);
});

test('out-of-order releases: the space comes back once every older region is done', (t) => {
  const ring = new RecordRing(4096);
  ring.take(1000);
  const s1 = ring.lastSeq;
  ring.take(1000);
  const s2 = ring.lastSeq;
  ring.release(s2);
  t.is(ring.inUse, 2000, 'the older region still holds the tail');
  ring.release(s1);
  t.is(ring.inUse, 0);
  ring.release(s1); // twice: ignored
  t.is(ring.inUse, 0);
});

test('a record that does not fit at the end wraps to the beginning, the end counted as used until released', (t) => {
  const ring = new RecordRing(4096);
  const first = ring.take(1500);
  const s1 = ring.lastSeq;
  ring.take(1500);
  const s2 = ring.lastSeq;
  ring.release(s1); // free: [0, 1500) and [3000, 4096)
  const w = ring.take(1200);
  const sw = ring.lastSeq;
  t.true(sw >= 0);
  t.is(w.byteOffset, first.byteOffset, 'placed at the beginning of the ring');
  t.is(ring.inUse, 1500 + 1096 + 1200, 'the 1096 bytes left at the end are booked with the wrapped record');
  ring.release(s2);
  t.is(ring.inUse, 1096 + 1200);
  ring.release(sw);
  t.is(ring.inUse, 0);
});

/**
 * Random traffic over several "sockets" whose writes complete in order per socket but interleaved across them:
 * a region handed out is never handed out again while its write is outstanding (its bytes stay intact), and
 * everything comes back.
 */
test('property: outstanding records never overlap and keep their bytes', (t) => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('send' as const), socket: fc.nat(3), size: fc.integer({ min: 0, max: 3000 }) }),
          fc.record({ op: fc.constant('done' as const), socket: fc.nat(3) }),
        ),
        { maxLength: 300 },
      ),
      (ops) => {
        const ring = new RecordRing(8192);
        const sockets: Array<Array<{ seq: number; buf: Buffer; fill: number }>> = [[], [], [], []];
        let fill = 0;
        const check = () => {
          for (const q of sockets) for (const w of q) if (!w.buf.every((x) => x === w.fill)) return false;
          return true;
        };
        for (const o of ops) {
          if (o.op === 'send') {
            const buf = ring.take(o.size);
            if (buf.length !== o.size) return false;
            fill = (fill + 1) % 256;
            buf.fill(fill);
            sockets[o.socket]!.push({ seq: ring.lastSeq, buf, fill });
          } else {
            const w = sockets[o.socket]!.shift();
            if (w) ring.release(w.seq);
          }
          if (!check()) return false;
        }
        for (const q of sockets) for (const w of q.splice(0)) ring.release(w.seq);
        return ring.inUse === 0;
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});

test('capacity must be a whole number of at least 4096', (t) => {
  t.throws(() => new RecordRing(100), { instanceOf: RangeError, message: /capacity/ });
  t.throws(() => new RecordRing(5000.5), { instanceOf: RangeError, message: /capacity/ });
});

test('NumberQueue: first in, first out, across growth', (t) => {
  const q = new NumberQueue();
  for (let i = 0; i < 10; i++) q.push(i);
  for (let i = 0; i < 5; i++) t.is(q.shift(), i);
  for (let i = 10; i < 100; i++) q.push(i);
  t.is(q.length, 95);
  for (let i = 5; i < 100; i++) t.is(q.shift(), i);
  t.is(q.shift(), undefined);
  t.is(q.length, 0);
});
