/**
 * Login and session-end decisions of the cascade against the scripted fake server: authentication errors and the
 * retry spacing, "hub busy", a certificate change on an additional connection, additional_connect errors 13/15.
 */
import test from 'ava';
import type { CascadeState } from '../../src/session/status.ts';
import { fakeServer, cascadeTo, waitForStatus, sleep, testCertificate, PASSWORD } from './fake-server.ts';
import { certFingerprint } from '../../src/session/transport.ts';

/** Times (Date.now) at which the cascade started a login attempt: every entry into 'connecting' from idle/waiting. */
function attemptStarts(cascade: { on(e: 'state', l: (s: { state: CascadeState }) => void): unknown }): number[] {
  const starts: number[] = [];
  let prev: CascadeState = 'idle';
  cascade.on('state', (s) => {
    if (s.state === 'connecting' && (prev === 'idle' || prev === 'waiting')) starts.push(Date.now());
    prev = s.state;
  });
  return starts;
}

test('login answered with error 9: waiting, code 9, an authentication message, logins spaced 0.8-1.2 x retryIntervalMs from the previous start', async (t) => {
  const server = await fakeServer(t); // checks the password proof against its hello random
  const { cascade } = cascadeTo(t, server, { password: `${PASSWORD}-wrong` }, false);
  const starts = attemptStarts(cascade);
  const waits: Array<{ attempt: number; at: number; nextAttemptAt: number; code: number | undefined; message: string }> = [];
  cascade.on('state', (s) => {
    if (s.state === 'waiting') {
      waits.push({ attempt: starts.length, at: Date.now(), nextAttemptAt: Date.parse(s.nextAttemptAt!), code: s.lastError?.code, message: s.lastError?.message ?? '' });
    }
  });
  cascade.start();
  await server.waitFor(() => server.logins.length >= 3 && waits.length >= 3, 8000, 'three failed logins');
  await cascade.stop();

  t.true(server.logins.every((l) => l.answeredError === 9), 'the fake server rejected the wrong password proof');
  for (const w of waits.slice(0, 3)) {
    t.is(w.code, 9);
    t.regex(w.message, /authentication/i);
    // nextAttemptAt = start + spacing, spacing uniform in [0.8, 1.2) x 1000 ms (ISO string: ms precision), unless
    // the attempt itself took longer than that (a loaded machine): then at once.
    const spacing = w.nextAttemptAt - starts[w.attempt - 1]!;
    const attemptTook = w.at - starts[w.attempt - 1]!;
    t.true(spacing >= 800 - 1 && (spacing < 1200 + 1 || (attemptTook >= 800 && w.nextAttemptAt - w.at <= 1)), `announced spacing ${spacing} ms (attempt took ${attemptTook} ms)`);
  }
  // And the attempts really started then (timers fire a little late, never early).
  for (let i = 1; i < 3; i++) {
    const gap = starts[i]! - starts[i - 1]!;
    t.true(gap >= 800 - 1, `gap between attempt starts ${gap} ms`);
    const late = starts[i]! - waits[i - 1]!.nextAttemptAt;
    t.true(late >= -1 && late < 1000, `attempt ${i + 1} started ${late} ms after the announced time`);
  }
  // What the server saw: one TCP connection per attempt, accepted within that attempt.
  t.deepEqual(server.connections.slice(0, 3).map((c) => c.kind), ['login', 'login', 'login']);
  for (let i = 0; i < 3; i++) {
    const accepted = server.logins[i]!.conn.acceptedAt;
    t.true(accepted >= starts[i]! - 1 && (i === 2 || accepted < starts[i + 1]!), `connection ${i} accepted within attempt ${i + 1}`);
  }
  t.is(cascade.status().sessions, 0);
});

