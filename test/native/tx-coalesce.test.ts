// Runs of TCP segments written to a packet-socket port leave as one super-frame (native/tx_coalesce.c), and the
// kernel cuts it into the very segments that were written: the peer must receive every frame byte for byte as
// sent. TSO and transmit checksums are off on the interface here (a NIC without them), so the kernel segments and
// checksums in software right there and the peer's raw socket sees wire frames (with TSO on, a veth would hand the
// super-frame to the peer whole; test/bridge/raw-bridge.real.test.ts runs real TCP that way). What must not be
// merged goes out as it came.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { RawSocketPort } from '../../src/ports/raw-socket-port.ts';
import { batch } from './tx-frames.ts';
import { loadNative } from '../../src/ports/native.ts';
import { isRoot, vethLab } from './netlab.ts';

if (!isRoot) console.warn('SKIPPING test/native/tx-coalesce.test.ts: needs root (network namespaces, AF_PACKET)');
const rootTest = (title: string, fn: (t: ExecutionContext) => void | Promise<void>) =>
  isRoot ? test.serial(title, fn) : test.skip(title, fn);

async function sendAndCompare(t: ExecutionContext, env: string | undefined): Promise<ReturnType<RawSocketPort['stats']>> {
  const before = process.env.SEBRIDGE_TX_SUPER_FRAMES;
  if (env === undefined) delete process.env.SEBRIDGE_TX_SUPER_FRAMES;
  else process.env.SEBRIDGE_TX_SUPER_FRAMES = env;
  const { lab, ns, outer, inner } = vethLab(t);
  const peer = await lab.peer(ns, inner);
  const TX = ['tx-tcp-segmentation', 'tx-tcp6-segmentation', 'tx-checksum-ip-generic'];
  loadNative().setFeatures(outer, Object.fromEntries(TX.map((f) => [f, false])));
  let port: RawSocketPort;
  try {
    port = RawSocketPort.open(outer);
  } finally {
    if (before === undefined) delete process.env.SEBRIDGE_TX_SUPER_FRAMES;
    else process.env.SEBRIDGE_TX_SUPER_FRAMES = before;
  }
  t.teardown(() => port.close());
  const { frames } = batch();
  port.write(frames);
  for (const [i, f] of frames.entries()) {
    await peer.waitFor((p) => p.frame.equals(f), 3000).catch(() => t.fail(`frame ${i} did not arrive as it was sent`));
  }
  t.is(peer.frames.length, frames.length, 'nothing else and nothing twice');
  return port.stats();
}

rootTest('runs of TCP segments leave as super-frames and arrive as exactly the segments written; the rest as it came', async (t) => {
  const st = await sendAndCompare(t, undefined);
  const { frames, superFrames, merged } = batch();
  t.is(st.txSuperFrames, superFrames);
  t.is(st.txSuperSegments, merged);
  t.is(st.txSuperRefused, 0);
  t.is(st.txFrames, frames.length);
  t.is(st.txBytes, frames.reduce((a, f) => a + f.length, 0));
  t.is(st.txDropError, 0);
});

rootTest('SEBRIDGE_TX_SUPER_FRAMES=0: every frame goes out on its own, the same frames arrive', async (t) => {
  const st = await sendAndCompare(t, '0');
  t.is(st.txSuperFrames, 0);
  t.is(st.txFrames, batch().frames.length);
});

rootTest('the port leaves transmit segmentation on while it sends super-frames, and switches it off when it does not', (t) => {
  const native = loadNative();
  for (const txSuperFrames of [true, false]) {
    const { outer } = vethLab(t);
    t.true(native.getFeatures(outer)['tx-tcp-segmentation']!.active, 'precondition: a veth starts with TSO on');
    const port = RawSocketPort.open(outer, { txSuperFrames });
    try {
      t.is(native.getFeatures(outer)['tx-tcp-segmentation']!.active, txSuperFrames, `txSuperFrames ${txSuperFrames}`);
      t.false(native.getFeatures(outer)['rx-gro']!.active);
      t.is(port.stats().offloadsDisabled.includes('tx-tcp-segmentation'), !txSuperFrames);
    } finally {
      port.close();
    }
    t.true(native.getFeatures(outer)['tx-tcp-segmentation']!.active, 'restored on close');
  }
});
