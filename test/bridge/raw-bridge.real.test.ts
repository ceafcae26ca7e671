/**
 * Issue 3, acceptance 1, 2 and 4 end to end, with `sebridge link --bridge` as a child process:
 *
 *   nsA ── veth ── [root ns: sebridge, raw socket on rootDev] ═ cascade ═ real vpnserver hub ── its local bridge ── nsB
 *
 * The tests run in order on one sebridge process (the last one stops it with SIGTERM and checks the interface
 * was given back as it was found).
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { bridgeLinkArgs, buildE2e, e2eMissing, expectPing, HOST_DEV } from './e2e-topology.ts';
import type { E2e } from './e2e-topology.ts';
import { isMangledProbe, isProbe, startPeer, taggedUdp, tci } from './vlan-probe.ts';
import { NODE, SebridgeProcess } from './sebridge-process.ts';
import { startDnsmasq } from './dnsmasq.ts';
import { iperfClient, startIperfServer } from './iperf.ts';
import { flushNeighbours, linkView, offloadFeatures, waitNeighbourMac } from './netinfo.ts';
import { sh } from './lab.ts';
import { runCommand } from '../harness/run-command.ts';

const missing = e2eMissing();
if (missing) console.error(`\n!!! SKIPPING test/bridge/raw-bridge.real.test.ts: ${missing} !!!\n`);
const serial = missing ? test.serial.skip : test.serial;

let e2e: E2e;
let sebridge: SebridgeProcess;
/** rootDev's offload settings before sebridge touched it */
let featuresBefore: Record<string, boolean>;
let aMac: string;

test.before(async () => {
  if (missing) return;
  e2e = await buildE2e();
  featuresBefore = await offloadFeatures(e2e.rootDev);
  aMac = (await linkView(HOST_DEV, e2e.nsA)).mac;
  sebridge = new SebridgeProcess(e2e.lab, bridgeLinkArgs(e2e));
  await sebridge.waitForLine(/state=online/, 30_000);
});

test.after.always(async () => {
  await e2e?.teardown();
});

function showOutput(t: ExecutionContext): void {
  t.teardown(() => {
    if (!t.passed || process.env.SEB_SHOW_OUTPUT) t.log(`sebridge output:\n${sebridge?.output().slice(-3000)}`);
  });
}

serial('ARP, ping both ways, IPv6 neighbour discovery + ping6, DHCP lease from dnsmasq in nsB to nsA', async (t) => {
  showOutput(t);
  const { nsA, nsB, a, b, serverLan } = e2e;
  const root = await linkView(e2e.rootDev);
  t.true(root.promiscuity >= 1, 'sebridge holds the bridged interface promiscuous');
  const running = await offloadFeatures(e2e.rootDev);
  t.false(running['generic-receive-offload'], 'sebridge switched GRO off on its own interface');
  // It sends runs of TCP segments as super-frames (native/tx_coalesce.h) that the interface cuts: TSO stays.
  t.true(running['tx-tcp-segmentation'], 'sebridge left TSO on on its own interface');

  await flushNeighbours(nsA, HOST_DEV);
  await flushNeighbours(nsB, HOST_DEV);
  const rttAB = await expectPing(t, nsA, b.v4, 'ping nsA -> nsB');
  const rttBA = await expectPing(t, nsB, a.v4, 'ping nsB -> nsA');
  t.is(await waitNeighbourMac(nsA, HOST_DEV, b.v4, serverLan.hostMac), serverLan.hostMac, 'nsA resolved nsB by ARP through the tunnel');
  t.is(await waitNeighbourMac(nsB, HOST_DEV, a.v4, aMac), aMac, 'nsB learned nsA from its ARP request');

  const rtt6AB = await expectPing(t, nsA, b.v6, 'ping6 nsA -> nsB');
  const rtt6BA = await expectPing(t, nsB, a.v6, 'ping6 nsB -> nsA');
  t.is(await waitNeighbourMac(nsA, HOST_DEV, b.v6, serverLan.hostMac), serverLan.hostMac, 'nsA found nsB by neighbour discovery');
  t.is(await waitNeighbourMac(nsB, HOST_DEV, a.v6, aMac), aMac, 'nsB found nsA by neighbour discovery');
  t.log(`ping rtt avg: A->B ${rttAB} ms, B->A ${rttBA} ms; ping6 A->B ${rtt6AB} ms, B->A ${rtt6BA} ms`);

  const range = { first: `${e2e.plan.lan}.100`, last: `${e2e.plan.lan}.150` };
  const dnsmasq = await startDnsmasq(e2e.lab, nsB, HOST_DEV, range);
  t.teardown(() => dnsmasq.stop());
  const client = await runCommand(
    ['setpriv', '--pdeathsig', 'KILL', 'ip', 'netns', 'exec', nsA, NODE, new URL('./dhcp-client.ts', import.meta.url).pathname, HOST_DEV, '15000'],
    { timeoutMs: 30_000 },
  );
  t.is(client.code, 0, `DHCP client: ${client.stdout}${client.stderr}\ndnsmasq:\n${dnsmasq.log()}`);
  const lease = JSON.parse(client.stdout) as { ip: string; mask: string; server: string; leaseSeconds: number; mac: string };
  t.log(`lease ${lease.ip}/${lease.mask} from ${lease.server} for ${lease.leaseSeconds} s`);
  t.is(lease.mac, aMac);
  t.is(lease.server, b.v4, 'the lease came from dnsmasq in nsB');
  t.is(lease.mask, '255.255.255.0');
  const last = Number(lease.ip.split('.')[3]);
  t.true(lease.ip.startsWith(`${e2e.plan.lan}.`) && last >= 100 && last <= 150, `lease ${lease.ip} in the dnsmasq range`);
  t.regex(dnsmasq.log(), new RegExp(`DHCPACK\\(${HOST_DEV}\\) ${lease.ip.replaceAll('.', '\\.')} ${aMac}`), 'dnsmasq acknowledged it to nsA');
});

