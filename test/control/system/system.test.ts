import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { listNics } from '../../../src/control/system/nics.ts';
import type { NicInfo } from '../../../src/control/system/nics.ts';
import { SystemInfo } from '../../../src/control/system/system-info.ts';
import type { SystemSource } from '../../../src/control/system/system-info.ts';
import { readTemperatureC } from '../../../src/control/system/temperature.ts';
import { isRoot, NetLab, nsExec } from '../../native/netlab.ts';

const run = promisify(execFile);

function fakeSource(over: Partial<SystemSource> = {}): SystemSource & { calls: Record<string, number> } {
  const calls: Record<string, number> = { cpu: 0, nics: 0 };
  return {
    calls,
    cpuPercent: async () => (calls.cpu++, 42.345),
    memory: async () => ({ total: 1000, available: 250 }),
    temperatureC: async () => 61.5,
    disk: async () => ({ totalBytes: 1000, availableBytes: 150, usedBytes: 800 }), // 50 reserved for root
    uptimeSec: () => 3600.4,
    nics: async () => (calls.nics++, []),
    ...over,
  };
}

test('facts: percentages as df/free compute them, rounded', async (t) => {
  const s = new SystemInfo({ dataDir: '/data', source: fakeSource(), now: () => 0 });
  t.deepEqual(await s.facts(), {
    cpuPercent: 42.3,
    memTotalBytes: 1000,
    memAvailableBytes: 250,
    memPercent: 75,
    temperatureC: 61.5,
    disk: { path: '/data', totalBytes: 1000, availableBytes: 150, percent: 84.2 },
    uptimeSec: 3600,
    at: new Date(0).toISOString(),
  });
  t.deepEqual(await s.healthSnapshot(), { cpuPercent: 42.3, memPercent: 75, diskPercent: 84.2, temperatureC: 61.5 });
});

test('a dashboard polling every 2 s shares one reading per cache period; concurrent callers share one read', async (t) => {
  let now = 0;
  const src = fakeSource();
  const s = new SystemInfo({ dataDir: '/data', source: src, now: () => now, cacheMs: 5000 });
  await Promise.all([s.facts(), s.facts(), s.facts(), s.listNics(), s.listNics()]);
  t.deepEqual(s.reads(), { facts: 1, nics: 1 });
  for (let i = 0; i < 10; i++) {
    now += 2000;
    await s.facts();
    await s.listNics();
  }
  // 20 s of polling every 2 s with a 5 s cache: a read at 0, 6, 12, 18 s.
  t.deepEqual(s.reads(), { facts: 4, nics: 4 });
  t.is(src.calls.cpu, 4);
});

test('a failed read is reported and not cached', async (t) => {
  let fail = true;
  const s = new SystemInfo({
    dataDir: '/data',
    source: fakeSource({ memory: async () => { if (fail) throw new Error('ENOENT /proc/meminfo'); return { total: 10, available: 5 }; } }),
    now: () => 0,
  });
  await t.throwsAsync(s.facts(), { message: 'ENOENT /proc/meminfo' });
  fail = false;
  t.is((await s.facts()).memPercent, 50);
});

test('options are validated with the field named', (t) => {
  t.throws(() => new SystemInfo({ dataDir: '' }), { message: /system\.dataDir/ });
  t.throws(() => new SystemInfo({ dataDir: '/x', cacheMs: -1 }), { message: /system\.cacheMs/ });
});

test('the real machine: facts read without error, disk of the given directory', async (t) => {
  const s = new SystemInfo({ dataDir: tmpdir() });
  const f = await s.facts();
  t.true(f.cpuPercent >= 0 && f.cpuPercent <= 100);
  t.true(f.memTotalBytes > 0 && f.memPercent > 0 && f.memPercent < 100);
  t.true(f.disk.totalBytes > 0 && f.disk.percent >= 0 && f.disk.percent <= 100);
  t.true(f.temperatureC === null || (f.temperatureC > -40 && f.temperatureC < 200));
  t.true(f.uptimeSec > 0);
});

/** A fake /sys/class/net with symlinks into a fake /sys/devices, like the kernel's. */
async function fakeSys(t: import('ava').ExecutionContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'sebridge-sys-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const dev = async (path: string, name: string, files: Record<string, string>) => {
    const dir = join(root, 'devices', path, 'net', name);
    await mkdir(dir, { recursive: true });
    for (const [k, v] of Object.entries(files)) await writeFile(join(dir, k), `${v}\n`);
    await mkdir(join(root, 'class', 'net'), { recursive: true });
    await symlink(dir, join(root, 'class', 'net', name));
  };
  await dev('virtual', 'lo', { type: '772', address: '00:00:00:00:00:00', flags: '0x9', carrier: '1', mtu: '65536' });
  await dev('pci0000:00/0000:00:1f.6', 'eno1', { type: '1', address: '00:11:22:33:44:55', flags: '0x1003', carrier: '1', speed: '1000', mtu: '1500' });
  await dev('pci0000:00/0000:00:1c.0', 'enp2s0', { type: '1', address: '00:11:22:33:44:66', flags: '0x1002', mtu: '1500', speed: '-1' }); // down: no carrier file readable
  await dev('virtual', 'br0', { type: '1', address: '02:00:00:00:00:01', flags: '0x1003', carrier: '1', mtu: '1500' });
  await dev('virtual', 'tun0', { type: '65534', address: '', flags: '0x1091', carrier: '1', mtu: '1500' });
  return join(root, 'class', 'net');
}

