/**
 * Acceptance against the REAL server (issue 2, items 5-6): server killed and restarted, single TCP connections
 * killed with `ss -K`, server frozen with SIGSTOP, and an idle session kept alive for 3 x T.
 * Serial: these tests kill and freeze the one server they share.
 */
import test from 'ava';
import { startServer, serverCapability, killTcpConnections } from '../harness/softether-server.ts';
import type { SoftEtherServer } from '../harness/softether-server.ts';
import { cascadeTo, waitForStatus, online, sleep } from '../helpers/cascade-fixture.ts';

const cap = serverCapability();
let server: SoftEtherServer;

test.before(async () => {
  if (!cap.ok) return;
  server = await startServer();
  await server.createHub('RES');
  await server.enableSecureNat('RES');
  await server.createPasswordUser('RES', 'dave', 'pw-dave');
});

test.after.always(async () => {
  await server?.stop();
});

const real = cap.ok ? test.serial : test.serial.skip;
if (!cap.ok) console.error(`\n!!! SKIPPING real-server tests: ${cap.reason} !!!\n`);

const T_MS = 20_000; // the server's default session timeout, as the welcome says (checked below)

real('idle session survives 3 x T on keep-alives alone', async (t) => {
  t.timeout(150_000);
  const { cascade, host } = cascadeTo(t, server, 'RES', { username: 'dave', password: 'pw-dave', maxConnections: 2 });
  const s0 = await waitForStatus(cascade, online(2), 20_000);
  t.is(s0.negotiated!.timeoutMs, T_MS);
  const name = s0.negotiated!.sessionName;
  const before = cascade.status().traffic;
  await sleep(3 * T_MS + 2000);
  const s1 = cascade.status();
  t.is(s1.state, 'online');
  t.is(s1.negotiated!.sessionName, name, 'same session, no re-login');
  t.is(s1.sessions, 1);
  t.is(s1.connections.total, 2, 'no TCP connection was dropped for silence');
  t.is(s1.traffic.framesOut, before.framesOut, 'really idle: no frame sent');
  await host.dhcp(10_000);
  await host.ping('192.168.30.1', 5000);
});

real('ss -K kills TCP connections: pool refills to the granted count while frames keep flowing', async (t) => {
  const { cascade, host } = cascadeTo(t, server, 'RES', { username: 'dave', password: 'pw-dave' });
  await waitForStatus(cascade, online(8), 20_000);
  await host.dhcp(10_000);
  const name = cascade.status().negotiated!.sessionName;
  let pings = 0;
  let failures = 0;
  let stop = false;
  const pinger = (async () => {
    while (!stop) {
      try {
        await host.ping('192.168.30.1', 2000);
        pings++;
      } catch {
        failures++;
      }
      await sleep(100);
    }
  })();
  const killed = await killTcpConnections({ dst: server.host, dport: server.port, max: 3 });
  t.log(`killed ${killed} connections`);
  t.true(killed >= 1);
  await waitForStatus(cascade, (s) => s.connections.total < 8, 5000, 'pool to shrink');
  await waitForStatus(cascade, online(8), 15_000, 'pool to refill');
  stop = true;
  await pinger;
  t.is(cascade.status().negotiated!.sessionName, name, 'same session: connections re-added, no re-login');
  t.log(`pings ok ${pings}, failed ${failures}`);
  t.true(pings >= 10);
  t.true(failures <= 2);
});

real('server killed and restarted: frames flow again within 12 s after it listens', async (t) => {
  t.timeout(120_000);
  const { cascade, host } = cascadeTo(t, server, 'RES', { username: 'dave', password: 'pw-dave', maxConnections: 2 });
  await waitForStatus(cascade, online(2), 20_000);
  await host.dhcp(10_000);
  server.signal('SIGKILL');
  await waitForStatus(cascade, (s) => s.state !== 'online', 5000, 'cascade to notice the kill');
  await sleep(3000);
  await server.restart();
  const listening = Date.now();
  await waitForStatus(cascade, online(1), 15_000, 'cascade back online');
  // The lease survives on our side; the restarted SecureNAT answers ARP/ping for its gateway.
  let ok = false;
  while (!ok && Date.now() - listening < 14_000) {
    try {
      await host.ping('192.168.30.1', 1000);
      ok = true;
    } catch {
      /* not yet */
    }
  }
  const took = Date.now() - listening;
  t.log(`frames flowing again ${took} ms after the server listened`);
  t.true(ok);
  t.true(took <= 13_000, `${took} ms`);
});

real('server frozen (SIGSTOP): the engine notices within T and starts reconnecting', async (t) => {
  t.timeout(120_000);
  const { cascade } = cascadeTo(t, server, 'RES', { username: 'dave', password: 'pw-dave', maxConnections: 2 });
  await waitForStatus(cascade, online(2), 20_000);
  server.signal('SIGSTOP');
  const frozenAt = Date.now();
  try {
    await waitForStatus(cascade, (s) => s.state !== 'online', T_MS + 2000, 'the engine to notice');
    const noticed = Date.now() - frozenAt;
    t.log(`noticed after ${noticed} ms`);
    t.true(noticed <= T_MS + 1000);
    const s = cascade.status();
    t.regex(s.lastError!.message, /nothing received|lost/);
    await waitForStatus(cascade, (st) => st.state === 'connecting' || st.attempts > 0, 15_000, 'a reconnect attempt');
  } finally {
    server.signal('SIGCONT');
  }
  await waitForStatus(cascade, online(1), 40_000, 'back online after SIGCONT');
  t.pass();
});
