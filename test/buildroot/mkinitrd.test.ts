/**
 * buildroot/board/common/mkinitrd.sh, the initrd of the Buildroot images: the target's busybox plus every shared
 * library it needs, found through the ELF headers, the interpreter where the ELF names it, /bin/sh for the
 * #!/bin/sh /init, /dev/console. The target here is a stand-in: this machine's dynamically linked `node` (which
 * needs libstdc++, libgcc_s, libm, … so the transitive search is exercised) as TARGET_DIR/bin/busybox, with the
 * libraries ldd names laid out as Buildroot lays out a root (/lib, /lib64 -> lib). The kernel's gen_init_cpio is
 * replaced by a stand-in that writes its input list, so the test reads exactly what the archive would hold; the
 * list is then materialised in a directory and the "busybox" run in it under chroot (root, as CI runs).
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const MKINITRD = fileURLToPath(new URL('../../buildroot/board/common/mkinitrd.sh', import.meta.url));

interface Entry {
  type: string;
  name: string;
  fields: string[];
}

/** A fake Buildroot build: TARGET_DIR with bin/busybox and its libraries, HOST_DIR's readelf, BUILD_DIR's kernel. */
async function fakeBuild(t: ExecutionContext, busybox = process.execPath): Promise<{ dir: string; env: NodeJS.ProcessEnv; libs: string[] }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sebridge-mkinitrd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const target = path.join(dir, 'target');
  await mkdir(path.join(target, 'bin'), { recursive: true });
  await mkdir(path.join(target, 'lib'), { recursive: true });
  await symlink('lib', path.join(target, 'lib64'));
  await copyFile(busybox, path.join(target, 'bin', 'busybox'));
  await chmod(path.join(target, 'bin', 'busybox'), 0o755);
  const ldd = execFileSync('ldd', [busybox], { encoding: 'utf8' });
  const libs = [...ldd.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
  for (const l of libs) await copyFile(l, path.join(target, 'lib', path.basename(l)));

  const host = path.join(dir, 'host', 'bin');
  await mkdir(host, { recursive: true });
  const readelf = spawnSync('sh', ['-c', 'command -v readelf'], { encoding: 'utf8' }).stdout.trim();
  if (!readelf) throw new Error('readelf (binutils) is not installed: the test needs it as the cross readelf');
  await symlink(readelf, path.join(host, 'x86_64-buildroot-linux-gnu-readelf'));

  const usr = path.join(dir, 'build', 'linux-6.18.7', 'usr');
  await mkdir(usr, { recursive: true });
  await writeFile(path.join(usr, 'gen_init_cpio'), '#!/bin/sh\n[ "$1" = -t ] && shift 2\ncat "$1"\n', { mode: 0o755 });
  await writeFile(path.join(dir, 'init'), '#!/bin/sh\necho init\n');
  const env = { PATH: process.env.PATH, TARGET_DIR: target, HOST_DIR: path.join(dir, 'host'), BUILD_DIR: path.join(dir, 'build') };
  return { dir, env, libs };
}

