// Run: npx ava --config bench/ava.config.js (the project's ava config only looks at test/).
import test from 'ava';
import { parseLanDrops } from './scenario.ts';
import { describePortDrops } from '../../src/ports/port-drops.ts';

const at = (text: string) => `2026-12-04T20:00:00.000Z ${text}`;

test("the LAN port's drops as `sebridge link` prints them when it stops, for that interface only", (t) => {
  const log = [
    at('sebp1r: bridged (raw socket, promiscuous, offloads off)'),
    at(`tap0: drops ${describePortDrops({ rxDropNoReceiver: 4 })}`),
    at(`sebp1lr: drops ${describePortDrops({ rxFrames: 900, rxDropAqm: 2, rxDropKernel: 5, txDropError: 0 })}`),
    at('stopped'),
  ].join('\n');
  t.deepEqual(parseLanDrops(log, 'sebp1lr'), { rxDropAqm: 2, rxDropKernel: 5 });
  t.deepEqual(parseLanDrops(log, 'tap0'), { rxDropNoReceiver: 4 });
  t.deepEqual(parseLanDrops(at(`sebp1lr: drops ${describePortDrops({ rxFrames: 3 })}`), 'sebp1lr'), {});
  t.is(parseLanDrops(log, 'eth9'), undefined);
});
