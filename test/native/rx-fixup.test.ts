// The receive path's frame fix-up, on crafted frames: GSO segmentation (TCPv4, TCPv6, UDP), partial checksum
// completion, VLAN tag restore, and the drops that must be counted. No privileges needed.
import test from 'ava';
import { loadNative } from '../../src/ports/native.ts';
import { eth, inetChecksum, ipv4Header, ipv6Header, mac, parseL4, pseudo4, pseudo6, vnetHdr, VNET } from './frames.ts';

const native = loadNative();
const A = mac('02:00:00:00:00:0a');
const B = mac('02:00:00:00:00:0b');
const V6A = Buffer.from('fd000000000000000000000000000001', 'hex');
const V6B = Buffer.from('fd000000000000000000000000000002', 'hex');

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 8)) & 255;
  return b;
}

function tcpHeader(seq: number, flags: number, options = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(20 + options.length);
  h.writeUInt16BE(45000, 0);
  h.writeUInt16BE(5201, 2);
  h.writeUInt32BE(seq, 4);
  h.writeUInt32BE(12345, 8);
  h[12] = ((20 + options.length) / 4) << 4;
  h[13] = flags;
  h.writeUInt16BE(512, 14);
  options.copy(h, 20);
  return h;
}

/** A TCP super-frame as the kernel hands it over: checksum field holds only the pseudo-header sum. */
function tcpSuperFrame(v6: boolean, payload: Buffer, flags: number, vlan?: number) {
  const opts = Buffer.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]); // NOP NOP timestamps
  const tcp = tcpHeader(0xfffff000, flags, opts); // sequence numbers wrap inside the stream
  const l4len = tcp.length + payload.length;
  const ip = v6 ? ipv6Header(V6A, V6B, 6, l4len) : ipv4Header('198.18.0.1', '198.18.0.2', 6, l4len, 0xfffe);
  const ps = v6 ? pseudo6(ip, 6, l4len) : pseudo4(ip, 6, l4len);
  tcp.writeUInt16BE(~inetChecksum(ps) & 0xffff, 16);
  const frame = eth(B, A, v6 ? 0x86dd : 0x0800, Buffer.concat([ip, tcp, payload]), vlan === undefined ? undefined : { tci: vlan });
  const l3 = vlan === undefined ? 14 : 18;
  return { frame, hdrEnd: l3 + ip.length + tcp.length, csumStart: l3 + ip.length };
}

for (const v6 of [false, true]) {
  test(`TCP${v6 ? 'v6' : 'v4'} super-frame is cut into MSS-sized frames with valid headers`, (t) => {
    const payload = pattern(20000);
    const mss = v6 ? 1428 : 1448; // MTU 1500 minus IP and TCP headers with timestamps
    const FIN = 0x01, PSH = 0x08, ACK = 0x10, CWR = 0x80;
    const { frame, hdrEnd, csumStart } = tcpSuperFrame(v6, payload, ACK | PSH | FIN | CWR);
    const vh = vnetHdr({
      flags: VNET.NEEDS_CSUM, gsoType: (v6 ? VNET.GSO_TCPV6 : VNET.GSO_TCPV4) | VNET.GSO_ECN,
      hdrLen: hdrEnd, gsoSize: mss, csumStart, csumOffset: 16,
    });
    const r = native.processRxFrame(frame, { vnetHdr: vh });
    const n = Math.ceil(payload.length / mss);
    t.is(r.frames.length, n);
    t.is(r.counters.gsoSuperFrames, 1);
    t.is(r.counters.gsoSegments, n);
    const parts: Buffer[] = [];
    r.frames.forEach((f, i) => {
      t.true(f.length <= 1514, `frame ${i} is ${f.length} bytes`);
      const p = parseL4(f);
      if (!p) return t.fail(`frame ${i} does not parse`);
      t.true(p.ipHeaderOk && p.l4ChecksumOk, `checksums of frame ${i}`);
      t.is(p.seq, (0xfffff000 + i * mss) >>> 0);
      t.is(p.flags! & (FIN | PSH), i === n - 1 ? FIN | PSH : 0);
      t.is(p.flags! & CWR, i === 0 ? CWR : 0);
      t.is(p.flags! & ACK, ACK);
      if (!v6) t.is(p.ipId, (0xfffe + i) & 0xffff);
      t.deepEqual(f.subarray(0, 12), frame.subarray(0, 12));
      parts.push(p.payload);
    });
    t.deepEqual(Buffer.concat(parts), payload);
  });
}

