/**
 * Issue 6 §3 conformance: the same calls as test/conformance/stock-bridge.real.test.ts, now against sebridge's
 * daemon, compared against the shapes recorded from Debian's stock vpnbridge (expected-shapes.json). The stock
 * quirks sebridge does not copy are left out loudly (suite.ts logs them):
 *  - an empty X-VPNADMIN-HUBNAME is server admin (the stock bridge hangs up on it, which locks out vpnrpc);
 *  - a nameless or empty CreateLink is refused with 38 naming the field (stock: 23 "internal error");
 *  - a local bridge to a hub that does not exist is refused with 8 (stock: stored, can never work).
 */
import { randomBytes } from 'node:crypto';
import { conformanceSuite } from './suite.ts';
import { startCascadeServer } from './cascade-server.ts';
import { jsonRpcClient } from './jsonrpc-client.ts';
import { serverCapability } from '../harness/softether-server.ts';
import { Lab, sh } from '../bridge/lab.ts';
import { startDaemon } from '../control/daemon-process.ts';
import { runCommand } from '../harness/run-command.ts';

conformanceSuite({
  title: 'sebridge',
  capability: serverCapability(),
  skipQuirks: ['auth/empty-hub-header', 'CreateLink/only-hub', 'CreateLink/empty-name', 'AddLocalBridge/unknown-hub', 'DeleteLocalBridge/unknown-hub'],
  start: async () => {
    const { server, cascade } = await startCascadeServer();
    const lab = new Lab();
    try {
      // A veth pair for the bridge: lanDevice in the root namespace (where the daemon runs), its peer in a
      // namespace of its own with an address, so a ping from there puts ARP broadcasts onto lanDevice.
      const ns = lab.addNamespace('c');
      const lanDevice = lab.name('l');
      lab.trackLink(lanDevice);
      await sh(['ip', 'link', 'add', lanDevice, 'type', 'veth', 'peer', 'name', 'lan0', 'netns', ns]);
      await sh(['ip', 'link', 'set', lanDevice, 'up']);
      await sh(['ip', '-n', ns, 'link', 'set', 'lan0', 'up']);
      await sh(['ip', '-n', ns, 'addr', 'add', '198.18.250.1/24', 'dev', 'lan0']);
      const daemon = await startDaemon(lab);
      const adminPassword = `conf-${randomBytes(6).toString('hex')}`;
      const setup = jsonRpcClient({ host: '127.0.0.1', port: daemon.port, auth: { kind: 'none' } });
      const r = await setup.call('SetServerPassword', { PlainTextPassword_str: adminPassword });
      if (!('result' in r)) throw new Error(`SetServerPassword: ${JSON.stringify(r)}`);
      const rpc = jsonRpcClient({ host: '127.0.0.1', port: daemon.port, auth: { kind: 'password', password: adminPassword } });
      return {
        target: {
          call: (m, p, o) => rpc.call(m, p, o),
          context: {
            hub: 'BRIDGE',
            adminPassword,
            lanDevice,
            missingDevice: 'confnodev0',
            cascade,
            stimulateLan: async () => {
              await runCommand(['ip', 'netns', 'exec', ns, 'ping', '-n', '-q', '-c', '1', '-W', '1', '198.18.250.2'], { timeoutMs: 5000 });
            },
          },
        },
        stop: async () => {
          await daemon.stop();
          lab.cleanup();
          await server.stop();
        },
      };
    } catch (e) {
      lab.cleanup();
      await server.stop();
      throw e;
    }
  },
});
