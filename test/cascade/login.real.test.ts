/**
 * Acceptance against the REAL Debian softether-vpnserver (issue 2, items 1-4): logins, bridge mode and the
 * connection count as the server itself reports them, frames both ways through SecureNAT, every transport mode,
 * and the error/retry behaviour.
 */
import test from 'ava';
import { startServer, serverCapability, makeClientCert } from '../harness/softether-server.ts';
import type { SoftEtherServer } from '../harness/softether-server.ts';
import { cascadeTo, waitForStatus, online } from '../helpers/cascade-fixture.ts';

const cap = serverCapability();
let server: SoftEtherServer;
let cert: ReturnType<typeof makeClientCert>;

test.before(async () => {
  if (!cap.ok) return;
  server = await startServer();
  cert = makeClientCert('certuser');
  for (const hub of ['PW', 'ANON', 'CERT', 'MODES', 'ERR']) {
    await server.createHub(hub);
    await server.enableSecureNat(hub);
  }
  await server.createPasswordUser('PW', 'alice', 'Secret-pw1');
  await server.createAnonymousUser('ANON', 'guest');
  await server.createCertUser('CERT', 'certuser', cert.certPem);
  await server.createPasswordUser('MODES', 'bob', 'pw-bob');
  await server.createPasswordUser('ERR', 'carol', 'right-password');
});

test.after.always(async () => {
  await server?.stop();
});

const real = cap.ok ? test : test.skip;
const realSerial = cap.ok ? test.serial : test.serial.skip;
if (!cap.ok) console.error(`\n!!! SKIPPING real-server tests: ${cap.reason} !!!\n`);

/** The server's own view of our session (it keeps stopped sessions for T, so look ours up by name). */
async function sessionOf(hub: string, name: string, t: { log: (...a: unknown[]) => void }) {
  const sessions = await server.listSessions(hub);
  t.log(`sessions on ${hub}: ${sessions.map((s) => `${s.name}(${s.user})`).join(', ')}`);
  if (!sessions.some((s) => s.name === name)) throw new Error(`session ${name} not in the server's list for ${hub}`);
  return server.getSession(hub, name);
}

real('password login: bridge-mode session with 8 TCP connections, DHCP + ARP + ping through SecureNAT', async (t) => {
  const { cascade, host } = cascadeTo(t, server, 'PW', { username: 'alice', password: 'Secret-pw1' });
  const s = await waitForStatus(cascade, online(8), 20_000, '8 connections');
  t.is(s.connections.granted, 8);
  t.truthy(s.serverCertSha256);
  t.regex(s.server!.product, /SoftEther/);
  t.regex(s.tls!.version, /TLSv1\.[23]/);
  const info = await sessionOf('PW', s.negotiated!.sessionName, t);
  t.is(info.tcpConnections, 8, 'server-side TCP connection count');
  t.true(info.bridgeMode, 'server sees the session in bridge/routing mode');
  const lease = await host.dhcp(10_000);
  t.regex(lease.ip, /^192\.168\.30\./);
  const gw = await host.arp('192.168.30.1', 5000);
  t.is(gw.length, 6);
  const rtt = await host.ping('192.168.30.1', 5000);
  t.log(`lease ${lease.ip}, ping rtt ${rtt.toFixed(2)} ms`);
  const after = cascade.status();
  t.true(after.traffic.framesIn > 0 && after.traffic.framesOut > 0);
});

real('anonymous login', async (t) => {
  const { cascade, host } = cascadeTo(t, server, 'ANON', { username: 'guest', authType: 'anonymous', maxConnections: 2 });
  await waitForStatus(cascade, online(2), 20_000);
  await host.dhcp(10_000);
  await host.ping('192.168.30.1', 5000);
  t.pass();
});

real('certificate login', async (t) => {
  const { cascade, host } = cascadeTo(t, server, 'CERT', {
    username: 'certuser',
    authType: 'cert',
    certDer: cert.certDer,
    keyPem: cert.keyPem,
    maxConnections: 2,
  });
  const s = await waitForStatus(cascade, online(2), 20_000);
  const info = await sessionOf('CERT', s.negotiated!.sessionName, t);
  t.true(info.bridgeMode);
  await host.dhcp(10_000);
  await host.ping('192.168.30.1', 5000);
  t.pass();
});

const modes: Array<[string, Record<string, unknown>, number]> = [
  ['half-duplex', { halfDuplex: true, maxConnections: 4 }, 4],
  ['compression', { compress: true, maxConnections: 2 }, 2],
  ['no encryption', { encrypt: false, maxConnections: 4 }, 4],
  ['1 connection', { maxConnections: 1 }, 1],
  ['32 connections', { maxConnections: 32, additionalConnectionIntervalMs: 200 }, 32],
];
for (const [label, opts, want] of modes) {
  realSerial(`mode ${label}: frames flow both ways`, async (t) => {
    const { cascade, host } = cascadeTo(t, server, 'MODES', { username: 'bob', password: 'pw-bob', ...opts });
    const s = await waitForStatus(cascade, online(want), 30_000, `${want} connections`);
    if (opts.halfDuplex) {
      t.is(s.negotiated!.halfConnection, true);
      t.true(s.connections.up >= 1 && s.connections.down >= 1, `up ${s.connections.up} down ${s.connections.down}`);
    }
    if (opts.compress) t.true(s.negotiated!.useCompress);
    if (opts.encrypt === false) t.false(s.negotiated!.useEncrypt);
    const info = await sessionOf('MODES', s.negotiated!.sessionName, t);
    t.is(info.tcpConnections, want);
    await host.dhcp(10_000);
    for (let i = 0; i < 5; i++) await host.ping('192.168.30.1', 5000, 1000);
    t.pass();
  });
}

