/**
 * Frame builders and checkers for the native port tests, written independently of the C code they check
 * (plain 16-bit-word checksums, explicit header layouts).
 */
export const BROADCAST = Buffer.alloc(6, 0xff);

export function mac(s: string): Buffer {
  return Buffer.from(s.replaceAll(':', ''), 'hex');
}

export function macStr(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function ipv4(s: string): Buffer {
  return Buffer.from(s.split('.').map(Number));
}

/** RFC 1071 sum over 16-bit big-endian words, complemented. */
export function inetChecksum(...parts: Buffer[]): number {
  let sum = 0;
  const all = Buffer.concat(parts);
  for (let i = 0; i + 1 < all.length; i += 2) sum += all.readUInt16BE(i);
  if (all.length % 2) sum += all[all.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function eth(dst: Buffer, src: Buffer, type: number, payload: Buffer, vlan?: { tci: number; tpid?: number }): Buffer {
  const tag = vlan ? Buffer.from([(vlan.tpid ?? 0x8100) >> 8, (vlan.tpid ?? 0x8100) & 255, vlan.tci >> 8, vlan.tci & 255]) : Buffer.alloc(0);
  const t = Buffer.from([type >> 8, type & 255]);
  return Buffer.concat([dst, src, tag, t, payload]);
}

export function arpRequest(srcMac: Buffer, srcIp: string, targetIp: string): Buffer {
  const p = Buffer.concat([
    Buffer.from([0, 1, 8, 0, 6, 4, 0, 1]),
    srcMac, ipv4(srcIp), Buffer.alloc(6), ipv4(targetIp),
  ]);
  return eth(BROADCAST, srcMac, 0x0806, p);
}

export function ipv4Header(src: string, dst: string, proto: number, payloadLen: number, id = 1): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payloadLen, 2);
  h.writeUInt16BE(id, 4);
  h.writeUInt16BE(0x4000, 6); // DF
  h[8] = 64;
  h[9] = proto;
  ipv4(src).copy(h, 12);
  ipv4(dst).copy(h, 16);
  h.writeUInt16BE(inetChecksum(h), 10);
  return h;
}

export function ipv6Header(src: Buffer, dst: Buffer, next: number, payloadLen: number): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(payloadLen, 4);
  h[6] = next;
  h[7] = 64;
  src.copy(h, 8);
  dst.copy(h, 24);
  return h;
}

export function udp4Frame(dst: Buffer, src: Buffer, srcIp: string, dstIp: string, payload: Buffer): Buffer {
  const u = Buffer.alloc(8);
  u.writeUInt16BE(40000, 0);
  u.writeUInt16BE(9, 2);
  u.writeUInt16BE(8 + payload.length, 4);
  const ip = ipv4Header(srcIp, dstIp, 17, 8 + payload.length);
  const seg = Buffer.concat([u, payload]);
  seg.writeUInt16BE(inetChecksum(pseudo4(ip, 17, seg.length), seg) || 0xffff, 6);
  return eth(dst, src, 0x0800, Buffer.concat([ip, seg]));
}

export function pseudo4(ip: Buffer, proto: number, len: number): Buffer {
  const p = Buffer.alloc(12);
  ip.copy(p, 0, 12, 20);
  p[9] = proto;
  p.writeUInt16BE(len, 10);
  return p;
}

export function pseudo6(ip: Buffer, proto: number, len: number): Buffer {
  const p = Buffer.alloc(40);
  ip.copy(p, 0, 8, 40);
  p.writeUInt32BE(len, 32);
  p[39] = proto;
  return p;
}

export interface ParsedL4 {
  vlan: number | null;
  ipVersion: 4 | 6;
  l3: number;
  l4: number;
  proto: number;
  payload: Buffer;
  ipHeaderOk: boolean;
  l4ChecksumOk: boolean;
  seq?: number;
  flags?: number;
  ipId?: number;
  srcPort: number;
  dstPort: number;
}

/** Parse an Ethernet/[VLAN]/IPv4|IPv6/TCP|UDP frame and verify every checksum in it; null for anything else. */
export function parseL4(f: Buffer): ParsedL4 | null {
  let off = 12;
  let type = f.readUInt16BE(off);
  let vlan: number | null = null;
  if (type === 0x8100 || type === 0x88a8) {
    vlan = f.readUInt16BE(14);
    type = f.readUInt16BE(16);
    off = 18;
  } else {
    off = 14;
  }
  let l4: number, proto: number, ipVersion: 4 | 6, ipHeaderOk: boolean, pseudo: Buffer, ipId: number | undefined;
  if (type === 0x0800) {
    const ihl = (f[off] & 15) * 4;
    const total = f.readUInt16BE(off + 2);
    if (off + total !== f.length) return null;
    ipHeaderOk = inetChecksum(f.subarray(off, off + ihl)) === 0;
    proto = f[off + 9];
    l4 = off + ihl;
    ipVersion = 4;
    ipId = f.readUInt16BE(off + 4);
    pseudo = pseudo4(f.subarray(off, off + 20), proto, f.length - l4);
  } else if (type === 0x86dd) {
    if (off + 40 + f.readUInt16BE(off + 4) !== f.length) return null;
    proto = f[off + 6];
    l4 = off + 40;
    ipVersion = 6;
    ipHeaderOk = true;
    pseudo = pseudo6(f.subarray(off, off + 40), proto, f.length - l4);
  } else {
    return null;
  }
  const seg = f.subarray(l4);
  const l4ChecksumOk = inetChecksum(pseudo, seg) === 0;
  if (proto === 6) {
    const doff = (f[l4 + 12] >> 4) * 4;
    return {
      vlan, ipVersion, l3: off, l4, proto, payload: f.subarray(l4 + doff), ipHeaderOk, l4ChecksumOk,
      seq: f.readUInt32BE(l4 + 4), flags: f[l4 + 13], ipId, srcPort: f.readUInt16BE(l4), dstPort: f.readUInt16BE(l4 + 2),
    };
  }
  if (proto === 17) {
    return {
      vlan, ipVersion, l3: off, l4, proto, payload: f.subarray(l4 + 8), ipHeaderOk, l4ChecksumOk, ipId,
      srcPort: f.readUInt16BE(l4), dstPort: f.readUInt16BE(l4 + 2),
    };
  }
  return null;
}

/** struct virtio_net_hdr, little-endian as on x86/arm64. */
export function vnetHdr(h: { flags?: number; gsoType?: number; hdrLen?: number; gsoSize?: number; csumStart?: number; csumOffset?: number }): Buffer {
  const b = Buffer.alloc(10);
  b[0] = h.flags ?? 0;
  b[1] = h.gsoType ?? 0;
  b.writeUInt16LE(h.hdrLen ?? 0, 2);
  b.writeUInt16LE(h.gsoSize ?? 0, 4);
  b.writeUInt16LE(h.csumStart ?? 0, 6);
  b.writeUInt16LE(h.csumOffset ?? 0, 8);
  return b;
}

export const VNET = { NEEDS_CSUM: 1, GSO_TCPV4: 1, GSO_UDP: 3, GSO_TCPV6: 4, GSO_UDP_L4: 5, GSO_ECN: 0x80 } as const;
