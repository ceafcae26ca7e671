import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Everything one benchmark run creates is named "sebp" + one random token, so runs of other engineers' tests
 * (sebt-*, sebn*) and a second benchmark never collide with it, and a leftover is recognisable by its name alone.
 * Interface names stay at 12 characters (the kernel limit is 15).
 */
export const PREFIX = 'sebp';
export const TOKEN_RE = /^[0-9a-f]{6}$/;

export interface BenchNames {
  token: string;
  /** host A's namespace: the LAN behind the bridge under test (iperf3 client, ping) */
  nsA: string;
  /** host B's namespace: the LAN behind the server's own local bridge (iperf3 server) */
  nsB: string;
  /** the namespace the bridge under test runs in (sebridge or vpnbridge, never both at once) */
  nsBridge: string;
  /** host A's veth end (in nsA) */
  hostA: string;
  /** the bridge's LAN veth end (in nsBridge), the interface it bridges */
  bridgeLan: string;
  /** the bridge's uplink veth end (in nsBridge), towards the server */
  bridgeUp: string;
  /** the server's end of the uplink (in the server's namespace) */
  serverUp: string;
  /** host B's veth end (in nsB) */
  hostB: string;
  /** the server's local-bridge veth end (in the server's namespace) */
  serverLan: string;
  /** scratch directory for private SoftEther state directories and profiles */
  dir: string;
}

export function benchNames(token = randomBytes(3).toString('hex')): BenchNames {
  const p = `${PREFIX}${token}`;
  return {
    token,
    nsA: `${p}a`,
    nsB: `${p}b`,
    nsBridge: `${p}r`,
    hostA: `${p}ha`,
    bridgeLan: `${p}lr`,
    bridgeUp: `${p}ur`,
    serverUp: `${p}us`,
    hostB: `${p}hb`,
    serverLan: `${p}sb`,
    dir: join(tmpdir(), `${PREFIX}-${token}`),
  };
}

/** Owner markers (token -> PID) so a later run can remove what a SIGKILLed run left, never a live run's. */
export const OWNER_DIR = '/run/sebp-bench';
