import test from 'ava';
import {
  applyFindings, CASCADE_CODES, checkBridges, checkCascades, checkClock, checkConfigWritable, checkSystem, ClockMemory,
  DEFAULT_LINK_CHECK_OPTIONS, LinkCheckMemory, SYSTEM_CODES,
} from '../../../src/control/health/checks.ts';
import type { CascadeSnapshot, Thresholds } from '../../../src/control/health/checks.ts';
import { HealthTracker } from '../../../src/control/health/tracker.ts';
import { CODES, WARNABLES } from '../../../src/control/health/warnings.ts';
import { emptyCounters } from '../../../src/session/status.ts';
import { bridge, cascadeStatus, fakeClock } from './fixtures.ts';

const O = DEFAULT_LINK_CHECK_OPTIONS;
const codes = (fs: { code: string; target: string }[]) => fs.map((f) => `${f.code}/${f.target}`).sort();

function trafficStatus(framesIn: number, framesOut: number, sessions = 1, drops = 0) {
  const traffic = emptyCounters();
  traffic.framesIn = framesIn;
  traffic.framesOut = framesOut;
  traffic.drops.backlog = drops;
  return cascadeStatus({ traffic, sessions });
}

test('cascade enabled but not online is down, with its last error; disabled is not checked', (t) => {
  const mem = new LinkCheckMemory();
  const err = { message: 'authentication failed (error 9): check user name and password', code: 9, at: '2026-12-03T08:00:00Z' };
  const list: CascadeSnapshot[] = [
    { name: 'hq', enabled: true, status: cascadeStatus({ state: 'waiting', lastError: err, connections: { total: 0, up: 0, down: 0, connecting: 0, granted: 0, requested: 8 } }) },
    { name: 'off', enabled: false, status: cascadeStatus({ state: 'stopped' }) },
    { name: 'ok', enabled: true, status: cascadeStatus() },
  ];
  const f = checkCascades(list, mem, 0, O);
  t.deepEqual(codes(f), ['cascade-down/hq']);
  t.deepEqual(f[0].args, { state: 'waiting', error: err.message });
  const w = WARNABLES.find((x) => x.code === CODES.cascadeDown)!;
  t.is(w.text('hq', f[0].args), `Cascade hq is enabled but not connected: ${err.message}`);
});

test('online with 0 TCP connections is reported as broken (the status type says it cannot happen)', (t) => {
  const mem = new LinkCheckMemory();
  const status = cascadeStatus({ connections: { total: 0, up: 0, down: 0, connecting: 0, granted: 8, requested: 8 } });
  const f = checkCascades([{ name: 'hq', enabled: true, status }], mem, 0, O);
  t.deepEqual(codes(f), ['cascade-online-without-connections/hq']);
  const w = WARNABLES.find((x) => x.code === CODES.cascadeNoConnections)!;
  t.is(w.text('hq', f[0].args), 'Cascade hq reports online with 0 TCP connections: no frame can pass');
  t.true(w.impactsConnectivity);
  t.is(w.severity, 'high');
});

test('online with connections but none for one direction (half-duplex) is broken too', (t) => {
  const status = cascadeStatus({ connections: { total: 3, up: 3, down: 0, connecting: 0, granted: 4, requested: 4 } });
  const f = checkCascades([{ name: 'hq', enabled: true, status }], new LinkCheckMemory(), 0, O);
  t.deepEqual(codes(f), ['cascade-online-without-connections/hq']);
  t.regex(WARNABLES.find((x) => x.code === CODES.cascadeNoConnections)!.text('hq', f[0].args), /none that can receive/);
});

test('below the granted count, and granted below requested, are reported (low severity)', (t) => {
  const mem = new LinkCheckMemory();
  const below = cascadeStatus({ connections: { total: 5, up: 5, down: 5, connecting: 1, granted: 8, requested: 8 } });
  const capped = cascadeStatus({ connections: { total: 4, up: 4, down: 4, connecting: 0, granted: 4, requested: 8 } });
  const f = checkCascades([{ name: 'a', enabled: true, status: below }, { name: 'b', enabled: true, status: capped }], mem, 0, O);
  t.deepEqual(codes(f), ['cascade-below-connections/a', 'cascade-below-connections/b']);
  const w = WARNABLES.find((x) => x.code === CODES.cascadeBelowConnections)!;
  t.is(w.text('a', f[0].args), 'Cascade a has fewer TCP connections than the 8 the server granted');
  t.is(w.text('b', f[1].args), 'Cascade b: the server granted 4 of 8 requested TCP connections');
});