test('a VLAN tag stripped by the NIC is put back, also in front of a super-frame', (t) => {
  const payload = pattern(5000);
  const { frame, hdrEnd, csumStart } = tcpSuperFrame(false, payload, 0x10);
  const vh = vnetHdr({ flags: VNET.NEEDS_CSUM, gsoType: VNET.GSO_TCPV4, hdrLen: hdrEnd, gsoSize: 1000, csumStart, csumOffset: 16 });
  const r = native.processRxFrame(frame, { vnetHdr: vh, vlanTci: 0x2064 }); // prio 1, VID 100
  t.is(r.frames.length, 5);
  t.is(r.counters.vlanTagsRestored, 1);
  for (const f of r.frames) {
    t.is(f.readUInt16BE(12), 0x8100);
    t.is(f.readUInt16BE(14), 0x2064);
    const p = parseL4(f);
    t.truthy(p && p.vlan === 0x2064 && p.l4ChecksumOk && p.ipHeaderOk);
  }
  const tagged = native.processRxFrame(eth(B, A, 0x0806, Buffer.alloc(28)), { vlanTci: 7, vlanTpid: 0x88a8 });
  t.deepEqual(tagged.frames[0], eth(B, A, 0x0806, Buffer.alloc(28), { tci: 7, tpid: 0x88a8 }));
});

test('a frame that already carries a tag (QinQ outer stripped) keeps both tags, segmentation sees through them', (t) => {
  const payload = pattern(3000);
  const inner = tcpSuperFrame(false, payload, 0x10, 5); // inner tag 5 still in the frame
  const vh = vnetHdr({ gsoType: VNET.GSO_TCPV4, gsoSize: 1400, csumStart: inner.csumStart, csumOffset: 16 });
  const r = native.processRxFrame(inner.frame, { vnetHdr: vh, vlanTci: 9, vlanTpid: 0x88a8 });
  t.is(r.frames.length, 3);
  for (const f of r.frames) {
    t.is(f.readUInt16BE(12), 0x88a8);
    t.is(f.readUInt16BE(14), 9);
    t.is(f.readUInt16BE(16), 0x8100);
    t.is(f.readUInt16BE(18), 5);
    t.true(f.length <= 1518);
  }
});

test('UDP GSO (USO) super-frame becomes separate datagrams with their own length and checksum', (t) => {
  for (const v6 of [false, true]) {
    const payload = pattern(4000);
    const u = Buffer.alloc(8);
    u.writeUInt16BE(1000, 0);
    u.writeUInt16BE(2000, 2);
    u.writeUInt16BE(8 + payload.length, 4);
    const ip = v6 ? ipv6Header(V6A, V6B, 17, 8 + payload.length) : ipv4Header('198.18.0.1', '198.18.0.2', 17, 8 + payload.length);
    const frame = eth(B, A, v6 ? 0x86dd : 0x0800, Buffer.concat([ip, u, payload]));
    const vh = vnetHdr({ flags: VNET.NEEDS_CSUM, gsoType: VNET.GSO_UDP_L4, gsoSize: 1400, csumStart: 14 + ip.length, csumOffset: 6 });
    const r = native.processRxFrame(frame, { vnetHdr: vh });
    t.is(r.frames.length, 3);
    const got: Buffer[] = [];
    for (const f of r.frames) {
      const p = parseL4(f);
      t.truthy(p && p.proto === 17 && p.l4ChecksumOk && p.ipHeaderOk);
      t.is(f.readUInt16BE(14 + ip.length + 4), 8 + p!.payload.length);
      got.push(p!.payload);
    }
    t.deepEqual(Buffer.concat(got), payload);
  }
});

