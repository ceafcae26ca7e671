import test from 'ava';
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hub } from '../../src/hub/hub.ts';
import { MemoryPort } from '../../src/ports/memory-port.ts';
import {
  BROADCAST_MAC,
  DHCP_CLIENT_PORT,
  DHCP_SERVER_PORT,
  DhcpMessageType,
  DhcpOption,
  EtherType,
  FrameParseError,
  IcmpType,
  IpProtocol,
  NetstackError,
  NetstackErrorCode,
  TestHost,
  buildArpRequest,
  buildDhcp,
  buildEthernet,
  buildIcmpEcho,
  buildIpv4,
  buildUdpFrame,
  dhcpMessageType,
  internetChecksum,
  ipToBuffer,
  parseFrame,
  parseMac,
} from './netstack.ts';
import type { DhcpMessage, ParsedFrame } from './netstack.ts';

// Everything here is in memory; addresses are still taken from the 198.18.0.0/15 test range.

function lan(t: ExecutionContext, n: number) {
  const hub = new Hub();
  const ports = Array.from({ length: n }, (_, i) => new MemoryPort(`h${i}`));
  for (const p of ports) hub.attach(p);
  const hosts = ports.map((p) => new TestHost(p));
  t.teardown(() => {
    for (const h of hosts) h.close();
    hub.close();
  });
  return { hub, ports, hosts };
}

test('two hosts find each other with ARP and ping through a hub', async (t) => {
  const { hub, hosts: [a, b] } = lan(t, 2);
  a!.ip = '198.18.0.10';
  b!.ip = '198.18.0.11';
  const mac = await a!.arp('198.18.0.11', 2000);
  t.deepEqual(mac, b!.mac);
  t.deepEqual(b!.arpCache.get('198.18.0.10'), a!.mac, 'B learned A from its request');
  const rtt = await a!.ping('198.18.0.11', 2000);
  t.true(rtt >= 0 && rtt < 2000);
  const rtt2 = await b!.ping('198.18.0.10', 2000, 1000);
  t.true(rtt2 >= 0);
  // Both stations are now in the hub's table, on the right ports.
  const table = new Map(hub.macTable().map((r) => [r.mac, r.port]));
  t.is(table.get([...a!.mac].map((x) => x.toString(16).padStart(2, '0')).join(':')), 'h0');
  t.is(a!.counters.badChecksum + b!.counters.badChecksum + a!.counters.malformed, 0);
});

test('ping payload sizes from 0 to the 1472-byte maximum; out of range is a typed error', async (t) => {
  const { hosts: [a, b] } = lan(t, 2);
  a!.ip = '198.18.0.20';
  b!.ip = '198.18.0.21';
  for (const size of [0, 1, 57, 1472]) t.true((await a!.ping('198.18.0.21', 2000, size)) >= 0, `size ${size}`);
  for (const size of [-1, 1473, 1.5]) {
    const e = await t.throwsAsync(a!.ping('198.18.0.21', 2000, size), { instanceOf: NetstackError });
    t.is(e?.code, NetstackErrorCode.BadArgument);
  }
  await t.throwsAsync(a!.ping('198.18.0.300', 100), { instanceOf: NetstackError });
});

test('ARP and ping time out with a typed error when nobody answers; answerArp=false keeps a host silent', async (t) => {
  const { hosts: [a, b] } = lan(t, 2);
  a!.ip = '198.18.0.30';
  b!.ip = '198.18.0.31';
  b!.answerArp = false;
  const e = await t.throwsAsync(a!.arp('198.18.0.31', 150), { instanceOf: NetstackError });
  t.is(e?.code, NetstackErrorCode.Timeout);
  // Even with a known MAC, B does not answer echo requests.
  a!.arpCache.set('198.18.0.31', b!.mac);
  t.is((await t.throwsAsync(a!.ping('198.18.0.31', 150), { instanceOf: NetstackError }))?.code, NetstackErrorCode.Timeout);
  b!.answerArp = true;
  t.true((await a!.ping('198.18.0.31', 1000)) >= 0);
});

test('ping without an address is a typed error', async (t) => {
  const { hosts: [a] } = lan(t, 2);
  t.is((await t.throwsAsync(a!.ping('198.18.0.1', 100), { instanceOf: NetstackError }))?.code, NetstackErrorCode.NoAddress);
});