test('no traffic: only after N checks without a frame in either direction; one frame resets; a new session restarts', (t) => {
  const mem = new LinkCheckMemory();
  const o = { ...O, noTrafficChecks: 3 };
  const run = (i: number, out: number, sessions = 1, at = 0) =>
    checkCascades([{ name: 'hq', enabled: true, status: trafficStatus(i, out, sessions) }], mem, at, o);
  t.deepEqual(run(10, 10), []); // first sample: nothing to compare
  t.deepEqual(run(10, 10), []); // 1 still
  t.deepEqual(run(10, 10), []); // 2 still
  t.deepEqual(codes(run(10, 10)), ['cascade-no-traffic/hq']); // 3 still
  t.deepEqual(run(10, 11), [], 'one frame out is movement');
  run(10, 11); run(10, 11);
  t.deepEqual(codes(run(10, 11)), ['cascade-no-traffic/hq']);
  t.deepEqual(run(10, 11, 2), [], 'a new session starts the count afresh');
  run(10, 11, 2); run(10, 11, 2);
  t.deepEqual(codes(run(10, 11, 2)), ['cascade-no-traffic/hq']);
  const f = run(12, 11, 2);
  t.deepEqual(f, [], 'frames in are movement');
});

test('no traffic is not judged while the cascade is not online', (t) => {
  const mem = new LinkCheckMemory();
  const o = { ...O, noTrafficChecks: 1 };
  const waiting = cascadeStatus({ state: 'waiting' });
  checkCascades([{ name: 'hq', enabled: true, status: waiting }], mem, 0, o);
  const f = checkCascades([{ name: 'hq', enabled: true, status: waiting }], mem, 5000, o);
  t.deepEqual(codes(f), ['cascade-down/hq']);
});

test('cascade drops: a rate above the threshold between two checks; counters going back count as 0', (t) => {
  const mem = new LinkCheckMemory();
  const o = { ...O, dropsPerSecondWarn: 50 };
  const run = (drops: number, at: number) =>
    checkCascades([{ name: 'hq', enabled: true, status: trafficStatus(at, at, 1, drops) }], mem, at, o);
  t.deepEqual(run(0, 0), []);
  t.deepEqual(run(250, 5000), [], '50/s is not above 50/s');
  const f = run(1000, 10_000);
  t.deepEqual(codes(f), ['cascade-drops/hq']);
  t.like(f[0].args, { perSecond: 150, threshold: 50, reason: 'backlog' });
  t.deepEqual(run(0, 15_000), [], 'reset counters are not a negative or huge rate');
});

test('bridges: missing, admin down, no carrier, drops; carrier is not reported for a missing NIC', (t) => {
  const mem = new LinkCheckMemory();
  const list = [
    bridge({ device: 'gone', present: false, up: false, carrier: false }),
    bridge({ device: 'admin', up: false, carrier: false }),
    bridge({ device: 'cable', carrier: false }),
    bridge({ device: 'fine' }),
    bridge({ device: 'lossy', drops: 0 }),
  ];
  t.deepEqual(codes(checkBridges(list, mem, 0, O)), ['nic-missing/gone', 'nic-no-carrier/admin', 'nic-no-carrier/cable']);
  list[4] = bridge({ device: 'lossy', drops: 600 });
  const f = checkBridges(list, mem, 5000, O);
  t.deepEqual(codes(f), ['nic-drops/lossy', 'nic-missing/gone', 'nic-no-carrier/admin', 'nic-no-carrier/cable']);
  const w = WARNABLES.find((x) => x.code === CODES.nicNoCarrier)!;
  t.is(w.text('admin', f.find((x) => x.target === 'admin')!.args), 'Interface admin is administratively down');
  t.is(w.text('cable', f.find((x) => x.target === 'cable')!.args), 'Interface cable has no carrier (cable unplugged?)');
});

const TH: Thresholds = { cpuWarnPercent: 90, memoryWarnPercent: 85, diskWarnPercent: 90, temperatureWarnC: 80 };

test('system thresholds, with hysteresis for a raised warning and temperature null meaning none', (t) => {
  const facts = { cpuPercent: 95, memPercent: 86, diskPercent: 91, temperatureC: 81 };
  t.deepEqual(codes(checkSystem(facts, TH, () => false)), ['cpu-high/', 'disk-high/', 'memory-high/', 'temperature-high/']);
  const ok = { cpuPercent: 88, memPercent: 50, diskPercent: 10, temperatureC: null };
  t.deepEqual(checkSystem(ok, TH, () => false), [], 'below every threshold');
  t.deepEqual(codes(checkSystem(ok, TH, (c) => c === CODES.cpuHigh)), ['cpu-high/'], '88 stays raised (clears below 85)');
  t.deepEqual(checkSystem({ ...ok, cpuPercent: 84 }, TH, () => true), []);
});

