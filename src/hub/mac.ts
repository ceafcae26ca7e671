/**
 * MAC addresses on the hot path are two 24-bit integers (high half = OUI, low half = NIC part), read
 * straight from the frame: they stay small integers in V8, so no string, slice or boxed number is
 * allocated per frame.
 */

/** Upper 3 bytes of the MAC at `offset`. Caller guarantees offset + 6 <= buf.length. */
export function macHiAt(buf: Buffer, offset: number): number {
  return (buf[offset]! << 16) | (buf[offset + 1]! << 8) | buf[offset + 2]!;
}

/** Lower 3 bytes of the MAC at `offset`. */
export function macLoAt(buf: Buffer, offset: number): number {
  return (buf[offset + 3]! << 16) | (buf[offset + 4]! << 8) | buf[offset + 5]!;
}

/** Group (multicast or broadcast) addresses have the I/G bit, the lowest bit of the first byte, set. */
export function isGroupMacAt(buf: Buffer, offset: number): boolean {
  return (buf[offset]! & 1) === 1;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

export function macToString(hi: number, lo: number): string {
  return [hi >> 16, (hi >> 8) & 255, hi & 255, lo >> 16, (lo >> 8) & 255, lo & 255].map(hex2).join(':');
}
