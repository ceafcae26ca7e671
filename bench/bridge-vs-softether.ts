// Throughput, latency, CPU and memory of sebridge against Debian's softether-vpnbridge, each cascading a LAN
// into the same real vpnserver (issue 3, "Performance"). Root only; builds its own namespaces and always removes
// them. Not a test: run `node_modules/.bin/node bench/bridge-vs-softether.ts --help`. See bench/README.md.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { availableParallelism, release } from 'node:os';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { startServer, serverCapability, type SoftEtherServer } from '../test/harness/softether-server.ts';
import { protect } from '../test/harness/safety-net.ts';
import { csvRecords } from '../test/harness/csv.ts';
import { BenchError, type LongChild } from './lib/child.ts';
import { formatProfile, profilesIn, summarizeProfile, type ProfileSummary } from './lib/cpuprofile.ts';
import { startIperfServer } from './lib/iperf.ts';
import { BRIDGE_KINDS, MODES, type BridgeKind, type CascadeTarget, type Mode } from './lib/modes.ts';
import { benchNames } from './lib/names.ts';
import { formatFrameAccounts, formatTable, goalCheck, summarize } from './lib/report.ts';
import { runScenario, type Context, type ScenarioResult, type Settings } from './lib/scenario.ts';
import { VPNBRIDGE } from './lib/softether-bridge.ts';
import { buildServerSide, claimToken, HOST_OFFLOADS_OFF, pickAddresses, removeAll, sweepStaleRuns } from './lib/topology.ts';
import { DEFAULT_CLI, NODE, shebangNodeFlags, staleBuildWarning } from './lib/sebridge-process.ts';

const USAGE = `usage: node_modules/.bin/node bench/bridge-vs-softether.ts [options]   (as root)

  --seconds N          iperf3 measured seconds per direction (default 10)
  --omit N             iperf3 warm-up seconds not counted (default 1)
  --pings N            pings for the latency figures (default 200)
  --ping-interval MS   between pings (default 10)
  --modes LIST         of tls8,tls1,plain8 (default all)
  --bridges LIST       of softether,sebridge (default both)
  --repeat N           measure every bridge/mode N times, report medians (default 1)
  --profile DIR        run sebridge under node --cpu-prof, write profiles to DIR and summarize them
  --sebridge-node-flags=FLAGS  extra node options for the sebridge process (e.g. "--sebridge-node-flags=--max-semi-space-size=2")
  --sebridge-cli=PATH  run this entry script instead of bin/sebridge.js (e.g. a compiled JavaScript build)
  --json               machine-readable output on stdout (progress goes to stderr either way)
`;

const CAVEATS = [
  `Offloads ${HOST_OFFLOADS_OFF.join('/')} are switched OFF at both hosts' veth ends (ethtool -K): with them on, the stock bridge's TCP collapses (super-frames); each bridge handles its own LAN interface itself.`,
  `This machine has ${availableParallelism()} cores, shared by vpnserver, the bridge under test, the iperf3 client and server (and anything else running): the figures are CPU-bound and a bridge that burns less CPU leaves more to the others. Compare ratios, not absolute numbers.`,
  'Server hub: UDP acceleration off (ExtOptionSet DisableUdpAcceleration 1), SecureNAT off, packet and security logs off (also on the vpnbridge hub). QoS at its default except with 1 connection (off on both: the stock cascade needs that for a single connection).',
  'Every bridge/mode runs in a freshly started bridge process on a freshly created LAN veth; peak RSS is that process\'s VmHWM; CPU % is utime+stime of all its threads over the iperf3 run (100 % = one core).',
];

function fail(msg: string): never {
  process.stderr.write(`bridge-vs-softether: ${msg}\n`);
  process.exit(2);
}

function parseList<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T[] {
  if (value === undefined) return [...allowed];
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const i of items) if (!allowed.includes(i as T)) fail(`${flag}: "${i}" is not one of ${allowed.join(', ')}`);
  if (items.length === 0) fail(`${flag}: empty list`);
  return items as T[];
}