test('off-subnet destinations go to the router MAC', async (t) => {
  const { hosts: [a, r] } = lan(t, 2);
  a!.ip = '198.18.1.10';
  a!.mask = '255.255.255.0';
  a!.router = '198.18.1.1';
  r!.ip = '198.18.1.1';
  // The "router" answers on behalf of the far host by hand.
  const far = '198.19.0.5';
  const seen = r!.waitFor((f) => f.icmp?.type === IcmpType.EchoRequest && f.ipv4?.dst === far, 2000).then((f) => {
    const reply = buildIcmpEcho(IcmpType.EchoReply, f.icmp!.id, f.icmp!.seq, Buffer.from(f.icmp!.data));
    r!.send(buildEthernet(Buffer.from(f.src), r!.mac, EtherType.IPv4, buildIpv4({ src: far, dst: f.ipv4!.src, protocol: IpProtocol.ICMP, payload: reply })));
    return f;
  });
  t.true((await a!.ping(far, 2000)) >= 0);
  const f = await seen;
  t.deepEqual(Buffer.from(f.dst), r!.mac);
});

test('close rejects pending operations with CLOSED and stops listening', async (t) => {
  const { ports: [p], hosts: [a] } = lan(t, 2);
  a!.ip = '198.18.0.40';
  const pending = a!.arp('198.18.0.41', 5000);
  a!.close();
  t.is((await t.throwsAsync(pending, { instanceOf: NetstackError }))?.code, NetstackErrorCode.Closed);
  t.is((await t.throwsAsync(a!.dhcp(100), { instanceOf: NetstackError }))?.code, NetstackErrorCode.Closed);
  t.throws(() => a!.send(buildArpRequest(a!.mac, '198.18.0.40', '198.18.0.41')), { instanceOf: NetstackError });
  const before = a!.counters.received;
  p!.write([buildArpRequest(parseMac('02:00:00:00:00:99'), '198.18.0.99', '198.18.0.40')]);
  t.is(a!.counters.received, before);
});

// ---------------------------------------------------------------------------------------------
// DHCP against a fake server written here from the exported encoder/decoder.

interface FakeDhcpOptions {
  serverIp: string;
  pool: string[];
  mask: string;
  router?: string;
  leaseSeconds: number;
  /** Ignore this many DISCOVERs first (to exercise retransmission). */
  ignoreDiscovers?: number;
  nak?: boolean;
}

class FakeDhcpServer {
  readonly host: TestHost;
  readonly received: { frame: ParsedFrame; raw: Buffer }[] = [];
  readonly #o: FakeDhcpOptions;
  #ignored = 0;
  #off: () => void;

  constructor(port: MemoryPort, o: FakeDhcpOptions) {
    this.#o = o;
    this.host = new TestHost(port);
    this.host.ip = o.serverIp;
    this.#off = port.onWrite((raw) => this.#onFrame(raw));
  }

  close() {
    this.#off();
    this.host.close();
  }

