import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, realpath, stat, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ChunkReader } from './chunk-reader.ts';
import { FirmwareError } from './errors.ts';

/** Writes go to the slot in batches of about this size (fewer, larger writes for flash; bounded memory). */
export const WRITE_BATCH_BYTES = 1024 * 1024;
/**
 * Flush to the device every this many bytes, so the kernel never holds more than this much unwritten data of
 * the upgrade (a small appliance's RAM), and progress means "on the device", not "in the page cache".
 */
export const SYNC_EVERY_BYTES = 16 * 1024 * 1024;

/** How many bytes a slot can take: a regular file (tests) its size, a block device its size from sysfs. */
export async function deviceCapacity(path: string): Promise<number> {
  const real = await realpath(path);
  const st = await stat(real);
  if (st.isFile()) return st.size;
  if (st.isBlockDevice()) {
    const sectors = Number((await readFile(`/sys/class/block/${basename(real)}/size`, 'utf8')).trim());
    if (!Number.isSafeInteger(sectors)) throw new Error(`cannot read the size of ${real} from sysfs`);
    return sectors * 512; // sysfs counts 512-byte sectors whatever the device's block size
  }
  throw new Error(`${path} is neither a block device nor a regular file`);
}

async function openSlot(path: string): Promise<FileHandle> {
  const st = await stat(path);
  // O_EXCL on a block device (without O_CREAT) fails with EBUSY while it is mounted: never write a live file system.
  // No O_CREAT/O_TRUNC: the slot must exist, and a device cannot be truncated.
  return open(path, constants.O_WRONLY | (st.isBlockDevice() ? constants.O_EXCL : 0));
}

async function writeAll(fh: FileHandle, bufs: Buffer[], position: number): Promise<void> {
  let total = bufs.reduce((a, b) => a + b.length, 0);
  let { bytesWritten } = await fh.writev(bufs, position);
  if (bytesWritten === total) return;
  // A short write (rare; signals, some devices): finish it piece by piece.
  const rest = Buffer.concat(bufs).subarray(bytesWritten);
  position += bytesWritten;
  total = rest.length;
  let off = 0;
  while (off < total) {
    ({ bytesWritten } = await fh.write(rest, off, total - off, position + off));
    if (bytesWritten <= 0) throw new Error('the device accepted no more bytes');
    off += bytesWritten;
  }
}

export interface WriteOptions {
  device: string;
  size: number;
  expectedSha256: string;
  /** Called after every write with the rootfs bytes on their way to the device so far. */
  onProgress?: (written: number) => void;
  batchBytes?: number;
  syncEveryBytes?: number;
}

/**
 * Streams exactly `size` bytes from the reader into the device from offset 0, hashing them on the way; then checks
 * that nothing follows, fsyncs, and compares the SHA-256. Memory: one batch (~1 MiB) plus one source chunk.
 * Throws FirmwareError 'truncated', 'size', 'hash', 'aborted' or 'io'; the slot's contents are then undefined.
 */
export async function writeRootfs(reader: ChunkReader, o: WriteOptions): Promise<void> {
  const batchLimit = o.batchBytes ?? WRITE_BATCH_BYTES;
  const syncEvery = o.syncEveryBytes ?? SYNC_EVERY_BYTES;
  let fh: FileHandle;
  try {
    fh = await openSlot(o.device);
  } catch (e) {
    throw new FirmwareError('io', `cannot open the slot device ${o.device}: ${(e as Error).message}`, { cause: e });
  }
  const hash = createHash('sha256');
  let got = 0;
  let written = 0;
  let sinceSync = 0;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batchBytes === 0) return;
    try {
      await writeAll(fh, batch, written);
      written += batchBytes;
      sinceSync += batchBytes;
      if (sinceSync >= syncEvery) {
        await fh.datasync();
        sinceSync = 0;
      }
    } catch (e) {
      throw new FirmwareError('io', `writing the slot device ${o.device} at byte ${written} failed: ${(e as Error).message}`, { cause: e });
    }
    batch = [];
    batchBytes = 0;
    o.onProgress?.(written);
  };
  try {
    while (got < o.size) {
      const c = await pull(reader, o.size - got);
      if (!c) throw new FirmwareError('truncated', `the upload ended after ${got} of the ${o.size} rootfs bytes the header announces`);
      // SHA-256 of one chunk (at most 64 KiB from a socket) takes well under a millisecond: fine on the event loop.
      hash.update(c);
      got += c.length;
      batch.push(c);
      batchBytes += c.length;
      if (batchBytes >= batchLimit) await flush();
    }
    await flush();
    const extra = await pull(reader, 1);
    if (extra) throw new FirmwareError('size', `the upload goes on after the ${o.size}-byte rootfs the header announces (not this file's header, or a damaged file)`);
    try {
      await fh.sync();
    } catch (e) {
      throw new FirmwareError('io', `fsync of ${o.device} failed: ${(e as Error).message}`, { cause: e });
    }
  } finally {
    await fh.close().catch(() => {});
  }
  const sha = hash.digest('hex');
  if (sha !== o.expectedSha256) {
    throw new FirmwareError('hash', `the rootfs's SHA-256 is ${sha}, the signed header says ${o.expectedSha256} (damaged in transfer or on the way to the device)`);
  }
}

/** A read from the source; its failure (client gone) is an abort, not a bad file. */
export async function pull(reader: ChunkReader, max: number): Promise<Buffer | null> {
  try {
    return await reader.next(max);
  } catch (e) {
    throw new FirmwareError('aborted', `the upload was interrupted after ${reader.received} bytes (${(e as Error).message})`, { cause: e });
  }
}
