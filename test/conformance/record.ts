/**
 * Records expected-shapes.json from Debian's stock vpnbridge: starts it (with a real vpnserver to cascade to), runs
 * every conformance call, refuses to write when any answer differs from what calls.ts declares, and writes the
 * shapes (and stock-samples.json, the values of that run, for reading). Run as root:  node test/conformance/record.ts [--check]   (--check: compare with the file, write nothing)
 */
import { writeFileAtomic } from '../../src/control/atomic-write.ts';
import { fileURLToPath } from 'node:url';
import { describeObservation, runConformance, type Observation } from './calls.ts';
import { compareWithRecorded, EXPECTED_PATH, readExpected, recordOutcomes } from './expected.ts';
import { conformanceTarget, startStockBridge, stockBridgeCapability } from './stock-bridge.ts';

const SAMPLES_PATH = fileURLToPath(new URL('./stock-samples.json', import.meta.url));
const SAMPLES_NOTE = 'One run of the conformance calls against the stock bridge, for reading (values differ run to run; tests use expected-shapes.json). Plaintext passwords are replaced by "<redacted>".';

/** The observation with plaintext passwords blanked (they are random per run, but never belong in a file). */
function sampleOf(o: Observation): unknown {
  if (o.kind !== 'result') return o;
  const redact = (v: unknown, k: string): unknown => (/Password.*_str$/.test(k) && typeof v === 'string' && v !== '' ? '<redacted>' : v);
  const result = Object.fromEntries(Object.entries(o.result).map(([k, v]) => [k, redact(v, k)]));
  return { kind: 'result', result };
}

const cap = stockBridgeCapability();
if (!cap.ok) {
  console.error(`cannot record: ${cap.reason}`);
  process.exit(2);
}
const checkOnly = process.argv.includes('--check');
const bridge = await startStockBridge({ withServer: true });
let failed = false;
try {
  const info = await bridge.call('GetServerInfo');
  if (!('result' in info)) throw new Error(`GetServerInfo failed: ${JSON.stringify(info)}`);
  const outcomes = await runConformance(conformanceTarget(bridge));
  for (const o of outcomes) {
    const mark = o.problems.length ? 'FAIL' : 'ok  ';
    console.log(`${mark} ${o.call.id.padEnd(40)} ${describeObservation(o.observation)} (${o.ms} ms)`);
    for (const p of o.problems) console.log(`       ${p}`);
  }
  if (checkOnly) {
    const expected = await readExpected();
    for (const o of outcomes) {
      const p = compareWithRecorded(o, expected.calls[o.call.id]);
      if (p.length) {
        failed = true;
        console.log(`DIFF ${o.call.id}\n  ${p.join('\n  ')}`);
      }
    }
  } else {
    const file = recordOutcomes(outcomes, {
      product: String(info.result.ServerProductName_str),
      build: Number(info.result.ServerBuildInt_u32),
      at: new Date().toISOString(),
    });
    await writeFileAtomic(EXPECTED_PATH, `${JSON.stringify(file, null, 1)}\n`, 0o644);
    console.log(`wrote ${Object.keys(file.calls).length} calls to ${EXPECTED_PATH}`);
    const samples = Object.fromEntries(outcomes.map((o) => [o.call.id, sampleOf(o.observation)]));
    await writeFileAtomic(SAMPLES_PATH, `${JSON.stringify({ recordedFrom: file.recordedFrom, note: SAMPLES_NOTE, samples }, null, 1)}\n`, 0o644);
    console.log(`wrote value samples to ${SAMPLES_PATH}`);
  }
} catch (e) {
  failed = true;
  console.error((e as Error).message);
  console.error(bridge.logTail(2000));
} finally {
  await bridge.stop();
}
process.exitCode = failed ? 1 : 0;
