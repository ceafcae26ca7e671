import { randomFillSync, randomInt } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { ProtocolError } from './errors.ts';

/**
 * Tunnel-mode framing after the welcome (notes §7.1-§7.2). This is the data path: the encoder
 * writes a whole batch with one allocation, the decoder hands out views into the received chunk
 * and copies only blocks that straddle two chunks.
 *
 *   record := u32 count, (u32 len, len bytes) * count      count != 0xFFFFFFFF
 *           | u32 0xFFFFFFFF, u32 ka_len, ka_len bytes      keep-alive
 */

export const TUNNEL_LIMITS = Object.freeze({ maxFrame: 1600, maxBlock: 3200, maxKeepAlive: 512 } as const);

const KEEPALIVE_MARKER = 0xffffffff;

/** One record carrying all `frames`; with `compress`, each block is its own zlib (RFC 1950) stream. */
export function encodeFrames(frames: readonly Uint8Array[], compress: boolean): Buffer {
  const blocks = recordBlocks(frames, compress);
  return writeRecord(Buffer.allocUnsafe(recordSize(blocks)), blocks);
}

/**
 * What goes into a record for `frames`: the frames themselves, or with `compress` their zlib streams. Throws
 * RangeError for a frame over the tunnel limit. Hand the result to recordSize() and writeRecord().
 */
export function recordBlocks(frames: readonly Uint8Array[], compress: boolean): readonly Uint8Array[] {
  for (const f of frames) {
    if (f.length > TUNNEL_LIMITS.maxFrame) {
      throw new RangeError(`frame of ${f.length} bytes exceeds the ${TUNNEL_LIMITS.maxFrame}-byte tunnel limit`);
    }
  }
  return compress ? frames.map((f) => deflateSync(f)) : frames;
}

/** Bytes of the record carrying `blocks`. */
export function recordSize(blocks: readonly Uint8Array[]): number {
  let size = 4;
  for (const b of blocks) size += 4 + b.length;
  return size;
}

/** Writes the record carrying `blocks` into `out` (exactly recordSize(blocks) bytes) and returns `out`. */
export function writeRecord(out: Buffer, blocks: readonly Uint8Array[]): Buffer {
  let off = out.writeUInt32BE(blocks.length, 0);
  for (const b of blocks) {
    off = out.writeUInt32BE(b.length, off);
    out.set(b, off);
    off += b.length;
  }
  return out;
}

/** A keep-alive record; the stock sender uses 0..511 random payload bytes. */
export function encodeKeepAlive(payloadLength?: number): Buffer {
  const n = payloadLength ?? randomInt(0, TUNNEL_LIMITS.maxKeepAlive);
  if (!Number.isInteger(n) || n < 0 || n > TUNNEL_LIMITS.maxKeepAlive) {
    throw new RangeError(`keep-alive payload must be 0..${TUNNEL_LIMITS.maxKeepAlive} bytes, got ${n}`);
  }
  const out = Buffer.allocUnsafe(8 + n);
  out.writeUInt32BE(KEEPALIVE_MARKER, 0);
  out.writeUInt32BE(n, 4);
  if (n > 0) randomFillSync(out, 8, n);
  return out;
}

export interface TunnelDecoderOptions {
  compressed: boolean;
  /** Called at most once per push(), with every frame completed by that push. */
  onFrames: (frames: Buffer[]) => void;
  onKeepAlive?: () => void;
  /** A frame was discarded but the connection stays up (what the C receiver does too). */
  onDrop?: (reason: 'oversize' | 'inflate') => void;
  /**
   * Two buffers of at least TUNNEL_LIMITS.maxBlock bytes in which blocks split across pushes are assembled, taken
   * in turn, so a frame assembled in one is valid until the push after the one that delivered it (the receiver
   * copies what it keeps). Without them every split block gets a new buffer of its own.
   */
  partialBuffers?: readonly [Buffer, Buffer];
}

function overlap(a: Buffer, b: Buffer): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

// What the next bytes of the stream are.
const S_COUNT = 0; // u32 record header: block count or keep-alive marker
const S_KA_LEN = 1; // u32 keep-alive payload length
const S_KA_BODY = 2; // keep-alive payload, skipped
const S_BLOCK_LEN = 3; // u32 block length
const S_BLOCK_BODY = 4; // block bytes, delivered
const S_BLOCK_SKIP = 5; // block bytes of an oversize frame, skipped
const S_FAILED = 6;

/**
 * Push-based stream decoder. Holds at most one partial u32 header plus one partial block, so
 * memory stays bounded whatever the peer sends; violations that the stock receiver answers by
 * closing the connection throw ProtocolError('tunnel').
 */
export class TunnelDecoder {
  readonly #compressed: boolean;
  readonly #onFrames: (frames: Buffer[]) => void;
  readonly #onKeepAlive: (() => void) | undefined;
  readonly #onDrop: ((reason: 'oversize' | 'inflate') => void) | undefined;

  #state = S_COUNT;
  // Partial u32 header carried across chunks.
  readonly #hdr = Buffer.alloc(4);
  #hdrLen = 0;
  #blocksLeft = 0; // blocks still expected in the current record
  #remaining = 0; // bytes still expected of the current keep-alive payload / block
  // A block split across chunks is assembled here (only then is anything copied).
  #partial: Buffer | null = null;
  #partialLen = 0;
  readonly #scratch: readonly [Buffer, Buffer] | undefined;
  #nextScratch = 0;
  #failure: ProtocolError | null = null;

