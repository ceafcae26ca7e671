// An exception thrown by JavaScript inside the addon's callbacks (the hub behind a port's receiver, a link-event
// listener) must not end the process: it used to reach napi_fatal_exception, i.e. process 'uncaughtException',
// which kills a daemon that has no handler (and fails this test worker). The addon catches it, counts it, keeps
// its message, and carries on delivering.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { RawSocketPort } from '../../src/ports/raw-socket-port.ts';
import { keepFrame } from '../../src/ports/port.ts';
import { loadNative } from '../../src/ports/native.ts';
import { mac, udp4Frame } from './frames.ts';
import { ip, isRoot, until, vethLab } from './netlab.ts';

if (!isRoot) console.warn('\n!!! SKIPPING test/native/callback-errors.test.ts: needs root (network namespaces, AF_PACKET) !!!\n');
const rootTest = (title: string, fn: (t: ExecutionContext) => void | Promise<void>) =>
  isRoot ? test.serial(title, fn) : test.skip(title, fn);

const PEER = mac('02:5e:b0:00:02:01');
const HOST = mac('02:5e:b0:00:02:02');

rootTest('a receiver that throws: caught in the addon and counted, frames keep coming, the process lives', async (t) => {
  let uncaught = 0;
  const onUncaught = () => void uncaught++;
  process.on('uncaughtException', onUncaught);
  t.teardown(() => void process.off('uncaughtException', onUncaught));

  const { lab, ns, outer, inner } = vethLab(t);
  const peer = await lab.peer(ns, inner);
  const port = RawSocketPort.open(outer);
  t.teardown(() => port.close());

  let calls = 0;
  const got: Buffer[] = [];
  port.setReceiver((frames) => {
    calls++;
    if (calls <= 2) throw new Error(`hub bug #${calls}`);
    got.push(...frames.map(keepFrame)); // views into the port's reused hand-over buffer: copy to keep
  });
  const frame = (n: number) => udp4Frame(PEER, HOST, '198.18.10.1', '198.18.10.2', Buffer.from(`frame ${n}`));
  peer.send(frame(1));
  await until(() => port.stats().callbackErrors >= 1, 3000, 'first exception counted');
  peer.send(frame(2));
  await until(() => port.stats().callbackErrors >= 2, 3000, 'second exception counted');
  peer.send(frame(3));
  await until(() => got.some((f) => f.equals(frame(3))), 3000, 'frames delivered after the exceptions');
  const s = port.stats();
  t.is(s.callbackErrors, 2);
  t.regex(s.lastCallbackError, /hub bug #2/);
  t.is(uncaught, 0, 'nothing reached uncaughtException');
});

rootTest('a link-event listener that throws: caught and counted, the monitor keeps reporting', async (t) => {
  let uncaught = 0;
  const onUncaught = () => void uncaught++;
  process.on('uncaughtException', onUncaught);
  t.teardown(() => void process.off('uncaughtException', onUncaught));

  const { outer } = vethLab(t);
  const native = loadNative();
  const names: string[] = [];
  let throws = 0;
  const monitor = native.openLinkMonitor((events) => {
    for (const e of events) if (e.name) names.push(e.name);
    throws++;
    throw new Error('listener bug');
  });
  t.teardown(() => monitor.close());
  ip('link', 'set', outer, 'down');
  await until(() => monitor.stats().callbackErrors >= 1, 3000, 'exception counted');
  ip('link', 'set', outer, 'up');
  await until(() => monitor.stats().callbackErrors >= 2, 3000, 'next event still delivered');
  t.true(names.includes(outer));
  t.is(monitor.stats().callbackErrors, throws);
  t.regex(monitor.stats().lastCallbackError, /listener bug/);
  t.is(uncaught, 0);
});
