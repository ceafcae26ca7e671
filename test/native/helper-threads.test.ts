// V8's worker threads at SCHED_BATCH (src/ports/helper-threads.ts, native/thread_policy.c): only they, all of them,
// and never so low that a busy program on the same CPU stalls the event loop behind them.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNative } from '../../src/ports/native.ts';
import { HELPER_THREAD_NAMES, helperPolicy, lowerHelperThreads } from '../../src/ports/helper-threads.ts';
import { ConfigError } from '../../src/session/config-error.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HELPERS = JSON.stringify(join(ROOT, 'src/ports/helper-threads.ts'));
const SCHED_OTHER = 0;
const SCHED_BATCH = 3;

// In a process of its own: moving the threads of the test runner's process would change every other test file.
// The child reports every thread's name and policy (field 41 of /proc/self/task/TID/stat) before and after.
const CHILD = `
import { readdirSync, readFileSync } from 'node:fs';
import { lowerHelperThreads } from ${HELPERS};
const threads = () => readdirSync('/proc/self/task').map((tid) => {
  const stat = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { tid: Number(tid), name: readFileSync('/proc/self/task/' + tid + '/comm', 'utf8').trim(), policy: Number(fields[38]) };
});
const before = threads();
const result = lowerHelperThreads();
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
  return JSON.parse(r.stdout) as { pid: number; before: Thread[]; result: { policy: string; moved: number; failed: string[] }; after: Thread[] };
}

test('every V8 worker thread goes to SCHED_BATCH; the main thread and the others keep their policy', (t) => {
  const { pid, before, result, after } = runChild({ SEBRIDGE_HELPER_POLICY: '' });
  const workers = before.filter((th) => HELPER_THREAD_NAMES.includes(th.name));
  t.true(workers.length >= 1, `Node names its platform workers node-V8Worker: ${JSON.stringify(before.map((th) => th.name))}`);
  t.true(workers.every((th) => th.policy === SCHED_OTHER), 'they start at SCHED_OTHER');
  t.deepEqual(result, { policy: 'batch', moved: workers.length, failed: [] });
  for (const th of after) {
    if (HELPER_THREAD_NAMES.includes(th.name)) t.is(th.policy, SCHED_BATCH, `${th.name} ${th.tid}`);
    else t.is(th.policy, before.find((b) => b.tid === th.tid)?.policy ?? SCHED_OTHER, `${th.name} ${th.tid} untouched`);
  }
  t.is(after.find((th) => th.tid === pid)?.policy, SCHED_OTHER, 'the main thread (the data path) stays at SCHED_OTHER');
});

test('SEBRIDGE_HELPER_POLICY=normal leaves every thread as it is; any other value is refused with its name', (t) => {
  const { result, after } = runChild({ SEBRIDGE_HELPER_POLICY: 'normal' });
  t.deepEqual(result, { policy: 'normal', moved: 0, failed: [] });
  t.true(after.every((th) => th.policy === SCHED_OTHER));
  t.is(helperPolicy(undefined), 'batch');
  t.is(helperPolicy('batch'), 'batch');
  for (const bad of ['idle', 'BATCH', '0', ' batch']) {
    const e = t.throws(() => helperPolicy(bad), { instanceOf: ConfigError });
    t.is(e?.field, 'SEBRIDGE_HELPER_POLICY');
    t.regex(e?.message ?? '', /must be one of batch, normal/);
  }
});

test('only threads with a helper name are moved; a thread that cannot be is reported with its id and name', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'seb-tasks-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const names: Record<string, string> = { '100': 'node-MainThread', '101': 'node-V8Worker', '102': 'libuv-worker', '103': 'node-V8Worker', '104': 'seb-io' };
  for (const [tid, name] of Object.entries(names)) {
    mkdirSync(join(dir, tid));
    writeFileSync(join(dir, tid, 'comm'), `${name}\n`);
  }
  mkdirSync(join(dir, '105')); // a thread that ended between listing and reading its name
  const moved: number[] = [];
  const result = lowerHelperThreads({
    taskDir: dir,
    policy: 'batch',
    setPolicy: (tid) => {
      if (tid === 103) throw new Error('EPERM: sched_setscheduler(SCHED_BATCH): Operation not permitted');
      moved.push(tid);
    },
  });
  t.deepEqual(moved, [101]);
  t.deepEqual(result, { policy: 'batch', moved: 1, failed: ['103 node-V8Worker: EPERM: sched_setscheduler(SCHED_BATCH): Operation not permitted'] });
});

test('setThreadPolicy refuses 0, threads of other processes and unknown policies', (t) => {
  const native = loadNative();
  const code = (f: () => void) => (t.throws(f) as NodeJS.ErrnoException | undefined)?.code;
  t.is(code(() => native.setThreadPolicy(0, 'batch')), 'SEB_EINVAL');
  // pid 1 is not a thread of this process (the kernel would accept it from root: the addon must not)
  t.is(code(() => native.setThreadPolicy(1, 'batch')), 'ESRCH');
  t.is(code(() => native.setThreadPolicy(process.pid, 'idle' as 'batch')), 'SEB_EINVAL');
  t.is(code(() => (native.setThreadPolicy as (tid: number) => void)(process.pid)), 'SEB_EINVAL');
  t.throws(() => native.setThreadPolicy(-1 as number, 'batch'), { instanceOf: TypeError });
  t.throws(() => native.setThreadPolicy(process.pid, 5 as unknown as 'batch'), { instanceOf: TypeError });
});

// The loop waits for V8's workers at times (a GC job it joins while a worker holds a piece of it). At SCHED_IDLE
// a worker got almost no CPU next to any busy program, and this child's loop stalled for 0.6-1.7 s (30 s seen).
const STALL_CHILD = `
import { lowerHelperThreads } from ${HELPERS};
const r = lowerHelperThreads();
let keep = [];
let worst = 0;
let last = performance.now();
const end = last + 3000;
function tick() {
  const now = performance.now();
  worst = Math.max(worst, now - last);
  last = now;
  // young-generation churn with survivors: scavenges and major GCs, both of which use V8's workers
  for (let i = 0; i < 2000; i++) keep.push({ a: i, b: new Array(8).fill(i) });
  if (keep.length > 200000) keep = [];
  if (now < end) setImmediate(tick);
  else console.log(JSON.stringify({ moved: r.moved, worstMs: worst }));
}
tick();
`;

test('a busy program on the same CPU does not stall the event loop behind the lowered workers', async (t) => {
  const taskset = spawnSync('taskset', ['-V'], { encoding: 'utf8' });
  if (taskset.status !== 0) return t.fail('taskset (util-linux) is needed to put both processes on one CPU');
  const cpu = String(Math.max(0, (await import('node:os')).availableParallelism() - 1));
  // A CPU-bound program at the normal policy on the same CPU, ending by itself after 6 s at the latest.
  const hog = spawn('taskset', ['-c', cpu, process.execPath, '-e', 'const end = Date.now() + 6000; while (Date.now() < end);'], { stdio: 'ignore' });
  t.teardown(() => {
    if (hog.exitCode === null) hog.kill('SIGKILL');
  });
  await new Promise((r) => setTimeout(r, 200));
  const r = spawnSync('taskset', ['-c', cpu, process.execPath, '--input-type=module', '-e', STALL_CHILD], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, SEBRIDGE_HELPER_POLICY: '' } });
  t.is(r.status, 0, r.stderr);
  const { moved, worstMs } = JSON.parse(r.stdout) as { moved: number; worstMs: number };
  t.true(moved >= 1, 'the workers were moved');
  // At SCHED_BATCH (and at the normal policy) the worst gap measured 31-70 ms here; at SCHED_IDLE 630 ms and more.
  t.true(worstMs < 400, `the event loop stalled for ${worstMs.toFixed(0)} ms`);
});
