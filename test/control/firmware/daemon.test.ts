/**
 * The firmware upgrade through the whole daemon (fake system layer, real config store, API and web server):
 * upload over HTTP → GetFirmwareInfo shows the verified file → ApplyFirmware writes try and reboots through the
 * injected hook; a trial boot is confirmed once the web API answers; without slots everything says so.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../../src/control/daemon.ts';
import { FakeSystem } from '../fake-system.ts';
import { AdminClient } from '../admin-client.ts';
import { firmware, makeSystem, pseudoRandom, type Sys } from './fw-helpers.ts';

const ROOTFS = pseudoRandom(200 * 1024, 21);

async function startDaemon(t: import('ava').ExecutionContext, sys: Sys, version = '1.2.0') {
  const dir = await mkdtemp(join(tmpdir(), 'sebd-fw-'));
  const daemon = await Daemon.start({
    dataDir: join(dir, 'data'),
    runtimeDir: join(dir, 'run'),
    web: { host: '127.0.0.1', port: 0 },
    staticDir: null,
    version,
    system: new FakeSystem(),
    echo: () => {},
    firmware: {
      bootEnvPath: sys.bootEnvPath, bootDir: sys.bootDir, keysDir: sys.keysDir, arch: 'x86_64', kernel: '6.1.0-test-amd64',
      reboot: async () => void sys.reboots.push(Date.now()), rebootDelayMs: 0,
    },
  });
  t.teardown(async () => {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const client = new AdminClient('127.0.0.1', daemon.web.port, daemon.web.certSha256);
  await client.ok('SetServerPassword', { PlainTextPassword_str: 'unit-admin-pw' });
  return { daemon, api: client.withPassword('unit-admin-pw') };
}

function uploadFile(api: AdminClient, file: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: api.port, method: 'POST', path: '/firmware/upload', headers: { ...api.headers, 'Content-Length': String(file.length) }, rejectUnauthorized: false, agent: false }, (r) => {
      let body = '';
      r.on('data', (d) => (body += d));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(file);
  });
}

test('upload over HTTP, GetFirmwareInfo shows it verified, ApplyFirmware (with the version shown) writes try and reboots', async (t) => {
  const sys = await makeSystem(t);
  const { api } = await startDaemon(t, sys);
  const before = await api.ok('GetFirmwareInfo');
  t.like(before, { Version_str: '1.2.0', HasSlots_bool: true, Slot_str: 'a', ActiveSlot_str: 'a', OtherSlot_str: 'b', Trial_bool: false, PendingSlot_str: '', UploadPhase_str: 'idle', UploadPath_str: '/firmware/upload', OtherVersion_str: '' });
  t.deepEqual(before.KeyList, [{ Name_str: 'release.pub', Fingerprint_str: sys.key.fingerprint }]);
  t.is((await api.call('ApplyFirmware', { Version_str: '1.3.0' })).error?.code, 29, 'nothing uploaded yet');

  const file = firmware(ROOTFS, sys.key);
  const res = await uploadFile(api, file);
  t.is(res.status, 200, res.body);
  const info = await api.ok('GetFirmwareInfo');
  t.like(info, {
    UploadPhase_str: 'ready', UploadVersion_str: '1.3.0', UploadTargetSlot_str: 'b', UploadReceived_u64: file.length, UploadTotal_u64: file.length,
    UploadWritten_u64: ROOTFS.length, UploadSignedBy_str: sys.key.fingerprint, UploadDowngrade_bool: false, OtherVersion_str: '1.3.0', UploadError_utf: '',
  });
  const wrong = await api.call('ApplyFirmware', { Version_str: '1.4.0' });
  t.is(wrong.error?.code, 38);
  t.regex(wrong.error?.message ?? '', /Version_str: the verified upload is 1\.3\.0, not 1\.4\.0/);
  t.is(await sys.tryFile(), null);
  const missing = await api.call('ApplyFirmware', {});
  t.regex(missing.error?.message ?? '', /Version_str: is required/);
  t.like(await api.ok('ApplyFirmware', { Version_str: '1.3.0' }), { Version_str: '1.3.0', Slot_str: 'b', Rebooting_bool: true });
  t.is(await sys.tryFile(), 'b\n');
  await new Promise((r) => setTimeout(r, 30));
  t.is(sys.reboots.length, 1);
  t.like(await api.ok('GetFirmwareInfo'), { UploadPhase_str: 'applying', PendingSlot_str: 'b' });
});

test('a trial boot is confirmed once the daemon is up and its web API answers', async (t) => {
  const sys = await makeSystem(t, { active: 'a' });
  await sys.writeEnv({ SLOT: 'b', ACTIVE: 'a', TRIAL: '1', SLOT_DEV: sys.slotB, OTHER_DEV: sys.slotA });
  const { api } = await startDaemon(t, sys, '1.3.0');
  t.is(await sys.activeFile(), 'b\n');
  t.like(await api.ok('GetFirmwareInfo'), { Version_str: '1.3.0', Slot_str: 'b', ActiveSlot_str: 'b', Trial_bool: true, TrialConfirmed_bool: true, OtherSlot_str: 'a' });
});

test('without boot slots: GetFirmwareInfo says so, the upload and ApplyFirmware are refused', async (t) => {
  const sys = await makeSystem(t, { env: null });
  const { api } = await startDaemon(t, sys);
  const info = await api.ok('GetFirmwareInfo');
  t.like(info, { HasSlots_bool: false, Slot_str: '', OtherSlot_str: '' });
  t.regex(info.NoSlotsReason_utf, /^this system has no firmware slots/);
  const up = await uploadFile(api, firmware(ROOTFS, sys.key));
  t.is(up.status, 409);
  t.regex(JSON.parse(up.body).error, /this system has no firmware slots/);
  const apply = await api.call('ApplyFirmware', { Version_str: '1.3.0' });
  t.is(apply.error?.code, 29);
  t.is(await sys.activeFile(), null, 'nothing confirmed or written');
});
