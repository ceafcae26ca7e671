/**
 * The BR2_EXTERNAL tree in buildroot/ is consistent (tree-check.ts), and each check catches the breakage it is
 * for: every check is run on a copy of the tree with one thing broken, in a temporary checkout that has stand-ins
 * for what the tree uses from outside it (rootfs/, scripts/image/initrd-init.sh, package.json). Fast, offline,
 * no Buildroot needed (buildroot/README.md has the checks that need Buildroot's source).
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkLayout, checkTree, downloadsOf, parseExternalDesc } from './tree-check.ts';
import type { CheckName, TreeProblem } from './tree-check.ts';

const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));
const TREE = path.join(CHECKOUT, 'buildroot');
const DEFCONFIGS = [
  'sebridge_qemu_x86_64_defconfig', 'sebridge_qemu_aarch64_virt_defconfig', 'sebridge_raspberrypi4_64_defconfig',
  'sebridge_nanopi_r2s_defconfig', 'sebridge_pc_x86_64_efi_defconfig',
];

function show(problems: TreeProblem[]): string {
  return problems.map((p) => `[${p.check}] ${p.file}: ${p.message}`).join('\n');
}

/** A temporary checkout: a copy of buildroot/ plus stand-ins for the checkout files it references. */
async function copyTree(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sebridge-br2-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await cp(TREE, path.join(dir, 'buildroot'), { recursive: true });
  await mkdir(path.join(dir, 'rootfs', 'usr', 'libexec', 'sebridge'), { recursive: true });
  await writeFile(path.join(dir, 'rootfs', 'usr', 'libexec', 'sebridge', 'supervise'), '#!/bin/sh\nEXE=/usr/bin/sebridge\n');
  await mkdir(path.join(dir, 'scripts', 'image'), { recursive: true });
  await writeFile(path.join(dir, 'scripts', 'image', 'initrd-init.sh'), '#!/bin/sh\n');
  await cp(path.join(CHECKOUT, 'package.json'), path.join(dir, 'package.json'));
  return path.join(dir, 'buildroot');
}

async function edit(file: string, fn: (text: string) => string): Promise<void> {
  const before = await readFile(file, 'utf8');
  const after = fn(before);
  if (after === before) throw new Error(`edit of ${file} changed nothing: the test's breakage no longer applies`);
  await writeFile(file, after);
}

/** Break a copy, and the named check (only it) must report it, with `hint` in the message. */
async function expectCaught(t: ExecutionContext, check: CheckName, hint: string, breakIt: (tree: string) => Promise<void>): Promise<void> {
  const tree = await copyTree(t);
  t.deepEqual(await checkTree(tree), [], 'the unbroken copy must be clean');
  await breakIt(tree);
  const problems = await checkTree(tree);
  t.true(problems.length > 0, `breakage not caught (${hint})`);
  t.true(problems.some((p) => p.check === check && p.message.includes(hint)), `expected [${check}] …${hint}…, got:\n${show(problems)}`);
  t.true(problems.every((p) => p.check === check), `only [${check}] expected, got:\n${show(problems)}`);
}

test('the tree is consistent (everything inside buildroot/)', async (t) => {
  const problems = (await checkTree(TREE)).filter((p) => p.check !== 'checkout-path');
  t.deepEqual(problems, [], show(problems));
});

test('the checkout files the defconfigs use from outside buildroot/ exist (rootfs/, scripts/image/initrd-init.sh)', async (t) => {
  const problems = (await checkTree(TREE)).filter((p) => p.check === 'checkout-path');
  t.deepEqual(problems, [], `${show(problems)}\n(rootfs/ and scripts/image/ come from the image branch: merge it)`);
});

test('the five boards of the brief each have a defconfig', async (t) => {
  for (const d of DEFCONFIGS) {
    const text = await readFile(path.join(TREE, 'configs', d), 'utf8');
    t.regex(text, /^BR2_PACKAGE_SEBRIDGE=y$/m, d);
  }
});

test('external.desc: name is mandatory and [A-Za-z0-9_] only', (t) => {
  t.deepEqual(parseExternalDesc('name: SEBRIDGE\ndesc: x\n').errors, []);
  t.true(parseExternalDesc('desc: x\n').errors.some((e) => e.includes('no name')));
  t.true(parseExternalDesc('name: SE-BRIDGE\n').errors.some((e) => e.includes('outside')));
  t.true(parseExternalDesc('name SEBRIDGE\n').errors.some((e) => e.includes('keyword')));
  t.true(parseExternalDesc('name: A\nversion: 1\n').errors.some((e) => e.includes('unknown keyword')));
});

