import test from 'ava';
import { ADMIN_PASSWORD, login, request, rpc, startHarness } from './web-helpers.ts';

test('login sets the session cookie with HttpOnly, Secure, SameSite=Strict, Path=/ and Max-Age; returns the CSRF token', async (t) => {
  const h = await startHarness(t);
  const { res, cookie, csrf } = await login(h.port);
  t.is(res.status, 200);
  const setCookie = [res.headers['set-cookie']].flat()[0] ?? '';
  const attrs = setCookie.split(';').map((s) => s.trim());
  t.regex(attrs[0], /^sebridge_session=[A-Za-z0-9_-]{43}$/);
  t.true(attrs.includes('HttpOnly'));
  t.true(attrs.includes('Secure'));
  t.true(attrs.includes('SameSite=Strict'));
  t.true(attrs.includes('Path=/'));
  t.true(attrs.includes('Max-Age=43200'));
  t.regex(csrf, /^[A-Za-z0-9_-]{43}$/);
  t.false(cookie.includes(csrf));
  t.is(h.server.sessions.size, 1);
  t.is(res.headers['cache-control'], 'no-store');
});

test('/auth/state tells the page whether setup is needed, whether it is logged in, and its CSRF token', async (t) => {
  const h = await startHarness(t, {}, false);
  t.deepEqual((await request(h.port, { path: '/auth/state' })).json(), { setupRequired: true, loggedIn: false });
  const early = await login(h.port);
  t.is(early.res.status, 409, 'no login before a password exists');
  h.state.setUp = true;
  t.deepEqual((await request(h.port, { path: '/auth/state' })).json(), { setupRequired: false, loggedIn: false });
  const { cookie, csrf } = await login(h.port);
  t.deepEqual((await request(h.port, { path: '/auth/state', headers: { Cookie: cookie } })).json(), {
    setupRequired: false, loggedIn: true, csrfToken: csrf,
  });
});

test('API calls with the session cookie need the matching X-CSRF-Token; caller via session', async (t) => {
  const h = await startHarness(t);
  const { cookie, csrf } = await login(h.port);
  const other = await login(h.port);
  const ok = await rpc(h.port, 'Test', { A_u32: 1 }, { Cookie: cookie, 'X-CSRF-Token': csrf });
  t.is(ok.status, 200);
  t.deepEqual(h.calls[0].caller, { kind: 'admin', via: 'session', address: '127.0.0.1' });
  const missing = await rpc(h.port, 'Test', {}, { Cookie: cookie });
  t.is(missing.status, 403);
  t.regex(missing.json().error.message, /X-CSRF-Token/);
  const wrong = await rpc(h.port, 'Test', {}, { Cookie: cookie, 'X-CSRF-Token': other.csrf });
  t.is(wrong.status, 403);
  t.is(h.calls.length, 1);
  const noSession = await rpc(h.port, 'Test', {}, { Cookie: 'sebridge_session=' + 'A'.repeat(43), 'X-CSRF-Token': csrf });
  t.is(noSession.status, 401);
  t.is(noSession.headers['www-authenticate'], undefined);
});

test('wrong login: 401 with error; the 5th also reports lockedUntil; then 429 + Retry-After', async (t) => {
  const h = await startHarness(t);
  for (let i = 0; i < 4; i++) {
    const { res } = await login(h.port, `wrong ${i}`);
    t.is(res.status, 401);
    t.deepEqual(res.json(), { error: 'wrong password' });
    t.is(res.headers['set-cookie'], undefined);
  }
  const fifth = (await login(h.port, 'wrong 5')).res;
  t.is(fifth.status, 401);
  t.is(Date.parse(fifth.json().lockedUntil), h.clock.t + 30_000);
  h.clock.t += 10_000;
  const locked = (await login(h.port)).res;
  t.is(locked.status, 429);
  t.is(locked.headers['retry-after'], '20');
  t.regex(locked.json().error, /try again in 20 s/);
  h.clock.t += 20_000;
  t.is((await login(h.port)).res.status, 200);
  t.is(h.server.sessions.size, 1);
});