  #onFrame(raw: Buffer) {
    const f = parseFrame(raw);
    if (!f.dhcp || f.dhcp.op !== 1 || f.udp?.dstPort !== DHCP_SERVER_PORT) return;
    this.received.push({ frame: f, raw });
    const type = dhcpMessageType(f.dhcp);
    if (type === DhcpMessageType.Discover) {
      if (this.#ignored < (this.#o.ignoreDiscovers ?? 0)) {
        this.#ignored++;
        return;
      }
      this.#reply(f, DhcpMessageType.Offer, this.#o.pool[0]!);
    } else if (type === DhcpMessageType.Request) {
      const requested = f.dhcp.options.get(DhcpOption.RequestedIp);
      const server = f.dhcp.options.get(DhcpOption.ServerId);
      const ok = !this.#o.nak && requested?.equals(ipToBuffer(this.#o.pool[0]!)) && server?.equals(ipToBuffer(this.#o.serverIp));
      this.#reply(f, ok ? DhcpMessageType.Ack : DhcpMessageType.Nak, ok ? this.#o.pool[0]! : '0.0.0.0');
    }
  }

  #reply(req: ParsedFrame, type: number, yiaddr: string) {
    const o = this.#o;
    const options = new Map<number, Buffer>([
      [DhcpOption.MessageType, Buffer.from([type])],
      [DhcpOption.ServerId, ipToBuffer(o.serverIp)],
    ]);
    if (type !== DhcpMessageType.Nak) {
      options.set(DhcpOption.SubnetMask, ipToBuffer(o.mask));
      if (o.router) options.set(DhcpOption.Router, ipToBuffer(o.router));
      const lease = Buffer.alloc(4);
      lease.writeUInt32BE(o.leaseSeconds);
      options.set(DhcpOption.LeaseTime, lease);
    }
    const msg: DhcpMessage = {
      op: 2,
      xid: req.dhcp!.xid,
      secs: 0,
      flags: req.dhcp!.flags,
      ciaddr: '0.0.0.0',
      yiaddr,
      siaddr: o.serverIp,
      giaddr: '0.0.0.0',
      chaddr: Buffer.from(req.dhcp!.chaddr),
      options,
    };
    const broadcast = (req.dhcp!.flags & 0x8000) !== 0;
    const frame = buildUdpFrame(
      broadcast ? BROADCAST_MAC : Buffer.from(req.dhcp!.chaddr),
      this.host.mac,
      o.serverIp,
      broadcast ? '255.255.255.255' : yiaddr,
      DHCP_SERVER_PORT,
      DHCP_CLIENT_PORT,
      buildDhcp(msg),
    );
    queueMicrotask(() => this.host.send(frame));
  }
}

function dhcpLan(t: ExecutionContext, o: Partial<FakeDhcpOptions> = {}) {
  const hub = new Hub();
  const cp = new MemoryPort('client');
  const sp = new MemoryPort('server');
  hub.attach(cp);
  hub.attach(sp);
  const server = new FakeDhcpServer(sp, { serverIp: '198.18.30.1', pool: ['198.18.30.10'], mask: '255.255.255.0', router: '198.18.30.1', leaseSeconds: 7200, ...o });
  const client = new TestHost(cp);
  t.teardown(() => {
    client.close();
    server.close();
    hub.close();
  });
  return { client, server };
}

test('DHCP: DISCOVER/OFFER/REQUEST/ACK against a fake server, fields checked both ways', async (t) => {
  const { client, server } = dhcpLan(t);
  const lease = await client.dhcp(3000);
  t.deepEqual(lease, { ip: '198.18.30.10', mask: '255.255.255.0', router: '198.18.30.1', server: '198.18.30.1', leaseSeconds: 7200 });
  t.is(client.ip, '198.18.30.10');
  t.is(client.mask, '255.255.255.0');
  t.is(client.router, '198.18.30.1');

  const [discover, request] = server.received;
  t.is(server.received.length, 2);
  for (const { frame, raw } of [discover!, request!]) {
    t.deepEqual(Buffer.from(frame.dst), BROADCAST_MAC);
    t.deepEqual(Buffer.from(frame.src), client.mac);
    t.is(frame.ipv4!.src, '0.0.0.0');
    t.is(frame.ipv4!.dst, '255.255.255.255');
    t.true(frame.ipv4!.headerChecksumOk);
    t.true(frame.udp!.checksumOk);
    t.is(frame.udp!.srcPort, DHCP_CLIENT_PORT);
    t.is(frame.dhcp!.flags, 0x8000, 'broadcast flag');
    t.deepEqual(Buffer.from(frame.dhcp!.chaddr), client.mac);
    t.deepEqual(frame.dhcp!.options.get(DhcpOption.ClientId), Buffer.concat([Buffer.from([1]), client.mac]));
    t.true(frame.dhcp!.options.get(DhcpOption.ParameterList)!.includes(DhcpOption.Router));
    t.is(raw.readUInt32BE(14 + 20 + 8 + 236), 0x63825363, 'magic cookie in place');
  }
  t.is(dhcpMessageType(discover!.frame.dhcp!), DhcpMessageType.Discover);
  t.is(dhcpMessageType(request!.frame.dhcp!), DhcpMessageType.Request);
  t.is(request!.frame.dhcp!.xid, discover!.frame.dhcp!.xid);
  t.deepEqual(request!.frame.dhcp!.options.get(DhcpOption.RequestedIp), ipToBuffer('198.18.30.10'));
  t.deepEqual(request!.frame.dhcp!.options.get(DhcpOption.ServerId), ipToBuffer('198.18.30.1'));

  // With the lease in hand, the server is reachable.
  t.true((await client.ping('198.18.30.1', 2000)) >= 0);
});