test('downloads: Buildroot\'s default _SOURCE, _EXTRA_DOWNLOADS and _PATCH need hashes; the local method downloads nothing', (t) => {
  t.deepEqual(downloadsOf('FOO', 'FOO_VERSION = 1.2\nFOO_SITE = https://x.invalid\n').files, ['foo-1.2.tar.gz']);
  t.deepEqual(downloadsOf('FOO', 'FOO_VERSION = 1.2\nFOO_SITE = https://x.invalid\nFOO_SOURCE = foo-$(FOO_VERSION).tar.xz\nFOO_EXTRA_DOWNLOADS = https://x.invalid/a.bin\n').files, ['foo-1.2.tar.xz', 'a.bin']);
  t.deepEqual(downloadsOf('FOO', 'FOO_SITE = $(TOPDIR)/..\nFOO_SITE_METHOD = local\n').files, []);
  t.deepEqual(downloadsOf('FOO', 'FOO_LICENSE_FILES = COPYING \\\n\tLICENSE\n').licenseFiles, ['COPYING', 'LICENSE']);
});

test('layout: four partitions SEBOOT / slot A (rootfs.squashfs) / slot B / SEDATA', (t) => {
  const good = `image boot.vfat { vfat { label = "SEBOOT" } size = 64M }
image data.ext4 { ext4 { label = "SEDATA" } size = 64M }
image disk.img { hdimage { }
  partition u { in-partition-table = "no" image = "u-boot.itb" offset = 8M }
  partition b { image = "boot.vfat" }
  partition a { image = "rootfs.squashfs" size = 256M }
  partition c { size = 256M }
  partition d { image = "data.ext4" }
}`;
  t.deepEqual(checkLayout('x', good), []);
  t.regex(show(checkLayout('x', good.replace('"SEBOOT"', '"BOOT"'))), /not labelled SEBOOT/);
  t.regex(show(checkLayout('x', good.replace('partition c { size = 256M }', ''))), /3 partitions/);
  t.regex(show(checkLayout('x', good.replace('partition c { size = 256M }', 'partition c { size = 128M }'))), /differ in size/);
  t.regex(show(checkLayout('x', good.replace('image = "rootfs.squashfs"', 'image = "rootfs.ext4"'))), /not rootfs.squashfs/);
  t.regex(show(checkLayout('x', good.replace('ext4 { label', 'vfat { label'))), /not a ext4 image/);
});

// Each check on a broken copy of the real tree.

test('caught: external.desc without a name', (t) =>
  expectCaught(t, 'external-desc', 'no name', (tree) => edit(path.join(tree, 'external.desc'), (s) => s.replace(/^name:.*\n/m, ''))));

test('caught: a package without its .hash', (t) =>
  expectCaught(t, 'package-files', 'missing', (tree) => rm(path.join(tree, 'package', 'sebridge', 'sebridge.hash'))));

test('caught: a package directory the top Config.in does not source', (t) =>
  expectCaught(t, 'package-sourced', 'not sourced', async (tree) => {
    const dir = path.join(tree, 'package', 'extra-tool');
    await mkdir(dir);
    await writeFile(path.join(dir, 'Config.in'), 'config BR2_PACKAGE_EXTRA_TOOL\n\tbool "extra-tool"\n');
    await writeFile(path.join(dir, 'extra-tool.mk'), 'EXTRA_TOOL_VERSION = 1\n$(eval $(generic-package))\n');
    await writeFile(path.join(dir, 'extra-tool.hash'), '');
  }));

test('caught: the top Config.in sources a file that does not exist', (t) =>
  expectCaught(t, 'package-sourced', 'does not exist', (tree) =>
    edit(path.join(tree, 'Config.in'), (s) => `${s}source "$BR2_EXTERNAL_SEBRIDGE_PATH/package/gone/Config.in"\n`)));

test('caught: a .mk variable without the package prefix (typo)', (t) =>
  expectCaught(t, 'mk-prefix', 'SEBRIGDE_LICENSE', (tree) =>
    edit(path.join(tree, 'package', 'sebridge', 'sebridge.mk'), (s) => s.replace('SEBRIDGE_LICENSE =', 'SEBRIGDE_LICENSE ='))));

test('caught: a download without a hash', (t) =>
  expectCaught(t, 'hash', 'no hash for sebridge-0.1.0-linux.tar.xz', (tree) =>
    edit(path.join(tree, 'package', 'sebridge', 'sebridge.mk'), (s) =>
      s.replace(/^SEBRIDGE_SITE = .*\nSEBRIDGE_SITE_METHOD = local\n/m,
        'SEBRIDGE_SITE = https://releases.invalid/v$(SEBRIDGE_VERSION)\nSEBRIDGE_SOURCE = sebridge-$(SEBRIDGE_VERSION)-linux.tar.xz\n'))));