function positiveInt(flag: string, value: string | undefined, def: number, max: number): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) fail(`${flag}: must be a whole number from 1 to ${max}`);
  return n;
}

function checkMachine(): void {
  const cap = serverCapability();
  if (!cap.ok) fail(`cannot run the SoftEther server here: ${cap.reason}`);
  try {
    accessSync(VPNBRIDGE, constants.X_OK);
  } catch {
    fail(`${VPNBRIDGE} missing: apt-get install softether-vpnbridge`);
  }
  for (const [tool, pkg] of [['iperf3', 'iperf3'], ['ping', 'iputils-ping'], ['ethtool', 'ethtool'], ['getconf', 'libc-bin']] as const) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
    if (r.status !== 0) fail(`${tool} missing: apt-get install ${pkg}`);
  }
}

async function waitLocalBridge(server: SoftEtherServer, device: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const rows = csvRecords(await server.vpncmdCsv('BridgeList'));
    const row = rows.find((r) => Object.values(r).includes(device));
    if (row && Object.values(row).some((v) => /Operating/i.test(v))) return;
    if (Date.now() > deadline) throw new BenchError(`server's local bridge on ${device} not operating`, JSON.stringify(rows));
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  const { values } = (() => {
    try {
      return parseArgs({
        options: {
          seconds: { type: 'string' }, omit: { type: 'string' }, pings: { type: 'string' }, 'ping-interval': { type: 'string' },
          modes: { type: 'string' }, bridges: { type: 'string' }, repeat: { type: 'string' }, profile: { type: 'string' },
          'sebridge-node-flags': { type: 'string' }, 'sebridge-cli': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
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
  const settings: Settings = {
    seconds: positiveInt('--seconds', values.seconds, 10, 600),
    omit: values.omit === '0' ? 0 : positiveInt('--omit', values.omit, 1, 60),
    pings: positiveInt('--pings', values.pings, 200, 10_000),
    pingIntervalMs: positiveInt('--ping-interval', values['ping-interval'], 10, 10_000),
    ...(values.profile ? { cpuProfileDir: values.profile } : {}),
    sebridgeNodeFlags: (values['sebridge-node-flags'] ?? '').split(/\s+/).filter(Boolean),
    ...(values['sebridge-cli'] ? { sebridgeCli: resolve(values['sebridge-cli']) } : {}),
  };
  if (settings.sebridgeCli && !existsSync(settings.sebridgeCli)) fail(`--sebridge-cli: ${settings.sebridgeCli} does not exist`);
  for (const f of settings.sebridgeNodeFlags) if (!f.startsWith('--')) fail(`--sebridge-node-flags: "${f}" is not a node option`);
  const modeIds = parseList('--modes', values.modes, MODES.map((m) => m.id));
  const modes: Mode[] = MODES.filter((m) => modeIds.includes(m.id));
  const bridges = parseList<BridgeKind>('--bridges', values.bridges, BRIDGE_KINDS);
  const repeat = positiveInt('--repeat', values.repeat, 1, 20);
  if (process.getuid?.() !== 0) fail('needs root (network and mount namespaces)');
  checkMachine();

  const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  for (const s of sweepStaleRuns()) log(`removed leftovers of a dead run: ${s}`);
  const stale = bridges.includes('sebridge') && !settings.sebridgeCli ? staleBuildWarning() : undefined;
  if (stale) log(`WARNING: ${stale}`);
  const names = benchNames();
  claimToken(names);
  let server: SoftEtherServer | undefined;
  let iperfServer: LongChild | undefined;
  const unprotect = protect(() => {
    iperfServer?.killNow();
    removeAll(names, server?.netns);
  });
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
  const results: ScenarioResult[] = [];
  try {
    log(`run ${names.token}: starting vpnserver`);
    server = await startServer();
    const target: CascadeTarget = { host: '', port: server.port, hub: 'BENCH', user: 'bench', password: randomBytes(12).toString('hex') };
    await server.createHub(target.hub);
    await server.createPasswordUser(target.hub, target.user, target.password);
    const addr = await pickAddresses(server.host);
    await buildServerSide(names, server.netns, addr);
    await server.vpncmd('BridgeCreate', [target.hub, `/DEVICE:${names.serverLan}`, '/TAP:no']);
    await waitLocalBridge(server, names.serverLan);
    iperfServer = await startIperfServer(names.nsB, addr.hosts.server);
    log(`hosts ${addr.hosts.client} (A, behind the bridge) and ${addr.hosts.server} (B, behind the server); uplink ${addr.uplink.client} -> ${addr.uplink.server}:${server.port}`);
    const ctx: Context = { server, names, addr, target, settings, log };
    for (let run = 1; run <= repeat; run++) {
      for (const mode of modes) {
        // Alternate who goes first, so a drift in machine load does not always favour the same bridge.
        const order = run % 2 === 1 ? bridges : [...bridges].reverse();
        for (const kind of order) {
          log(`${kind}/${mode.id}#${run}: ${mode.label}`);
          results.push(await runScenario(ctx, kind, mode, run));
        }
      }
    }
  } finally {
    await iperfServer?.stop(3000).catch(() => iperfServer?.killNow());
    const problems = removeAll(names, server?.netns);
    for (const p of problems) log(`teardown: ${p}`);
    await server?.stop().catch((e) => log(`stopping vpnserver: ${(e as Error).message}`));
    unprotect();
  }

  const summaries = summarize(modes, results);
  const profiles: ProfileSummary[] = [];
  for (const r of results) if (r.ok && r.cpuProfileDir) for (const f of profilesIn(r.cpuProfileDir)) profiles.push(summarizeProfile(f));
  const machine = {
    cores: availableParallelism(),
    kernel: release(),
    node: spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim(),
    loadavgBefore: loadBefore,
    loadavgAfter: readFileSync('/proc/loadavg', 'utf8').trim(),
  };
  if (values.json) {
    const sebridgeCommand = [NODE, ...shebangNodeFlags(settings.sebridgeCli ?? DEFAULT_CLI), ...settings.sebridgeNodeFlags, settings.sebridgeCli ?? DEFAULT_CLI];
    process.stdout.write(`${JSON.stringify({ settings, sebridgeCommand, modes, bridges, repeat, machine, caveats: CAVEATS, summaries, goal: goalCheck(summaries), results, profiles }, null, 2)}\n`);
  } else {
    const out = [
      `sebridge vs SoftEther VPN Bridge (Debian softether-vpnbridge) through the same vpnserver; iperf3 ${settings.seconds} s per direction (+${settings.omit} s warm-up), ${settings.pings} pings every ${settings.pingIntervalMs} ms; ratio = sebridge / SoftEther`,
      `sebridge: ${[NODE, ...shebangNodeFlags(settings.sebridgeCli ?? DEFAULT_CLI), ...settings.sebridgeNodeFlags, settings.sebridgeCli ?? DEFAULT_CLI].join(' ')} link ...`,
      `machine: ${machine.cores} cores, kernel ${machine.kernel}, node ${machine.node}, load average before ${machine.loadavgBefore}, after ${machine.loadavgAfter}`,
      formatTable(summaries),
      ...(() => {
        const acc = formatFrameAccounts(results);
        return acc.length ? ['', 'sebridge frame accounting (its own counters vs its LAN veth, whole run incl. ping):', ...acc.map((l) => `  ${l}`)] : [];
      })(),
      '',
      'goal (>= 1.2x throughput both ways, <= 64 MiB peak RSS):',
      ...goalCheck(summaries).map((l) => `  ${l}`),
      '',
      'caveats:',
      ...CAVEATS.map((c) => `  - ${c}`),
      ...profiles.map((p) => `\n${formatProfile(p)}`),
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  }
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`bridge-vs-softether: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
