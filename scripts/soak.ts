/**
 * Soak run (not part of the suite): `sebridge link --bridge` in the end-to-end topology of test/bridge
 * (nsA ─ sebridge ═ real vpnserver ─ its local bridge ─ nsB) under continuous iperf3 traffic, the server killed
 * and restarted every few minutes. Samples the sebridge process from outside (/proc: RSS, anonymous RSS, open file
 * descriptors, sockets) and from inside (scripts/soak-probe.mjs, preloaded: active handles by type, i.e. timers and
 * sockets, V8 heap), prints the curve and checks at the same point of every cycle (just before each restart:
 * online, traffic running) that nothing grows: each cycle's median RSS within 8 MiB of the first cycle's, the same number of file
 * descriptors, sockets and timers; and that iperf3 traffic came back in every cycle.
 *
 *   flock /tmp/sebridge-heavy.lock node scripts/soak.ts [--minutes 30] [--restart-every 5] [--sample 10] [--mbit N]
 *
 * Root, the Debian softether-vpnserver and iperf3 needed (as for test/bridge). Builds nothing: run `npm run build`
 * first (the sebridge command runs from dist/).
 */
import { parseArgs } from 'node:util';
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildE2e } from '../test/bridge/e2e-topology.ts';
import { SebridgeProcess } from '../test/bridge/sebridge-process.ts';
import { iperfClient, startIperfServer } from '../test/bridge/iperf.ts';
import { sleep } from '../test/bridge/lab.ts';

const { values } = parseArgs({
  options: { minutes: { type: 'string' }, 'restart-every': { type: 'string' }, sample: { type: 'string' }, mbit: { type: 'string' } },
});
const num = (flag: string, v: string | undefined, dflt: number, min: number, max: number) => {
  const n = v === undefined ? dflt : Number(v);
  if (!(n >= min && n <= max)) throw new Error(`--${flag}: must be a number from ${min} to ${max}, got ${v}`);
  return n;
};
const minutes = num('minutes', values.minutes, 30, 0.5, 240);
const restartEveryMin = num('restart-every', values['restart-every'], 5, 0.25, 60);
const sampleS = num('sample', values.sample, 10, 1, 300);
// 0 = as fast as it goes; a cap lets the soak share a machine without starving it (leaks do not need full speed)
const mbit = num('mbit', values.mbit, 0, 0, 100_000);

interface Sample {
  t: number;
  phase: string;
  rssMiB: number;
  anonMiB: number;
  fds: number;
  sockets: number;
  timers: number;
  handles: Record<string, number>;
  heapMiB: number;
}

function procSample(pid: number): { rssMiB: number; anonMiB: number; fds: number; sockets: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  let fds = 0;
  let sockets = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    fds++;
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      /* closed meanwhile */
    }
  }
  return { rssMiB: kb('VmRSS') / 1024, anonMiB: kb('RssAnon') / 1024, fds, sockets };
}

const probeFile = join(tmpdir(), `sebridge-soak-probe-${process.pid}.jsonl`);
rmSync(probeFile, { force: true });
function lastProbe(): { resources: Record<string, number>; heapUsed: number } | null {
  try {
    const lines = readFileSync(probeFile, 'utf8').trim().split('\n');
    return JSON.parse(lines.at(-1)!);
  } catch {
    return null;
  }
}

