import test from 'ava';
import { MemoryPort } from '../src/ports/memory-port.ts';
import { patch } from '../src/ports/port.ts';

test('patch cable carries frames both ways without copying', (t) => {
  const a = new MemoryPort('a');
  const b = new MemoryPort('b');
  const unpatch = patch(a, b);
  const f = Buffer.from('frame-one');
  a.inject([f]);
  t.is(b.written[0], f);
  b.inject([Buffer.from('back')]);
  t.is(a.written[0]?.toString(), 'back');
  unpatch();
  t.false(a.inject([f]));
});

test('memory port keeps a bounded history and counts what it forgets', (t) => {
  const p = new MemoryPort('p', 3);
  p.write([1, 2, 3, 4, 5].map((n) => Buffer.from([n])));
  t.is(p.written.length, 3);
  t.is(p.dropped, 2);
  t.deepEqual(p.written.map((b) => b[0]), [3, 4, 5]);
});
