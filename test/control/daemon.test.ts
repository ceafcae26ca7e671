/**
 * The whole daemon in one process on the fake system layer (netifd's dummy mode): config store, supervisor, API,
 * web server, health and metrics run for real; only the kernel and the network are in memory. No root needed.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../src/control/daemon.ts';
import { faultDrops } from '../../src/ports/port-drops.ts';
import { hashPassword } from '../../src/protocol/password.ts';
import { FakeSystem } from './fake-system.ts';
import { AdminClient } from './admin-client.ts';

async function startFakeDaemon(t: import('ava').ExecutionContext) {
  const dir = mkdtempSync(join(tmpdir(), 'sebd-unit-'));
  const system = new FakeSystem();
  const lines: string[] = [];
  const daemon = await Daemon.start({
    dataDir: join(dir, 'data'),
    runtimeDir: join(dir, 'run'),
    web: { host: '127.0.0.1', port: 0 },
    staticDir: null,
    version: '0.0.0-test',
    system,
    echo: (l) => lines.push(l),
    startupNotes: ['TLS: a start-up note for the Logs page'],
  });
  t.teardown(async () => {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const client = new AdminClient('127.0.0.1', daemon.web.port, daemon.web.certSha256);
  await client.ok('SetServerPassword', { PlainTextPassword_str: 'unit-admin-pw' });
  return { daemon, system, lines, dir, api: client.withPassword('unit-admin-pw') };
}

const link = (name: string) => ({
  HubName_Ex_str: 'BRIDGE', AccountName_utf: name, Hostname_str: '198.18.0.1', Port_u32: 5555, HubName_str: 'HUB',
  AuthType_u32: 1, Username_str: 'u', HashedPassword_bin: hashPassword('u', 'p').toString('base64'),
});

test('a link set online runs; trust on first use lands in the config file without restarting the cascade', async (t) => {
  const { daemon, system, api } = await startFakeDaemon(t);
  await api.ok('CreateLink', link('hq'));
  await api.ok('SetLinkOnline', { HubName_str: 'BRIDGE', AccountName_utf: 'hq' });
  const c = system.live('hq');
  c.goOnline(8);
  c.recordFirstUse('CD:'.repeat(31) + 'CD');
  // The store publishes a change once it is on disk: wait for the API to show it, then look at the file.
  const until = Date.now() + 5000;
  let ex = await api.ok('EnumLinkEx');
  while (ex.LinkList[0].CertCheck_str !== 'pinned' && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    ex = await api.ok('EnumLinkEx');
  }
  t.true(readFileSync(join(daemon.options.dataDir, 'config.json'), 'utf8').includes('cd'.repeat(32)), 'the recorded fingerprint is stored');
  t.is(system.live('hq'), c, 'and the cascade kept running');
  t.like(ex.LinkList[0], { State_str: 'online', Connections_u32: 8, PinnedCertSha256_str: 'cd'.repeat(32), CertCheck_str: 'pinned' });
});

test('RebootServer restarts cascades and bridges in-process; the API stays up', async (t) => {
  const { system, api, lines } = await startFakeDaemon(t);
  await api.ok('CreateLink', link('hq'));
  await api.ok('SetLinkOnline', { HubName_str: 'BRIDGE', AccountName_utf: 'hq' });
  await api.ok('AddLocalBridge', { DeviceName_str: 'eth1', HubNameLB_str: 'BRIDGE' });
  const before = system.live('hq');
  await api.ok('RebootServer', { IntValue_u32: 0 });
  const until = Date.now() + 5000;
  while (system.cascades.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  t.is(before.stopped, 1);
  t.not(system.live('hq'), before, 'a fresh cascade from the stored config');
  t.true(system.ports[0].closed, 'the bridge was closed');
  t.false(system.ports[1].closed, 'and opened again');
  t.true(lines.some((l) => /restart done/.test(l)));
  t.is((await api.ok('Test', { IntValue_u32: 4 })).StrValue_str, '4');
});

test('nothing is written while nothing changes; logs, health and system status answer', async (t) => {
  const { daemon, api } = await startFakeDaemon(t);
  await api.ok('CreateLink', link('hq'));
  const file = join(daemon.options.dataDir, 'config.json');
  const mtime = statSync(file).mtimeMs;
  for (let i = 0; i < 10; i++) {
    await api.ok('EnumLinkEx');
    await api.ok('GetHealth');
    await api.ok('GetSystemStatus');
    await new Promise((r) => setTimeout(r, 100));
  }
  t.is(statSync(file).mtimeMs, mtime);
  const logs = await api.ok('GetLogs', { MinLevel_str: 'info', Filter_utf: 'CreateLink' });
  t.true(logs.LogList.length >= 1);
  const notes = await api.ok('GetLogs', { MinLevel_str: 'info', Filter_utf: 'start-up note' });
  t.is(notes.LogList.length, 1, 'the start-up notes run.ts passes (the TLS cipher choice) are on the Logs page');
  t.false(JSON.stringify(logs).includes(hashPassword('u', 'p').toString('base64')), 'no secret in the logs');
  const sys = await api.ok('GetSystemStatus');
  t.is(sys.Version_str, '0.0.0-test');
  // The start-up system round left the resource chart its first reading (real /proc of this machine).
  const res = await api.ok('GetHealthResourceHistory');
  t.is(res.Interval_u32, 30);
  t.true(res.PointList.length >= 1);
  const p0 = res.PointList[0];
  t.true(p0.CpuPercent_u32 >= 0 && p0.CpuPercent_u32 <= 100 && p0.MemoryPercent_u32 > 0 && p0.MemoryPercent_u32 <= 100, JSON.stringify(p0));
  t.is(typeof p0.TemperatureKnown_bool, 'boolean');
  t.true(sys.ProcessRss_u64 > 0);
  const exported = JSON.parse((await api.ok('GetConfig', {})).Config_utf);
  t.is(exported.cascades[0].name, 'hq');
  t.false(JSON.stringify(exported).includes(hashPassword('u', 'p').toString('base64')), 'export without secrets');
  t.false('passwordHash' in (exported.admin ?? {}));
});

test('SetConfig validates the whole document before anything changes', async (t) => {
  const { api } = await startFakeDaemon(t);
  await api.ok('CreateLink', link('hq'));
  const full = JSON.parse((await api.ok('GetConfig', { IncludeSecrets_bool: true })).Config_utf);
  const bad = structuredClone(full);
  bad.cascades[0].port = 70000;
  const r = await api.call('SetConfig', { Config_utf: JSON.stringify(bad) });
  t.is(r.error?.code, 38);
  t.regex(r.error!.message, /cascades\[0\]\.port/);
  t.is((await api.ok('GetLink', { HubName_Ex_str: 'BRIDGE', AccountName_utf: 'hq' })).Port_u32, 5555, 'unchanged');
  const renamed = structuredClone(full);
  renamed.cascades[0].name = 'hq2';
  await api.ok('SetConfig', { Config_utf: JSON.stringify(renamed) });
  t.deepEqual((await api.ok('EnumLink', { HubName_str: 'BRIDGE' })).LinkList.map((l: any) => l.AccountName_utf), ['hq2']);
});

test("a bridge's drops for the health check leave out CoDel's (a signal to a busy LAN host, not a fault)", (t) => {
  t.is(faultDrops({ rxDropAqm: 900, rxDropKernel: 3, txDropQueueFull: 2 }), 5);
  t.is(faultDrops({ rxDropAqm: 900 }), 0);
  t.is(faultDrops({ rxDropPathAqm: 70, rxDropAqm: 2 }), 0);
  t.is(faultDrops({}), 0);
});
