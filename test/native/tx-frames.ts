// TCP segments for the super-frame tests (tx-coalesce.test.ts, tx-coalesce-refused.test.ts): what must merge into
// super-frames toward the LAN (native/tx_coalesce.c), and around it what must not.
import { eth, inetChecksum, ipv4, mac, pseudo4, pseudo6 } from './frames.ts';

const PEER = mac('02:5e:b1:00:00:01');
const HOST = mac('02:5e:b1:00:00:02');
const V6A = Buffer.from('fd005eb1000000000000000000000001', 'hex');
const V6B = Buffer.from('fd005eb1000000000000000000000002', 'hex');
const ACK = 0x10;
const PSH = 0x08;

interface Seg {
  seq: number;
  len: number;
  flags?: number;
  id?: number;
  df?: boolean;
  tsval?: number;
  badChecksum?: boolean;
  fill?: number;
}

function tcpHeader(s: Seg, withTs: boolean): Buffer {
  const h = Buffer.alloc(withTs ? 32 : 20);
  h.writeUInt16BE(5001, 0);
  h.writeUInt16BE(40123, 2);
  h.writeUInt32BE(s.seq >>> 0, 4);
  h.writeUInt32BE(0x1234_5678, 8);
  h[12] = (h.length / 4) << 4;
  h[13] = s.flags ?? ACK;
  h.writeUInt16BE(501, 14);
  if (withTs) {
    h[20] = 1; // NOP
    h[21] = 1; // NOP
    h[22] = 8; // timestamps
    h[23] = 10;
    h.writeUInt32BE(s.tsval ?? 777, 24);
    h.writeUInt32BE(555, 28);
  }
  return h;
}

function payloadOf(s: Seg): Buffer {
  return Buffer.from(Array.from({ length: s.len }, (_, i) => (i * 7 + (s.fill ?? s.seq)) & 0xff));
}

function tcp4(s: Seg): Buffer {
  const tcp = Buffer.concat([tcpHeader(s, true), payloadOf(s)]);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + tcp.length, 2);
  ip.writeUInt16BE(s.id ?? 1, 4);
  ip.writeUInt16BE(s.df === false ? 0 : 0x4000, 6);
  ip[8] = 64;
  ip[9] = 6;
  ipv4('198.18.9.2').copy(ip, 12);
  ipv4('198.18.9.1').copy(ip, 16);
  ip.writeUInt16BE(inetChecksum(ip), 10);
  tcp.writeUInt16BE(inetChecksum(pseudo4(ip, 6, tcp.length), tcp) ^ (s.badChecksum ? 0x5a5a : 0), 16);
  return eth(HOST, PEER, 0x0800, Buffer.concat([ip, tcp]));
}

function tcp6(s: Seg): Buffer {
  const tcp = Buffer.concat([tcpHeader(s, false), payloadOf(s)]);
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE(0x6000_0000 | 0x12345, 0); // a flow label, kept
  ip.writeUInt16BE(tcp.length, 4);
  ip[6] = 6;
  ip[7] = 64;
  V6A.copy(ip, 8);
  V6B.copy(ip, 24);
  tcp.writeUInt16BE(inetChecksum(pseudo6(ip, 6, tcp.length), tcp), 16);
  return eth(HOST, PEER, 0x86dd, Buffer.concat([ip, tcp]));
}

/** One write: what must merge, and around it what must not. */
export function batch(): { frames: Buffer[]; superFrames: number; merged: number } {
  const frames: Buffer[] = [];
  // IPv4, DF, 10 full segments and a short last one with PSH: one super-frame of 11.
  let seq = 1_000_000;
  for (let i = 0; i < 11; i++) {
    const len = i < 10 ? 1448 : 500;
    frames.push(tcp4({ seq, len, id: 300 + i, flags: i === 10 ? ACK | PSH : ACK }));
    seq += len;
  }
  // IPv6, five full segments: one super-frame of 5.
  let seq6 = 0xffff_f000; // wraps around 2^32 inside the run
  for (let i = 0; i < 5; i++) {
    frames.push(tcp6({ seq: seq6, len: 1428 }));
    seq6 = (seq6 + 1428) >>> 0;
  }
  // Not merged: a damaged segment between two good ones (it must arrive damaged, not repaired).
  frames.push(tcp4({ seq: 2_000_000, len: 1448, id: 10, fill: 1 }));
  frames.push(tcp4({ seq: 2_001_448, len: 1448, id: 11, badChecksum: true }));
  frames.push(tcp4({ seq: 2_002_896, len: 1448, id: 12, fill: 2 }));
  // Not merged: a hole in the sequence numbers; different timestamps; ids not counting up without DF; SYN-ACK.
  frames.push(tcp4({ seq: 3_000_000, len: 1000, id: 20 }), tcp4({ seq: 3_001_001, len: 1000, id: 21 }));
  frames.push(tcp4({ seq: 4_000_000, len: 1000, id: 30, tsval: 1 }), tcp4({ seq: 4_001_000, len: 1000, id: 31, tsval: 2 }));
  frames.push(tcp4({ seq: 5_000_000, len: 1000, id: 40, df: false }), tcp4({ seq: 5_001_000, len: 1000, id: 45, df: false }));
  frames.push(tcp4({ seq: 6_000_000, len: 100, flags: 0x12 }));
  // Merged again: without DF, ids counting up (GSO counts them the same way).
  frames.push(tcp4({ seq: 7_000_000, len: 1200, id: 65535, df: false }), tcp4({ seq: 7_001_200, len: 1200, id: 0, df: false }));
  return { frames, superFrames: 3, merged: 11 + 5 + 2 };
}

