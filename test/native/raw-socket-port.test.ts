// RawSocketPort on a veth whose other end sits in a namespace of the test's own, with an independent Python
// raw-socket peer on that end: frames both ways (ARP, IPv4, IPv6, 802.1Q and 802.1ad tagged), own
// transmissions not echoed, promiscuous mode and offloads undone on close, link events and recovery.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { RawSocketPort } from '../../src/ports/raw-socket-port.ts';
import { keepFrame } from '../../src/ports/port.ts';
import type { LinkState } from '../../src/ports/raw-socket-port.ts';
import { loadNative } from '../../src/ports/native.ts';
import { arpRequest, eth, ipv6Header, mac, udp4Frame } from './frames.ts';
import { ip, isRoot, promiscuity, sleep, until, vethLab } from './netlab.ts';

if (!isRoot) console.warn('SKIPPING test/native/raw-socket-port.test.ts: needs root (network namespaces, AF_PACKET)');
const rootTest = (title: string, fn: (t: ExecutionContext) => void | Promise<void>) =>
  isRoot ? test.serial(title, fn) : test.skip(title, fn);

const PEER = mac('02:5e:b0:00:00:01');
const HOST = mac('02:5e:b0:00:00:02');

function collect(port: RawSocketPort): Buffer[] {
  const got: Buffer[] = [];
  port.setReceiver((frames) => got.push(...frames.map(keepFrame))); // views into the port's reused hand-over buffer: copy to keep
  return got;
}

rootTest('frames both ways, tags intact, own frames not echoed, promisc and offloads undone on close', async (t) => {
  const { lab, ns, outer, inner } = vethLab(t);
  const native = loadNative();
  // The NIC strips tags into metadata with this on; the port must put them back.
  native.setFeatures(outer, { 'rx-vlan-hw-parse': true, 'rx-vlan-stag-hw-parse': true, 'rx-gro': true });
  t.true(native.getFeatures(outer)['rx-gro'].active);
  const peer = await lab.peer(ns, inner);

  const port = RawSocketPort.open(outer);
  t.teardown(() => port.close());
  const got = collect(port);
  t.is(promiscuity(outer), 1);
  t.false(native.getFeatures(outer)['rx-gro'].active, 'GRO switched off while open');
  t.true(port.stats().offloadsDisabled.includes('rx-gro'));

  const v6 = Buffer.concat([ipv6Header(Buffer.from('fe800000000000000000000000000001', 'hex'),
    Buffer.from('ff020000000000000000000000000001', 'hex'), 59, 8), Buffer.alloc(8, 0xab)]);
  const inbound = [
    arpRequest(PEER, '198.18.7.1', '198.18.7.2'),
    udp4Frame(HOST, PEER, '198.18.7.1', '198.18.7.2', Buffer.from('hello over ipv4')), // unicast to another MAC: needs promisc
    eth(mac('33:33:00:00:00:01'), PEER, 0x86dd, v6),
    eth(HOST, PEER, 0x0800, Buffer.alloc(46, 1), { tci: 0x2064 }),
    eth(HOST, PEER, 0x0806, Buffer.alloc(28, 2), { tci: 0x0005, tpid: 0x88a8 }),
    eth(HOST, PEER, 0x0800, Buffer.alloc(1500, 3), { tci: 0x0007 }), // 1518 bytes: tagged full-size frame
  ];
  for (const f of inbound) peer.send(f);
  await until(() => inbound.every((f) => got.some((g) => g.equals(f))), 3000, 'injected frames at the port');
  t.true(port.stats().vlanTagsRestored >= 3);

  const outbound = [
    udp4Frame(PEER, HOST, '198.18.7.2', '198.18.7.1', Buffer.from('hello back')),
    eth(PEER, HOST, 0x0800, Buffer.alloc(46, 4), { tci: 0x0064 }),
    eth(mac('02:5e:b0:00:00:99'), HOST, 0x88b5, Buffer.from('local experimental ethertype, to nobody')),
  ];
  port.write(outbound);
  // The peer's kernel strips the tag into metadata on its side too; put it back to compare.
  const seen = (f: Buffer) => peer.waitFor((p) =>
    (p.tci === null ? p.frame : eth(p.frame.subarray(0, 6), p.frame.subarray(6, 12), p.frame.readUInt16BE(12), p.frame.subarray(14), { tci: p.tci })).equals(f));
  for (const f of outbound) await seen(f);
  await sleep(200);
  for (const f of outbound) t.false(got.some((g) => g.equals(f)), 'own transmission delivered back');
  const s = port.stats();
  t.is(s.txFrames, 3);
  t.is(s.txDropError + s.txDropQueueFull + s.rxDropOversize, 0);

  // Frames the protocol cannot carry are counted, not silently lost.
  port.write([Buffer.alloc(1601), Buffer.alloc(10)]);
  t.is(port.stats().txDropInvalid, 2);
  const tagged = eth(HOST, PEER, 0x0800, Buffer.alloc(1500, 5), { tci: 9 }); // 1518 bytes: the largest legal frame
  peer.send(tagged);
  await until(() => got.some((g) => g.equals(tagged)), 2000, 'tagged full-size frame');

  port.close();
  port.close(); // idempotent
  t.is(promiscuity(outer), 0, 'promiscuous membership dropped');
  t.true(native.getFeatures(outer)['rx-gro'].active, 'GRO restored');
  const before = got.length;
  peer.send(inbound[0]);
  await sleep(200);
  t.is(got.length, before, 'nothing delivered after close');
  port.write(outbound); // harmless after close
});

