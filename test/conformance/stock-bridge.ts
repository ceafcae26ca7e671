import { randomBytes } from 'node:crypto';
import { accessSync, constants, readlinkSync } from 'node:fs';
import { pickFreeSlash30, overlaps, type Slash30 } from '../harness/addresses.ts';
import { serverCapability, type Capability } from '../harness/capability.ts';
import { HarnessError } from '../harness/errors.ts';
import { ensureMountTargets, jailedArgv } from '../harness/jail.ts';
import { randomNames, type InstanceNames } from '../harness/names.ts';
import { runChecked, runCommand } from '../harness/run-command.ts';
import { protect } from '../harness/safety-net.ts';
import type { SoftEtherServer } from '../harness/softether-server.ts';
import { buildNetwork, makeInstanceDir, removeInstance } from '../harness/topology.ts';
import { runVpncmd, runVpncmdScript, type VpncmdTarget } from '../harness/vpncmd.ts';
import { LongChild } from '../../bench/lib/child.ts';
import { VPNBRIDGE } from '../../bench/lib/softether-bridge.ts';
import type { CallContext, ConformanceTarget } from './calls.ts';
import { startCascadeServer } from './cascade-server.ts';
import { jsonRpcClient, type RpcCallOptions, type RpcClient, type RpcReply } from './jsonrpc-client.ts';

/**
 * Debian's stock `vpnbridge` (5.01) as a JSON-RPC target for the conformance calls.
 *
 * It runs the way test/harness runs vpnserver: `start --foreground` (one process, stopped by its PID), in its own
 * network namespace with only lo and veths we make (no default route, resolv.conf at 127.0.0.1, so its keep-alive
 * and NAT-T lookups fail locally) and its own mount namespace with private /var/lib, /var/log, /run/softether and
 * /tmp. The namespace and directory follow the harness naming (sebt-<token>), so test/harness/cleanup.ts
 * recognises leftovers of a killed run.
 *
 *   test process ─veth─ [bridge ns] ─uplink veth─ [server ns]   (uplink only with a server)
 *                         └ lan veth pair (both ends in the bridge ns): an existing device for AddLocalBridge
 *
 * The admin password is set with vpncmd from inside the namespace (see setUp).
 */
/** Where the cascade dials (the server's uplink address as the bridge sees it), and with which account. */
export type CascadeTarget = CallContext['cascade'];

export interface StockBridge {
  readonly netns: string;
  /** private directory holding the bridge's lib/ log/ run/ tmp/ */
  readonly dir: string;
  /** the bridge's address as the test process sees it */
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  readonly adminPassword: string;
  /** a device that exists in the bridge's namespace and is up (AddLocalBridge with an existing device) */
  readonly lanDevice: string;
  /** the real server the bridge can cascade to (only with `withServer`) */
  readonly server: SoftEtherServer | undefined;
  readonly cascadeTarget: CascadeTarget | undefined;
  /** JSON-RPC to the bridge, authenticated as server admin unless opts.auth says otherwise */
  call(method: string, params?: Record<string, unknown>, opts?: RpcCallOptions): Promise<RpcReply>;
  readonly rpc: RpcClient;
  vpncmd(command: string, args?: string[], opts?: { hub?: string }): Promise<string>;
  /** makes ARP broadcasts appear on lanDevice (from its peer, inside the bridge namespace) */
  stimulateLan(): Promise<void>;
  logTail(maxChars?: number): string;
  stop(): Promise<void>;
}

export interface StockBridgeOptions {
  /** Also start a real vpnserver with a hub and a password user for the bridge to cascade to. */
  withServer?: boolean;
  adminPassword?: string;
}

const ADMIN_PORT = 5555;

/** Can this machine run the stock bridge (the reason is for a LOUD skip)? */
export function stockBridgeCapability(): Capability {
  const cap = serverCapability();
  if (!cap.ok) return cap;
  try {
    accessSync(VPNBRIDGE, constants.X_OK);
  } catch {
    return { ok: false, reason: `${VPNBRIDGE} missing: apt-get install softether-vpnbridge` };
  }
  return { ok: true };
}

