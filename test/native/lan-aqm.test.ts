// CoDel at the LAN input (native/codel.h, src/ports/lan-aqm.ts) on a real packet socket: the kernel's receive
// stamps must reach it. A reader slower than the sender keeps a standing queue in the socket's buffer: CoDel drops
// a few frames (a sender's TCP would back off); a burst the reader works off within the interval loses nothing;
// with SEBRIDGE_LAN_AQM=off the same standing queue loses nothing to CoDel either.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { RawSocketPort } from '../../src/ports/raw-socket-port.ts';
import { aqmNativeOptions, CODEL_DEFAULTS, lanAqm, lanAqmNotes } from '../../src/ports/lan-aqm.ts';
import type { AqmOptions } from '../../src/ports/lan-aqm.ts';
import { ConfigError } from '../../src/session/config-error.ts';
import { isRoot, vethWithPeer } from './netlab.ts';
import { mac, udp4Frame } from './frames.ts';

if (!isRoot) console.warn('SKIPPING the packet-socket tests of test/native/lan-aqm.test.ts: need root (network namespaces, AF_PACKET)');
const rootTest = (title: string, fn: (t: ExecutionContext) => Promise<void>) => (isRoot ? test.serial(title, fn) : test.skip(title, fn));

const FRAME = udp4Frame(mac('02:00:00:00:aa:01'), mac('02:00:00:00:aa:02'), '198.18.7.2', '198.18.7.1', Buffer.alloc(64, 7));
const nap = new Int32Array(new SharedArrayBuffer(4));