test('login refuses other content types, cross-site origins and bad bodies, with clear errors', async (t) => {
  const h = await startHarness(t);
  const post = (headers: Record<string, string>, body: string) => request(h.port, { method: 'POST', path: '/auth/login', headers, body });
  const form = await post({ 'Content-Type': 'application/x-www-form-urlencoded' }, 'password=x');
  t.is(form.status, 415);
  t.regex(form.json().error, /application\/json/);
  const plain = await post({ 'Content-Type': 'text/plain' }, JSON.stringify({ password: ADMIN_PASSWORD }));
  t.is(plain.status, 415);
  const cross = await post({ 'Content-Type': 'application/json', Origin: 'https://evil.example' }, JSON.stringify({ password: ADMIN_PASSWORD }));
  t.is(cross.status, 403);
  const same = await post({ 'Content-Type': 'application/json', Origin: `https://127.0.0.1:${h.port}` }, JSON.stringify({ password: ADMIN_PASSWORD }));
  t.is(same.status, 200);
  const broken = await post({ 'Content-Type': 'application/json' }, '{password');
  t.is(broken.status, 400);
  const noField = await post({ 'Content-Type': 'application/json' }, '{"pw":"x"}');
  t.is(noField.status, 400);
  t.regex(noField.json().error, /field password/);
  const huge = await post({ 'Content-Type': 'application/json' }, JSON.stringify({ password: 'x'.repeat(10_000) }));
  t.is(huge.status, 413);
  t.is(h.server.sessions.size, 1);
  t.is((await request(h.port, { method: 'GET', path: '/auth/login' })).status, 405);
  t.is((await request(h.port, { path: '/auth/nothing' })).status, 404);
});

test('logout needs the CSRF token, ends the session and clears the cookie', async (t) => {
  const h = await startHarness(t);
  const { cookie, csrf } = await login(h.port);
  const noCsrf = await request(h.port, { method: 'POST', path: '/auth/logout', headers: { Cookie: cookie } });
  t.is(noCsrf.status, 403);
  t.is((await rpc(h.port, 'Test', {}, { Cookie: cookie, 'X-CSRF-Token': csrf })).status, 200, 'still logged in');
  const out = await request(h.port, { method: 'POST', path: '/auth/logout', headers: { Cookie: cookie, 'X-CSRF-Token': csrf } });
  t.is(out.status, 200);
  t.regex(String([out.headers['set-cookie']].flat()[0]), /^sebridge_session=; Path=\/; Max-Age=0; HttpOnly; Secure; SameSite=Strict$/);
  t.is((await rpc(h.port, 'Test', {}, { Cookie: cookie, 'X-CSRF-Token': csrf })).status, 401);
  t.is(h.server.sessions.size, 0);
});

test('sessions expire: idle 30 min, absolute 12 h (injected clock)', async (t) => {
  const h = await startHarness(t);
  const a = await login(h.port);
  h.clock.t += 29 * 60_000;
  t.is((await rpc(h.port, 'Test', {}, { Cookie: a.cookie, 'X-CSRF-Token': a.csrf })).status, 200);
  h.clock.t += 30 * 60_000;
  t.is((await rpc(h.port, 'Test', {}, { Cookie: a.cookie, 'X-CSRF-Token': a.csrf })).status, 401, 'idle too long');

  const b = await login(h.port);
  const start = h.clock.t;
  while (h.clock.t + 25 * 60_000 < start + 12 * 3600_000) {
    h.clock.t += 25 * 60_000;
    t.is((await rpc(h.port, 'Test', {}, { Cookie: b.cookie, 'X-CSRF-Token': b.csrf })).status, 200);
  }
  h.clock.t = start + 12 * 3600_000;
  t.is((await rpc(h.port, 'Test', {}, { Cookie: b.cookie, 'X-CSRF-Token': b.csrf })).status, 401, '12 h after login');
  t.deepEqual((await request(h.port, { path: '/auth/state', headers: { Cookie: b.cookie } })).json(), { setupRequired: false, loggedIn: false });
});

test('changing the password through a browser session logs out the other sessions, not this one', async (t) => {
  const h = await startHarness(t);
  const mine = await login(h.port);
  const theirs = await login(h.port);
  const res = await rpc(h.port, 'SetServerPassword', { PlainTextPassword_str: 'another password' }, { Cookie: mine.cookie, 'X-CSRF-Token': mine.csrf });
  t.is(res.status, 200);
  t.is((await rpc(h.port, 'Test', {}, { Cookie: mine.cookie, 'X-CSRF-Token': mine.csrf })).status, 200);
  t.is((await rpc(h.port, 'Test', {}, { Cookie: theirs.cookie, 'X-CSRF-Token': theirs.csrf })).status, 401);
});