real('wrong password and unknown hub: clear errors, retried every 8-12 s, forever', async (t) => {
  const bad = cascadeTo(t, server, 'ERR', { username: 'carol', password: 'wrong' });
  const nohub = cascadeTo(t, server, 'NOSUCHHUB', { username: 'carol', password: 'x' });
  const attempts = (log: string[]) => log.filter((l) => l.includes(' connecting to ')).map((l) => Date.parse(l.slice(0, 24)));
  const s1 = await waitForStatus(bad.cascade, (s) => s.lastError?.code === 9, 10_000, 'error 9');
  t.regex(s1.lastError!.message, /authentication failed/i);
  t.is(s1.state, 'waiting');
  const s2 = await waitForStatus(nohub.cascade, (s) => s.lastError?.code === 8, 10_000, 'error 8');
  t.regex(s2.lastError!.message, /hub/i);
  await waitForStatus(bad.cascade, () => attempts(bad.log).length >= 3, 30_000, '3 attempts');
  await waitForStatus(nohub.cascade, () => attempts(nohub.log).length >= 3, 30_000, '3 attempts');
  for (const log of [bad.log, nohub.log]) {
    const a = attempts(log);
    for (let i = 1; i < a.length; i++) {
      const gap = a[i]! - a[i - 1]!;
      t.true(gap >= 7_900 && gap <= 12_500, `retry gap ${gap} ms`);
    }
  }
  t.is(bad.cascade.status().state === 'online', false);
});

real('certificate pinning: a wrong pin is refused and reported, the right one connects', async (t) => {
  const wrong = 'ab'.repeat(32);
  const bad = cascadeTo(t, server, 'PW', { username: 'alice', password: 'Secret-pw1', pinnedCertSha256: wrong, maxConnections: 1 });
  const s = await waitForStatus(bad.cascade, (st) => st.lastError !== null, 10_000, 'a pin error');
  t.regex(s.lastError!.message, /server certificate changed/);
  t.is(s.lastError!.kind, 'certificate-changed');
  t.is(s.state, 'waiting');
  t.truthy(s.serverCertSha256, 'the fingerprint the server presented is visible, so the pin can be corrected');
  const good = cascadeTo(t, server, 'PW', { username: 'alice', password: 'Secret-pw1', pinnedCertSha256: s.serverCertSha256!, maxConnections: 1 });
  await waitForStatus(good.cascade, online(1), 10_000);
  t.is(bad.cascade.status().state === 'online', false);
});

realSerial('connection lifetime: connections are replaced one by one, the session and the frames go on', async (t) => {
  const { cascade, host } = cascadeTo(t, server, 'MODES', {
    username: 'bob',
    password: 'pw-bob',
    maxConnections: 2,
    connectionLifetimeMs: 3000,
  });
  const s0 = await waitForStatus(cascade, online(2), 15_000);
  await host.dhcp(10_000);
  const firstIds = cascade.connections().map((c) => c.id);
  const until = Date.now() + 8000;
  let pings = 0;
  while (Date.now() < until) {
    await host.ping('192.168.30.1', 2000);
    pings++;
  }
  const s1 = cascade.status();
  t.is(s1.negotiated!.sessionName, s0.negotiated!.sessionName, 'same session');
  t.is(s1.sessions, 1);
  t.false(cascade.connections().some((c) => firstIds.includes(c.id)), 'all original connections were replaced');
  t.true(pings > 10);
});

realSerial('bounded send queue: a burst beyond 1024 frames in one turn is dropped and counted, not buffered', async (t) => {
  const { cascade, host } = cascadeTo(t, server, 'MODES', { username: 'bob', password: 'pw-bob', maxConnections: 2 });
  await waitForStatus(cascade, online(2), 15_000);
  await host.dhcp(10_000);
  const frame = Buffer.alloc(600);
  frame.fill(0xff, 0, 6); // broadcast, so the hub floods it (harmless)
  host.mac.copy(frame, 6);
  frame.writeUInt16BE(0x88b5, 12); // local experimental EtherType
  const burst = Array.from({ length: 5000 }, () => frame);
  cascade.write(burst);
  const c = cascade.status().traffic;
  t.is(c.drops.queueFull, 5000 - 1024);
  const oversize = Buffer.alloc(1601);
  cascade.write([oversize]);
  t.is(cascade.status().traffic.drops.oversize, 1);
  await host.ping('192.168.30.1', 5000);
});