serial('VLAN-tagged frames keep their tag; 1500-byte DF ping; iperf3 both ways with offloads ON at nsA', async (t) => {
  showOutput(t);
  const { nsA, nsB, a, b, serverLan } = e2e;
  const peerA = await startPeer(e2e.lab, nsA, HOST_DEV);
  const peerB = await startPeer(e2e.lab, nsB, HOST_DEV);
  const aMacBuf = Buffer.from(aMac.replaceAll(':', ''), 'hex');
  const bMacBuf = Buffer.from(serverLan.hostMac.replaceAll(':', ''), 'hex');
  // Small and largest (1518 bytes with the tag) frames, VLAN 42 with priority 5 and VLAN 4000 with none.
  const probes = [
    { from: peerA, to: peerB, what: 'nsA -> nsB', probe: taggedUdp(bMacBuf, aMacBuf, a.v4, b.v4, tci(42, 5), 64, 0xa1) },
    { from: peerA, to: peerB, what: 'nsA -> nsB', probe: taggedUdp(bMacBuf, aMacBuf, a.v4, b.v4, tci(4000), 1472, 0xa2) },
    { from: peerB, to: peerA, what: 'nsB -> nsA', probe: taggedUdp(aMacBuf, bMacBuf, b.v4, a.v4, tci(42, 5), 64, 0xb1) },
    { from: peerB, to: peerA, what: 'nsB -> nsA', probe: taggedUdp(aMacBuf, bMacBuf, b.v4, a.v4, tci(4000), 1472, 0xb2) },
  ];
  for (const p of probes) {
    p.from.send(p.probe.tagged);
    const got = await p.to.waitFor((f) => isProbe(f, p.probe) || isMangledProbe(f, p.probe), 5000).catch(() => null);
    t.truthy(got, `${p.what}: ${p.probe.tagged.length}-byte frame with TCI ${p.probe.tci} did not arrive`);
    if (got) t.true(isProbe(got, p.probe), `${p.what}: ${p.probe.tagged.length}-byte frame arrived with TCI ${got.tci ?? 'none'} instead of ${p.probe.tci}`);
  }

  // 1472 + 8 (ICMP) + 20 (IPv4) = 1500: a full-MTU packet that may not be fragmented anywhere on the way.
  await expectPing(t, nsA, b.v4, 'ping -M do -s 1472 nsA -> nsB', ['-M', 'do', '-s', '1472']);
  await expectPing(t, nsB, a.v4, 'ping -M do -s 1472 nsB -> nsA', ['-M', 'do', '-s', '1472']);

  const aFeatures = await offloadFeatures(HOST_DEV, nsA);
  for (const f of ['tcp-segmentation-offload', 'generic-segmentation-offload', 'tx-checksumming', 'scatter-gather']) {
    t.true(aFeatures[f], `${f} is ON at nsA's end (super-frames and partial checksums reach sebridge)`);
  }
  await sebridge.waitForLine(/state=online connections=(\d+)\/\1\b/, 20_000);
  const port = 5201;
  const server = await startIperfServer(e2e.lab, nsB, b.v4, port);
  t.teardown(() => server.stop());
  const up = await iperfClient(nsA, b.v4, port, 5, false);
  const down = await iperfClient(nsA, b.v4, port, 5, true);
  t.log(`iperf3 5 s: nsA -> nsB ${up.mbps.toFixed(1)} Mbit/s (${up.retransmits} retransmits), nsB -> nsA ${down.mbps.toFixed(1)} Mbit/s (${down.retransmits} retransmits)`);
  // A bridge that mishandles super-frames collapses to well under 1 Mbit/s; a working one does hundreds.
  t.true(up.mbps > 20, `nsA -> nsB ${up.mbps} Mbit/s`);
  t.true(down.mbps > 20, `nsB -> nsA ${down.mbps} Mbit/s`);
});

