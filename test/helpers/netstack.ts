/**
 * A minimal IPv4 host for tests, sitting on a MemoryPort: ARP, ICMP echo (both ways) and a DHCP client.
 *
 * Frames are built and parsed by hand so a test can talk to a real stack (SoftEther's SecureNAT, a
 * Linux namespace) through our data path. The port is seen from the outside: frames the port's owner
 * WRITES to it are what arrives at the host (`port.onWrite`); the host SENDS by `port.inject`.
 *
 * Replies (ARP, echo) are sent from a microtask, not from inside the owner's write(), the way a real
 * host answers later, so code under test never sees its own write() re-entered by the host.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { MemoryPort } from '../../src/ports/memory-port.ts';

// ---------------------------------------------------------------------------------------------
// Errors and constants

export const NetstackErrorCode = {
  Timeout: 'TIMEOUT',
  Closed: 'CLOSED',
  DhcpNak: 'DHCP_NAK',
  NoAddress: 'NO_ADDRESS',
  BadArgument: 'BAD_ARGUMENT',
} as const;
export type NetstackErrorCode = (typeof NetstackErrorCode)[keyof typeof NetstackErrorCode];

export class NetstackError extends Error {
  readonly code: NetstackErrorCode;
  constructor(code: NetstackErrorCode, message: string) {
    super(message);
    this.name = 'NetstackError';
    this.code = code;
  }
}

/** Thrown by the parsers for frames that are truncated or inconsistent. */
export class FrameParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameParseError';
  }
}

export const EtherType = { IPv4: 0x0800, ARP: 0x0806, VLAN: 0x8100 } as const;
export const IpProtocol = { ICMP: 1, UDP: 17 } as const;
export const ArpOp = { Request: 1, Reply: 2 } as const;
export const IcmpType = { EchoReply: 0, EchoRequest: 8 } as const;
export const DhcpMessageType = { Discover: 1, Offer: 2, Request: 3, Decline: 4, Ack: 5, Nak: 6, Release: 7, Inform: 8 } as const;
export const DhcpOption = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  DnsServers: 6,
  RequestedIp: 50,
  LeaseTime: 51,
  MessageType: 53,
  ServerId: 54,
  ParameterList: 55,
  ClientId: 61,
  End: 255,
} as const;
export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const DHCP_MAGIC_COOKIE = 0x63825363;
/** Largest ICMP echo payload that fits a 1500-byte IP packet (no fragmentation here). */
export const MAX_PING_PAYLOAD = 1500 - 20 - 8;

export const BROADCAST_MAC: Buffer = Buffer.alloc(6, 0xff);
const ZERO_MAC = Buffer.alloc(6);

// ---------------------------------------------------------------------------------------------
// Addresses

