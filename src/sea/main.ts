/**
 * Entry point of the single executable (`npm run pkg` → dist/sebridge-linux-<arch>, built by scripts/pkg.ts).
 * Node runs this bundle from inside its own binary; the C addon and the browser UI are assets of that binary.
 * Before the normal command line runs, the addon is unpacked to the runtime RAM disk, checked against the build's
 * SHA-256 and loaded with process.dlopen, and the UI files are unpacked next to it for the web server.
 */
import { rmSync } from 'node:fs';
import { getAsset, isSea } from 'node:sea';
import { main } from '../cli.ts';
import { embedded } from '../embedded.ts';
import { setNativeAddonLoader, type NativeAddon } from '../ports/native.ts';
import { MANIFEST_KEY, loadAddonFromAsset, parseManifest, prepareRuntimeDir, unpackWeb } from './unpack.ts';
import { unpackPlan } from './runtime-dir.ts';

function warn(text: string): void {
  process.stderr.write(`sebridge: ${text}\n`);
}

async function start(): Promise<number> {
  if (!isSea()) {
    warn('src/sea/main.ts only runs inside the single executable (npm run pkg); use bin/sebridge.js otherwise');
    return 1;
  }
  // Inside a single executable argv[0] and argv[1] are both the executable; the command line starts after them.
  const args = process.argv.slice(2);
  const manifest = parseManifest(getAsset(MANIFEST_KEY, 'utf8'));
  embedded.version = manifest.version;
  if (manifest.arch !== process.arch) warn(`built for ${manifest.arch}, running on ${process.arch}`);

  const plan = unpackPlan(args);
  if (plan) {
    let dirError: unknown = null;
    try {
      const { warning } = await prepareRuntimeDir(plan.runtimeDir);
      if (warning) warn(warning);
    } catch (e) {
      dirError = e;
    }
    let addon: NativeAddon | undefined;
    let addonError: unknown = dirError;
    if (!dirError) {
      try {
        addon = await loadAddonFromAsset<NativeAddon>(plan.runtimeDir, manifest, getAsset);
      } catch (e) {
        addonError = e;
      }
    }
    if (!addon) warn(`native addon not loaded, bridging is unavailable: ${(addonError as Error).message}`);
    setNativeAddonLoader(() => {
      if (addon) return addon;
      throw addonError;
    });
    if (plan.web) {
      try {
        if (dirError) throw dirError;
        const dir = await unpackWeb(plan.runtimeDir, manifest, getAsset);
        embedded.staticDir = dir;
        // The web server reads the files once at start; the copy goes with the process (sync: 'exit' allows no more).
        process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      } catch (e) {
        embedded.staticDir = null;
        warn(`web UI not unpacked, serving the API only: ${(e as Error).message}`);
      }
    }
  }
  return main(args);
}

start().then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    warn(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
