import test from 'ava';
import { ADMIN_PASSWORD, request, rpc, startHarness } from './web-helpers.ts';

const basic = (user: string, pw: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });

test('X-VPNADMIN-PASSWORD: result in SoftEther\'s JSON-RPC shape, caller is admin via password', async (t) => {
  const h = await startHarness(t);
  const res = await rpc(h.port, 'Test', { IntValue_u32: 7 });
  t.is(res.status, 200);
  t.regex(String(res.headers['content-type']), /^application\/json/);
  t.deepEqual(res.json(), { jsonrpc: '2.0', id: 'req-1', result: { IntValue_u32: 7, Echo_bool: true } });
  t.deepEqual(h.calls, [{ method: 'Test', params: { IntValue_u32: 7 }, caller: { kind: 'admin', via: 'password', address: '127.0.0.1' } }]);
});

test('hub name header: absent, empty and administrator are the admin; any hub name is refused like the stock bridge', async (t) => {
  const h = await startHarness(t);
  for (const hub of [undefined, '', 'administrator']) {
    const headers: Record<string, string> = { 'X-VPNADMIN-PASSWORD': ADMIN_PASSWORD };
    if (hub !== undefined) headers['X-VPNADMIN-HUBNAME'] = hub;
    const res = await rpc(h.port, 'Test', {}, headers);
    t.is(res.status, 200, `hub ${JSON.stringify(hub)}`);
    t.true(res.json().result.Echo_bool);
  }
  const before = h.calls.length;
  for (const hub of ['OTHERHUB', 'BRIDGE', 'bridge']) {
    const res = await rpc(h.port, 'Test', {}, { 'X-VPNADMIN-PASSWORD': ADMIN_PASSWORD, 'X-VPNADMIN-HUBNAME': hub });
    t.is(res.status, 401, hub);
    t.regex(res.body, /Administrative authentication required.*no hub administrators/s);
  }
  t.is(h.calls.length, before, 'not dispatched');
});

test('HTTP Basic with user "" / administrator works; WWW-Authenticate only after a failed Basic try', async (t) => {
  const h = await startHarness(t);
  for (const user of ['', 'administrator', 'Administrator']) {
    const res = await rpc(h.port, 'Test', { IntValue_u32: 1 }, basic(user, ADMIN_PASSWORD));
    t.is(res.status, 200, user);
  }
  t.true(h.calls.every((c) => c.caller.via === 'basic' && c.caller.kind === 'admin'));
  const wrong = await rpc(h.port, 'Test', {}, basic('', 'wrong password'));
  t.is(wrong.status, 401);
  t.regex(String(wrong.headers['www-authenticate']), /^Basic realm=/);
  const none = await rpc(h.port, 'Test', {}, {});
  t.is(none.status, 401);
  t.is(none.headers['www-authenticate'], undefined, 'no browser dialog for the UI');
  const bearer = await rpc(h.port, 'Test', {}, { Authorization: 'Bearer abc' });
  t.is(bearer.status, 401);
  t.regex(bearer.body, /HTTP Basic/);
});

test('the header wins over Basic, like SoftEther', async (t) => {
  const h = await startHarness(t);
  const res = await rpc(h.port, 'Test', {}, { 'X-VPNADMIN-PASSWORD': 'wrong password', ...basic('', ADMIN_PASSWORD) });
  t.is(res.status, 401);
});

test('wrong password: 401, nothing dispatched; 5 failures lock the address out (429 + Retry-After) until the clock passes', async (t) => {
  const h = await startHarness(t);
  for (let i = 0; i < 5; i++) {
    const res = await rpc(h.port, 'Test', {}, { 'X-VPNADMIN-PASSWORD': `guess ${i}` });
    t.is(res.status, 401);
    t.regex(res.headers['content-type'] as string, /text\/html/, 'a 401 page like the stock server, not JSON');
  }
  t.is(h.calls.length, 0);
  const verifiesBefore = h.state.verifyCount;
  const locked = await rpc(h.port, 'Test', {});
  t.is(locked.status, 429, 'even the right password is refused while locked out');
  t.is(locked.headers['retry-after'], '30');
  t.regex(locked.json().error.message, /too many wrong passwords.*30 s/);
  t.is(h.state.verifyCount, verifiesBefore, 'no password check while locked out');
  t.truthy(h.logs.find((l) => l.msg.includes('locked out')));
  h.clock.t += 30_000;
  const after = await rpc(h.port, 'Test', {});
  t.is(after.status, 200);
  // The browser login shares the lock-out state.
  for (let i = 0; i < 5; i++) await rpc(h.port, 'Test', {}, { 'X-VPNADMIN-PASSWORD': `guess ${i}` });
  const loginLocked = await request(h.port, {
    method: 'POST', path: '/auth/login', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password: ADMIN_PASSWORD }),
  });
  t.is(loginLocked.status, 429);
  t.is(typeof loginLocked.json().lockedUntil, 'string');
  t.is(Date.parse(loginLocked.json().lockedUntil), h.clock.t + 30_000);
});