async function pickTestSlash30(avoid: string[]): Promise<Slash30> {
  for (let i = 0; i < 16; i++) {
    const s = await pickFreeSlash30();
    if (!avoid.some((ip) => overlaps(ip, 32, s.network, 30))) return s;
  }
  throw new HarnessError('no free test /30 apart from the addresses in use');
}

class Instance implements StockBridge {
  readonly netns: string;
  readonly dir: string;
  readonly host: string;
  readonly port = ADMIN_PORT;
  readonly lanDevice: string;
  adminPassword = '';
  server: SoftEtherServer | undefined;
  cascadeTarget: CascadeTarget | undefined;
  readonly rpc: RpcClient;
  process: LongChild | undefined;
  private stopping: Promise<void> | undefined;
  private readonly unprotect: () => void;

  private readonly names: InstanceNames;

  constructor(names: InstanceNames, net: Slash30) {
    this.names = names;
    this.netns = names.netns;
    this.dir = names.dir;
    this.host = net.server;
    this.lanDevice = `sebt${names.token}l`;
    const self = this;
    this.rpc = jsonRpcClient({
      host: this.host,
      port: ADMIN_PORT,
      get auth() {
        // 5.01 hangs up on an empty X-VPNADMIN-HUBNAME, so server-admin calls send no hub header at all.
        return { kind: 'password' as const, password: self.adminPassword };
      },
    });
    this.unprotect = protect(() => this.teardownNow());
  }

  get pid(): number {
    if (!this.process) throw new HarnessError('vpnbridge not started');
    return this.process.pid;
  }

  call(method: string, params: Record<string, unknown> = {}, opts: RpcCallOptions = {}): Promise<RpcReply> {
    return this.rpc.call(method, params, opts);
  }

  private get vpncmdTarget(): VpncmdTarget {
    return { netns: this.netns, dir: this.names.dir, port: ADMIN_PORT, adminPassword: this.adminPassword };
  }

  vpncmd(command: string, args: string[] = [], opts: { hub?: string } = {}): Promise<string> {
    return runVpncmd(this.vpncmdTarget, command, args, opts);
  }

  logTail(maxChars = 4000): string {
    return this.process?.tail(maxChars) ?? '';
  }

  async launch(): Promise<void> {
    this.process = new LongChild(jailedArgv(this.netns, this.names.dir, [VPNBRIDGE, 'start', '--foreground']));
    await this.process.waitOutput(/TCP Listener \(port 5555\) has started/, 20_000, 'vpnbridge listening');
    if (readlinkSync(`/proc/${this.process.pid}/exe`) !== VPNBRIDGE) throw new HarnessError(`PID ${this.process.pid} is not vpnbridge`);
  }

  /**
   * Fresh install: no admin password. JSON-RPC from our address is then refused with HTTP 401 (5.01 allows the
   * empty password only from localhost), so the first password is set with vpncmd from inside the namespace;
   * the conformance calls measure SetServerPassword over JSON-RPC afterwards.
   */
  async setUp(adminPassword: string): Promise<void> {
    await runVpncmd(this.vpncmdTarget, 'ServerPasswordSet', [adminPassword]);
    this.adminPassword = adminPassword;
    await runVpncmdScript(this.vpncmdTarget, [...['443', '992', '1194'].map((p) => ['ListenerDelete', p]), ['KeepDisable']]);
  }

  /** A veth between the bridge's and the server's namespaces; the cascade then dials the server's end. */
  async addUplink(server: SoftEtherServer, cascade: CascadeTarget): Promise<void> {
    const up = await pickTestSlash30([server.host, this.host, ...(this.lanPeer ? [this.lanPeer.target] : [])]);
    const bridgeEnd = `sebt${this.names.token}u`;
    const serverEnd = `sebt${this.names.token}v`;
    await runChecked(['ip', 'link', 'add', bridgeEnd, 'netns', this.netns, 'type', 'veth', 'peer', 'name', serverEnd, 'netns', server.netns]);
    await runChecked(['ip', '-n', server.netns, 'addr', 'add', `${up.server}/30`, 'dev', serverEnd]);
    await runChecked(['ip', '-n', server.netns, 'link', 'set', serverEnd, 'up']);
    await runChecked(['ip', '-n', this.netns, 'addr', 'add', `${up.client}/30`, 'dev', bridgeEnd]);
    await runChecked(['ip', '-n', this.netns, 'link', 'set', bridgeEnd, 'up']);
    this.cascadeTarget = { ...cascade, host: up.server };
  }

