/**
 * Server certificate trust (issue 8 part 2) against the scripted fake server: trust on first use records the
 * fingerprint after the first successful login and reports it; a later different certificate is refused with both
 * fingerprints BEFORE any request is sent, and retried, until it is accepted explicitly; plain-text passwords never
 * go to an unverified certificate unless allowed; CA verification with a host-name check; accept-any is loud.
 */
import test from 'ava';
import { fakeServer, cascadeTo, waitForStatus, testCertificate } from './fake-server.ts';
import type { CertName } from './fake-server.ts';
import { certFingerprint } from '../../src/session/transport.ts';
import { CertificateChangedError, normalizeFingerprint } from '../../src/session/trust.ts';
import type { CertificateTrustedEvent } from '../../src/session/trust.ts';
import { ConfigError } from '../../src/session/options.ts';

const fp = (name: CertName) => certFingerprint(testCertificate(name).der);
const online = (s: { state: string }) => s.state === 'online';

test('first use: the certificate of the first successful login is recorded and reported once', async (t) => {
  const server = await fakeServer(t);
  const { cascade } = cascadeTo(t, server, {}, false);
  const events: CertificateTrustedEvent[] = [];
  cascade.on('certificate-trusted', (e: CertificateTrustedEvent) => events.push(e));
  t.is(cascade.status().certificateTrust.mode, 'first-use');
  cascade.start();
  const s = await waitForStatus(cascade, online, 5000, 'online');
  t.is(events.length, 1);
  t.is(events[0]!.sha256, fp('a'));
  t.is(events[0]!.reason, 'first-use');
  t.regex(events[0]!.subject, /fake-softether-a/);
  t.deepEqual(s.certificateTrust, { mode: 'fingerprint', trustedSha256: fp('a') });
});

test('first use is recorded only after a successful login (a refused login records nothing)', async (t) => {
  const server = await fakeServer(t, { login: () => ({ error: 9 }) });
  const { cascade } = cascadeTo(t, server, {}, false);
  const events: CertificateTrustedEvent[] = [];
  cascade.on('certificate-trusted', (e: CertificateTrustedEvent) => events.push(e));
  cascade.start();
  await waitForStatus(cascade, (s) => s.lastError?.code === 9, 5000, 'error 9');
  t.is(events.length, 0);
  t.is(cascade.status().certificateTrust.trustedSha256, null);
});

test('a changed certificate after first use: refused with both fingerprints, no request sent, retried; accepting it connects at once', async (t) => {
  let cert: CertName = 'a';
  const server = await fakeServer(t, { plan: () => ({ cert }) });
  const { cascade } = cascadeTo(t, server, { retryIntervalMs: 5000 });
  await waitForStatus(cascade, online, 5000, 'online with a');
  // The server gets a new certificate; the session is lost and the cascade logs in again.
  cert = 'b';
  const before = server.connections.length;
  for (const c of server.connections) c.tcp.destroy();
  const s = await waitForStatus(cascade, (x) => x.lastError?.kind === 'certificate-changed', 8000, 'certificate-changed');
  t.deepEqual(s.lastError!.certificate, { expected: fp('a'), presented: fp('b') });
  t.true(s.lastError!.message.includes(fp('a')) && s.lastError!.message.includes(fp('b')), s.lastError!.message);
  t.is(s.serverCertSha256, fp('b'), 'the status shows what the server presents');
  t.is(s.certificateTrust.trustedSha256, fp('a'), 'the trusted fingerprint did not move');
  const refused = server.connections.slice(before);
  t.true(refused.length >= 1);
  t.true(refused.every((c) => !c.sawRequest), 'not even the signature request went to the changed server');
  t.is(server.logins.length, 1, 'no second login');
  t.is(s.state, 'waiting');
  // Explicit acceptance: immediate retry (the wait was 5 s), then online with b.
  const events: CertificateTrustedEvent[] = [];
  cascade.on('certificate-trusted', (e: CertificateTrustedEvent) => events.push(e));
  const acceptedAt = Date.now();
  cascade.trustServerCertificate(fp('b').replace(/:/g, '').toLowerCase());
  const s2 = await waitForStatus(cascade, online, 3000, 'online with b');
  t.true(Date.now() - acceptedAt < 2500, 'accepting wakes the waiting cascade');
  t.is(s2.certificateTrust.trustedSha256, fp('b'));
  t.deepEqual(events.map((e) => [e.sha256, e.reason]), [[fp('b'), 'accepted']]);
});

