import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LongChild } from './child.ts';
import type { CascadeTarget, Mode } from './modes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Node 24 from the project's own dependency (the machine's /usr/bin/node is older). */
export const NODE = realpathSync(`${ROOT}node_modules/.bin/node`);
/** The command as users run it; --sebridge-cli can point at another entry (e.g. a compiled build) instead. */
export const DEFAULT_CLI = `${ROOT}bin/sebridge.js`;
const PASSWORD_ENV = 'SEBP_BENCH_PASSWORD';

export interface SebridgeRun {
  netns: string;
  lan: string;
  target: CascadeTarget;
  mode: Mode;
  /** write a V8 CPU profile (.cpuprofile) into this directory when the process exits */
  cpuProfileDir?: string;
  /** extra options for node itself, before the script */
  nodeFlags?: string[];
  /** entry script instead of bin/sebridge.js */
  cli?: string;
}

/**
 * `sebridge link` as a child process in the bridge namespace, run exactly as a user would (bin/sebridge.js).
 * setpriv's parent-death signal takes it down with the benchmark even if the benchmark is SIGKILLed.
 */
export function startSebridge(run: SebridgeRun): LongChild {
  const { target, mode } = run;
  const argv = [
    'setpriv', '--pdeathsig', 'KILL',
    'ip', 'netns', 'exec', run.netns,
    NODE,
    ...(run.nodeFlags ?? []),
    ...(run.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', run.cpuProfileDir] : []),
    run.cli ?? DEFAULT_CLI, 'link',
    '--server', `${target.host}:${target.port}`,
    '--hub', target.hub,
    '--user', target.user,
    '--password-env', PASSWORD_ENV,
    '--bridge', run.lan,
    '--connections', String(mode.connections),
    ...(mode.encrypt ? [] : ['--no-encrypt']),
    // The stock cascade needs QoS off for a single connection; do the same here so both carry one TCP stream.
    ...(mode.connections === 1 ? ['--no-qos'] : []),
  ];
  return new LongChild(argv, { ...process.env, [PASSWORD_ENV]: target.password });
}

export function isSebridge(pid: number): boolean {
  try {
    return realpathSync(`/proc/${pid}/exe`) === NODE;
  } catch {
    return false;
  }
}
