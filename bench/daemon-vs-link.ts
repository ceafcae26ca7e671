// Does the control plane slow the data path? sebridge's daemon (`sebridge run`, configured through its admin
// API), with nobody watching and with the dashboard open in a real browser, against `sebridge link` alone, all
// cascading the same LAN into the same real vpnserver (issue 6). Root only; builds its own namespaces and always
// removes them. Not a test: run `node_modules/.bin/node bench/daemon-vs-link.ts --help`. See bench/README.md.
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { availableParallelism, release } from 'node:os';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { E2E_TOOLS, missingTools, withBenchServer } from './lib/bench-server.ts';
import { failWith, parseList, positiveInt } from './lib/cli-args.ts';
import { formatProfile, profilesIn, summarizeProfile } from './lib/cpuprofile.ts';
import { CHROMIUM } from './lib/dashboard-browser.ts';
import { daemonBridge } from './lib/daemon-bridge.ts';
import { MODES, type Mode } from './lib/modes.ts';
import { runScenario, type ScenarioResult, type Settings } from './lib/scenario.ts';
import { DEFAULT_CLI, NODE, shebangNodeFlags, staleBuildWarning } from './lib/sebridge-process.ts';
import { LOOP_TIMER_MS, LOOP_WINDOW_MS } from './lib/status-sampler.ts';
import { HOST_OFFLOADS_OFF } from './lib/topology.ts';
import { dashboardGoal, formatVariantTables, summarizeVariants, VARIANTS, type Variant } from './lib/variant-report.ts';

const USAGE = `usage: node_modules/.bin/node bench/daemon-vs-link.ts [options]   (as root)
       node_modules/.bin/node bench/daemon-vs-link.ts --from FILE[,FILE...] [--json]   (tables from saved runs)

  --variants LIST      of link,daemon,dashboard (default all three)
  --modes LIST         of tls8,tls1,plain8 (default tls8)
  --repeat N           measure every variant N times, report medians (default 3)
  --run-number N       number of the first run (default 1): with --repeat 1 --save, one short run at a time
                       continues the alternating order of the variants across invocations
  --seconds N          iperf3 measured seconds per direction (default 20: a whole ${LOOP_WINDOW_MS / 1000} s window of
                       the daemon's event-loop histogram must lie inside every load)
  --omit N             iperf3 warm-up seconds not counted (default 1)
  --pings N            pings for the idle latency figures (default 200)
  --ping-interval MS   between pings (default 10)
  --sample-ms MS       read GetSystemStatus every MS during the load too (gives its answer times under load);
                       default 0: one reading after each load only, so nothing but the dashboard (if open) calls
                       the daemon while it carries traffic
  --sebridge-node-flags=FLAGS  extra node options for sebridge (link and daemon alike)
  --profile DIR        run sebridge (link and daemon alike) under node --cpu-prof, write the profiles to DIR
                       and print the top functions of each (the profile covers the process's whole life)
  --save FILE          also write every run's results as JSON to FILE
  --from LIST          no measurement: read runs saved with --save and print the tables over all of them
  --json               machine-readable output on stdout (progress goes to stderr either way)
`;

const CAVEATS = [
  `Event-loop delay is the daemon's own GetSystemStatus.EventLoopDelayP99Us_u32: p99 of perf_hooks.monitorEventLoopDelay with a ${LOOP_TIMER_MS} ms timer over ${LOOP_WINDOW_MS / 1000} s windows. That histogram records the whole interval between timer runs, so an idle loop reads ~${LOOP_TIMER_MS} ms; the delay proper is the "minus the timer" row. Only a window that began and ended inside an iperf3 run counts (by default the one read right after it; --sample-ms: the worst of those seen). The idle row is a window of the connected daemon without traffic.`,
  `"daemon": nothing calls the API during a load (one GetSystemStatus after it); "dashboard" adds a real headless Chromium (${CHROMIUM}) signed in on the dashboard, which polls EnumLinkEx every 2 s, EnumLocalBridgeEx/GetSystemStatus/GetHealth every 5 s and GetTrafficHistory every 10 s, and redraws every 1 s.`,
  `The browser runs on this machine, inside the bridge namespace (the daemon's web UI listens on its loopback), and competes for the same ${availableParallelism()} cores as vpnserver, sebridge and iperf3: on a real appliance it runs on the admin's PC. Its CPU is shown in its own row.`,
  `Offloads ${HOST_OFFLOADS_OFF.join('/')} are switched off at both hosts' veth ends; every variant runs in a freshly started process on a freshly created bridge side; the order of the variants alternates from run to run. Run-to-run noise on this shared machine reaches ±25 % (other engineers' tests run between and beside the runs): read the per-run spread before reading a 5 % difference into the medians.`,
];

