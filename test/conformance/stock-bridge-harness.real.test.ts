/** The stock-bridge harness itself: isolated, reachable, and gone after stop(). */
import test from 'ava';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { runCommand } from '../harness/run-command.ts';
import { netnsExists } from '../harness/topology.ts';
import { startStockBridge, stockBridgeCapability } from './stock-bridge.ts';

const cap = stockBridgeCapability();
if (!cap.ok) console.error(`\n!!! SKIPPING stock-bridge harness tests: ${cap.reason} !!!\n`);
const real = cap.ok ? test : test.skip;

real('runs vpnbridge in a namespace without a route out, answers JSON-RPC with its password only, and cleans up', async (t) => {
  const b = await startStockBridge();
  let stopped = false;
  try {
    t.is(readlinkSync(`/proc/${b.pid}/exe`), '/usr/libexec/softether/vpnbridge/vpnbridge');
    const routes = await runCommand(['ip', '-n', b.netns, '-4', 'route', 'show', 'default']);
    t.is(routes.code, 0);
    t.is(routes.stdout.trim(), '', 'no default route in the bridge namespace');
    // Its /var/lib/softether is our private lib/ directory (mountinfo: field 4 = source root, field 5 = mount point).
    const mounts = readFileSync(`/proc/${b.pid}/mountinfo`, 'utf8').split('\n').map((l) => l.split(' '));
    const lib = mounts.find((f) => f[4] === '/var/lib/softether');
    t.truthy(lib, 'a mount on /var/lib/softether');
    t.true(lib![3]!.endsWith(`${basename(b.dir)}/lib`), `bound from the private directory, not ${lib![3]}`);
    const ok = await b.call('Test', { IntValue_u32: 5 });
    t.like(ok, { httpStatus: 200, result: { IntValue_u32: 5, StrValue_str: '5' } });
    t.like(await b.call('Test', {}, { auth: { kind: 'password', password: `${b.adminPassword}x` } }), { httpStatus: 401 });
    t.is(b.cascadeTarget, undefined);
    const pid = b.pid;
    await b.stop();
    stopped = true;
    t.false(netnsExists(b.netns), 'namespace removed');
    t.false(existsSync(b.dir), 'private directory removed');
    t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'vpnbridge process gone');
  } finally {
    if (!stopped) await b.stop();
  }
});
