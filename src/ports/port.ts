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
 * Ownership: a Buffer handed to `write` or to a receiver is read-only from then on for both sides.
 * The receiver may keep it (queue it) without copying; nobody may mutate it. This is what lets the
 * hub flood one frame to several ports without a copy.
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

/** Wire two ports back to back, like a patch cable: what arrives at one is written to the other. */
export function patch(a: Port, b: Port): () => void {
  a.setReceiver((frames) => b.write(frames));
  b.setReceiver((frames) => a.write(frames));
  return () => {
    a.setReceiver(null);
    b.setReceiver(null);
  };
}
