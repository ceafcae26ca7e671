/**
 * A DHCP client for a host namespace that has none installed (no dhclient/udhcpc on the test machines):
 * run inside the namespace as `node dhcp-client.ts IFACE TIMEOUT_MS`, it does DISCOVER/OFFER/REQUEST/ACK with the
 * interface's own MAC over a raw socket on IFACE and prints the lease as one JSON line.
 *
 * The exchange itself is test/helpers/netstack.ts's client (tested against SoftEther's SecureNAT and a fake
 * server); the socket is a RawSocketPort with promiscuous mode and offload changes off, so the host's interface
 * stays exactly as the test set it up (offloads ON at this end is part of what is being tested).
 */
import { RawSocketPort } from '../../src/ports/raw-socket-port.ts';
import { MemoryPort } from '../../src/ports/memory-port.ts';
import { patch } from '../../src/ports/port.ts';
import { loadNative } from '../../src/ports/native.ts';
import { TestHost } from '../helpers/netstack.ts';

async function main(): Promise<number> {
  const [ifname, timeoutArg] = process.argv.slice(2);
  const timeoutMs = Number(timeoutArg ?? '15000');
  if (!ifname || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    process.stderr.write('usage: dhcp-client.ts IFACE [TIMEOUT_MS]\n');
    return 2;
  }
  const info = loadNative().ifInfo(ifname);
  if (!info) {
    process.stderr.write(`dhcp-client: no interface ${ifname}\n`);
    return 1;
  }
  const raw = RawSocketPort.open(ifname, { promisc: false, disableOffloads: false });
  const wire = new MemoryPort(ifname);
  const unpatch = patch(raw, wire);
  const host = new TestHost(wire, info.mac);
  try {
    const lease = await host.dhcp(timeoutMs);
    process.stdout.write(`${JSON.stringify({ ...lease, mac: [...info.mac].map((b) => b.toString(16).padStart(2, '0')).join(':') })}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`dhcp-client: ${(e as Error).message}\n`);
    return 1;
  } finally {
    host.close();
    unpatch();
    raw.close();
  }
}

process.exitCode = await main();
