import test from 'ava';
import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deflateSync, inflateSync } from 'node:zlib';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { TUNNEL_LIMITS, TunnelDecoder, encodeFrames, encodeKeepAlive } from '../../src/protocol/tunnel.ts';

const vectors = JSON.parse(readFileSync(new URL('../fixtures/vectors.json', import.meta.url), 'utf8'));
const hex = (s: string) => Buffer.from(s, 'hex');
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const frame = (len: number, seed = 1) => Buffer.from(Array.from({ length: len }, (_, i) => (i * 31 + seed) & 0xff));

/** Collects everything a decoder reports, and how many onFrames calls there were. */
function collector(compressed: boolean) {
  const out = { frames: [] as Buffer[], calls: 0, keepAlives: 0, drops: [] as string[] };
  const decoder = new TunnelDecoder({
    compressed,
    onFrames: (fs) => {
      out.calls++;
      out.frames.push(...fs);
    },
    onKeepAlive: () => out.keepAlives++,
    onDrop: (r) => out.drops.push(r),
  });
  return { decoder, out };
}

test('limits are the notes\' 1600/3200/512', (t) => {
  t.deepEqual({ ...TUNNEL_LIMITS }, { maxFrame: 1600, maxBlock: 3200, maxKeepAlive: 512 });
});

test('vector: one-frame data record encodes byte for byte and decodes', (t) => {
  const wire = hex(vectors.tunnel.data_batch_one_frame.hex);
  const f = wire.subarray(8);
  t.is(f.length, 63);
  t.true(encodeFrames([f], false).equals(wire));
  const { decoder, out } = collector(false);
  decoder.push(wire);
  t.is(out.frames.length, 1);
  t.true(out.frames[0].equals(f));
  // Zero-copy: the frame is a view into the pushed chunk.
  t.is(out.frames[0].buffer, wire.buffer);
  t.is(out.frames[0].byteOffset, wire.byteOffset + 8);
  t.is(decoder.bufferedBytes, 0);
});

test('vector: keep-alive record', (t) => {
  const { decoder, out } = collector(false);
  decoder.push(hex(vectors.tunnel.keepalive_example.hex));
  t.is(out.keepAlives, 1);
  t.is(out.calls, 0, 'no onFrames call without frames');
  t.is(decoder.bufferedBytes, 0);
});

test('vector: the real server\'s compressed block inflates to its plaintext', (t) => {
  const v = vectors.tunnel.compressed_block;
  const plain = hex(v.uncompressed_hex);
  const block = hex(v.compressed_hex);
  t.deepEqual([...block.subarray(0, 2)], [0x78, 0x9c], 'zlib stream, not raw deflate or gzip');
  t.true(inflateSync(block).equals(plain));
  const { decoder, out } = collector(true);
  decoder.push(Buffer.concat([u32(1), u32(block.length), block]));
  t.is(out.frames.length, 1);
  t.true(out.frames[0].equals(plain));
  // Our encoder's blocks are also zlib streams that inflate to the same bytes.
  const ours = encodeFrames([plain], true);
  t.is(ours.readUInt32BE(0), 1);
  const ourBlock = ours.subarray(8, 8 + ours.readUInt32BE(4));
  t.is(8 + ourBlock.length, ours.length);
  t.true(inflateSync(ourBlock).equals(plain));
});

test('encodeFrames: batch layout, empty batch, size limit', (t) => {
  const frames = [frame(60), frame(0), frame(1600, 5)];
  const wire = encodeFrames(frames, false);
  t.true(wire.equals(Buffer.concat([u32(3), u32(60), frames[0], u32(0), u32(1600), frames[2]])));
  t.true(encodeFrames([], false).equals(u32(0)));
  t.throws(() => encodeFrames([frame(10), frame(1601)], false), { instanceOf: RangeError });
  t.throws(() => encodeFrames([frame(1601)], true), { instanceOf: RangeError });
});

