/**
 * Issue 8 part 1 against REAL Debian proxies and the REAL Debian softether-vpnserver: tinyproxy (HTTP CONNECT,
 * with and without Basic auth) and dante (SOCKS5 with and without user/password, SOCKS4). For each: the cascade
 * comes online with 8 TCP connections, all of them through the proxy (the server sees the proxy's loopback address
 * as the client's, and the server name is one only the proxy can resolve), and frames flow (DHCP + ping through
 * SecureNAT). Wrong proxy credentials: the clear error, and the normal 10 s retry.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, serverCapability } from '../harness/softether-server.ts';
import type { SoftEtherServer } from '../harness/softether-server.ts';
import { cascadeTo, waitForStatus, online } from '../helpers/cascade-fixture.ts';
import { startDante, startTinyproxy, proxyCapability, SERVER_NAME } from './proxy-process.ts';
import type { ProxyProcess } from './proxy-process.ts';
import type { CascadeStatus } from '../../src/session/status.ts';

const cap = serverCapability();
const pcap = proxyCapability();
const ok = cap.ok && pcap.ok;
if (!ok) console.error(`\n!!! SKIPPING real proxy tests: ${!cap.ok ? cap.reason : !pcap.ok ? pcap.reason : ''} !!!\n`);
const real = ok ? test : test.skip;

const BIN = fileURLToPath(new URL('../../bin/sebridge.js', import.meta.url));
const HUB = 'PROXY';
const USER = 'pxuser';
const PASSWORD = 'Px-secret1';
const PROXY_USER = 'sebproxy';
const PROXY_PASSWORD = 'proxy-pw-9';

let server: SoftEtherServer;
const proxies: Record<'http' | 'httpAuth' | 'socks' | 'socks5Auth', ProxyProcess | undefined> = {
  http: undefined, httpAuth: undefined, socks: undefined, socks5Auth: undefined,
};

test.before(async () => {
  if (!ok) return;
  server = await startServer();
  await server.createHub(HUB);
  await server.enableSecureNat(HUB);
  await server.createPasswordUser(HUB, USER, PASSWORD);
  const auth = { user: PROXY_USER, password: PROXY_PASSWORD };
  [proxies.http, proxies.httpAuth, proxies.socks, proxies.socks5Auth] = await Promise.all([
    startTinyproxy(server),
    startTinyproxy(server, auth),
    startDante(server),
    startDante(server, auth),
  ]);
});

test.after.always(async () => {
  for (const p of Object.values(proxies)) await p?.stop();
  await server?.stop();
});

type Case = { title: string; proxy: keyof typeof proxies; type: 'http' | 'socks4' | 'socks5'; auth: boolean };
const cases: Case[] = [
  { title: 'HTTP CONNECT (tinyproxy)', proxy: 'http', type: 'http', auth: false },
  { title: 'HTTP CONNECT with Basic auth (tinyproxy BasicAuth)', proxy: 'httpAuth', type: 'http', auth: true },
  { title: 'SOCKS5 (dante)', proxy: 'socks', type: 'socks5', auth: false },
  { title: 'SOCKS5 with user/password (dante socksmethod username)', proxy: 'socks5Auth', type: 'socks5', auth: true },
  { title: 'SOCKS4 (dante)', proxy: 'socks', type: 'socks4', auth: false },
];

function proxyInput(c: Case, password = PROXY_PASSWORD): Record<string, unknown> {
  const p = proxies[c.proxy]!;
  return {
    type: c.type,
    host: p.host,
    port: p.port,
    username: c.auth ? PROXY_USER : '',
    password: c.auth ? password : null,
    customHttpHeader: c.type === 'http' ? 'X-Sebridge-Test: 1' : '',
  };
}

for (const c of cases) {
  real(`${c.title}: 8 connections through the proxy, the server sees the proxy's address, frames flow`, async (t) => {
    const { cascade, host, log } = cascadeTo(t, server, HUB, {
      // A name only the proxy can resolve; SOCKS4 carries an IPv4 address, so there the proxy's own loopback, which
      // means the server only when the proxy connects (nothing of the server listens on the root namespace's).
      host: c.type === 'socks4' ? '127.0.0.1' : SERVER_NAME,
      username: USER,
      password: PASSWORD,
      proxy: proxyInput(c),
      // The cases with credentials also offer ChaCha20-Poly1305 alone (tls-cipher.ts): the offer crosses the proxy.
    }, c.auth ? { tlsCipher: 'chacha20' } : {});
    t.teardown(() => {
      if (!t.passed) t.log(`cascade log:\n${log.join('\n')}\nproxy log tail:\n${proxies[c.proxy]!.log().slice(-2000)}`);
    });
    const s = await waitForStatus(cascade, online(8), 30_000, '8 connections');
    t.is(s.connections.granted, 8);
    if (c.auth) t.is(s.tls?.cipher, 'TLS_CHACHA20_POLY1305_SHA256');
    const name = s.negotiated!.sessionName;
    const sessions = await server.listSessions(HUB);
    const mine = sessions.find((x) => x.name === name);
    t.truthy(mine, `session ${name} listed by the server`);
    t.log(`server sees the client as ${mine!.sourceHost} (direct cascades come from ${server.clientAddress})`);
    t.regex(mine!.sourceHost, /^(127\.0\.0\.1|localhost)$/, 'the server sees the proxy (its loopback) as the client');
    const info = await server.getSession(HUB, name);
    t.is(info.tcpConnections, 8, 'server-side TCP connection count');
    const lease = await host.dhcp(10_000);
    t.regex(lease.ip, /^192\.168\.30\./);
    const rtt = await host.ping('192.168.30.1', 5000);
    t.log(`lease ${lease.ip}, ping rtt ${rtt.toFixed(2)} ms`);
    const after = cascade.status();
    t.true(after.traffic.framesIn > 0 && after.traffic.framesOut > 0);
    t.true(log.some((l) => l.includes(`through ${c.type}://`)), 'the log names the proxy');
    t.false(log.join('\n').includes(PROXY_PASSWORD), 'the proxy password is never logged');
  });
}

const spacingOk = (s: CascadeStatus, attemptStart: number) => {
  const next = Date.parse(s.nextAttemptAt!);
  return next - attemptStart >= 7_500 && next - attemptStart <= 12_500;
};

for (const c of cases.filter((x) => x.auth)) {
  real(`${c.title}: wrong proxy password gives "proxy authentication failed" and the normal 10 s retry`, async (t) => {
    const started = Date.now();
    const { cascade, log } = cascadeTo(t, server, HUB, {
      host: SERVER_NAME,
      username: USER,
      password: PASSWORD,
      proxy: proxyInput(c, 'wrong-password'),
      retryIntervalMs: 10_000,
    });
    const s = await waitForStatus(cascade, (x) => x.state === 'waiting' && x.lastError !== null, 15_000, 'the proxy error');
    t.log(s.lastError!.message);
    t.is(s.lastError!.kind, 'proxy');
    t.is(s.lastError!.proxyFailure, 'auth');
    t.regex(s.lastError!.message, /proxy authentication failed/);
    t.true(spacingOk(s, started), `next attempt ${s.nextAttemptAt} is 10 s +-20 % after the attempt started (${new Date(started).toISOString()})`);
    t.false(log.join('\n').includes('wrong-password'), 'the proxy password is never logged');
    // And it keeps trying: the second attempt fails the same way.
    const s2 = await waitForStatus(cascade, (x) => x.attempts >= 2 && x.state === 'waiting', 16_000, 'a second attempt');
    t.regex(s2.lastError!.message, /proxy authentication failed/);
  });
}

real('HTTP proxy without credentials where they are required: 407 becomes "proxy authentication failed"', async (t) => {
  const { cascade } = cascadeTo(t, server, HUB, {
    host: SERVER_NAME, username: USER, password: PASSWORD,
    proxy: { type: 'http', host: proxies.httpAuth!.host, port: proxies.httpAuth!.port },
  });
  const s = await waitForStatus(cascade, (x) => x.lastError !== null, 15_000, 'the proxy error');
  t.regex(s.lastError!.message, /proxy authentication failed \(HTTP\/1\.[01] 407/);
});

/** `sebridge link` (the built command) until a stdout line matches `until`; then SIGTERM by PID. */
function runLinkUntil(t: { teardown(f: () => void): void }, args: string[], env: Record<string, string>, until: RegExp, timeoutMs: number): Promise<string> {
  const child = spawn(process.execPath, [BIN, 'link', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  return new Promise((resolve, reject) => {
    let stopping = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no line matching ${until} within ${timeoutMs} ms:\n${out.slice(-4000)}`));
    }, timeoutMs);
    const onText = (b: Buffer) => {
      out += b.toString();
      if (out.length > 1_000_000) out = out.slice(-100_000);
      if (!stopping && until.test(out)) {
        stopping = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onText);
    child.stderr.on('data', onText);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (stopping && code === 0) resolve(out);
      else reject(new Error(`sebridge exited with ${code}${stopping ? '' : ' early'}:\n${out.slice(-4000)}`));
    });
  });
}

for (const [scheme, which] of [['socks5', 'socks5Auth'], ['http', 'httpAuth']] as const) {
  real(`sebridge link --proxy ${scheme}://user@host:port --proxy-password-env: 8 connections through the proxy, fingerprint stored`, async (t) => {
    const p = proxies[which]!;
    const dir = mkdtempSync(join(tmpdir(), 'sebridge-link-proxy-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const trustFile = join(dir, 'server.sha256');
    const out = await runLinkUntil(t, [
      '--server', `${SERVER_NAME}:${server.port}`, '--hub', HUB, '--user', USER, '--password-env', 'SEBT_PW',
      '--proxy', `${scheme}://${PROXY_USER}@${p.host}:${p.port}`, '--proxy-password-env', 'SEBT_PROXY_PW',
      '--trust-file', trustFile,
    ], { SEBT_PW: PASSWORD, SEBT_PROXY_PW: PROXY_PASSWORD }, /^(?=[\s\S]*state=online connections=8\/8)(?=[\s\S]*stored in )/, 30_000);
    t.regex(out, new RegExp(`through ${scheme}://${PROXY_USER}@${p.host.replace(/\./g, '\\.')}:${p.port}`));
    t.false(out.includes(PROXY_PASSWORD), 'the proxy password is never printed');
    t.regex(readFileSync(trustFile, 'utf8'), /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/m);
  });
}
