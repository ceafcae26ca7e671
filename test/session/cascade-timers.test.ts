/**
 * Timing behaviour against the scripted fake server: keep-alive spacing and the receive timeout with T = 5 s
 * (the smallest the server sends), and the handshake step timeout against a server that goes silent.
 */
import test from 'ava';
import { fakeServer, cascadeTo, waitForStatus, sleep } from './fake-server.ts';
import { SESSION_TICK_MS } from '../../src/session/session.ts';
import { HANDSHAKE_STEP_TIMEOUT_MS } from '../../src/session/handshake.ts';

const T = 5000;

test('keep-alives: one at once on every new connection, then every T/5..T/2 (+ one session tick) while idle', async (t) => {
  const server = await fakeServer(t);
  const { cascade } = cascadeTo(t, server, { maxConnections: 2 });
  const s = await waitForStatus(cascade, (x) => x.state === 'online' && x.connections.total === 2, 5000, '2 connections');
  t.is(s.negotiated!.timeoutMs, T);
  await sleep(8000);
  const gaps: number[] = [];
  for (const tunnel of server.liveTunnels()) {
    const kas = tunnel.keepAlives;
    t.true(kas[0]! - tunnel.startedAt < 100, `first keep-alive ${kas[0]! - tunnel.startedAt} ms after the reply`);
    t.true(kas.length >= 4, `${kas.length} keep-alives in 8 s`);
    for (let i = 1; i < kas.length; i++) gaps.push(kas[i]! - kas[i - 1]!);
    t.true(tunnel.records.every((r) => r.kind === 'keepalive'), 'idle: nothing but keep-alives');
  }
  const min = Math.min(...gaps);
  const max = Math.max(...gaps);
  t.log(`keep-alive gaps (ms): ${gaps.join(' ')}`);
  t.true(min >= T / 5 - 10, `shortest gap ${min} ms`);
  t.true(max <= T / 2 + SESSION_TICK_MS + 60, `longest gap ${max} ms`);
  t.true(max - min >= 150, 'gaps are randomised, not a fixed period');
});

test('receive timeout: a connection that hears nothing for T is closed by the client, the others stay and the pool refills', async (t) => {
  // Connection #0 (the login connection) gets no keep-alives from the server; every other one does.
  const server = await fakeServer(t, { keepAliveMs: (x) => (x.conn.index === 0 ? null : 1000) });
  const { cascade, log } = cascadeTo(t, server, { maxConnections: 2 });
  await waitForStatus(cascade, (x) => x.state === 'online' && x.connections.total === 2, 5000, '2 connections');
  const [silent, talkative] = server.sessions[0]!.tunnels;
  await silent!.conn.whenClosed();
  const after = silent!.conn.closedAt! - silent!.lastSentAt;
  t.true(after >= T && after <= T + SESSION_TICK_MS + 150, `closed ${after} ms after the server's last byte`);
  t.false(talkative!.conn.closed, 'a connection that hears keep-alives stays');
  t.true(log.some((l) => /connection 1 closed: nothing received for 5 s/.test(l)));
  const s = await waitForStatus(cascade, (x) => x.state === 'online' && x.connections.total === 2, 5000, 'refilled');
  t.is(s.sessions, 1);
  t.is(server.logins.length, 1);
});

// These check the DEFAULT step timeout (15 s, like the stock client; handshakeTimeoutMs changes it), so they take ~16 s each
// (they run concurrently with the rest of this file).
test('a server that accepts TCP but never answers the TLS handshake: the attempt fails after the step timeout', async (t) => {
  t.timeout(30_000);
  const server = await fakeServer(t, { plan: (i) => (i === 0 ? { stall: 'tls' } : {}) });
  const started = Date.now(); // the client's TLS timer starts after this (start() runs synchronously)
  const { cascade } = cascadeTo(t, server);
  const s = await waitForStatus(cascade, (x) => x.lastError !== null, HANDSHAKE_STEP_TIMEOUT_MS + 2000, 'the first attempt to fail');
  const stalled = server.connections[0]!;
  t.regex(s.lastError!.message, /TLS handshake .* timed out/);
  t.true(stalled.rawBytesIn > 0, 'the client did send its ClientHello');
  await stalled.whenClosed();
  const took = Date.parse(s.lastError!.at) - started;
  t.true(took >= HANDSHAKE_STEP_TIMEOUT_MS && took < HANDSHAKE_STEP_TIMEOUT_MS + 1000, `gave up after ${took} ms`);
  t.true(stalled.closedAt! - started < HANDSHAKE_STEP_TIMEOUT_MS + 1000, 'and closed the connection');
  // The attempt started > 1.2 s ago, so the next one starts at once, and this time the server answers.
  await waitForStatus(cascade, (x) => x.state === 'online', 6000, 'online on the next attempt');
});

test('a server that completes TLS but never answers the hello: the attempt fails after the step timeout', async (t) => {
  t.timeout(30_000);
  const server = await fakeServer(t, { plan: (i) => (i === 0 ? { stall: 'hello' } : {}) });
  const { cascade } = cascadeTo(t, server);
  const s = await waitForStatus(cascade, (x) => x.lastError !== null, HANDSHAKE_STEP_TIMEOUT_MS + 2000, 'the first attempt to fail');
  const stalled = server.connections[0]!;
  t.regex(s.lastError!.message, /no hello from the server within 15 s/);
  await stalled.whenClosed();
  // The client's hello timer starts once its TLS is up, which is after the server accepted the connection.
  const took = Date.parse(s.lastError!.at) - stalled.acceptedAt;
  t.true(took >= HANDSHAKE_STEP_TIMEOUT_MS && took < HANDSHAKE_STEP_TIMEOUT_MS + 1000, `gave up ${took} ms after the TCP accept`);
  t.true(stalled.closedAt! - stalled.acceptedAt < HANDSHAKE_STEP_TIMEOUT_MS + 1000, 'and closed the connection');
  await waitForStatus(cascade, (x) => x.state === 'online', 6000, 'online on the next attempt');
});

test('keep-alives: a data write re-arms the timer, so a connection busy with data sends none', async (t) => {
  const server = await fakeServer(t);
  const { cascade } = cascadeTo(t, server, { maxConnections: 1 });
  await waitForStatus(cascade, (x) => x.state === 'online', 5000, 'online');
  const tunnel = server.liveTunnels()[0]!;
  await server.waitFor(() => tunnel.keepAlives.length >= 1, 2000, 'the first keep-alive');
  const start = Date.now();
  let n = 0;
  while (Date.now() - start < 4000) {
    cascade.write([Buffer.alloc(60, n++)]);
    await sleep(400);
  }
  const busy = tunnel.records.filter((r) => r.at > start + 50);
  t.true(busy.filter((r) => r.kind === 'data').length >= 9);
  t.is(busy.filter((r) => r.kind === 'keepalive').length, 0, 'no keep-alive while data flows every 400 ms (< T/5)');
  // Idle again: keep-alives resume within T/2 (+ a tick).
  await server.waitFor(() => tunnel.keepAlives.some((k) => k > start + 4000), T / 2 + SESSION_TICK_MS + 500, 'keep-alives again');
});
