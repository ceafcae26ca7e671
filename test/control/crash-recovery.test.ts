/**
 * Issue 6 §1: a SIGKILLed daemon leaves a bridged NIC with its offloads switched off; the next start switches
 * them back on from the record it wrote before changing them. And SIGTERM gives everything back at once.
 * Needs root (veths, AF_PACKET); no SoftEther server.
 */
import test from 'ava';
import { Lab, sh } from '../bridge/lab.ts';
import { linkView, offloadFeatures } from '../bridge/netinfo.ts';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { SebridgeProcess } from '../bridge/sebridge-process.ts';
import { startDaemon } from './daemon-process.ts';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.error('\n!!! SKIPPING test/control/crash-recovery.test.ts: needs root (veths, raw sockets) !!!\n');
const serial = isRoot ? test.serial : test.serial.skip;

const WATCHED = ['generic-receive-offload', 'tcp-segmentation-offload', 'tx-checksumming', 'scatter-gather'];
const pick = (f: Record<string, boolean>) => Object.fromEntries(WATCHED.map((k) => [k, f[k]]));

serial('SIGKILL leaves offloads off; the next start restores them, SIGTERM restores at once', async (t) => {
  t.timeout(120_000);
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const ns = lab.addNamespace('p');
  const dev = lab.name('k');
  lab.trackLink(dev);
  await sh(['ip', 'link', 'add', dev, 'type', 'veth', 'peer', 'name', 'peer0', 'netns', ns]);
  await sh(['ip', 'link', 'set', dev, 'up']);
  await sh(['ethtool', '-K', dev, 'gro', 'on', 'tso', 'on', 'tx', 'on', 'sg', 'on']);
  const original = pick(await offloadFeatures(dev));
  t.true(original['generic-receive-offload'], 'precondition: GRO on');

  let d = await startDaemon(lab);
  const { dataDir, runtimeDir } = d;
  await d.client.ok('SetServerPassword', { PlainTextPassword_str: 'crash-admin-pw' });
  const api = () => d.client.withPassword('crash-admin-pw');
  await api().ok('AddLocalBridge', { DeviceName_str: dev, HubNameLB_str: 'BRIDGE', TapMode_bool: false });
  t.false((await offloadFeatures(dev))['generic-receive-offload'], 'bridged: GRO off');
  t.true((await linkView(dev)).promiscuity >= 1);

  await d.proc.stop('SIGKILL');
  t.false((await offloadFeatures(dev))['generic-receive-offload'], 'killed: nothing restored them');
  t.is((await linkView(dev)).promiscuity, 0, 'the kernel drops promiscuity with the socket');

  const first = d;
  d = await startDaemon(lab, { dataDir, runtimeDir }); // /run survives a crash (tmpfs until reboot)
  t.teardown(() => d.stop());
  await d.proc.waitForLine(new RegExp(`restored interface settings a killed sebridge left changed: ${dev}`), 10_000);
  // The stored config bridges the NIC again; a clean stop must now give back the ORIGINAL settings.
  await d.proc.waitForLine(new RegExp(`local bridge ${dev}: bridged`), 10_000);
  const exit = await d.proc.stop('SIGTERM');
  t.is(exit.code, 0);
  t.deepEqual(pick(await offloadFeatures(dev)), original, 'SIGTERM after recovery: offloads as they were before sebridge');
  t.is((await linkView(dev)).promiscuity, 0);
  await first.stop();
});

serial('a start that fails after the NIC was bridged (web port taken) gives the interface back before exiting', async (t) => {
  t.timeout(120_000);
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const ns = lab.addNamespace('q');
  const dev = lab.name('f');
  lab.trackLink(dev);
  await sh(['ip', 'link', 'add', dev, 'type', 'veth', 'peer', 'name', 'peer0', 'netns', ns]);
  await sh(['ip', 'link', 'set', dev, 'up']);
  await sh(['ethtool', '-K', dev, 'gro', 'on', 'tso', 'on', 'tx', 'on', 'sg', 'on']);
  const original = pick(await offloadFeatures(dev));

  // A first run stores the bridge in the config.
  const d = await startDaemon(lab);
  t.teardown(() => d.stop());
  await d.client.ok('SetServerPassword', { PlainTextPassword_str: 'fail-start-pw' });
  await d.client.withPassword('fail-start-pw').ok('AddLocalBridge', { DeviceName_str: dev, HubNameLB_str: 'BRIDGE', TapMode_bool: false });
  t.is((await d.proc.stop('SIGTERM', 15_000)).code, 0);

  // Someone else holds the web port: the second start bridges the NIC from the config, then cannot listen.
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as AddressInfo).port;
  const proc = new SebridgeProcess(lab, { argv: ['run', '--data-dir', d.dataDir, '--runtime-dir', d.runtimeDir, '--web', `127.0.0.1:${port}`] });
  t.teardown(() => (proc.running ? proc.stop('SIGKILL').then(() => {}) : undefined));
  await proc.waitForLine(new RegExp(`local bridge ${dev}: bridged`), 30_000);
  const exit = await proc.stop('SIGCONT', 30_000); // a harmless signal: just wait for the exit it reaches by itself
  t.not(exit.code, 0, 'the start failed');
  t.is(exit.signal, null, 'it exited by itself, not by a signal');
  t.regex(proc.output(), /EADDRINUSE|address already in use/i);
  t.deepEqual(pick(await offloadFeatures(dev)), original, 'offloads as they were before sebridge');
  t.is((await linkView(dev)).promiscuity, 0);
});
