import test from 'ava';
import type { Capability } from '../harness/capability.ts';
import { callsFor, describeObservation, runConformance, type CallOutcome, type ConformanceTarget } from './calls.ts';
import { compareWithRecorded, readExpected, type ExpectedFile } from './expected.ts';

export interface SuiteOptions {
  /** prefix of every test title, e.g. "stock vpnbridge" or "sebridge" */
  title: string;
  /** when not ok, every test is skipped with a LOUD message naming the reason */
  capability: Capability;
  /** brings a target up; `stop` is called once after all calls */
  start: () => Promise<{ target: ConformanceTarget; stop: () => Promise<void> }>;
  /** ids of calls marked `quirk` in calls.ts that this target deliberately answers differently (logged loudly) */
  skipQuirks?: readonly string[];
}

/**
 * Registers one ava test per conformance call for a target. The calls run once, in order, in `before` (they depend
 * on each other); each test then checks its call's answer against the declared expectation and the stock
 * bridge's recorded shape. A second target (sebridge) plugs in with:
 *
 *   conformanceSuite({ title: 'sebridge', capability, skipQuirks: ['auth/empty-hub-header'], start: async () => {
 *     const { server, cascade } = await startCascadeServer();           // cascade-server.ts
 *     const app = await startSebridge(...);                             // with a LAN device it may bridge
 *     const rpc = jsonRpcClient({ host, port, auth: { kind: 'password', password } });
 *     return {
 *       stop: async () => { await app.stop(); await server.stop(); },
 *       target: { call: rpc.call, context: { hub: 'BRIDGE', adminPassword: password, lanDevice, missingDevice: 'confnodev0', cascade } },
 *     };
 *   } });
 */
export function conformanceSuite(opts: SuiteOptions): void {
  const { calls, skipped } = callsFor(opts.skipQuirks ? { skipQuirks: opts.skipQuirks } : {});
  if (!opts.capability.ok) console.error(`\n!!! SKIPPING ${opts.title} conformance tests: ${opts.capability.reason} !!!\n`);
  for (const c of skipped) console.error(`!!! ${opts.title}: conformance call ${c.id} left out on purpose (stock quirk: ${c.quirk}) !!!`);
  const run = opts.capability.ok ? test : test.skip;

  let outcomes = new Map<string, CallOutcome>();
  let expected: ExpectedFile;
  let failure: Error | undefined;

  test.before(async () => {
    if (!opts.capability.ok) return;
    expected = await readExpected();
    const { target, stop } = await opts.start();
    try {
      outcomes = new Map((await runConformance(target, calls)).map((o) => [o.call.id, o]));
    } catch (e) {
      failure = e as Error;
    } finally {
      await stop();
    }
  });

  run(`${opts.title}: the calls ran and every recorded call is still in calls.ts`, (t) => {
    if (failure) t.fail(`running the calls failed: ${failure.stack ?? failure.message}`);
    const known = new Set(callsFor().calls.map((c) => c.id));
    t.deepEqual(Object.keys(expected.calls).filter((id) => !known.has(id)), [], 'stale entries in expected-shapes.json');
    t.is(outcomes.size, calls.length);
  });

  for (const call of calls) {
    run(`${opts.title}: ${call.id}`, (t) => {
      const o = outcomes.get(call.id);
      if (!o) return t.fail(`no outcome for ${call.id}${failure ? ` (run failed: ${failure.message})` : ''}`);
      t.log(`${call.method}: ${describeObservation(o.observation)} in ${o.ms} ms`);
      const problems = [...o.problems, ...compareWithRecorded(o, expected.calls[call.id])];
      t.deepEqual(problems, [], `${call.id} does not conform`);
    });
  }
}