test('encodeKeepAlive: default random 0..511, explicit length, bounds', (t) => {
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const ka = encodeKeepAlive();
    t.is(ka.readUInt32BE(0), 0xffffffff);
    const n = ka.readUInt32BE(4);
    t.true(n >= 0 && n <= 511);
    t.is(ka.length, 8 + n);
    seen.add(n);
  }
  t.true(seen.size > 50, 'lengths vary');
  t.is(encodeKeepAlive(0).length, 8);
  t.is(encodeKeepAlive(512).length, 520);
  const a = encodeKeepAlive(64);
  const b = encodeKeepAlive(64);
  t.false(a.subarray(8).equals(b.subarray(8)), 'payload is random');
  t.throws(() => encodeKeepAlive(513), { instanceOf: RangeError });
  t.throws(() => encodeKeepAlive(-1), { instanceOf: RangeError });
  t.throws(() => encodeKeepAlive(1.5), { instanceOf: RangeError });
});

// A stream exercising every record shape: data, keep-alives (incl. empty), count 0, len 0, batches.
const streamFrames = [frame(42, 1), frame(1600, 2), frame(1, 3), frame(60, 4), frame(1500, 5)];
const stream = Buffer.concat([
  encodeFrames([streamFrames[0]], false),
  encodeKeepAlive(5),
  u32(0), // empty record
  u32(3), u32(1600), streamFrames[1], u32(0), u32(1), streamFrames[2], // len-0 block inside a batch
  encodeKeepAlive(0),
  encodeFrames([streamFrames[3], streamFrames[4]], false),
  encodeKeepAlive(512),
]);

function checkStream(t: ExecutionContext, out: ReturnType<typeof collector>['out'], label: string) {
  t.is(out.frames.length, streamFrames.length, label);
  for (let i = 0; i < streamFrames.length; i++) t.true(out.frames[i].equals(streamFrames[i]), `${label} frame ${i}`);
  t.is(out.keepAlives, 3, label);
  t.deepEqual(out.drops, [], label);
}

test('decoder: every single split position gives the same frames', (t) => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const { decoder, out } = collector(false);
    decoder.push(stream.subarray(0, cut));
    t.true(decoder.bufferedBytes <= 4 + TUNNEL_LIMITS.maxBlock);
    decoder.push(stream.subarray(cut));
    checkStream(t, out, `cut ${cut}`);
    t.true(out.calls <= 2, 'at most one onFrames call per push');
    t.is(decoder.bufferedBytes, 0);
  }
});

test('decoder: byte by byte and every pair of split positions on a small stream', (t) => {
  const { decoder, out } = collector(false);
  let maxBuffered = 0;
  for (let i = 0; i < stream.length; i++) {
    decoder.push(stream.subarray(i, i + 1));
    maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes);
  }
  checkStream(t, out, 'byte by byte');
  t.is(maxBuffered, 1599, 'only a split block is ever buffered');

  const small = Buffer.concat([encodeFrames([frame(5, 1), frame(3, 2)], false), encodeKeepAlive(2), u32(0), encodeFrames([frame(4, 3)], false)]);
  for (let a = 0; a <= small.length; a++) {
    for (let b = a; b <= small.length; b++) {
      const c = collector(false);
      for (const part of [small.subarray(0, a), small.subarray(a, b), small.subarray(b)]) c.decoder.push(part);
      t.deepEqual(c.out.frames.map((f) => f.toString('hex')), [frame(5, 1), frame(3, 2), frame(4, 3)].map((f) => f.toString('hex')));
      t.is(c.out.keepAlives, 1);
    }
  }
});

test('decoder: onFrames gets all frames of one push in one call', (t) => {
  const { decoder, out } = collector(false);
  decoder.push(stream);
  t.is(out.calls, 1);
  checkStream(t, out, 'one push');
});