test('error 16 (hub busy): the next attempt is announced 60 s after the failed one started, and nothing happens before', async (t) => {
  const server = await fakeServer(t, { login: () => ({ error: 16 }) });
  const { cascade } = cascadeTo(t, server, {}, false);
  const starts = attemptStarts(cascade);
  cascade.start();
  const s = await waitForStatus(cascade, (x) => x.state === 'waiting', 6000, 'waiting after error 16');
  t.is(s.lastError?.code, 16);
  t.regex(s.lastError!.message, /busy/);
  const spacing = Date.parse(s.nextAttemptAt!) - starts[0]!;
  t.true(spacing >= 60_000 - 1 && spacing <= 60_000 + 1, `announced spacing ${spacing} ms (no jitter for error 16)`);
  await sleep(1500); // longer than the 1 s (+20 %) normal spacing
  t.is(server.logins.length, 1, 'no second login');
  t.is(cascade.status().state, 'waiting');
});

test('an additional connection with a different certificate ends the session; the cascade logs in again', async (t) => {
  // Connection #1 is the first additional connection of the first session.
  const server = await fakeServer(t, { plan: (i) => (i === 1 ? { cert: 'b' } : {}) });
  const { cascade, log } = cascadeTo(t, server, { maxConnections: 2 });
  const s = await waitForStatus(cascade, (x) => x.sessions === 2 && x.state === 'online' && x.connections.total === 2, 5000, 'second session with 2 connections');

  t.is(server.logins.length, 2, 'a full new login');
  t.is(s.negotiated!.sessionName, server.sessions[1]!.name, 'the new session');
  t.not(server.sessions[0]!.name, server.sessions[1]!.name);
  const odd = server.connections[1]!;
  t.is(odd.plan.cert, 'b');
  t.true(odd.closed, 'the client hung up on the impostor');
  t.is(odd.kind, null, 'no hello/additional_connect was sent to the impostor');
  t.true(server.sessions[0]!.tunnels.every((x) => x.conn.closed), 'every connection of the old session is closed');
  t.true(server.sessions[0]!.tunnels[0]!.conn.gotFin, 'the old session was closed cleanly');
  t.true(log.some((l) => /different certificate/.test(l)), 'the reason is logged');
  t.regex(s.lastError?.message ?? '', /different certificate/);
  t.is(s.serverCertSha256, certFingerprint(testCertificate('a').der));
});

test('additional_connect answered with error 13: the session is over, full re-login', async (t) => {
  const server = await fakeServer(t, { additional: (r) => (r.n === 1 ? { error: 13 } : undefined) });
  const { cascade } = cascadeTo(t, server, { maxConnections: 2 });
  const s = await waitForStatus(cascade, (x) => x.sessions === 2 && x.state === 'online' && x.connections.total === 2, 5000, 'second session with 2 connections');
  t.is(server.logins.length, 2);
  t.is(server.additionals[0]!.answeredError, 13);
  t.regex(s.lastError?.message ?? '', /dropped the session.*error 13/);
  t.true(server.sessions[0]!.tunnels.every((x) => x.conn.closed), 'the first session\'s connection was closed');
  t.is(s.negotiated!.sessionName, server.sessions[1]!.name);
  t.true(server.additionals.slice(1).every((a) => a.answeredError === null), 'later additional connections belong to the new session');
});

test('additional_connect answered with error 15: no re-login, the connection is tried again one interval later', async (t) => {
  const server = await fakeServer(t, { additional: (r) => (r.n <= 2 ? { error: 15 } : undefined) });
  const { cascade, log } = cascadeTo(t, server, { maxConnections: 2, additionalConnectionIntervalMs: 300 });
  const s = await waitForStatus(cascade, (x) => x.state === 'online' && x.connections.total === 2, 5000, '2 connections');
  t.is(server.logins.length, 1, 'no re-login');
  t.is(s.sessions, 1);
  t.is(server.additionals.length, 3);
  t.deepEqual(server.additionals.map((a) => a.answeredError), [15, 15, null]);
  for (let i = 1; i < 3; i++) {
    // Attempts start on the session's 250 ms tick once the 300 ms interval has passed (and the previous one ended).
    const gap = server.additionals[i]!.conn.acceptedAt - server.additionals[i - 1]!.conn.acceptedAt;
    t.true(gap >= 290, `additional attempts ${gap} ms apart`);
  }
  t.true(log.some((l) => /additional connection failed.*error 15/.test(l)));
  t.is(s.lastError, null, 'a refused additional connection is not a cascade error');
  t.true(server.additionals.slice(0, 2).every((a) => a.conn.closed), 'refused connections were closed');
  t.false(server.logins[0]!.conn.closed, 'the first connection stayed up throughout');
});

