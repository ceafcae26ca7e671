// The frame channel's I/O thread (native/channel_io.c): it exists while the channel is open and is gone after
// close (no thread leak); in every mode (all on the event loop, the default; bulk sending on the thread; reading
// there too) a busy JS thread gets few big batches instead of many small ones, JS never sees more frames than stats() counts, writes
// that go inline (small, empty ring) and through the ring keep their order, and close() returns promptly in the
// middle of a burst.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { RawSocketPort } from '../../src/ports/raw-socket-port.ts';
import { eth, mac, udp4Frame } from './frames.ts';
import { isRoot, until, vethWithPeer } from './netlab.ts';

if (!isRoot) console.warn('SKIPPING test/native/io-thread.test.ts: needs root (network namespaces, AF_PACKET)');
const rootTest = (title: string, fn: (t: ExecutionContext) => void | Promise<void>) =>
  isRoot ? test.serial(title, fn) : test.skip(title, fn);

const PEER = mac('02:5e:b0:00:05:01');
const HOST = mac('02:5e:b0:00:05:02');
const BCAST = Buffer.alloc(6, 0xff);

/** Names of this process's threads called sebridge-pkt (the packet channels' I/O threads). */
function ioThreads(): number {
  let n = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'sebridge-pkt') n++;
    } catch {
      // the thread ended between readdir and read
    }
  }
  return n;
}

/** Where the channel reads and sends bulk (SEBRIDGE_IO_THREAD, read at start()): all on the event loop (the
 * default), bulk sending on the I/O thread, or both reading and bulk sending there. */
const RX_MODES = ['', 'tx', 'rx,tx'] as const;
function openPort(ifname: string, mode: (typeof RX_MODES)[number]): RawSocketPort {
  if (mode) process.env['SEBRIDGE_IO_THREAD'] = mode;
  else delete process.env['SEBRIDGE_IO_THREAD'];
  try {
    return RawSocketPort.open(ifname);
  } finally {
    delete process.env['SEBRIDGE_IO_THREAD'];
  }
}

rootTest('one I/O thread per open channel, gone after close', async (t) => {
  const { outer } = await vethWithPeer(t);
  const before = ioThreads();
  const ports = [RawSocketPort.open(outer), RawSocketPort.open(outer)];
  t.is(ioThreads(), before + 2);
  for (const p of ports) p.close();
  t.is(ioThreads(), before, 'close() joined both threads');
});

for (const rx of RX_MODES) {
  rootTest(`SEBRIDGE_IO_THREAD=${rx || '(unset)'}: while JS is busy, what arrives is collected into few batches; JS never sees more than stats() counts`, async (t) => {
    const { outer, peer } = await vethWithPeer(t);
    const port = openPort(outer, rx);
    t.teardown(() => port.close());
    const sizes: number[] = [];
    let seen = 0;
    let ahead = 0;
    port.setReceiver((frames) => {
      seen += frames.length;
      if (port.stats().rxFrames < seen) ahead++;
      sizes.push(frames.length);
      if (sizes.length === 1) {
        const until = Date.now() + 200; // a busy JS thread (TLS, the hub...) for 200 ms
        while (Date.now() < until);
      }
    });
    const frame = udp4Frame(PEER, BCAST, '198.18.13.1', '255.255.255.255', Buffer.from('first'));
    const burst = udp4Frame(PEER, BCAST, '198.18.13.1', '255.255.255.255', Buffer.alloc(200, 7));
    // The agent sends the burst a few ms after the first frame, while the receiver is busy with that one.
    peer.send(frame);
    peer.burst(burst, 300);
    await until(() => seen >= 301, 5000, 'all frames');
    t.is(ahead, 0, 'stats().rxFrames was never behind what JS had received');
    t.log(`batch sizes: ${sizes.join(' ')}`);
    // 300 frames of 242 bytes fit into two 64 KiB arenas: far fewer batches than frames.
    t.true(sizes.length <= 20, `${sizes.length} batches for 301 frames`);
  });

  rootTest(`SEBRIDGE_IO_THREAD=${rx || '(unset)'}: inline writes and ring writes leave in the order they were written`, async (t) => {
    const { outer, peer } = await vethWithPeer(t);
    const port = openPort(outer, rx);
    t.teardown(() => port.close());
    let seq = 0;
    const next = () => {
      const payload = Buffer.alloc(100);
      payload.writeUInt32BE(seq++, 0);
      return eth(PEER, HOST, 0x88b5, payload);
    };
    const atPeer = () => peer.frames.filter((p) => p.frame.readUInt16BE(12) === 0x88b5).length;
    // 1 (inline), 60 (ring), 2 (inline if the thread has emptied the ring, else behind the 60), 3 ... in rounds the
    // peer's socket buffer can hold (it drops beyond ~150 queued frames, which would look like reordering).
    for (let i = 0; i < 20; i++) {
      port.write([next()]);
      port.write(Array.from({ length: 60 }, next));
      port.write([next(), next()]);
      port.write([next(), next(), next()]);
      await until(() => atPeer() >= seq, 5000, `round ${i} at the peer`);
    }
    const seqs = peer.frames.filter((p) => p.frame.readUInt16BE(12) === 0x88b5).map((p) => p.frame.readUInt32BE(14));
    t.deepEqual(seqs, Array.from({ length: seq }, (_, i) => i), 'every frame, in order');
    const s = port.stats();
    t.is(s.txFrames, seq);
    t.is(s.txQueued, 0);
  });

  rootTest(`SEBRIDGE_IO_THREAD=${rx || '(unset)'}: close() returns promptly during a burst and nothing arrives afterwards`, async (t) => {
    const { outer, peer } = await vethWithPeer(t);
    const port = openPort(outer, rx);
    let after = 0;
    let closed = false;
    port.setReceiver(() => {
      if (closed) after++;
    });
    const frame = udp4Frame(PEER, BCAST, '198.18.13.1', '255.255.255.255', Buffer.alloc(1000, 9));
    peer.burst(frame, 20_000);
    await until(() => port.stats().rxFrames > 100, 3000, 'the burst is arriving');
    const t0 = performance.now();
    port.close();
    closed = true;
    const ms = performance.now() - t0;
    t.true(ms < 100, `close took ${ms.toFixed(1)} ms`);
    await new Promise((r) => setTimeout(r, 100));
    t.is(after, 0, 'no batch after close');
  });
}
