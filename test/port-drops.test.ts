import test from 'ava';
import { describePortDrops, portDrops } from '../src/ports/port-drops.ts';

test("a port's drops: the non-zero counters that say Drop, by name; the line `sebridge link` prints at stop", (t) => {
  const stats = { rxFrames: 900, rxDropAqm: 2, rxDropKernel: 5, txDropError: 0, lastError: 'Drop it', rxDropNote: 'x' };
  t.deepEqual(portDrops(stats), { rxDropAqm: 2, rxDropKernel: 5 });
  t.is(describePortDrops(stats), 'rxDropAqm=2 rxDropKernel=5');
  t.is(describePortDrops({ rxFrames: 1, txDropError: 0 }), 'none');
});
