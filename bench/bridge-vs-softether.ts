// Throughput, latency, CPU and memory of sebridge against Debian's softether-vpnbridge, each cascading a LAN
// into the same real vpnserver (issue 3, "Performance"). Root only; builds its own namespaces and always removes
// them. Not a test: run `node_modules/.bin/node bench/bridge-vs-softether.ts --help`. See bench/README.md.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { availableParallelism, release } from 'node:os';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { E2E_TOOLS, missingTools, withBenchServer } from './lib/bench-server.ts';
import { failWith, parseList, positiveInt } from './lib/cli-args.ts';
import { formatProfile, profilesIn, summarizeProfile, type ProfileSummary } from './lib/cpuprofile.ts';
import { BRIDGE_KINDS, MODES, type BridgeKind, type Mode } from './lib/modes.ts';
import { formatFrameAccounts, formatTable, goalCheck, summarize } from './lib/report.ts';
import { availableCongestionControls, runScenario, type ScenarioResult, type Settings } from './lib/scenario.ts';
import { VPNBRIDGE } from './lib/softether-bridge.ts';
import { HOST_OFFLOADS_OFF } from './lib/topology.ts';
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
  --bridge-cpus LIST   confine both bridges (all their threads) to these CPUs (taskset -c syntax, e.g. 0 or 0,1)
  --server-cpus LIST   what-if: confine vpnserver (all its threads) to these CPUs; with --bridge-cpus and
                       --host-cpus elsewhere the server has a machine of its own, as deployed
  --host-cpus LIST     what-if: confine both iperf3 ends to these CPUs
  --bridge-tcp-rmem "MIN DEF MAX"  what-if: net.ipv4.tcp_rmem in the bridge's namespace (its uplink sockets)
  --bridge-tcp-cc NAME what-if: net.ipv4.tcp_congestion_control in the bridge's namespace (its uplink sockets)
  --host-tcp-cc NAME   what-if: congestion control of host A's and host B's TCP (iperf3's), set on their routes
                       (congctl: not limited to net.ipv4.tcp_allowed_congestion_control), e.g. cubic
  --uplink-rate RATE   what-if: a WAN-like bottleneck between the bridge and the server: tbf at RATE (tc syntax,
                       e.g. 100mbit) with a 5 ms queue on both ends of the uplink; where does the LAN's excess wait?
  --far-lan-rate RATE  what-if: a slow remote LAN: tbf at RATE with a 300 ms queue on vpnserver's bridge interface
                       toward host B, the narrowest point beyond the bridge; does anything keep that queue short?
  --iperf-rate RATE    what-if: iperf3 at a fixed offered load (its -b, e.g. 1500M): losses compared at equal load
  --bridge-cpu-quota PCT  what-if: both bridges get PCT % of one CPU (a CPU cgroup, enforced every 10 ms): a slower router
  --bridge-nice N      what-if: both bridges' threads at this nice level (-20..19)
  --capture DIR        what-if: tcpdump 60 000 packets at host B during every server->LAN run
  --perf DIR           3 s of system-wide perf record in every iperf3 run (perf report -i DIR/PID-AtoB.data --sort comm,dso,sym)
  --server-drops       sample vpnserver's drop points around every iperf3 run (docs/server-send-path.md)
  --lan-tso off        what-if: TSO and transmit checksums off on the bridge's LAN veth before the bridge starts (a
                       NIC without them: the kernel cuts sebridge's super-frames in software, host A gets wire frames)
  --bridge-no-aes      what-if: both bridges' OpenSSL without the CPU's AES instructions (OPENSSL_ia32cap), like a
                       Raspberry Pi 4's Cortex-A72; the server keeps them
  --host-gro           what-if: host A's veth receives with GRO, as a real host's NIC driver does (it then merges the
                       stock bridge's segments too)
  --json               machine-readable output on stdout (progress goes to stderr either way)
`;

const CAVEATS = [
  `Offloads ${HOST_OFFLOADS_OFF.join('/')} are switched OFF at both hosts' veth ends (ethtool -K): with them on, the stock bridge's TCP collapses (super-frames); each bridge handles its own LAN interface itself.`,
  `This machine has ${availableParallelism()} cores, shared by vpnserver, the bridge under test, the iperf3 client and server (and anything else running): the figures are CPU-bound and a bridge that burns less CPU leaves more to the others. Compare ratios, not absolute numbers.`,
  'Server hub: UDP acceleration off (ExtOptionSet DisableUdpAcceleration 1), SecureNAT off, packet and security logs off (also on the vpnbridge hub). QoS at its default except with 1 connection (off on both: the stock cascade needs that for a single connection).',
  'Every bridge/mode runs in a freshly started bridge process on a freshly created LAN veth; peak RSS is that process\'s VmHWM; CPU % is utime+stime of all its threads over the iperf3 run (100 % = one core).',
  'sebridge sends runs of TCP segments toward host A as super-frames and leaves TSO on on its LAN veth (the stock bridge switches it off), so a veth hands them to host A whole: host A (on these same cores) then does less work than for the stock bridge\'s single frames, which a real LAN host would merge itself with GRO (--host-gro gives it that; --lan-tso off makes the kernel cut them on the bridge side instead). Frames lost server->LAN are then counted from the server\'s session counters (--server-drops; without it: not measured), since host A\'s veth counts a super-frame once.',
];

const fail = failWith('bridge-vs-softether');

function checkMachine(): void {
  const missing = missingTools(E2E_TOOLS);
  try {
    accessSync(VPNBRIDGE, constants.X_OK);
  } catch {
    missing.push(`${VPNBRIDGE} missing: apt-get install softether-vpnbridge`);
  }
  if (missing.length) fail(missing.join('\n'));
}

function niceLevel(v: string): number {
  const n = Number(v);
  if (!/^-?\d+$/.test(v) || n < -20 || n > 19) fail(`--bridge-nice: "${v}" is not a nice level from -20 to 19`);
  return n;
}

async function main(): Promise<void> {
  const { values } = (() => {
    try {
      return parseArgs({
        options: {
          seconds: { type: 'string' }, omit: { type: 'string' }, pings: { type: 'string' }, 'ping-interval': { type: 'string' },
          modes: { type: 'string' }, bridges: { type: 'string' }, repeat: { type: 'string' }, profile: { type: 'string' },
          'sebridge-node-flags': { type: 'string' }, 'sebridge-cli': { type: 'string' }, 'bridge-cpus': { type: 'string' }, 'server-cpus': { type: 'string' }, 'host-cpus': { type: 'string' }, 'bridge-tcp-rmem': { type: 'string' }, 'bridge-tcp-cc': { type: 'string' }, 'host-tcp-cc': { type: 'string' }, 'uplink-rate': { type: 'string' }, 'far-lan-rate': { type: 'string' }, 'bridge-cpu-quota': { type: 'string' }, 'iperf-rate': { type: 'string' }, 'server-drops': { type: 'boolean' }, 'bridge-nice': { type: 'string' }, 'lan-tso': { type: 'string' }, 'host-gro': { type: 'boolean' }, 'bridge-no-aes': { type: 'boolean' }, capture: { type: 'string' }, perf: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
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
    seconds: positiveInt(fail, '--seconds', values.seconds, 10, 600),
    omit: values.omit === '0' ? 0 : positiveInt(fail, '--omit', values.omit, 1, 60),
    pings: positiveInt(fail, '--pings', values.pings, 200, 10_000),
    pingIntervalMs: positiveInt(fail, '--ping-interval', values['ping-interval'], 10, 10_000),
    ...(values.profile ? { cpuProfileDir: values.profile } : {}),
    sebridgeNodeFlags: (values['sebridge-node-flags'] ?? '').split(/\s+/).filter(Boolean),
    ...(values['sebridge-cli'] ? { sebridgeCli: resolve(values['sebridge-cli']) } : {}),
    ...(values['bridge-cpus'] ? { bridgeCpus: values['bridge-cpus'] } : {}),
    ...(values['server-cpus'] ? { serverCpus: values['server-cpus'] } : {}),
    ...(values['host-cpus'] ? { hostCpus: values['host-cpus'] } : {}),
    ...(values['bridge-tcp-rmem'] ? { bridgeTcpRmem: values['bridge-tcp-rmem'] } : {}),
    ...(values['bridge-tcp-cc'] ? { bridgeTcpCc: values['bridge-tcp-cc'] } : {}),
    ...(values['host-tcp-cc'] ? { hostTcpCc: values['host-tcp-cc'] } : {}),
    ...(values['iperf-rate'] ? { iperfRate: values['iperf-rate'] } : {}),
    ...(values['uplink-rate'] ? { uplinkRate: values['uplink-rate'] } : {}),
    ...(values['far-lan-rate'] ? { farLanRate: values['far-lan-rate'] } : {}),
    ...(values['bridge-cpu-quota'] !== undefined ? { bridgeCpuQuota: Number(values['bridge-cpu-quota']) } : {}),
    ...(values['server-drops'] ? { serverDrops: true } : {}),
    ...(values['lan-tso'] !== undefined ? { lanTsoOff: values['lan-tso'] === 'off' } : {}),
    ...(values['host-gro'] ? { hostGro: true } : {}),
    ...(values['bridge-no-aes'] ? { bridgeNoAes: true } : {}),
    ...(values.capture ? { captureDir: resolve(values.capture) } : {}),
    ...(values.perf ? { perfDir: resolve(values.perf) } : {}),
    ...(values['bridge-nice'] !== undefined ? { bridgeNice: niceLevel(values['bridge-nice']) } : {}),
  };
  if (values['lan-tso'] !== undefined && values['lan-tso'] !== 'off') fail(`--lan-tso: only "off" is a what-if (the LAN veth starts with TSO on), got "${values['lan-tso']}"`);
  if (settings.iperfRate && !/^\d+[KMG]?$/.test(settings.iperfRate)) fail(`--iperf-rate: "${settings.iperfRate}" is not a rate like 1500M`);
  if (settings.bridgeCpuQuota !== undefined && !(Number.isInteger(settings.bridgeCpuQuota) && settings.bridgeCpuQuota >= 5 && settings.bridgeCpuQuota <= 400)) fail(`--bridge-cpu-quota: "${values['bridge-cpu-quota']}" is not a whole percentage from 5 to 400`);
  for (const [flag, rate] of [['--uplink-rate', settings.uplinkRate], ['--far-lan-rate', settings.farLanRate]] as const) {
    if (rate && !/^\d+(\.\d+)?[kmg]bit$/.test(rate)) fail(`${flag}: "${rate}" is not a rate like 100mbit`);
  }
  if (settings.hostTcpCc && !availableCongestionControls().includes(settings.hostTcpCc)) fail(`--host-tcp-cc: "${settings.hostTcpCc}" is not one of this kernel's ${availableCongestionControls().join(', ')}`);
  if (settings.bridgeTcpRmem && !/^\d+ \d+ \d+$/.test(settings.bridgeTcpRmem)) fail(`--bridge-tcp-rmem: "${settings.bridgeTcpRmem}" is not "MIN DEFAULT MAX" in bytes`);
  for (const [flag, list] of [['--bridge-cpus', settings.bridgeCpus], ['--server-cpus', settings.serverCpus], ['--host-cpus', settings.hostCpus]] as const) {
    if (list && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(list)) fail(`${flag}: "${list}" is not a CPU list like 0 or 0,1`);
  }
  if (settings.bridgeNoAes && process.arch !== 'x64') fail('--bridge-no-aes: OPENSSL_ia32cap exists only on x86-64');
  if (settings.sebridgeCli && !existsSync(settings.sebridgeCli)) fail(`--sebridge-cli: ${settings.sebridgeCli} does not exist`);
  for (const f of settings.sebridgeNodeFlags) if (!f.startsWith('--')) fail(`--sebridge-node-flags: "${f}" is not a node option`);
  const modeIds = parseList(fail, '--modes', values.modes, MODES.map((m) => m.id));
  const modes: Mode[] = MODES.filter((m) => modeIds.includes(m.id));
  const bridges = parseList<BridgeKind>(fail, '--bridges', values.bridges, BRIDGE_KINDS);
  const repeat = positiveInt(fail, '--repeat', values.repeat, 1, 20);
  if (process.getuid?.() !== 0) fail('needs root (network and mount namespaces)');
  checkMachine();

  const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  const stale = bridges.includes('sebridge') && !settings.sebridgeCli ? staleBuildWarning() : undefined;
  if (stale) log(`WARNING: ${stale}`);
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
  const results: ScenarioResult[] = [];
  await withBenchServer(settings, log, async (ctx) => {
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
  });

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