test('a pinned fingerprint from the config is enforced from the first connection', async (t) => {
  const server = await fakeServer(t, { plan: () => ({ cert: 'b' }) });
  const { cascade } = cascadeTo(t, server, { serverCertSha256: fp('a') });
  const s = await waitForStatus(cascade, (x) => x.lastError !== null, 5000, 'an error');
  t.is(s.lastError!.kind, 'certificate-changed');
  t.is(server.logins.length, 0);
  t.true(server.connections.every((c) => !c.sawRequest));
  t.is(s.server, null, 'no hello was asked for');
});

test('CertificateChangedError carries both fingerprints', (t) => {
  const e = new CertificateChangedError(fp('a'), fp('b'));
  t.is(e.expected, fp('a'));
  t.is(e.presented, fp('b'));
  t.throws(() => normalizeFingerprint('zz'), { instanceOf: ConfigError });
});

test('trustServerCertificate with a malformed fingerprint throws and changes nothing', async (t) => {
  const server = await fakeServer(t);
  const { cascade } = cascadeTo(t, server, {}, false);
  t.throws(() => cascade.trustServerCertificate('12:34'), { instanceOf: ConfigError });
  t.is(cascade.status().certificateTrust.trustedSha256, null);
});

test('plain auth over a first-use certificate is refused before any request; allowed explicitly or once trusted', async (t) => {
  const server = await fakeServer(t, { password: undefined });
  const refused = cascadeTo(t, server, { authType: 'plain' });
  const s = await waitForStatus(refused.cascade, (x) => x.lastError !== null, 5000, 'an error');
  t.is(s.lastError!.kind, 'certificate-untrusted');
  t.regex(s.lastError!.message, /plain-text password/);
  t.true(s.lastError!.message.includes(fp('a')), 'the message shows the fingerprint to trust');
  t.is(server.logins.length, 0);
  await refused.cascade.stop();
  const allowed = cascadeTo(t, server, { authType: 'plain', allowPlainOverUnverified: true });
  await waitForStatus(allowed.cascade, online, 5000, 'online (allowed)');
  await allowed.cascade.stop();
  const pinned = cascadeTo(t, server, { authType: 'plain', serverCertSha256: fp('a') });
  await waitForStatus(pinned.cascade, online, 5000, 'online (pinned)');
  t.is(server.logins.length, 2);
  t.is(server.logins[0]!.pack.getInt('authtype'), 2, 'plain auth');
});

test('plain auth with accept-any is a config error unless allowed', (t) => {
  // parseCascadeOptions runs inside cascadeTo
  const err = t.throws(() => cascadeTo(t, { port: 1 } as never, { authType: 'plain', checkServerCert: false }, false), { instanceOf: ConfigError });
  t.is(err!.field, 'authType');
});

test('accept-any: any certificate connects, with a loud warning; nothing is recorded', async (t) => {
  const server = await fakeServer(t, { plan: () => ({ cert: 'b' }) });
  const { cascade, log } = cascadeTo(t, server, { checkServerCert: false, serverCertSha256: fp('a') }, false);
  const events: unknown[] = [];
  cascade.on('certificate-trusted', (e) => events.push(e));
  cascade.start();
  const s = await waitForStatus(cascade, online, 5000, 'online');
  t.true(log.some((l) => /WARNING: the server certificate is NOT checked/.test(l)));
  t.deepEqual(s.certificateTrust, { mode: 'accept-any', trustedSha256: null });
  t.is(events.length, 0);
});

test('CA mode: a certificate issued for the host by a trusted CA connects; another CA or another host name is refused', async (t) => {
  const server = await fakeServer(t, { plan: (i) => ({ cert: i === 0 ? 'a' : 'ip' }) });
  // 1st connection presents 'a' (self-signed, no SAN): not signed by the CA we trust ('ip').
  const { cascade } = cascadeTo(t, server, { caCertsPem: testCertificate('ip').cert, retryIntervalMs: 1000 });
  const s = await waitForStatus(cascade, (x) => x.lastError !== null, 5000, 'an error');
  t.is(s.lastError!.kind, 'certificate-untrusted');
  t.regex(s.lastError!.message, /not signed by a trusted CA/);
  t.is(server.logins.length, 0);
  const s2 = await waitForStatus(cascade, online, 5000, 'online with the CA-signed certificate');
  t.is(s2.certificateTrust.mode, 'ca');
  await cascade.stop();
  // Trusting 'a' as CA: the chain is fine but 'a' is not issued for 127.0.0.1.
  const server2 = await fakeServer(t, { plan: () => ({ cert: 'a' }) });
  const other = cascadeTo(t, server2, { caCertsPem: testCertificate('a').cert });
  const s3 = await waitForStatus(other.cascade, (x) => x.lastError !== null, 5000, 'an error');
  t.regex(s3.lastError!.message, /not issued for 127\.0\.0\.1/);
  t.is(server2.logins.length, 0);
});
