/**
 * The cascade's observable status and its event listeners, against the scripted fake server:
 *  - `attempts` counts logins tried since the last established session: 0 while online (it used to stay 1 for the
 *    whole session because the run loop only reset it when the session ENDED);
 *  - listeners that throw (on 'state', 'log', 'connections') can never stop the never-ending reconnect loop.
 */
import test from 'ava';
import { fakeServer, cascadeTo, waitForStatus } from './fake-server.ts';
import type { CascadeStatus } from '../../src/session/status.ts';

test('attempts: 1 while the first login runs, 0 as soon as (and as long as) the session is up, 1 again on the next login', async (t) => {
  const server = await fakeServer(t);
  const { cascade } = cascadeTo(t, server, { maxConnections: 2 }, false);
  const seen: Array<[string, number]> = [];
  cascade.on('state', (s: CascadeStatus) => seen.push([s.state, s.attempts]));
  cascade.start();
  const s1 = await waitForStatus(cascade, (s) => s.state === 'online' && s.connections.total === 2, 5000, 'online');
  t.is(s1.attempts, 0, 'online: no attempt outstanding');
  t.deepEqual(seen.slice(0, 2), [['connecting', 1], ['online', 0]]);

  // Kill every connection twice (the second time right after the resumption): the session ends, a new login runs.
  for (let round = 1; round <= 2; round++) {
    const victims = server.liveTunnels();
    for (const x of victims) x.destroy();
    await Promise.all(victims.map((x) => x.conn.whenClosed()));
    await server.waitFor(() => server.liveTunnels().length >= 1, 3000, `a connection again after kill ${round}`);
    await waitForStatus(cascade, (s) => s.state === 'online', 3000, `back online after kill ${round}`);
  }
  const s2 = await waitForStatus(cascade, (s) => s.state === 'online' && s.sessions === 2 && s.connections.total === 2, 5000, 'second session');
  t.is(s2.attempts, 0);
  t.is(server.logins.length, 2);
  // The second login was seen as an attempt while it ran.
  const i = seen.findIndex(([st], k) => k > 1 && st === 'online');
  t.true(seen.slice(i + 1).some(([st, a]) => st === 'connecting' && a === 1), JSON.stringify(seen));
});

test('a state listener that throws on "connecting" (and a log listener that always throws) cannot stop the reconnect loop', async (t) => {
  // First login refused (error 9: wrong password), the second one accepted: the cascade must get there although the
  // 'connecting' state change (emitted outside the attempt's try) throws every time.
  const server = await fakeServer(t, { login: (r) => (r.n === 1 ? { error: 9 } : undefined) });
  const { cascade, log } = cascadeTo(t, server, { maxConnections: 1 }, false);
  let thrown = 0;
  cascade.on('state', (s: CascadeStatus) => {
    if (s.state === 'connecting') {
      thrown++;
      throw new Error('listener bug on connecting');
    }
  });
  cascade.on('log', () => {
    thrown++;
    throw new Error('log listener bug');
  });
  cascade.on('connections', () => {
    thrown++;
    throw new Error('connections listener bug');
  });
  cascade.start();
  const s = await waitForStatus(cascade, (x) => x.state === 'online', 6000, 'online after the refused first login');
  t.is(server.logins.length, 2);
  t.is(s.lastError?.code, 9);
  t.true(thrown >= 4, `${thrown} listener exceptions`);
  t.is(cascade.status().listenerErrors, thrown, 'every listener exception counted');
  t.true(log.some((l) => /'state' listener threw: listener bug on connecting/.test(l)), 'a failing state listener is logged');
  t.false(log.some((l) => /'log' listener threw/.test(l)), 'a failing log listener is only counted (no log loop)');
});
