/** One daemon per data directory: a second one refuses with the holder's PID; a killed holder's lock is taken over. */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireInstanceLock, InstanceLockError } from '../../src/control/instance-lock.ts';
import { Daemon } from '../../src/control/daemon.ts';
import { FakeSystem } from './fake-system.ts';

function scratch(t: import('ava').ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'sebd-lock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a second holder is refused with the first one\'s PID; release frees it; release never removes a lock it lost', async (t) => {
  const dir = scratch(t);
  const a = await acquireInstanceLock(dir);
  const err = await t.throwsAsync(acquireInstanceLock(dir), { instanceOf: InstanceLockError });
  t.regex(err!.message, new RegExp(`in use by another sebridge \\(PID ${process.pid}\\)`));
  await a.release();
  t.false(existsSync(a.path));
  const b = await acquireInstanceLock(dir);
  await a.release(); // a stale handle: must not remove b's lock
  t.true(existsSync(b.path));
  await b.release();
});

test('a lock left by a dead process, or by a reused PID with another start time, is taken over', async (t) => {
  const dir = scratch(t);
  const child = spawn(process.execPath, ['-e', '']);
  const deadPid = child.pid!;
  await new Promise((r) => child.once('exit', r));
  writeFileSync(join(dir, '.lock'), `${deadPid} 12345 feedface\n`);
  const a = await acquireInstanceLock(dir);
  t.true(readFileSync(a.path, 'utf8').startsWith(`${process.pid} `));
  await a.release();
  // our own PID but a start time that is not ours: a PID reused after a crash
  writeFileSync(join(dir, '.lock'), `${process.pid} 1 feedface\n`);
  const b = await acquireInstanceLock(dir);
  await b.release();
  t.pass();
});

test('Daemon.start on a data directory in use fails with the lock error and leaves the running daemon untouched', async (t) => {
  const dir = scratch(t);
  const opts = (run: string) => ({
    dataDir: join(dir, 'data'), runtimeDir: join(dir, run), web: { host: '127.0.0.1', port: 0 }, staticDir: null,
    version: '0.0.0-test', system: new FakeSystem(), echo: () => {},
  });
  const first = await Daemon.start(opts('run1'));
  t.teardown(() => first.stop());
  await t.throwsAsync(Daemon.start(opts('run2')), { instanceOf: InstanceLockError });
  t.true(existsSync(join(dir, 'data', '.lock')), 'the failed start did not remove the first daemon\'s lock');
  t.truthy(first.config.get(), 'the first daemon still has its config');
  await first.stop();
  t.false(existsSync(join(dir, 'data', '.lock')), 'a clean stop removes the lock');
});
