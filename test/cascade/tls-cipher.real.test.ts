/**
 * The TLS cipher against the REAL Debian softether-vpnserver (src/session/tls-cipher.ts): its own order picks
 * AES-256-GCM; offered ChaCha20-Poly1305 alone it takes that, on the login and on every additional connection, and
 * frames cross the hub (DHCP, ARP, ping through SecureNAT). And `sebridge link` as a user runs it, on a CPU whose AES
 * instructions OpenSSL may not use (a Raspberry Pi 4's Cortex-A72 has none), chooses ChaCha20-Poly1305 by itself.
 */
import test from 'ava';
import { startServer, serverCapability } from '../harness/softether-server.ts';
import type { SoftEtherServer } from '../harness/softether-server.ts';
import { cascadeTo, waitForStatus, online } from '../helpers/cascade-fixture.ts';
import { linkUntil } from '../helpers/link-child.ts';
import { hasAesNi, NO_AES_IA32CAP } from '../harness/cpu-features.ts';

const cap = serverCapability();
let server: SoftEtherServer;
const HUB = 'CIPHER';

test.before(async () => {
  if (!cap.ok) return;
  server = await startServer();
  await server.createHub(HUB);
  await server.enableSecureNat(HUB);
  await server.createPasswordUser(HUB, 'dave', 'pw-dave');
});

test.after.always(async () => {
  await server?.stop();
});

const real = cap.ok ? test : test.skip;
if (!cap.ok) console.error(`\n!!! SKIPPING real-server tests: ${cap.reason} !!!\n`);

real("the server's own choice is AES-256-GCM; offered ChaCha20-Poly1305 alone, every connection takes it and frames cross", async (t) => {
  const usual = cascadeTo(t, server, HUB, { username: 'dave', password: 'pw-dave', maxConnections: 1 }, { tlsCipher: 'server' });
  const u = await waitForStatus(usual.cascade, online(1), 20_000, 'online (usual list)');
  t.is(u.tls?.cipher, 'TLS_AES_256_GCM_SHA384');
  await usual.cascade.stop();

  const { cascade, host, log } = cascadeTo(t, server, HUB, { username: 'dave', password: 'pw-dave', maxConnections: 4 }, { tlsCipher: 'chacha20' });
  const s = await waitForStatus(cascade, online(4), 20_000, '4 connections');
  t.is(s.tls?.version, 'TLSv1.3');
  t.is(s.tls?.cipher, 'TLS_CHACHA20_POLY1305_SHA256');
  t.false(log.some((l) => /refused ChaCha20/.test(l)), 'no refusal');
  const info = await server.getSession(HUB, s.negotiated!.sessionName);
  t.is(info.tcpConnections, 4, 'the server counts every connection (each handshake offered ChaCha20-Poly1305 alone)');
  const lease = await host.dhcp(10_000);
  t.regex(lease.ip, /^192\.168\.30\./);
  const rtt = await host.ping('192.168.30.1', 5000);
  t.log(`lease ${lease.ip}, ping ${rtt.toFixed(2)} ms over ChaCha20-Poly1305`);
});

const aesNi = hasAesNi();
if (!aesNi) console.error('\n!!! tls-cipher.real: no x86-64 CPU with AES-NI here; the link-without-AES test cannot run !!!\n');
const realX64 = cap.ok && aesNi ? test : test.skip;
/** `sebridge link` (no local side, 2 connections) to the test hub with this environment until `until`; its output. */
const linkWith = (t: { teardown(f: () => void): void }, env: Record<string, string>, until: RegExp) =>
  linkUntil(t, ['--server', `${server.host}:${server.port}`, '--hub', HUB, '--user', 'dave', '--password-env', 'SEB_TEST_PW', '--connections', '2'], { ...env, SEB_TEST_PW: 'pw-dave' }, until, 30_000);

realX64('sebridge link on a CPU without usable AES instructions offers ChaCha20-Poly1305 by itself; with them, the server chooses', async (t) => {
  const without = await linkWith(t, { OPENSSL_ia32cap: NO_AES_IA32CAP, SEBRIDGE_TLS_CIPHER: '' }, /state=online connections=2\/2/);
  t.log(without.split('\n').filter((l) => /TLS|cipher|online/i.test(l)).join('\n'));
  t.regex(without, /TLS: offering ChaCha20-Poly1305 only .*this CPU encrypts AES-256-GCM at \d+ MB\/s, ChaCha20-Poly1305 at \d+ MB\/s/);
  t.regex(without, /TLSv1\.3 TLS_CHACHA20_POLY1305_SHA256/);
  const withAes = await linkWith(t, { SEBRIDGE_TLS_CIPHER: '' }, /TLSv1\.3 TLS_\w+/);
  t.regex(withAes, /TLS: the server's cipher choice/);
  t.regex(withAes, /TLSv1\.3 TLS_AES_256_GCM_SHA384/);
});