serial('bridged interface down/up and deleted/re-created: reported on stdout, frames flow again, no restart', async (t) => {
  showOutput(t);
  const { nsA, nsB, a, b, rootDev } = e2e;
  const pid = sebridge.pid;
  const esc = rootDev.replace(/[.]/g, '\\.');

  let from = sebridge.lines.length;
  await sh(['ip', 'link', 'set', rootDev, 'down']);
  await sebridge.waitForLine(new RegExp(`${esc}: link down`), 5000, from);
  await sh(['ip', 'link', 'set', rootDev, 'up']);
  await sebridge.waitForLine(new RegExp(`${esc}: link up`), 5000, from);
  await expectPing(t, nsA, b.v4, 'ping nsA -> nsB after down/up');

  from = sebridge.lines.length;
  const oldIndex = (await linkView(rootDev)).ifindex;
  await sh(['ip', 'link', 'del', rootDev]);
  const gone = await sebridge.waitForLine(new RegExp(`${esc}: interface gone`), 5000, from);
  await e2e.makeHostA();
  await sebridge.waitForLine(new RegExp(`${esc}: link up`), 5000, gone.index + 1);
  const now = await linkView(rootDev);
  t.not(now.ifindex, oldIndex, 'a new interface under the same name');
  t.true(now.promiscuity >= 1, 'sebridge re-opened its socket on the new interface');
  aMac = (await linkView(HOST_DEV, nsA)).mac;
  await expectPing(t, nsA, b.v4, 'ping nsA -> nsB after re-creation');
  await expectPing(t, nsB, a.v4, 'ping nsB -> nsA after re-creation');
  t.is(sebridge.pid, pid);
  t.true(sebridge.running, 'the same sebridge process carried on');
});

serial('SIGTERM: exit 0 within a few seconds, interface not promiscuous and offloads as they were', async (t) => {
  showOutput(t);
  const exit = await sebridge.stop('SIGTERM', 10_000);
  t.log(`exit ${JSON.stringify(exit)}`);
  t.is(exit.signal, null);
  t.is(exit.code, 0);
  t.true(exit.ms < 5000, `stopped in ${exit.ms.toFixed(0)} ms`);
  t.true(sebridge.lines.some((l) => /SIGTERM: stopping/.test(l)));
  t.regex(sebridge.lines.at(-1) ?? '', /stopped$/);
  const root = await linkView(e2e.rootDev);
  t.is(root.promiscuity, 0, 'promiscuous membership dropped');
  t.false(root.flags.includes('PROMISC'));
  t.deepEqual(await offloadFeatures(e2e.rootDev), featuresBefore, 'offloads restored');
});
