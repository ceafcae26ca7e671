import test from 'ava';
import { FUZZ_CASES, httpOutcomes, packOutcomes, tunnelOutcomes } from './fuzz-cases.ts';

/**
 * The quick pass of the decoder fuzzing (well over 100 000 inputs); the long run with >= 1 000 000 inputs is
 * scripts/fuzz-long.ts. The cases and their properties are in fuzz-cases.ts.
 */

const totals = { pack: 0, tunnel: 0, http: 0 };

for (const c of FUZZ_CASES) {
  test(`fuzz ${c.name}`, (t) => {
    c.run(c.quickRuns);
    totals[c.decoder] += c.quickRuns;
    t.pass();
  });
}

test.after('fuzz totals and coverage', () => {
  const decoderRuns = totals.pack + totals.tunnel + totals.http;
  if (decoderRuns < 100_000) throw new Error(`only ${decoderRuns} decoder fuzz inputs`);
  // A fuzzer that only ever hits the first length check would prove little.
  if (!(packOutcomes.accepted > 1000 && packOutcomes.rejected > 1000)) throw new Error(`decodePack outcomes ${JSON.stringify(packOutcomes)}`);
  if (!(tunnelOutcomes.frames > 1000 && tunnelOutcomes.closed > 1000)) throw new Error(`TunnelDecoder outcomes ${JSON.stringify(tunnelOutcomes)}`);
  if (!(httpOutcomes.answers > 100 && httpOutcomes.rejected > 1000)) throw new Error(`HttpResponseParser outcomes ${JSON.stringify(httpOutcomes)}`);
});
