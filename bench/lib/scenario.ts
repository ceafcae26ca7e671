import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../test/harness/run-command.ts';
import type { SoftEtherServer } from '../../test/harness/softether-server.ts';
import { BenchError, pinThreads, type LongChild } from './child.ts';
import { runIperf, type IperfResult } from './iperf.ts';
import type { BridgeKind, CascadeTarget, Mode } from './modes.ts';
import { pingLatency, waitReachable, type PingResult } from './ping.ts';
import { describePingSplit, startPingSplit, type PingSplit } from './ping-split.ts';
import { CpuWindow, processMemory } from './proc-stats.ts';
import { linkCounters, tunnelLoss, type LinkCounters } from './link-stats.ts';
import { serverDropDelta, serverDropSnapshot } from './server-drops.ts';
import { isSebridge, startSebridge } from './sebridge-process.ts';
import { startSoftEtherBridge, stopSoftEtherBridge, type SoftEtherBridge } from './softether-bridge.ts';
import { buildBridgeSide, removeBridgeSide, type Addresses } from './topology.ts';
import { PREFIX, type BenchNames } from './names.ts';
import { NO_AES_IA32CAP } from '../../test/harness/cpu-features.ts';

/** A 60 000-packet tcpdump of host B's veth (both ways, headers only), 3 s into the run, then `perf sched record`. */
async function startCapture(ctx: Context, bridgePid: number): Promise<void> {
  await new Promise((r) => setTimeout(r, 3000));
  mkdirSync(ctx.settings.captureDir!, { recursive: true });
  const file = join(ctx.settings.captureDir!, `hostB-${bridgePid}.pcap`);
  // Not spawnSync: the load pings and iperf3's output are read on this event loop meanwhile.
  await runCommand(['ip', 'netns', 'exec', ctx.names.nsB, 'tcpdump', '-q', '-i', ctx.names.hostB, '-s', '96', '-c', '60000', '-w', file, 'tcp'], { timeoutMs: 10_000 });
  // and one second of scheduler events (perf sched latency -i FILE: who waited how long for a CPU)
  await runCommand(['perf', 'sched', 'record', '-a', '-o', file.replace(/\.pcap$/, '.sched'), '--', 'sleep', '1'], { timeoutMs: 10_000 });
}

/**
 * 3 s of `perf record` on all CPUs, 3 s into an iperf3 run: who (vpnserver's threads, the bridge, iperf3, the kernel)
 * spends the two cores on what (`perf report -i FILE --sort comm,dso,sym`); then 1 s of context switches (FILE.sched).
 */
async function startPerf(ctx: Context, bridgePid: number, reverse: boolean): Promise<void> {
  await new Promise((r) => setTimeout(r, 3000));
  mkdirSync(ctx.settings.perfDir!, { recursive: true });
  const file = join(ctx.settings.perfDir!, `${bridgePid}-${reverse ? 'BtoA' : 'AtoB'}.data`);
  await runCommand(['perf', 'record', '-q', '-a', '-F', '999', '-o', file, '--', 'sleep', '3'], { timeoutMs: 20_000 });
  // and one second of context switches (perf script -i FILE.sched: who preempts whom, how often)
  await runCommand(['perf', 'record', '-q', '-a', '-e', 'sched:sched_switch', '-o', file.replace(/\.data$/, '.sched'), '--', 'sleep', '1'], { timeoutMs: 20_000 });
}

/** A sysctl in one namespace (what-ifs for the bridge's uplink sockets). */
function sysctlIn(ns: string, key: string, value: string): void {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=${value}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new BenchError(`sysctl ${key} in ${ns}: ${r.stderr.trim()}`);
}

/** The congestion controls this kernel has (a route's congctl may name any of them). */
export function availableCongestionControls(): string[] {
  return readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8').trim().split(/\s+/);
}

