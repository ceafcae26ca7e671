/**
 * The offline image assembler: Debian's kernel + busybox-static + the sebridge single executable (with the shared
 * libraries it needs) + e2fsprogs + OpenNTPD + rootfs/ → a squashfs root, an initrd, a bootable disk image with the
 * four partitions of docs/firmware.md, and the signed firmware file of the same build. No loop devices, no mounts:
 * sfdisk on a file, mkfs.vfat + mtools + `syslinux --install` on the FAT partition's own image file, mkfs.ext4 -d for
 * the data partition, the pieces written into the disk at their offsets.
 *
 * Usage: node scripts/image/build.ts [--exe dist/sebridge-linux-x64] [--out build/image] [--cache DIR]
 *        [--kernel-deb FILE] [--signing-key FILE.pem] [--version V]
 * Downloads (only when the cache lacks them): the kernel and openntpd .debs, with `apt-get download`.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpioNewc, type CpioEntry } from './cpio.ts';
import { loadSigningKey, writeFirmwareFile, type FirmwareHeader } from './firmware-file.ts';
import { fetchKernelDeb, installModules, readModuleList, resolveModules, unpackKernel, type Kernel } from './kernel.ts';
import { ImageError, MiB, mib, run, sha256File, which } from './util.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const HERE = path.join(ROOT, 'scripts', 'image');
const OVERLAY = path.join(ROOT, 'rootfs');

/** docs/firmware.md's disk: MBR, 1 MiB alignment, then boot (FAT), slot A, slot B, data (ext4). */
export const LAYOUT = { firstMiB: 1, bootMiB: 32, slotMiB: 256, dataMiB: 64 } as const;
export const SECTOR = 512;
export function partitionOffsets(): { boot: number; slotA: number; slotB: number; data: number; total: number } {
  const boot = LAYOUT.firstMiB * MiB;
  const slotA = boot + LAYOUT.bootMiB * MiB;
  const slotB = slotA + LAYOUT.slotMiB * MiB;
  const data = slotB + LAYOUT.slotMiB * MiB;
  return { boot, slotA, slotB, data, total: data + LAYOUT.dataMiB * MiB };
}

export const DEFAULT_CACHE = process.env.SEBRIDGE_IMAGE_CACHE || '/var/cache/sebridge-image';
/** Tools the assembler runs, with the Debian package that has each. */
export const IMAGE_TOOLS: Array<[string, string]> = [
  ['dpkg-deb', 'dpkg'], ['apt-get', 'apt'], ['depmod', 'kmod'], ['ldd', 'libc-bin'], ['mksquashfs', 'squashfs-tools'],
  ['sfdisk', 'fdisk'], ['mkfs.vfat', 'dosfstools'], ['mcopy', 'mtools'], ['syslinux', 'syslinux'], ['mkfs.ext4', 'e2fsprogs'],
  ['e2fsck', 'e2fsprogs'], ['dd', 'coreutils'],
];
const BUSYBOX = '/bin/busybox';
const SYSLINUX_MBR = '/usr/lib/syslinux/mbr/mbr.bin';

/** What is missing on this machine to assemble an image, or null. */
export function imageToolsMissing(): string | null {
  for (const [tool, pkg] of IMAGE_TOOLS) if (!which(tool)) return `${tool} (Debian package ${pkg})`;
  if (!existsSync(SYSLINUX_MBR)) return `${SYSLINUX_MBR} (Debian package syslinux-common)`;
  if (!existsSync(BUSYBOX) || !/not a dynamic executable|statically linked/.test(spawnText('ldd', [BUSYBOX]))) return `a static ${BUSYBOX} (Debian package busybox-static)`;
  return null;
}

function spawnText(cmd: string, args: string[]): string {
  try {
    return run(cmd, args);
  } catch (e) {
    return (e as Error).message;
  }
}

export interface BuildOptions {
  exe: string;
  outDir: string;
  cacheDir: string;
  kernelDeb?: string | null;
  signingKey?: string | null;
  version: string;
  /** squashfs compression (default zstd) */
  compression?: SquashfsCompression;
  log?: (line: string) => void;
}

