// TapPort: the device is created with the requested MAC/MTU, comes up inside a Linux bridge the test made,
// frames pass both ways between the TAP and a peer on another bridge member, and close() removes the device.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { TapPort } from '../../src/ports/tap-port.ts';
import { keepFrame } from '../../src/ports/port.ts';
import { loadNative } from '../../src/ports/native.ts';
import { arpRequest, mac, udp4Frame } from './frames.ts';
import { bridgedVethLab, ip, isRoot, NetLab, sleep, until } from './netlab.ts';

if (!isRoot) console.warn('SKIPPING test/native/tap-port.test.ts: needs root (TAP devices, bridges)');
const rootTest = (title: string, fn: (t: ExecutionContext) => void | Promise<void>) =>
  isRoot ? test.serial(title, fn) : test.skip(title, fn);

const PEER = mac('02:5e:b0:00:01:01');
const TAP_MAC = mac('02:5e:b0:00:01:02');
const APPLIANCE = mac('02:5e:b0:00:01:03'); // a station "behind" the TAP, i.e. one our program speaks for

rootTest('TAP with MAC/MTU in a bridge: frames both ways, removed on close', async (t) => {
  const { lab, ns, inner, bridge } = bridgedVethLab(t);

  const tapName = lab.name('t');
  const tap = TapPort.create({ name: tapName, mac: TAP_MAC, mtu: 1400, bridge });
  t.teardown(() => tap.close());
  lab.trackLink(tapName);
  t.is(tap.name, tapName);
  const link = JSON.parse(ip('-d', '-j', 'link', 'show', 'dev', tapName))[0];
  t.is(link.address, '02:5e:b0:00:01:02');
  t.is(link.mtu, 1400);
  t.is(link.master, bridge);
  t.true(link.flags.includes('UP'));
  t.deepEqual(tap.mac, TAP_MAC);

  const got: Buffer[] = [];
  tap.setReceiver((frames) => got.push(...frames.map(keepFrame))); // views into the port's reused hand-over buffer: copy to keep
  const peer = await lab.peer(ns, inner);

  // LAN -> TAP: a broadcast is flooded to every bridge member.
  const arp = arpRequest(PEER, '198.18.9.1', '198.18.9.3');
  peer.send(arp);
  await until(() => got.some((g) => g.equals(arp)), 3000, 'ARP at the TAP');

  // TAP -> LAN, then LAN -> TAP by unicast to the MAC the bridge learned from that.
  const out = udp4Frame(PEER, APPLIANCE, '198.18.9.3', '198.18.9.1', Buffer.from('from the appliance'));
  tap.write([out]);
  await peer.waitFor((p) => p.frame.equals(out));
  const back = udp4Frame(APPLIANCE, PEER, '198.18.9.1', '198.18.9.3', Buffer.from('unicast back'));
  peer.send(back);
  await until(() => got.some((g) => g.equals(back)), 3000, 'unicast at the TAP');

  const s = tap.stats();
  t.is(s.txFrames, 1);
  t.true(s.rxFrames >= 2);
  tap.write([Buffer.alloc(2000)]);
  t.is(tap.stats().txDropInvalid, 1);

  tap.close();
  tap.close();
  await sleep(50);
  t.is(loadNative().ifInfo(tapName), null, 'device removed');
  t.false(ip('-j', 'link', 'show', 'master', bridge).includes(tapName));
  tap.write([out]); // harmless after close
});

rootTest('TapPort errors are typed', (t) => {
  const err = t.throws(() => TapPort.create({ name: 'x'.repeat(20) }));
  t.is((err as { code?: string }).code, 'SEB_EARG');
  const lab = new NetLab();
  t.teardown(() => lab.cleanup());
  const name = lab.name('t');
  lab.trackLink(name);
  const bad = t.throws(() => TapPort.create({ name, bridge: lab.name('nobr') }));
  t.is(bad?.name, 'PortError');
  t.is((bad as { code?: string }).code, 'ENODEV');
  t.is(loadNative().ifInfo(name), null, 'a half-configured TAP is removed again');
});