/**
 * Every IPv4 route through `dev` in `ns` with congestion control `cc`. A route's congctl, unlike the namespace's
 * sysctl, is not limited to net.ipv4.tcp_allowed_congestion_control (reno and bbr on this machine).
 */
function routeCongestionControl(ns: string, dev: string, cc: string): void {
  const list = spawnSync('ip', ['-n', ns, '-o', '-4', 'route', 'show', 'dev', dev], { encoding: 'utf8' });
  const routes = list.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  if (list.status !== 0 || routes.length === 0) throw new BenchError(`no IPv4 route through ${dev} in ${ns}: ${list.stderr.trim()}`);
  for (const route of routes) {
    const words = route.replace(/\s+congctl\s+\S+/, '').split(/\s+/);
    const r = spawnSync('ip', ['-n', ns, 'route', 'change', ...words, 'dev', dev, 'congctl', cc], { encoding: 'utf8' });
    if (r.status !== 0) throw new BenchError(`congctl ${cc} on "${route}" in ${ns}: ${r.stderr.trim()}`);
  }
}

/**
 * A token bucket at `rate` on dev's egress with a 5 ms queue (a WAN link with a well-sized buffer): the uplink, not
 * the server, is then the narrowest point, and what the LAN sends beyond it waits in (or is dropped by) the bridge.
 * The qdisc goes with the veth when the bridge side is torn down.
 */
function uplinkBottleneck(ns: string, dev: string, rate: string, queue = '5ms'): void {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', rate, 'burst', '64kb', 'latency', queue], { encoding: 'utf8' });
  if (r.status !== 0) throw new BenchError(`tbf ${rate} on ${dev} in ${ns}: ${r.stderr.trim()}`);
}

/**
 * A CPU cgroup that gives pid (all its threads) `percent` of one CPU, enforced every 10 ms (a short period, so the
 * throttled pauses stay short as on a slower CPU, not 100 ms stalls). Returns the cgroup's directory, for rmdir
 * once the process has ended. cgroup v1's cpu controller or v2's cpu.max, whichever this machine has.
 */
function limitCpu(pid: number, percent: number, token: string): string {
  const period = 10_000;
  const quota = Math.round((period * percent) / 100);
  const v1 = '/sys/fs/cgroup/cpu';
  const v2 = '/sys/fs/cgroup';
  try {
    if (existsSync(`${v1}/cpu.cfs_quota_us`)) {
      const dir = `${v1}/${PREFIX}${token}`;
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/cpu.cfs_period_us`, String(period));
      writeFileSync(`${dir}/cpu.cfs_quota_us`, String(quota));
      writeFileSync(`${dir}/cgroup.procs`, String(pid));
      return dir;
    }
    const dir = `${v2}/${PREFIX}${token}`;
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/cpu.max`, `${quota} ${period}`);
    writeFileSync(`${dir}/cgroup.procs`, String(pid));
    return dir;
  } catch (e) {
    throw new BenchError(`CPU quota ${percent} % for PID ${pid}: ${(e as Error).message}`);
  }
}

/** Every thread of pid at nice level `nice` (setpriority is per thread on Linux). */
function reniceThreads(pid: number, nice: number): void {
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const r = spawnSync('renice', ['-n', String(nice), '-p', tid], { encoding: 'utf8' });
    if (r.status !== 0) throw new BenchError(`renice ${nice} ${tid}: ${(r.stderr || r.error?.message || '').trim()}`);
  }
}