const e2e = await buildE2e();
const samples: Sample[] = [];
let iperfRuns = 0;
let iperfFailures = 0;
/** Why iperf3 runs failed (first line of the error), with counts: a run cut by a restart is expected, others not. */
const iperfErrors = new Map<string, number>();
let iperfMbit = 0;
let stopTraffic = false;
/** Successful iperf3 runs since the last restart, and per finished cycle: traffic must come back after each. */
let runsThisCycle = 0;
const runsPerCycle: number[] = [];
let sebridge: SebridgeProcess | undefined;
let verdict = 'not reached';
try {
  const port = 5201;
  // The server keeps its configuration in memory and writes it only now and then: save the local bridge (made by
  // vpncmd) now, or a SIGKILL would take it along and nsB would be cut off after the first restart.
  await e2e.server.flush();
  let iperfServer = await startIperfServer(e2e.lab, e2e.nsB, e2e.b.v4, port);
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import=${new URL('./soak-probe.mjs', import.meta.url).pathname}`.trim();
  process.env.SOAK_PROBE_FILE = probeFile;
  process.env.SOAK_PROBE_MS = String(Math.max(1000, (sampleS * 1000) / 2));
  sebridge = new SebridgeProcess(e2e.lab, {
    server: e2e.serverAddress,
    hub: e2e.hub,
    user: e2e.user,
    password: e2e.password,
    bridge: e2e.rootDev,
    extra: ['--status-interval', '60'],
  });
  await sebridge.waitForLine(/state=online connections=8\/8/, 60_000);
  const pid = sebridge.pid;
  const t0 = Date.now();
  const take = (phase: string) => {
    const p = procSample(pid);
    const probe = lastProbe();
    const handles = probe?.resources ?? {};
    const s: Sample = { t: (Date.now() - t0) / 1000, phase, ...p, timers: handles.Timeout ?? 0, handles, heapMiB: (probe?.heapUsed ?? NaN) / 1048576 };
    samples.push(s);
    console.log(
      `${s.t.toFixed(0).padStart(5)} s ${phase.padEnd(14)} RSS ${s.rssMiB.toFixed(1)} MiB (anon ${s.anonMiB.toFixed(1)}), fds ${s.fds}, sockets ${s.sockets}, ` +
        `timers ${s.timers}, heap ${s.heapMiB.toFixed(1)} MiB, handles ${JSON.stringify(handles)}`,
    );
  };

  // Traffic: back-to-back 10 s iperf3 runs, alternating directions; runs cut by a restart count as failures.
  const traffic = (async () => {
    for (let i = 0; !stopTraffic; i++) {
      try {
        const r = await iperfClient(e2e.nsA, e2e.b.v4, port, 10, i % 2 === 1, mbit || undefined);
        iperfRuns++;
        iperfMbit += r.mbps;
        runsThisCycle++;
      } catch (e) {
        iperfFailures++;
        const why = `${(e as Error).message.split('\n')[0]}`.slice(0, 120);
        iperfErrors.set(why, (iperfErrors.get(why) ?? 0) + 1);
        // An iperf3 server whose client vanished mid-run can stay "busy" for long: start a fresh one.
        iperfServer.stop();
        await sleep(1000);
        try {
          iperfServer = await startIperfServer(e2e.lab, e2e.nsB, e2e.b.v4, port);
        } catch {
          await sleep(1000);
        }
      }
    }
  })();

  const endAt = t0 + minutes * 60_000;
  let nextRestart = t0 + restartEveryMin * 60_000;
  let nextSample = t0;
  let restarts = 0;
  while (Date.now() < endAt) {
    if (Date.now() >= nextSample) {
      take('traffic');
      nextSample += sampleS * 1000;
    }
    if (Date.now() >= nextRestart && nextRestart < endAt) {
      await sleep(1000); // let the probe file catch up with this cycle
      take('before-restart');
      runsPerCycle.push(runsThisCycle);
      runsThisCycle = 0;
      const from = sebridge.lines.length;
      e2e.server.signal('SIGKILL');
      await e2e.server.restart();
      restarts++;
      await sebridge.waitForLine(/state=online connections=8\/8/, 90_000, from);
      take(`restart ${restarts} ok`);
      nextRestart += restartEveryMin * 60_000;
    }
    await sleep(500);
  }
  await sleep(1000);
  take('before-restart'); // the end of the last cycle counts like the others
  runsPerCycle.push(runsThisCycle);
  stopTraffic = true;
  await traffic;
  iperfServer.stop();

  const points = samples.filter((s) => s.phase === 'before-restart');
  const first = points[0]!;
  const problems: string[] = [];
  // RSS: one sample moves by up to ~8 MiB within a cycle under traffic (buffers in flight, GC timing), so single
  // samples cannot tell a leak from noise. Compare each cycle's median of its traffic samples (from 30 s after
  // the cycle's start) with the first cycle's: a leak shows as medians that keep climbing.
  const cycleMs = restartEveryMin * 60;
  const medians: number[] = [];
  for (let c = 0; c * cycleMs < minutes * 60; c++) {
    const xs = samples.filter((x) => x.phase === 'traffic' && x.t >= c * cycleMs + 30 && x.t < (c + 1) * cycleMs).map((x) => x.rssMiB).sort((a, b) => a - b);
    if (xs.length > 0) medians.push(xs[Math.floor(xs.length / 2)]!);
  }
  medians.forEach((m, i) => {
    if (i > 0 && m - medians[0]! > 8) problems.push(`RSS median of cycle ${i + 1} ${m.toFixed(1)} MiB, first cycle ${medians[0]!.toFixed(1)} MiB`);
  });
  for (const p of points.slice(1)) {
    if (p.fds !== first.fds) problems.push(`file descriptors ${first.fds} -> ${p.fds} at ${p.t.toFixed(0)} s`);
    if (p.sockets !== first.sockets) problems.push(`sockets ${first.sockets} -> ${p.sockets} at ${p.t.toFixed(0)} s`);
    if (p.timers !== first.timers) problems.push(`timers ${first.timers} -> ${p.timers} at ${p.t.toFixed(0)} s`);
  }
  runsPerCycle.forEach((n, i) => {
    if (n === 0) problems.push(`no iperf3 run completed in cycle ${i + 1}: traffic did not come back`);
  });
  const exit = await sebridge.stop('SIGTERM', 10_000);
  if (exit.code !== 0) problems.push(`sebridge exited with ${JSON.stringify(exit)} on SIGTERM`);
  const peak = Math.max(...samples.map((s) => s.rssMiB));
  verdict = problems.length === 0 ? 'PASS' : `FAIL: ${problems.join('; ')}`;
  console.log(
    JSON.stringify(
      {
        minutes,
        restarts,
        restartEveryMin,
        iperf: { runs: iperfRuns, failedOrCut: iperfFailures, avgMbit: iperfRuns ? +(iperfMbit / iperfRuns).toFixed(1) : 0, errors: Object.fromEntries(iperfErrors), runsPerCycle },
        rssMiB: { first: +first.rssMiB.toFixed(1), peak: +peak.toFixed(1), last: +points.at(-1)!.rssMiB.toFixed(1), cycleMedians: medians.map((m) => +m.toFixed(1)) },
        beforeEachRestart: points.map((p) => ({ t: Math.round(p.t), rssMiB: +p.rssMiB.toFixed(1), anonMiB: +p.anonMiB.toFixed(1), fds: p.fds, sockets: p.sockets, timers: p.timers })),
        stopMs: Math.round(exit.ms),
        verdict,
      },
      null,
      2,
    ),
  );
} finally {
  stopTraffic = true;
  if (sebridge?.running) await sebridge.stop('SIGKILL');
  await e2e.teardown();
  rmSync(probeFile, { force: true });
}
process.exitCode = verdict === 'PASS' ? 0 : 1;
