/**
 * Issue 8 part 2 against the REAL Debian softether-vpnserver: trust on first use records the server certificate's
 * fingerprint; after the server's certificate is replaced (vpncmd ServerCertRegenerate) the running cascade, once
 * its connections are cut, refuses the new certificate with both fingerprints and sends no login (the server never
 * gets a new session; not even the hello is asked for), and keeps retrying; after the explicit acceptance it is
 * online again. Then CA verification: a certificate issued for the server's address by a test CA (vpncmd
 * ServerCertSet) passes; another CA, or a certificate issued for another address, is refused.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, serverCapability, killTcpConnections } from '../harness/softether-server.ts';
import type { SoftEtherServer } from '../harness/softether-server.ts';
import { SOFTETHER_PATHS } from '../harness/jail.ts';
import { cascadeTo, waitForStatus, online } from '../helpers/cascade-fixture.ts';
import type { CertificateTrustedEvent } from '../../src/session/trust.ts';

const cap = serverCapability();
if (!cap.ok) console.error(`\n!!! SKIPPING real-server trust tests: ${cap.reason} !!!\n`);
const real = cap.ok ? test.serial : test.serial.skip;

const HUB = 'TRUST';
const USER = 'trusty';
const PASSWORD = 'Trust-pw1';
let server: SoftEtherServer;

test.before(async () => {
  if (!cap.ok) return;
  server = await startServer();
  await server.createHub(HUB);
  await server.enableSecureNat(HUB);
  await server.createPasswordUser(HUB, USER, PASSWORD);
});

test.after.always(async () => {
  await server?.stop();
});

async function sessionNames(): Promise<string[]> {
  return (await server.listSessions(HUB)).filter((s) => s.user === USER).map((s) => s.name);
}

real('first use records the fingerprint; a regenerated server certificate is refused with both fingerprints, no login; accepting it brings the link back', async (t) => {
  const { cascade, host, log } = cascadeTo(t, server, HUB, { username: USER, password: PASSWORD, maxConnections: 2, retryIntervalMs: 10_000 });
  const events: CertificateTrustedEvent[] = [];
  cascade.on('certificate-trusted', (e: CertificateTrustedEvent) => events.push(e));
  t.teardown(() => {
    if (!t.passed) t.log(log.join('\n'));
  });
  const s1 = await waitForStatus(cascade, online(2), 20_000, 'online');
  const oldFp = s1.serverCertSha256!;
  t.deepEqual(events.map((e) => [e.sha256, e.reason]), [[oldFp, 'first-use']]);
  t.deepEqual(s1.certificateTrust, { mode: 'fingerprint', trustedSha256: oldFp });
  await host.dhcp(10_000);

  // The server gets a new certificate (and key); then every connection of the link is cut.
  await server.vpncmd('ServerCertRegenerate', [`sebridge-regen-${randomBytes(3).toString('hex')}`]);
  const before = await sessionNames();
  await killTcpConnections({ dst: server.host, dport: server.port });
  const s2 = await waitForStatus(cascade, (x) => x.lastError?.kind === 'certificate-changed', 20_000, 'certificate-changed');
  const newFp = s2.lastError!.certificate!.presented;
  t.log(s2.lastError!.message);
  t.not(newFp, oldFp);
  t.is(s2.lastError!.certificate!.expected, oldFp);
  t.true(s2.lastError!.message.includes(oldFp) && s2.lastError!.message.includes(newFp));
  t.is(s2.state, 'waiting');
  t.truthy(s2.nextAttemptAt, 'it keeps retrying');
  // No login reached the server: no session beyond those that were there before the cut.
  const after = await sessionNames();
  t.deepEqual(after.filter((n) => !before.includes(n)), [], `sessions before ${before}, after ${after}`);

  // A fresh cascade with the stored fingerprint (the daemon after a restart): refused before even the hello.
  const fresh = cascadeTo(t, server, HUB, { username: USER, password: PASSWORD, maxConnections: 1, serverCertSha256: oldFp });
  const s3 = await waitForStatus(fresh.cascade, (x) => x.lastError !== null, 20_000, 'an error');
  t.is(s3.lastError!.kind, 'certificate-changed');
  t.is(s3.server, null, 'the hello was never asked for');
  await fresh.cascade.stop();

  // The explicit acceptance: online again at once, with the new fingerprint trusted.
  cascade.trustServerCertificate(newFp);
  const s4 = await waitForStatus(cascade, online(2), 20_000, 'online after accepting');
  t.deepEqual(s4.certificateTrust, { mode: 'fingerprint', trustedSha256: newFp });
  t.is(s4.serverCertSha256, newFp);
  t.deepEqual(events.map((e) => e.reason), ['first-use', 'accepted']);
  await host.ping('192.168.30.1', 5000);
});

/** A throw-away CA and a server certificate signed by it for `san` (RSA: what SoftEther's ServerCertSet takes). */
function makeCa(dir: string, name: string): { caPem: string; caKey: string; caCert: string } {
  const caKey = join(dir, `${name}-ca.key`);
  const caCert = join(dir, `${name}-ca.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caCert, '-subj', `/CN=sebridge test CA ${name}`,
    '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: 'ignore' });
  return { caPem: readFileSync(caCert, 'utf8'), caKey, caCert };
}

function issue(dir: string, ca: { caKey: string; caCert: string }, san: string): { certPem: string; keyPem: string } {
  const key = join(dir, `leaf-${randomBytes(3).toString('hex')}.key`);
  const csr = `${key}.csr`;
  const crt = `${key}.crt`;
  const ext = `${key}.ext`;
  writeFileSync(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=sebridge test server'], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca.caCert, '-CAkey', ca.caKey, '-CAcreateserial', '-out', crt, '-days', '2', '-extfile', ext], { stdio: 'ignore' });
  execFileSync('openssl', ['rsa', '-in', key, '-out', key, '-traditional'], { stdio: 'ignore' });
  return { certPem: readFileSync(crt, 'utf8'), keyPem: readFileSync(key, 'utf8') };
}

async function setServerCert(cert: { certPem: string; keyPem: string }): Promise<void> {
  const name = `srv-${randomBytes(4).toString('hex')}`;
  // vpncmd reads the files in its own view of the filesystem, where the instance's tmp/ is /tmp.
  writeFileSync(join(server.dir, 'tmp', `${name}.cer`), cert.certPem);
  writeFileSync(join(server.dir, 'tmp', `${name}.key`), cert.keyPem);
  try {
    await server.vpncmd('ServerCertSet', [`/LOADCERT:${SOFTETHER_PATHS.tmp}/${name}.cer`, `/LOADKEY:${SOFTETHER_PATHS.tmp}/${name}.key`]);
  } finally {
    rmSync(join(server.dir, 'tmp', `${name}.cer`), { force: true });
    rmSync(join(server.dir, 'tmp', `${name}.key`), { force: true });
  }
}

real('CA verification with host-name check: the right CA and address connect; another CA or another address is refused before login', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sebridge-ca-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ca = makeCa(dir, 'one');
  const otherCa = makeCa(dir, 'two');
  await setServerCert(issue(dir, ca, `IP:${server.host}`));

  const good = cascadeTo(t, server, HUB, { username: USER, password: PASSWORD, maxConnections: 2, caCertsPem: ca.caPem });
  const s = await waitForStatus(good.cascade, online(2), 20_000, 'online through CA verification');
  t.is(s.certificateTrust.mode, 'ca');
  await good.cascade.stop();

  const wrongCa = cascadeTo(t, server, HUB, { username: USER, password: PASSWORD, maxConnections: 1, caCertsPem: otherCa.caPem });
  const e1 = await waitForStatus(wrongCa.cascade, (x) => x.lastError !== null, 20_000, 'an error');
  t.is(e1.lastError!.kind, 'certificate-untrusted');
  t.regex(e1.lastError!.message, /not signed by a trusted CA/);
  t.is(e1.server, null, 'no hello asked for');
  await wrongCa.cascade.stop();

  await setServerCert(issue(dir, ca, 'IP:10.255.255.1,DNS:elsewhere.test'));
  const wrongHost = cascadeTo(t, server, HUB, { username: USER, password: PASSWORD, maxConnections: 1, caCertsPem: ca.caPem });
  const e2 = await waitForStatus(wrongHost.cascade, (x) => x.lastError !== null, 20_000, 'an error');
  t.is(e2.lastError!.kind, 'certificate-untrusted');
  t.regex(e2.lastError!.message, new RegExp(`not issued for ${server.host.replace(/\./g, '\\.')}`));
  t.log(e2.lastError!.message);
});
