/**
 * Pulls bytes from an async iterable of chunks (an HTTP request, a file stream) in the sizes the parser asks for.
 * Holds at most one chunk of the source beyond what was asked for; nothing is read ahead, so the source's own
 * flow control (TCP) is the backpressure: while the caller awaits a write, no further chunk is pulled.
 *
 * The reader never closes the source: the caller owns it (after a refusal the web route drains what the client is
 * still sending, so the client reads the answer instead of a reset).
 */
export class ChunkReader {
  readonly #it: AsyncIterator<Uint8Array>;
  #left: Buffer | null = null;
  #ended = false;
  /** Bytes taken from the source so far. */
  received = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#it = source[Symbol.asyncIterator]();
  }

  async #pull(): Promise<Buffer | null> {
    if (this.#left) {
      const b = this.#left;
      this.#left = null;
      return b;
    }
    if (this.#ended) return null;
    const r = await this.#it.next();
    if (r.done) {
      this.#ended = true;
      return null;
    }
    const v = r.value;
    const b = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    this.received += b.length;
    return b;
  }

  /** Exactly `n` bytes (meant for small n: they are gathered in memory), fewer only if the source ended. */
  async exact(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const c = await this.#pull();
      if (!c) break;
      const need = n - got;
      if (c.length > need) {
        parts.push(c.subarray(0, need));
        this.#left = c.subarray(need);
        got = n;
      } else {
        parts.push(c);
        got += c.length;
      }
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
  }

  /** The next piece of at most `max` bytes (as the source delivered it, or its front), null at the end. */
  async next(max: number): Promise<Buffer | null> {
    const c = await this.#pull();
    if (c && c.length > max) {
      this.#left = c.subarray(max);
      return c.subarray(0, max);
    }
    return c;
  }
}
