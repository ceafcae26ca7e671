/**
 * Which runtime directory the single executable unpacks into, read from the command line before the command's
 * own parser runs: `run` has `--runtime-dir DIR` (default /run/sebridge, the appliance's RAM disk); `link` has no
 * such option and uses the default. Commands that need neither the addon nor the UI (help, usage errors) unpack
 * nothing, so they work on any machine.
 */
export const DEFAULT_RUNTIME_DIR = '/run/sebridge';

export interface UnpackPlan {
  runtimeDir: string;
  addon: boolean;
  web: boolean;
}

export function unpackPlan(args: readonly string[]): UnpackPlan | null {
  const command = args[0];
  if (command !== 'run' && command !== 'link') return null;
  const rest = args.slice(1);
  if (rest.includes('--help') || rest.includes('-h')) return null;
  let runtimeDir = DEFAULT_RUNTIME_DIR;
  if (command === 'run') {
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i]!;
      if (a === '--') break;
      if (a === '--runtime-dir' && i + 1 < rest.length) runtimeDir = rest[++i]!;
      else if (a.startsWith('--runtime-dir=')) runtimeDir = a.slice('--runtime-dir='.length);
    }
  }
  // An empty value is left to the command's own parser to refuse; unpacking then uses the default.
  if (runtimeDir === '') runtimeDir = DEFAULT_RUNTIME_DIR;
  return { runtimeDir, addon: true, web: command === 'run' };
}
