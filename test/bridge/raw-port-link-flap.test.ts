/**
 * The bridged interface going down and up, at the level of one RawSocketPort (the end-to-end test in
 * raw-bridge.real.test.ts sees the same through sebridge): frames must be received again afterwards.
 *
 * Why this can break: a packet socket reports a pending socket error (ENETDOWN) when its interface goes down, and
 * also right at bind() when the interface is down at that moment (the case of a re-created interface, which
 * appears down). poll() then says POLLERR, and libuv's uv_poll STOPS the watcher on POLLERR; a channel that only
 * counts the error never reads again, although the kernel resumes delivering frames once the interface is up.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { RawSocketPort } from '../../src/ports/raw-socket-port.ts';
import { keepFrame } from '../../src/ports/port.ts';
import { ip, isRoot, NetLab, until } from '../native/netlab.ts';
import { mac, udp4Frame } from '../native/frames.ts';

if (!isRoot) console.error('\n!!! SKIPPING test/bridge/raw-port-link-flap.test.ts: needs root (namespaces, veth, packet sockets) !!!\n');
const rootTest = (title: string, fn: (t: ExecutionContext) => Promise<void>) => (isRoot ? test.serial(title, fn) : test.skip(title, fn));

const PEER = mac('02:5e:be:00:00:01');
const OTHER = mac('02:5e:be:00:00:02');

async function setup(t: ExecutionContext) {
  const lab = new NetLab();
  t.teardown(() => lab.cleanup());
  const ns = lab.addNamespace('n');
  const outer = lab.name('o');
  lab.addVeth(outer, ns, 'lan0');
  const peer = await lab.peer(ns, 'lan0');
  return { lab, ns, outer, peer };
}

function collect(port: RawSocketPort): Buffer[] {
  const got: Buffer[] = [];
  port.setReceiver((frames) => got.push(...frames.map(keepFrame))); // views into the port's reused hand-over buffer: copy to keep
  return got;
}

let seq = 0;
async function expectDelivery(peer: { send(f: Buffer): void }, got: Buffer[], subnet: string, what: string): Promise<void> {
  const frame = udp4Frame(OTHER, PEER, `${subnet}.1`, `${subnet}.2`, Buffer.from(`${what} #${++seq}`));
  // Resent until seen: the first frames after "up" may race the veth's carrier coming back.
  const timer = setInterval(() => peer.send(frame), 100);
  try {
    peer.send(frame);
    await until(() => got.some((g) => g.equals(frame)), 3000, `frame at the port ${what}`);
  } finally {
    clearInterval(timer);
  }
}

rootTest('RawSocketPort receives again after its interface went down and up', async (t) => {
  const { lab, outer, peer } = await setup(t);
  const port = RawSocketPort.open(outer, { disableOffloads: false });
  t.teardown(() => port.close());
  const got = collect(port);
  const states: string[] = [];
  port.on('link', (s) => states.push(s.up ? 'up' : 'down'));
  await expectDelivery(peer, got, lab.subnet, 'before');

  ip('link', 'set', outer, 'down');
  await until(() => states.includes('down'), 3000, 'link down event');
  ip('link', 'set', outer, 'up');
  await until(() => states.at(-1) === 'up', 3000, 'link up event');
  await t.notThrowsAsync(expectDelivery(peer, got, lab.subnet, 'after down/up'));
  t.log(`stats after: rxErrors=${port.stats().rxErrors} lastError=${port.stats().lastError}`);
});

rootTest('RawSocketPort opened while its interface is down receives once it is up', async (t) => {
  const { lab, outer, peer } = await setup(t);
  ip('link', 'set', outer, 'down');
  const port = RawSocketPort.open(outer, { disableOffloads: false });
  t.teardown(() => port.close());
  const got = collect(port);
  ip('link', 'set', outer, 'up');
  await until(() => port.link.up, 3000, 'link up');
  await t.notThrowsAsync(expectDelivery(peer, got, lab.subnet, 'after coming up'));
});
