import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LongChild } from './child.ts';
import type { CascadeTarget, Mode } from './modes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Node from the project's own dependency (the machine's /usr/bin/node is older). */
export const NODE = realpathSync(`${ROOT}node_modules/.bin/node`);
/** The command as users run it; --sebridge-cli can point at another entry (e.g. a compiled build) instead. */
export const DEFAULT_CLI = `${ROOT}bin/sebridge.js`;
const PASSWORD_ENV = 'SEBP_BENCH_PASSWORD';

import { shebangNodeFlags } from '../../test/harness/shebang-flags.ts';

export { shebangNodeFlags };

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
  /** extra environment variables (what-ifs) */
  env?: Record<string, string>;
}

/**
 * `sebridge link` as a child process in the bridge namespace, run exactly as a user would (bin/sebridge.js).
 * setpriv's parent-death signal takes it down with the benchmark even if the benchmark is SIGKILLed.
 */
export function startSebridge(run: SebridgeRun): LongChild {
  const { target, mode } = run;
  const cli = run.cli ?? DEFAULT_CLI;
  const argv = [
    'setpriv', '--pdeathsig', 'KILL',
    'ip', 'netns', 'exec', run.netns,
    NODE,
    ...shebangNodeFlags(cli),
    ...(run.nodeFlags ?? []),
    ...(run.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', run.cpuProfileDir] : []),
    cli, 'link',
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
  return new LongChild(argv, { ...process.env, ...run.env, [PASSWORD_ENV]: target.password });
}

export function isSebridge(pid: number): boolean {
  try {
    return realpathSync(`/proc/${pid}/exe`) === NODE;
  } catch {
    return false;
  }
}

function newestMtime(dir: string, suffix: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(suffix)) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/**
 * bin/sebridge.js runs the compiled dist/; a benchmark of a dist/ older than src/ would measure old code.
 * Returns a warning, or undefined when dist/ is at least as new as every source file (or not used at all).
 */
export function staleBuildWarning(): string | undefined {
  const dist = `${ROOT}dist`;
  try {
    if (!readFileSync(DEFAULT_CLI, 'utf8').includes('dist/')) return undefined;
    const built = newestMtime(dist, '.js');
    if (built === 0) return `${dist} is empty: run \`npm run build\` first`;
    if (newestMtime(`${ROOT}src`, '.ts') > built) return `${dist} is older than src/: run \`npm run build\` or sebridge runs old code`;
    return undefined;
  } catch (e) {
    return `cannot check ${dist}: ${(e as Error).message} (run \`npm run build\`)`;
  }
}
