import test from 'ava';
import { Supervisor, tapInterfaceName } from '../../src/control/supervisor.ts';
import { memoryLog } from '../../src/control/control-log.ts';
import { FakeSystem } from './fake-system.ts';
import { appConfig, bridgeConfig, cascadeConfig } from './config-fixtures.ts';

function setup(bridgeRetryMs = 20) {
  const system = new FakeSystem();
  const log = memoryLog();
  const sup = new Supervisor({ system, log, bridgeRetryMs });
  return { system, log, sup };
}

const frame = (dst: number, src: number) => {
  const f = Buffer.alloc(60);
  f.writeUIntBE(dst, 0, 6);
  f.writeUIntBE(src, 6, 6);
  return f;
};

test('changing one cascade replaces only that one; the other keeps its running object and counters', async (t) => {
  const { system, sup } = setup();
  const a = cascadeConfig({ name: 'A' });
  const b = cascadeConfig({ name: 'B', host: '198.18.0.2' });
  await sup.apply(appConfig({ cascades: [a, b] }));
  const runA = system.live('A');
  const runB = system.live('B');
  runB.goOnline(8);
  runB.inject([frame(0xffffffffffff, 0x020000000002)]);
  await sup.apply(appConfig({ cascades: [{ ...a, host: '198.18.0.9' }, b] }));
  t.is(runA.stopped, 1, 'A was stopped');
  const newA = system.live('A');
  t.not(newA, runA, 'A was replaced');
  t.is(newA.options.host, '198.18.0.9');
  t.is(system.live('B'), runB, 'B is the same running object');
  t.is(runB.started, 1);
  t.is(runB.stopped, 0);
  t.is(sup.cascade('B')!.status!.traffic.framesIn, 1, 'B keeps its counters');
  t.is(sup.cascade('b')!.status!.state, 'online', 'names are case-insensitive keys');
});

test('rename keeps the session; letter-case-only change keeps it too', async (t) => {
  const { system, sup } = setup();
  const a = cascadeConfig({ name: 'site-a' });
  await sup.apply(appConfig({ cascades: [a] }));
  const run = system.live('site-a');
  run.goOnline();
  sup.renameCascade('site-a', 'Branch');
  await sup.apply(appConfig({ cascades: [{ ...a, name: 'Branch' }] }));
  t.is(run.stopped, 0);
  t.is(system.cascades.length, 1);
  t.is(sup.cascade('branch')!.config.name, 'Branch');
  t.is(sup.cascade('site-a'), null);
  await sup.apply(appConfig({ cascades: [{ ...a, name: 'BRANCH' }] }));
  t.is(run.stopped, 0);
  t.is(sup.cascade('branch')!.config.name, 'BRANCH');
});

test('offline stops, online starts a fresh one, delete stops and forgets', async (t) => {
  const { system, sup } = setup();
  const a = cascadeConfig({ name: 'A' });
  await sup.apply(appConfig({ cascades: [a] }));
  const first = system.live('A');
  await sup.apply(appConfig({ cascades: [{ ...a, online: false }] }));
  t.is(first.stopped, 1);
  t.is(sup.cascade('A')!.status, null);
  await sup.apply(appConfig({ cascades: [a] }));
  t.not(system.live('A'), first);
  t.is(system.cascades.length, 2);
  await sup.apply(appConfig({ cascades: [] }));
  t.is(system.cascades[1].stopped, 1);
  t.deepEqual(sup.cascades(), []);
});

test('a cascade the engine cannot run is reported, not ignored, and nothing runs', async (t) => {
  const { system, sup, log } = setup();
  const a = cascadeConfig({ name: 'A', authType: 'cert', hashedPassword: null, clientCertPem: 'not a certificate', clientKeyPem: 'x' });
  await sup.apply(appConfig({ cascades: [a] }));
  t.is(system.cascades.length, 0);
  t.regex(sup.cascade('A')!.configError!, /clientCertPem/);
  t.true(log.lines.some((l) => l.level === 'error' && /cannot start/.test(l.message)));
});

test('frames flow between a local bridge and a cascade through the hub', async (t) => {
  const { system, sup } = setup();
  await sup.apply(appConfig({ cascades: [cascadeConfig({ name: 'A' })], bridges: [bridgeConfig({ device: 'eth1' })] }));
  const c = system.live('A');
  c.goOnline();
  const port = system.ports[0];
  port.inject([frame(0xffffffffffff, 0x020000000010)]);
  t.is(c.written.length, 1, 'broadcast from the LAN reaches the cascade');
  c.inject([frame(0x020000000010, 0x020000000020)]);
  t.is(port.written.length, 1, 'unicast from the server reaches the learned LAN host');
});

test('a missing interface is retried until it appears; TAP mode uses tap_<name>', async (t) => {
  const { system, sup } = setup(20);
  await sup.apply(appConfig({ bridges: [bridgeConfig({ device: 'eth9' }), bridgeConfig({ device: 'lan', tapMode: true, linuxBridge: 'br0' })] }));
  let views = sup.bridges();
  t.false(views.find((b) => b.config.device === 'eth9')!.active);
  t.regex(views.find((b) => b.config.device === 'eth9')!.lastError, /no interface/);
  t.is(views.find((b) => b.config.device === 'lan')!.ifname, tapInterfaceName('lan'));
  t.true(views.find((b) => b.config.device === 'lan')!.active);
  system.nics.add('eth9');
  await new Promise((r) => setTimeout(r, 80));
  views = sup.bridges();
  t.true(views.find((b) => b.config.device === 'eth9')!.active);
  await sup.apply(appConfig({ bridges: [bridgeConfig({ device: 'lan', tapMode: true, linuxBridge: 'br0' })] }));
  t.true(system.ports.find((p) => p.ifname === 'eth9')!.closed);
  t.false(system.ports.find((p) => p.ifname === 'tap_lan')!.closed, 'the unchanged TAP bridge stays');
  await sup.stop();
  t.true(system.ports.every((p) => p.closed));
});

test('stop() stops every cascade and clears pending bridge retries', async (t) => {
  const { system, sup } = setup(10_000);
  await sup.apply(appConfig({ cascades: [cascadeConfig({ name: 'A' }), cascadeConfig({ name: 'B' })], bridges: [bridgeConfig({ device: 'nope' })] }));
  await sup.stop();
  t.true(system.cascades.every((c) => c.stopped === 1));
  // the 10 s retry timer must not keep the process alive: ava would time out the file if it did
});

test('reconnects count coming back online, not the first login', async (t) => {
  const { system, sup } = setup();
  await sup.apply(appConfig({ cascades: [cascadeConfig({ name: 'A' })] }));
  const c = system.live('A');
  c.goOnline();
  t.is(sup.cascade('A')!.reconnects, 0);
  c.fail('disconnected by the server (error 3): the server closed the session; it will be retried', 3);
  c.setState('connecting');
  c.goOnline();
  t.is(sup.cascade('A')!.reconnects, 1);
});
