/**
 * Issue 3, acceptance 3: TAP mode. sebridge's TAP device joins a Linux bridge in the root namespace that also
 * holds the LAN veth, so the appliance itself (an address on that bridge) is on the server's hub:
 *
 *   nsA ── veth ── [root ns: Linux bridge br (appliance address) + TAP of sebridge] ═ cascade ═ vpnserver hub ── nsB
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { buildE2e, e2eMissing, expectPing, HOST_DEV } from './e2e-topology.ts';
import type { E2e } from './e2e-topology.ts';
import { SebridgeProcess } from './sebridge-process.ts';
import { sh } from './lab.ts';
import { flushNeighbours, linkExists, linkView, neighbourMac } from './netinfo.ts';

const missing = e2eMissing();
if (missing) console.error(`\n!!! SKIPPING test/bridge/tap-bridge.real.test.ts: ${missing} !!!\n`);
const serial = missing ? test.serial.skip : test.serial;

let e2e: E2e;
let sebridge: SebridgeProcess;
let br: string;
let tap: string;
let appliance: string;

test.before(async () => {
  if (missing) return;
  e2e = await buildE2e();
  br = e2e.lab.name('br');
  tap = e2e.lab.name('t');
  e2e.lab.trackLink(br);
  e2e.lab.trackLink(tap);
  await sh(['ip', 'link', 'add', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  await sh(['sysctl', '-q', '-w', `net.ipv6.conf.${br}.disable_ipv6=1`]);
  await sh(['ip', 'link', 'set', e2e.rootDev, 'master', br]);
  await sh(['ip', 'link', 'set', br, 'up']);
  // Host routes only: a /24 route in the root namespace could make another test's /30 look taken.
  appliance = `${e2e.plan.lan}.30`;
  await sh(['ip', 'addr', 'add', `${appliance}/32`, 'dev', br]);
  await sh(['ip', 'route', 'add', `${e2e.b.v4}/32`, 'dev', br, 'src', appliance]);
  await sh(['ip', 'route', 'add', `${e2e.a.v4}/32`, 'dev', br, 'src', appliance]);
  sebridge = new SebridgeProcess(e2e.lab, {
    server: e2e.serverAddress,
    hub: e2e.hub,
    user: e2e.user,
    password: e2e.password,
    tap,
    tapBridge: br,
  });
  await sebridge.waitForLine(new RegExp(`${tap}: TAP device up in Linux bridge ${br}`), 10_000);
  await sebridge.waitForLine(/state=online/, 30_000);
});

test.after.always(async () => {
  await e2e?.teardown();
});

function showOutput(t: ExecutionContext): void {
  t.teardown(() => {
    if (!t.passed) t.log(`sebridge output:\n${sebridge?.output().slice(-3000)}`);
  });
}


serial('the appliance address on the Linux bridge with the TAP is reachable from nsB through the cascade', async (t) => {
  showOutput(t);
  const { nsA, nsB, a, b } = e2e;
  const tapLink = await linkView(tap);
  t.is(tapLink.master, br, 'the TAP device is a port of the Linux bridge');
  t.true(tapLink.flags.includes('UP'));

  await flushNeighbours(nsB, HOST_DEV);
  const rtt = await expectPing(t, nsB, appliance, 'ping nsB -> appliance');
  t.is(await neighbourMac(nsB, HOST_DEV, appliance), (await linkView(br)).mac, 'nsB resolved the appliance to the bridge by ARP');
  // The LAN behind the Linux bridge is on the hub too, through the same TAP.
  const rttAB = await expectPing(t, nsA, b.v4, 'ping nsA -> nsB');
  const rttBA = await expectPing(t, nsB, a.v4, 'ping nsB -> nsA');
  t.log(`ping rtt avg: nsB -> appliance ${rtt} ms, nsA -> nsB ${rttAB} ms, nsB -> nsA ${rttBA} ms`);
});

serial('SIGTERM: exit 0 within a few seconds and the TAP device is gone from the bridge', async (t) => {
  showOutput(t);
  const exit = await sebridge.stop('SIGTERM', 10_000);
  t.log(`exit ${JSON.stringify(exit)}`);
  t.is(exit.signal, null);
  t.is(exit.code, 0);
  t.true(exit.ms < 5000, `stopped in ${exit.ms.toFixed(0)} ms`);
  t.regex(sebridge.lines.at(-1) ?? '', /stopped$/);
  t.false(await linkExists(tap), 'TAP device deleted');
  t.is((await linkView(e2e.rootDev)).master, br, 'the LAN veth is still in the bridge');
});
