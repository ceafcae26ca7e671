import type { FrameReceiver, Port } from './port.ts';
import { isReusedView, keepFrame } from './port.ts';

/**
 * An in-memory port for tests and the dummy system layer: `write` records the frames (bounded: `maxKept`) and
 * notifies listeners; `inject` plays frames as if they arrived from the medium.
 *
 * Recorded frames are kept by reference (so a test can see that the data path did not copy them) as long as the
 * backing stores they pin stay under `pinnedLimit` bytes, counting each view's whole buffer (a 60-byte view of a
 * 64 KiB socket chunk counts 64 KiB); beyond that a view is recorded as a copy of its own (keepFrame). A view into
 * a native port's reused hand-over buffer is always recorded as a copy: the port's next batch overwrites it.
 */
export class MemoryPort implements Port {
  readonly name: string;
  readonly written: Buffer[] = [];
  readonly maxKept: number;
  readonly pinnedLimit: number;
  dropped = 0;
  #receiver: FrameReceiver | null = null;
  #listeners = new Set<(frame: Buffer) => void>();
  /** Backing-store bytes pinned by each recorded frame kept by reference (0 for those that own their buffer). */
  readonly #pinnedOf: number[] = [];
  #pinned = 0;

  constructor(name = 'memory', maxKept = 4096, pinnedLimit = 16 << 20) {
    this.name = name;
    this.maxKept = maxKept;
    this.pinnedLimit = pinnedLimit;
  }

  /** Bytes of other memory (receive arenas, socket chunks) that recorded frames keep alive now. */
  get pinnedBytes(): number {
    return this.#pinned;
  }

  write(frames: readonly Buffer[]): void {
    for (const f of frames) {
      if (this.written.length >= this.maxKept) {
        this.written.shift();
        this.#pinned -= this.#pinnedOf.shift() ?? 0;
        this.dropped++;
      }
      let kept = f;
      let pins = 0;
      if (isReusedView(f)) kept = keepFrame(f);
      else if (f.buffer.byteLength > 2 * f.length) {
        if (this.#pinned + f.buffer.byteLength <= this.pinnedLimit) pins = f.buffer.byteLength;
        else kept = keepFrame(f);
      }
      this.#pinned += pins;
      this.#pinnedOf.push(pins);
      this.written.push(kept);
      for (const l of this.#listeners) l(kept);
    }
  }

  setReceiver(receiver: FrameReceiver | null): void {
    this.#receiver = receiver;
  }

  /** Frames "arriving from the medium": delivered to the receiver, if any. Returns false if none. */
  inject(frames: readonly Buffer[]): boolean {
    if (!this.#receiver) return false;
    this.#receiver(frames);
    return true;
  }

  /** Call `fn` for every frame written from now on; returns an unsubscribe function. */
  onWrite(fn: (frame: Buffer) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Resolve with the first written frame (from now on) matching `pred`, or reject after `ms`. */
  waitFor(pred: (frame: Buffer) => boolean, ms: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${this.name}: no matching frame within ${ms} ms`));
      }, ms);
      const off = this.onWrite((f) => {
        if (pred(f)) {
          clearTimeout(timer);
          off();
          resolve(f);
        }
      });
    });
  }
}
