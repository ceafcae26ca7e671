// CoDel on the path's delay (native/path_aqm.h) on a TAP port: a sender in a namespace, behind a Linux bridge with
// the TAP in it, sends a TCP flow of new data into the TAP; the test plays the far host, writing an ACK for every
// second segment back into the TAP after a round trip that it lengthens for good after 0.4 s (a queue standing
// beyond the bridge). A TAP has no arrival stamps, so this CoDel is the only one it has.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { TapPort } from '../../src/ports/tap-port.ts';
import type { AqmOptions } from '../../src/ports/lan-aqm.ts';
import { eth, ipv4Header, mac } from './frames.ts';
import { bridgedVethLab, isRoot, sleep } from './netlab.ts';

if (!isRoot) console.warn('SKIPPING test/native/tap-path-aqm.test.ts: needs root (TAP devices, bridges)');
const rootTest = (title: string, fn: (t: ExecutionContext) => void | Promise<void>) =>
  isRoot ? test.serial(title, fn) : test.skip(title, fn);

const HOST_A = mac('02:5e:b0:00:02:01');
const FAR_B = mac('02:5e:b0:00:02:02');
const MSS = 1400;
const SEQ_OFFSET = 14 + 20 + 4;

function tcp(src: Buffer, dst: Buffer, srcIp: string, dstIp: string, sport: number, dport: number, seq: number, ack: number, payload: number): Buffer {
  const th = Buffer.alloc(20 + payload);
  th.writeUInt16BE(sport, 0);
  th.writeUInt16BE(dport, 2);
  th.writeUInt32BE(seq >>> 0, 4);
  th.writeUInt32BE(ack >>> 0, 8);
  th[12] = 5 << 4;
  th[13] = 0x10; // ACK
  th.writeUInt16BE(65535, 14);
  return eth(dst, src, 0x0800, Buffer.concat([ipv4Header(srcIp, dstIp, 6, th.length), th]));
}

/** 1 500 segments at 1 000/s through the TAP; B answers every second one after 1 ms, from 0.4 s on after 25 ms. */
async function flow(t: ExecutionContext, aqm: AqmOptions | null) {
  const { lab, ns, inner, bridge } = bridgedVethLab(t);
  const tapName = lab.name('t');
  const tap = TapPort.create({ name: tapName, bridge, aqm });
  t.teardown(() => tap.close());
  lab.trackLink(tapName);
  const peer = await lab.peer(ns, inner);
  await peer.ready;

  let first = 0;
  let seen = 0;
  tap.setReceiver((frames) => {
    for (const f of frames) {
      if (f.length < 54 || f.readUInt16BE(12) !== 0x0800 || f[23] !== 6 || f.readUInt16BE(34) !== 40000) continue;
      if (++seen % 2) continue;
      const ack = f.readUInt32BE(SEQ_OFFSET) + MSS;
      const now = performance.now();
      if (!first) first = now;
      const reply = tcp(FAR_B, HOST_A, '10.77.0.2', '10.77.0.1', 5201, 40000, 1, ack, 0);
      setTimeout(() => tap.write([reply]), now - first < 400 ? 1 : 25);
    }
  });
  const sent = await peer.paceSeq(tcp(HOST_A, FAR_B, '10.77.0.1', '10.77.0.2', 40000, 5201, 1000, 1, MSS), 1500, 1000, SEQ_OFFSET, MSS);
  await sleep(100);
  const s = tap.stats();
  t.log(`sent ${sent}, read ${seen}, round trips measured ${s.pathRttSamples}, dropped ${s.rxDropPathAqm}`);
  return { sent, seen, stats: s };
}

rootTest('a TAP port: the path CoDel measures the flow through it and drops when its round trip stands long', async (t) => {
  const { sent, seen, stats } = await flow(t, { targetMs: 5, intervalMs: 100 });
  t.is(sent, 1500);
  t.true(stats.pathRttSamples > 100, `round trips measured: ${stats.pathRttSamples}`);
  // The scripted sender never slows down, so CoDel's rate keeps growing: ~25 in the 1.1 s the delay stands.
  t.true(stats.rxDropPathAqm >= 2 && stats.rxDropPathAqm <= 100, `a few dropped, not a tail drop: ${stats.rxDropPathAqm}`);
  t.is(seen + stats.rxDropPathAqm, sent, 'every frame read or dropped by CoDel');
});

rootTest('a TAP port with no CoDel (what SEBRIDGE_LAN_AQM=off gives): nothing measured, nothing dropped', async (t) => {
  const { sent, seen, stats } = await flow(t, null);
  t.is(stats.pathRttSamples, 0);
  t.is(stats.rxDropPathAqm, 0);
  t.is(seen, sent);
});
