/**
 * A size-bounded, rotated log file for a RAM disk (e.g. /run/sebridge/sebridge.log): at most `files` files of at
 * most `maxBytes` each (path, path.1, ... path.N-1), so the log can never fill the disk, and nothing is written to
 * flash. Writes are asynchronous and batched (one write in flight; lines queued meanwhile are joined into the
 * next write); the queue is bounded in bytes and drops (and counts) lines beyond it, so a stuck disk never grows
 * memory or blocks the event loop.
 */
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface RotatingFileOptions {
  path: string;
  /** Largest size of one file (default 256 KiB). */
  maxBytes?: number;
  /** Number of files including the current one (default 4). */
  files?: number;
  /** Bytes queued while a write is in flight before lines are dropped (default 1 MiB). */
  maxQueueBytes?: number;
}

export interface RotatingFileStats {
  path: string;
  writtenBytes: number;
  rotations: number;
  droppedLines: number;
  queuedBytes: number;
  lastError: string | null;
}

export class RotatingFileWriter {
  readonly path: string;
  readonly maxBytes: number;
  readonly files: number;
  readonly #maxQueueBytes: number;
  #queue: string[] = [];
  #queuedBytes = 0;
  #fh: FileHandle | null = null;
  #size = 0;
  #writing: Promise<void> | null = null;
  #closed = false;
  #stats = { writtenBytes: 0, rotations: 0, droppedLines: 0, lastError: null as string | null };

  constructor(o: RotatingFileOptions) {
    if (typeof o.path !== 'string' || !o.path.startsWith('/')) throw new Error('log.file.path: an absolute path');
    this.path = o.path;
    this.maxBytes = o.maxBytes ?? 256 * 1024;
    this.files = o.files ?? 4;
    this.#maxQueueBytes = o.maxQueueBytes ?? 1024 * 1024;
    if (!Number.isInteger(this.maxBytes) || this.maxBytes < 1024) throw new Error('log.file.maxBytes: an integer >= 1024');
    if (!Number.isInteger(this.files) || this.files < 1 || this.files > 100) throw new Error('log.file.files: an integer 1..100');
    if (!Number.isInteger(this.#maxQueueBytes) || this.#maxQueueBytes < 1024) throw new Error('log.file.maxQueueBytes: an integer >= 1024');
  }

  /** Queue one line (with its newline). Never blocks, never throws. */
  write(line: string): void {
    if (this.#closed) return;
    // A single line may not exceed a file: cut it (keeping the newline) rather than break rotation.
    let bytes = Buffer.byteLength(line);
    if (bytes > this.maxBytes) {
      // Cut a few bytes short: a multi-byte character cut in half becomes one 3-byte replacement character.
      line = `${Buffer.from(line).subarray(0, this.maxBytes - 4).toString('utf8')}\n`;
      bytes = Buffer.byteLength(line);
    }
    if (this.#queuedBytes + bytes > this.#maxQueueBytes) {
      this.#stats.droppedLines++;
      return;
    }
    this.#queue.push(line);
    this.#queuedBytes += bytes;
    if (!this.#writing) this.#writing = this.#drain().finally(() => (this.#writing = null));
  }

  /** Resolves when everything queued so far is written (or dropped on error). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    await this.#fh?.close().catch(() => {});
    this.#fh = null;
  }

  stats(): RotatingFileStats {
    return { path: this.path, ...this.#stats, queuedBytes: this.#queuedBytes };
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      let chunk: Buffer | null = null;
      try {
        await this.#ensureOpen();
        // Rotate between lines: when the next line no longer fits, the current file is full.
        if (this.#size > 0 && this.#size + Buffer.byteLength(this.#queue[0]) > this.maxBytes) await this.#rotate();
        chunk = this.#takeChunk(this.maxBytes - this.#size);
        await this.#fh!.write(chunk);
        this.#size += chunk.length;
        this.#stats.writtenBytes += chunk.length;
      } catch (e) {
        // Disk full, directory removed...: drop what was taken (or the next line), count it, reopen next time.
        if (!chunk) chunk = this.#takeChunk(0);
        this.#stats.droppedLines += chunk.toString('utf8').split('\n').length - 1;
        this.#stats.lastError = (e as Error).message;
        await this.#fh?.close().catch(() => {});
        this.#fh = null;
      }
    }
  }

  /** Queued lines that fit into `room` bytes (always at least one line), as one buffer. */
  #takeChunk(room: number): Buffer {
    const take: string[] = [];
    let bytes = 0;
    while (this.#queue.length > 0) {
      const n = Buffer.byteLength(this.#queue[0]);
      if (take.length > 0 && bytes + n > room) break;
      take.push(this.#queue.shift()!);
      bytes += n;
      this.#queuedBytes -= n;
    }
    return Buffer.from(take.join(''));
  }

  async #ensureOpen(): Promise<void> {
    if (this.#fh) return;
    await mkdir(dirname(this.path), { recursive: true });
    this.#fh = await open(this.path, 'a', 0o640);
    this.#size = (await this.#fh.stat()).size;
  }

  async #rotate(): Promise<void> {
    await this.#fh?.close();
    this.#fh = null;
    if (this.files === 1) {
      await rm(this.path, { force: true });
    } else {
      for (let i = this.files - 1; i >= 1; i--) {
        const from = i === 1 ? this.path : `${this.path}.${i - 1}`;
        await rename(from, `${this.path}.${i}`).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
      }
    }
    this.#stats.rotations++;
    this.#fh = await open(this.path, 'a', 0o640);
    this.#size = (await stat(this.path)).size;
  }
}
