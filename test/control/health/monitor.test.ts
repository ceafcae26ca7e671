import test from 'ava';
import cron from 'node-cron';
import type { CascadeSnapshot, HealthInputs, SystemSnapshot } from '../../../src/control/health/checks.ts';
import { HealthMonitor } from '../../../src/control/health/monitor.ts';
import type { HealthChange } from '../../../src/control/health/tracker.ts';
import { bridge, cascadeStatus, fakeClock } from './fixtures.ts';

const TH = { cpuWarnPercent: 90, memoryWarnPercent: 90, diskWarnPercent: 90, temperatureWarnC: 85 };
const COOL: SystemSnapshot = { cpuPercent: 5, memPercent: 20, diskPercent: 30, temperatureC: null };

function inputs(over: Partial<HealthInputs> = {}): HealthInputs {
  return {
    cascades: () => [],
    bridges: () => [],
    system: async () => COOL,
    thresholds: () => TH,
    configWritable: async () => true,
    ...over,
  };
}

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('the cron schedule runs both check groups and stop() leaves no timer and no task behind', async (t) => {
  const before = timeouts();
  let link = 0;
  let system = 0;
  const m = new HealthMonitor({
    inputs: inputs({ cascades: () => (link++, []), system: async () => (system++, COOL) }),
    linkSchedule: '* * * * * *',
    systemSchedule: '* * * * * *',
  });
  m.start();
  m.start(); // idempotent
  t.true(m.running);
  t.is([...cron.getTasks().values()].filter((x) => x.name?.startsWith('health-')).length, 2);
  await new Promise((r) => setTimeout(r, 2300));
  await m.stop();
  t.true(link >= 2, `link checks ran ${link} times`);
  t.true(system >= 2, `system checks ran ${system} times`);
  t.false(m.running);
  t.is([...cron.getTasks().values()].filter((x) => x.name?.startsWith('health-')).length, 0);
  t.is(timeouts(), before, 'no timer left running');
  const after = link;
  await new Promise((r) => setTimeout(r, 1200));
  t.is(link, after, 'nothing runs after stop');
  t.throws(() => m.start(), { message: /stopped/ });
  const s = m.stats();
  t.is(s.link.runs, link);
  t.true(s.link.lastDurationMs !== null && s.link.lastDurationMs >= 0);
});

test('bad cron expressions are refused naming the field', (t) => {
  t.throws(() => new HealthMonitor({ inputs: inputs(), linkSchedule: 'every 5 s' }), { message: /health\.linkSchedule/ });
});

test('online with 0 connections becomes a visible high-severity warning after its time to visible', async (t) => {
  const clock = fakeClock();
  const status = cascadeStatus({ connections: { total: 0, up: 0, down: 0, connecting: 0, granted: 8, requested: 8 } });
  const cascades: CascadeSnapshot[] = [{ name: 'hq', enabled: true, status }];
  const m = new HealthMonitor({ inputs: inputs({ cascades: () => cascades }), now: clock.now, monotonicNow: clock.now });
  const changes: HealthChange[] = [];
  m.tracker.on('change', (c: HealthChange) => changes.push(c));
  await m.runLinkChecks();
  t.deepEqual(m.tracker.visible(), []);
  clock.advance(5000);
  await m.runLinkChecks();
  t.deepEqual(m.tracker.visible(), []);
  clock.advance(5000);
  await m.runLinkChecks();
  t.deepEqual(m.tracker.visible().map((v) => [v.code, v.target, v.severity]), [['cascade-online-without-connections', 'hq', 'high']]);
  t.is(changes.length, 1);
  // The connections come back: healthy, announced once.
  cascades[0] = { name: 'hq', enabled: true, status: cascadeStatus() };
  clock.advance(5000);
  await m.runLinkChecks();
  t.deepEqual(m.tracker.visible(), []);
  t.deepEqual(changes.map((c) => c.healthy), [false, true]);
  const r = m.report();
  t.deepEqual(r.visible, []);
  t.deepEqual(r.history.map((h) => [h.code, h.healthy]), [['cascade-online-without-connections', false], ['cascade-online-without-connections', true]]);
  t.is(r.stats.link.runs, 4);
  await m.stop();
});

test('checks of one group never overlap: a slow system() makes the next tick skip', async (t) => {
  let calls = 0;
  let release!: () => void;
  const m = new HealthMonitor({
    inputs: inputs({ system: () => (calls++, new Promise<SystemSnapshot>((r) => (release = () => r(COOL)))) }),
  });
  const first = m.runSystemChecks();
  const second = m.runSystemChecks();
  t.is(calls, 1);
  t.is(m.stats().system.skippedOverlap, 1);
  release();
  await Promise.all([first, second]);
  const third = m.runSystemChecks();
  t.is(calls, 2, 'after the first finished, the next round runs');
  release();
  await third;
  await m.stop();
});

