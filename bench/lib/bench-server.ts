import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { startServer, serverCapability, type SoftEtherServer } from '../../test/harness/softether-server.ts';
import { protect } from '../../test/harness/safety-net.ts';
import { csvRecords } from '../../test/harness/csv.ts';
import { BenchError, pinThreads, type LongChild } from './child.ts';
import { startIperfServer } from './iperf.ts';
import type { CascadeTarget } from './modes.ts';
import { benchNames } from './names.ts';
import type { Context, Settings } from './scenario.ts';
import { buildServerSide, claimToken, pickAddresses, removeAll, sweepStaleRuns } from './topology.ts';

/** Missing tools as "tool: apt-get install pkg" lines (empty when everything is there). */
export function missingTools(tools: ReadonlyArray<readonly [tool: string, pkg: string]>): string[] {
  const out: string[] = [];
  const cap = serverCapability();
  if (!cap.ok) out.push(`cannot run the SoftEther server here: ${cap.reason}`);
  for (const [tool, pkg] of tools) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
    if (r.status !== 0) out.push(`${tool} missing: apt-get install ${pkg}`);
  }
  return out;
}

/** The tools every end-to-end benchmark here needs. */
export const E2E_TOOLS = [['iperf3', 'iperf3'], ['ping', 'iputils-ping'], ['ethtool', 'ethtool'], ['getconf', 'libc-bin']] as const;

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

/**
 * The fixed part of an end-to-end benchmark run: the harness's vpnserver (its own namespace, no route out) with
 * hub BENCH and user "bench", host B's namespace behind the server's local bridge, and the iperf3 server there.
 * `body` then measures bridges on a bridge side it builds per scenario (see scenario.ts). Everything is removed
 * afterwards, also on errors and on SIGINT/SIGTERM (the safety net), and leftovers of SIGKILLed runs first.
 */
export async function withBenchServer<T>(settings: Settings, log: (line: string) => void, body: (ctx: Context) => Promise<T>): Promise<T> {
  for (const s of sweepStaleRuns()) log(`removed leftovers of a dead run: ${s}`);
  const names = benchNames();
  claimToken(names);
  let server: SoftEtherServer | undefined;
  let iperfServer: LongChild | undefined;
  const unprotect = protect(() => {
    iperfServer?.killNow();
    removeAll(names, server?.netns);
  });
  try {
    log(`run ${names.token}: starting vpnserver`);
    server = await startServer();
    if (settings.serverCpus) log(`vpnserver (${pinThreads(server.pid, settings.serverCpus)}, PID ${server.pid}) confined to CPUs ${settings.serverCpus}`);
    const target: CascadeTarget = { host: '', port: server.port, hub: 'BENCH', user: 'bench', password: randomBytes(12).toString('hex') };
    await server.createHub(target.hub);
    await server.createPasswordUser(target.hub, target.user, target.password);
    const addr = await pickAddresses(server.host);
    await buildServerSide(names, server.netns, addr);
    await server.vpncmd('BridgeCreate', [target.hub, `/DEVICE:${names.serverLan}`, '/TAP:no']);
    await waitLocalBridge(server, names.serverLan);
    iperfServer = await startIperfServer(names.nsB, addr.hosts.server);
    if (settings.hostCpus) log(`iperf3 server (${pinThreads(iperfServer.pid, settings.hostCpus)}) and clients confined to CPUs ${settings.hostCpus}`);
    log(`hosts ${addr.hosts.client} (A, behind the bridge) and ${addr.hosts.server} (B, behind the server); uplink ${addr.uplink.client} -> ${addr.uplink.server}:${server.port}`);
    return await body({ server, names, addr, target, settings, log });
  } finally {
    await iperfServer?.stop(3000).catch(() => iperfServer?.killNow());
    const problems = removeAll(names, server?.netns);
    for (const p of problems) log(`teardown: ${p}`);
    await server?.stop().catch((e) => log(`stopping vpnserver: ${(e as Error).message}`));
    unprotect();
  }
}
