/** The conformance machinery itself, without any server: it must catch a target that answers differently. */
import test from 'ava';
import { callsFor, checkExpectation, CONFORMANCE_CALLS, observe, runCall, type CallContext, type ConformanceCall, type ConformanceTarget } from './calls.ts';
import { compareWithRecorded, readExpected, recordOutcomes } from './expected.ts';
import { classifyReply, type RpcReply } from './jsonrpc-client.ts';

const ctx: CallContext = {
  hub: 'BRIDGE',
  adminPassword: 'pw',
  lanDevice: 'lan0',
  missingDevice: 'nodev0',
  cascade: { host: '198.18.0.2', port: 5555, hub: 'CONF', user: 'u', password: 'p' },
};

function byId(id: string): ConformanceCall {
  const c = CONFORMANCE_CALLS.find((x) => x.id === id);
  if (!c) throw new Error(id);
  return c;
}

function fakeTarget(replies: RpcReply[], stimulated: { n: number } = { n: 0 }): ConformanceTarget & { sent: unknown[] } {
  const sent: unknown[] = [];
  return {
    sent,
    context: { ...ctx, stimulateLan: async () => void stimulated.n++ },
    call: async (method, params, opts) => {
      sent.push({ method, params, opts });
      const r = replies.shift();
      if (!r) throw new Error('fake target: no more replies');
      return r;
    },
  };
}

test('call ids are unique and every call with an error expectation names a code', (t) => {
  const ids = CONFORMANCE_CALLS.map((c) => c.id);
  t.is(new Set(ids).size, ids.length);
  for (const c of CONFORMANCE_CALLS) if (c.expect.kind === 'error') t.true(Number.isInteger(c.expect.code) && c.expect.code > 0, c.id);
});

test('classifyReply and observe tell result, error, HTTP page, hang-up and timeout apart', (t) => {
  t.deepEqual(observe(classifyReply(200, '{"jsonrpc":"2.0","id":"1","result":{"A_u32":1}}')), { kind: 'result', shape: { A_u32: 'u32' }, result: { A_u32: 1 } });
  t.deepEqual(observe(classifyReply(200, '{"error":{"code":29,"message":"Error code 29: Object not found."}}')), { kind: 'error', code: 29, message: 'Error code 29: Object not found.', httpStatus: 200 });
  t.deepEqual(observe(classifyReply(401, '<html>401</html>')), { kind: 'http', status: 401 });
  t.deepEqual(observe(classifyReply(200, '{"result":[1]}')), { kind: 'http', status: 200 }, 'an array result is not a SoftEther result');
  t.is(observe({ transport: 'connection failed: ECONNRESET socket hang up', httpStatus: 0, body: '' }).kind, 'hangup');
  t.is(observe({ transport: 'no reply within 10000 ms', httpStatus: 0, body: '' }).kind, 'timeout');
});

test('checkExpectation: wrong kind, wrong code, error on a non-200 status, wrong HTTP status, failed value check', (t) => {
  const dup = byId('CreateLink/duplicate');
  t.deepEqual(checkExpectation(dup, { kind: 'error', code: 59, message: 'x', httpStatus: 200 }, ctx), []);
  t.regex(checkExpectation(dup, { kind: 'error', code: 29, message: 'x', httpStatus: 200 }, ctx)[0]!, /expected error 59, got 29/);
  t.regex(checkExpectation(dup, { kind: 'error', code: 59, message: 'x', httpStatus: 500 }, ctx)[0]!, /HTTP 500/);
  t.regex(checkExpectation(dup, { kind: 'result', shape: {}, result: {} }, ctx)[0]!, /expected error 59, got result/);
  t.regex(checkExpectation(byId('auth/none'), { kind: 'http', status: 403 }, ctx)[0]!, /expected HTTP 401, got 403/);
  const testCall = byId('Test');
  const good = { IntValue_u32: 7, StrValue_str: '7', Int64Value_u64: 12345678901234, UniStrValue_utf: 'äö€' };
  t.deepEqual(checkExpectation(testCall, { kind: 'result', shape: {}, result: good }, ctx), []);
  t.deepEqual(checkExpectation(testCall, { kind: 'result', shape: {}, result: { ...good, StrValue_str: 'ignored' } }, ctx), ['StrValue_str is "ignored", expected "7"']);
});

