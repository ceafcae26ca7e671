// V8's worker threads at SCHED_IDLE (src/ports/helper-threads.ts, native/thread_policy.c): only they, all of them.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNative } from '../../src/ports/native.ts';
import { HELPER_THREAD_NAMES, idleHelperThreads } from '../../src/ports/helper-threads.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCHED_IDLE = 5;

// In a process of its own: lowering the threads of the test runner's process would slow every other test file.
// The child reports every thread's name and policy (field 41 of /proc/self/task/TID/stat) before and after.
const CHILD = `
import { readdirSync, readFileSync } from 'node:fs';
import { idleHelperThreads } from ${JSON.stringify(join(ROOT, 'src/ports/helper-threads.ts'))};
const threads = () => readdirSync('/proc/self/task').map((tid) => {
  const stat = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { tid: Number(tid), name: readFileSync('/proc/self/task/' + tid + '/comm', 'utf8').trim(), policy: Number(fields[38]) };
});
const before = threads();
const result = idleHelperThreads();
console.log(JSON.stringify({ pid: process.pid, before, result, after: threads() }));
`;

interface Thread {
  tid: number;
  name: string;
  policy: number;
}

function runChild(env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { pid: number; before: Thread[]; result: { idled: number; failed: string[] }; after: Thread[] };
}

test('every V8 worker thread goes to SCHED_IDLE; the main thread and the others keep their policy', (t) => {
  const { pid, before, result, after } = runChild();
  const workers = before.filter((th) => HELPER_THREAD_NAMES.includes(th.name));
  t.true(workers.length >= 1, `Node names its platform workers node-V8Worker: ${JSON.stringify(before.map((th) => th.name))}`);
  t.true(workers.every((th) => th.policy === 0), 'they start at SCHED_OTHER');
  t.deepEqual(result, { idled: workers.length, failed: [] });
  for (const th of after) {
    if (HELPER_THREAD_NAMES.includes(th.name)) t.is(th.policy, SCHED_IDLE, `${th.name} ${th.tid}`);
    else t.is(th.policy, before.find((b) => b.tid === th.tid)?.policy ?? 0, `${th.name} ${th.tid} untouched`);
  }
  t.is(after.find((th) => th.tid === pid)?.policy, 0, 'the main thread (the data path) stays at SCHED_OTHER');
});

test('SEBRIDGE_IDLE_HELPERS=0 leaves every thread as it is', (t) => {
  const { result, after } = runChild({ SEBRIDGE_IDLE_HELPERS: '0' });
  t.deepEqual(result, { idled: 0, failed: [] });
  t.true(after.every((th) => th.policy === 0));
});

test('only threads with a helper name are lowered; a thread that cannot be is reported with its id and name', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'seb-tasks-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const names: Record<string, string> = { '100': 'node-MainThread', '101': 'node-V8Worker', '102': 'libuv-worker', '103': 'node-V8Worker', '104': 'seb-io' };
  for (const [tid, name] of Object.entries(names)) {
    mkdirSync(join(dir, tid));
    writeFileSync(join(dir, tid, 'comm'), `${name}\n`);
  }
  mkdirSync(join(dir, '105')); // a thread that ended between listing and reading its name
  const lowered: number[] = [];
  const result = idleHelperThreads({
    taskDir: dir,
    setIdle: (tid) => {
      if (tid === 103) throw new Error('EPERM: sched_setscheduler(SCHED_IDLE): Operation not permitted');
      lowered.push(tid);
    },
  });
  t.deepEqual(lowered, [101]);
  t.deepEqual(result, { idled: 1, failed: ['103 node-V8Worker: EPERM: sched_setscheduler(SCHED_IDLE): Operation not permitted'] });
});

test('setThreadIdle refuses 0 and threads of other processes', (t) => {
  const native = loadNative();
  t.is((t.throws(() => native.setThreadIdle(0)) as NodeJS.ErrnoException | undefined)?.code, 'SEB_EINVAL');
  // pid 1 is not a thread of this process (the kernel would accept it from root: the addon must not)
  t.is((t.throws(() => native.setThreadIdle(1)) as NodeJS.ErrnoException | undefined)?.code, 'ESRCH');
  t.throws(() => native.setThreadIdle(-1 as number), { instanceOf: TypeError });
});
