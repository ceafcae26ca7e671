import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { VPNCMD, VPNSERVER } from './jail.ts';

export type Capability = { ok: true } | { ok: false; reason: string };

let cached: Capability | undefined;

function works(argv: string[]): string | undefined {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return `${argv[0]}: ${r.error.message}`;
  if (r.status !== 0) return `${argv.join(' ')} exited ${r.status}: ${`${r.stderr}`.trim().slice(0, 200)}`;
  return undefined;
}

/**
 * Can this machine run the real server the way the harness does? The reason text is for a LOUD
 * skip; CI runs as root with the Debian packages installed and must never hit it.
 */
export function serverCapability(): Capability {
  if (cached) return cached;
  cached = check();
  return cached;
}

function check(): Capability {
  if (process.platform !== 'linux') return { ok: false, reason: `needs Linux, this is ${process.platform}` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root (network and mount namespaces)' };
  for (const [bin, pkg] of [[VPNSERVER, 'softether-vpnserver'], [VPNCMD, 'softether-vpncmd']] as const) {
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      return { ok: false, reason: `${bin} missing: apt-get install ${pkg}` };
    }
  }
  const tools: Array<[string[], string]> = [
    [['ip', 'netns', 'list'], 'iproute2 with netns support'],
    [['unshare', '--mount', '--net', 'true'], 'unshare (util-linux) and permission to create namespaces'],
    [['setpriv', '--pdeathsig', 'KILL', 'true'], 'setpriv (util-linux)'],
    [['timeout', '1', 'true'], 'timeout (coreutils)'],
    [['ss', '-V'], 'ss (iproute2)'],
    [['openssl', 'version'], 'openssl'],
  ];
  for (const [argv, what] of tools) {
    const why = works(argv);
    if (why) return { ok: false, reason: `needs ${what}: ${why}` };
  }
  return { ok: true };
}