function run(env: NodeJS.ProcessEnv, init: string, out: string): { status: number | null; stderr: string } {
  const r = spawnSync(MKINITRD, [init, out], { env, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

async function entries(file: string): Promise<Map<string, Entry>> {
  const text = gunzipSync(await readFile(file)).toString('utf8');
  const map = new Map<string, Entry>();
  for (const line of text.split('\n')) {
    const f = line.split(/\s+/).filter(Boolean);
    if (f.length < 2) continue;
    map.set(f[1]!, { type: f[0]!, name: f[1]!, fields: f.slice(2) });
  }
  return map;
}

test('the initrd holds busybox, every library it needs (transitively), the interpreter, /bin/sh and /dev/console', async (t) => {
  const { dir, env, libs } = await fakeBuild(t);
  const out = path.join(dir, 'initrd.img');
  const r = run(env, path.join(dir, 'init'), out);
  t.is(r.status, 0, r.stderr);
  const e = await entries(out);
  t.is(e.get('/init')?.type, 'file');
  t.is(e.get('/init')?.fields[1], '0755');
  t.is(e.get('/bin/busybox')?.type, 'file');
  t.deepEqual(e.get('/bin/sh'), { type: 'slink', name: '/bin/sh', fields: ['busybox', '0777', '0', '0'] });
  t.deepEqual(e.get('/dev/console'), { type: 'nod', name: '/dev/console', fields: ['0600', '0', '0', 'c', '5', '1'] });
  t.is(e.get('/etc/initrd-modules')?.type, 'file');
  t.deepEqual(e.get('/lib64'), { type: 'slink', name: '/lib64', fields: ['lib', '0777', '0', '0'] });
  for (const l of libs) t.is(e.get(`/lib/${path.basename(l)}`)?.type, 'file', `${path.basename(l)} (ldd names it) is missing`);
  const inLib = [...e.keys()].filter((k) => k.startsWith('/lib/'));
  t.is(inLib.length, libs.length, `exactly the libraries ldd names: ${inLib.join(' ')}`);
});

test('libraries needed only by other libraries are found too (ls -> libselinux -> libpcre2)', async (t) => {
  const ls = '/bin/ls';
  const direct = [...execFileSync('readelf', ['-d', ls], { encoding: 'utf8' }).matchAll(/\(NEEDED\).*\[(.*)\]/g)].map((m) => m[1]!);
  const { dir, env, libs } = await fakeBuild(t, ls);
  const indirect = libs.map((l) => path.basename(l)).filter((l) => !direct.includes(l) && !l.startsWith('ld-linux'));
  t.true(indirect.length > 0, `${ls} needs no library through another one here: the test needs a binary that does`);
  t.is(run(env, path.join(dir, 'init'), path.join(dir, 'initrd.img')).status, 0);
  const e = await entries(path.join(dir, 'initrd.img'));
  for (const l of indirect) t.is(e.get(`/lib/${l}`)?.type, 'file', `${l} (needed through another library) is missing`);
});

test('the initrd\'s files run: busybox (here node) starts in a root that holds only them', async (t) => {
  if (process.getuid?.() !== 0) {
    t.fail('chroot needs root (CI runs as root)');
    return;
  }
  const { dir, env } = await fakeBuild(t);
  const out = path.join(dir, 'initrd.img');
  t.is(run(env, path.join(dir, 'init'), out).status, 0);
  const root = path.join(dir, 'root');
  for (const en of (await entries(out)).values()) {
    const p = path.join(root, en.name);
    if (en.type === 'dir') await mkdir(p, { recursive: true });
    else if (en.type === 'slink') await symlink(en.fields[0]!, p);
    else if (en.type === 'file') {
      await mkdir(path.dirname(p), { recursive: true });
      // mkinitrd's own scratch files (the empty module list) are gone once it returns
      if (en.name === '/etc/initrd-modules') await writeFile(p, '');
      else await copyFile(en.fields[0]!, p);
      await chmod(p, parseInt(en.fields[1]!, 8));
    }
  }
  const r = spawnSync('chroot', [root, '/bin/busybox', '-e', 'console.log("ran", process.arch)'], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  t.is(r.stdout.trim(), `ran ${process.arch}`, r.stderr);
});

test('a library busybox needs that the target lacks stops the build, naming it', async (t) => {
  const { dir, env, libs } = await fakeBuild(t);
  const stdcxx = libs.find((l) => path.basename(l).startsWith('libstdc++'));
  t.truthy(stdcxx, 'node links libstdc++');
  await rm(path.join(dir, 'target', 'lib', path.basename(stdcxx!)));
  const r = run(env, path.join(dir, 'init'), path.join(dir, 'initrd.img'));
  t.not(r.status, 0);
  t.regex(r.stderr, new RegExp(`busybox needs ${path.basename(stdcxx!).replace(/[+.]/g, '\\$&')}, which is not in`));
});

test('a missing init script or kernel build stops it with the reason', async (t) => {
  const { dir, env } = await fakeBuild(t);
  const noInit = run(env, path.join(dir, 'no-such-init'), path.join(dir, 'initrd.img'));
  t.not(noInit.status, 0);
  t.regex(noInit.stderr, /init script .*no-such-init is missing/);
  await rm(path.join(dir, 'build'), { recursive: true });
  const noKernel = run(env, path.join(dir, 'init'), path.join(dir, 'initrd.img'));
  t.not(noKernel.status, 0);
  t.regex(noKernel.stderr, /no gen_init_cpio/);
});