test('decoder: blocks split across chunks are copied, so the caller may reuse chunks', (t) => {
  const wire = encodeFrames([frame(100, 9)], false);
  const { decoder, out } = collector(false);
  const first = Buffer.from(wire.subarray(0, 50));
  decoder.push(first);
  first.fill(0);
  decoder.push(Buffer.from(wire.subarray(50)));
  t.true(out.frames[0].equals(frame(100, 9)));
});

test('decoder with partialBuffers: split blocks are assembled in the two buffers in turn, intact until the receiver returns', (t) => {
  const scratch = Buffer.alloc(2 * TUNNEL_LIMITS.maxBlock);
  const partialBuffers = [scratch.subarray(0, TUNNEL_LIMITS.maxBlock), scratch.subarray(TUNNEL_LIMITS.maxBlock)] as const;
  const sent = Array.from({ length: 40 }, (_, i) => frame(1400 + i, i));
  const wire = Buffer.concat(sent.map((f) => encodeFrames([f], false)));
  const got: Buffer[] = [];
  const fromScratch = new Set<number>();
  const decoder = new TunnelDecoder({
    compressed: false,
    // Copied during the call, as a receiver of transient frames must; checked after the whole stream.
    onFrames: (fs) => {
      for (const f of fs) {
        if (f.buffer === scratch.buffer) fromScratch.add(f.byteOffset);
        got.push(Buffer.from(f));
      }
    },
    partialBuffers,
  });
  // 1000-byte chunks: most pushes finish one split block and start the next, so both buffers are in use in one push.
  for (let off = 0; off < wire.length; off += 1000) decoder.push(Buffer.from(wire.subarray(off, off + 1000)));
  t.is(got.length, sent.length);
  for (let i = 0; i < sent.length; i++) t.true(got[i]!.equals(sent[i]!), `frame ${i}`);
  t.deepEqual([...fromScratch].sort((a, b) => a - b), [0, TUNNEL_LIMITS.maxBlock], 'split frames are views of the two buffers, no new ones');
  t.is(decoder.bufferedBytes, 0);

  const small = Buffer.alloc(TUNNEL_LIMITS.maxBlock - 1);
  t.throws(() => new TunnelDecoder({ compressed: false, onFrames: () => {}, partialBuffers: [small, Buffer.alloc(TUNNEL_LIMITS.maxBlock)] }), { instanceOf: RangeError });
  t.throws(() => new TunnelDecoder({ compressed: false, onFrames: () => {}, partialBuffers: [scratch.subarray(0, 3200), scratch.subarray(100, 3300)] }), { message: /non-overlapping/ });
});

test('decoder: frame size limits (1600 ok, 1601 dropped, 3200 dropped, 3201 closes)', (t) => {
  const { decoder, out } = collector(false);
  decoder.push(Buffer.concat([u32(4), u32(1600), frame(1600), u32(1601), frame(1601), u32(3200), frame(3200), u32(10), frame(10)]));
  t.deepEqual(out.frames.map((f) => f.length), [1600, 10], 'later frames still delivered after a drop');
  t.deepEqual(out.drops, ['oversize', 'oversize']);
  t.is(decoder.bufferedBytes, 0);

  // An oversize frame arriving in pieces is skipped, not buffered.
  const c = collector(false);
  const oversize = Buffer.concat([u32(1), u32(3000), frame(3000)]);
  for (let i = 0; i < oversize.length; i += 100) {
    c.decoder.push(oversize.subarray(i, i + 100));
    t.true(c.decoder.bufferedBytes <= 4);
  }
  t.deepEqual(c.out.drops, ['oversize']);

  const bad = collector(false);
  const err = t.throws(() => bad.decoder.push(Buffer.concat([encodeFrames([frame(20)], false), u32(1), u32(3201)])), { instanceOf: ProtocolError });
  t.is(err?.layer, 'tunnel');
  t.is(bad.out.frames.length, 1, 'frames before the violation are delivered');
  t.throws(() => bad.decoder.push(encodeFrames([frame(20)], false)), { instanceOf: ProtocolError }, 'stream stays dead');
  t.is(bad.decoder.bufferedBytes, 0);
});