test('compareWithRecorded against the real recording: a dropped key, a retyped key, another code or message are reported', async (t) => {
  const expected = await readExpected();
  const call = byId('GetLink/hashed');
  const shape = expected.calls[call.id]!.shape!;
  t.true(Object.keys(shape).length > 70);
  const ok = { call, observation: { kind: 'result' as const, shape, result: {} }, problems: [], ms: 1 };
  t.deepEqual(compareWithRecorded(ok, expected.calls[call.id]), []);
  const { HashedPassword_bin: _dropped, ...rest } = shape;
  const dropped = compareWithRecorded({ ...ok, observation: { ...ok.observation, shape: { ...rest, Port_u32: 'string' } } }, expected.calls[call.id]);
  t.is(dropped.length, 1);
  t.regex(dropped[0]!, /missing +HashedPassword_bin: base64/);
  t.regex(dropped[0]!, /type +Port_u32: expected u32, got string/);

  const errCall = byId('GetLinkStatus/offline');
  const rec = expected.calls[errCall.id]!;
  t.deepEqual(rec.expect, { kind: 'error', code: 61 });
  const obs = (code: number, message: string) => ({ call: errCall, observation: { kind: 'error' as const, code, message, httpStatus: 200 }, problems: [], ms: 1 });
  t.deepEqual(compareWithRecorded(obs(61, rec.message!), rec), []);
  t.deepEqual(compareWithRecorded(obs(61, 'Error code 61: The specified Cascade Connection is offline. AccountName_utf: "x"'), rec), [], 'detail after the stock text is allowed');
  t.regex(compareWithRecorded(obs(61, 'Error code 61: The Cascade Connection is offline.'), rec)[0]!, /error message/, 'other words are not');
  t.regex(compareWithRecorded(obs(29, rec.message!), rec)[0]!, /error code 29, stock 61/);
  t.regex(compareWithRecorded({ ...ok, call: errCall }, rec)[0]!, /stock answered error, this target result/);
  t.regex(compareWithRecorded(ok, undefined)[0]!, /nothing recorded/);
});

test('the recording covers every call, with a shape for every result', async (t) => {
  const expected = await readExpected();
  t.regex(expected.recordedFrom.product, /VPN Bridge/);
  for (const c of CONFORMANCE_CALLS) {
    const rec = expected.calls[c.id];
    t.truthy(rec, c.id);
    t.deepEqual(rec?.expect, c.expect, c.id);
    if (c.expect.kind === 'result') t.true(Object.keys(rec?.shape ?? {}).length > 0, c.id);
  }
});

test('runCall polls until the condition holds, stimulating the LAN when asked', async (t) => {
  const call = byId('EnumMacTable');
  const empty: RpcReply = { result: { HubName_str: 'BRIDGE', MacTable: [] }, httpStatus: 200 };
  const full: RpcReply = { result: { HubName_str: 'BRIDGE', MacTable: [{ SessionName_str: 'SID-LOCALBRIDGE-1' }] }, httpStatus: 200 };
  const stimulated = { n: 0 };
  const target = fakeTarget([empty, empty, full], stimulated);
  const o = await runCall(target, call);
  t.deepEqual(o.problems, []);
  t.is(target.sent.length, 3);
  t.is(stimulated.n, 2);
});

test('runCall reports a condition that never held, and a failed value check', async (t) => {
  const call = { ...byId('GetLinkStatus/connected'), until: { ...byId('GetLinkStatus/connected').until!, timeoutMs: 1500 } };
  const notYet: RpcReply = { result: { Connected_bool: false, SessionStatus_u32: 4 }, httpStatus: 200 };
  const o = await runCall(fakeTarget([notYet, notYet, notYet, notYet]), call);
  t.regex(o.problems[0]!, /waited 1500 ms for Connected_bool true/);
  t.true(o.problems.some((p) => /SessionStatus_u32 is 4, expected 3/.test(p)));
});

test('runCall sends the call\'s own credentials and raw body', async (t) => {
  const target = fakeTarget([{ transport: 'connection failed: ECONNRESET socket hang up', httpStatus: 0, body: '' }, { error: { code: 38, message: 'm' }, httpStatus: 200 }]);
  t.deepEqual((await runCall(target, byId('auth/empty-hub-header'))).problems, []);
  t.deepEqual((target.sent[0] as { opts: unknown }).opts, { auth: { kind: 'password', password: 'pw', hub: '' } });
  await runCall(target, byId('error/not-json'));
  t.deepEqual((target.sent[1] as { opts: unknown }).opts, { rawBody: '{not json' });
});

test('callsFor: only calls marked as quirks may be left out', (t) => {
  const { calls, skipped } = callsFor({ skipQuirks: ['auth/empty-hub-header'] });
  t.deepEqual(skipped.map((c) => c.id), ['auth/empty-hub-header']);
  t.is(calls.length, CONFORMANCE_CALLS.length - 1);
  t.throws(() => callsFor({ skipQuirks: ['Test'] }), { message: /not marked as a quirk/ });
  t.throws(() => callsFor({ skipQuirks: ['NoSuch'] }), { message: /no call "NoSuch"/ });
});

test('recordOutcomes refuses a run with problems', (t) => {
  const call = byId('Test');
  t.throws(() => recordOutcomes([{ call, observation: { kind: 'http', status: 401 }, problems: ['expected result, got HTTP 401'], ms: 1 }], { product: 'p', build: 1, at: 'now' }), { message: /not recording: Test/ });
});
