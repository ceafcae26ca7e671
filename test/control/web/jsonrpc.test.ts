import test from 'ava';
import fc from 'fast-check';
import { ApiError } from '../../../src/control/web/api-error.ts';
import { errorBody, parseEnvelope, resultBody, thrownErrorBody } from '../../../src/control/web/jsonrpc.ts';
import { readCookie } from '../../../src/control/web/cookies.ts';
import { isAdminUser, readApiCredentials } from '../../../src/control/web/api-credentials.ts';

test('parseEnvelope never throws and always yields a JSON-RPC id, for any text or JSON value', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), (body) => {
      const env = parseEnvelope(body);
      if (env.ok) {
        if (typeof env.params !== 'object' || env.params === null || Array.isArray(env.params)) return false;
        if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(env.method)) return false;
      } else if (env.code !== 38) return false;
      return typeof env.id === 'string' || typeof env.id === 'number';
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('a valid envelope is accepted with its id, method and params', (t) => {
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ maxLength: 256 }), fc.integer()),
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,63}$/),
      fc.dictionary(fc.string(), fc.jsonValue()),
      (id, method, params) => {
        const env = parseEnvelope(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
        return env.ok && env.id === id && env.method === method && JSON.stringify(env.params) === JSON.stringify(params);
      },
    ),
  );
  t.pass();
});

test('answer bodies: result, error with SoftEther message format, field in error.data', (t) => {
  t.is(resultBody('x', { A_u32: 1 }), '{"jsonrpc":"2.0","id":"x","result":{"A_u32":1}}');
  t.deepEqual(JSON.parse(errorBody(3, 38, '')), { jsonrpc: '2.0', id: 3, error: { code: 38, message: 'Error code 38: Invalid parameter.' } });
  t.deepEqual(JSON.parse(errorBody('a', 999, '')).error, { code: 999, message: 'Error code 999' });
  t.deepEqual(JSON.parse(thrownErrorBody('a', new ApiError(38, 'field X_u32 is bad', 'X_u32')).body).error, {
    code: 38, message: 'Error code 38: field X_u32 is bad', data: { field: 'X_u32' },
  });
  const internal = thrownErrorBody('a', new TypeError('boom'));
  t.true(internal.internal);
  t.deepEqual(JSON.parse(internal.body).error, { code: 23, message: 'Error code 23: An internal error occurred.' });
});

test('credentials: header wins, Basic parsed with UTF-8, malformed said so; admin user names', (t) => {
  t.deepEqual(readApiCredentials({ 'x-vpnadmin-password': 'p', authorization: 'Basic ' + Buffer.from('u:q').toString('base64') }), {
    via: 'password', user: '', password: 'p',
  });
  const utf = Buffer.from('pässwörd', 'utf8').toString('latin1'); // how Node hands over a UTF-8 header value
  t.deepEqual(readApiCredentials({ 'x-vpnadmin-password': utf, 'x-vpnadmin-hubname': 'BRIDGE' }), { via: 'password', user: 'BRIDGE', password: 'pässwörd' });
  t.deepEqual(readApiCredentials({ authorization: 'Basic ' + Buffer.from(':pä:ss').toString('base64') }), { via: 'basic', user: '', password: 'pä:ss' });
  t.is(readApiCredentials({ authorization: 'Basic ' + Buffer.from('nocolon').toString('base64') }).via, 'malformed');
  t.is(readApiCredentials({ authorization: 'Digest x' }).via, 'malformed');
  t.is(readApiCredentials({}).via, 'none');
  for (const u of ['', 'administrator', 'ADMINISTRATOR']) t.true(isAdminUser(u), u);
  for (const u of ['admin', 'HUB', 'BRIDGE', 'Bridge', 'BRIDGE2', ' ']) t.false(isAdminUser(u), u);
});

test('readCookie finds the named cookie only', (t) => {
  t.is(readCookie('a=1; sebridge_session=abc; b=2', 'sebridge_session'), 'abc');
  t.is(readCookie('xsebridge_session=abc', 'sebridge_session'), null);
  t.is(readCookie(undefined, 'sebridge_session'), null);
  t.is(readCookie('sebridge_session=first; sebridge_session=second', 'sebridge_session'), 'first');
});
