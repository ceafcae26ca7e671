import test from 'ava';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ConfigStore } from '../../../src/control/config/store.ts';
import { expectedDocument, generationOf } from './durability-doc.ts';
import { tempDir } from './fixtures.ts';

const CHILD_SOURCE = fileURLToPath(new URL('./durability-child.ts', import.meta.url));
const KILLS = 200;
/** The kill comes 0..MAX_DELAY_MS after the child is ready: several updates (two atomic writes each) fit in it. */
const MAX_DELAY_MS = 20;

/** Run the child until `delayMs` after it is ready, SIGKILL it, and return every line it printed. */
function runAndKill(childScript: string, dir: string, delayMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 10_000); // a child that never gets ready
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (timer === undefined && out.startsWith('ready ') && out.includes('\n')) {
        timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s.slice(0, 4000)));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child ended by itself (code ${code}, signal ${signal}): ${err}`));
      else resolve(out.split('\n').filter((l) => l !== ''));
    });
  });
}

test(`SIGKILLed ${KILLS} times while updating: every start finds the version before or after the write in progress`, async (t) => {
  t.timeout(120_000);
  const { dir, cleanup } = await tempDir();
  t.teardown(cleanup);
  // The child is the same sources bundled into one file: it starts in ~70 ms instead of ~170 ms (type stripping and
  // module resolution of every file), which keeps 200 kills within the time budget.
  const childScript = join(dir, '..', 'durability-child.mjs');
  await build({ entryPoints: [CHILD_SOURCE], bundle: true, platform: 'node', format: 'esm', outfile: childScript, logLevel: 'warning' });
  const started = Date.now();
  let midWrite = 0;
  let before = 0;
  let after = 0;
  let previous = 0;
  for (let i = 0; i < KILLS; i++) {
    const lines = await runAndKill(childScript, dir, Math.random() * MAX_DELAY_MS);
    t.regex(lines[0] ?? '', /^ready \d+$/, `kill ${i}: ${lines.join('|')}`);
    const ready = Number(lines[0]!.split(' ')[1]);
    t.is(ready, previous, `kill ${i}: the child must start from what the last open found`);
    const last = lines.at(-1)!;
    const [word, num] = last.split(' ');
    const n = Number(num);
    // "about N" last: killed during the write of N, so N-1 or N. "done N"/"ready N" last: N.
    const allowed = word === 'about' ? [n - 1, n] : [n];
    if (word === 'about') midWrite++;

    const store = await ConfigStore.open(dir);
    const found = generationOf(store.get());
    t.deepEqual(store.startupWarnings, [], `kill ${i}`);
    await store.close();
    if (!allowed.includes(found)) {
      t.fail(`kill ${i}: found generation ${found}, expected ${allowed.join(' or ')} (last line "${last}")`);
      return;
    }
    t.deepEqual(store.get(), expectedDocument(found), `kill ${i}: generation ${found} is not exactly its document`);
    if (word === 'about') found === n ? after++ : before++;
    previous = found;
  }
  // Left-over temporary files are removed at each start; only the two files remain.
  t.deepEqual((await readdir(dir)).sort(), ['config.json', 'config.json.last-good']);
  t.log(`${KILLS} kills in ${Date.now() - started} ms; ${previous} generations written; ${midWrite} kills during a write (${before} found the version before, ${after} the version after)`);
  // The kills must really have landed inside writes, on both sides of the commit point.
  t.true(midWrite >= KILLS / 2, `only ${midWrite} kills landed during a write`);
  t.true(before > 0 && after > 0);
});
