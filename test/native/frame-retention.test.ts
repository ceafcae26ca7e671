// A frame from a native port is a small view into the channel's one hand-over buffer, which the next batch fills
// again; a frame from the tunnel is a view into a socket chunk, which one retained view keeps alive. The Port
// contract (src/ports/port.ts) says: whoever keeps frames beyond the turn copies them with keepFrame(). Checked
// here on keepFrame itself and end to end: frames a MemoryPort records behind the hub are copies of their own.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { isReusedView, keepFrame, markReused } from '../../src/ports/port.ts';
import { MemoryPort } from '../../src/ports/memory-port.ts';
import { RawSocketPort } from '../../src/ports/raw-socket-port.ts';
import { Hub } from '../../src/hub/index.ts';
import { mac, udp4Frame } from './frames.ts';
import { isRoot, until, vethLab } from './netlab.ts';

if (!isRoot) console.error('\n!!! SKIPPING the native part of test/native/frame-retention.test.ts: needs root (namespaces, AF_PACKET) !!!\n');
const rootTest = (title: string, fn: (t: ExecutionContext) => void | Promise<void>) =>
  isRoot ? test.serial(title, fn) : test.skip(title, fn);

/** A raw port on a fresh veth, the agent on its peer end, and broadcast UDP frames with payload(n) it can send. */
async function rawPortWithPeer(t: ExecutionContext, payload: (n: number) => string) {
  const { lab, ns, outer, inner } = vethLab(t);
  const peer = await lab.peer(ns, inner);
  const raw = RawSocketPort.open(outer);
  t.teardown(() => raw.close());
  const PEER = mac('02:5e:b0:00:04:01');
  const frame = (n: number) => udp4Frame(PEER, Buffer.alloc(6, 0xff), '198.18.12.1', '255.255.255.255', Buffer.from(payload(n)));
  return { peer, raw, frame };
}

test('keepFrame copies a small view of a large buffer into a buffer of its own, and nothing else', (t) => {
  const arena = new ArrayBuffer(64 * 1024);
  new Uint8Array(arena).fill(7, 100, 160);
  const view = Buffer.from(arena, 100, 60);
  const kept = keepFrame(view);
  t.not(kept, view);
  t.deepEqual(kept, view);
  t.is(kept.buffer.byteLength, 60, 'the copy pins nothing but itself');

  const own = Buffer.alloc(1500);
  t.is(keepFrame(own), own, 'a frame with its own buffer is kept as is');
  const half = Buffer.from(new ArrayBuffer(3000), 0, 1500);
  t.is(keepFrame(half), half, 'a view of at most twice its size is kept as is');
});

test('MemoryPort keeps views by reference only while what they pin stays under its limit, then copies', (t) => {
  const port = new MemoryPort('rec', 4, 128 * 1024);
  const arenas = [0, 1, 2, 3, 4, 5].map(() => new ArrayBuffer(64 * 1024));
  const frames = arenas.map((a, i) => Buffer.from(a, i * 100, 60).fill(i + 1));
  port.write(frames.slice(0, 3));
  t.is(port.written[0], frames[0], 'by reference while under the limit');
  t.is(port.written[1], frames[1]);
  t.not(port.written[2]!.buffer, arenas[2], 'the third 64 KiB arena would exceed 128 KiB: copied');
  t.deepEqual(port.written[2], frames[2]);
  t.is(port.pinnedBytes, 128 * 1024);
  // Bounded by maxKept: the oldest go, and with them what they pinned.
  port.write(frames.slice(3, 6));
  t.is(port.written.length, 4);
  t.is(port.dropped, 2);
  t.true(port.pinnedBytes <= 128 * 1024, `${port.pinnedBytes} bytes pinned`);
  t.deepEqual(port.written, frames.slice(2, 6));
  const own = Buffer.alloc(60);
  port.write([own]);
  t.is(port.written.at(-1), own, 'a frame that owns its buffer pins nothing and is never copied');
});

test('keepFrame and MemoryPort always copy a view into a buffer a port reuses', (t) => {
  const reused = new ArrayBuffer(3000);
  markReused(reused);
  const view = Buffer.from(reused, 0, 1500).fill(9);
  t.true(isReusedView(view));
  const kept = keepFrame(view);
  t.not(kept.buffer, reused, 'copied although it is half of its buffer');
  t.deepEqual(kept, view);
  const port = new MemoryPort('rec', 4, 1 << 20);
  port.write([view]);
  new Uint8Array(reused).fill(1); // the port's next batch
  t.true(port.written[0]!.every((b) => b === 9), 'the recorded frame kept what was written');
  t.is(port.pinnedBytes, 0);
  t.false(isReusedView(Buffer.alloc(60)));
});

rootTest('a raw port hands every batch over in the same buffer: a view kept by reference changes, keepFrame does not', async (t) => {
  const { peer, raw, frame } = await rawPortWithPeer(t, (n) => `batch ${n} `.repeat(20));
  const buffers = new Set<ArrayBufferLike>();
  let first: { view: Buffer; copy: Buffer; bytes: Buffer } | undefined;
  let batches = 0;
  raw.setReceiver((frames) => {
    batches++;
    for (const f of frames) {
      buffers.add(f.buffer);
      t.true(isReusedView(f), 'marked as a view into a reused buffer');
    }
    first ??= { view: frames[0]!, copy: keepFrame(frames[0]!), bytes: Buffer.from(frames[0]!) };
  });
  peer.burst(frame(1), 1);
  await until(() => first !== undefined, 3000, 'the first batch');
  // Later batches, one frame at a time (each its own event-loop turn), written over the same bytes.
  for (let i = 2; i <= 6; i++) {
    const before = batches;
    peer.burst(frame(i), 1);
    await until(() => batches > before, 3000, `batch ${i}`);
  }
  t.is(buffers.size, 1, 'one ArrayBuffer for all batches');
  t.true(first!.copy.equals(first!.bytes), 'keepFrame made a copy of its own');
  t.false(first!.view.equals(first!.bytes), 'the view kept by reference shows a later batch');
});

rootTest('frames from a raw port recorded behind the hub do not pin the receive arenas', async (t) => {
  const { peer, raw, frame } = await rawPortWithPeer(t, (n) => `retained ${n}`);

  // First, straight from the port: frames read together are views into one shared ArrayBuffer (an arena, or
  // for a small batch one right-sized copy of it): what makes the copy necessary.
  const seen: Array<{ shared: boolean }> = [];
  raw.setReceiver((frames) => {
    for (const f of frames) seen.push({ shared: f.buffer.byteLength > f.length });
  });
  peer.burst(frame(0), 500);
  await until(() => seen.length >= 500, 3000, 'a burst straight from the port');
  t.true(seen.some((s) => s.shared), 'some frames are views into a buffer shared with others');

  // Then behind the hub: the recorder keeps copies.
  const hub = new Hub();
  t.teardown(() => hub.close());
  const recorder = new MemoryPort('recorder', 100, 0); // nothing may be pinned: every view is copied
  hub.attach(raw);
  hub.attach(recorder);
  const sent = [1, 2, 3].map(frame);
  for (const f of sent) peer.burst(f, 30);
  await until(() => recorder.written.length >= 90, 3000, 'frames recorded');
  // keepFrame leaves a view that pins at most twice its size (a lone small frame's right-sized copy + padding).
  for (const f of recorder.written) t.true(f.buffer.byteLength <= 2 * f.length, `a recorded frame pins ${f.buffer.byteLength} bytes for ${f.length}`);
  t.is(recorder.pinnedBytes, 0);
  t.true(sent.every((s) => recorder.written.some((w) => w.equals(s))));
});
