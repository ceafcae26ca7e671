/**
 * Debian's kernel for the image: the linux-image-<release>-amd64 .deb (fetched once with `apt-get download` into a
 * cache directory, or given with --kernel-deb), unpacked with dpkg-deb -x, its module dependencies computed with
 * depmod (the .deb has no modules.dep: its postinst makes it), and the modules a list names resolved through
 * modules.dep so exactly those and what they need are shipped.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ImageError, run } from './util.ts';

export interface Kernel {
  /** uname -r, e.g. 6.1.0-57-amd64 */
  release: string;
  deb: string;
  vmlinuz: string;
  /** the unpacked tree's lib/modules/<release> */
  moduleDir: string;
  /** module name (underscores) → path relative to moduleDir */
  modules: Map<string, string>;
  /** module path → the paths it needs (modules.dep, already the whole closure) */
  deps: Map<string, string[]>;
  builtin: Set<string>;
}

const norm = (name: string) => name.replace(/-/g, '_');

/** The .deb of the kernel package `linux-image-amd64` depends on, downloaded into cacheDir unless it is there. */
export function fetchKernelDeb(cacheDir: string, log: (s: string) => void, updated = false): string {
  let pkg: string | null = null;
  try {
    pkg = /Depends: (linux-image-[0-9][^\s]*)/.exec(run('apt-cache', ['depends', 'linux-image-amd64']))?.[1] ?? null;
  } catch {
    pkg = null;
  }
  if (!pkg && !updated) {
    // no package lists yet (a fresh machine): fetch them once
    try {
      run('apt-get', ['update', '-qq']);
      return fetchKernelDeb(cacheDir, log, true);
    } catch {
      // offline: fall through to the cache
    }
  }
  const cached = () =>
    run('sh', ['-c', 'ls -1 "$1"/linux-image-[0-9]*_amd64.deb 2>/dev/null || true', 'sh', cacheDir])
      .split('\n')
      .filter(Boolean)
      .sort();
  if (pkg) {
    const have = cached().find((f) => path.basename(f).startsWith(`${pkg}_`));
    if (have) return have;
    log(`kernel: apt-get download ${pkg} into ${cacheDir}`);
    try {
      run('apt-get', ['download', pkg], { cwd: cacheDir });
    } catch (e) {
      // stale package lists name a kernel the mirror no longer has: refresh them once and ask again
      if (updated) throw e;
      run('apt-get', ['update', '-qq']);
      return fetchKernelDeb(cacheDir, log, true);
    }
    const got = cached().find((f) => path.basename(f).startsWith(`${pkg}_`));
    if (!got) throw new ImageError(`apt-get download ${pkg} left no .deb in ${cacheDir}`);
    return got;
  }
  // No package lists (offline machine): the newest kernel already in the cache.
  const all = cached();
  if (all.length === 0) throw new ImageError(`no kernel: apt-cache does not know linux-image-amd64 and ${cacheDir} holds no linux-image-*.deb (give --kernel-deb)`);
  return all[all.length - 1]!;
}

export async function unpackKernel(deb: string, dir: string): Promise<Kernel> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  run('dpkg-deb', ['-x', deb, dir]);
  const releases = await readdir(path.join(dir, 'lib', 'modules'));
  if (releases.length !== 1) throw new ImageError(`${deb}: expected one lib/modules/<release>, found ${releases.join(', ') || 'none'}`);
  const release = releases[0]!;
  const vmlinuz = path.join(dir, 'boot', `vmlinuz-${release}`);
  if (!existsSync(vmlinuz)) throw new ImageError(`${deb}: no boot/vmlinuz-${release}`);
  run('depmod', ['-b', dir, release]);
  const moduleDir = path.join(dir, 'lib', 'modules', release);
  const modules = new Map<string, string>();
  const deps = new Map<string, string[]>();
  for (const line of (await readFile(path.join(moduleDir, 'modules.dep'), 'utf8')).split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const file = m[1]!;
    modules.set(norm(path.basename(file).replace(/\.ko(\.[a-z]+)?$/, '')), file);
    deps.set(file, m[2]!.split(/\s+/).filter(Boolean));
  }
  const builtin = new Set(
    (await readFile(path.join(moduleDir, 'modules.builtin'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((f) => norm(path.basename(f).replace(/\.ko$/, ''))),
  );
  return { release, deb, vmlinuz, moduleDir, modules, deps, builtin };
}

/**
 * The module files `names` need, each after what it depends on (the load order). A built-in name needs nothing; a
 * name the kernel does not have is an error naming it.
 */
export function resolveModules(k: Kernel, names: string[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    // modules.dep lists the whole closure, the module needed last first: load from the end
    for (const d of [...(k.deps.get(file) ?? [])].reverse()) visit(d);
    order.push(file);
  };
  for (const raw of names) {
    const n = norm(raw);
    const file = k.modules.get(n);
    if (file) visit(file);
    else if (!k.builtin.has(n)) throw new ImageError(`kernel ${k.release} has no module "${raw}" (neither a .ko nor built in)`);
  }
  return order;
}

/** Copies module files into `root`/lib/modules/<release> and runs depmod there, so busybox modprobe finds them. */
export async function installModules(k: Kernel, files: string[], root: string): Promise<void> {
  const dest = path.join(root, 'lib', 'modules', k.release);
  await mkdir(dest, { recursive: true });
  for (const f of files) {
    await mkdir(path.join(dest, path.dirname(f)), { recursive: true });
    await copyFile(path.join(k.moduleDir, f), path.join(dest, f));
  }
  for (const f of ['modules.order', 'modules.builtin', 'modules.builtin.modinfo']) {
    await copyFile(path.join(k.moduleDir, f), path.join(dest, f));
  }
  run('depmod', ['-b', root, k.release]);
}

/** Module names listed one per line ('#' comments, blank lines ignored). */
export async function readModuleList(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}