test('listNics: Ethernet only (no lo, no tun), physical first, carrier/speed/admin state from sysfs', async (t) => {
  const sysClassNet = await fakeSys(t);
  const addresses = async () => new Map([['eno1', ['192.168.1.2/24', 'fe80::1/64']], ['lo', ['127.0.0.1/8']]]);
  const nics = await listNics({ sysClassNet, addresses });
  t.deepEqual(nics, [
    { name: 'eno1', mac: '00:11:22:33:44:55', adminUp: true, carrier: true, speedMbps: 1000, mtu: 1500, addresses: ['192.168.1.2/24', 'fe80::1/64'], virtual: false },
    { name: 'enp2s0', mac: '00:11:22:33:44:66', adminUp: false, carrier: false, speedMbps: null, mtu: 1500, addresses: [], virtual: false },
    { name: 'br0', mac: '02:00:00:00:00:01', adminUp: true, carrier: true, speedMbps: null, mtu: 1500, addresses: [], virtual: true },
  ]);
});

test('temperature: the hottest zone; null without zones; absurd readings ignored', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'sebridge-thermal-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  t.is(await readTemperatureC(join(root, 'missing')), null);
  t.is(await readTemperatureC(root), null);
  for (const [zone, milli] of [['thermal_zone0', '48500'], ['thermal_zone1', '61000'], ['thermal_zone2', '-273000']]) {
    await mkdir(join(root, zone));
    await writeFile(join(root, zone, 'temp'), `${milli}\n`);
  }
  t.is(await readTemperatureC(root), 61);
});

test('listNics in a network namespace with a veth pair: no lo, veths virtual, carrier and address right', async (t) => {
  if (!isRoot) {
    t.log('SKIPPED LOUDLY: needs root to create a network namespace');
    t.fail('this test needs root (CI runs as root)');
    return;
  }
  const lab = new NetLab();
  t.teardown(() => lab.cleanup());
  const ns = lab.addNamespace('n');
  const a = lab.name('a');
  const b = lab.name('b');
  nsExec(ns, 'ip', 'link', 'add', a, 'type', 'veth', 'peer', 'name', b);
  nsExec(ns, 'ip', 'link', 'set', a, 'up');
  nsExec(ns, 'ip', 'addr', 'add', `${lab.subnet}.1/24`, 'dev', a);
  // b stays down: a has no carrier until its peer is up (and its address must still be listed).
  const agent = fileURLToPath(new URL('./list-nics-agent.ts', import.meta.url));
  const runAgent = async (): Promise<NicInfo[]> =>
    JSON.parse((await run('ip', ['netns', 'exec', ns, process.execPath, agent], { timeout: 20_000 })).stdout);
  let nics = await runAgent();
  t.deepEqual(nics.map((n) => n.name), [a, b]);
  t.like(nics[0], { adminUp: true, carrier: false, virtual: true, addresses: [`${lab.subnet}.1/24`], mtu: 1500 });
  t.like(nics[1], { adminUp: false, carrier: false, virtual: true });
  t.regex(nics[0].mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  nsExec(ns, 'ip', 'link', 'set', b, 'up');
  nics = await runAgent();
  t.like(nics[0], { carrier: true });
  t.like(nics[1], { adminUp: true, carrier: true });
});

test('configDirWritable: true for a writable directory; a clear reason otherwise; never writes a file', async (t) => {
  const { configDirWritable } = await import('../../../src/control/system/config-writable.ts');
  const dir = await mkdtemp(join(tmpdir(), 'sebridge-cfg-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  t.true(await configDirWritable(dir));
  t.deepEqual(await (await import('node:fs/promises')).readdir(dir), [], 'nothing written');
  await t.throwsAsync(configDirWritable(join(dir, 'missing')), { message: /missing: ENOENT/ });
  await t.throwsAsync(configDirWritable(dir, Number.MAX_SAFE_INTEGER), { message: /KiB free on the file system of/ });
  if (isRoot) {
    // A read-only bind mount in a private mount namespace (unshare): the mount never touches anyone else.
    const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
      `mount --bind -o ro ${dir} ${dir} && mount -o remount,bind,ro ${dir} && ${process.execPath} -e "import('${fileURLToPath(new URL('../../../src/control/system/config-writable.ts', import.meta.url))}').then(m => m.configDirWritable('${dir}')).then(() => console.log('writable'), (e) => console.log(e.message))"`,
    ], { timeout: 20_000 });
    t.is(r.stdout.trim(), `${dir} is on a read-only file system`);
  } else {
    t.log('NOT RUN: the read-only mount case needs root (CI runs as root)');
  }
});