test('DHCP retransmits a lost DISCOVER', async (t) => {
  const { client, server } = dhcpLan(t, { ignoreDiscovers: 1 });
  const lease = await client.dhcp(5000);
  t.is(lease.ip, '198.18.30.10');
  const types = server.received.map((r) => dhcpMessageType(r.frame.dhcp!));
  t.deepEqual(types, [DhcpMessageType.Discover, DhcpMessageType.Discover, DhcpMessageType.Request]);
  t.is(server.received[0]!.frame.dhcp!.xid, server.received[1]!.frame.dhcp!.xid);
});

test('DHCP NAK and silence are typed errors', async (t) => {
  const { client } = dhcpLan(t, { nak: true });
  t.is((await t.throwsAsync(client.dhcp(3000), { instanceOf: NetstackError }))?.code, NetstackErrorCode.DhcpNak);
  t.is(client.ip, undefined);
  const silent = dhcpLan(t, { ignoreDiscovers: 100 });
  t.is((await t.throwsAsync(silent.client.dhcp(300), { instanceOf: NetstackError }))?.code, NetstackErrorCode.Timeout);
});

// ---------------------------------------------------------------------------------------------
// Encoders checked by independent means.

test('IPv4 header checksum matches a published example', (t) => {
  // The worked example of the IPv4 header checksum (20-byte header, checksum b861).
  const hdr = Buffer.from('450000730000400040110000c0a80001c0a800c7', 'hex');
  t.is(internetChecksum(hdr), 0xb861);
  hdr.writeUInt16BE(0xb861, 10);
  t.is(internetChecksum(hdr), 0);
  // And our builder produces a header that verifies.
  const ip = buildIpv4({ src: '198.18.0.1', dst: '198.18.0.2', protocol: 17, payload: Buffer.alloc(3), id: 7 });
  t.is(internetChecksum(ip.subarray(0, 20)), 0);
});

function pcap(frames: Buffer[]): Buffer {
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(65535, 16);
  hdr.writeUInt32LE(1, 20); // Ethernet
  return Buffer.concat([
    hdr,
    ...frames.flatMap((f) => {
      const r = Buffer.alloc(16);
      r.writeUInt32LE(f.length, 8);
      r.writeUInt32LE(f.length, 12);
      return [r, f];
    }),
  ]);
}