export const SQUASHFS_COMPRESSIONS = ['zstd', 'lz4', 'xz', 'gzip', 'none'] as const;
export type SquashfsCompression = (typeof SQUASHFS_COMPRESSIONS)[number];
const COMPRESSION_ARGS: Record<SquashfsCompression, string[]> = {
  zstd: ['-comp', 'zstd', '-Xcompression-level', '15'],
  lz4: ['-comp', 'lz4', '-Xhc'],
  xz: ['-comp', 'xz'],
  gzip: ['-comp', 'gzip'],
  // file data stored as it is (metadata still compressed): for measuring what decompression costs
  none: ['-comp', 'zstd', '-noD', '-noF'],
};

export interface BuildResult {
  outDir: string;
  disk: string;
  firmware: string;
  rootfs: string;
  vmlinuz: string;
  initrd: string;
  publicKey: string;
  kernel: string;
  inputsHash: string;
  sizes: Record<string, number>;
}

interface Inputs {
  kernelDeb: string;
  ntpDeb: string;
  hash: string;
}

function debVersion(pkg: string): string {
  return spawnText('dpkg-query', ['-W', '-f=${Version}', pkg]).trim();
}

/** A package's .deb from the cache directory, downloaded there with apt-get download when missing. */
function fetchDeb(cacheDir: string, pkg: string, log: (s: string) => void): string {
  const find = () => run('sh', ['-c', 'ls -1 "$1"/"$2"_*.deb 2>/dev/null || true', 'sh', cacheDir, pkg]).split('\n').filter(Boolean).sort();
  const have = find();
  if (have.length > 0) return have[have.length - 1]!;
  log(`${pkg}: apt-get download into ${cacheDir}`);
  run('apt-get', ['download', pkg], { cwd: cacheDir });
  const got = find();
  if (got.length === 0) throw new ImageError(`apt-get download ${pkg} left no .deb in ${cacheDir}`);
  return got[got.length - 1]!;
}

async function filesBelow(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await filesBelow(dir, r)));
    else out.push(r);
  }
  return out.sort();
}

/**
 * Everything the image is made of, hashed: the overlay, this assembler, the executable, the .debs, the host
 * packages copied in, the version and the signing key. Same hash → same image (the test's cache key).
 */
export async function resolveInputs(o: BuildOptions): Promise<Inputs> {
  const log = o.log ?? (() => {});
  await mkdir(o.cacheDir, { recursive: true });
  const kernelDeb = o.kernelDeb ?? fetchKernelDeb(o.cacheDir, log);
  if (!existsSync(kernelDeb)) throw new ImageError(`--kernel-deb: ${kernelDeb} does not exist`);
  const ntpDeb = fetchDeb(o.cacheDir, 'openntpd', log);
  const h = createHash('sha256');
  const add = (k: string, v: string | Buffer) => h.update(`${k}\0`).update(v).update('\0');
  for (const dir of [OVERLAY, HERE]) {
    for (const f of await filesBelow(dir)) {
      const p = path.join(dir, f);
      const st = await lstat(p);
      add(`${path.relative(ROOT, p)}:${st.mode}`, st.isSymbolicLink() ? await readlink(p) : await readFile(p));
    }
  }
  add('exe', await sha256File(o.exe));
  for (const deb of [kernelDeb, ntpDeb]) add('deb', `${path.basename(deb)}:${(await stat(deb)).size}`);
  for (const pkg of ['busybox-static', 'e2fsprogs', 'syslinux', 'syslinux-common', 'squashfs-tools', 'libc6']) add(pkg, debVersion(pkg));
  add('version', o.version);
  add('compression', o.compression ?? 'zstd');
  add('key', o.signingKey ? await readFile(o.signingKey) : 'generated');
  return { kernelDeb, ntpDeb, hash: h.digest('hex') };
}