export interface Settings {
  seconds: number;
  omit: number;
  pings: number;
  pingIntervalMs: number;
  /** sebridge runs write a V8 CPU profile here (one subdirectory per run) */
  cpuProfileDir?: string;
  /** extra node options for the sebridge process (what-if runs: GC sizing and the like) */
  sebridgeNodeFlags: string[];
  /** entry script for sebridge instead of bin/sebridge.js */
  sebridgeCli?: string;
  /** CPU list (taskset -c syntax) both bridges' threads are confined to, e.g. "0" for one core */
  bridgeCpus?: string;
  /** what-if: CPU list vpnserver's threads are confined to (with bridgeCpus and hostCpus elsewhere: the server on
   *  a machine of its own, as deployed) */
  serverCpus?: string;
  /** what-if: CPU list both iperf3 ends (hosts A and B) are confined to */
  hostCpus?: string;
  /** what-if: nice level for both bridges' threads (how much the server's threads suffer from sharing the CPUs) */
  bridgeNice?: number;
  /** what-if: net.ipv4.tcp_rmem ("min default max") in the bridge's namespace (its uplink TCP sockets only) */
  bridgeTcpRmem?: string;
  /** what-if: iperf3 at this fixed rate (its -b, e.g. "1500M") instead of as fast as it goes: losses at equal load */
  iperfRate?: string;
  /** what-if: net.ipv4.tcp_congestion_control in the bridge's namespace (its uplink TCP sockets only) */
  bridgeTcpCc?: string;
  /** what-if: congestion control of host A's and host B's TCP (iperf3's), set as `congctl` on their routes */
  hostTcpCc?: string;
  /** what-if: both bridges get this share of one CPU (percent, enforced every 10 ms): a slower router */
  bridgeCpuQuota?: number;
  /** what-if: tbf at this rate (tc syntax, "100mbit") with a 5 ms queue on both ends of the uplink (a WAN link) */
  uplinkRate?: string;
  /** what-if: tbf at this rate with a deep queue (300 ms) on vpnserver's bridge interface toward host B: a slow
   *  remote LAN, the narrowest point beyond the bridge (for LAN→server) */
  farLanRate?: string;
  /** sample vpnserver's drop points (packet socket, session counters) around every iperf3 run */
  serverDrops?: boolean;
  /** TSO and tx checksums off on the bridge's LAN veth before the bridge starts (--lan-tso off). */
  lanTsoOff?: boolean;
  /** host A's veth receives with GRO (--host-gro). */
  hostGro?: boolean;
  /** what-if: write a short tcpdump of host B's interface during every server->LAN run into this directory */
  captureDir?: string;
  /** what-if: 3 s of system-wide `perf record` (all CPUs, 999 Hz, no call graphs) in every iperf3 run, into this directory */
  perfDir?: string;
  /** what-if: both bridges' OpenSSL without the CPU's AES and carry-less multiply instructions (a router CPU
   *  without them, like the Raspberry Pi 4's); the server keeps them (it is another machine) */
  bridgeNoAes?: boolean;
}

export interface DirectionResult {
  mbps: number;
  retransmits: number | undefined;
  /** pings from A to B every 50 ms while iperf3 runs (what a user's interactive traffic feels under load) */
  loadPing?: { avgMs: number; p99Ms: number; lossPct: number };
  /** CPU % of one core over the iperf3 run (100 = one full core) */
  bridgeCpuPct: number | undefined;
  /** the kernel-mode part of bridgeCpuPct */
  bridgeSysPct: number | undefined;
  /** time the bridge's threads were runnable but had no CPU, % of one core */
  bridgeRunqueueWaitPct: number | undefined;
  serverCpuPct: number | undefined;
  /** all cores of the machine, % busy over the run: everything else running shows up here */
  machineBusyPct: number;
  /** frames (both ways: data and ACKs) sent by one host's veth that the other host's veth never received */
  framesLost: number | undefined;
  /** framesLost in % of the frames sent */
  lossPct: number | undefined;
  /** with settings.serverDrops: vpnserver's counters over the run (server-drops.ts) */
  serverDrops?: Record<string, number>;
}

