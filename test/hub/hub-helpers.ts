import type { FrameReceiver, Port } from '../../src/ports/port.ts';

/** "02:00:00:00:00:0a" -> Buffer */
export function mac(s: string): Buffer {
  return Buffer.from(s.split(':').join(''), 'hex');
}

/** A minimal Ethernet frame dst|src|type|payload, `size` bytes in all (>= 14). */
export function frame(dst: string | Buffer, src: string | Buffer, size = 60, tag = 0): Buffer {
  const f = Buffer.alloc(size);
  (typeof dst === 'string' ? mac(dst) : dst).copy(f, 0);
  (typeof src === 'string' ? mac(src) : src).copy(f, 6);
  if (size >= 14) f.writeUInt16BE(0x88b5, 12); // IEEE local experimental EtherType
  if (size >= 16) f.writeUInt16BE(tag, 14);
  return f;
}

/** The n-th locally administered unicast MAC 06:xx:xx:xx:xx:xx (apart from the 02: names used in tests). */
export function nthMac(n: number): Buffer {
  const b = Buffer.alloc(6);
  b[0] = 0x06;
  b.writeUIntBE(n, 1, 5);
  return b;
}

/** A port that records every write() call (one entry per batch) and can inject frames. */
export class RecordingPort implements Port {
  readonly name: string;
  readonly calls: Buffer[][] = [];
  receiver: FrameReceiver | null = null;
  onWriteHook: ((frames: readonly Buffer[]) => void) | null = null;

  constructor(name: string) {
    this.name = name;
  }

  write(frames: readonly Buffer[]): void {
    this.calls.push([...frames]);
    this.onWriteHook?.(frames);
  }

  setReceiver(receiver: FrameReceiver | null): void {
    this.receiver = receiver;
  }

  inject(...frames: Buffer[]): void {
    if (!this.receiver) throw new Error(`${this.name}: not attached`);
    this.receiver(frames);
  }

  /** All frames written so far, flattened. */
  get frames(): Buffer[] {
    return this.calls.flat();
  }

  clear(): void {
    this.calls.length = 0;
  }
}

export class FakeClock {
  t = 1_000;
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}
