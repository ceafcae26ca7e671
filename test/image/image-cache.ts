/**
 * The test's image: dist/sebridge-linux-x64 (built by scripts/pkg.ts, ≈ 10 s with npm's cache warm), then the
 * appliance image from scripts/image/build.ts, cached by the hash of everything it is made of (like the harness
 * caches the server's one-time setup), so a run whose inputs did not change boots the image the last run built.
 * The cache keeps the two newest images.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, DEFAULT_CACHE, packageVersion, resolveInputs, type BuildOptions } from '../../scripts/image/build.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
export const EXE = join(ROOT, 'dist', 'sebridge-linux-x64');
const KEEP = 2;

export interface CachedImage {
  dir: string;
  disk: string;
  firmware: string;
  publicKey: string;
  kernel: string;
  version: string;
  built: boolean;
  /** what the assembler printed, or "cached" */
  report: string;
}

export function buildExecutable(): string {
  const r = spawnSync(NODE, [join(ROOT, 'scripts', 'pkg.ts'), '--arch', 'x64', '--no-web-build'], { cwd: ROOT, encoding: 'utf8', timeout: 280_000 });
  if (r.status !== 0) throw new Error(`npm run pkg failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout.trim();
}

export async function cachedImage(): Promise<CachedImage> {
  const version = await packageVersion();
  const images = join(DEFAULT_CACHE, 'images');
  const opts: BuildOptions = { exe: EXE, outDir: '', cacheDir: join(DEFAULT_CACHE, 'debs'), version };
  const inputs = await resolveInputs(opts);
  const dir = join(images, inputs.hash.slice(0, 16));
  const lines: string[] = [];
  let built = false;
  if (!existsSync(join(dir, 'manifest.json'))) {
    await buildImage({ ...opts, outDir: dir, log: (l) => lines.push(l) }, inputs);
    built = true;
  }
  // Prune: the newest KEEP images stay.
  const all = readdirSync(images).filter((d) => existsSync(join(images, d, 'manifest.json')));
  all.sort((a, b) => statSync(join(images, b, 'manifest.json')).mtimeMs - statSync(join(images, a, 'manifest.json')).mtimeMs);
  for (const old of all.slice(KEEP)) if (join(images, old) !== dir) rmSync(join(images, old), { recursive: true, force: true });
  // what a killed build left (its work and staging directories)
  for (const e of readdirSync(images)) if (/\.(work|new)$/.test(e)) rmSync(join(images, e), { recursive: true, force: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { kernel: string; sizes: Record<string, number> };
  const base = `sebridge-${version}-x86_64`;
  return {
    dir,
    disk: join(dir, `${base}.img`),
    firmware: join(dir, `${base}.fw`),
    publicKey: join(dir, 'firmware-key.pub'),
    kernel: manifest.kernel,
    version,
    built,
    report: built ? lines.join('\n') : `cached image ${dir} (${Object.entries(manifest.sizes).map(([n, s]) => `${n} ${(s / 1048576).toFixed(1)} MiB`).join(', ')})`,
  };
}
