import test from 'ava';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CERT_FILE, KEY_FILE, loadOrCreateCertificate } from '../../../src/control/web/tls-cert.ts';

async function tempDir(t: import('ava').ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sebridge-cert-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'state'); // not existing yet: it is created
}

test('first start creates an EC P-256 certificate for the hostname, localhost and 127.0.0.1, valid ~10 years', async (t) => {
  const dir = await tempDir(t);
  const now = Date.UTC(2026, 0, 15);
  const c = await loadOrCreateCertificate(dir, { hostname: 'bridge-7', now: () => now });
  t.true(c.created);
  const x = new X509Certificate(c.certPem);
  t.regex(x.subject, /CN=bridge-7/);
  t.regex(x.subjectAltName ?? '', /DNS:bridge-7/);
  t.regex(x.subjectAltName ?? '', /DNS:localhost/);
  t.regex(x.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  const years = (Date.parse(x.validTo) - now) / (365.25 * 24 * 3600_000);
  t.true(years > 9.9 && years < 10.1, `${years}`);
  t.true(Date.parse(x.validFrom) <= now);
  const key = createPrivateKey(c.keyPem);
  t.is(key.asymmetricKeyType, 'ec');
  t.is(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  t.true(x.checkPrivateKey(key));
  t.is(c.sha256, x.fingerprint256);
  t.is(await readFile(join(dir, CERT_FILE), 'utf8'), c.certPem);
  t.is((await stat(join(dir, KEY_FILE))).mode & 0o777, 0o600);
  t.is((await stat(dir)).mode & 0o777, 0o700);
});

test('later starts reuse the stored pair', async (t) => {
  const dir = await tempDir(t);
  const a = await loadOrCreateCertificate(dir);
  const b = await loadOrCreateCertificate(dir);
  t.false(b.created);
  t.is(b.sha256, a.sha256);
  t.is(b.keyPem, a.keyPem);
});

test('an unusable stored pair is replaced, saying why', async (t) => {
  const dir = await tempDir(t);
  const a = await loadOrCreateCertificate(dir);
  const other = await loadOrCreateCertificate(await tempDir(t));

  await writeFile(join(dir, KEY_FILE), other.keyPem); // e.g. a crash between the two writes
  const b = await loadOrCreateCertificate(dir);
  t.true(b.created);
  t.regex(b.replacedReason ?? '', /does not belong/);
  t.not(b.sha256, a.sha256);

  await writeFile(join(dir, CERT_FILE), 'garbage');
  const c = await loadOrCreateCertificate(dir);
  t.regex(c.replacedReason ?? '', /not a readable certificate/);

  await unlink(join(dir, KEY_FILE));
  const d = await loadOrCreateCertificate(dir);
  t.regex(d.replacedReason ?? '', /web-key\.pem is missing/);

  const expired = await loadOrCreateCertificate(dir, { now: () => Date.now() + 11 * 365 * 24 * 3600_000 });
  t.regex(expired.replacedReason ?? '', /expired/);
});
