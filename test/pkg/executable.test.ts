/**
 * Issue 7, single executable: `npm run pkg` (scripts/pkg.ts) builds dist/sebridge-linux-x64 and -arm64, and
 *  - the x64 executable runs in a chroot that holds only it and its shared libraries (read-only, PATH stripped, an
 *    empty environment, no Node anywhere; /run a tmpfs, /data a separate writable mount, /proc and /sys mounted):
 *    it serves the UI byte for byte, answers the API, bridges a veth with its embedded addon and brings a cascade
 *    online against the real SoftEther server;
 *  - the arm64 executable does the same API and cascade under Debian's qemu-user.
 * It prints the size, the time from exec to "web UI answers" and the idle RSS (anonymous and total).
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, sleep } from '../bridge/lab.ts';
import type { BoundedText } from '../harness/bounded-text.ts';
import { AdminClient } from '../control/admin-client.ts';
import { startServer, serverCapability } from '../harness/softether-server.ts';
import type { SoftEtherServer } from '../harness/softether-server.ts';
import { hashPassword } from '../../src/protocol/password.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const EXE = { x64: join(ROOT, 'dist', 'sebridge-linux-x64'), arm64: join(ROOT, 'dist', 'sebridge-linux-arm64') };
const AARCH64_SYSROOT = '/usr/aarch64-linux-gnu';
const ADMIN_PW = 'pkg-admin-pw-1';

/** Absolute path of a tool on this machine's PATH (the commands below run with an empty environment). */
function which(name: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : name;
}

function missing(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `needs an x64 Linux host, this is ${process.platform}/${process.arch}`;
  if (process.getuid?.() !== 0) return 'needs root (chroot, mount namespace, veth)';
  const tools: Array<[string[], string]> = [
    [['unshare', '--mount', 'true'], 'unshare (util-linux)'],
    [['chroot', '--version'], 'chroot (coreutils)'],
    [['ldd', '--version'], 'ldd (libc-bin)'],
    [['aarch64-linux-gnu-gcc', '--version'], 'apt-get install gcc-aarch64-linux-gnu'],
    [['qemu-aarch64', '--version'], 'apt-get install qemu-user'],
  ];
  for (const [argv, what] of tools) {
    const r = spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    if (r.error || r.status !== 0) return `needs ${what}`;
  }
  if (!existsSync(join(AARCH64_SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))) return 'needs the aarch64 libc (apt-get install libc6-arm64-cross)';
  const cap = serverCapability();
  return cap.ok ? null : cap.reason;
}

const why = missing();
if (why) console.error(`\n!!! SKIPPING test/pkg/executable.test.ts: ${why} !!!\n`);
const serial = why ? test.serial.skip : test.serial;

let server: SoftEtherServer;
let lab: Lab;

