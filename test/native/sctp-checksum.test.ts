// A partial checksum on an SCTP packet (the kernel's csum_not_inet: VIRTIO_NET_HDR_F_NEEDS_CSUM with the field at
// offset 8 of the SCTP common header) is a CRC32c over the whole SCTP packet, stored least significant byte first
// (RFC 9260 appendix A; Linux's sctp_compute_cksum). The receive fix-up used to "complete" it as an Internet
// checksum, which corrupted every such packet. Checked against an independent bitwise CRC32c here, which is itself
// checked against the published check values.
import test from 'ava';
import { loadNative } from '../../src/ports/native.ts';
import { eth, ipv4Header, ipv6Header, mac, vnetHdr, VNET } from './frames.ts';

const native = loadNative();
const A = mac('02:5e:b0:00:03:01');
const B = mac('02:5e:b0:00:03:02');

/** Bitwise CRC32c (reflected 0x82F63B78), no table: a second, independent implementation. */
function crc32c(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** An SCTP packet: common header (ports, verification tag, checksum) + one DATA chunk carrying `payload`. */
function sctpPacket(payload: Buffer, checksum: number): Buffer {
  const chunkLen = 16 + payload.length;
  const padded = Buffer.alloc(12 + ((chunkLen + 3) & ~3));
  padded.writeUInt16BE(5000, 0);
  padded.writeUInt16BE(5001, 2);
  padded.writeUInt32BE(0x1234abcd, 4);
  padded.writeUInt32BE(checksum >>> 0, 8);
  padded[12] = 0; // DATA
  padded[13] = 0x03; // B|E
  padded.writeUInt16BE(chunkLen, 14);
  padded.writeUInt32BE(7, 16); // TSN
  payload.copy(padded, 28);
  return padded;
}

const expectedField = (sctp: Buffer): Buffer => {
  const zeroed = Buffer.from(sctp);
  zeroed.writeUInt32BE(0, 8);
  const out = Buffer.alloc(4);
  out.writeUInt32LE(crc32c(zeroed), 0);
  return out;
};

test('the reference CRC32c gives the published check values', (t) => {
  t.is(crc32c(Buffer.from('123456789')), 0xe3069283);
  t.is(crc32c(Buffer.alloc(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
  t.is(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
});

for (const v6 of [false, true]) {
  test(`SCTP over IPv${v6 ? 6 : 4} with a partial checksum gets its CRC32c`, (t) => {
    // Whatever the kernel left in the field (here: junk) must not matter.
    const sctp = sctpPacket(Buffer.from('an SCTP DATA chunk with an odd length.'), 0xdeadbeef);
    const ip = v6
      ? ipv6Header(Buffer.alloc(16, 0x11), Buffer.alloc(16, 0x22), 132, sctp.length)
      : ipv4Header('198.18.11.1', '198.18.11.2', 132, sctp.length);
    const frame = eth(B, A, v6 ? 0x86dd : 0x0800, Buffer.concat([ip, sctp]));
    const csumStart = 14 + ip.length;
    const r = native.processRxFrame(frame, { vnetHdr: vnetHdr({ flags: VNET.NEEDS_CSUM, csumStart, csumOffset: 8 }) });
    t.is(r.frames.length, 1);
    t.is(r.counters.checksumsCompleted, 1);
    t.is(r.counters.sctpChecksumsCompleted, 1);
    const out = r.frames[0]!;
    t.deepEqual(out.subarray(csumStart + 8, csumStart + 12), expectedField(sctp));
    // Nothing else changed.
    t.deepEqual(out.subarray(0, csumStart + 8), frame.subarray(0, csumStart + 8));
    t.deepEqual(out.subarray(csumStart + 12), frame.subarray(csumStart + 12));
  });
}

test('SCTP behind a VLAN tag the NIC stripped: the CRC32c covers the same bytes', (t) => {
  const sctp = sctpPacket(Buffer.alloc(100, 0x5a), 0);
  const ip = ipv4Header('198.18.11.1', '198.18.11.2', 132, sctp.length);
  const frame = eth(B, A, 0x0800, Buffer.concat([ip, sctp]));
  const csumStart = 14 + ip.length; // as the kernel reports it: without the stripped tag
  const r = native.processRxFrame(frame, { vnetHdr: vnetHdr({ flags: VNET.NEEDS_CSUM, csumStart, csumOffset: 8 }), vlanTci: 5 });
  const out = r.frames[0]!;
  t.is(out.readUInt16BE(12), 0x8100);
  t.deepEqual(out.subarray(csumStart + 4 + 8, csumStart + 4 + 12), expectedField(sctp));
  t.is(r.counters.sctpChecksumsCompleted, 1);
});

test('a partial checksum at offset 8 of something that is not SCTP is still an Internet checksum', (t) => {
  // Protocol 253 (experimental), field at offset 8: the old rule applies (fold and complement).
  const l4 = Buffer.alloc(40, 0x33);
  l4.writeUInt16BE(0, 8);
  const ip = ipv4Header('198.18.11.1', '198.18.11.2', 253, l4.length);
  const frame = eth(B, A, 0x0800, Buffer.concat([ip, l4]));
  const r = native.processRxFrame(frame, { vnetHdr: vnetHdr({ flags: VNET.NEEDS_CSUM, csumStart: 34, csumOffset: 8 }) });
  t.is(r.counters.sctpChecksumsCompleted, 0);
  t.is(r.counters.checksumsCompleted, 1);
  let sum = 0;
  const out = r.frames[0]!.subarray(34);
  for (let i = 0; i < out.length; i += 2) sum += out.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  t.is(sum, 0xffff, 'the Internet checksum over the completed bytes verifies');
});
