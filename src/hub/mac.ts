/**
 * MAC addresses as plain numbers (48 bits fit exactly in a double), so the hot path can key a Map
 * without allocating a string or a Buffer slice per frame.
 */

/** The 6 bytes at `offset` as a number in [0, 2^48). Caller guarantees offset + 6 <= buf.length. */
export function macKeyAt(buf: Buffer, offset: number): number {
  return (buf[offset]! * 256 + buf[offset + 1]!) * 4294967296 +
    buf[offset + 2]! * 16777216 + buf[offset + 3]! * 65536 + buf[offset + 4]! * 256 + buf[offset + 5]!;
}

/** Group (multicast or broadcast) addresses have the I/G bit, the lowest bit of the first byte, set. */
export function isGroupMacAt(buf: Buffer, offset: number): boolean {
  return (buf[offset]! & 1) === 1;
}

export function macKeyToString(key: number): string {
  return key.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}
