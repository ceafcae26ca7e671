import test from 'ava';
import { LogRing } from '../../../src/control/log/ring.ts';

function filled(): LogRing {
  const r = new LogRing(5);
  const add = (level: number, msg: string, object: string | null, fields = {}) =>
    r.push({ time: 0, level, levelName: '', msg, object, fields });
  add(30, 'starting', null);
  add(20, 'hello sent', 'cascade/hq');
  add(40, 'retry in 10 s', 'cascade/hq', { error: 'Connection Refused' });
  add(30, 'carrier up', 'bridge/eth1');
  add(50, 'session ended', 'cascade/branch');
  add(30, 'online', 'cascade/hq');
  return r;
}

test('the ring is bounded and keeps the newest entries with increasing seq', (t) => {
  const r = filled();
  t.is(r.size, 5);
  t.is(r.lastSeq, 6);
  t.deepEqual(r.query().map((e) => e.seq), [2, 3, 4, 5, 6]);
});

test('filters: min level, object, text (message or fields, any case), since, max (newest)', (t) => {
  const r = filled();
  t.deepEqual(r.query({ minLevel: 'warn' }).map((e) => e.msg), ['retry in 10 s', 'session ended']);
  t.deepEqual(r.query({ minLevel: 40 }).map((e) => e.seq), [3, 5]);
  t.deepEqual(r.query({ object: 'cascade/hq' }).map((e) => e.msg), ['hello sent', 'retry in 10 s', 'online']);
  t.deepEqual(r.query({ text: 'REFUSED' }).map((e) => e.seq), [3], 'text in the fields');
  t.deepEqual(r.query({ text: 'carrier' }).map((e) => e.seq), [4]);
  t.deepEqual(r.query({ since: 4 }).map((e) => e.seq), [5, 6]);
  t.deepEqual(r.query({ max: 2 }).map((e) => e.seq), [5, 6]);
  t.deepEqual(r.query({ object: 'cascade/hq', minLevel: 'info', max: 1 }).map((e) => e.msg), ['online']);
});

test('bad filters are refused with the field named', (t) => {
  const r = filled();
  t.throws(() => r.query({ minLevel: 'loud' as never }), { message: /^minLevel: one of trace/ });
  t.throws(() => r.query({ max: 0 }), { message: /^max:/ });
  t.throws(() => r.query({ since: -1 }), { message: /^since:/ });
  t.throws(() => r.query({ text: 'x'.repeat(201) }), { message: /^text:/ });
  t.throws(() => new LogRing(0), { message: /log\.ringSize/ });
});
