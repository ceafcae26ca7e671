/**
 * The one interface everything on the data path plugs into.
 *
 * A Port is one end of an Ethernet segment as seen by its owner (the hub, or a test):
 *  - `write(frames)` sends frames OUT through the port's medium (to the NIC, to the VPN server, ...);
 *  - frames that ARRIVE from the medium are handed to the receiver set with `setReceiver`.
 *
 * Frames travel in batches (one call per batch, never one per frame) because the expensive thing on
 * the hot path is crossing a boundary (JS<->C, event loop turns), not the frame itself.
 *
 * Ownership: a Buffer handed to `write` or to a receiver is read-only from then on for both sides; nobody may
 * mutate it. This is what lets the hub flood one frame to several ports without a copy.
 *
 * Lifetime: a frame is usually a small VIEW into a much larger buffer that its port fills again, so it is valid
 * only for a while:
 *  - frames from a native port are views into the channel's one hand-over ArrayBuffer (512 KiB), which the next
 *    batch fills again (native/frame_channel.c): valid until the end of the event-loop turn they arrived in;
 *  - frames from the tunnel are views into their TCP connection's read buffer, which the next read overwrites,
 *    possibly in the same turn (src/session/read-into.ts): valid only DURING the receiver call (`isTransientView`).
 * A new buffer per batch or per read was the largest part of the bridge's memory under load (bench/README.md).
 * So whoever keeps a frame beyond the call must `keepFrame()` it: that copies a view into a reused buffer always,
 * and any other view when it pins much more than itself. Everything on the data path today is done with a frame in
 * time: the hub forwards synchronously; the native send queue copies into its own ring; the tunnel decoder
 * assembles split blocks in two scratch buffers of its connection, transient like the read buffer; the cascade's
 * send queue is flushed in the same turn (setImmediate, the check phase, before the next poll phase can bring a
 * second batch), the encoder copies into the record, and a frame valid only during the call is copied when queued;
 * MemoryPort (tests) copies what comes from a reused buffer and bounds what its other recorded frames pin.
 */
export type FrameReceiver = (frames: readonly Buffer[]) => void;

export interface Port {
  /** Short human name for logs and counters, e.g. "cascade", "eth1", "tap0". */
  readonly name: string;
  /** Send frames out through this port. Never blocks; a port that cannot keep up drops (and counts it). */
  write(frames: readonly Buffer[]): void;
  /** Where frames arriving from the medium go. `null` detaches (frames are then dropped). */
  setReceiver(receiver: FrameReceiver | null): void;
}

/** ArrayBuffers a port fills again with every batch or read: a view into one is valid only for a while (above). */
const reusedBuffers = new WeakSet<ArrayBufferLike>();

/** Called by a port that hands out views into `buffer` and will overwrite it with a later batch (next turn). */
export function markReused(buffer: ArrayBufferLike): void {
  reusedBuffers.add(buffer);
}

/** True if `frame` is a view into a buffer a port will overwrite (see markReused, markTransient). */
export function isReusedView(frame: Buffer): boolean {
  return reusedBuffers.has(frame.buffer);
}

/** Buffers overwritten by the next read, possibly within the same turn: a view is valid only during the call. */
const transientBuffers = new WeakSet<ArrayBufferLike>();

/** Called by whoever hands out views into `buffer` that are valid only until the receiver returns. */
export function markTransient(buffer: ArrayBufferLike): void {
  transientBuffers.add(buffer);
  reusedBuffers.add(buffer);
}

/** True if `frame` is valid only during the receiver call it came with (see markTransient). */
export function isTransientView(frame: Buffer): boolean {
  return transientBuffers.has(frame.buffer);
}

/**
 * A frame to keep beyond the turn it came in: the frame itself when it owns its backing store (at most twice its
 * size, never a port's reused buffer), else a copy in a buffer of its own (exactly its size, so the copy pins
 * nothing else either).
 */
export function keepFrame(frame: Buffer): Buffer {
  if (frame.buffer.byteLength <= 2 * frame.length && !reusedBuffers.has(frame.buffer)) return frame;
  const copy = Buffer.allocUnsafeSlow(frame.length);
  frame.copy(copy);
  return copy;
}

/** Wire two ports back to back, like a patch cable: what arrives at one is written to the other. */
export function patch(a: Port, b: Port): () => void {
  a.setReceiver((frames) => b.write(frames));
  b.setReceiver((frames) => a.write(frames));
  return () => {
    a.setReceiver(null);
    b.setReceiver(null);
  };
}