export function macToString(mac: Buffer): string {
  return [...mac.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function parseMac(s: string): Buffer {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(s)) throw new NetstackError(NetstackErrorCode.BadArgument, `bad MAC ${s}`);
  return Buffer.from(s.replaceAll(':', ''), 'hex');
}

/** A random locally administered unicast MAC. */
export function randomMac(): Buffer {
  const m = randomBytes(6);
  m[0] = (m[0]! & 0xfc) | 0x02;
  return m;
}

export function ipToNumber(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new NetstackError(NetstackErrorCode.BadArgument, `bad IPv4 address ${ip}`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function ipToBuffer(ip: string): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(ipToNumber(ip));
  return b;
}

const ipAt = (buf: Buffer, offset: number): string => numberToIp(buf.readUInt32BE(offset));

export function sameSubnet(a: string, b: string, mask: string): boolean {
  const m = ipToNumber(mask);
  return ((ipToNumber(a) & m) >>> 0) === ((ipToNumber(b) & m) >>> 0);
}

// ---------------------------------------------------------------------------------------------
// Checksums

/** RFC 1071 ones' complement sum, folded; `initial` carries a partial sum (pseudo-header). */
export function onesComplementSum(buf: Buffer, initial = 0): number {
  let sum = initial;
  const even = buf.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (buf.length & 1) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The Internet checksum of `buf` (its checksum field must be zero, or the result is 0 if valid). */
export function internetChecksum(buf: Buffer, initial = 0): number {
  return ~onesComplementSum(buf, initial) & 0xffff;
}

function pseudoHeaderSum(src: string, dst: string, protocol: number, length: number): number {
  const s = ipToNumber(src);
  const d = ipToNumber(dst);
  return (s >>> 16) + (s & 0xffff) + (d >>> 16) + (d & 0xffff) + protocol + length;
}

// ---------------------------------------------------------------------------------------------
// Builders (each returns a new Buffer)

export function buildEthernet(dst: Buffer, src: Buffer, etherType: number, payload: Buffer): Buffer {
  // Pad to the 60-byte minimum (without FCS) as a NIC would.
  const f = Buffer.alloc(Math.max(60, 14 + payload.length));
  dst.copy(f, 0, 0, 6);
  src.copy(f, 6, 0, 6);
  f.writeUInt16BE(etherType, 12);
  payload.copy(f, 14);
  return f;
}

export interface ArpPacket {
  op: number;
  senderMac: Buffer;
  senderIp: string;
  targetMac: Buffer;
  targetIp: string;
}

export function buildArp(p: ArpPacket): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16BE(1, 0); // Ethernet
  b.writeUInt16BE(EtherType.IPv4, 2);
  b[4] = 6;
  b[5] = 4;
  b.writeUInt16BE(p.op, 6);
  p.senderMac.copy(b, 8, 0, 6);
  ipToBuffer(p.senderIp).copy(b, 14);
  p.targetMac.copy(b, 18, 0, 6);
  ipToBuffer(p.targetIp).copy(b, 24);
  return b;
}

/** Broadcast "who has targetIp, tell senderIp" frame. */
export function buildArpRequest(senderMac: Buffer, senderIp: string, targetIp: string): Buffer {
  const arp = buildArp({ op: ArpOp.Request, senderMac, senderIp, targetMac: ZERO_MAC, targetIp });
  return buildEthernet(BROADCAST_MAC, senderMac, EtherType.ARP, arp);
}

export function buildArpReply(senderMac: Buffer, senderIp: string, targetMac: Buffer, targetIp: string): Buffer {
  const arp = buildArp({ op: ArpOp.Reply, senderMac, senderIp, targetMac, targetIp });
  return buildEthernet(targetMac, senderMac, EtherType.ARP, arp);
}

export interface Ipv4Fields {
  src: string;
  dst: string;
  protocol: number;
  payload: Buffer;
  ttl?: number;
  id?: number;
}

/** An IPv4 packet (20-byte header, no options, not fragmented) with its header checksum. */
export function buildIpv4(p: Ipv4Fields): Buffer {
  const total = 20 + p.payload.length;
  if (total > 0xffff) throw new NetstackError(NetstackErrorCode.BadArgument, 'IPv4 packet too large');
  const b = Buffer.alloc(total);
  b[0] = 0x45;
  b.writeUInt16BE(total, 2);
  b.writeUInt16BE(p.id ?? 0, 4);
  b[8] = p.ttl ?? 64;
  b[9] = p.protocol;
  ipToBuffer(p.src).copy(b, 12);
  ipToBuffer(p.dst).copy(b, 16);
  b.writeUInt16BE(internetChecksum(b.subarray(0, 20)), 10);
  p.payload.copy(b, 20);
  return b;
}

export function buildIcmpEcho(type: number, id: number, seq: number, data: Buffer): Buffer {
  const b = Buffer.alloc(8 + data.length);
  b[0] = type;
  b.writeUInt16BE(id, 4);
  b.writeUInt16BE(seq, 6);
  data.copy(b, 8);
  b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

/** A UDP datagram; with `withChecksum` false the checksum is 0 ("none"), which IPv4 allows. */
export function buildUdp(src: string, dst: string, srcPort: number, dstPort: number, payload: Buffer, withChecksum = true): Buffer {
  const len = 8 + payload.length;
  const b = Buffer.alloc(len);
  b.writeUInt16BE(srcPort, 0);
  b.writeUInt16BE(dstPort, 2);
  b.writeUInt16BE(len, 4);
  payload.copy(b, 8);
  if (withChecksum) {
    const c = internetChecksum(b, pseudoHeaderSum(src, dst, IpProtocol.UDP, len));
    b.writeUInt16BE(c === 0 ? 0xffff : c, 6); // 0 means "no checksum": a computed 0 is sent as all ones
  }
  return b;
}

/** Ethernet + IPv4 + UDP in one go. */
export function buildUdpFrame(
  dstMac: Buffer,
  srcMac: Buffer,
  src: string,
  dst: string,
  srcPort: number,
  dstPort: number,
  payload: Buffer,
  id = 0,
): Buffer {
  const udp = buildUdp(src, dst, srcPort, dstPort, payload);
  return buildEthernet(dstMac, srcMac, EtherType.IPv4, buildIpv4({ src, dst, protocol: IpProtocol.UDP, payload: udp, id }));
}

export interface DhcpMessage {
  op: number; // 1 request, 2 reply
  xid: number;
  secs: number;
  flags: number; // 0x8000 = broadcast
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  chaddr: Buffer; // 6 bytes
  /** Options in order of appearance (without Pad/End). */
  options: Map<number, Buffer>;
}

export function dhcpMessageType(m: DhcpMessage): number | undefined {
  return m.options.get(DhcpOption.MessageType)?.[0];
}

export function buildDhcp(m: DhcpMessage): Buffer {
  const opts: Buffer[] = [];
  for (const [code, value] of m.options) {
    if (code === DhcpOption.Pad || code === DhcpOption.End) continue;
    if (value.length > 255) throw new NetstackError(NetstackErrorCode.BadArgument, `DHCP option ${code} longer than 255`);
    opts.push(Buffer.from([code, value.length]), value);
  }
  opts.push(Buffer.from([DhcpOption.End]));
  const optBuf = Buffer.concat(opts);
  // BOOTP's fixed part is 236 bytes + cookie; old relays expect at least 300 bytes in all.
  const b = Buffer.alloc(Math.max(300, 240 + optBuf.length));
  b[0] = m.op;
  b[1] = 1; // Ethernet
  b[2] = 6;
  b.writeUInt32BE(m.xid >>> 0, 4);
  b.writeUInt16BE(m.secs, 8);
  b.writeUInt16BE(m.flags, 10);
  ipToBuffer(m.ciaddr).copy(b, 12);
  ipToBuffer(m.yiaddr).copy(b, 16);
  ipToBuffer(m.siaddr).copy(b, 20);
  ipToBuffer(m.giaddr).copy(b, 24);
  m.chaddr.copy(b, 28, 0, 6);
  b.writeUInt32BE(DHCP_MAGIC_COOKIE, 236);
  optBuf.copy(b, 240);
  return b;
}

export function parseDhcp(b: Buffer): DhcpMessage {
  if (b.length < 240) throw new FrameParseError(`DHCP message too short (${b.length})`);
  if (b.readUInt32BE(236) !== DHCP_MAGIC_COOKIE) throw new FrameParseError('DHCP magic cookie missing');
  if (b[1] !== 1 || b[2] !== 6) throw new FrameParseError('DHCP hardware type is not Ethernet');
  const options = new Map<number, Buffer>();
  let i = 240;
  for (;;) {
    if (i >= b.length) throw new FrameParseError('DHCP options not terminated');
    const code = b[i]!;
    if (code === DhcpOption.End) break;
    if (code === DhcpOption.Pad) {
      i++;
      continue;
    }
    if (i + 2 > b.length) throw new FrameParseError('DHCP option header truncated');
    const len = b[i + 1]!;
    if (i + 2 + len > b.length) throw new FrameParseError(`DHCP option ${code} truncated`);
    // Repeated options are concatenated (RFC 3396).
    const value = b.subarray(i + 2, i + 2 + len);
    const prev = options.get(code);
    options.set(code, prev ? Buffer.concat([prev, value]) : value);
    i += 2 + len;
  }
  return {
    op: b[0]!,
    xid: b.readUInt32BE(4),
    secs: b.readUInt16BE(8),
    flags: b.readUInt16BE(10),
    ciaddr: ipAt(b, 12),
    yiaddr: ipAt(b, 16),
    siaddr: ipAt(b, 20),
    giaddr: ipAt(b, 24),
    chaddr: b.subarray(28, 34),
    options,
  };
}

// ---------------------------------------------------------------------------------------------
// Parser

export interface Ipv4Packet {
  src: string;
  dst: string;
  protocol: number;
  ttl: number;
  id: number;
  headerChecksumOk: boolean;
  /** More fragments or non-zero offset: the payload is not parsed further. */
  fragment: boolean;
  payload: Buffer;
}

export interface IcmpPacket {
  type: number;
  code: number;
  checksumOk: boolean;
  /** Echo identifier and sequence (meaningful for echo request/reply). */
  id: number;
  seq: number;
  data: Buffer;
}

export interface UdpDatagram {
  srcPort: number;
  dstPort: number;
  /** True when the checksum verifies or is absent (0). */
  checksumOk: boolean;
  payload: Buffer;
}

export interface ParsedFrame {
  dst: Buffer;
  src: Buffer;
  etherType: number;
  /** 802.1Q VLAN id, if the frame was tagged. */
  vlan?: number;
  arp?: ArpPacket;
  ipv4?: Ipv4Packet;
  icmp?: IcmpPacket;
  udp?: UdpDatagram;
  dhcp?: DhcpMessage;
}

/** Parse Ethernet / (802.1Q) / ARP | IPv4 / ICMP | UDP / DHCP. Views into `buf`, no copies. */
export function parseFrame(buf: Buffer): ParsedFrame {
  if (buf.length < 14) throw new FrameParseError(`runt frame (${buf.length} bytes)`);
  let off = 12;
  let etherType = buf.readUInt16BE(off);
  let vlan: number | undefined;
  if (etherType === EtherType.VLAN) {
    if (buf.length < 18) throw new FrameParseError('truncated VLAN tag');
    vlan = buf.readUInt16BE(14) & 0x0fff;
    off = 16;
    etherType = buf.readUInt16BE(off);
  }
  off += 2;
  const frame: ParsedFrame = { dst: buf.subarray(0, 6), src: buf.subarray(6, 12), etherType };
  if (vlan !== undefined) frame.vlan = vlan;
  const body = buf.subarray(off);
  if (etherType === EtherType.ARP) frame.arp = parseArp(body);
  else if (etherType === EtherType.IPv4) {
    const ip = parseIpv4(body);
    frame.ipv4 = ip;
    if (!ip.fragment && ip.protocol === IpProtocol.ICMP) frame.icmp = parseIcmp(ip.payload);
    else if (!ip.fragment && ip.protocol === IpProtocol.UDP) {
      const udp = parseUdp(ip);
      frame.udp = udp;
      const ports = [udp.srcPort, udp.dstPort];
      if (ports.includes(DHCP_SERVER_PORT) && ports.includes(DHCP_CLIENT_PORT)) frame.dhcp = parseDhcp(udp.payload);
    }
  }
  return frame;
}

export function parseArp(b: Buffer): ArpPacket {
  if (b.length < 28) throw new FrameParseError('truncated ARP packet');
  if (b.readUInt16BE(0) !== 1 || b.readUInt16BE(2) !== EtherType.IPv4 || b[4] !== 6 || b[5] !== 4) {
    throw new FrameParseError('ARP is not Ethernet/IPv4');
  }
  return { op: b.readUInt16BE(6), senderMac: b.subarray(8, 14), senderIp: ipAt(b, 14), targetMac: b.subarray(18, 24), targetIp: ipAt(b, 24) };
}

export function parseIpv4(b: Buffer): Ipv4Packet {
  if (b.length < 20) throw new FrameParseError('truncated IPv4 header');
  if (b[0]! >> 4 !== 4) throw new FrameParseError('not IPv4');
  const ihl = (b[0]! & 15) * 4;
  const total = b.readUInt16BE(2);
  if (ihl < 20 || total < ihl || total > b.length) throw new FrameParseError(`bad IPv4 lengths (ihl ${ihl}, total ${total}, have ${b.length})`);
  const fragField = b.readUInt16BE(6);
  return {
    src: ipAt(b, 12),
    dst: ipAt(b, 16),
    protocol: b[9]!,
    ttl: b[8]!,
    id: b.readUInt16BE(4),
    headerChecksumOk: internetChecksum(b.subarray(0, ihl)) === 0,
    fragment: (fragField & 0x2000) !== 0 || (fragField & 0x1fff) !== 0,
    payload: b.subarray(ihl, total), // trims Ethernet padding
  };
}

export function parseIcmp(b: Buffer): IcmpPacket {
  if (b.length < 8) throw new FrameParseError('truncated ICMP message');
  return { type: b[0]!, code: b[1]!, checksumOk: internetChecksum(b) === 0, id: b.readUInt16BE(4), seq: b.readUInt16BE(6), data: b.subarray(8) };
}

function parseUdp(ip: Ipv4Packet): UdpDatagram {
  const b = ip.payload;
  if (b.length < 8) throw new FrameParseError('truncated UDP header');
  const len = b.readUInt16BE(4);
  if (len < 8 || len > b.length) throw new FrameParseError(`bad UDP length ${len}`);
  const sum = b.readUInt16BE(6);
  const dgram = b.subarray(0, len);
  const checksumOk = sum === 0 || internetChecksum(dgram, pseudoHeaderSum(ip.src, ip.dst, IpProtocol.UDP, len)) === 0;
  return { srcPort: b.readUInt16BE(0), dstPort: b.readUInt16BE(2), checksumOk, payload: b.subarray(8, len) };
}

// ---------------------------------------------------------------------------------------------
// The host

export interface DhcpLease {
  ip: string;
  mask: string;
  router?: string;
  server: string;
  leaseSeconds: number;
}

export interface TestHostCounters {
  /** Frames the port delivered to the host (any destination). */
  received: number;
  /** Frames that did not parse (FrameParseError). */
  malformed: number;
  /** Frames dropped for a bad IPv4 header / ICMP / UDP checksum. */
  badChecksum: number;
  /** Frames sent (injected). */
  sent: number;
  /** Frames we wanted to send while the port had no receiver. */
  unsent: number;
}

interface Waiter {
  pred: (f: ParsedFrame) => boolean;
  resolve: (f: ParsedFrame) => void;
  reject: (e: Error) => void;
}

type RetransmitPolicy = { everyMs: number; send: () => void };

export class TestHost {
  readonly port: MemoryPort;
  readonly mac: Buffer;
  ip: string | undefined = undefined;
  mask: string | undefined = undefined;
  router: string | undefined = undefined;
  /** Answer ARP requests for our ip and ICMP echo requests to it. */
  answerArp = true;
  readonly arpCache = new Map<string, Buffer>();
  readonly counters: TestHostCounters = { received: 0, malformed: 0, badChecksum: 0, sent: 0, unsent: 0 };
  #waiters = new Set<Waiter>();
  #timers = new Set<NodeJS.Timeout>();
  #off: () => void;
  #closed = false;
  #ipId = randomInt(0, 0x10000);
  #echoId = randomInt(0, 0x10000);
  #echoSeq = 0;

  constructor(port: MemoryPort, mac?: Buffer) {
    if (mac !== undefined && (mac.length !== 6 || (mac[0]! & 1) === 1)) {
      throw new NetstackError(NetstackErrorCode.BadArgument, 'host MAC must be 6 bytes, unicast');
    }
    this.port = port;
    this.mac = mac ? Buffer.from(mac) : randomMac();
    this.#off = port.onWrite((f) => this.#receive(f));
  }

  /** Put a frame on the wire. Returns false if the port has no receiver (nothing is attached). */
  send(frame: Buffer): boolean {
    if (this.#closed) throw new NetstackError(NetstackErrorCode.Closed, 'host is closed');
    const ok = this.port.inject([frame]);
    if (ok) this.counters.sent++;
    else this.counters.unsent++;
    return ok;
  }

  /** Resolve with the next frame for this host matching `pred`. */
  waitFor(pred: (f: ParsedFrame) => boolean, timeoutMs: number, what = 'frame'): Promise<ParsedFrame> {
    return this.#await(pred, timeoutMs, what);
  }

  async arp(ip: string, timeoutMs: number): Promise<Buffer> {
    ipToNumber(ip); // validates
    const reply = await this.#await(
      (f) => f.arp?.op === ArpOp.Reply && f.arp.senderIp === ip,
      timeoutMs,
      `ARP reply from ${ip}`,
      { everyMs: 1000, send: () => this.send(buildArpRequest(this.mac, this.ip ?? '0.0.0.0', ip)) },
    );
    return Buffer.from(reply.arp!.senderMac);
  }

  async ping(ip: string, timeoutMs: number, payloadSize = 56): Promise<number> {
    if (!Number.isInteger(payloadSize) || payloadSize < 0 || payloadSize > MAX_PING_PAYLOAD) {
      throw new NetstackError(NetstackErrorCode.BadArgument, `ping payload must be 0..${MAX_PING_PAYLOAD} bytes`);
    }
    ipToNumber(ip);
    if (this.#closed) throw new NetstackError(NetstackErrorCode.Closed, 'host is closed');
    const me = this.ip;
    if (me === undefined) throw new NetstackError(NetstackErrorCode.NoAddress, 'host has no IP address (static or DHCP) yet');
    const deadline = performance.now() + timeoutMs;
    const nextHop = this.mask === undefined || this.router === undefined || sameSubnet(me, ip, this.mask) ? ip : this.router;
    const dstMac = this.arpCache.get(nextHop) ?? (await this.arp(nextHop, timeoutMs));

    const id = this.#echoId;
    const seq = (this.#echoSeq = (this.#echoSeq + 1) & 0xffff);
    const data = Buffer.alloc(payloadSize);
    for (let i = 0; i < payloadSize; i++) data[i] = (i + seq) & 0xff;
    const icmp = buildIcmpEcho(IcmpType.EchoRequest, id, seq, data);
    const frame = buildEthernet(dstMac, this.mac, EtherType.IPv4, buildIpv4({ src: me, dst: ip, protocol: IpProtocol.ICMP, payload: icmp, id: this.#nextIpId() }));
    const replied = this.#await(
      (f) => f.icmp?.type === IcmpType.EchoReply && f.icmp.id === id && f.icmp.seq === seq && f.ipv4!.src === ip && f.icmp.data.equals(data),
      Math.max(0, deadline - performance.now()),
      `echo reply from ${ip}`,
    );
    const t0 = performance.now();
    try {
      this.send(frame);
    } catch (e) {
      replied.catch(() => {}); // superseded by this error
      throw e;
    }
    await replied;
    return performance.now() - t0;
  }

  async dhcp(timeoutMs: number): Promise<DhcpLease> {
    const deadline = performance.now() + timeoutMs;
    const xid = randomInt(0, 2 ** 32);
    const clientId = Buffer.concat([Buffer.from([1]), this.mac]);
    const params = Buffer.from([DhcpOption.SubnetMask, DhcpOption.Router, DhcpOption.DnsServers, DhcpOption.LeaseTime, DhcpOption.ServerId]);
    const message = (type: number, extra: [number, Buffer][]): Buffer => {
      const options = new Map<number, Buffer>([[DhcpOption.MessageType, Buffer.from([type])], ...extra, [DhcpOption.ClientId, clientId], [DhcpOption.ParameterList, params]]);
      const dhcp = buildDhcp({ op: 1, xid, secs: 0, flags: 0x8000, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr: this.mac, options });
      return buildUdpFrame(BROADCAST_MAC, this.mac, '0.0.0.0', '255.255.255.255', DHCP_CLIENT_PORT, DHCP_SERVER_PORT, dhcp, this.#nextIpId());
    };
    const isReply = (f: ParsedFrame, types: number[]) =>
      f.dhcp !== undefined && f.dhcp.op === 2 && f.dhcp.xid === xid && f.dhcp.chaddr.equals(this.mac) && types.includes(dhcpMessageType(f.dhcp) ?? -1);
    const remaining = () => Math.max(0, deadline - performance.now());

    const discover = message(DhcpMessageType.Discover, []);
    const offer = (await this.#await((f) => isReply(f, [DhcpMessageType.Offer]), remaining(), 'DHCP offer', { everyMs: 1000, send: () => this.send(discover) })).dhcp!;
    const serverId = offer.options.get(DhcpOption.ServerId);
    if (serverId === undefined || serverId.length !== 4) throw new NetstackError(NetstackErrorCode.BadArgument, 'DHCP offer without server identifier');
    const request = message(DhcpMessageType.Request, [
      [DhcpOption.RequestedIp, ipToBuffer(offer.yiaddr)],
      [DhcpOption.ServerId, Buffer.from(serverId)],
    ]);
    const answer = (
      await this.#await(
        (f) => isReply(f, [DhcpMessageType.Ack, DhcpMessageType.Nak]) && f.dhcp!.options.get(DhcpOption.ServerId)?.equals(serverId) !== false,
        remaining(),
        'DHCP ack',
        { everyMs: 1000, send: () => this.send(request) },
      )
    ).dhcp!;
    if (dhcpMessageType(answer) === DhcpMessageType.Nak) throw new NetstackError(NetstackErrorCode.DhcpNak, `DHCP server ${ipAt(serverId, 0)} refused ${offer.yiaddr}`);

    const opt = (code: number) => answer.options.get(code) ?? offer.options.get(code);
    const maskOpt = opt(DhcpOption.SubnetMask);
    const routerOpt = opt(DhcpOption.Router);
    const leaseOpt = opt(DhcpOption.LeaseTime);
    const lease: DhcpLease = {
      ip: answer.yiaddr,
      mask: maskOpt && maskOpt.length >= 4 ? ipAt(maskOpt, 0) : classfulMask(answer.yiaddr),
      server: ipAt(serverId, 0),
      leaseSeconds: leaseOpt && leaseOpt.length >= 4 ? leaseOpt.readUInt32BE(0) : 0,
    };
    if (routerOpt && routerOpt.length >= 4) lease.router = ipAt(routerOpt, 0);
    this.ip = lease.ip;
    this.mask = lease.mask;
    this.router = lease.router;
    return lease;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#off();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const w of [...this.#waiters]) w.reject(new NetstackError(NetstackErrorCode.Closed, 'host closed'));
    this.#waiters.clear();
  }

  #nextIpId(): number {
    this.#ipId = (this.#ipId + 1) & 0xffff;
    return this.#ipId;
  }

  /** Wait for a matching frame; optionally (re)send something now and every `everyMs` until then. */
  #await(pred: (f: ParsedFrame) => boolean, timeoutMs: number, what: string, retransmit?: RetransmitPolicy): Promise<ParsedFrame> {
    if (this.#closed) return Promise.reject(new NetstackError(NetstackErrorCode.Closed, 'host is closed'));
    return new Promise((resolve, reject) => {
      let repeat: NodeJS.Timeout | undefined;
      const done = () => {
        this.#waiters.delete(waiter);
        clearTimeout(timer);
        this.#timers.delete(timer);
        if (repeat !== undefined) {
          clearInterval(repeat);
          this.#timers.delete(repeat);
        }
      };
      const waiter: Waiter = {
        pred,
        resolve: (f) => {
          done();
          resolve(f);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      const timer = setTimeout(() => waiter.reject(new NetstackError(NetstackErrorCode.Timeout, `no ${what} within ${timeoutMs} ms`)), timeoutMs);
      this.#timers.add(timer);
      this.#waiters.add(waiter);
      if (retransmit) {
        const sendOrFail = () => {
          try {
            retransmit.send();
          } catch (e) {
            waiter.reject(e instanceof Error ? e : new Error(String(e)));
          }
        };
        repeat = setInterval(sendOrFail, retransmit.everyMs);
        this.#timers.add(repeat);
        sendOrFail();
      }
    });
  }

  #receive(raw: Buffer): void {
    this.counters.received++;
    let f: ParsedFrame;
    try {
      f = parseFrame(raw);
    } catch (e) {
      if (e instanceof FrameParseError) {
        this.counters.malformed++;
        return;
      }
      throw e;
    }
    const forUs = f.dst.equals(this.mac) || f.dst.equals(BROADCAST_MAC);
    if (!forUs) return;
    if ((f.ipv4 && !f.ipv4.headerChecksumOk) || (f.icmp && !f.icmp.checksumOk) || (f.udp && !f.udp.checksumOk)) {
      this.counters.badChecksum++;
      return;
    }
    if (f.arp) this.#onArp(f.arp);
    if (f.icmp?.type === IcmpType.EchoRequest && f.ipv4!.dst === this.ip && this.answerArp) this.#answerEcho(f);
    for (const w of [...this.#waiters]) if (w.pred(f)) w.resolve(f);
  }

  #onArp(a: ArpPacket): void {
    if (a.senderIp !== '0.0.0.0') this.arpCache.set(a.senderIp, Buffer.from(a.senderMac));
    if (a.op === ArpOp.Request && this.answerArp && this.ip !== undefined && a.targetIp === this.ip) {
      const reply = buildArpReply(this.mac, this.ip, Buffer.from(a.senderMac), a.senderIp);
      this.#later(reply);
    }
  }

  #answerEcho(f: ParsedFrame): void {
    const ip = f.ipv4!;
    const icmp = buildIcmpEcho(IcmpType.EchoReply, f.icmp!.id, f.icmp!.seq, Buffer.from(f.icmp!.data));
    const packet = buildIpv4({ src: this.ip!, dst: ip.src, protocol: IpProtocol.ICMP, payload: icmp, id: this.#nextIpId() });
    this.#later(buildEthernet(Buffer.from(f.src), this.mac, EtherType.IPv4, packet));
  }

  #later(frame: Buffer): void {
    queueMicrotask(() => {
      if (!this.#closed) this.send(frame);
    });
  }
}

function classfulMask(ip: string): string {
  const first = ipToNumber(ip) >>> 24;
  return first < 128 ? '255.0.0.0' : first < 192 ? '255.255.0.0' : '255.255.255.0';
}
