import test from 'ava';
import { LoginRateLimiter } from '../../../src/control/auth/rate-limit.ts';

function setup(opts = {}) {
  const c = { t: 5_000_000 };
  const rl = new LoginRateLimiter({ now: () => c.t, ...opts });
  const fail = (addr = '192.0.2.1') => {
    const a = rl.begin(addr);
    if (!a.allowed) throw new Error(`unexpectedly locked until ${a.lockedUntil}`);
    return a.finish(false);
  };
  return { c, rl, fail };
}

test('5 failures lock the address for 30 s; the lock-out end is returned', (t) => {
  const { c, rl, fail } = setup();
  for (let i = 0; i < 4; i++) t.is(fail(), null);
  t.is(rl.lockedUntil('192.0.2.1'), null);
  t.is(fail(), c.t + 30_000);
  t.is(rl.lockedUntil('192.0.2.1'), c.t + 30_000);
  const refused = rl.begin('192.0.2.1');
  t.false(refused.allowed);
  t.is(refused.allowed ? 0 : refused.lockedUntil, c.t + 30_000);
  t.is(rl.lockedUntil('192.0.2.2'), null, 'other addresses are not affected');
  c.t += 29_999;
  t.not(rl.lockedUntil('192.0.2.1'), null);
  c.t += 1;
  t.is(rl.lockedUntil('192.0.2.1'), null);
});

test('each failure after a lock-out locks again for twice as long, capped at 15 min', (t) => {
  const { c, rl, fail } = setup();
  for (let i = 0; i < 5; i++) fail();
  const expected = [60, 120, 240, 480, 900, 900].map((s) => s * 1000);
  let until = rl.lockedUntil('192.0.2.1')!;
  for (const d of expected) {
    c.t = until;
    const got = fail();
    t.is(got, c.t + d);
    until = got!;
  }
});

test('a success forgets the failures', (t) => {
  const { rl, fail } = setup();
  for (let i = 0; i < 4; i++) fail();
  const ok = rl.begin('192.0.2.1');
  t.true(ok.allowed);
  if (ok.allowed) t.is(ok.finish(true), null);
  for (let i = 0; i < 4; i++) t.is(fail(), null, 'a fresh allowance of 5 after the success');
  t.not(fail(), null);
});

test('attempts in flight count: no more than 5 checks before an outcome is known', (t) => {
  const { rl } = setup();
  const attempts = Array.from({ length: 5 }, () => rl.begin('192.0.2.9'));
  t.true(attempts.every((a) => a.allowed));
  t.false(rl.begin('192.0.2.9').allowed, 'the 6th parallel guess is refused');
  const first = attempts[0];
  if (first.allowed) first.cancel(); // a cancelled check frees its slot without an outcome
  t.true(rl.begin('192.0.2.9').allowed);
});

test('the map is bounded; locked addresses are kept over unlocked ones', (t) => {
  const { rl, fail } = setup({ maxEntries: 10 });
  for (let i = 0; i < 5; i++) fail('198.51.100.1');
  for (let i = 0; i < 50; i++) fail(`203.0.113.${i}`);
  t.true(rl.size <= 10);
  t.not(rl.lockedUntil('198.51.100.1'), null);
});

test('an address quiet for a day is forgotten', (t) => {
  const { c, rl, fail } = setup();
  for (let i = 0; i < 5; i++) fail();
  c.t += 24 * 3600_000 + 30_000;
  t.is(rl.lockedUntil('192.0.2.1'), null);
  t.is(rl.size, 0);
  for (let i = 0; i < 4; i++) t.is(fail(), null, 'back to the first allowance of 5');
});
