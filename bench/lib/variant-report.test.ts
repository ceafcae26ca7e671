import test from 'ava';
import type { DirectionResult, ScenarioResult } from './scenario.ts';
import { dashboardGoal, summarizeVariants, VARIANTS } from './variant-report.ts';

const dir = (mbps: number): DirectionResult => ({
  mbps, retransmits: 0, bridgeCpuPct: 50, bridgeSysPct: 10, bridgeRunqueueWaitPct: 5, serverCpuPct: 70, machineBusyPct: 80, framesLost: 0, lossPct: 0,
});

function run(variant: string | undefined, run: number, ab: number, ba: number, loopUs?: number): ScenarioResult {
  return {
    ok: true, bridge: 'sebridge', mode: 'tls8', run, connections: 8, connectSeconds: 8,
    ping: { sent: 1, received: 1, avgMs: 1, p50Ms: 1, p99Ms: 1, maxMs: 1 },
    forward: dir(ab), reverse: dir(ba), idleRssMiB: 80, peakRssMiB: 100, endRssFileMiB: 50, endRssAnonMiB: 50,
    ...(variant ? { variant, observed: { forward: { loopP99Us: loopUs }, reverse: {} } } : {}),
  };
}

test('medians per variant, ratios against link, and the 5 % goal on the dashboard ratio', (t) => {
  const results: ScenarioResult[] = [
    run(undefined, 1, 1000, 900), run(undefined, 2, 1100, 1000), run(undefined, 3, 1200, 950),
    run('dashboard', 1, 1050, 900, 25_000), run('dashboard', 2, 1000, 1000, 27_000), run('dashboard', 3, 2000, 850, 30_000),
    { ok: false, bridge: 'sebridge', mode: 'tls8', run: 4, error: 'boom\ndetail', variant: 'daemon' },
  ];
  const [s] = summarizeVariants(['tls8'], VARIANTS, results);
  const ab = s!.metrics.find((m) => m.key === 'mbpsAB')!;
  t.is(ab.values.link, 1100);
  t.is(ab.values.dashboard, 1050);
  t.deepEqual(ab.spread.dashboard, [1000, 2000]);
  t.is(ab.ratio.dashboard, 1050 / 1100);
  t.is(ab.values.daemon, undefined);
  t.deepEqual(s!.runs.daemon, { ok: 0, failed: ['boom'] });
  t.is(s!.metrics.find((m) => m.key === 'loopAB')!.values.dashboard, 27);
  const goal = dashboardGoal([s!]);
  // A->B 0.955 passes, B->A 900/950 = 0.947 does not.
  t.regex(goal[0]!, /^tls8: NOT MET .*A->B 0\.955, B->A 0\.947/);
});
