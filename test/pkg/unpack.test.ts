/**
 * The single executable's unpacking (src/sea/unpack.ts, src/sea/runtime-dir.ts) under plain Node, with assets
 * from memory: manifest checks name the field, nothing unverified is ever written or loaded, the addon file is gone
 * after dlopen, the runtime directory must be private.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  loadAddonFromAsset, parseManifest, prepareRuntimeDir, SeaError, sha256Hex, unpackWeb, writeVerified,
} from '../../src/sea/unpack.ts';
import type { AssetEntry, GetAsset, SeaManifest } from '../../src/sea/unpack.ts';
import { DEFAULT_RUNTIME_DIR, unpackPlan } from '../../src/sea/runtime-dir.ts';

const ADDON = fileURLToPath(new URL('../../build/Release/sebridge_native.node', import.meta.url));

function scratch(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sebpkg-unpack-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function assets(files: Record<string, Uint8Array>): GetAsset {
  return (key) => {
    const f = files[key];
    if (!f) throw new Error(`no asset ${key}`);
    return f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength) as ArrayBuffer;
  };
}

function entryFor(key: string, path: string, data: Uint8Array): AssetEntry {
  return { key, path, size: data.length, sha256: sha256Hex(data) };
}

function manifestWith(addon: AssetEntry, web: AssetEntry[] = []): SeaManifest {
  return { version: '0.1.0', arch: process.arch, node: '26.12.1', addon, web };
}

const goodManifest = () => ({
  version: '0.1.0', arch: 'x64', node: '26.12.1',
  addon: { key: 'native/a.node', path: 'a.node', size: 3, sha256: 'a'.repeat(64) },
  web: [{ key: 'web/index.html', path: 'index.html', size: 1, sha256: 'b'.repeat(64) }, { key: 'web/x/y.js', path: 'x/y.js', size: 1, sha256: 'c'.repeat(64) }],
});

test('parseManifest accepts what scripts/pkg.ts writes', (t) => {
  const m = parseManifest(JSON.stringify(goodManifest()));
  t.is(m.addon.path, 'a.node');
  t.deepEqual(m.web.map((w) => w.path), ['index.html', 'x/y.js']);
});

test('parseManifest refuses bad documents and names the field', (t) => {
  const bad = (mutate: (m: any) => void, field: RegExp) => {
    const m = goodManifest();
    mutate(m);
    const e = t.throws(() => parseManifest(JSON.stringify(m)), { instanceOf: SeaError });
    t.regex(e!.message, field);
  };
  t.throws(() => parseManifest('{'), { message: /manifest: not JSON/ });
  t.throws(() => parseManifest('[]'), { message: /manifest: expected an object/ });
  bad((m) => delete m.version, /manifest version:/);
  bad((m) => (m.arch = ''), /manifest arch:/);
  bad((m) => (m.web = {}), /manifest web: expected an array/);
  bad((m) => (m.addon.path = '../escape.node'), /manifest addon\.path:/);
  bad((m) => (m.addon.path = '/etc/passwd'), /manifest addon\.path:/);
  bad((m) => (m.web[1].path = 'x/../../y.js'), /manifest web\[1\]\.path:/);
  bad((m) => (m.web[1].path = 'x/./y.js'), /manifest web\[1\]\.path:/);
  bad((m) => (m.web[0].sha256 = 'A'.repeat(64)), /manifest web\[0\]\.sha256:/);
  bad((m) => (m.web[0].size = -1), /manifest web\[0\]\.size:/);
  bad((m) => (m.web[0].size = 1e12), /manifest web\[0\]\.size:/);
  bad((m) => (m.web[0].key = ''), /manifest web\[0\]\.key:/);
  bad((m) => (m.web[1].path = 'index.html'), /manifest web\[1\]\.path: index\.html appears twice/);
  bad((m) => (m.web = Array.from({ length: 501 }, (_, i) => ({ ...m.web[0], path: `f${i}` }))), /more than 500 files/);
});

test('unpackPlan: run reads --runtime-dir, link uses the default, help and other commands unpack nothing', (t) => {
  t.deepEqual(unpackPlan(['run']), { runtimeDir: DEFAULT_RUNTIME_DIR, addon: true, web: true });
  t.deepEqual(unpackPlan(['run', '--web', '0.0.0.0:443', '--runtime-dir', '/run/x']), { runtimeDir: '/run/x', addon: true, web: true });
  t.deepEqual(unpackPlan(['run', '--runtime-dir=/run/y']), { runtimeDir: '/run/y', addon: true, web: true });
  t.deepEqual(unpackPlan(['run', '--runtime-dir=']), { runtimeDir: DEFAULT_RUNTIME_DIR, addon: true, web: true });
  t.deepEqual(unpackPlan(['link', '--server', 'h', '--runtime-dir', '/run/z']), { runtimeDir: DEFAULT_RUNTIME_DIR, addon: true, web: false });
  t.is(unpackPlan(['run', '--help']), null);
  t.is(unpackPlan(['link', '-h']), null);
  t.is(unpackPlan([]), null);
  t.is(unpackPlan(['--help']), null);
  t.is(unpackPlan(['bogus']), null);
});

test('prepareRuntimeDir creates a private directory and tells whether it is on a RAM disk', async (t) => {
  const base = scratch(t);
  const dir = join(base, 'a', 'b');
  const r = await prepareRuntimeDir(dir);
  t.is(statSync(dir).mode & 0o777, 0o700);
  const fsType = spawnSync('stat', ['-f', '-c', '%T', base], { encoding: 'utf8' }).stdout.trim();
  const onRam = fsType === 'tmpfs' || fsType === 'ramfs';
  if (onRam) t.is(r.warning, null);
  else t.regex(r.warning ?? '', /is not on a tmpfs\/ramfs/);
  if (existsSync('/dev/shm')) {
    const shm = mkdtempSync('/dev/shm/sebpkg-');
    t.teardown(() => rmSync(shm, { recursive: true, force: true }));
    t.is((await prepareRuntimeDir(join(shm, 'run'))).warning, null, '/dev/shm is a tmpfs');
  }
});

test('prepareRuntimeDir refuses a symlink, a group/world-writable directory and one owned by someone else', async (t) => {
  const base = scratch(t);
  const real = join(base, 'real');
  mkdirSync(real, { mode: 0o700 });
  symlinkSync(real, join(base, 'link'));
  await t.throwsAsync(prepareRuntimeDir(join(base, 'link')), { instanceOf: SeaError, message: /not a directory \(a symlink is refused\)/ });
  const open = join(base, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  await t.throwsAsync(prepareRuntimeDir(open), { message: /writable by group or others \(mode 777\)/ });
  const file = join(base, 'file');
  writeFileSync(file, 'x');
  await t.throwsAsync(prepareRuntimeDir(file), { message: /runtime directory .*file: (cannot create it|not a directory)/ });
  if (process.getuid?.() === 0) {
    const foreign = join(base, 'foreign');
    mkdirSync(foreign, { mode: 0o700 });
    chownSync(foreign, 65534, 65534);
    await t.throwsAsync(prepareRuntimeDir(foreign), { message: /owned by uid 65534, not by this process/ });
  } else {
    t.log('not root: the foreign-owner case needs chown and is not run here');
  }
});

test('writeVerified writes only bytes that match the manifest, never over an existing file or symlink', async (t) => {
  const dir = scratch(t);
  const data = Buffer.from('hello, appliance');
  const e = entryFor('web/a.txt', 'sub/a.txt', data);
  const file = await writeVerified(dir, e, assets({ 'web/a.txt': data }));
  t.is(file, join(dir, 'sub', 'a.txt'));
  t.is(readFileSync(file, 'utf8'), 'hello, appliance');
  t.is(statSync(file).mode & 0o777, 0o600);

  // Same again: the file exists → refused (O_EXCL), left as it was.
  await t.throwsAsync(writeVerified(dir, e, assets({ 'web/a.txt': data })), { instanceOf: SeaError, message: /cannot create .*a\.txt/ });
  // A symlink planted where the file goes is not followed.
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'untouched');
  symlinkSync(victim, join(dir, 'b.txt'));
  await t.throwsAsync(writeVerified(dir, { ...e, path: 'b.txt' }, assets({ 'web/a.txt': data })), { message: /cannot create .*b\.txt/ });
  t.is(readFileSync(victim, 'utf8'), 'untouched');

  // Bytes that do not match the recorded hash or size are refused before anything is written.
  const other = Buffer.from('hello, appliancE');
  await t.throwsAsync(writeVerified(dir, { ...e, path: 'c.txt' }, assets({ 'web/a.txt': other })), { message: /asset web\/a\.txt: SHA-256 [0-9a-f]{64}, the build recorded/ });
  await t.throwsAsync(writeVerified(dir, { ...e, path: 'c.txt' }, assets({ 'web/a.txt': Buffer.from('short') })), { message: /asset web\/a\.txt: 5 bytes, the build recorded 16/ });
  await t.throwsAsync(writeVerified(dir, { ...e, path: 'c.txt' }, assets({})), { message: /asset web\/a\.txt: not in the executable/ });
  t.false(existsSync(join(dir, 'c.txt')));
});

test('loadAddonFromAsset loads the real addon with process.dlopen and leaves no file behind', async (t) => {
  if (!existsSync(ADDON)) return t.fail(`${ADDON} missing: npm install builds it`);
  const dir = scratch(t);
  const data = readFileSync(ADDON);
  const m = manifestWith(entryFor('native/sebridge_native.node', 'sebridge_native.node', data));
  const addon = await loadAddonFromAsset<Record<string, unknown>>(dir, m, assets({ 'native/sebridge_native.node': data }));
  for (const fn of ['openPacketSocket', 'openTap', 'ifInfo', 'getFeatures', 'processRxFrame']) t.is(typeof addon[fn], 'function', fn);
  t.is((addon.ifInfo as (n: string) => unknown)('sebpkg-none0'), null, 'native code runs: no such interface');
  t.deepEqual(readdirSync(dir), [], 'the unpacked addon and its directory are removed after loading');
});

test('loadAddonFromAsset refuses a tampered addon before dlopen and a non-loadable one with the reason; nothing is left', async (t) => {
  const dir = scratch(t);
  const data = Buffer.from(readFileSync(ADDON));
  const m = manifestWith(entryFor('native/sebridge_native.node', 'sebridge_native.node', data));
  const tampered = Buffer.from(data);
  tampered[tampered.length >> 1] ^= 0xff;
  await t.throwsAsync(loadAddonFromAsset(dir, m, assets({ 'native/sebridge_native.node': tampered })), { message: /SHA-256 .* the build recorded/ });
  t.deepEqual(readdirSync(dir), []);

  const notElf = Buffer.from('this is not a shared object');
  const m2 = manifestWith(entryFor('native/sebridge_native.node', 'sebridge_native.node', notElf));
  await t.throwsAsync(loadAddonFromAsset(dir, m2, assets({ 'native/sebridge_native.node': notElf })), { message: new RegExp(`loading the native addon \\(${process.arch}\\) failed: .*`) });
  t.deepEqual(readdirSync(dir), []);
});

test('unpackWeb replaces what an earlier start left and writes every file verified', async (t) => {
  const dir = scratch(t);
  mkdirSync(join(dir, 'web', 'old'), { recursive: true });
  writeFileSync(join(dir, 'web', 'old', 'stale.js'), 'stale');
  const files = { 'web/index.html': Buffer.from('<!doctype html>'), 'web/assets/app-1234abcd.js': Buffer.from('console.log(1)') };
  const web = [entryFor('web/index.html', 'index.html', files['web/index.html']), entryFor('web/assets/app-1234abcd.js', 'assets/app-1234abcd.js', files['web/assets/app-1234abcd.js'])];
  const addonBytes = Buffer.from('x');
  const out = await unpackWeb(dir, manifestWith(entryFor('a', 'a.node', addonBytes), web), assets(files));
  t.is(out, join(dir, 'web'));
  t.deepEqual(readdirSync(out).sort(), ['assets', 'index.html']);
  t.is(readFileSync(join(out, 'assets', 'app-1234abcd.js'), 'utf8'), 'console.log(1)');
  t.is(statSync(out).mode & 0o777, 0o700);
});