test('a partial checksum (NEEDS_CSUM, no GSO) is completed', (t) => {
  const payload = pattern(999); // odd length: the tail byte counts as high byte
  const { frame, csumStart } = tcpSuperFrame(false, payload, 0x18);
  const r = native.processRxFrame(frame, { vnetHdr: vnetHdr({ flags: VNET.NEEDS_CSUM, csumStart, csumOffset: 16 }) });
  t.is(r.counters.checksumsCompleted, 1);
  t.is(r.frames.length, 1);
  const p = parseL4(r.frames[0]);
  t.true(p!.l4ChecksumOk);
  // Without the flag the frame must pass untouched (its checksum stays "wrong").
  const raw = native.processRxFrame(frame, { vnetHdr: vnetHdr({}) });
  t.deepEqual(raw.frames[0], frame);
  t.false(parseL4(raw.frames[0])!.l4ChecksumOk);
});

test('oversize, runt and inconsistent GSO metadata are dropped and counted, never passed on', (t) => {
  const big = eth(B, A, 0x0800, pattern(1600));
  let r = native.processRxFrame(big, {});
  t.is(r.frames.length, 0);
  t.is(r.counters.dropOversize, 1);
  t.is(native.processRxFrame(eth(B, A, 0x0800, pattern(1586)), {}).frames[0].length, 1600); // exactly the limit passes

  r = native.processRxFrame(Buffer.alloc(10), {});
  t.is(r.counters.dropRunt, 1);

  const { frame, csumStart } = tcpSuperFrame(false, pattern(9000), 0x10);
  r = native.processRxFrame(frame, { vnetHdr: vnetHdr({ gsoType: VNET.GSO_TCPV6, gsoSize: 1400, csumStart, csumOffset: 16 }) });
  t.is(r.counters.dropBadGso, 1, 'TCPv6 GSO on an IPv4 frame');
  r = native.processRxFrame(frame, { vnetHdr: vnetHdr({ gsoType: VNET.GSO_TCPV4, gsoSize: 0 }) });
  t.is(r.counters.dropBadGso, 1, 'zero gso_size');
  r = native.processRxFrame(frame, { vnetHdr: vnetHdr({ gsoType: VNET.GSO_TCPV4, gsoSize: 8000 }) });
  t.is(r.counters.dropOversize, 1, 'segments above 1600 bytes (jumbo MSS)');
  r = native.processRxFrame(frame, { vnetHdr: vnetHdr({ gsoType: VNET.GSO_TCPV4, gsoSize: 4 }) });
  t.is(r.counters.dropBadGso, 1, 'absurd segment count');
  r = native.processRxFrame(frame.subarray(0, 40), { vnetHdr: vnetHdr({ gsoType: VNET.GSO_TCPV4, gsoSize: 1400 }) });
  t.is(r.counters.dropBadGso, 1, 'truncated headers');
  r = native.processRxFrame(frame, { vnetHdr: vnetHdr({ flags: VNET.NEEDS_CSUM, csumStart: 60000, csumOffset: 16 }) });
  t.is(r.counters.dropBadGso, 1, 'checksum offset outside the frame');
  t.is(r.frames.length, 0);
});

test('random bytes with random metadata never crash and never produce frames above 1600 bytes', (t) => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 16777216;
  for (let i = 0; i < 3000; i++) {
    const len = Math.floor(rnd() * 3000);
    const f = Buffer.alloc(len);
    for (let k = 0; k < len; k++) f[k] = Math.floor(rnd() * 256);
    if (len > 14 && rnd() < 0.7) f.writeUInt16BE(rnd() < 0.5 ? 0x0800 : 0x86dd, 12);
    if (len > 15 && rnd() < 0.7) f[14] = rnd() < 0.5 ? 0x45 : 0x60;
    const vh = vnetHdr({
      flags: Math.floor(rnd() * 4), gsoType: [0, 1, 3, 4, 5, 0x81][Math.floor(rnd() * 6)],
      gsoSize: Math.floor(rnd() * 2000), csumStart: Math.floor(rnd() * len + 1), csumOffset: Math.floor(rnd() * 20),
    });
    const r = native.processRxFrame(f, { vnetHdr: vh, ...(rnd() < 0.3 ? { vlanTci: 3 } : {}) });
    for (const out of r.frames) if (out.length > 1600) return t.fail(`produced ${out.length} bytes`);
  }
  t.pass();
});