export interface ScenarioOk {
  ok: true;
  bridge: BridgeKind;
  mode: string;
  run: number;
  /** TCP connections the server counted in the bridge's session */
  connections: number;
  /** from starting the bridge to all connections up */
  connectSeconds: number;
  ping: PingResult;
  /** the bridge's own share of the idle pings (tcpdump at its LAN and uplink, ping-split.ts) */
  pingSplit?: PingSplit;
  /** the same idle pings after the iperf3 runs (the bridge warmed up) */
  pingAfter?: PingResult;
  pingSplitAfter?: PingSplit;
  forward: DirectionResult;
  reverse: DirectionResult;
  /** VmRSS of the bridge once its connections were up, before any traffic */
  idleRssMiB: number;
  /** VmHWM of the bridge process at the end of the scenario (it was started for this scenario) */
  peakRssMiB: number;
  /** at the end: the file-backed part of RSS (executable pages) vs the anonymous part (heaps) */
  endRssFileMiB: number;
  endRssAnonMiB: number;
  cpuProfileDir?: string;
  /** sebridge only: its own frame counters (final status line) against its LAN veth's, over its whole run */
  sebridgeFrames?: SebridgeFrameAccount;
  /** a custom launch (see CustomBridge): its name, and what it observed during each iperf3 run */
  variant?: string;
  observed?: { idle?: Observed; forward: Observed; reverse: Observed };
}

/** Extra numbers a CustomBridge records for one iperf3 run (undefined: not measurable this time). */
export type Observed = Record<string, number | undefined>;

/**
 * A way of starting sebridge other than `sebridge link` (daemon-vs-link.ts: the daemon configured through its
 * API, with or without a browser on its dashboard). The scenario around it stays the same: fresh bridge side,
 * wait for the session, ping, iperf3 both ways, memory, teardown.
 */
export interface CustomBridge {
  /** names the variant in progress lines and results */
  variant: string;
  /** where its process writes its V8 CPU profile, if it was started with --cpu-prof */
  cpuProfileDir?: string;
  /** starts the process measured for CPU and memory (a node process running bin/sebridge.js) */
  start(bridgeTarget: CascadeTarget): Promise<LongChild>;
  /** once the session is up, before the measurements (e.g. open the dashboard); may observe the idle state */
  afterConnect?(): Promise<Observed | undefined>;
  /** called when an iperf3 run starts; the function it returns is called when the run has ended */
  observeLoad?(): () => Promise<Observed>;
  /** stops everything it started (its process included); called once, also after errors */
  stop(): Promise<void>;
}

export interface SebridgeFrameAccount {
  /** frames the cascade received from the server ("in=") */
  fromServer: number;
  /** frames the LAN veth transmitted (what sebridge wrote to it) */
  toLan: number;
  /** frames the LAN veth received (what host A sent) */
  fromLan: number;
  /** frames the cascade handed to its session ("out="; drops for a full TCP backlog come after this count) */
  toServer: number;
  /** the LAN port's own drops by reason, as `sebridge link` reports them when it stops (rxDropAqm: CoDel's) */
  lanDrops?: Record<string, number>;
}

/** `sebridge link`'s "<ifname>: drops rxDropAqm=2 rxDropKernel=5" (or "drops none") line for that interface. */
export function parseLanDrops(log: string, ifname: string): Record<string, number> | undefined {
  const all = [...log.matchAll(/ (\S+): drops (none|(?:\w+=\d+ ?)+)$/gm)].filter((m) => m[1] === ifname);
  const last = all[all.length - 1];
  if (!last) return undefined;
  const out: Record<string, number> = {};
  for (const [, k, v] of last[2]!.matchAll(/(\w+)=(\d+)/g)) out[k!] = Number(v);
  return out;
}

/** The last status line of `sebridge link` (printed when it stops): "... in=Nf/NB out=Nf/NB". */
export function parseFinalCounters(log: string): { fromServer: number; toServer: number } | undefined {
  const all = [...log.matchAll(/ in=(\d+)f\/\d+B out=(\d+)f\/\d+B/g)];
  const last = all[all.length - 1];
  return last ? { fromServer: Number(last[1]), toServer: Number(last[2]) } : undefined;
}

