import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * vpnserver and vpncmd use compiled-in paths (/var/lib/softether, /var/log/softether,
 * /run/softether, /tmp) with no command-line override. Each instance therefore runs in its own
 * mount namespace with our private directories bound over those paths, inside its network
 * namespace. Every process of an instance (server and each vpncmd) gets the same view.
 */
export const SOFTETHER_PATHS = {
  lib: '/var/lib/softether',
  log: '/var/log/softether',
  run: '/run/softether',
  tmp: '/tmp',
} as const;

export const VPNSERVER = '/usr/libexec/softether/vpnserver/vpnserver';
export const VPNCMD = '/usr/libexec/softether/vpncmd/vpncmd';

/** The bind targets must exist; on these machines systemd never ran the unit that would make them. */
export function ensureMountTargets(): void {
  for (const p of [SOFTETHER_PATHS.lib, SOFTETHER_PATHS.log, SOFTETHER_PATHS.run]) mkdirSync(p, { recursive: true, mode: 0o755 });
}

function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * argv that runs `program args...` in the instance's network namespace and a fresh private mount
 * namespace with the binds. Every step execs (setpriv, ip netns exec, unshare, sh's exec), so the
 * PID we spawn ends up being `program` itself. setpriv's parent-death signal makes the program die
 * with the test process even if that is SIGKILLed and no exit handler runs.
 */
export function jailedArgv(netns: string, dir: string, program: string[]): string[] {
  const binds = (Object.keys(SOFTETHER_PATHS) as Array<keyof typeof SOFTETHER_PATHS>)
    // /tmp last: the sources live under the real /tmp and must be reachable while binding.
    .map((k) => `mount --bind ${shQuote(join(dir, k))} ${SOFTETHER_PATHS[k]}`)
    .join(' && ');
  return [
    'setpriv', '--pdeathsig', 'KILL',
    'ip', 'netns', 'exec', netns,
    'unshare', '--mount', '--propagation', 'private',
    'sh', '-c', `${binds} && exec "$@"`, 'jail',
    ...program,
  ];
}
