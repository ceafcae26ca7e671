import type { FrameReceiver, Port } from './port.ts';

/**
 * An in-memory port for tests and the dummy system layer: `write` records the frames (bounded) and
 * notifies listeners; `inject` plays frames as if they arrived from the medium.
 */
export class MemoryPort implements Port {
  readonly name: string;
  readonly written: Buffer[] = [];
  readonly maxKept: number;
  dropped = 0;
  #receiver: FrameReceiver | null = null;
  #listeners = new Set<(frame: Buffer) => void>();

  constructor(name = 'memory', maxKept = 4096) {
    this.name = name;
    this.maxKept = maxKept;
  }

  write(frames: readonly Buffer[]): void {
    for (const f of frames) {
      if (this.written.length >= this.maxKept) {
        this.written.shift();
        this.dropped++;
      }
      this.written.push(f);
      for (const l of this.#listeners) l(f);
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
