import test from 'ava';
import { hashPassword } from '../../src/protocol/password.ts';
import { ApiError } from '../../src/control/api/errors.ts';
import { apiHarness, SETUP } from './api-harness.ts';

const HASH = hashPassword('linkuser', 'linkpw').toString('base64');
const link = (over: Record<string, unknown> = {}) => ({
  HubName_Ex_str: 'BRIDGE', AccountName_utf: 'hq', Hostname_str: '198.18.0.1', Port_u32: 5555, HubName_str: 'HUB1',
  AuthType_u32: 1, Username_str: 'linkuser', HashedPassword_bin: HASH, MaxConnection_u32: 8, UseEncrypt_bool: true, ...over,
});

async function refused(t: import('ava').ExecutionContext, p: Promise<unknown>, code: number, field?: RegExp) {
  const e = await t.throwsAsync(p, { instanceOf: ApiError });
  t.is(e!.code, code, e!.message);
  if (field) t.regex(e!.message, field);
  return e!;
}

test('CreateLink stores the link offline (like the stock bridge), GetLink never returns a secret', async (t) => {
  const h = apiHarness();
  const created = await h.call('CreateLink', link());
  t.is(created.Online_bool, false);
  t.is(h.config.doc.cascades[0].hashedPassword, HASH, 'the hash is stored');
  t.is(h.system.cascades.length, 0, 'nothing runs while offline');
  const got = await h.call('GetLink', { HubName_Ex_str: 'BRIDGE', AccountName_utf: 'HQ' });
  t.is(got.HashedPassword_bin, Buffer.alloc(20).toString('base64'), 'the hash reads back as zeros');
  t.is(got.Hostname_str, '198.18.0.1');
  t.is(got.NumRetry_u32, 0xffffffff);
  t.is(got['policy:MaxConnection_u32'], 32);
  t.false(JSON.stringify(got).includes(HASH));
});

test('SetLinkOnline starts it; EnumLink and GetLinkStatus show the live state; offline stops it', async (t) => {
  const h = apiHarness();
  await h.call('CreateLink', link());
  await h.call('SetLinkOnline', { HubName_str: 'BRIDGE', AccountName_utf: 'hq' });
  const c = h.system.live('hq');
  t.deepEqual(c.options.auth, { type: 'password', hashedPassword: Buffer.from(HASH, 'base64') });
  let st = await h.call('GetLinkStatus', { HubName_Ex_str: 'BRIDGE', AccountName_utf: 'hq' });
  t.is(st.Connected_bool, false);
  t.is(st.SessionStatus_u32, 0);
  t.is(st.CurrentConnectionEstablishTime_dt, '1970-01-01T09:00:00.000Z', 'the stock zero time');
  t.false('ServerX_bin' in st);
  c.goOnline(8);
  st = await h.call('GetLinkStatus', { HubName_Ex_str: 'BRIDGE', AccountName_utf: 'hq' });
  t.is(st.Connected_bool, true);
  t.is(st.SessionStatus_u32, 3);
  t.is(st.NumTcpConnections_u32, 8);
  t.is(st.ServerProductBuild_u32, 9674);
  t.is(st.SessionKey_bin, Buffer.alloc(20).toString('base64'), 'the session key is a secret');
  t.is(typeof st.ServerX_bin, 'string');
  const en = await h.call('EnumLink', { HubName_str: 'BRIDGE' });
  t.like((en.LinkList as object[])[0], { AccountName_utf: 'hq', Online_bool: true, Connected_bool: true, TargetHubName_str: 'HUB1' });
  c.fail('authentication failed (error 9): check user name and password', 9);
  const ex = await h.call('EnumLinkEx');
  t.like((ex.LinkList as object[])[0], { State_str: 'waiting', LastError_u32: 9, LastErrorText_utf: 'authentication failed (error 9)', LastErrorHint_utf: 'check user name and password' });
  await h.call('SetLinkOffline', { HubName_str: 'BRIDGE', AccountName_utf: 'hq' });
  t.is(c.stopped, 1);
  await refused(t, h.call('GetLinkStatus', { HubName_Ex_str: 'BRIDGE', AccountName_utf: 'hq' }), 61);
});