test.before(async () => {
  if (why) return;
  const t0 = performance.now();
  const r = spawnSync(NODE, [join(ROOT, 'scripts', 'pkg.ts'), '--no-web-build'], { cwd: ROOT, encoding: 'utf8', timeout: 280_000 });
  if (r.status !== 0) throw new Error(`npm run pkg failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  console.log(`${r.stdout.trim()}\n(npm run pkg: ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  server = await startServer();
  await server.createHub('PKG');
  await server.createPasswordUser('PKG', 'pkgx64', 'pw-x64-1234');
  await server.createPasswordUser('PKG', 'pkgarm', 'pw-arm-1234');
  lab = new Lab();
});

test.after.always(async () => {
  lab?.cleanup();
  await server?.stop();
});

/** The shared libraries `ldd` names for a file, resolved on this machine (including the dynamic loader). */
function sharedLibraries(file: string): string[] {
  const r = spawnSync('ldd', [file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ldd ${file}: ${r.stderr}`);
  return [...r.stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
}

function filesBelow(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...filesBelow(dir, r));
    else out.push(r);
  }
  return out.sort();
}

interface Started {
  pid: number;
  client: AdminClient;
  output: BoundedText;
  /** exec → first answered GET / of the web UI */
  uiMs: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Start `run` through `unshare --mount` (so every mount goes away with the process), with an empty environment;
 * `prefix` mounts what the variant needs and ends in the exec of the executable. Waits for the UI to answer.
 */
async function startRun(t: ExecutionContext, script: string, scriptArgs: string[]): Promise<Started> {
  const t0 = performance.now();
  const { child, output } = lab.spawn(['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-ec', script, 'sh', ...scriptArgs], { env: { PATH: process.env.PATH } });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let port = 0;
  let cert = '';
  const deadline = Date.now() + 90_000;
  while (!port) {
    const m = /admin API on https:\/\/127\.0\.0\.1:(\d+)\/ \(certificate SHA-256 ([0-9A-F:]+)\)/.exec(output.text());
    if (m) {
      port = Number(m[1]);
      cert = m[2]!;
    } else if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`the executable did not start:\n${output.text()}`);
    } else await sleep(20);
  }
  const client = new AdminClient('127.0.0.1', port, cert);
  for (;;) {
    const r = await client.request('/', null, {}, 'GET').catch(() => null);
    if (r?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`the web UI never answered:\n${output.text()}`);
    await sleep(20);
  }
  const uiMs = performance.now() - t0;
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { pid: child.pid!, client, output, uiMs, exited };
}

/** The UI's files come back exactly as `npm run build` wrote them to dist/web. */
async function checkUi(t: ExecutionContext, client: AdminClient): Promise<void> {
  const index = await client.request('/', null, {}, 'GET');
  t.is(index.status, 200);
  t.regex(String(index.headers['content-type']), /^text\/html/);
  t.is(index.body, readFileSync(join(ROOT, 'dist', 'web', 'index.html'), 'utf8'));
  const script = /src="\.\/(app-[A-Za-z0-9]+\.js)"/.exec(index.body)?.[1];
  t.truthy(script, 'index.html names its script');
  const js = await client.request(`/${script}`, null, { 'Accept-Encoding': 'identity' }, 'GET');
  t.is(js.status, 200);
  const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
  t.is(sha(js.body), sha(readFileSync(join(ROOT, 'dist', 'web', script!))));
}

/** Test, GetSetupState, the admin password, a cascade to the real server online. */
async function checkApi(t: ExecutionContext, client: AdminClient, user: string, password: string): Promise<AdminClient> {
  const setup = await client.ok('GetSetupState');
  t.false(setup.AdminPasswordSet_bool);
  t.is(setup.Version_str, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  await client.ok('SetServerPassword', { PlainTextPassword_str: ADMIN_PW });
  const api = client.withPassword(ADMIN_PW);
  t.is((await api.ok('Test', { IntValue_u32: 4242 })).IntValue_u32, 4242);
  t.true((await api.ok('GetSetupState')).AdminPasswordSet_bool);
  await api.ok('CreateLink', {
    HubName_Ex_str: 'BRIDGE', AccountName_utf: 'hq', Hostname_str: server.host, Port_u32: server.port, HubName_str: 'PKG',
    AuthType_u32: 1, Username_str: user, HashedPassword_bin: hashPassword(user, password).toString('base64'),
    MaxConnection_u32: 2, UseEncrypt_bool: true, AdditionalConnectionInterval_u32: 1,
  });
  await api.ok('SetLinkOnline', { HubName_str: 'BRIDGE', AccountName_utf: 'hq' });
  const end = Date.now() + 60_000;
  for (;;) {
    const s = await api.call('GetLinkStatus', { HubName_Ex_str: 'BRIDGE', AccountName_utf: 'hq' });
    if (s.result?.Connected_bool && s.result.NumTcpConnections_u32 === 2) break;
    if (Date.now() > end) throw new Error(`cascade not online with 2 connections: ${s.raw.slice(0, 400)}`);
    await sleep(250);
  }
  t.true((await server.listSessions('PKG')).some((s) => s.user === user), 'the server lists the cascade session');
  return api;
}

function rss(pid: number): { anonKiB: number; totalKiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { anonKiB: kib('RssAnon'), totalKiB: kib('VmRSS') };
}

async function stop(t: ExecutionContext, s: Started): Promise<void> {
  process.kill(s.pid, 'SIGTERM');
  const exit = await Promise.race([s.exited, sleep(20_000).then(() => null)]);
  t.deepEqual(exit, { code: 0, signal: null }, `clean exit on SIGTERM:\n${s.output.text()}`);
}

/** A veth pair of this test's lab, both ends up; cleanup() removes it. */
function addVeth(suffix: string): string {
  const veth = lab.name(suffix);
  const peer = lab.name(`${suffix}p`);
  lab.trackLink(veth);
  for (const argv of [['link', 'add', veth, 'type', 'veth', 'peer', 'name', peer], ['link', 'set', veth, 'up'], ['link', 'set', peer, 'up']]) {
    const r = spawnSync('ip', argv, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${argv.join(' ')}: ${r.stderr}`);
  }
  return veth;
}

/** The embedded addon at work: a raw-socket local bridge on a veth of this test (ioctls, AF_PACKET, ethtool). */
async function checkRawBridge(t: ExecutionContext, api: AdminClient, s: Started, veth: string): Promise<void> {
  await api.ok('AddLocalBridge', { DeviceName_str: veth, HubNameLB_str: 'BRIDGE' });
  await waitLine(s, new RegExp(`local bridge ${veth}: bridged \\(raw socket`));
  const b = (await api.ok('EnumLocalBridge')).LocalBridgeList as Array<Record<string, unknown>>;
  t.true(b.some((x) => x.DeviceName_str === veth && x.Online_bool === true && x.Active_bool === true), JSON.stringify(b));
}

/**
 * The embedded addon creating a TAP device (/dev/net/tun, TUNSETIFF, interface ioctls): the kernel then lists
 * tap_<name>. Used under qemu-user, whose ioctl translation has no SIOCETHTOOL (a raw bridge there fails with
 * "ETHTOOL_GFEATURES: Function not implemented", which is qemu's limit, not the executable's).
 */
async function checkTapBridge(t: ExecutionContext, api: AdminClient, s: Started, name: string): Promise<void> {
  const ifname = `tap_${name}`;
  lab.trackLink(ifname);
  await api.ok('AddLocalBridge', { DeviceName_str: name, HubNameLB_str: 'BRIDGE', TapMode_bool: true });
  await waitLine(s, new RegExp(`local bridge ${name}: `));
  await waitLine(s, new RegExp(`local bridge ${name}: .*(tap|TAP)`));
  const link = spawnSync('ip', ['-j', 'link', 'show', ifname], { encoding: 'utf8' });
  t.is(link.status, 0, `the kernel lists ${ifname}: ${link.stderr}\n${s.output.text()}`);
}

async function waitLine(s: Started, re: RegExp, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!re.test(s.output.text())) {
    if (Date.now() > end) throw new Error(`no line ${re} from the executable:\n${s.output.text()}`);
    await sleep(100);
  }
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

serial('x64: runs in a read-only chroot holding only the executable and its libraries, serves the UI, bridges, cascades', async (t) => {
  const jail = join(lab.dir, 'jail-x64');
  mkdirSync(jail);
  copyFileSync(EXE.x64, join(jail, 'sebridge'));
  const libs = sharedLibraries(EXE.x64);
  for (const lib of libs) {
    mkdirSync(join(jail, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(jail, lib)); // follows the symlink: the jail holds the real file under the linked name
  }
  const contents = filesBelow(jail);
  t.deepEqual(contents, ['/sebridge', ...libs].sort(), 'the jail holds the executable and its libraries, nothing else');
  t.false(contents.some((f) => /(^|\/)node(js)?$/.test(f)), 'no node in the jail');
  for (const d of ['run', 'data', 'proc', 'sys']) mkdirSync(join(jail, d));

  // Help needs nothing unpacked: works with no /run at all.
  const help = spawnSync(which('chroot'), [jail, '/sebridge', 'run', '--help'], { env: {}, encoding: 'utf8', timeout: 30_000 });
  t.is(help.status, 0, help.stderr);
  t.regex(help.stdout, /sebridge run \[--data-dir DIR\]/);

  const veth = addVeth('v0');

  const s = await startRun(t, [
    'J="$1"',
    'mount --bind "$J" "$J"',
    'mount -o remount,bind,ro "$J"',
    'mount -t tmpfs -o size=64m,mode=0755 sebpkg-run "$J/run"',
    'mount -t tmpfs -o size=16m,mode=0700 sebpkg-data "$J/data"',
    'mount -t proc proc "$J/proc"',
    'mount -t sysfs -o ro sysfs "$J/sys"',
    'exec env -i "$2" "$J" /sebridge run --data-dir /data --runtime-dir /run/sebridge --web 127.0.0.1:0',
  ].join('\n'), [jail, which('chroot')]);
  t.is(readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').split('\0')[0], '/sebridge', 'the PID is the executable itself');
  t.deepEqual(Object.keys(Object.fromEntries(readFileSync(`/proc/${s.pid}/environ`, 'utf8').split('\0').filter(Boolean).map((l) => l.split('=')))), [], 'empty environment');
  t.notRegex(s.output.text(), /native addon not loaded|web UI not unpacked|not on a tmpfs/);

  await checkUi(t, s.client);
  await sleep(5_000); // idle: the numbers an appliance sees after start
  const idle = rss(s.pid);
  const api = await checkApi(t, s.client, 'pkgx64', 'pw-x64-1234');

  await checkRawBridge(t, api, s, veth);
  await stop(t, s);

  t.log(`dist/sebridge-linux-x64: ${mib(statSync(EXE.x64).size)}; exec → web UI answers: ${s.uiMs.toFixed(0)} ms; idle RSS ${(idle.totalKiB / 1024).toFixed(1)} MiB (anonymous ${(idle.anonKiB / 1024).toFixed(1)} MiB)`);
});

serial('arm64: under qemu-user it starts, serves the UI, answers the API and brings a cascade online', async (t) => {
  const runDir = join(lab.dir, 'run-arm64');
  mkdirSync(runDir);
  const s = await startRun(t, [
    'R="$1"',
    'mount -t tmpfs -o size=64m,mode=0755 sebpkg-run "$R"',
    `exec env -i "$3" -L ${AARCH64_SYSROOT} "$2" run --data-dir "$R/data" --runtime-dir "$R/sebridge" --web 127.0.0.1:0`,
  ].join('\n'), [runDir, EXE.arm64, which('qemu-aarch64')]);
  t.notRegex(s.output.text(), /native addon not loaded|web UI not unpacked|not on a tmpfs|built for/);
  await checkUi(t, s.client);
  await checkApi(t, s.client, 'pkgarm', 'pw-arm-1234');
  await checkTapBridge(t, s.client.withPassword(ADMIN_PW), s, `pk${lab.id.slice(0, 4)}`);
  await stop(t, s);
  t.log(`dist/sebridge-linux-arm64: ${mib(statSync(EXE.arm64).size)}; under qemu-user (TCG, not a real board): exec → web UI answers ${s.uiMs.toFixed(0)} ms`);
});