test('a download with its hash passes (the expansion of $(SEBRIDGE_VERSION) is right)', async (t) => {
  const tree = await copyTree(t);
  await edit(path.join(tree, 'package', 'sebridge', 'sebridge.mk'), (s) =>
    s.replace(/^SEBRIDGE_SITE = .*\nSEBRIDGE_SITE_METHOD = local\n/m,
      'SEBRIDGE_SITE = https://releases.invalid/v$(SEBRIDGE_VERSION)\nSEBRIDGE_SOURCE = sebridge-$(SEBRIDGE_VERSION)-linux.tar.xz\n'));
  await edit(path.join(tree, 'package', 'sebridge', 'sebridge.hash'), (s) => `${s}sha256  ${'ab'.repeat(32)}  sebridge-0.1.0-linux.tar.xz\n`);
  t.deepEqual(await checkTree(tree), []);
});

test('caught: a malformed hash line', (t) =>
  expectCaught(t, 'hash', 'not a sha256', (tree) =>
    edit(path.join(tree, 'package', 'sebridge', 'sebridge.hash'), (s) => `${s}sha256  1234  foo.tar.gz\n`)));

for (const d of DEFCONFIGS) {
  test(`caught: ${d} without BR2_PACKAGE_SEBRIDGE`, (t) =>
    expectCaught(t, 'defconfig', 'does not select BR2_PACKAGE_SEBRIDGE', (tree) =>
      edit(path.join(tree, 'configs', d), (s) => s.replace('BR2_PACKAGE_SEBRIDGE=y\n', ''))));
}

test('caught: a defconfig that would strip the executable', (t) =>
  expectCaught(t, 'defconfig', 'BR2_STRIP_EXCLUDE_FILES', (tree) =>
    edit(path.join(tree, 'configs', 'sebridge_raspberrypi4_64_defconfig'), (s) => s.replace('BR2_STRIP_EXCLUDE_FILES="sebridge"\n', ''))));

test('caught: a defconfig naming a fragment that does not exist', (t) =>
  expectCaught(t, 'defconfig-path', 'board/common/linux.fragment', (tree) => rm(path.join(tree, 'board', 'common', 'linux.fragment'))));

test('caught: a defconfig naming a board file that does not exist (RPi config.txt)', (t) =>
  expectCaught(t, 'defconfig-path', 'raspberrypi4-64/config.txt', (tree) => rm(path.join(tree, 'board', 'raspberrypi4-64', 'config.txt'))));

test('caught: the rootfs/ overlay missing from the checkout', (t) =>
  expectCaught(t, 'checkout-path', 'rootfs', (tree) => rm(path.join(tree, '..', 'rootfs'), { recursive: true })));

test('caught: the package installing the executable where rootfs/\'s supervisor does not look', (t) =>
  expectCaught(t, 'checkout-path', 'supervise runs /usr/bin/sebridge', (tree) =>
    edit(path.join(tree, 'package', 'sebridge', 'sebridge.mk'), (s) => s.replace('$(TARGET_DIR)/usr/bin/sebridge', '$(TARGET_DIR)/opt/sebridge'))));

test('caught: a post-build script that is not executable', (t) =>
  expectCaught(t, 'executable', 'post-build.sh', (tree) => chmod(path.join(tree, 'board', 'common', 'post-build.sh'), 0o644)));

test('caught: a kernel fragment line that is not Kconfig', (t) =>
  expectCaught(t, 'fragment', 'line', (tree) => edit(path.join(tree, 'board', 'common', 'linux.fragment'), (s) => `${s}TUN=y\n`)));

test('caught: a board genimage.cfg that drops slot B', (t) =>
  expectCaught(t, 'layout', '3 partitions', (tree) =>
    edit(path.join(tree, 'board', 'nanopi-r2s', 'genimage.cfg'), (s) => s.replace(/\tpartition slot-b \{[^}]*\}\n\n/, ''))));

test('caught: a data partition not labelled SEDATA', (t) =>
  expectCaught(t, 'layout', 'not labelled SEDATA', (tree) =>
    edit(path.join(tree, 'board', 'raspberrypi4-64', 'genimage.cfg.in'), (s) => s.replace('"SEDATA"', '"DATA"'))));

test('caught: the package version out of step with package.json', (t) =>
  expectCaught(t, 'version', 'package.json says 9.9.9', (tree) =>
    edit(path.join(tree, '..', 'package.json'), (s) => s.replace(/"version": "[^"]*"/, '"version": "9.9.9"'))));
