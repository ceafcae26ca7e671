/**
 * CoDel on the path's delay (native/path_aqm.h), end to end against the real vpnserver, with a queue that stands
 * beyond the bridge where sebridge has no buffer of its own to watch:
 *
 *   nsA ── veth ── [root ns: sebridge] ═ cascade ═ vpnserver hub ── its local bridge ── tbf 40 Mbit/s ── nsB
 *
 * The token bucket on the server's bridge interface makes the server's side the narrowest point (a slow remote LAN,
 * a server on a weak machine); its queue and the server's socket behind it hold far more than the path needs. Host
 * A sends with CUBIC (the Linux and Windows default), which fills whatever buffer the path has. Pings from host A to
 * host B during the upload wait in that queue. With `SEBRIDGE_LAN_AQM=buffer` (CoDel on sebridge's own receive
 * buffer only) nothing tells host A; with the default (`codel`: also on the path's delay) sebridge times host A's
 * segments against host B's ACKs, sees the standing delay and drops a few of host A's frames.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { bridgeLinkArgs, buildE2e, e2eMissing, HOST_DEV, ping } from './e2e-topology.ts';
import type { E2e } from './e2e-topology.ts';
import { SebridgeProcess } from './sebridge-process.ts';
import { iperfClient, startIperfServer } from './iperf.ts';
import { sleep } from './lab.ts';

const RATE = '40mbit';
const SECONDS = 10;

const missing = e2eMissing();
if (missing) console.error(`\n!!! SKIPPING test/bridge/path-aqm.real.test.ts: ${missing} !!!\n`);
const serial = missing ? test.serial.skip : test.serial;

let e2e: E2e;

function run(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr || r.error}`);
}

test.before(async () => {
  if (missing) return;
  e2e = await buildE2e();
  // The narrow point beyond the bridge: 40 Mbit/s toward host B with a deep queue (up to 300 ms).
  run(['ip', 'netns', 'exec', e2e.server.netns, 'tc', 'qdisc', 'replace', 'dev', e2e.serverLan.serverDev, 'root', 'tbf', 'rate', RATE, 'burst', '32kb', 'latency', '300ms']);
  // Host A's TCP: CUBIC, set on its route (a route may name any congestion control the kernel has).
  const routes = spawnSync('ip', ['-n', e2e.nsA, '-o', '-4', 'route', 'show', 'dev', HOST_DEV], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const route of routes) run(['ip', '-n', e2e.nsA, 'route', 'change', ...route.trim().split(/\s+/), 'dev', HOST_DEV, 'congctl', 'cubic']);
});

test.after.always(async () => {
  await e2e?.teardown();
});

interface Outcome {
  mbps: number;
  pingMs: number;
  /** the LAN port's drops by reason, as `sebridge link` prints them when it stops */
  drops: Record<string, number>;
}

/** 10 s of CUBIC upload from host A to host B through sebridge, with 100 pings during its second half. */
async function upload(mode: string): Promise<Outcome> {
  const sebridge = new SebridgeProcess(e2e.lab, bridgeLinkArgs(e2e, { extra: ['--connections', '8'], env: { SEBRIDGE_LAN_AQM: mode } }));
  let mbps = NaN;
  let pingMs = NaN;
  try {
    await sebridge.waitForLine(/state=online connections=8\/8\b/, 60_000);
    const server = await startIperfServer(e2e.lab, e2e.nsB, e2e.b.v4, 5201);
    try {
      const load = iperfClient(e2e.nsA, e2e.b.v4, 5201, SECONDS, false);
      await sleep(3000); // the queue builds up
      const p = await ping(e2e.nsA, e2e.b.v4, ['-i', '0.05'], 100, SECONDS);
      pingMs = p.avgMs;
      mbps = (await load).mbps;
    } finally {
      await server.stop();
    }
  } finally {
    const exit = await sebridge.stop();
    if (exit.code !== 0) throw new Error(`sebridge exited ${JSON.stringify(exit)}: ${sebridge.output().slice(-2000)}`);
  }
  const line = sebridge.lines.filter((l) => l.includes(`${e2e.rootDev}: drops `)).at(-1);
  if (!line) throw new Error(`sebridge printed no drops line for ${e2e.rootDev}: ${sebridge.output().slice(-2000)}`);
  const drops = Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
  return { mbps, pingMs, drops };
}

serial('a queue beyond the bridge: CoDel on the path delay keeps the ping under a CUBIC upload short', async (t) => {
  const without = await upload('buffer');
  const withPath = await upload('codel');
  const show = (o: Outcome) => `${o.mbps.toFixed(1)} Mbit/s, ping ${o.pingMs.toFixed(1)} ms, drops ${JSON.stringify(o.drops)}`;
  t.log(`receive buffer only: ${show(without)}`);
  t.log(`and the path delay:  ${show(withPath)}`);
  // The setup works: the queue beyond the bridge stands and sebridge's own CoDel does not see it.
  t.true(without.pingMs >= 15, `no standing queue without the path CoDel (${without.pingMs} ms): the test would prove nothing`);
  t.falsy(without.drops.rxDropPathAqm);
  // The path CoDel finds it and keeps it near its 5 ms target, by dropping a few of host A's frames.
  t.true((withPath.drops.rxDropPathAqm ?? 0) > 0, 'the path CoDel dropped');
  t.true(withPath.pingMs <= 12 && withPath.pingMs <= without.pingMs / 2, `ping under the upload ${withPath.pingMs} ms (without: ${without.pingMs} ms)`);
  // ... without giving up the bandwidth: the bottleneck stays busy.
  t.true(withPath.mbps >= 0.85 * without.mbps, `throughput ${withPath.mbps.toFixed(1)} vs ${without.mbps.toFixed(1)} Mbit/s`);
});
