import net from 'node:net';

/**
 * Reading a connected socket into one caller-owned buffer instead of a new ArrayBuffer per read.
 *
 * Node allocates the memory for every chunk a stream reads (TLS plaintext, TCP bytes) from 64 KiB ArrayBuffers it
 * slices. At 1 Gbit/s that is ~150 MB/s of malloc'd memory that only a garbage collection gives back, and when the
 * stream is slow (the ACK trickle coming back while the LAN uploads) a 64 KiB buffer lives long enough to be
 * promoted and then waits for a full GC: measured, the largest part of the bridge's memory under load and the
 * swings of the soak (bench/README.md, "Memory under load").
 *
 * Node has the mechanism (net.Socket's `onread: { buffer, callback }`: the native stream copies each read into the
 * given buffer and calls back with the byte count) but does not offer it for a TLS socket started on an existing
 * socket, which is how every connection is made here (dial + proxy dialog, then TLS). The switch below is what the
 * net.Socket constructor does for `onread`, applied to a socket that already exists: the native handle's
 * useUserBuffer() and the two fields Node's read callback looks at. They are internal to Node, found by name on a
 * probe socket; if that ever fails (another Node), readInto() returns false and the caller keeps 'data' events.
 * test/session/read-into.test.ts checks that the pinned Node takes this path.
 */
interface Internals {
  kBuffer: symbol;
  kBufferCb: symbol;
}

let internals: Internals | null | undefined;

function findInternals(): Internals | null {
  const probe = new net.Socket({ onread: { buffer: Buffer.alloc(1), callback: () => true } });
  const syms = Object.getOwnPropertySymbols(probe);
  probe.destroy();
  const kBuffer = syms.find((s) => s.description === 'kBuffer');
  const kBufferCb = syms.find((s) => s.description === 'kBufferCb');
  if (!kBuffer || !kBufferCb) return null;
  return { kBuffer, kBufferCb };
}

interface UserBufferHandle {
  useUserBuffer?: (buf: Uint8Array) => void;
}

/**
 * From now on, every read of `socket` is copied into `buffer` and handed to `onChunk` as a view of it, valid only
 * during the call (the next read overwrites it). Bytes the socket had already read stay queued and come as 'data'
 * events first, so keep a 'data' listener that does the same as onChunk. End, errors and close are unchanged.
 * `onChunk` returning false stops reading (the kernel keeps the rest; TCP flow control holds the sender back) until
 * resumeReading(); plaintext TLS already decrypted from the same TCP read still comes.
 * Returns false (nothing changed) when the socket has no native handle or this Node does not have the mechanism.
 */
export function readInto(socket: net.Socket, buffer: Buffer, onChunk: (chunk: Buffer) => boolean | void): boolean {
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function') return false;
  internals ??= findInternals();
  if (!internals) return false;
  const s = socket as unknown as Record<symbol, unknown>;
  s[internals.kBuffer] = buffer;
  s[internals.kBufferCb] = (n: number): boolean => onChunk(buffer.subarray(0, n)) !== false;
  handle.useUserBuffer(buffer);
  return true;
}

/** Reading again after onChunk returned false: from the next poll phase on (public API: Readable.read(0)). */
export function resumeReading(socket: net.Socket): void {
  socket.read(0);
}