test('sustained, not one sample: a CPU spike shorter than the time to visible never shows', (t) => {
  const clock = fakeClock();
  const tracker = new HealthTracker({ warnables: WARNABLES, now: clock.now, autoTimer: false });
  const hot = { cpuPercent: 99, memPercent: 10, diskPercent: 10, temperatureC: null };
  const cool = { ...hot, cpuPercent: 10 };
  const sample = (f: typeof hot) => applyFindings(tracker, SYSTEM_CODES, checkSystem(f, TH, (c) => tracker.isUnhealthy(c, '')));
  for (let i = 0; i < 3; i++) (sample(hot), clock.advance(30_000));
  sample(cool); // 90 s of load, then one cool sample
  clock.advance(30_000);
  t.deepEqual(tracker.visible(), []);
  for (let i = 0; i <= 4; i++) (sample(hot), clock.advance(30_000));
  tracker.reevaluate();
  t.deepEqual(tracker.visible().map((v) => v.code), ['cpu-high']);
  t.is(tracker.visible()[0].text, 'CPU load above 90 %');
});

test('clock before the build date, and a jump between checks (held for a while)', (t) => {
  const notBefore = Date.parse('2026-12-01T00:00:00Z');
  const o = { notBefore, jumpToleranceMs: 30_000, jumpHoldMs: 600_000 };
  const mem = new ClockMemory();
  t.deepEqual(codes(checkClock(Date.parse('1970-01-01T00:01:00Z'), 1000, mem, o)), ['clock-before-build/']);
  // NTP steps the clock to the right time 5 s (monotonic) later: a jump of ~57 years, and the clock is now fine.
  const right = Date.parse('2026-12-03T08:00:00Z');
  const f = checkClock(right, 6000, mem, o);
  t.deepEqual(codes(f), ['clock-jump/']);
  t.true((f[0].args.seconds as number) > 1_700_000_000);
  t.deepEqual(codes(checkClock(right + 5000, 11_000, mem, o)), ['clock-jump/'], 'still held');
  t.deepEqual(checkClock(right + 700_000, 706_000, mem, o), [], 'released after the hold');
  t.deepEqual(checkClock(right + 705_000 + 20_000, 711_000 + 20_000 - 5000, mem, o), [], '20 s of drift is within tolerance');
});

test('config writable check', (t) => {
  t.deepEqual(checkConfigWritable(true), []);
  t.deepEqual(codes(checkConfigWritable(false)), ['config-not-writable/']);
  t.deepEqual(checkConfigWritable(new Error('EROFS')).map((f) => f.args.error), ['EROFS']);
});

test('applyFindings clears what is no longer found, including removed targets, and refuses foreign codes', (t) => {
  const tracker = new HealthTracker({ warnables: WARNABLES, autoTimer: false });
  applyFindings(tracker, CASCADE_CODES, [
    { code: CODES.cascadeDown, target: 'a', args: {} },
    { code: CODES.cascadeDown, target: 'b', args: {} },
  ]);
  t.deepEqual(tracker.unhealthyTargets(CODES.cascadeDown).sort(), ['a', 'b']);
  applyFindings(tracker, CASCADE_CODES, [{ code: CODES.cascadeDown, target: 'b', args: {} }]);
  t.deepEqual(tracker.unhealthyTargets(CODES.cascadeDown), ['b']);
  t.throws(() => applyFindings(tracker, CASCADE_CODES, [{ code: CODES.cpuHigh, target: '', args: {} }]), { message: /cpu-high is not one/ });
  t.deepEqual(tracker.unhealthyTargets(CODES.cascadeDown), ['b'], 'a refused batch changes nothing');
});

test('cascade down hides no-traffic for that cascade only', (t) => {
  const tracker = new HealthTracker({ warnables: WARNABLES, autoTimer: false });
  applyFindings(tracker, CASCADE_CODES, [
    { code: CODES.cascadeNoTraffic, target: 'a', args: { seconds: 60 } },
    { code: CODES.cascadeNoTraffic, target: 'b', args: { seconds: 60 } },
    { code: CODES.cascadeDown, target: 'a', args: { state: 'waiting', error: null } },
  ]);
  t.deepEqual(tracker.visible().map((v) => `${v.code}/${v.target}`), ['cascade-no-traffic/b']);
});
