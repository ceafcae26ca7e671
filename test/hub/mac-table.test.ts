import test from 'ava';
import fc from 'fast-check';
import { LearnResult, MacTable } from '../../src/hub/mac-table.ts';

/**
 * The table's open addressing (with backward-shift deletion) checked against a plain Map, with the
 * table kept full so probe runs are long and removals have to shift entries across them.
 */
const op = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('learn' as const), mac: fc.nat(40), port: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('lookup' as const), mac: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('forget' as const), port: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('tick' as const), ms: fc.constantFrom(0, 1000, 3000, 10_000) }) },
);

// Spread keys over both halves, and keep some sharing a high half (same vendor).
const split = (m: number) => ({ hi: m % 3 === 0 ? 0x00163e : (m * 7919) & 0xffffff, lo: (m * 104729) & 0xffffff });

test('MacTable agrees with a Map model under learn/lookup/forget/aging', (t) => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const max = 16;
      const aging = 10_000;
      const table = new MacTable<number>({ maxEntries: max, agingMs: aging, sweepIntervalMs: 1000 });
      const model = new Map<number, { port: number; seen: number }>();
      let now = 0;
      const live = (m: number) => {
        const e = model.get(m);
        return e && now - e.seen <= aging ? e : undefined;
      };
      for (const o of ops) {
        if (o.k === 'tick') now += o.ms;
        else if (o.k === 'learn') {
          const { hi, lo } = split(o.mac);
          const r = table.learn(hi, lo, o.port, now);
          const e = live(o.mac);
          let want: LearnResult;
          if (e) want = e.port === o.port ? LearnResult.Refreshed : LearnResult.Moved;
          else if ([...model.keys()].filter(live).length >= max) want = LearnResult.TableFull;
          else want = LearnResult.Learned;
          if (r !== want) throw new Error(`learn ${o.mac}: ${r} != ${want}`);
          if (want !== LearnResult.TableFull) model.set(o.mac, { port: o.port, seen: now });
        } else if (o.k === 'lookup') {
          const { hi, lo } = split(o.mac);
          const got = table.lookup(hi, lo, now);
          if (got !== live(o.mac)?.port) throw new Error(`lookup ${o.mac}: ${got} != ${live(o.mac)?.port}`);
        } else {
          table.forgetPort(o.port);
          for (const [m, e] of model) if (e.port === o.port) model.delete(m);
        }
        if (table.size > max) throw new Error('over the limit');
      }
      // Every live model entry is still findable (no entry lost behind a hole).
      for (const m of model.keys()) {
        const { hi, lo } = split(m);
        if (table.lookup(hi, lo, now) !== live(m)?.port) throw new Error(`final lookup ${m}`);
      }
      const rows = table.entries(now).length;
      if (rows !== [...model.keys()].filter(live).length) throw new Error('entries() count');
    }),
    { numRuns: 400 },
  );
  t.pass();
});

test('a full table refuses new MACs without evicting, and sweeps at most once per interval', (t) => {
  const table = new MacTable<string>({ maxEntries: 2, agingMs: 100, sweepIntervalMs: 50 });
  t.is(table.learn(1, 1, 'a', 0), LearnResult.Learned);
  t.is(table.learn(1, 2, 'a', 0), LearnResult.Learned);
  t.is(table.learn(1, 3, 'a', 10), LearnResult.TableFull); // sweeps at 10, nothing expired
  t.is(table.learn(1, 1, 'a', 90), LearnResult.Refreshed);
  // At 120, (1,2) has expired; the sweep at 10 is older than 50 ms, so a new sweep frees its slot.
  t.is(table.learn(1, 3, 'a', 120), LearnResult.Learned);
  t.is(table.lookup(1, 2, 120), undefined);
  t.is(table.lookup(1, 1, 120), 'a');
  t.is(table.aged, 1);
  // (1,1) expires at 191; at 200 a new MAC arrives, but the sweep at 120... is 80 ms old: allowed.
  t.is(table.learn(1, 4, 'b', 200), LearnResult.Learned);
  // Table full again ((1,3) seen at 120, (1,4) at 200). At 230 nothing has expired.
  t.is(table.learn(1, 5, 'b', 230), LearnResult.TableFull);
  // At 240 (1,3) has expired but the last sweep (230) is only 10 ms old: refused, O(1).
  t.is(table.learn(1, 5, 'b', 240), LearnResult.TableFull);
  t.is(table.learn(1, 5, 'b', 290), LearnResult.Learned);
});

test('invalid options are RangeErrors', (t) => {
  t.throws(() => new MacTable({ maxEntries: -1 }), { instanceOf: RangeError });
  t.throws(() => new MacTable({ maxEntries: 1.5 }), { instanceOf: RangeError });
  t.throws(() => new MacTable({ agingMs: 0 }), { instanceOf: RangeError });
  t.is(new MacTable({ maxEntries: 0 }).learn(1, 1, 'x', 0), LearnResult.TableFull);
});