test('a successful password check is cached: scripts do not pay the hash per call; a password change drops the cache', async (t) => {
  const h = await startHarness(t);
  for (let i = 0; i < 5; i++) t.is((await rpc(h.port, 'Test', {})).status, 200);
  t.is(h.state.verifyCount, 1);
  t.is((await rpc(h.port, 'SetServerPassword', { PlainTextPassword_str: 'new password 1' })).status, 200);
  await rpc(h.port, 'Test', {});
  t.is(h.state.verifyCount, 2, 'checked again after SetServerPassword');
  h.server.forgetCachedPasswords();
  await rpc(h.port, 'Test', {});
  t.is(h.state.verifyCount, 3);
  h.clock.t += 5 * 60_000;
  await rpc(h.port, 'Test', {});
  t.is(h.state.verifyCount, 4, 'the cache entry expires after 5 minutes');
});

test('setup mode: only SetServerPassword and GetSetupState, without credentials, as caller kind setup', async (t) => {
  const h = await startHarness(t, {}, false);
  const state = await rpc(h.port, 'GetSetupState', {}, {});
  t.is(state.status, 200);
  t.deepEqual(state.json().result, { AdminPasswordSet_bool: false });
  const refused = await rpc(h.port, 'Test', {}, {});
  t.is(refused.status, 200);
  t.is(refused.json().error.code, 12);
  t.regex(refused.json().error.message, /^Error code 12: Access has been denied: the admin password must be set first/);
  const refusedEvenWithPassword = await rpc(h.port, 'GetServerInfo', {});
  t.is(refusedEvenWithPassword.json().error.code, 12);
  const set = await rpc(h.port, 'SetServerPassword', { PlainTextPassword_str: ADMIN_PASSWORD }, {});
  t.deepEqual(set.json(), { jsonrpc: '2.0', id: 'req-1', result: {} });
  t.deepEqual(h.calls.map((c) => [c.method, c.caller.kind, c.caller.via]), [
    ['GetSetupState', 'setup', 'none'],
    ['SetServerPassword', 'setup', 'none'],
  ]);
  // Now set up: credentials required for everything, GetSetupState included.
  t.is((await rpc(h.port, 'GetSetupState', {}, {})).status, 401);
  t.is((await rpc(h.port, 'GetSetupState', {})).status, 200);
});

test('method errors: ApiError keeps code and names the field; other throws become 23 without detail, logged', async (t) => {
  const h = await startHarness(t);
  const fail = await rpc(h.port, 'Fail', {}, undefined, 42);
  t.is(fail.status, 200);
  t.deepEqual(fail.json(), {
    jsonrpc: '2.0',
    id: 42,
    error: { code: 38, message: 'Error code 38: field Port_u32 must be 1..65535', data: { field: 'Port_u32' } },
  });
  const crash = await rpc(h.port, 'Crash', {});
  t.deepEqual(crash.json().error, { code: 23, message: 'Error code 23: An internal error occurred.' });
  t.false(crash.body.includes('secret internal detail'));
  const logged = h.logs.find((l) => l.level === 'error');
  t.truthy(logged);
  t.regex(JSON.stringify(logged), /secret internal detail/);
  t.regex(JSON.stringify(logged), /Crash/);
});

