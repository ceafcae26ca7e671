/**
 * `sebridge link --trust-file` end to end (the built command, as a user runs it) against the fake server: the first
 * run records the fingerprint in the file; a run against a server with another certificate is refused with both
 * fingerprints and keeps retrying; `--pin NEW` is the explicit acceptance and replaces the stored fingerprint.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeServer, testCertificate, PASSWORD, USER } from './fake-server.ts';
import type { FakeServer } from './fake-server.ts';
import { certFingerprint } from '../../src/session/transport.ts';
import { linkUntil } from '../helpers/link-child.ts';

const fpA = certFingerprint(testCertificate('a').der);
const fpB = certFingerprint(testCertificate('b').der);

/** `sebridge link` against the fake server (one connection) until a line matches `until`; its output. */
function runLink(t: { teardown(f: () => void): void }, server: FakeServer, extra: string[], until: RegExp): Promise<string> {
  return linkUntil(t, ['--server', `127.0.0.1:${server.port}`, '--hub', 'HUB', '--user', USER, '--password-env', 'SEB_TEST_PW', '--connections', '1', ...extra], { SEB_TEST_PW: PASSWORD }, until);
}

test('--trust-file: first use stores the fingerprint; a changed certificate is refused with both; --pin accepts the new one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sebridge-trust-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'server.sha256');

  const serverA = await fakeServer(t, { plan: () => ({ cert: 'a' }) });
  const first = await runLink(t, serverA, ['--trust-file', file], /stored in /);
  t.regex(first, new RegExp(`SHA-256 ${fpA} trusted on first use`));
  t.true(existsSync(file));
  t.true(readFileSync(file, 'utf8').includes(`\n${fpA}\n`));

  const serverB = await fakeServer(t, { plan: () => ({ cert: 'b' }) });
  const refused = await runLink(t, serverB, ['--trust-file', file], /certificate changed/);
  t.regex(refused, new RegExp(`trusted SHA-256 ${fpA}, the server presented ${fpB}`));
  t.is(serverB.logins.length, 0, 'no login sent to the changed server');
  t.true(readFileSync(file, 'utf8').includes(fpA), 'the stored fingerprint did not move');

  const accepted = await runLink(t, serverB, ['--trust-file', file, '--pin', fpB], /state=online/);
  t.regex(accepted, /stored in /);
  t.true(readFileSync(file, 'utf8').includes(`\n${fpB}\n`));
  t.is(serverB.logins.length, 1);
});

test('without --trust-file, first use says the fingerprint is not remembered', async (t) => {
  const server = await fakeServer(t);
  const out = await runLink(t, server, [], /not remembered after exit/);
  t.regex(out, new RegExp(`--pin ${fpA}`));
});