  constructor(opts: TunnelDecoderOptions) {
    this.#compressed = opts.compressed;
    this.#onFrames = opts.onFrames;
    this.#onKeepAlive = opts.onKeepAlive;
    this.#onDrop = opts.onDrop;
    const scratch = opts.partialBuffers;
    if (scratch && (scratch[0].length < TUNNEL_LIMITS.maxBlock || scratch[1].length < TUNNEL_LIMITS.maxBlock || overlap(scratch[0], scratch[1]))) {
      throw new RangeError(`partialBuffers must be two non-overlapping buffers of at least ${TUNNEL_LIMITS.maxBlock} bytes`);
    }
    this.#scratch = scratch;
  }

  /** Bytes held between pushes: a partial header (< 4) or a partial block (< 3200). */
  get bufferedBytes(): number {
    return this.#hdrLen + this.#partialLen;
  }

  push(chunk: Buffer): void {
    if (this.#failure) throw this.#failure;
    let frames: Buffer[] | null = null;
    const deliver = (f: Buffer): void => {
      if (frames === null) frames = [f];
      else frames.push(f);
    };
    try {
      this.#consume(chunk, deliver);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.#failure = e;
      this.#state = S_FAILED;
      this.#partial = null;
      this.#partialLen = 0;
      this.#hdrLen = 0;
      // Frames that arrived before the violation are still good, like the C receiver's.
      if (frames !== null) this.#onFrames(frames);
      throw e;
    }
    if (frames !== null) this.#onFrames(frames);
  }

  #consume(chunk: Buffer, deliver: (f: Buffer) => void): void {
    const len = chunk.length;
    let off = 0;
    while (off < len) {
      switch (this.#state) {
        case S_COUNT:
        case S_KA_LEN:
        case S_BLOCK_LEN: {
          let v: number;
          if (this.#hdrLen === 0 && len - off >= 4) {
            v = chunk.readUInt32BE(off);
            off += 4;
          } else {
            const take = Math.min(4 - this.#hdrLen, len - off);
            chunk.copy(this.#hdr, this.#hdrLen, off, off + take);
            this.#hdrLen += take;
            off += take;
            if (this.#hdrLen < 4) return;
            this.#hdrLen = 0;
            v = this.#hdr.readUInt32BE(0);
          }
          this.#onHeader(v);
          break;
        }
        case S_KA_BODY:
        case S_BLOCK_SKIP: {
          const take = Math.min(this.#remaining, len - off);
          off += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#endSkip();
          break;
        }
        case S_BLOCK_BODY: {
          const need = this.#remaining;
          if (this.#partial === null && len - off >= need) {
            // Whole block inside this chunk: hand out a view, no copy.
            this.#onBlock(chunk.subarray(off, off + need), deliver);
            off += need;
          } else {
            if (this.#partial === null) {
              // A block assembled in one scratch buffer may still be in this push's frames: start in the other.
              const scratch = this.#scratch;
              if (scratch) {
                this.#partial = scratch[this.#nextScratch]!.subarray(0, need);
                this.#nextScratch ^= 1;
              } else {
                this.#partial = Buffer.allocUnsafe(need);
              }
              this.#partialLen = 0;
            }
            const take = Math.min(need - this.#partialLen, len - off);
            chunk.copy(this.#partial, this.#partialLen, off, off + take);
            this.#partialLen += take;
            off += take;
            if (this.#partialLen < need) return;
            const block = this.#partial;
            this.#partial = null;
            this.#partialLen = 0;
            this.#onBlock(block, deliver);
          }
          break;
        }
        default:
          return;
      }
    }
  }

  #onHeader(v: number): void {
    switch (this.#state) {
      case S_COUNT:
        if (v === KEEPALIVE_MARKER) {
          this.#state = S_KA_LEN;
        } else if (v > 0) {
          this.#blocksLeft = v;
          this.#state = S_BLOCK_LEN;
        } // count 0: an empty record, stay in S_COUNT
        return;
      case S_KA_LEN:
        if (v > TUNNEL_LIMITS.maxKeepAlive) {
          throw new ProtocolError('tunnel', `keep-alive payload of ${v} bytes exceeds ${TUNNEL_LIMITS.maxKeepAlive}`);
        }
        this.#remaining = v;
        if (v === 0) this.#endSkip();
        else this.#state = S_KA_BODY;
        return;
      case S_BLOCK_LEN:
        if (v > TUNNEL_LIMITS.maxBlock) {
          throw new ProtocolError('tunnel', `block of ${v} bytes exceeds ${TUNNEL_LIMITS.maxBlock}`);
        }
        if (v === 0) {
          this.#endBlock(); // legal and meaningless
        } else if (!this.#compressed && v > TUNNEL_LIMITS.maxFrame) {
          // Oversize but within the block limit: skip its bytes without buffering them.
          this.#remaining = v;
          this.#state = S_BLOCK_SKIP;
          this.#onDrop?.('oversize');
        } else {
          this.#remaining = v;
          this.#state = S_BLOCK_BODY;
        }
        return;
    }
  }

  #endSkip(): void {
    if (this.#state === S_BLOCK_SKIP) {
      this.#endBlock();
    } else {
      this.#state = S_COUNT;
      this.#onKeepAlive?.();
    }
  }

  #endBlock(): void {
    this.#blocksLeft--;
    this.#state = this.#blocksLeft === 0 ? S_COUNT : S_BLOCK_LEN;
  }

  #onBlock(block: Buffer, deliver: (f: Buffer) => void): void {
    this.#endBlock();
    if (!this.#compressed) {
      deliver(block);
      return;
    }
    let frame: Buffer;
    try {
      // The output cap makes a decompression bomb cost at most 1600 bytes.
      frame = inflateSync(block, { maxOutputLength: TUNNEL_LIMITS.maxFrame });
    } catch (e) {
      const tooBig = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      this.#onDrop?.(tooBig ? 'oversize' : 'inflate');
      return;
    }
    if (frame.length > 0) deliver(frame);
  }
}