test('envelope errors: code 38 with the stock server\'s words first, id echoed or "0"', async (t) => {
  const h = await startHarness(t);
  const post = (body: string) =>
    request(h.port, { method: 'POST', path: '/api/', headers: { 'X-VPNADMIN-PASSWORD': ADMIN_PASSWORD, 'Content-Type': 'application/json' }, body });
  const parse = await post('{"jsonrpc":"2.0",');
  t.is(parse.status, 200);
  t.deepEqual(parse.json(), { jsonrpc: '2.0', id: '0', error: { code: 38, message: 'Error code 38: Parameter is invalid: JSON-RPC Parse Error: the request body is not valid JSON' } });
  const cases: [string, RegExp, unknown][] = [
    ['[]', /one JSON-RPC 2.0 object/, '0'],
    ['{"jsonrpc":"1.0","id":"a","method":"Test","params":{}}', /field jsonrpc must be "2.0"/, 'a'],
    ['{"jsonrpc":"2.0","id":"b","params":{}}', /^Error code 38: JSON-RPC method name is empty/, 'b'],
    ['{"jsonrpc":"2.0","id":"c","method":"Te st","params":{}}', /method name is invalid/, 'c'],
    ['{"jsonrpc":"2.0","id":7,"method":"Test"}', /^Error code 38: JSON-RPC parameter is empty: field params must be an object/, 7],
    ['{"jsonrpc":"2.0","id":"d","method":"Test","params":[1]}', /JSON-RPC parameter is empty: field params must be an object/, 'd'],
    ['{"jsonrpc":"2.0","id":{"x":1},"method":"Test","params":{}}', /field id must be/, '0'],
  ];
  for (const [body, msg, id] of cases) {
    const res = await post(body);
    t.is(res.status, 200, body);
    t.is(res.json().error.code, 38, body);
    t.regex(res.json().error.message, msg, body);
    t.deepEqual(res.json().id, id, body);
  }
  const noId = await post('{"jsonrpc":"2.0","method":"Test","params":{}}');
  t.is(noId.json().id, '0');
  t.deepEqual(noId.json().result, { Echo_bool: true });
  t.is(h.calls.length, 1);
});

test('body larger than 1 MiB: 413, nothing dispatched; exactly at the limit is accepted', async (t) => {
  const h = await startHarness(t);
  const envelope = (pad: number) => JSON.stringify({ jsonrpc: '2.0', id: '1', method: 'Test', params: { Pad_str: 'x'.repeat(pad) } });
  const overhead = envelope(0).length;
  const big = await request(h.port, {
    method: 'POST', path: '/api/', headers: { 'X-VPNADMIN-PASSWORD': ADMIN_PASSWORD, 'Content-Type': 'application/json' }, body: envelope(1024 * 1024 - overhead + 1),
  });
  t.is(big.status, 413);
  t.is(big.json().error.code, 38);
  t.regex(big.json().error.message, /larger than 1048576 bytes/);
  t.is(h.calls.length, 0);
  const exact = await request(h.port, {
    method: 'POST', path: '/api/', headers: { 'X-VPNADMIN-PASSWORD': ADMIN_PASSWORD, 'Content-Type': 'application/json' }, body: envelope(1024 * 1024 - overhead),
  });
  t.is(exact.status, 200);
  t.is(h.calls.length, 1);
});

test('/api/ answers only POST; a cross-site Origin is refused', async (t) => {
  const h = await startHarness(t);
  const get = await request(h.port, { path: '/api/', headers: { 'X-VPNADMIN-PASSWORD': ADMIN_PASSWORD } });
  t.is(get.status, 405);
  t.is(get.headers.allow, 'POST');
  const cross = await rpc(h.port, 'Test', {}, { 'X-VPNADMIN-PASSWORD': ADMIN_PASSWORD, Origin: 'https://evil.example' });
  t.is(cross.status, 403);
  const same = await rpc(h.port, 'Test', {}, { 'X-VPNADMIN-PASSWORD': ADMIN_PASSWORD, Origin: `https://127.0.0.1:${h.port}` });
  t.is(same.status, 200);
  t.is(h.calls.length, 1);
});

test('no password, cookie or CSRF token appears in the logs', async (t) => {
  const h = await startHarness(t);
  await rpc(h.port, 'Test', {}, { 'X-VPNADMIN-PASSWORD': 'wrong secret pw' });
  await rpc(h.port, 'Crash', {});
  const text = JSON.stringify(h.logs);
  t.false(text.includes('wrong secret pw'));
  t.false(text.includes(ADMIN_PASSWORD));
  t.true(h.logs.length >= 2);
});

test('parallel guesses cannot outrun the limit: at most 5 checks from one address are in flight', async (t) => {
  const h = await startHarness(t, {
    verifyAdminPassword: async (pw) => {
      h.state.verifyCount++;
      await new Promise((r) => setTimeout(r, 300));
      return pw === ADMIN_PASSWORD;
    },
  });
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => rpc(h.port, 'Test', {}, { 'X-VPNADMIN-PASSWORD': `guess ${i}` })));
  const statuses = answers.map((a) => a.status).sort();
  t.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
  t.is(h.state.verifyCount, 5);
  t.regex(answers.find((a) => a.status === 429)!.json().error.message, /too many password checks from this address at once/);
  t.is((await rpc(h.port, 'Test', {})).status, 429, 'and the five failures locked the address');
});
