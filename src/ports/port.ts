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
 * Lifetime: a frame is usually a small VIEW into a much larger buffer: frames from a native port share one
 * ArrayBuffer per batch (up to 512 KiB, native/frame_channel.c), frames from the tunnel are sub-arrays of a TLS/TCP
 * read chunk. A retained 60-byte view keeps that whole buffer alive. So whoever keeps a frame BEYOND the current batch (a queue
 * that outlives the event-loop turn, a capture, a test recorder) must either `keepFrame()` it (copies only when the
 * view pins much more than itself) or bound what it keeps in arena terms and say so. Everything on the data path
 * today is done with a frame within the loop turn it arrived in: the hub forwards synchronously, the cascade's
 * send queue is flushed in the same turn (setImmediate) and the encoder copies into the record, the native send
 * queue copies into its own ring, the tunnel decoder copies partial blocks; MemoryPort (tests) bounds what its
 * recorded frames pin and copies beyond that.
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

/**
 * A frame to keep beyond the batch it came in: the frame itself when its backing store is at most twice its size,
 * else a copy in a buffer of its own (exactly its size, so the copy pins nothing else either).
 */
export function keepFrame(frame: Buffer): Buffer {
  if (frame.buffer.byteLength <= 2 * frame.length) return frame;
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