function hasTcpdump(): boolean {
  try {
    execFileSync('tcpdump', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// tcpdump is the independent decoder here; CI installs it (.ci/run). Without it this test is skipped LOUDLY.
const tcpdumpAvailable = hasTcpdump();
if (!tcpdumpAvailable) console.error('\n!!! SKIPPING the tcpdump cross-check in test/helpers/netstack.test.ts: tcpdump is not installed (apt-get install tcpdump) !!!\n');
(tcpdumpAvailable ? test : test.skip)('tcpdump decodes our frames and finds every checksum right (and a broken one wrong)', (t) => {
  const mac = parseMac('02:11:22:33:44:55');
  const dhcp = buildDhcp({
    op: 1,
    xid: 0x12345678,
    secs: 0,
    flags: 0x8000,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: mac,
    options: new Map([
      [DhcpOption.MessageType, Buffer.from([DhcpMessageType.Request])],
      [DhcpOption.RequestedIp, ipToBuffer('198.18.30.10')],
      [DhcpOption.ServerId, ipToBuffer('198.18.30.1')],
      [DhcpOption.ClientId, Buffer.concat([Buffer.from([1]), mac])],
      [DhcpOption.ParameterList, Buffer.from([1, 3, 51])],
    ]),
  });
  const echo = buildEthernet(parseMac('02:00:00:00:00:01'), mac, EtherType.IPv4, buildIpv4({ src: '198.18.0.2', dst: '198.18.0.1', protocol: IpProtocol.ICMP, payload: buildIcmpEcho(IcmpType.EchoRequest, 0x4d2, 3, Buffer.from('odd-length payload!')) }));
  const broken = Buffer.from(echo);
  broken[14 + 20 + 9] ^= 0x40; // flip a bit in the ICMP payload
  const frames = [
    buildArpRequest(mac, '198.18.0.2', '198.18.0.1'),
    echo,
    buildUdpFrame(BROADCAST_MAC, mac, '0.0.0.0', '255.255.255.255', 68, 67, dhcp),
    broken,
  ];
  const dir = mkdtempSync(join(tmpdir(), 'netstack-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'f.pcap'), pcap(frames));
  const out = execFileSync('tcpdump', ['-r', join(dir, 'f.pcap'), '-nn', '-vvv', '-e'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const packets = out.split(/\n(?=\d\d:)/);
  t.is(packets.length, 4, out);
  t.regex(packets[0]!, /Request who-has 198\.18\.0\.1 tell 198\.18\.0\.2/);
  t.regex(packets[1]!, /ICMP echo request, id 1234, seq 3/);
  t.notRegex(packets[1]!, /bad cksum|wrong icmp cksum/);
  t.regex(packets[2]!, /\[udp sum ok\]/);
  t.regex(packets[2]!, /Flags \[Broadcast\]/);
  t.regex(packets[2]!, /DHCP-Message \(53\), length 1: Request/);
  t.regex(packets[2]!, /Requested-IP \(50\), length 4: 198\.18\.30\.10/);
  t.regex(packets[2]!, /Server-ID \(54\), length 4: 198\.18\.30\.1\b/);
  t.regex(packets[2]!, /Client-ID \(61\), length 7: ether 02:11:22:33:44:55/);
  t.notRegex(packets[2]!, /bad cksum/);
  t.regex(packets[3]!, /wrong icmp cksum/, 'the checker does catch a bad checksum');
});

test('parseFrame reads what the builders write (VLAN tag, padding, fragments)', (t) => {
  const mac = parseMac('02:00:00:00:00:07');
  const udp = buildUdpFrame(BROADCAST_MAC, mac, '198.18.0.7', '198.18.0.8', 5000, 6000, Buffer.from('x'));
  t.is(udp.length, 60, 'padded to the Ethernet minimum');
  const p = parseFrame(udp);
  t.deepEqual(p.udp?.payload, Buffer.from('x'), 'padding trimmed by the IP length');
  t.true(p.udp!.checksumOk);
  const tagged = Buffer.concat([udp.subarray(0, 12), Buffer.from([0x81, 0x00, 0x00, 0x2a]), udp.subarray(12)]);
  const q = parseFrame(tagged);
  t.is(q.vlan, 42);
  t.is(q.udp?.dstPort, 6000);
  const frag = Buffer.from(udp);
  frag.writeUInt16BE(0x2000, 14 + 6); // more fragments
  const r = parseFrame(frag);
  t.true(r.ipv4!.fragment);
  t.is(r.udp, undefined);
  const corrupt = Buffer.from(udp);
  corrupt[14 + 28] ^= 1;
  t.false(parseFrame(corrupt).udp!.checksumOk);
});

test('parseFrame never fails with anything but FrameParseError (garbage, truncations, bit flips)', (t) => {
  const mac = parseMac('02:00:00:00:00:07');
  const valid = [
    buildArpRequest(mac, '198.18.0.7', '198.18.0.8'),
    buildUdpFrame(BROADCAST_MAC, mac, '0.0.0.0', '255.255.255.255', 68, 67, buildDhcp({ op: 1, xid: 1, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr: mac, options: new Map([[53, Buffer.from([1])]]) })),
    buildEthernet(mac, mac, EtherType.IPv4, buildIpv4({ src: '198.18.0.7', dst: '198.18.0.8', protocol: 1, payload: buildIcmpEcho(8, 1, 1, Buffer.alloc(10)) })),
  ];
  const check = (b: Buffer) => {
    try {
      parseFrame(b);
    } catch (e) {
      if (!(e instanceof FrameParseError)) throw e;
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (a) => check(Buffer.from(a))), { numRuns: 2000 });
  fc.assert(
    fc.property(fc.constantFrom(...valid), fc.nat(400), fc.array(fc.tuple(fc.nat(399), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }), (f, cut, flips) => {
      const b = Buffer.from(f.subarray(0, Math.min(cut, f.length)));
      for (const [i, x] of flips) if (i < b.length) b[i]! ^= x;
      check(b);
    }),
    { numRuns: 3000 },
  );
  t.throws(() => parseFrame(Buffer.alloc(13)), { instanceOf: FrameParseError });
});