test('a welcome that grants fewer connections than asked: the cascade holds exactly that many', async (t) => {
  const server = await fakeServer(t, { login: () => ({ welcome: { maxConnection: 2 } }) });
  const { cascade } = cascadeTo(t, server, { maxConnections: 4, qos: false });
  const s = await waitForStatus(cascade, (x) => x.state === 'online' && x.connections.total === 2, 5000, '2 connections');
  await sleep(600); // six more additional-connection intervals
  t.is(server.connections.length, 2, 'never asked for a third');
  t.is(s.connections.granted, 2);
  t.is(s.connections.requested, 4);
  t.is(server.logins[0]!.pack.getInt('max_connection'), 4);
});

test('a welcome timeout below 5 s is taken as 5 s (the server\'s own minimum)', async (t) => {
  const server = await fakeServer(t, { login: () => ({ welcome: { timeoutMs: 1000 } }) });
  const { cascade } = cascadeTo(t, server);
  const s = await waitForStatus(cascade, (x) => x.state === 'online', 5000, 'online');
  t.is(s.negotiated!.timeoutMs, 5000);
  await sleep(1500);
  const tunnel = server.liveTunnels()[0]!;
  const kas = tunnel.keepAlives;
  t.true(kas.length >= 1 && kas.length <= 2, `${kas.length} keep-alives in 1.5 s: paced for T = 5 s, not 1 s`);
});

test('a welcome with use_encrypt=0 to a request for 1 is refused and retried', async (t) => {
  // Silent after the welcome: bytes right behind it are a different case (cascade-robustness.test.ts).
  const server = await fakeServer(t, {
    login: (r) => (r.n === 1 ? { welcome: { useEncrypt: false } } : undefined),
    keepAliveMs: (x) => (x.conn.index === 0 ? null : 1000),
  });
  const { cascade } = cascadeTo(t, server);
  const s = await waitForStatus(cascade, (x) => x.state === 'online', 6000, 'online on the second login');
  t.regex(s.lastError?.message ?? '', /use_encrypt=0/);
  t.is(server.logins.length, 2);
  t.true(server.logins[0]!.conn.closed);
  t.is(s.sessions, 1);
});

test('all connections lost and every resumption refused (error 15): the session ends after T, then a new login', async (t) => {
  let killedAt = 0;
  const server = await fakeServer(t, { additional: () => (killedAt ? { error: 15 } : undefined) });
  const { cascade, log } = cascadeTo(t, server, { maxConnections: 1 });
  await waitForStatus(cascade, (x) => x.state === 'online', 5000, 'online');
  killedAt = Date.now();
  server.liveTunnels()[0]!.destroy();
  const s = await waitForStatus(cascade, (x) => x.sessions === 2 && x.state === 'online', 9000, 'the second session');
  const ended = server.logins[1]!.at - killedAt;
  t.true(ended >= 5000 && ended < 5000 + 1500, `new login ${ended} ms after the loss (T = 5 s)`);
  t.true(server.additionals.length >= 5, `${server.additionals.length} resumption attempts in the meantime`);
  t.true(server.additionals.every((a) => a.answeredError === 15));
  t.true(log.some((l) => /no TCP connection for 5 s and the session could not be resumed/.test(l)));
  t.is(s.negotiated!.sessionName, server.sessions[1]!.name);
});
