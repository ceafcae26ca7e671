/**
 * Consistency checks of the BR2_EXTERNAL tree in buildroot/ that need neither Buildroot nor the network: what a
 * `make NAME_defconfig && make` would trip over late (a missing file, a package Buildroot never sees, a download
 * without a hash) found in milliseconds. Buildroot's own rules are cited from its manual and package/pkg-*.mk.
 *
 * checkTree(dir) returns every problem found (empty = consistent); each names its check and the file.
 */
import { constants } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

export type CheckName =
  | 'external-desc' | 'package-files' | 'package-sourced' | 'mk-prefix' | 'hash' | 'defconfig'
  | 'defconfig-path' | 'checkout-path' | 'executable' | 'fragment' | 'layout' | 'version';

export interface TreeProblem {
  check: CheckName;
  file: string;
  message: string;
}

const HASH_LENGTHS: Record<string, number> = { md5: 32, sha1: 40, sha224: 56, sha256: 64, sha384: 96, sha512: 128 };

/** Options whose value is a list of script paths Buildroot runs (system/Config.in). */
const SCRIPT_OPTIONS = [
  'BR2_ROOTFS_PRE_BUILD_SCRIPT', 'BR2_ROOTFS_POST_BUILD_SCRIPT', 'BR2_ROOTFS_POST_FAKEROOT_SCRIPT',
  'BR2_ROOTFS_POST_IMAGE_SCRIPT',
];

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

async function isExecutableFile(p: string): Promise<boolean> {
  try {
    const s = await stat(p);
    if (!s.isFile()) return false;
    await access(p, constants.X_OK);
    return (s.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

async function listFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, r)));
    else out.push(r);
  }
  return out.sort();
}

/** external.desc: `key: value` lines; `name` mandatory, [A-Za-z0-9_] only (Buildroot manual, "external.desc"). */
export function parseExternalDesc(text: string): { name?: string; desc?: string; errors: string[] } {
  const errors: string[] = [];
  const result: { name?: string; desc?: string; errors: string[] } = { errors };
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const m = /^(\w+): +(.+)$/.exec(line);
    if (!m) {
      errors.push(`line ${i + 1}: not "keyword: value": ${JSON.stringify(line)}`);
      continue;
    }
    const [, key, value] = m;
    if (key === 'name') {
      if (!/^[A-Za-z0-9_]+$/.test(value!)) errors.push(`name "${value}" has characters outside [A-Za-z0-9_]`);
      result.name = value;
    } else if (key === 'desc') result.desc = value;
    else errors.push(`line ${i + 1}: unknown keyword "${key}" (only name and desc exist)`);
  }
  if (result.name === undefined) errors.push('no name: line');
  return result;
}

interface Defconfig {
  file: string;
  values: Map<string, string>;
  unset: Set<string>;
  errors: string[];
}

export function parseDefconfig(file: string, text: string): Defconfig {
  const values = new Map<string, string>();
  const unset = new Set<string>();
  const errors: string[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const set = /^(BR2_\w+)=(.*)$/.exec(line);
    const notSet = /^# (BR2_\w+) is not set$/.exec(line);
    if (set) {
      if (values.has(set[1]!) || unset.has(set[1]!)) errors.push(`line ${i + 1}: ${set[1]} given twice`);
      values.set(set[1]!, set[2]!);
    } else if (notSet) {
      if (values.has(notSet[1]!) || unset.has(notSet[1]!)) errors.push(`line ${i + 1}: ${notSet[1]} given twice`);
      unset.add(notSet[1]!);
    } else if (!line.startsWith('#')) errors.push(`line ${i + 1}: not an option line: ${JSON.stringify(line)}`);
  }
  return { file, values, unset, errors };
}