  /**
   * A veth pair inside the bridge namespace: `lanDevice` is what the bridge may bridge; its peer gets an address of
   * a free test /30 so that pinging the other (unused) address of that /30 makes ARP broadcasts appear on the LAN
   * (stimulateLan). Everything stays inside the namespace and whatever the bridge hub connects to.
   */
  async addLan(): Promise<void> {
    const peer = `sebt${this.names.token}m`;
    const lan = await pickTestSlash30([this.host]);
    await runChecked(['ip', '-n', this.netns, 'link', 'add', this.lanDevice, 'type', 'veth', 'peer', 'name', peer]);
    await runChecked(['ip', '-n', this.netns, 'link', 'set', this.lanDevice, 'up']);
    await runChecked(['ip', '-n', this.netns, 'addr', 'add', `${lan.client}/30`, 'dev', peer]);
    await runChecked(['ip', '-n', this.netns, 'link', 'set', peer, 'up']);
    this.lanPeer = { dev: peer, target: lan.server };
  }

  lanPeer: { dev: string; target: string } | undefined;

  async stimulateLan(): Promise<void> {
    if (!this.lanPeer) return;
    // One ping to an address nobody has: the kernel broadcasts ARP requests on the peer, i.e. into the bridge.
    await runCommand(['ip', 'netns', 'exec', this.netns, 'ping', '-n', '-q', '-c', '1', '-W', '1', '-I', this.lanPeer.dev, this.lanPeer.target], { timeoutMs: 5000 });
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const problems: string[] = [];
      try {
        await this.process?.stop(8000);
      } catch (e) {
        problems.push((e as Error).message);
      }
      problems.push(...removeInstance(this.names));
      this.unprotect();
      try {
        await this.server?.stop();
      } catch (e) {
        problems.push((e as Error).message);
      }
      if (problems.length > 0) throw new HarnessError(`stop(): could not remove everything for ${this.netns}`, problems.join('\n'));
    })();
    return this.stopping;
  }

  private teardownNow(): void {
    if (this.process?.running) this.process.killNow();
    removeInstance(this.names);
  }
}

/**
 * Starts the stock vpnbridge (and, with `withServer`, a real vpnserver with hub CONF and a password user to
 * cascade to). Throws HarnessError when something cannot be built; call stockBridgeCapability() first to skip
 * loudly instead.
 */
export async function startStockBridge(opts: StockBridgeOptions = {}): Promise<StockBridge> {
  const cap = stockBridgeCapability();
  if (!cap.ok) throw new HarnessError(`cannot run the stock vpnbridge here: ${cap.reason}`);
  ensureMountTargets();
  const started = opts.withServer ? await startCascadeServer() : undefined;
  const server = started?.server;
  let inst: Instance | undefined;
  try {
    const names = randomNames();
    const net = await pickFreeSlash30();
    inst = new Instance(names, net);
    inst.server = server;
    makeInstanceDir(names);
    await buildNetwork(names, net);
    await inst.addLan();
    if (started) await inst.addUplink(started.server, started.cascade);
    await inst.launch();
    await inst.setUp(opts.adminPassword ?? randomBytes(12).toString('hex'));
    return inst;
  } catch (e) {
    const tail = inst?.logTail(2000) ?? '';
    if (inst) await inst.stop().catch(() => undefined);
    else await server?.stop().catch(() => undefined);
    if (e instanceof HarnessError || !tail) throw e;
    throw new HarnessError(`startStockBridge failed: ${(e as Error).message}`, tail);
  }
}

/** The stock bridge as a target for the conformance calls (needs `withServer`, for the cascade). */
export function conformanceTarget(bridge: StockBridge): ConformanceTarget {
  const cascade = bridge.cascadeTarget;
  if (!cascade) throw new HarnessError('conformanceTarget needs a bridge started with { withServer: true }');
  return {
    call: (method, params, opts) => bridge.call(method, params, opts),
    context: {
      hub: 'BRIDGE',
      adminPassword: bridge.adminPassword,
      lanDevice: bridge.lanDevice,
      missingDevice: 'confnodev0',
      cascade,
      stimulateLan: () => bridge.stimulateLan(),
    },
  };
}