test('RenameLink keeps the running session; DeleteLink stops it', async (t) => {
  const h = apiHarness();
  await h.call('CreateLink', link());
  await h.call('SetLinkOnline', { HubName_str: 'BRIDGE', AccountName_utf: 'hq' });
  const c = h.system.live('hq');
  c.goOnline();
  await h.call('RenameLink', { HubName_str: 'BRIDGE', OldAccountName_utf: 'hq', NewAccountName_utf: 'head office' });
  t.is(c.stopped, 0);
  t.is(h.config.doc.cascades[0].name, 'head office');
  const st = await h.call('GetLinkStatus', { HubName_Ex_str: 'BRIDGE', AccountName_utf: 'head office' });
  t.is(st.Connected_bool, true);
  await h.call('DeleteLink', { HubName_str: 'BRIDGE', AccountName_utf: 'head office' });
  t.is(c.stopped, 1);
  t.deepEqual(h.config.doc.cascades, []);
});

test('SetLink keeps the stored hash when none is resent, and reconnects only that link', async (t) => {
  const h = apiHarness();
  await h.call('CreateLink', link());
  await h.call('CreateLink', link({ AccountName_utf: 'dr', Hostname_str: '198.18.0.2' }));
  await h.call('SetLinkOnline', { HubName_str: 'BRIDGE', AccountName_utf: 'hq' });
  await h.call('SetLinkOnline', { HubName_str: 'BRIDGE', AccountName_utf: 'dr' });
  const hq = h.system.live('hq');
  const dr = h.system.live('dr');
  await h.call('SetLink', link({ HashedPassword_bin: '', MaxConnection_u32: 4 }));
  t.is(h.config.doc.cascades[0].hashedPassword, HASH);
  t.is(hq.stopped, 1);
  t.is(h.system.live('hq').options.maxConnections, 4);
  t.is(dr.stopped, 0, 'the other cascade was not touched');
});

test('refusals: duplicate 59, unknown 29, wrong hub 8, bad values name the field', async (t) => {
  const h = apiHarness();
  await h.call('CreateLink', link());
  await refused(t, h.call('CreateLink', link({ AccountName_utf: 'HQ' })), 59);
  await refused(t, h.call('GetLink', { HubName_Ex_str: 'BRIDGE', AccountName_utf: 'nope' }), 29);
  await refused(t, h.call('EnumLink', { HubName_str: 'NOHUB' }), 8);
  await refused(t, h.call('CreateLink', link({ AccountName_utf: 'x', Port_u32: 70000 })), 38, /Port_u32/);
  await refused(t, h.call('CreateLink', link({ AccountName_utf: 'x', Port_u32: '443' })), 38, /Port_u32/);
  await refused(t, h.call('CreateLink', link({ AccountName_utf: 'x', MaxConnection_u32: 33 })), 38, /MaxConnection_u32/);
  await refused(t, h.call('CreateLink', link({ AccountName_utf: 'x', HashedPassword_bin: 'AAAA' })), 38, /HashedPassword_bin/);
  await refused(t, h.call('CreateLink', link({ AccountName_utf: 'x', Hostname_str: '' })), 38, /Hostname_str/);
  await refused(t, h.call('CreateLink', link({ AccountName_utf: 'x', ProxyType_u32: 4 })), 38, /ProxyType_u32/);
  await refused(t, h.call('NoSuchMethod'), 33);
  t.is(h.config.doc.cascades.length, 1, 'nothing was added by the refused calls');
});

test('plain password with AuthType 1 is hashed (sebridge extension); plain auth keeps the plain one', async (t) => {
  const h = apiHarness();
  await h.call('CreateLink', link({ HashedPassword_bin: '', PlainPassword_str: 'linkpw' }));
  t.is(h.config.doc.cascades[0].hashedPassword, HASH);
  await h.call('CreateLink', link({ AccountName_utf: 'radius', AuthType_u32: 2, HashedPassword_bin: '', PlainPassword_str: 'rpw' }));
  t.is(h.config.doc.cascades[1].plainPassword, 'rpw');
  const got = await h.call('GetLink', { HubName_Ex_str: 'BRIDGE', AccountName_utf: 'radius' });
  t.is(got.PlainPassword_str, '');
  t.false('HashedPassword_bin' in got);
});

