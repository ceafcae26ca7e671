// The addon's trimHeap (native/heap_trim.c) and the timer that calls it (src/ports/heap-trim.ts): freed C heap
// memory that glibc kept resident goes back to the system.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadNative } from '../../src/ports/native.ts';
import { startHeapTrimmer } from '../../src/ports/heap-trim.ts';

function anonKiB(): number {
  const m = /^RssAnon:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error('no RssAnon in /proc/self/status');
  return Number(m[1]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.serial('trimHeap gives freed heap memory back to the system and says how long it took', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const native = loadNative();
  native.trimHeap();
  // 36 MiB in 64 KiB backing stores (below glibc's mmap threshold: they come from the heap), written so they are
  // resident. Every ninth stays alive, so the 32 MiB freed are holes between live buffers, never the heap's top
  // (which glibc gives back on its own: with a single live buffer after them, the freed space sometimes ended up
  // at the top after all, and there was nothing left for trimHeap to give back). Only malloc_trim returns holes.
  let bufs: Buffer[] | null = [];
  const pins: Buffer[] = [];
  for (let i = 0; i < 576; i++) {
    const b = Buffer.allocUnsafeSlow(64 * 1024).fill(i & 0xff);
    if (i % 9 === 8) pins.push(b);
    else bufs.push(b);
  }
  const loaded = anonKiB();
  bufs = null;
  gc();
  await sleep(200); // V8 frees ArrayBuffer backing stores on a background thread after the collection
  gc();
  await sleep(200);
  const freed = anonKiB();
  const us = native.trimHeap();
  const trimmed = anonKiB();
  t.log(`RssAnon: 32 MiB allocated ${loaded} KiB, freed ${freed} KiB, after trimHeap ${trimmed} KiB (${us.toFixed(0)} µs)`);
  t.true(Number.isFinite(us) && us >= 0, `trimHeap returned ${us}`);
  t.true(freed - trimmed >= 16 * 1024, `trimHeap gave back only ${freed - trimmed} KiB of 32 MiB freed`);
  t.true(pins.every((b, i) => b[0] === ((i * 9 + 8) & 0xff)), 'the live buffers are intact');
});

test.serial('startHeapTrimmer calls trim on its interval until stopped, and checks the interval', async (t) => {
  let calls = 0;
  let rss = 0;
  // Every trim finds 2 MiB more resident than the last one left: all are due.
  const trimmer = startHeapTrimmer({ intervalMs: 100, trim: () => (++calls, 250), residentBytes: () => (rss += 1 << 20) });
  await sleep(550);
  trimmer.stop();
  const seen = calls;
  await sleep(250);
  t.true(seen >= 3 && seen <= 6, `${seen} trims in 550 ms at 100 ms`);
  t.is(calls, seen, 'no trim after stop()');
  t.deepEqual(trimmer.stats(), { trims: seen, totalMicros: seen * 250, maxMicros: 250, skipped: 0 });
  t.throws(() => startHeapTrimmer({ intervalMs: 10 }), { instanceOf: RangeError, message: /intervalMs/ });
  t.throws(() => startHeapTrimmer({ intervalMs: 1.5e3 + 0.5 }), { instanceOf: RangeError, message: /intervalMs/ });
});

test.serial('startHeapTrimmer trims only when the resident set grew by minReclaimBytes since the last trim or its low point', async (t) => {
  const trims: number[] = [];
  // What the resident set reads at each look (the trimmer looks once before and once after a trim).
  const readings = [5, 5.5, 6.2, 6.0, 6.1, 4.0, 4.5, 5.2, 5.0].map((m) => m * (1 << 20));
  let i = 0;
  const trimmer = startHeapTrimmer({
    intervalMs: 100,
    minReclaimBytes: 1 << 20,
    residentBytes: () => readings[Math.min(i++, readings.length - 1)]!,
    trim: () => (trims.push(i), 100),
  });
  await sleep(850);
  trimmer.stop();
  // 5 (due: nothing trimmed yet) -> after 5.5; 6.2: +0.7 skip; 6.0, 6.1: skip; 4.0: skip, new low; 4.5: skip;
  // 5.2: +1.2 over the low, due -> after 5.0; then 5.0 again and again: skip.
  t.deepEqual(trims, [1, 8], 'trims at the first look and when 1.2 MiB came back over the low point');
  t.true(trimmer.stats().skipped >= 4);
  t.throws(() => startHeapTrimmer({ minReclaimBytes: -1 }), { instanceOf: RangeError, message: /minReclaimBytes/ });
});
