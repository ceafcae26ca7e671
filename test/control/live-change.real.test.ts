/**
 * Issue 6 §1 / acceptance "live changes": two cascades from one sebridge daemon to the real server; editing,
 * renaming, taking offline and deleting one leaves the other's session (its name on the server and its TCP
 * connections) untouched, and a cosmetic change (rename) keeps even the edited cascade's session and counters.
 */
import test from 'ava';
import { startServer, serverCapability } from '../harness/softether-server.ts';
import type { SoftEtherServer } from '../harness/softether-server.ts';
import { Lab } from '../bridge/lab.ts';
import { hashPassword } from '../../src/protocol/password.ts';
import { startDaemon } from './daemon-process.ts';
import type { DaemonRun } from './daemon-process.ts';
import type { AdminClient } from './admin-client.ts';

const cap = serverCapability();
if (!cap.ok) console.error(`\n!!! SKIPPING test/control/live-change.real.test.ts: ${cap.reason} !!!\n`);
const serial = cap.ok ? test.serial : test.serial.skip;

let server: SoftEtherServer;
let lab: Lab;
let daemon: DaemonRun;
let api: AdminClient;

test.before(async () => {
  if (!cap.ok) return;
  server = await startServer();
  await server.createHub('LIVE');
  await server.createPasswordUser('LIVE', 'one', 'pw-one-123');
  await server.createPasswordUser('LIVE', 'two', 'pw-two-123');
  lab = new Lab();
  daemon = await startDaemon(lab);
  await daemon.client.ok('SetServerPassword', { PlainTextPassword_str: 'live-admin-pw' });
  api = daemon.client.withPassword('live-admin-pw');
});

test.after.always(async () => {
  await daemon?.stop();
  lab?.cleanup();
  await server?.stop();
});

const link = (name: string, user: string, pw: string, connections: number) => ({
  HubName_Ex_str: 'BRIDGE', AccountName_utf: name, Hostname_str: server.host, Port_u32: server.port, HubName_str: 'LIVE',
  AuthType_u32: 1, Username_str: user, HashedPassword_bin: hashPassword(user, pw).toString('base64'),
  MaxConnection_u32: connections, UseEncrypt_bool: true, AdditionalConnectionInterval_u32: 1,
});

async function linkStatus(name: string): Promise<Record<string, any>> {
  return api.ok('GetLinkStatus', { HubName_Ex_str: 'BRIDGE', AccountName_utf: name });
}

async function waitConnected(name: string, connections: number, ms = 40_000): Promise<Record<string, any>> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await api.call('GetLinkStatus', { HubName_Ex_str: 'BRIDGE', AccountName_utf: name });
    if (s.result?.Connected_bool && s.result.NumTcpConnections_u32 === connections) return s.result;
    if (Date.now() > end) throw new Error(`${name} not online with ${connections} connections: ${s.raw.slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The server's own record of a session: its TCP connection count. */
async function serverConnections(sessionName: string): Promise<number> {
  return (await server.getSession('LIVE', sessionName)).tcpConnections;
}

serial('edit, rename, offline and delete of one cascade never disturb the other', async (t) => {
  t.timeout(180_000);
  await api.ok('CreateLink', link('A', 'one', 'pw-one-123', 4));
  await api.ok('CreateLink', link('B', 'two', 'pw-two-123', 4));
  await api.ok('SetLinkOnline', { HubName_str: 'BRIDGE', AccountName_utf: 'A' });
  await api.ok('SetLinkOnline', { HubName_str: 'BRIDGE', AccountName_utf: 'B' });
  const a0 = await waitConnected('A', 4);
  const b0 = await waitConnected('B', 4);
  t.is(await serverConnections(b0.SessionName_str), 4);

  // Edit A (connection count): A reconnects with the new settings, B keeps its session.
  await api.ok('SetLink', { ...link('A', 'one', 'pw-one-123', 2), HashedPassword_bin: '' });
  const a1 = await waitConnected('A', 2);
  t.not(a1.SessionName_str, a0.SessionName_str, 'A logged in again with the new settings');
  let b = await linkStatus('B');
  t.is(b.SessionName_str, b0.SessionName_str, 'B: same session after A was edited');
  t.is(b.NumTcpConnections_u32, 4);
  t.is(await serverConnections(b0.SessionName_str), 4, 'the server still counts B\'s 4 connections');

  // Rename A: cosmetic, A keeps its session and counters.
  const before = await api.ok('EnumLinkEx');
  const framesA = before.LinkList.find((l: any) => l.AccountName_utf === 'A').FramesIn_u64;
  await api.ok('RenameLink', { HubName_str: 'BRIDGE', OldAccountName_utf: 'A', NewAccountName_utf: 'A-renamed' });
  const a2 = await linkStatus('A-renamed');
  t.is(a2.SessionName_str, a1.SessionName_str, 'a rename keeps the session');
  const after = await api.ok('EnumLinkEx');
  t.true(after.LinkList.find((l: any) => l.AccountName_utf === 'A-renamed').FramesIn_u64 >= framesA, 'and its counters');

  // Offline, then delete A: B untouched.
  await api.ok('SetLinkOffline', { HubName_str: 'BRIDGE', AccountName_utf: 'A-renamed' });
  await api.ok('DeleteLink', { HubName_str: 'BRIDGE', AccountName_utf: 'A-renamed' });
  b = await linkStatus('B');
  t.is(b.SessionName_str, b0.SessionName_str, 'B: same session after A was deleted');
  t.is(await serverConnections(b0.SessionName_str), 4);
  t.deepEqual((await api.ok('EnumLink', { HubName_str: 'BRIDGE' })).LinkList.map((l: any) => l.AccountName_utf), ['B']);
});

serial('the config survives a restart of the daemon, written once per change', async (t) => {
  t.timeout(90_000);
  const { readFileSync, statSync } = await import('node:fs');
  const file = `${daemon.dataDir}/config.json`;
  const mtime = statSync(file).mtimeMs;
  await new Promise((r) => setTimeout(r, 6000)); // health checks and dashboard polls run meanwhile
  await api.ok('EnumLinkEx');
  await api.ok('GetSystemStatus');
  t.is(statSync(file).mtimeMs, mtime, 'nothing is written while nothing changes');
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  t.deepEqual(doc.cascades.map((c: any) => c.name), ['B']);
  t.false(JSON.stringify(doc).includes('Connected'), 'no status in the config file');
});
