/**
 * Reused memory for the tunnel records a session writes.
 *
 * Without it every record is a new ArrayBuffer whose C heap memory V8 frees only after the JavaScript object
 * dies in a garbage collection: at 1 Gbit/s that is ~125 MB/s of malloc'd memory waiting for the next scavenge,
 * or, for records that sat in a socket's queue long enough to be promoted, for the next full GC. Measured, that
 * waiting memory was one of the largest parts of the bridge's anonymous memory under load (bench/README.md,
 * "Memory under load").
 *
 * Space is handed out at the head of one circular buffer, in order; a socket keeps its record until the write has
 * completed, and the space comes back when its write's callback has run (any order across sockets: the tail
 * moves over every region whose write is done). A record that does not fit (the ring is full, or the record is
 * larger than half of it) gets a Buffer of its own, as before. The buffer is allocated on first use.
 */
export class RecordRing {
  readonly #capacity: number;
  #mem: Buffer | undefined;
  /** Where the next record starts. */
  #head = 0;
  /** Bytes handed out and not yet back, including unused ends skipped when a record wrapped around. */
  #used = 0;
  /** Outstanding regions in the order they were taken: the bytes each books and whether its write is done. */
  #firstSeq = 0;
  #count = 0;
  #booked = new Uint32Array(64);
  #done = new Uint8Array(64);
  /** The region of the last take(), or -1 when that record got memory of its own. */
  lastSeq = -1;
  /** Records written from the ring / into a Buffer of their own. */
  pooled = 0;
  allocated = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 4096) throw new RangeError(`record ring capacity must be an integer >= 4096, got ${capacity}`);
    this.#capacity = capacity;
  }

  /** Bytes of ring memory held by writes that have not completed. */
  get inUse(): number {
    return this.#used;
  }

  /**
   * Memory for one record of `size` bytes. When it is the ring's (lastSeq >= 0), pass lastSeq to release() once
   * nothing reads the record any more (its write's callback ran, or its socket closed).
   */
  take(size: number): Buffer {
    const start = size > this.#capacity / 2 ? -1 : this.#place(size);
    if (start < 0) {
      this.lastSeq = -1;
      this.allocated++;
      return Buffer.allocUnsafe(size);
    }
    this.pooled++;
    this.#mem ??= Buffer.allocUnsafeSlow(this.#capacity);
    return this.#mem.subarray(start, start + size);
  }

  /** The record of region `seq` is no longer read (negative: not the ring's memory, nothing to do). */
  release(seq: number): void {
    const i = seq - this.#firstSeq;
    if (seq < 0 || i < 0 || i >= this.#count) return;
    const len = this.#booked.length;
    this.#done[(this.#firstSeq + i) % len] = 1;
    // Move the tail over every finished region at the front.
    while (this.#count > 0) {
      const slot = this.#firstSeq % len;
      if (!this.#done[slot]) break;
      this.#used -= this.#booked[slot]!;
      this.#done[slot] = 0;
      this.#firstSeq++;
      this.#count--;
    }
    if (this.#used === 0) this.#head = 0;
  }

  /** Start of `size` free contiguous bytes (booked as the next region, lastSeq set), or -1 when there are none. */
  #place(size: number): number {
    const cap = this.#capacity;
    let start: number;
    let booked: number;
    if (this.#used === 0) {
      start = 0;
      booked = size;
    } else {
      if (this.#used >= cap) return -1;
      const head = this.#head;
      const tail = (head - this.#used + cap) % cap;
      if (head > tail) {
        // In use: [tail, head). Free: [head, cap), then [0, tail) once the record has to wrap around.
        if (cap - head >= size) {
          start = head;
          booked = size;
        } else if (tail >= size) {
          start = 0;
          booked = cap - head + size;
        } else {
          return -1;
        }
      } else {
        // In use: [tail, cap) and [0, head). Free: [head, tail).
        if (tail - head < size) return -1;
        start = head;
        booked = size;
      }
    }
    this.#head = (start + size) % cap;
    this.#used += booked;
    this.lastSeq = this.#push(booked);
    return start;
  }

  #push(booked: number): number {
    if (this.#count === this.#booked.length) {
      const n = this.#booked.length;
      const b = new Uint32Array(n * 2);
      const d = new Uint8Array(n * 2);
      for (let k = 0; k < this.#count; k++) {
        const from = (this.#firstSeq + k) % n;
        const to = (this.#firstSeq + k) % (n * 2);
        b[to] = this.#booked[from]!;
        d[to] = this.#done[from]!;
      }
      this.#booked = b;
      this.#done = d;
    }
    const seq = this.#firstSeq + this.#count;
    const slot = seq % this.#booked.length;
    this.#booked[slot] = booked;
    this.#done[slot] = 0;
    this.#count++;
    return seq;
  }
}

/** A first-in first-out queue of numbers on a growable circular array (no per-item allocation). */
export class NumberQueue {
  #items = new Float64Array(16);
  #first = 0;
  #count = 0;

  get length(): number {
    return this.#count;
  }

  push(v: number): void {
    if (this.#count === this.#items.length) {
      const bigger = new Float64Array(this.#items.length * 2);
      for (let k = 0; k < this.#count; k++) bigger[k] = this.#items[(this.#first + k) % this.#items.length]!;
      this.#items = bigger;
      this.#first = 0;
    }
    this.#items[(this.#first + this.#count) % this.#items.length] = v;
    this.#count++;
  }

  /** The oldest item, removed; undefined when empty. */
  shift(): number | undefined {
    if (this.#count === 0) return undefined;
    const v = this.#items[this.#first]!;
    this.#first = (this.#first + 1) % this.#items.length;
    this.#count--;
    return v;
  }
}
