/**
 * Which TLS cipher the cascade offers (src/session/tls-cipher.ts): the policy from SEBRIDGE_TLS_CIPHER, the choice
 * from this CPU's measured speeds (with OpenSSL told to ignore the CPU's AES instructions, as on a Raspberry Pi 4),
 * the offer of ChaCha20-Poly1305 alone and the fall-back to the usual list when a server refuses it, for the login
 * and for every additional connection. The real server's side: test/cascade/tls-cipher.real.test.ts.
 */
import test from 'ava';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CHACHA20_ADVANTAGE, describeTlsCipherChoice, measureAeadSpeeds, offerFor, processTlsCipherChoice, tlsCipherPolicy } from '../../src/session/tls-cipher.ts';
import { ConfigError } from '../../src/session/config-error.ts';
import { openTransport } from '../../src/session/transport.ts';
import { fakeServer, cascadeTo, waitForStatus, testCertificate } from './fake-server.ts';
import { hasAesNi, NO_AES_IA32CAP } from '../harness/cpu-features.ts';

const AES_ONLY = 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256';
const CHACHA13 = 'TLS_CHACHA20_POLY1305_SHA256';

test('SEBRIDGE_TLS_CIPHER: auto by default, server and chacha20 taken, anything else refused with the variable named', (t) => {
  t.is(tlsCipherPolicy(undefined), 'auto');
  t.is(tlsCipherPolicy(''), 'auto');
  t.is(tlsCipherPolicy('auto'), 'auto');
  t.is(tlsCipherPolicy('server'), 'server');
  t.is(tlsCipherPolicy('chacha20'), 'chacha20');
  for (const bad of ['aes', 'ChaCha20', ' chacha20', 'x'.repeat(100)]) {
    const e = t.throws(() => tlsCipherPolicy(bad), { instanceOf: ConfigError });
    t.regex(e!.message, /SEBRIDGE_TLS_CIPHER/);
    t.true(e!.message.length < 200, 'the bad value is cut in the message');
  }
  t.throws(() => processTlsCipherChoice({ SEBRIDGE_TLS_CIPHER: 'aes-gcm' }), { instanceOf: ConfigError, message: /SEBRIDGE_TLS_CIPHER/ });
});

