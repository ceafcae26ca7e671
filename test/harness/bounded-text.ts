/**
 * Keeps only the last `limit` bytes of a stream. The server runs in --foreground and writes its
 * log to stdout for as long as it lives; we want its tail for error messages, not unbounded memory.
 */
export class BoundedText {
  readonly limit: number;
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes thrown away so far; lets a reader see the text is a tail, not the whole. */
  dropped = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 0) {
      const first = this.chunks[0];
      const excess = this.size - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
        this.dropped += excess;
      }
    }
  }

  get length(): number {
    return this.size;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