export interface ScenarioFailed {
  ok: false;
  bridge: BridgeKind;
  mode: string;
  run: number;
  error: string;
  variant?: string;
}

export type ScenarioResult = ScenarioOk | ScenarioFailed;

export interface Context {
  server: SoftEtherServer;
  names: BenchNames;
  addr: Addresses;
  target: CascadeTarget;
  settings: Settings;
  log: (line: string) => void;
}

const MIB = 1024 * 1024;

/** Polls the server until the bridge's session has `want` TCP connections; returns the count seen. */
async function waitSession(ctx: Context, bridge: LongChild, want: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  for (;;) {
    if (!bridge.running) throw new BenchError(`bridge ${bridge.describeExit()} before its session was up`, bridge.tail());
    const sessions = (await ctx.server.listSessions(ctx.target.hub)).filter((s) => s.user.toLowerCase() === ctx.target.user.toLowerCase());
    for (const s of sessions) {
      const d = await ctx.server.getSession(ctx.target.hub, s.name).catch(() => undefined);
      if (d) seen = Math.max(seen, d.tcpConnections);
    }
    if (seen >= want) return seen;
    if (Date.now() > deadline) throw new BenchError(`session has ${seen}/${want} TCP connections after ${timeoutMs} ms`, bridge.tail());
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * The previous bridge's session must be gone before the next bridge is measured. The server keeps a session whose
 * TCP connections all closed for its timeout T (20 s) waiting for them to come back, and floods broadcasts to it
 * meanwhile; waiting keeps the runs independent.
 */
async function waitNoSession(ctx: Context, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = (await ctx.server.listSessions(ctx.target.hub)).filter((s) => s.user.toLowerCase() === ctx.target.user.toLowerCase());
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new BenchError(`server still holds session(s) ${left.map((s) => s.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const LOAD_PING_INTERVAL_MS = 50;

/**
 * Frames host B sent that the server never sent on to the cascade (the server's session counters): the loss
 * server->LAN when host A's veth cannot count the frames (a super-frame counts once). sebridge's own counters show
 * that it writes to the LAN every frame it gets (the run's "frame accounting").
 */
function lossTowardA(b0: LinkCounters | undefined, b1: LinkCounters | undefined, delta: Record<string, number> | undefined, user: string): { lost: number; sent: number } | undefined {
  if (!b0 || !b1 || !delta) return undefined;
  const toCascade = (delta[`${user} / Incoming Unicast Packets`] ?? Number.NaN) + (delta[`${user} / Incoming Broadcast Packets`] ?? 0);
  if (!Number.isFinite(toCascade)) return undefined;
  const sent = b1.txPackets - b0.txPackets;
  return { lost: Math.max(0, sent - toCascade), sent };
}

/** The idle pings with each side's share of them (ping-split.ts), logged after `prefix`. */
async function idlePings(ctx: Context, prefix: string): Promise<{ ping: PingResult; split: PingSplit | undefined }> {
  const { names, addr, settings, server } = ctx;
  const stopSplit = await startPingSplit(names.nsBridge, names.bridgeLan, names.bridgeUp, server.netns);
  const ping = await pingLatency(names.nsA, addr.hosts.server, settings.pings, settings.pingIntervalMs);
  const split = await stopSplit();
  ctx.log(`${prefix}ping avg ${ping.avgMs.toFixed(3)} ms p99 ${ping.p99Ms.toFixed(3)} ms (${ping.received}/${ping.sent})${split ? `; ${describePingSplit(split)}` : ''}`);
  return { ping, split };
}

async function direction(ctx: Context, bridgePid: number, reverse: boolean, superFramesReachA: boolean, observe?: () => () => Promise<Observed>): Promise<DirectionResult & { observed?: Observed }> {
  const { names, addr, settings } = ctx;
  const drops0 = settings.serverDrops ? await serverDropSnapshot(ctx.server, ctx.target.hub) : undefined;
  const a0 = await linkCounters(names.nsA, names.hostA);
  const b0 = await linkCounters(names.nsB, names.hostB);
  const win = new CpuWindow({ bridge: bridgePid, server: ctx.server.pid });
  const observed = observe?.();
  const pingCount = Math.round(((settings.seconds + settings.omit) * 1000) / LOAD_PING_INTERVAL_MS);
  const loadPing = pingLatency(names.nsA, addr.hosts.server, pingCount, LOAD_PING_INTERVAL_MS).then(
    (p) => ({ avgMs: p.avgMs, p99Ms: p.p99Ms, lossPct: ((p.sent - p.received) / p.sent) * 100 }),
    () => ({ avgMs: Number.NaN, p99Ms: Number.NaN, lossPct: 100 }),
  );
  const capture = reverse && settings.captureDir ? startCapture(ctx, bridgePid) : settings.perfDir ? startPerf(ctx, bridgePid, reverse) : undefined;
  const r: IperfResult = await runIperf(names.nsA, addr.hosts.server, settings.seconds, settings.omit, reverse, settings.iperfRate, settings.hostCpus);
  await capture;
  const cpu = win.end();
  const extra = observed ? await observed() : undefined;
  const a1 = await linkCounters(names.nsA, names.hostA);
  const b1 = await linkCounters(names.nsB, names.hostB);
  const drops1 = drops0 ? await serverDropSnapshot(ctx.server, ctx.target.hub) : undefined;
  // Data one way, ACKs the other: count both directions' losses.
  const ab = tunnelLoss(a0, a1, b0, b1);
  const ba = superFramesReachA ? lossTowardA(b0, b1, drops0 && drops1 ? serverDropDelta(drops0, drops1) : undefined, ctx.target.user) : tunnelLoss(b0, b1, a0, a1);
  const loss = ab && ba ? { lost: ab.lost + ba.lost, sent: ab.sent + ba.sent } : undefined;
  return {
    mbps: r.bitsPerSecond / 1e6,
    retransmits: r.retransmits,
    loadPing: await loadPing,
    bridgeCpuPct: cpu.perProcess['bridge'],
    bridgeSysPct: cpu.systemPct['bridge'],
    bridgeRunqueueWaitPct: cpu.runqueueWaitPct['bridge'],
    serverCpuPct: cpu.perProcess['server'],
    machineBusyPct: cpu.machineBusyPct,
    framesLost: loss?.lost,
    lossPct: loss && loss.sent > 0 ? (loss.lost / loss.sent) * 100 : undefined,
    ...(extra ? { observed: extra } : {}),
    ...(drops0 && drops1 ? { serverDrops: { ...serverDropDelta(drops0, drops1), ...(b0 && b1 && a0 && a1 ? { hostBTx: b1.txPackets - b0.txPackets, hostBRx: b1.rxPackets - b0.rxPackets, hostATx: a1.txPackets - a0.txPackets, hostARx: a1.rxPackets - a0.rxPackets } : {}) } } : {}),
  };
}

/**
 * One bridge in one mode on a fresh bridge side: start, wait for the session, measure, stop, tear down.
 * `custom` replaces how sebridge is started (kind must be 'sebridge').
 */
export async function runScenario(ctx: Context, kind: BridgeKind, mode: Mode, run: number, custom?: CustomBridge): Promise<ScenarioResult> {
  const { names, addr, target, settings, server } = ctx;
  if (custom && kind !== 'sebridge') throw new BenchError('a custom bridge is always sebridge');
  const tag = `${custom?.variant ?? kind}/${mode.id}#${run}`;
  let bridge: LongChild | undefined;
  let stock: SoftEtherBridge | undefined;
  let cpuCgroup: string | undefined;
  const profileDir = custom ? custom.cpuProfileDir : kind === 'sebridge' && settings.cpuProfileDir ? join(settings.cpuProfileDir, `${mode.id}-${run}`) : undefined;
  try {
    await buildBridgeSide(names, server.netns, addr, { hostGro: settings.hostGro === true, lanTsoOff: settings.lanTsoOff === true });
    if (settings.bridgeTcpCc) sysctlIn(names.nsBridge, 'net.ipv4.tcp_congestion_control', settings.bridgeTcpCc);
    if (settings.bridgeTcpRmem) sysctlIn(names.nsBridge, 'net.ipv4.tcp_rmem', settings.bridgeTcpRmem);
    if (settings.uplinkRate) {
      uplinkBottleneck(names.nsBridge, names.bridgeUp, settings.uplinkRate);
      uplinkBottleneck(server.netns, names.serverUp, settings.uplinkRate);
    }
    if (settings.farLanRate) uplinkBottleneck(server.netns, names.serverLan, settings.farLanRate, '300ms');
    if (settings.hostTcpCc) {
      routeCongestionControl(names.nsA, names.hostA, settings.hostTcpCc);
      routeCongestionControl(names.nsB, names.hostB, settings.hostTcpCc);
    }
    const started = Date.now();
    const bridgeTarget = { ...target, host: addr.uplink.server };
    if (custom) {
      bridge = await custom.start(bridgeTarget);
    } else if (kind === 'sebridge') {
      bridge = startSebridge({ netns: names.nsBridge, lan: names.bridgeLan, target: bridgeTarget, mode, nodeFlags: settings.sebridgeNodeFlags, ...(settings.bridgeNoAes ? { env: { OPENSSL_ia32cap: NO_AES_IA32CAP } } : {}), ...(settings.sebridgeCli ? { cli: settings.sebridgeCli } : {}), ...(profileDir ? { cpuProfileDir: profileDir } : {}) });
    } else {
      stock = await startSoftEtherBridge({ netns: names.nsBridge, lan: names.bridgeLan, dir: join(names.dir, `vpnbridge-${mode.id}-${run}`), target: bridgeTarget, mode, ...(settings.bridgeNoAes ? { env: { OPENSSL_ia32cap: NO_AES_IA32CAP } } : {}) });
      bridge = stock.process;
    }
    if (settings.bridgeCpus) pinThreads(bridge.pid, settings.bridgeCpus);
    if (settings.bridgeNice !== undefined) reniceThreads(bridge.pid, settings.bridgeNice);
    if (settings.bridgeCpuQuota !== undefined) cpuCgroup = limitCpu(bridge.pid, settings.bridgeCpuQuota, names.token);
    const connections = await waitSession(ctx, bridge, mode.connections, 60_000);
    const connectSeconds = (Date.now() - started) / 1000;
    if (kind === 'sebridge' && !isSebridge(bridge.pid)) throw new BenchError(`PID ${bridge.pid} is not the sebridge node process`);
    const idleRssMiB = (processMemory(bridge.pid)?.rss ?? Number.NaN) / MIB;
    ctx.log(`${tag}: ${connections} connection(s) after ${connectSeconds.toFixed(1)} s, RSS ${idleRssMiB.toFixed(1)} MiB`);
    const obsIdle = await custom?.afterConnect?.();
    await waitReachable(names.nsA, addr.hosts.server, 30_000);
    const { ping, split: pingSplit } = await idlePings(ctx, `${tag}: `);
    const observe = custom?.observeLoad?.bind(custom);
    // sebridge's super-frames reach host A whole unless the LAN veth cuts them: count what arrives at the server.
    const superFramesReachA = kind === 'sebridge' && settings.lanTsoOff !== true && process.env.SEBRIDGE_TX_SUPER_FRAMES !== '0';
    const { observed: obsForward, ...forward } = await direction(ctx, bridge.pid, false, superFramesReachA, observe);
    ctx.log(`${tag}: A->B ${forward.mbps.toFixed(0)} Mbit/s, bridge CPU ${forward.bridgeCpuPct?.toFixed(0)} %`);
    const { observed: obsReverse, ...reverse } = await direction(ctx, bridge.pid, true, superFramesReachA, observe);
    ctx.log(`${tag}: B->A ${reverse.mbps.toFixed(0)} Mbit/s, bridge CPU ${reverse.bridgeCpuPct?.toFixed(0)} %`);
    // The same idle pings once more after the load: a bridge that has run a while (a JIT's code optimized by
    // then) against the fresh process of the first series. 1 s for the queues of the load to drain first.
    await new Promise((r) => setTimeout(r, 1000));
    const { ping: pingAfter, split: pingSplitAfter } = await idlePings(ctx, `${tag}: after the load: `);
    const mem = processMemory(bridge.pid);
    if (!mem || !bridge.running) throw new BenchError(`bridge ${bridge.describeExit()} during the measurement`, bridge.tail());
    let sebridgeFrames: SebridgeFrameAccount | undefined;
    if (kind === 'sebridge' && !custom) {
      await bridge.stop(15_000);
      const own = parseFinalCounters(bridge.log.text());
      const lan = await linkCounters(names.nsBridge, names.bridgeLan);
      const lanDrops = parseLanDrops(bridge.log.text(), names.bridgeLan);
      if (own && lan) sebridgeFrames = { fromServer: own.fromServer, toLan: lan.txPackets, fromLan: lan.rxPackets, toServer: own.toServer, ...(lanDrops ? { lanDrops } : {}) };
    }
    return {
      ok: true, bridge: kind, mode: mode.id, run, connections, connectSeconds, ping, ...(pingSplit ? { pingSplit } : {}), pingAfter, ...(pingSplitAfter ? { pingSplitAfter } : {}), forward, reverse, idleRssMiB,
      peakRssMiB: mem.peakRss / MIB,
      endRssFileMiB: mem.rssFile / MIB,
      endRssAnonMiB: mem.rssAnon / MIB,
      ...(profileDir ? { cpuProfileDir: profileDir } : {}),
      ...(sebridgeFrames ? { sebridgeFrames } : {}),
      ...(custom ? { variant: custom.variant, observed: { ...(obsIdle ? { idle: obsIdle } : {}), forward: obsForward ?? {}, reverse: obsReverse ?? {} } } : {}),
    };
  } catch (e) {
    ctx.log(`${tag}: FAILED ${(e as Error).message}`);
    // The bridge's own last words (sebridge's status lines) say more about a stall than the symptom does.
    const detail = bridge && !(e instanceof BenchError && e.detail) ? `\n--- bridge log ---\n${bridge.tail()}` : '';
    return { ok: false, bridge: kind, mode: mode.id, run, error: `${(e as Error).message}${detail}`, ...(custom ? { variant: custom.variant } : {}) };
  } finally {
    if (custom) await custom.stop().catch((e) => ctx.log(`${tag}: stopping ${custom.variant}: ${(e as Error).message}`));
    if (stock) await stopSoftEtherBridge(stock).catch((e) => ctx.log(`${tag}: stopping vpnbridge: ${(e as Error).message}`));
    else if (bridge) await bridge.stop(15_000).catch((e) => ctx.log(`${tag}: stopping sebridge: ${(e as Error).message}`));
    if (cpuCgroup) {
      try {
        rmdirSync(cpuCgroup);
      } catch (e) {
        ctx.log(`${tag}: removing ${cpuCgroup}: ${(e as Error).message}`);
      }
    }
    const problems = removeBridgeSide(names, server.netns);
    for (const p of problems) ctx.log(`${tag}: teardown: ${p}`);
    await waitNoSession(ctx, 35_000).catch((e) => ctx.log(`${tag}: ${(e as Error).message}`));
  }
}