test('auto offers ChaCha20-Poly1305 only when it is clearly faster than AES-256-GCM; the explicit policies are kept', (t) => {
  t.is(offerFor('auto', { aes256GcmMBs: 200, chacha20MBs: 800 }), 'chacha20');
  t.is(offerFor('auto', { aes256GcmMBs: 200, chacha20MBs: 200 * CHACHA20_ADVANTAGE }), 'chacha20');
  t.is(offerFor('auto', { aes256GcmMBs: 200, chacha20MBs: 200 * CHACHA20_ADVANTAGE - 1 }), 'server');
  t.is(offerFor('auto', { aes256GcmMBs: 1000, chacha20MBs: 900 }), 'server');
  t.is(offerFor('auto', undefined), 'server');
  t.is(offerFor('server', { aes256GcmMBs: 1, chacha20MBs: 1000 }), 'server');
  t.is(offerFor('chacha20', { aes256GcmMBs: 1000, chacha20MBs: 1 }), 'chacha20');
  const s = measureAeadSpeeds();
  t.true(Number.isFinite(s.aes256GcmMBs) && s.aes256GcmMBs > 10, `AES-256-GCM ${s.aes256GcmMBs} MB/s`);
  t.true(Number.isFinite(s.chacha20MBs) && s.chacha20MBs > 10, `ChaCha20-Poly1305 ${s.chacha20MBs} MB/s`);
  t.regex(describeTlsCipherChoice({ policy: 'auto', offer: 'chacha20', speeds: { aes256GcmMBs: 199.4, chacha20MBs: 790.6 } }), /ChaCha20-Poly1305 only.*AES-256-GCM at 199 MB\/s, ChaCha20-Poly1305 at 791 MB\/s/);
  t.regex(describeTlsCipherChoice({ policy: 'server', offer: 'server' }), /server's cipher choice, SEBRIDGE_TLS_CIPHER=server/);
});

const aesNi = hasAesNi();
if (!aesNi) console.error('\n!!! tls-cipher: no x86-64 CPU with AES-NI here; the OPENSSL_ia32cap comparison cannot run !!!\n');
const x64 = aesNi ? test : test.skip;

/** processTlsCipherChoice() in a fresh process (the choice is made once per process) with this environment. */
function choiceInChild(env: Record<string, string>): { offer: string; speeds: { aes256GcmMBs: number; chacha20MBs: number } } {
  const url = new URL('../../src/session/tls-cipher.ts', import.meta.url).href;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(url)}); process.stdout.write(JSON.stringify(m.processTlsCipherChoice()));`], {
    env: { PATH: process.env.PATH ?? '', ...env },
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
  });
  return JSON.parse(out.toString()) as { offer: string; speeds: { aes256GcmMBs: number; chacha20MBs: number } };
}

x64('auto on this CPU: the server\'s choice with AES-NI; ChaCha20-Poly1305 when OpenSSL may not use AES-NI', (t) => {
  const withAes = choiceInChild({});
  t.log(`with AES-NI: ${JSON.stringify(withAes.speeds)}`);
  t.is(withAes.offer, 'server');
  const without = choiceInChild({ OPENSSL_ia32cap: NO_AES_IA32CAP });
  t.log(`without: ${JSON.stringify(without.speeds)}`);
  t.is(without.offer, 'chacha20');
  t.true(without.speeds.aes256GcmMBs < withAes.speeds.aes256GcmMBs / 2, 'AES-GCM in software is far slower (the mask took effect)');
  t.is(choiceInChild({ OPENSSL_ia32cap: NO_AES_IA32CAP, SEBRIDGE_TLS_CIPHER: 'server' }).offer, 'server');
  t.is(choiceInChild({ SEBRIDGE_TLS_CIPHER: 'chacha20' }).offer, 'chacha20');
});

/** A plain TLS server on loopback that accepts only `ciphers` (undefined: Node's defaults); counts TCP connections. */
async function tlsServer(t: { teardown(f: () => void): void }, ciphers?: string, plainTcp = false) {
  const cert = testCertificate('a');
  const server = plainTcp
    ? (await import('node:net')).createServer((s) => s.destroy())
    : tls.createServer({ key: cert.key, cert: cert.cert, ...(ciphers ? { ciphers } : {}) }, (s) => s.on('error', () => {}));
  let tcp = 0;
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s: import('node:net').Socket) => {
    tcp++;
    sockets.add(s);
    s.on('error', () => {});
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as { port: number }).port, tcpCount: () => tcp };
}

test('transport: ChaCha20-Poly1305 alone is offered and taken; a server without it is dialled again with the usual list', async (t) => {
  const open = (port: number, offer: 'server' | 'chacha20', detachable = false) =>
    openTransport({ host: '127.0.0.1', port, timeoutMs: 5000, detachable, offer });

  const any = await tlsServer(t);
  const a = await open(any.port, 'chacha20');
  t.is(a.facts.cipher, CHACHA13);
  t.is(a.facts.offerRefused, undefined);
  t.is(any.tcpCount(), 1);
  a.destroy();
  const b = await open(any.port, 'server');
  t.not(b.facts.cipher, CHACHA13, "the usual list: Node's first choice, AES-GCM");
  t.regex(b.facts.cipher, /AES_\d+_GCM/);
  b.destroy();

  const aesOnly = await tlsServer(t, AES_ONLY);
  const c = await open(aesOnly.port, 'chacha20');
  t.regex(c.facts.cipher, /AES_256_GCM/);
  t.regex(c.facts.offerRefused ?? '', /^ERR_SSL_/, 'the refusal is the server\'s TLS alert');
  t.is(aesOnly.tcpCount(), 2, 'one refused handshake, one with the usual list');
  c.destroy();

  // use_encrypt=0: TLS carries only the login, so nothing is offered beyond the usual list.
  const d = await open(aesOnly.port, 'chacha20', true);
  t.is(d.facts.offerRefused, undefined);
  t.is(aesOnly.tcpCount(), 3);
  d.destroy();

  // Not the server's answer to the offer (the TCP connection is closed at once): no second attempt.
  const closer = await tlsServer(t, undefined, true);
  await t.throwsAsync(open(closer.port, 'chacha20'));
  t.is(closer.tcpCount(), 1);
});

test('cascade: the login and every additional connection offer ChaCha20-Poly1305; refused once, the usual list from then on', async (t) => {
  const chachaOk = await fakeServer(t);
  const a = cascadeTo(t, chachaOk, { maxConnections: 3 }, true, { tlsCipher: 'chacha20' });
  await waitForStatus(a.cascade, (s) => s.state === 'online' && s.connections.total === 3, 10_000, '3 connections');
  t.is(a.cascade.status().tls?.cipher, CHACHA13);
  t.deepEqual(chachaOk.connections.map((c) => [c.kind, c.cipher]), [['login', CHACHA13], ['additional', CHACHA13], ['additional', CHACHA13]]);
  await a.cascade.stop();

  const aesOnly = await fakeServer(t, { plan: () => ({ ciphers: AES_ONLY }) });
  const b = cascadeTo(t, aesOnly, { maxConnections: 3 }, true, { tlsCipher: 'chacha20' });
  await waitForStatus(b.cascade, (s) => s.state === 'online' && s.connections.total === 3, 10_000, '3 connections');
  t.regex(b.cascade.status().tls?.cipher ?? '', /AES_256_GCM/);
  // One refused handshake (no Pack), then the login and two additional connections, all with the usual list.
  t.deepEqual(aesOnly.connections.map((c) => c.kind), [null, 'login', 'additional', 'additional']);
  t.is(aesOnly.connections[0]!.cipher, null);
  t.true(aesOnly.connections.slice(1).every((c) => /AES_256_GCM/.test(c.cipher ?? '')));
  t.is(b.log.filter((l) => /refused ChaCha20-Poly1305 \(ERR_SSL_/.test(l)).length, 1, 'said once');
});
