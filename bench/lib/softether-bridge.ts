import { randomBytes } from 'node:crypto';
import { mkdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { jailedArgv } from '../../test/harness/jail.ts';
import { runVpncmd, runVpncmdScript, type VpncmdTarget } from '../../test/harness/vpncmd.ts';
import { SERVER_DIRS } from '../../test/harness/topology.ts';
import { BenchError, LongChild } from './child.ts';
import type { CascadeTarget, Mode } from './modes.ts';

export const VPNBRIDGE = '/usr/libexec/softether/vpnbridge/vpnbridge';
/** The hub every VPN Bridge has and that its cascade and local bridge join. */
const BRIDGE_HUB = 'BRIDGE';
const CASCADE = 'bench';
const ADMIN_PORT = 5555;

export interface SoftEtherBridgeRun {
  netns: string;
  lan: string;
  /** private directory (created here) for its /var/lib, /var/log, /run/softether and /tmp */
  dir: string;
  target: CascadeTarget;
  mode: Mode;
  /** extra environment variables for vpnbridge (what-ifs) */
  env?: Record<string, string>;
}

export interface SoftEtherBridge {
  process: LongChild;
  dir: string;
}

/**
 * Debian's vpnbridge, run like the harness runs the server: `start --foreground` (one process, no watchdog) in
 * the bridge namespace and its own mount namespace with private state directories, so it neither reads nor
 * writes the machine's /var/lib/softether. Configured from scratch with vpncmd every time: cascade with the
 * mode's connection count (QoS left at its default, off only for one connection, which QoS would not allow),
 * password, encryption; local bridge on the LAN veth; packet and security logs off on its hub as on the server's.
 */
export async function startSoftEtherBridge(run: SoftEtherBridgeRun): Promise<SoftEtherBridge> {
  mkdirSync(run.dir, { mode: 0o700 });
  for (const d of SERVER_DIRS) mkdirSync(join(run.dir, d), { mode: 0o700 });
  const proc = new LongChild(jailedArgv(run.netns, run.dir, [VPNBRIDGE, 'start', '--foreground']), run.env ? { ...process.env, ...run.env } : undefined);
  try {
    await proc.waitOutput(/TCP Listener \(port 5555\) has started/, 20_000, 'vpnbridge listening');
    if (readlinkSync(`/proc/${proc.pid}/exe`) !== VPNBRIDGE) throw new BenchError(`PID ${proc.pid} is not vpnbridge`);
    const admin: VpncmdTarget = { netns: run.netns, dir: run.dir, port: ADMIN_PORT, adminPassword: '' };
    const adminPassword = randomBytes(12).toString('hex');
    await runVpncmd(admin, 'ServerPasswordSet', [adminPassword]);
    admin.adminPassword = adminPassword;
    const { target, mode } = run;
    await runVpncmdScript(admin, [
      ...['443', '992', '1194'].map((p) => ['ListenerDelete', p]),
      ['KeepDisable'],
      ['BridgeCreate', BRIDGE_HUB, `/DEVICE:${run.lan}`, '/TAP:no'],
      ['Hub', BRIDGE_HUB],
      ['LogDisable', 'packet'],
      ['LogDisable', 'security'],
      ['CascadeCreate', CASCADE, `/SERVER:${target.host}:${target.port}`, `/HUB:${target.hub}`, `/USERNAME:${target.user}`],
      ['CascadePasswordSet', CASCADE, `/PASSWORD:${target.password}`, '/TYPE:standard'],
      ['CascadeDetailSet', CASCADE, `/MAXTCP:${mode.connections}`, '/INTERVAL:1', '/TTL:0', '/HALF:no', `/NOQOS:${mode.connections === 1 ? 'yes' : 'no'}`],
      ...(mode.encrypt ? [] : [['CascadeEncryptDisable', CASCADE]]),
      ['CascadeOnline', CASCADE],
    ]);
    return { process: proc, dir: run.dir };
  } catch (e) {
    await proc.stop(5000).catch(() => proc.killNow());
    throw e;
  }
}

export async function stopSoftEtherBridge(b: SoftEtherBridge): Promise<void> {
  try {
    await b.process.stop(8000);
  } finally {
    rmSync(b.dir, { recursive: true, force: true });
  }
}
