/**
 * Records expected-shapes.json from Debian's stock vpnbridge: starts it (with a real vpnserver to cascade to), runs
 * every conformance call, refuses to write when any answer differs from what calls.ts declares, and writes the
 * shapes. Run as root:  node test/conformance/record.ts [--check]   (--check: compare with the file, write nothing)
 */
import { writeFileAtomic } from '../../src/control/atomic-write.ts';
import { describeObservation, runConformance } from './calls.ts';
import { compareWithRecorded, EXPECTED_PATH, readExpected, recordOutcomes } from './expected.ts';
import { conformanceTarget, startStockBridge, stockBridgeCapability } from './stock-bridge.ts';

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
  }
} catch (e) {
  failed = true;
  console.error((e as Error).message);
  console.error(bridge.logTail(2000));
} finally {
  await bridge.stop();
}
process.exitCode = failed ? 1 : 0;