/** A port whose receiver takes `busyMs` per batch (the event loop busy with TLS, in miniature). */
async function slowReader(t: ExecutionContext, aqm: AqmOptions | null, busyMs: number) {
  const lab = await vethWithPeer(t);
  const port = RawSocketPort.open(lab.outer, { aqm });
  t.teardown(() => port.close());
  let frames = 0;
  port.setReceiver((batch) => {
    frames += batch.length;
    Atomics.wait(nap, 0, 0, busyMs);
  });
  /** Resolves once nothing more arrived for 300 ms. */
  const settled = async () => {
    let last = -1;
    while (last !== port.stats().rxFrames + port.stats().rxDropAqm) {
      last = port.stats().rxFrames + port.stats().rxDropAqm;
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  return { ...lab, port, received: () => frames, settled };
}

rootTest('a standing queue in the receive buffer: CoDel drops a few frames, and only a few', async (t) => {
  const { peer, port, settled } = await slowReader(t, CODEL_DEFAULTS, 40); // takes at most 256 frames per 40 ms
  const sent = await peer.pace(FRAME, 30_000, 15_000); // 2 s at twice what the reader takes
  await settled();
  const s = port.stats();
  t.log(`sent ${sent}, delivered ${s.rxFrames}, CoDel ${s.rxDropAqm}, kernel ${s.rxDropKernel}`);
  t.true(s.rxDropAqm > 0, 'CoDel dropped');
  t.true(s.rxDropAqm < sent * 0.02, `a few, not a tail drop: ${s.rxDropAqm}`);
  t.true(s.rxFrames + s.rxDropAqm + s.rxDropKernel >= sent, 'every frame delivered or counted');
});

rootTest('a reader that empties the buffer every turn but leaves it alone 60 ms each time: CoDel still drops', async (t) => {
  // 2000 frames/s against 60 ms per batch: each read takes the ~120 frames that arrived meanwhile, the buffer runs
  // empty every turn and its newest frames have hardly waited; its oldest waited 60 ms, every turn.
  const { peer, port, settled } = await slowReader(t, CODEL_DEFAULTS, 60);
  const sent = await peer.pace(FRAME, 4000, 2000);
  await settled();
  const s = port.stats();
  t.log(`sent ${sent}, delivered ${s.rxFrames}, CoDel ${s.rxDropAqm}, kernel ${s.rxDropKernel}`);
  t.is(s.rxDropKernel, 0, 'the buffer never overflowed');
  t.true(s.rxDropAqm >= 5, `CoDel dropped: ${s.rxDropAqm}`);
  // this sender never slows down, so the drop rate keeps growing (interval/√count): still a small share
  t.true(s.rxDropAqm < sent * 0.05, `a few: ${s.rxDropAqm}`);
});

rootTest('a burst the reader works off within the interval loses nothing', async (t) => {
  // 600 frames: 3 batches, ~60 ms; a 500 ms interval leaves room for a loaded machine (the exact rule: codel.test.ts)
  const { peer, port, settled } = await slowReader(t, { targetMs: 5, intervalMs: 500 }, 20);
  peer.burst(FRAME, 600);
  await settled();
  const s = port.stats();
  t.is(s.rxDropAqm, 0);
  t.true(s.rxFrames >= 600, `all 600 arrived (${s.rxFrames})`);
});

rootTest('SEBRIDGE_LAN_AQM=off: the same standing queue loses nothing to CoDel', async (t) => {
  const before = process.env.SEBRIDGE_LAN_AQM;
  process.env.SEBRIDGE_LAN_AQM = 'off';
  let lab;
  try {
    lab = await slowReader(t, lanAqm(process.env.SEBRIDGE_LAN_AQM), 40);
  } finally {
    if (before === undefined) delete process.env.SEBRIDGE_LAN_AQM;
    else process.env.SEBRIDGE_LAN_AQM = before;
  }
  const sent = await lab.peer.pace(FRAME, 30_000, 15_000);
  await lab.settled();
  const s = lab.port.stats();
  t.is(s.rxDropAqm, 0);
  t.true(s.rxFrames + s.rxDropKernel >= sent);
});

test('SEBRIDGE_LAN_AQM: codel (the default: buffer and path), buffer, or off; anything else refused with the variable named', (t) => {
  const both = { targetMs: 5, intervalMs: 100, path: true };
  t.deepEqual(lanAqm(undefined), both);
  t.deepEqual(lanAqm(''), both);
  t.deepEqual(lanAqm('codel'), both);
  t.deepEqual(lanAqm('buffer'), { ...both, path: false });
  t.is(lanAqm('off'), null);
  const e = t.throws(() => lanAqm('fq_codel'), { instanceOf: ConfigError });
  t.is(e?.field, 'SEBRIDGE_LAN_AQM');
  t.regex(e!.message, /codel, buffer, off.*"fq_codel"/);
});

test('the path CoDel is named as off when the reads run on the I/O thread, and only then', (t) => {
  t.is(lanAqmNotes(lanAqm('codel'), 'rx,tx').length, 1);
  t.regex(lanAqmNotes(lanAqm(undefined), 'rx')[0]!, /path delay is off/);
  t.deepEqual(lanAqmNotes(lanAqm('codel'), 'tx'), []);
  t.deepEqual(lanAqmNotes(lanAqm('codel'), undefined), []);
  t.deepEqual(lanAqmNotes(lanAqm('buffer'), 'rx'), []);
  t.deepEqual(lanAqmNotes(lanAqm('off'), 'rx'), []);
});

test('CoDel parameters out of range are refused with the field named, before anything is opened', (t) => {
  t.deepEqual(aqmNativeOptions({ targetMs: 5, intervalMs: 100 }), { aqmTargetUs: 5000, pathAqmTargetUs: 5000, aqmIntervalUs: 100_000 });
  t.deepEqual(aqmNativeOptions({ targetMs: 5, intervalMs: 100, path: false }), { aqmTargetUs: 5000, pathAqmTargetUs: 0, aqmIntervalUs: 100_000 });
  t.deepEqual(aqmNativeOptions(null), { aqmTargetUs: 0, pathAqmTargetUs: 0, aqmIntervalUs: 0 });
  for (const [aqm, field] of [
    [{ targetMs: 0, intervalMs: 100 }, 'aqm.targetMs'],
    [{ targetMs: Number.NaN, intervalMs: 100 }, 'aqm.targetMs'],
    [{ targetMs: 5, intervalMs: 4 }, 'aqm.intervalMs'],
    [{ targetMs: 5, intervalMs: 20_000 }, 'aqm.intervalMs'],
    [{ targetMs: 5, intervalMs: 100, path: 'yes' as unknown as boolean }, 'aqm.path'],
  ] as const) {
    t.is(t.throws(() => aqmNativeOptions(aqm), { instanceOf: ConfigError })?.field, field);
    t.is(t.throws(() => RawSocketPort.open('sebn-no-such-if', { aqm }), { instanceOf: ConfigError })?.field, field);
  }
});