function unquote(v: string): string {
  return v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** Make-style variable assignments and define blocks of a .mk file (continuation lines joined). */
function mkAssignments(text: string): Array<{ name: string; value: string; line: number }> {
  const out: Array<{ name: string; value: string; line: number }> = [];
  const lines = text.split('\n');
  let inDefine = false;
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    const start = i;
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    if (inDefine) {
      if (/^endef\b/.test(line)) inDefine = false;
      continue;
    }
    const def = /^define\s+(\S+)/.exec(line);
    if (def) {
      out.push({ name: def[1]!, value: '', line: start + 1 });
      inDefine = true;
      continue;
    }
    const m = /^([A-Za-z0-9_]+)\s*(?:\+|:|\?)?=\s*(.*)$/.exec(line);
    if (m) out.push({ name: m[1]!, value: m[2]!.trim(), line: start + 1 });
  }
  return out;
}

/** $(VAR) references expanded from the .mk's own simple assignments (enough for _SOURCE = name-$(VERSION).tgz). */
function expand(value: string, vars: Map<string, string>, depth = 0): string {
  if (depth > 10) return value;
  return value.replace(/\$\(([A-Za-z0-9_]+)\)/g, (all, name: string) => {
    const v = vars.get(name);
    return v === undefined ? all : expand(v, vars, depth + 1);
  });
}

/** The files Buildroot downloads for a package, following package/pkg-generic.mk and pkg-download.mk. */
export function downloadsOf(prefix: string, mkText: string): { files: string[]; licenseFiles: string[] } {
  const assigns = mkAssignments(mkText);
  const vars = new Map<string, string>();
  for (const a of assigns) vars.set(a.name, vars.has(a.name) && a.value ? `${vars.get(a.name)} ${a.value}` : a.value);
  const get = (suffix: string): string | undefined => {
    const v = vars.get(`${prefix}_${suffix}`);
    return v === undefined ? undefined : expand(v, vars);
  };
  const method = get('SITE_METHOD');
  const files: string[] = [];
  const site = get('SITE');
  if (method !== 'local' && site !== undefined && site !== '') {
    // Buildroot's default _SOURCE: <name>-$(VERSION).tar.gz
    const source = get('SOURCE') ?? `${prefix.toLowerCase().replaceAll('_', '-')}-${get('VERSION') ?? ''}.tar.gz`;
    if (source !== '') files.push(source);
  }
  for (const extra of (get('EXTRA_DOWNLOADS') ?? '').split(/\s+/)) if (extra) files.push(path.basename(extra));
  for (const patch of (get('PATCH') ?? '').split(/\s+/)) if (patch) files.push(path.basename(patch));
  const licenseFiles = (get('LICENSE_FILES') ?? '').split(/\s+/).filter(Boolean);
  return { files, licenseFiles };
}

/** `$(BR2_EXTERNAL_<NAME>_PATH)/x` → absolute path; other words are not ours to check (Buildroot-relative). */
function externalPaths(value: string, name: string, treeDir: string): string[] {
  const token = `$(BR2_EXTERNAL_${name}_PATH)`;
  return unquote(value)
    .split(/\s+/)
    .filter((w) => w.startsWith(token))
    .map((w) => path.resolve(treeDir, `.${w.slice(token.length)}`));
}

/** A genimage configuration reduced to what the layout contract (docs/firmware.md) needs. */
export function genimageLayout(text: string): { partitions: Array<{ name: string; body: string }>; images: Map<string, string> } {
  const images = new Map<string, string>();
  const partitions: Array<{ name: string; body: string }> = [];
  // Top-level `image NAME { ... }` blocks, brace-matched.
  const re = /^image\s+(\S+)\s*\{/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    let depth = 1;
    let i = re.lastIndex;
    while (i < text.length && depth > 0) {
      if (text[i] === '{') depth++;
      else if (text[i] === '}') depth--;
      i++;
    }
    images.set(m[1]!, text.slice(re.lastIndex, i - 1));
  }
  for (const body of images.values()) {
    const pre = /partition\s+(\S+)\s*\{([^}]*)\}/g;
    let p: RegExpExecArray | null;
    while ((p = pre.exec(body))) {
      if (/in-partition-table\s*=\s*"?no"?/.test(p[2]!)) continue;
      partitions.push({ name: p[1]!, body: p[2]! });
    }
  }
  return { partitions, images };
}