test('before setup only SetServerPassword and GetSetupState answer', async (t) => {
  const h = apiHarness();
  await refused(t, h.call('EnumLink', { HubName_str: 'BRIDGE' }, SETUP), 12);
  const s = await h.call('GetSetupState', {}, SETUP);
  t.is(s.AdminPasswordSet_bool, false);
  const r = await h.call('SetServerPassword', { PlainTextPassword_str: 'correct horse' }, SETUP);
  t.is(r.PlainTextPassword_str, '', 'the password is not echoed');
  t.is(h.config.doc.admin.passwordHash, 'test$13');
  await refused(t, h.call('SetServerPassword', { PlainTextPassword_str: 'again and again' }, SETUP), 12);
});

test('ReconnectLink asks the running cascade to log in again; TestLink reports the server or the error with its hint', async (t) => {
  const h = apiHarness({
    testLogin: async () => ({ ok: false, error: 9, errorText: 'authentication failed (error 9): check user name and password', server: { product: 'SoftEther VPN Server', version: 501, build: 9674 }, granted: 0, certSha256: 'AA:BB', tls: { version: 'TLSv1.3', cipher: 'X' } }),
  });
  await h.call('CreateLink', link());
  await h.call('SetLinkOnline', { HubName_str: 'BRIDGE', AccountName_utf: 'hq' });
  await h.call('ReconnectLink', { AccountName_utf: 'hq' });
  t.is(h.system.live('hq').reconnectRequests, 1);
  const r = await h.call('TestLink', link({ AccountName_utf: '' }));
  t.like(r, { Success_bool: false, Error_u32: 9, ErrorText_utf: 'authentication failed (error 9)', ErrorHint_utf: 'check user name and password', ServerBuild_u32: 9674, ServerCertSha256_str: 'AA:BB' });
});

test('proxy settings and the trusted certificate map to the engine; TrustLinkCert applies live', async (t) => {
  const h = apiHarness();
  await h.call('CreateLink', link({ ProxyType_u32: 3, ProxyName_str: '198.18.0.9', ProxyPort_u32: 1080, ProxyUsername_str: 'pu', ProxyPassword_str: 'ppw' }));
  t.deepEqual(h.config.doc.cascades[0].proxy, { type: 'socks5', host: '198.18.0.9', port: 1080, username: 'pu', password: 'ppw', customHttpHeader: '' });
  t.true(h.config.doc.cascades[0].checkServerCert, 'absent CheckServerCert_bool = trust on first use');
  const got = await h.call('GetLink', { HubName_Ex_str: 'BRIDGE', AccountName_utf: 'hq' });
  t.is(got.ProxyType_u32, 3);
  t.is(got.ProxyPassword_str, '', 'the proxy password is never read back');
  await h.call('SetLinkOnline', { HubName_str: 'BRIDGE', AccountName_utf: 'hq' });
  const c = h.system.live('hq');
  t.is(c.options.proxy.type, 'socks5');
  t.is(c.options.serverCertSha256, null);
  const fp = 'ab'.repeat(32);
  await h.call('TrustLinkCert', { AccountName_utf: 'hq', ServerCertSha256_str: fp });
  t.is(h.config.doc.cascades[0].serverCertSha256, fp);
  t.is(h.system.live('hq'), c, 'accepted live: the same running cascade');
  t.deepEqual(c.trusted, [fp]);
  const e = await t.throwsAsync(h.call('TrustLinkCert', { AccountName_utf: 'hq', ServerCertSha256_str: 'xyz' }), { instanceOf: ApiError });
  t.regex(e!.message, /ServerCertSha256_str/);
});

test('a fingerprint recorded on first use is stored by the owner and does not restart the cascade', async (t) => {
  const h = apiHarness();
  await h.call('CreateLink', link());
  await h.call('SetLinkOnline', { HubName_str: 'BRIDGE', AccountName_utf: 'hq' });
  const c = h.system.live('hq');
  const stored = new Promise<[string, string]>((r) => h.supervisor.once('certificate-trusted', (n: string, fp: string) => r([n, fp])));
  c.recordFirstUse('AB:'.repeat(31) + 'AB');
  const [name, fp] = await stored;
  t.is(name, 'hq');
  t.is(fp, 'ab'.repeat(32));
  await h.config.update((d) => void (d.cascades[0].serverCertSha256 = fp));
  await h.supervisor.apply(h.config.get());
  t.is(h.system.live('hq'), c);
  t.is(c.stopped, 0);
  t.deepEqual(c.trusted, [], 'already trusted by the engine: nothing to apply');
});