test('a throwing input is counted and reported, and the next round runs', async (t) => {
  const errors: string[] = [];
  let fail = true;
  const m = new HealthMonitor({
    inputs: inputs({ cascades: () => { if (fail) throw new Error('supervisor gone'); return []; } }),
    onError: (e) => errors.push(e),
  });
  await m.runLinkChecks();
  t.is(m.stats().link.failures, 1);
  t.deepEqual(errors, ['health check failed: supervisor gone']);
  fail = false;
  await m.runLinkChecks();
  t.is(m.stats().link.failures, 1);
  t.is(m.stats().link.runs, 2);
  await m.stop();
});

test('system facts failing raises system-facts-unavailable and keeps resource warnings; config not writable', async (t) => {
  const clock = fakeClock();
  let facts: SystemSnapshot | Error = { ...COOL, memPercent: 99 };
  let writable: boolean | Error = false;
  const m = new HealthMonitor({
    now: clock.now,
    inputs: inputs({
      system: async () => { if (facts instanceof Error) throw facts; return facts; },
      configWritable: async () => { if (writable instanceof Error) throw writable; return writable; },
    }),
  });
  await m.runSystemChecks();
  t.true(m.tracker.isUnhealthy('memory-high', ''));
  t.true(m.tracker.isUnhealthy('config-not-writable', ''));
  facts = new Error('ENOENT /proc/meminfo');
  writable = new Error('EACCES');
  await m.runSystemChecks();
  t.true(m.tracker.isUnhealthy('memory-high', ''), 'no facts: no evidence either way');
  t.true(m.tracker.isUnhealthy('system-facts-unavailable', ''));
  t.true(m.tracker.visible().some((v) => v.code === 'config-not-writable' && v.text.endsWith(': EACCES')));
  facts = COOL;
  writable = true;
  await m.runSystemChecks();
  t.false(m.tracker.isUnhealthy('memory-high', ''));
  t.false(m.tracker.isUnhealthy('system-facts-unavailable', ''));
  t.false(m.tracker.isUnhealthy('config-not-writable', ''));
  await m.stop();
});

test('bridge warnings flow through the monitor (NIC missing hides its no-carrier)', async (t) => {
  const clock = fakeClock();
  let b = bridge({ device: 'eth1', present: false, up: false, carrier: false });
  const m = new HealthMonitor({ inputs: inputs({ bridges: () => [b] }), now: clock.now, monotonicNow: clock.now });
  await m.runLinkChecks();
  clock.advance(10_000);
  await m.runLinkChecks();
  t.deepEqual(m.tracker.visible().map((v) => v.code), ['nic-missing']);
  b = bridge({ device: 'eth1', carrier: false });
  clock.advance(5000);
  await m.runLinkChecks();
  t.deepEqual(m.tracker.visible().map((v) => v.code), [], 'carrier loss has its own time to visible');
  clock.advance(5000);
  await m.runLinkChecks();
  t.deepEqual(m.tracker.visible().map((v) => v.code), ['nic-no-carrier']);
  await m.stop();
});

test('every system round is recorded for the resource chart, bounded, oldest first; a failed round records nothing', async (t) => {
  const clock = fakeClock();
  let n = 0;
  let fail = false;
  const m = new HealthMonitor({
    now: clock.now,
    resourceHistoryPoints: 3,
    inputs: inputs({
      system: async () => {
        if (fail) throw new Error('no /proc');
        n++;
        return { cpuPercent: n * 10, memPercent: 40, diskPercent: 5, temperatureC: n === 2 ? null : 50 + n };
      },
    }),
  });
  for (let i = 0; i < 4; i++) {
    await m.runSystemChecks();
    clock.advance(30_000);
  }
  fail = true;
  await m.runSystemChecks();
  const pts = m.resources.points();
  t.is(pts.length, 3, 'the ring holds its capacity, no more');
  t.deepEqual(pts.map((p) => p.cpuPercent), [20, 30, 40], 'oldest dropped first, oldest first');
  t.deepEqual(pts.map((p) => p.temperatureC), [null, 53, 54], 'an absent sensor stays absent, not 0');
  t.is(pts[1]!.time - pts[0]!.time, 30_000);
  await m.stop();
});
