/**
 * The long fuzz run (not part of the normal suite, which runs a quick pass of the same cases): at least 1 000 000
 * inputs across the Pack, tunnel and HTTP decoders (test/protocol/fuzz-cases.ts), in chunks with their own seeds,
 * with the resident memory sampled after every chunk to show it stays bounded.
 *
 *   node --expose-gc scripts/fuzz-long.ts [--scale X] [--seed N]
 *
 * --scale multiplies every case's long-run count (default 1: 1 050 000 inputs). Prints one progress line per case
 * and a JSON summary last; exits 1 if a property fails (the counterexample and its seed are printed) or if memory
 * trends upward: within each case, the live memory after a full GC (V8 heap in use + external, which includes
 * zlib's native state that is freed lazily) in the last quarter of its samples may not exceed the first quarter's
 * by more than 16 MiB, and it may never exceed 512 MiB. The resident set is reported too (V8 keeps heap pages it
 * grew to, so RSS levels off rather than drops).
 */
import { parseArgs } from 'node:util';
import { FUZZ_CASES, httpOutcomes, packOutcomes, tunnelOutcomes } from '../test/protocol/fuzz-cases.ts';

const CHUNK = 10_000;
const TREND_LIMIT_MIB = 16;
const LIVE_LIMIT_MIB = 512;

const { values } = parseArgs({ options: { scale: { type: 'string' }, seed: { type: 'string' } } });
const scale = values.scale === undefined ? 1 : Number(values.scale);
const baseSeed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
if (!(scale > 0 && scale <= 100)) throw new Error(`--scale: must be a number above 0 and at most 100, got ${values.scale}`);
if (!Number.isInteger(baseSeed) || baseSeed < 0) throw new Error(`--seed: must be a whole number >= 0, got ${values.seed}`);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.error('note: run with --expose-gc for live-memory samples after a full GC (they are taken without one now)');
const MiB = 1024 * 1024;
/** [live MiB after GC (heap used + external incl. ArrayBuffers), resident MiB]. */
const sample = async (): Promise<[number, number]> => {
  // Native memory of collected zlib streams is released by cleanup tasks that need the event loop: let them run.
  gc?.();
  await new Promise((r) => setTimeout(r, 20));
  gc?.();
  const m = process.memoryUsage();
  return [(m.heapUsed + m.external) / MiB, m.rss / MiB];
};

const started = Date.now();
const samples: Array<[number, number]> = [];
const sampleAt: number[] = [];
let inputsSoFar = 0;
const perCase: Array<{ name: string; inputs: number; seconds: number; liveFirstQuarterMiB: number; liveLastQuarterMiB: number }> = [];
const totals = { pack: 0, tunnel: 0, http: 0 };
let chunkNo = 0;
let failed = false;
for (const c of FUZZ_CASES) {
  const want = Math.round(c.longRuns * scale);
  const t0 = Date.now();
  let done = 0;
  while (done < want) {
    const n = Math.min(CHUNK, want - done);
    const seed = (baseSeed + chunkNo++) % 2 ** 31;
    try {
      c.run(n, seed);
    } catch (e) {
      failed = true;
      console.error(`FAILED: ${c.name}, chunk seed ${seed}:\n${(e as Error).message}`);
      break;
    }
    done += n;
    inputsSoFar += n;
    samples.push(await sample());
    sampleAt.push(inputsSoFar);
  }
  totals[c.decoder] += done;
  const seconds = (Date.now() - t0) / 1000;
  const mine = samples.slice(samples.length - Math.ceil(done / CHUNK)).map((x) => x[0]);
  const q = Math.max(1, Math.floor(mine.length / 4));
  const liveFirstQuarterMiB = +Math.max(...mine.slice(0, q)).toFixed(1);
  const liveLastQuarterMiB = +Math.max(...mine.slice(-q)).toFixed(1);
  perCase.push({ name: c.name, inputs: done, seconds, liveFirstQuarterMiB, liveLastQuarterMiB });
  console.log(`${c.name}: ${done} inputs in ${seconds.toFixed(1)} s, live ${samples.at(-1)?.[0].toFixed(1)} MiB, RSS ${samples.at(-1)?.[1].toFixed(1)} MiB`);
  if (failed) break;
}

const inputs = totals.pack + totals.tunnel + totals.http;
const stats = (k: 0 | 1) => {
  const xs = samples.map((x) => x[k]);
  return { first: +(xs[0] ?? 0).toFixed(1), peak: +Math.max(...xs).toFixed(1), last: +(xs.at(-1) ?? 0).toFixed(1) };
};
const live = stats(0);
const rss = stats(1);
// The curve, thinned to about 20 points: [inputs done, live MiB, RSS MiB].
const step = Math.max(1, Math.ceil(samples.length / 20));
const curve = samples
  .map(([l, r], i) => [sampleAt[i]!, +l.toFixed(1), +r.toFixed(1)])
  .filter((_, i) => i % step === 0 || i === samples.length - 1);
const summary = {
  inputs,
  byDecoder: totals,
  seconds: (Date.now() - started) / 1000,
  baseSeed,
  outcomes: { pack: packOutcomes, tunnel: tunnelOutcomes, http: httpOutcomes },
  liveMiB: live,
  rssMiB: rss,
  memorySamples: samples.length,
  gcBeforeSamples: gc !== undefined,
  curve,
  perCase,
};
console.log(JSON.stringify(summary, null, 2));
if (failed) process.exit(1);
const growing = perCase.filter((c) => c.liveLastQuarterMiB - c.liveFirstQuarterMiB > TREND_LIMIT_MIB);
if (growing.length > 0 || live.peak > LIVE_LIMIT_MIB) {
  console.error(`memory not bounded: peak live ${live.peak} MiB; growing within: ${growing.map((c) => c.name).join('; ') || 'none'}`);
  process.exit(1);
}