rootTest('oversize frames from the wire are dropped and counted', async (t) => {
  const { lab, ns, outer, inner } = vethLab(t);
  ip('link', 'set', outer, 'mtu', '4000');
  ip('-n', ns, 'link', 'set', inner, 'mtu', '4000');
  const peer = await lab.peer(ns, inner);
  const port = RawSocketPort.open(outer);
  t.teardown(() => port.close());
  const got = collect(port);
  peer.send(eth(HOST, PEER, 0x0800, Buffer.alloc(3000, 1)));
  peer.send(eth(HOST, PEER, 0x0800, Buffer.alloc(100, 2)));
  await until(() => got.length >= 1 && port.stats().rxDropOversize >= 1, 3000, 'drop counted');
  t.true(got.every((f) => f.length <= 1600));
});

rootTest('when the kernel cannot take more, frames wait in a bounded queue, leave in order, and overflow is counted', async (t) => {
  const { lab, ns, outer, inner } = vethLab(t);
  // A slow qdisc holds frames, and a tiny socket send buffer fills after a couple of them: sendmmsg says EAGAIN.
  ip('link', 'set', outer, 'txqueuelen', '10000');
  execFileSync('tc', ['qdisc', 'add', 'dev', outer, 'root', 'tbf', 'rate', '20mbit', 'burst', '5kb', 'latency', '2s']);
  const peer = await lab.peer(ns, inner);
  // All of this process's threads (the port's I/O thread too) on one CPU: tbf hands frames to the veth from whichever
  // CPU dequeues them (the sender or its timer), and frames put on two CPUs' receive backlogs can overtake each other
  // inside the kernel, which would look like our queue reordering them.
  const allCpus = execFileSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8' }).trim().split(/\s+/).at(-1)!;
  execFileSync('taskset', ['-a', '-p', '1', String(process.pid)]);
  t.teardown(() => void execFileSync('taskset', ['-a', '-p', allCpus, String(process.pid)]));
  const port = RawSocketPort.open(outer, { sndbuf: 4096 });
  t.teardown(() => port.close());
  const total = 1200;
  const frames = Array.from({ length: total }, (_, i) => {
    const payload = Buffer.alloc(986);
    payload.writeUInt32BE(i, 0);
    return eth(PEER, HOST, 0x88b5, payload);
  });
  port.write(frames.slice(0, 600));
  port.write(frames.slice(600));
  const s0 = port.stats();
  t.true(s0.txQueued > 0, 'frames queued');
  // The I/O thread's transmit ring is 512 KiB; a 1000-byte frame takes 1008 bytes of it.
  t.true(s0.txQueued <= Math.floor((512 * 1024) / 1008), `queue bounded (${s0.txQueued})`);
  t.true(s0.txDropQueueFull > 0, 'overflow counted');
  await until(() => port.stats().txQueued === 0, 5000, 'queue drained');
  const s = port.stats();
  t.is(s.txFrames + s.txDropQueueFull + s.txDropError, total, 'every frame accounted for');
  await until(() => peer.frames.filter((p) => p.frame.readUInt16BE(12) === 0x88b5).length >= s.txFrames, 5000, 'frames at the peer');
  const seqs = peer.frames.filter((p) => p.frame.readUInt16BE(12) === 0x88b5).map((p) => p.frame.readUInt32BE(14));
  t.is(seqs.length, s.txFrames);
  const firstOutOfOrder = seqs.findIndex((v, i) => i > 0 && v < seqs[i - 1]!);
  if (firstOutOfOrder >= 0) t.log(`out of order at ${firstOutOfOrder}: ${seqs.slice(Math.max(0, firstOutOfOrder - 5), firstOutOfOrder + 5).join(' ')}`);
  t.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'order kept');
  t.log(`sent ${s.txFrames}, queue overflow ${s.txDropQueueFull}, kernel refused ${s.txDropError}`);
});

rootTest('link down/up and interface re-creation are reported, and the port recovers by itself', async (t) => {
  const { lab, ns, outer } = vethLab(t);
  const port = RawSocketPort.open(outer);
  t.teardown(() => port.close());
  const got = collect(port);
  const events: LinkState[] = [];
  port.on('link', (s) => events.push(s));
  t.deepEqual(port.link, { up: true, present: true });

  ip('link', 'set', outer, 'down');
  await until(() => events.some((e) => !e.up && e.present), 2000, 'down event');
  ip('link', 'set', outer, 'up');
  await until(() => events.at(-1)?.up === true, 2000, 'up event');

  const firstIndex = port.ifindex;
  ip('link', 'del', outer);
  await until(() => events.at(-1)?.present === false, 2000, 'gone event');
  port.write([Buffer.alloc(60)]);
  t.is(port.stats().txDropNoDevice, 1);

  const inner2 = lab.name('j');
  lab.addVeth(outer, ns, inner2);
  await until(() => events.at(-1)?.present === true && events.at(-1)?.up === true, 3000, 'back event');
  t.not(port.ifindex, firstIndex);
  t.is(port.stats().reopens, 1);
  t.is(promiscuity(outer), 1, 'promiscuous again on the new interface');

  const peer = await lab.peer(ns, inner2);
  const hello = udp4Frame(HOST, PEER, '198.18.7.1', '198.18.7.2', Buffer.from('after re-creation'));
  peer.send(hello);
  await until(() => got.some((g) => g.equals(hello)), 3000, 'frame after recovery');
  const reply = udp4Frame(PEER, HOST, '198.18.7.2', '198.18.7.1', Buffer.from('reply after re-creation'));
  port.write([reply]);
  await peer.waitFor((p) => p.frame.equals(reply));
  t.pass();
});

rootTest('opening a missing interface fails with a typed error', (t) => {
  const err = t.throws(() => RawSocketPort.open('sebnnonexist0'));
  t.is((err as { code?: string }).code, 'ENODEV');
  t.is(err?.name, 'PortError');
});
