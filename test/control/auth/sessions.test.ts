import test from 'ava';
import { SessionStore, csrfTokenMatches } from '../../../src/control/auth/sessions.ts';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('a session has a random 32-byte id and its own CSRF token; use() finds it', (t) => {
  const c = clock();
  const store = new SessionStore({ now: c.now });
  const a = store.create('10.0.0.1');
  const b = store.create('10.0.0.2');
  t.regex(a.id, /^[A-Za-z0-9_-]{43}$/);
  t.is(Buffer.from(a.id, 'base64url').length, 32);
  t.not(a.id, b.id);
  t.not(a.csrfToken, b.csrfToken);
  t.not(a.id, a.csrfToken);
  t.is(store.use(a.id), a);
  t.is(store.use('x'.repeat(43)), null);
  t.is(store.use(undefined), null);
  t.is(store.use('not an id'), null);
  t.is(store.size, 2);
});

test('idle expiry (30 min) and absolute expiry (12 h)', (t) => {
  const c = clock();
  const store = new SessionStore({ now: c.now });
  const s = store.create('a');
  c.t += 29 * 60_000;
  t.truthy(store.use(s.id)); // activity extends the idle deadline
  c.t += 29 * 60_000;
  t.truthy(store.peek(s.id));
  c.t += 60_000; // 30 min since the last use
  t.is(store.peek(s.id), null);
  t.is(store.size, 0);

  const s2 = store.create('a');
  const start = c.t;
  while (c.t < start + 12 * 3600_000 - 20 * 60_000) {
    c.t += 20 * 60_000;
    t.truthy(store.use(s2.id));
  }
  t.is(store.expiresAt(s2), start + 12 * 3600_000);
  c.t = start + 12 * 3600_000;
  t.is(store.use(s2.id), null, 'absolute lifetime ends the session even when it is in use');
});

test('bounded: the least recently used session is evicted', (t) => {
  const c = clock();
  const store = new SessionStore({ now: c.now, maxSessions: 3 });
  const [a, b, cc] = [store.create('1'), store.create('2'), store.create('3')];
  store.use(a.id); // a becomes most recent; b is now the oldest
  const d = store.create('4');
  t.is(store.size, 3);
  t.is(store.peek(b.id), null);
  t.truthy(store.peek(a.id));
  t.truthy(store.peek(cc.id));
  t.truthy(store.peek(d.id));
});

test('default bound is 64', (t) => {
  const store = new SessionStore();
  const first = store.create('x');
  for (let i = 0; i < 64; i++) store.create('x');
  t.is(store.size, 64);
  t.is(store.peek(first.id), null);
});

test('clear(keep) ends all other sessions; delete ends one', (t) => {
  const store = new SessionStore();
  const a = store.create('1');
  const b = store.create('2');
  const c2 = store.create('3');
  store.clear(b.id);
  t.is(store.peek(a.id), null);
  t.is(store.peek(c2.id), null);
  t.truthy(store.peek(b.id));
  t.true(store.delete(b.id));
  t.is(store.size, 0);
});

test('csrfTokenMatches compares exactly', (t) => {
  const s = new SessionStore().create('1');
  t.true(csrfTokenMatches(s, s.csrfToken));
  t.false(csrfTokenMatches(s, s.csrfToken.slice(1)));
  t.false(csrfTokenMatches(s, `${s.csrfToken.slice(0, -1)}${s.csrfToken.endsWith('A') ? 'B' : 'A'}`));
  t.false(csrfTokenMatches(s, ''));
  t.false(csrfTokenMatches(s, undefined));
});
