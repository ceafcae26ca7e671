import test from 'ava';
import { PasswordCheckBusyError, PasswordChecker } from '../../../src/control/web/password-check.ts';

function deferredVerify() {
  const pending: { pw: string; resolve: (ok: boolean) => void }[] = [];
  const verify = (pw: string) => new Promise<boolean>((resolve) => pending.push({ pw, resolve }));
  return { pending, verify };
}

const tick = () => new Promise((r) => setImmediate(r));

test('at most 2 checks run at once, 32 wait, more are refused as busy', async (t) => {
  const { pending, verify } = deferredVerify();
  const pc = new PasswordChecker({ verify });
  const results = Array.from({ length: 34 }, (_, i) => pc.check(`pw ${i}`));
  await tick();
  t.is(pending.length, 2);
  await t.throwsAsync(pc.check('one too many'), { instanceOf: PasswordCheckBusyError });
  pending[0].resolve(false);
  await tick();
  t.is(pending.length, 3, 'a finished check lets the next waiter run');
  for (let i = 1; i < 34; i++) {
    while (pending.length <= i) await tick();
    pending[i].resolve(i === 7);
  }
  const outcomes = await Promise.all(results);
  t.deepEqual(outcomes.map((ok, i) => (ok ? i : -1)).filter((i) => i >= 0), [7]);
});

test('only right passwords are cached, until the TTL or forget()', async (t) => {
  let calls = 0;
  const clock = { t: 0 };
  const pc = new PasswordChecker({ verify: async (pw) => (calls++, pw === 'right password'), now: () => clock.t, cacheTtlMs: 1000 });
  t.false(await pc.check('wrong'));
  t.false(await pc.check('wrong'));
  t.is(calls, 2);
  t.true(await pc.check('right password'));
  t.true(await pc.check('right password'));
  t.is(calls, 3);
  t.true(pc.isCached('right password'));
  t.false(pc.isCached('right passwor'));
  clock.t = 1000;
  t.false(pc.isCached('right password'));
  t.true(await pc.check('right password'));
  pc.forget();
  t.false(pc.isCached('right password'));
});

test('a check that started before forget() does not re-fill the cache', async (t) => {
  const { pending, verify } = deferredVerify();
  const pc = new PasswordChecker({ verify });
  const p = pc.check('old password');
  await tick();
  pc.forget();
  pending[0].resolve(true);
  t.true(await p);
  t.false(pc.isCached('old password'));
});