export interface CheckOptions {
  /** The package that every defconfig must select. */
  requiredPackage?: string;
}

export async function checkTree(treeDir: string, opts: CheckOptions = {}): Promise<TreeProblem[]> {
  const problems: TreeProblem[] = [];
  const add = (check: CheckName, file: string, message: string): void => {
    problems.push({ check, file: path.relative(treeDir, file) || file, message });
  };
  const requiredPackage = opts.requiredPackage ?? 'BR2_PACKAGE_SEBRIDGE';
  const checkoutDir = path.dirname(treeDir);

  // external.desc
  const descFile = path.join(treeDir, 'external.desc');
  let name = '';
  if (!(await exists(descFile))) add('external-desc', descFile, 'missing');
  else {
    const desc = parseExternalDesc(await readFile(descFile, 'utf8'));
    for (const e of desc.errors) add('external-desc', descFile, e);
    name = desc.name ?? '';
  }
  // Without the name nothing else can be resolved ($(BR2_EXTERNAL_<name>_PATH) is everywhere).
  if (name === '') return problems;
  for (const f of ['Config.in', 'external.mk']) {
    if (!(await exists(path.join(treeDir, f)))) add('package-files', path.join(treeDir, f), 'missing (a br2-external tree needs it)');
  }

  // Packages: Config.in, <pkg>.mk, <pkg>.hash; sourced from the top Config.in; the .mk's variables carry the prefix.
  const topConfig = (await exists(path.join(treeDir, 'Config.in'))) ? await readFile(path.join(treeDir, 'Config.in'), 'utf8') : '';
  const sourced = new Set<string>();
  for (const m of topConfig.matchAll(/^\s*(?:o|r)?source\s+"([^"]+)"/gm)) {
    const p = m[1]!.replace(`$BR2_EXTERNAL_${name}_PATH`, treeDir);
    if (p.includes('$')) add('package-sourced', path.join(treeDir, 'Config.in'), `sources ${m[1]} through another variable than $BR2_EXTERNAL_${name}_PATH`);
    else if (!(await exists(p))) add('package-sourced', path.join(treeDir, 'Config.in'), `sources ${m[1]}, which does not exist`);
    sourced.add(path.resolve(p));
  }
  const externalMk = (await exists(path.join(treeDir, 'external.mk'))) ? await readFile(path.join(treeDir, 'external.mk'), 'utf8') : '';
  const includesAll = externalMk.includes(`$(BR2_EXTERNAL_${name}_PATH)/package/*/*.mk`);
  const pkgRoot = path.join(treeDir, 'package');
  const pkgDirs = (await exists(pkgRoot)) ? (await readdir(pkgRoot, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name) : [];
  if (pkgDirs.length === 0) add('package-files', pkgRoot, 'no package directory');
  const packageSymbols = new Set<string>();
  for (const pkg of pkgDirs) {
    const dir = path.join(pkgRoot, pkg);
    const prefix = pkg.toUpperCase().replaceAll('-', '_');
    const configIn = path.join(dir, 'Config.in');
    const mk = path.join(dir, `${pkg}.mk`);
    const hash = path.join(dir, `${pkg}.hash`);
    for (const f of [configIn, mk, hash]) if (!(await exists(f))) add('package-files', f, 'missing');
    if (!sourced.has(path.resolve(configIn))) add('package-sourced', configIn, `not sourced from ${path.join(treeDir, 'Config.in')}`);
    if (!includesAll && !externalMk.includes(`/package/${pkg}/${pkg}.mk`)) add('package-sourced', mk, 'not included from external.mk');
    if (await exists(configIn)) {
      const text = await readFile(configIn, 'utf8');
      if (!new RegExp(`^config BR2_PACKAGE_${prefix}$`, 'm').test(text)) add('mk-prefix', configIn, `defines no BR2_PACKAGE_${prefix}`);
      for (const m of text.matchAll(/^(?:menu)?config (BR2_PACKAGE_\w+)$/gm)) packageSymbols.add(m[1]!);
    }
    if (!(await exists(mk))) continue;
    const mkText = await readFile(mk, 'utf8');
    for (const a of mkAssignments(mkText)) {
      if (!a.name.startsWith(`${prefix}_`) && !a.name.startsWith(`HOST_${prefix}_`)) {
        add('mk-prefix', mk, `line ${a.line}: ${a.name} does not start with ${prefix}_ (the package directory is ${pkg})`);
      }
    }
    if (!/\$\(eval \$\((host-)?[a-z0-9-]*package\)\)/.test(mkText)) add('mk-prefix', mk, 'no $(eval $(...-package)) line');

    // Hashes for everything Buildroot downloads (and the license files legal-info checks).
    const { files, licenseFiles } = downloadsOf(prefix, mkText);
    const hashed = new Set<string>();
    if (await exists(hash)) {
      for (const [i, line] of (await readFile(hash, 'utf8')).split('\n').entries()) {
        if (line.trim() === '' || line.startsWith('#')) continue;
        const f = line.split(/\s+/);
        const want = HASH_LENGTHS[f[0]!];
        if (f.length !== 3) add('hash', hash, `line ${i + 1}: expected "type hash file", got ${f.length} fields`);
        else if (want === undefined) add('hash', hash, `line ${i + 1}: unknown hash type ${f[0]}`);
        else if (!new RegExp(`^[0-9a-f]{${want}}$`).test(f[1]!)) add('hash', hash, `line ${i + 1}: not a ${f[0]} (${want} hex digits)`);
        else hashed.add(f[2]!);
      }
    }
    for (const f of [...files, ...licenseFiles]) if (!hashed.has(f)) add('hash', hash, `no hash for ${f}, which ${files.includes(f) ? 'Buildroot downloads' : 'legal-info checks'}`);

    // Where the package installs the executable is where rootfs/'s supervisor runs it from.
    const installed = /\$\(TARGET_DIR\)(\/\S+)/.exec(mkText)?.[1];
    const supervise = path.join(checkoutDir, 'rootfs', 'usr', 'libexec', 'sebridge', 'supervise');
    if (pkg === 'sebridge' && (await exists(supervise))) {
      const runs = /^EXE=(\S+)/m.exec(await readFile(supervise, 'utf8'))?.[1];
      if (runs !== installed) add('checkout-path', mk, `installs the executable as ${installed}, rootfs/usr/libexec/sebridge/supervise runs ${runs}`);
    }

    // The package's version is the project's.
    const version = /^\S+_VERSION\s*=\s*(\S+)/m.exec(mkText)?.[1];
    const pkgJson = path.join(checkoutDir, 'package.json');
    if (pkg === 'sebridge' && (await exists(pkgJson))) {
      const want = (JSON.parse(await readFile(pkgJson, 'utf8')) as { version?: string }).version;
      if (version !== want) add('version', mk, `SEBRIDGE_VERSION is ${version}, package.json says ${want}`);
    }
  }
  if (!packageSymbols.has(requiredPackage)) add('package-files', pkgRoot, `no package defines ${requiredPackage}`);

  // Every executable-looking file in the tree (shell scripts) must be executable.
  const all = await listFiles(treeDir);
  for (const f of all) {
    if (!f.endsWith('.sh')) continue;
    if (!(await isExecutableFile(path.join(treeDir, f)))) add('executable', path.join(treeDir, f), 'not executable (chmod +x)');
  }

  // Defconfigs.
  const configsDir = path.join(treeDir, 'configs');
  const defconfigs = all.filter((f) => f.startsWith('configs/') && f.endsWith('_defconfig'));
  if (defconfigs.length === 0) add('defconfig', configsDir, 'no configs/*_defconfig');
  for (const rel of defconfigs) {
    const file = path.join(treeDir, rel);
    const d = parseDefconfig(file, await readFile(file, 'utf8'));
    for (const e of d.errors) add('defconfig', file, e);
    if (d.values.get(requiredPackage) !== 'y') add('defconfig', file, `does not select ${requiredPackage}=y`);
    if (d.values.get('BR2_DOWNLOAD_FORCE_CHECK_HASHES') !== 'y') add('defconfig', file, 'no BR2_DOWNLOAD_FORCE_CHECK_HASHES=y (every download checked)');
    if (d.values.get('BR2_TARGET_ROOTFS_SQUASHFS') !== 'y') add('defconfig', file, 'no BR2_TARGET_ROOTFS_SQUASHFS=y (docs/firmware.md: squashfs slots)');
    if (d.values.has('BR2_INIT_SYSV') || d.values.has('BR2_INIT_SYSTEMD') || d.values.has('BR2_INIT_OPENRC') || d.values.get('BR2_INIT_BUSYBOX') !== 'y') {
      add('defconfig', file, 'not BR2_INIT_BUSYBOX=y (rootfs/ is a busybox-init overlay)');
    }
    const strip = unquote(d.values.get('BR2_STRIP_EXCLUDE_FILES') ?? '').split(/\s+/);
    if (!d.unset.has('BR2_STRIP_strip') && !strip.includes('sebridge')) {
      add('defconfig', file, 'BR2_STRIP_EXCLUDE_FILES does not name sebridge (strip breaks the single executable; the package refuses)');
    }
    for (const sym of d.values.keys()) {
      if (sym.startsWith('BR2_EXTERNAL_')) add('defconfig', file, `${sym} is not an option`);
    }
    // Every $(BR2_EXTERNAL_<NAME>_PATH) path exists; other externals' variables are a mistake here.
    for (const [sym, value] of d.values) {
      for (const other of value.matchAll(/\$\(BR2_EXTERNAL_(\w+)_PATH\)/g)) {
        if (other[1] !== name) add('defconfig-path', file, `${sym} uses $(BR2_EXTERNAL_${other[1]}_PATH), this tree is ${name}`);
      }
      for (const p of externalPaths(value, name, treeDir)) {
        if (await exists(p)) continue;
        // Outside buildroot/ (rootfs/, scripts/image/): the sebridge checkout's files this tree builds on.
        const outside = path.relative(treeDir, p).startsWith('..');
        add(outside ? 'checkout-path' : 'defconfig-path', file, `${sym} names ${path.relative(checkoutDir, p)}, which does not exist`);
      }
    }
    for (const opt of SCRIPT_OPTIONS) {
      for (const p of externalPaths(d.values.get(opt) ?? '', name, treeDir)) {
        if ((await exists(p)) && !(await isExecutableFile(p))) add('executable', file, `${opt} names ${path.relative(treeDir, p)}, which is not executable`);
      }
    }
    // Fragments are Kconfig fragments.
    for (const opt of ['BR2_LINUX_KERNEL_CONFIG_FRAGMENT_FILES', 'BR2_PACKAGE_BUSYBOX_CONFIG_FRAGMENT_FILES', 'BR2_TARGET_UBOOT_CONFIG_FRAGMENT_FILES']) {
      for (const p of externalPaths(d.values.get(opt) ?? '', name, treeDir)) {
        if (!(await exists(p))) continue;
        for (const [i, line] of (await readFile(p, 'utf8')).split('\n').entries()) {
          if (line === '' || /^CONFIG_\w+=.+$/.test(line) || /^# CONFIG_\w+ is not set$/.test(line) || (line.startsWith('#') && !line.startsWith('# CONFIG_'))) continue;
          add('fragment', p, `line ${i + 1}: not CONFIG_X=value, "# CONFIG_X is not set" or a comment: ${JSON.stringify(line)}`);
        }
      }
    }
    // The board directory given to the post-image script holds a genimage configuration with the A/B layout.
    const args = externalPaths(d.values.get('BR2_ROOTFS_POST_SCRIPT_ARGS') ?? '', name, treeDir);
    const boardDir = args.find((p) => path.relative(treeDir, p).startsWith(`board${path.sep}`));
    if (!boardDir) {
      add('layout', file, 'BR2_ROOTFS_POST_SCRIPT_ARGS names no board directory of this tree');
      continue;
    }
    const cfg = [path.join(boardDir, 'genimage.cfg'), path.join(boardDir, 'genimage.cfg.in')];
    const cfgFile = (await exists(cfg[0]!)) ? cfg[0]! : (await exists(cfg[1]!)) ? cfg[1]! : undefined;
    if (!cfgFile) {
      add('layout', file, `${path.relative(treeDir, boardDir)} has no genimage.cfg or genimage.cfg.in`);
      continue;
    }
    problems.push(...checkLayout(cfgFile, await readFile(cfgFile, 'utf8')).map((p) => ({ ...p, file: path.relative(treeDir, p.file) })));
  }
  return problems;
}

/** docs/firmware.md's disk: partitions 1-4 = SEBOOT (vfat), slot A (rootfs.squashfs), slot B, SEDATA (ext4). */
export function checkLayout(file: string, text: string): TreeProblem[] {
  const problems: TreeProblem[] = [];
  const add = (message: string): void => {
    problems.push({ check: 'layout', file, message });
  };
  const { partitions, images } = genimageLayout(text);
  if (!images.has('disk.img')) add('no image disk.img');
  if (partitions.length !== 4) {
    add(`${partitions.length} partitions in the partition table, docs/firmware.md has 4 (${partitions.map((p) => p.name).join(', ')})`);
    return problems;
  }
  const imageOf = (body: string): string | undefined => /image\s*=\s*"([^"]+)"/.exec(body)?.[1];
  const fsImage = (n: number, kind: 'vfat' | 'ext4', label: string): void => {
    const img = imageOf(partitions[n - 1]!.body);
    const def = img === undefined ? undefined : images.get(img);
    if (def === undefined) add(`partition ${n} (${partitions[n - 1]!.name}) has no image made in this file`);
    else if (!new RegExp(`\\b${kind}\\s*\\{`).test(def)) add(`partition ${n}: ${img} is not a ${kind} image`);
    else if (!new RegExp(`label\\s*=\\s*"${label}"`).test(def)) add(`partition ${n}: ${img} is not labelled ${label}`);
  };
  fsImage(1, 'vfat', 'SEBOOT');
  if (imageOf(partitions[1]!.body) !== 'rootfs.squashfs') add(`partition 2 (slot A) holds ${imageOf(partitions[1]!.body) ?? 'nothing'}, not rootfs.squashfs`);
  const slotB = partitions[2]!.body;
  if (imageOf(slotB) !== undefined && imageOf(slotB) !== 'rootfs.squashfs') add(`partition 3 (slot B) holds ${imageOf(slotB)}`);
  const sizeOf = (body: string): string | undefined => /size\s*=\s*(\S+)/.exec(body)?.[1];
  if (sizeOf(partitions[1]!.body) === undefined || sizeOf(partitions[1]!.body) !== sizeOf(slotB)) {
    add(`slots A and B differ in size (${sizeOf(partitions[1]!.body) ?? 'none'} / ${sizeOf(slotB) ?? 'none'}): an upgrade writes either`);
  }
  fsImage(4, 'ext4', 'SEDATA');
  return problems;
}