test('decoder: keep-alive limits (512 ok, 513 closes, 0xFFFFFFFF length closes)', (t) => {
  const { decoder, out } = collector(false);
  decoder.push(Buffer.concat([u32(0xffffffff), u32(512), Buffer.alloc(512)]));
  t.is(out.keepAlives, 1);
  for (const len of [513, 0xffffffff]) {
    const c = collector(false);
    const e = t.throws(() => c.decoder.push(Buffer.concat([u32(0xffffffff), u32(len)])), { instanceOf: ProtocolError });
    t.is(e?.layer, 'tunnel');
  }
});

test('decoder: huge block counts cost nothing until bytes arrive', (t) => {
  const { decoder, out } = collector(false);
  decoder.push(Buffer.concat([u32(0xfffffffe), u32(2), Buffer.from('hi')]));
  t.is(out.frames[0].toString(), 'hi');
  t.is(decoder.bufferedBytes, 0);
});

test('compressed round trip through encoder and decoder', (t) => {
  const frames = [frame(60, 1), frame(1600, 2), Buffer.alloc(1500), frame(1, 3), frame(0)];
  const wire = encodeFrames(frames, true);
  for (const chunkSize of [wire.length, 1, 7, 100]) {
    const { decoder, out } = collector(true);
    for (let i = 0; i < wire.length; i += chunkSize) decoder.push(wire.subarray(i, i + chunkSize));
    // A zero-length frame compresses to a valid stream of nothing; the receiver discards it like the C one.
    t.deepEqual(out.frames.map((f) => f.toString('hex')), frames.slice(0, 4).map((f) => f.toString('hex')));
    t.deepEqual(out.drops, []);
  }
});

test('compressed: bad zlib is dropped with reason inflate, the stream continues', (t) => {
  const good = deflateSync(frame(80));
  const corrupt = Buffer.from(good);
  corrupt[corrupt.length - 1] ^= 0xff; // wrong Adler-32
  const raw = Buffer.from('not zlib at all');
  const truncated = good.subarray(0, good.length - 5);
  const blocks = [corrupt, raw, truncated, good];
  const { decoder, out } = collector(true);
  decoder.push(Buffer.concat([u32(blocks.length), ...blocks.flatMap((b) => [u32(b.length), b])]));
  t.deepEqual(out.drops, ['inflate', 'inflate', 'inflate']);
  t.is(out.frames.length, 1);
  t.true(out.frames[0].equals(frame(80)));
});

test('compressed: a decompression bomb is dropped without inflating it all', (t) => {
  const bomb = deflateSync(Buffer.alloc(3 * 1024 * 1024), { level: 9 }) // deflate tops out near 1000:1;
  t.true(bomb.length < 3200, `bomb is ${bomb.length} bytes`);
  const justOver = deflateSync(Buffer.alloc(1601));
  const exact = deflateSync(Buffer.alloc(1600, 1));
  const { decoder, out } = collector(true);
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < 20; i++) decoder.push(Buffer.concat([u32(1), u32(bomb.length), bomb]));
  const grew = process.memoryUsage().arrayBuffers - before;
  decoder.push(Buffer.concat([u32(2), u32(justOver.length), justOver, u32(exact.length), exact]));
  t.deepEqual(out.drops, [...Array(20).fill('oversize'), 'oversize']);
  t.is(out.frames.length, 1);
  t.is(out.frames[0].length, 1600);
  t.true(grew < 50 * 1024 * 1024, `array buffers grew by ${grew}`);
});

test('compressed mode accepts compressed blocks between 1600 and 3200 bytes', (t) => {
  // Incompressible 1600-byte frames deflate to slightly more than 1600 bytes.
  const noisy = randomBytes(1600);
  const block = deflateSync(noisy);
  t.true(block.length > 1600);
  const { decoder, out } = collector(true);
  decoder.push(Buffer.concat([u32(1), u32(block.length), block]));
  t.deepEqual(out.drops, []);
  t.true(out.frames[0].equals(noisy));
});