const fail = failWith('daemon-vs-link');

interface Saved {
  settings: Settings;
  machine: Record<string, unknown>;
  results: ScenarioResult[];
}

function report(results: ScenarioResult[], variants: readonly Variant[], header: string[], json: boolean, extra: Record<string, unknown>): void {
  const modes = [...new Set(results.map((r) => r.mode))];
  const summaries = summarizeVariants(modes, variants, results);
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...extra, variants, caveats: CAVEATS, summaries, goal: dashboardGoal(summaries), results }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${[...header, formatVariantTables(summaries, variants), '', 'issue 6 goal (dashboard open: throughput within 5 % of `sebridge link` alone):', ...dashboardGoal(summaries).map((l) => `  ${l}`), '', 'caveats:', ...CAVEATS.map((c) => `  - ${c}`)].join('\n')}\n`);
}

async function main(): Promise<void> {
  const { values } = (() => {
    try {
      return parseArgs({
        options: {
          variants: { type: 'string' }, modes: { type: 'string' }, repeat: { type: 'string' }, 'run-number': { type: 'string' },
          seconds: { type: 'string' }, omit: { type: 'string' }, pings: { type: 'string' }, 'ping-interval': { type: 'string' },
          'sample-ms': { type: 'string' }, 'sebridge-node-flags': { type: 'string' }, profile: { type: 'string' }, save: { type: 'string' }, from: { type: 'string' },
          json: { type: 'boolean' }, help: { type: 'boolean' },
        },
        strict: true,
      });
    } catch (e) {
      return fail(`${(e as Error).message}\n${USAGE}`);
    }
  })();
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const variants = parseList<Variant>(fail, '--variants', values.variants, VARIANTS);

  if (values.from !== undefined) {
    const files = values.from.split(',').map((f) => f.trim()).filter(Boolean);
    if (files.length === 0) fail('--from: empty list');
    const results: ScenarioResult[] = [];
    const header: string[] = [];
    for (const f of files) {
      let saved: Saved;
      try {
        saved = JSON.parse(readFileSync(f, 'utf8')) as Saved;
      } catch (e) {
        return fail(`--from: ${f}: ${(e as Error).message}`);
      }
      if (!Array.isArray(saved.results)) fail(`--from: ${f} has no "results" array (not written by --save?)`);
      results.push(...saved.results);
      header.push(`${f}: iperf3 ${saved.settings.seconds} s per direction (+${saved.settings.omit} s warm-up); machine ${JSON.stringify(saved.machine)}`);
    }
    report(results, variants, [`sebridge daemon vs sebridge link, ${files.length} saved invocation(s)`, ...header], values.json ?? false, { files });
    return;
  }

  const settings: Settings = {
    seconds: positiveInt(fail, '--seconds', values.seconds, 20, 600),
    omit: values.omit === '0' ? 0 : positiveInt(fail, '--omit', values.omit, 1, 60),
    pings: positiveInt(fail, '--pings', values.pings, 200, 10_000),
    pingIntervalMs: positiveInt(fail, '--ping-interval', values['ping-interval'], 10, 10_000),
    sebridgeNodeFlags: (values['sebridge-node-flags'] ?? '').split(/\s+/).filter(Boolean),
    ...(values.profile ? { cpuProfileDir: resolve(values.profile) } : {}),
  };
  for (const f of settings.sebridgeNodeFlags) if (!f.startsWith('--')) fail(`--sebridge-node-flags: "${f}" is not a node option`);
  const sampleMs = values['sample-ms'] === '0' ? 0 : positiveInt(fail, '--sample-ms', values['sample-ms'], 0, 10_000);
  const modeIds = parseList(fail, '--modes', values.modes, MODES.map((m) => m.id), ['tls8']);
  const modes: Mode[] = MODES.filter((m) => modeIds.includes(m.id));
  const repeat = positiveInt(fail, '--repeat', values.repeat, 3, 20);
  const firstRun = positiveInt(fail, '--run-number', values['run-number'], 1, 1000);
  if (values.save !== undefined && !existsSync(resolve(values.save, '..'))) fail(`--save: the directory of ${values.save} does not exist`);
  if (process.getuid?.() !== 0) fail('needs root (network and mount namespaces)');
  const missing = missingTools(E2E_TOOLS);
  if (variants.includes('dashboard')) {
    try {
      accessSync(CHROMIUM, constants.X_OK);
    } catch {
      missing.push(`${CHROMIUM} missing: apt-get install chromium`);
    }
    if (!existsSync(new URL('../dist/web/index.html', import.meta.url))) missing.push('dist/web/index.html missing: run `npm run build` (the dashboard variant needs the built web UI)');
  }
  if (missing.length) fail(missing.join('\n'));

  const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  if (sampleMs === 0 && settings.seconds + settings.omit < (2 * LOOP_WINDOW_MS) / 1000) log(`WARNING: a load of ${settings.seconds + settings.omit} s holds no whole ${LOOP_WINDOW_MS / 1000} s window that a reading after it can vouch for: no event-loop figures under load (use --seconds ${2 * LOOP_WINDOW_MS / 1000} or more)`);
  const stale = staleBuildWarning();
  if (stale) log(`WARNING: ${stale}`);
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
  const results: ScenarioResult[] = [];
  await withBenchServer(settings, log, async (ctx) => {
    for (let run = firstRun; run < firstRun + repeat; run++) {
      for (const mode of modes) {
        // Alternate the order, so a drift in machine load does not always favour the same variant.
        const order = run % 2 === 1 ? variants : [...variants].reverse();
        for (const v of order) {
          log(`${v}/${mode.id}#${run}: ${mode.label}`);
          const custom = v === 'link'
            ? undefined
            : daemonBridge({ variant: v, netns: ctx.names.nsBridge, lan: ctx.names.bridgeLan, dir: join(ctx.names.dir, `${v}-${mode.id}-${run}`), mode, samplePeriodMs: sampleMs, nodeFlags: settings.sebridgeNodeFlags, log, ...(settings.cpuProfileDir ? { cpuProfileDir: join(settings.cpuProfileDir, `${v}-${mode.id}-${run}`) } : {}) });
          results.push(await runScenario(ctx, 'sebridge', mode, run, custom));
        }
      }
    }
  });

  const machine = {
    cores: availableParallelism(),
    kernel: release(),
    node: spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim(),
    loadavgBefore: loadBefore,
    loadavgAfter: readFileSync('/proc/loadavg', 'utf8').trim(),
  };
  const profiles: string[] = [];
  for (const r of results) {
    if (!r.ok || !r.cpuProfileDir) continue;
    for (const f of profilesIn(r.cpuProfileDir)) profiles.push(`\n${r.variant ?? 'link'}/${r.mode}#${r.run}: ${formatProfile(summarizeProfile(f))}`);
  }
  if (values.save !== undefined) writeFileSync(values.save, `${JSON.stringify({ settings, machine, results } satisfies Saved, null, 2)}\n`);
  const command = [NODE, ...shebangNodeFlags(DEFAULT_CLI), ...settings.sebridgeNodeFlags, DEFAULT_CLI];
  report(results, variants, [
    `sebridge daemon (sebridge run + admin API; with/without dashboard) vs sebridge link; iperf3 ${settings.seconds} s per direction (+${settings.omit} s warm-up), runs ${firstRun}..${firstRun + repeat - 1}`,
    `sebridge: ${command.join(' ')} link|run ...`,
    `machine: ${machine.cores} cores, kernel ${machine.kernel}, node ${machine.node}, load average before ${machine.loadavgBefore}, after ${machine.loadavgAfter}`,
  ], values.json ?? false, { settings, machine });
  if (!values.json && profiles.length) process.stdout.write(`${profiles.join('\n')}\n`);
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`daemon-vs-link: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