/** The ELF's shared libraries as ldd resolves them on this machine (the loader included). */
function sharedLibraries(file: string): string[] {
  const out = run('ldd', [file]);
  return [...out.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
}

async function place(stage: string, dest: string, src: string, mode?: number): Promise<void> {
  const target = path.join(stage, dest);
  await mkdir(path.dirname(target), { recursive: true });
  await rm(target, { force: true });
  await copyFile(src, target); // follows symlinks: the real file under the name asked for
  if (mode !== undefined) await chmod(target, mode);
}

async function link(stage: string, at: string, target: string): Promise<void> {
  const p = path.join(stage, at);
  await mkdir(path.dirname(p), { recursive: true });
  await rm(p, { recursive: true, force: true });
  await symlink(target, p);
}

async function stageRootfs(o: BuildOptions, stage: string, k: Kernel, ntpDir: string, pubPem: string, devKey: boolean, initrdFiles: string[]): Promise<void> {
  // busybox first: every applet a symlink; real programs copied after replace the applets of the same name.
  await place(stage, 'bin/busybox', BUSYBOX, 0o755);
  for (const applet of run(BUSYBOX, ['--list-full']).split('\n').filter(Boolean)) {
    if (applet === 'bin/busybox') continue;
    await link(stage, applet, path.relative(path.dirname(`/${applet}`), '/bin/busybox'));
  }
  const programs: Array<[string, string]> = [
    ['usr/bin/sebridge', o.exe],
    ['sbin/e2fsck', which('e2fsck')!],
    ['sbin/mke2fs', which('mke2fs')!],
    ['usr/sbin/ntpd', path.join(ntpDir, 'usr', 'sbin', 'ntpd')],
  ];
  const libs = new Set<string>();
  for (const [dest, src] of programs) {
    await place(stage, dest, src, 0o755);
    for (const l of sharedLibraries(src)) libs.add(l);
  }
  for (const alias of ['sbin/fsck.ext4', 'sbin/mkfs.ext4']) await link(stage, alias, alias.endsWith('fsck.ext4') ? 'e2fsck' : 'mke2fs');
  for (const l of libs) await place(stage, l.replace(/^\//, ''), l);
  await place(stage, 'etc/mke2fs.conf', '/etc/mke2fs.conf');

  // Modules: the initrd's (so a module the running system asks for is there too) and the system's list.
  const files = [...new Set([...initrdFiles, ...resolveModules(k, await readModuleList(path.join(OVERLAY, 'etc', 'modules')))])];
  await installModules(k, files, stage);

  for (const f of await filesBelow(OVERLAY)) {
    if (f === 'README.md') continue;
    const src = path.join(OVERLAY, f);
    const st = await lstat(src);
    if (st.isSymbolicLink()) await link(stage, f, await readlink(src));
    else await place(stage, f, src, st.mode & 0o777);
  }
  for (const d of ['proc', 'sys', 'dev', 'run', 'tmp', 'data', 'root', 'mnt', 'var/empty', 'etc/sebridge/firmware-keys']) {
    await mkdir(path.join(stage, d), { recursive: true });
  }
  await chmod(path.join(stage, 'root'), 0o700);
  await chmod(path.join(stage, 'tmp'), 0o1777);
  // Writable places are on the RAM disk: the squashfs only points there.
  await link(stage, 'etc/resolv.conf', '/run/resolv.conf');
  await link(stage, 'etc/mtab', '/proc/self/mounts');
  await link(stage, 'var/log', '/run/log');
  await link(stage, 'var/run', '/run');
  await link(stage, 'var/tmp', '/tmp');
  await link(stage, 'var/lib/openntpd', '/run/openntpd');
  await writeFile(path.join(stage, 'etc', 'nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  await writeFile(path.join(stage, 'etc', 'sebridge', 'version'), `${o.version}\n`);
  await writeFile(path.join(stage, 'etc', 'sebridge', 'firmware-keys', 'build.pub'), pubPem);
  await writeFile(
    path.join(stage, 'etc', 'sebridge', 'build-info'),
    [
      `VERSION=${o.version}`,
      `ARCH=x86_64`,
      `KERNEL=${k.release}`,
      `KERNEL_DEB=${path.basename(k.deb)}`,
      `BUSYBOX=${debVersion('busybox-static')}`,
      `SIGNING_KEY=${devKey ? 'development (made for this build; its private half is not in the image)' : 'release (--signing-key)'}`,
      '',
    ].join('\n'),
  );
}

/** `files`: the module load order; the first `early` of them are loaded at once, the rest only when needed. */
async function makeInitrd(k: Kernel, files: string[], early: number, out: string, mtime: number): Promise<void> {
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>(['bin', 'dev', 'etc', 'proc', 'sys', 'data', 'newroot', 'lib', 'lib/modules']);
  entries.push({ path: 'init', type: 'file', mode: 0o755, data: await readFile(path.join(HERE, 'initrd-init.sh')) });
  entries.push({ path: 'bin/busybox', type: 'file', mode: 0o755, data: await readFile(BUSYBOX) });
  entries.push({ path: 'bin/sh', type: 'symlink', target: 'busybox' });
  // the kernel opens /dev/console before /init runs: it must exist in the archive
  entries.push({ path: 'dev/console', type: 'chardev', mode: 0o600, major: 5, minor: 1 });
  const tmp = `${out}.modules`;
  await rm(tmp, { recursive: true, force: true });
  await installModules(k, files, tmp);
  for (const f of await filesBelow(tmp)) {
    const parts = f.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
    entries.push({ path: f, type: 'file', mode: 0o644, data: await readFile(path.join(tmp, f)) });
  }
  await rm(tmp, { recursive: true, force: true });
  const names = (list: string[]) => Buffer.from(`${list.map((f) => path.basename(f).replace(/\.ko$/, '')).join('\n')}\n`);
  entries.push({ path: 'etc/initrd-modules', type: 'file', mode: 0o644, data: names(files.slice(0, early)) });
  entries.push({ path: 'etc/initrd-modules-late', type: 'file', mode: 0o644, data: names(files.slice(early)) });
  for (const d of dirs) entries.push({ path: d, type: 'dir', mode: 0o755 });
  await writeFile(out, cpioNewc(entries, mtime));
}

const SYSLINUX_CFG = `# sebridge: no menu, no wait; the console is the first serial port (and the screen)
DEFAULT sebridge
PROMPT 0
TIMEOUT 0
SERIAL 0 115200
LABEL sebridge
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND console=tty0 console=ttyS0,115200n8 quiet panic=10
`;

async function makeBootPartition(dir: string, vmlinuz: string, initrd: string, startSector: number): Promise<string> {
  const img = path.join(dir, 'boot.part');
  await rm(img, { force: true });
  // -h: the hidden sectors (the partition's start) syslinux's boot sector needs to find itself
  run('mkfs.vfat', ['-C', '-F', '16', '-n', 'SEBOOT', '-i', '5EB00700', '-h', String(startSector), '--invariant', img, String(LAYOUT.bootMiB * 1024)]);
  run('syslinux', ['--install', img]);
  const cfg = path.join(dir, 'syslinux.cfg');
  await writeFile(cfg, SYSLINUX_CFG);
  run('mcopy', ['-i', img, '-o', vmlinuz, '::/vmlinuz']);
  run('mcopy', ['-i', img, '-o', initrd, '::/initrd.img']);
  run('mcopy', ['-i', img, '-o', cfg, '::/syslinux.cfg']);
  return img;
}

async function makeDataPartition(dir: string): Promise<string> {
  const img = path.join(dir, 'data.part');
  const content = path.join(dir, 'data-content');
  await rm(content, { recursive: true, force: true });
  await mkdir(path.join(content, 'boot'), { recursive: true });
  await mkdir(path.join(content, 'sebridge'), { recursive: true, mode: 0o700 });
  await writeFile(path.join(content, 'boot', 'active'), 'a\n');
  await rm(img, { force: true });
  run('mkfs.ext4', ['-q', '-F', '-L', 'SEDATA', '-m', '0', '-U', '5eb00700-0000-4000-8000-00000000da7a', '-E', 'root_owner=0:0', '-d', content, img, `${LAYOUT.dataMiB}M`]);
  return img;
}

function writeAt(disk: string, part: string, offset: number): void {
  run('dd', [`if=${part}`, `of=${disk}`, 'bs=1M', `seek=${offset / MiB}`, 'conv=notrunc,sparse', 'status=none']);
}

async function makeDisk(out: string, bootPart: string, rootfs: string, dataPart: string): Promise<void> {
  const p = partitionOffsets();
  await rm(out, { force: true });
  run('truncate', ['-s', String(p.total), out]);
  const s = (bytes: number) => bytes / SECTOR;
  run('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', out], {
    input: [
      'label: dos',
      'label-id: 0x5eb00700',
      'unit: sectors',
      `start=${s(p.boot)}, size=${s(p.slotA - p.boot)}, type=e, bootable`,
      `start=${s(p.slotA)}, size=${s(p.slotB - p.slotA)}, type=83`,
      `start=${s(p.slotB)}, size=${s(p.data - p.slotB)}, type=83`,
      `start=${s(p.data)}, size=${s(p.total - p.data)}, type=83`,
      '',
    ].join('\n'),
  });
  // syslinux's MBR code (440 bytes: the partition table after it stays)
  run('dd', [`if=${SYSLINUX_MBR}`, `of=${out}`, 'bs=440', 'count=1', 'conv=notrunc', 'status=none']);
  writeAt(out, bootPart, p.boot);
  writeAt(out, rootfs, p.slotA);
  writeAt(out, dataPart, p.data);
}

export async function buildImage(o: BuildOptions, inputs?: Inputs): Promise<BuildResult> {
  const log = o.log ?? ((s: string) => process.stdout.write(`${s}\n`));
  const missing = imageToolsMissing();
  if (missing) throw new ImageError(`the image assembler needs ${missing}`);
  if (!existsSync(o.exe)) throw new ImageError(`--exe: ${o.exe} does not exist (npm run pkg builds it)`);
  const t0 = performance.now();
  const inp = inputs ?? (await resolveInputs(o));
  const key = loadSigningKey(o.signingKey ? await readFile(o.signingKey, 'utf8') : null);
  const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? 0) || 0;

  const work = `${o.outDir}.work`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const k = await unpackKernel(inp.kernelDeb, path.join(work, 'kernel'));
  const ntpDir = path.join(work, 'openntpd');
  run('dpkg-deb', ['-x', inp.ntpDeb, ntpDir]);
  log(`kernel ${k.release} (${path.basename(k.deb)})`);

  const initrdEarly = resolveModules(k, await readModuleList(path.join(HERE, 'initrd-modules')));
  const initrdLate = resolveModules(k, await readModuleList(path.join(HERE, 'initrd-modules-late'))).filter((f) => !initrdEarly.includes(f));
  const initrdFiles = [...initrdEarly, ...initrdLate];
  const stage = path.join(work, 'rootfs');
  await stageRootfs(o, stage, k, ntpDir, key.publicPem, key.generated, initrdFiles);
  const rootfs = path.join(work, 'rootfs.squashfs');
  // zstd: close to xz's size, and far cheaper to decompress on a small CPU (the executable is paged in at start)
  run('mksquashfs', [stage, rootfs, '-noappend', ...COMPRESSION_ARGS[o.compression ?? 'zstd'], '-all-root', '-no-xattrs', '-no-progress', '-quiet', '-mkfs-time', String(epoch), '-all-time', String(epoch)]);
  const rootfsSize = (await stat(rootfs)).size;
  if (rootfsSize > LAYOUT.slotMiB * MiB) throw new ImageError(`the squashfs (${mib(rootfsSize)}) does not fit a ${LAYOUT.slotMiB} MiB slot`);

  const initrd = path.join(work, 'initrd.img');
  await makeInitrd(k, initrdFiles, initrdEarly.length, initrd, epoch);
  const vmlinuz = path.join(work, 'vmlinuz');
  await copyFile(k.vmlinuz, vmlinuz);
  const bootPart = await makeBootPartition(work, vmlinuz, initrd, partitionOffsets().boot / SECTOR);
  const dataPart = await makeDataPartition(work);
  const base = `sebridge-${o.version}-x86_64`;
  const disk = path.join(work, `${base}.img`);
  await makeDisk(disk, bootPart, rootfs, dataPart);

  const header: FirmwareHeader = {
    version: o.version,
    arch: 'x86_64',
    kernel: k.release,
    rootfsSize,
    rootfsSha256: await sha256File(rootfs),
    created: new Date(epoch ? epoch * 1000 : Date.now()).toISOString(),
  };
  const fw = path.join(work, `${base}.fw`);
  await writeFirmwareFile(fw, header, rootfs, key.privateKey);

  // The output directory gets only the products, put in place whole (a killed build leaves no half image).
  const staging = `${o.outDir}.new`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const products: Record<string, string> = { [`${base}.img`]: disk, [`${base}.fw`]: fw, 'rootfs.squashfs': rootfs, vmlinuz, 'initrd.img': initrd };
  for (const [name, file] of Object.entries(products)) await rename(file, path.join(staging, name));
  await writeFile(path.join(staging, 'firmware-key.pub'), key.publicPem);
  if (key.generated) {
    await writeFile(path.join(staging, 'signing-key.pem'), key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  }
  const sizes: Record<string, number> = {};
  for (const name of Object.keys(products)) sizes[name] = (await stat(path.join(staging, name))).size;
  const manifest = { version: o.version, kernel: k.release, inputsHash: inp.hash, layout: LAYOUT, firmware: header, developmentKey: key.generated, sizes };
  await writeFile(path.join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  await rm(o.outDir, { recursive: true, force: true });
  await rename(staging, o.outDir);
  await rm(work, { recursive: true, force: true });

  const exeSize = (await stat(o.exe)).size;
  log(`rootfs.squashfs ${mib(sizes['rootfs.squashfs']!)} (the executable alone: ${mib(exeSize)} uncompressed); initrd.img ${mib(sizes['initrd.img']!)}; vmlinuz ${mib(sizes.vmlinuz!)}`);
  log(`${base}.img ${mib(sizes[`${base}.img`]!)} (boot ${LAYOUT.bootMiB} MiB, slots 2 × ${LAYOUT.slotMiB} MiB, data ${LAYOUT.dataMiB} MiB); ${base}.fw ${mib(sizes[`${base}.fw`]!)}`);
  log(`image: done in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${o.outDir}${key.generated ? ' (development signing key: signing-key.pem)' : ''}`);
  const at = (n: string) => path.join(o.outDir, n);
  return {
    outDir: o.outDir,
    disk: at(`${base}.img`),
    firmware: at(`${base}.fw`),
    rootfs: at('rootfs.squashfs'),
    vmlinuz: at('vmlinuz'),
    initrd: at('initrd.img'),
    publicKey: at('firmware-key.pub'),
    kernel: k.release,
    inputsHash: inp.hash,
    sizes,
  };
}

export async function packageVersion(): Promise<string> {
  return (JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

async function mainCli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      exe: { type: 'string', default: path.join(ROOT, 'dist', 'sebridge-linux-x64') },
      out: { type: 'string', default: path.join(ROOT, 'build', 'image') },
      cache: { type: 'string', default: DEFAULT_CACHE },
      'kernel-deb': { type: 'string' },
      'signing-key': { type: 'string' },
      version: { type: 'string' },
      'squashfs-comp': { type: 'string', default: 'zstd' },
    },
  });
  const comp = values['squashfs-comp'] as SquashfsCompression;
  if (!SQUASHFS_COMPRESSIONS.includes(comp)) throw new ImageError(`--squashfs-comp: "${comp}" is not one of ${SQUASHFS_COMPRESSIONS.join(', ')}`);
  await buildImage({
    exe: path.resolve(values.exe),
    outDir: path.resolve(values.out),
    cacheDir: path.resolve(values.cache),
    kernelDeb: values['kernel-deb'] ? path.resolve(values['kernel-deb']) : null,
    signingKey: values['signing-key'] ? path.resolve(values['signing-key']) : null,
    version: values.version ?? (await packageVersion()),
    compression: comp,
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  mainCli().catch((e: Error) => {
    process.stderr.write(`image: ${e instanceof ImageError ? e.message : e.stack}\n`);
    process.exit(1);
  });
}
