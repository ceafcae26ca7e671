/**
 * Issue 9: the bridge's anonymous memory (heaps, not the mapped node binary) under full load, end to end with
 * `sebridge link --bridge` (8 TLS connections, the default) against the real vpnserver:
 *
 *   nsA ── veth ── [root ns: sebridge, raw socket on rootDev] ═ cascade ═ real vpnserver hub ── its local bridge ── nsB
 *
 * RssAnon of /proc/PID/status is sampled every 50 ms through 10 s of iperf3 each way. Measured on the 2-core CI
 * machine (bench/README.md, "Memory under load"): idle 17-21 MiB, peak 25-27 MiB since tunnel reads land in one
 * buffer per connection (src/session/read-into.ts; 30-37 MiB before, 46-58 MiB before the earlier changes of that
 * section). The bound is issue 9's goal, 32 MiB: it fails on a regression of a few MiB, not on the machine's noise
 * (±3 MiB). What is left 5 s after the load is printed but not checked.
 */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { bridgeLinkArgs, buildE2e, e2eMissing } from './e2e-topology.ts';
import type { E2e } from './e2e-topology.ts';
import { SebridgeProcess } from './sebridge-process.ts';
import { iperfClient, startIperfServer } from './iperf.ts';
import { sleep } from './lab.ts';

/** Peak anonymous RSS allowed under load. */
const PEAK_ANON_MIB = 32;
/** Less than this means the tunnel did not carry real load, and a low memory figure would prove nothing. */
const MIN_MBPS = 100;
const SECONDS = 10;

const missing = e2eMissing();
if (missing) console.error(`\n!!! SKIPPING test/bridge/memory-under-load.real.test.ts: ${missing} !!!\n`);
const serial = missing ? test.serial.skip : test.serial;

let e2e: E2e;

test.before(async () => {
  if (missing) return;
  e2e = await buildE2e();
});

test.after.always(async () => {
  await e2e?.teardown();
});

async function anonKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^RssAnon:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error(`no RssAnon in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Samples RssAnon every 50 ms until stopped; returns the highest value seen (KiB). */
function peakSampler(pid: number): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await anonKiB(pid));
      await sleep(50);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

const mib = (kib: number) => (kib / 1024).toFixed(1);

serial(`anonymous memory stays under ${PEAK_ANON_MIB} MiB through ${SECONDS} s of iperf3 each way`, async (t) => {
  const { nsA, b } = e2e;
  const sebridge = new SebridgeProcess(e2e.lab, bridgeLinkArgs(e2e, { extra: ['--connections', '8'] }));
  t.teardown(async () => {
    await sebridge.stop();
  });
  await sebridge.waitForLine(/state=online connections=8\/8\b/, 60_000);
  const pid = sebridge.pid;
  const port = 5201;
  const server = await startIperfServer(e2e.lab, e2e.nsB, b.v4, port);
  t.teardown(() => server.stop());
  await sleep(3000); // past the connection phase's own allocations
  const idle = await anonKiB(pid);

  const results: string[] = [];
  let peak = 0;
  for (const reverse of [false, true]) {
    const sampler = peakSampler(pid);
    const r = await iperfClient(nsA, b.v4, port, SECONDS, reverse).finally(async () => {
      peak = Math.max(peak, await sampler.stop());
    });
    results.push(`${reverse ? 'nsB -> nsA' : 'nsA -> nsB'} ${r.mbps.toFixed(0)} Mbit/s`);
    t.true(r.mbps >= MIN_MBPS, `${results.at(-1)}: below ${MIN_MBPS} Mbit/s, not a load test`);
  }
  await sleep(5000);
  const after = await anonKiB(pid);
  t.log(`sebridge RssAnon: idle ${mib(idle)} MiB, peak under load ${mib(peak)} MiB, 5 s after ${mib(after)} MiB; ${results.join(', ')}`);
  t.true(peak <= PEAK_ANON_MIB * 1024, `peak anonymous RSS ${mib(peak)} MiB > ${PEAK_ANON_MIB} MiB`);
});
