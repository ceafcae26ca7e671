import type { ExecutionContext } from 'ava';
import { Cascade } from '../../src/session/cascade.ts';
import { parseCascadeOptions } from '../../src/session/options.ts';
import type { CascadeOptions } from '../../src/session/options.ts';
import type { CascadeStatus } from '../../src/session/status.ts';
import { MemoryPort } from '../../src/ports/memory-port.ts';
import { patch } from '../../src/ports/port.ts';
import { TestHost } from './netstack.ts';
import type { SoftEtherServer } from '../harness/softether-server.ts';

/** A cascade to `server`/`hub` with a test host (DHCP/ARP/ping) on its local side, stopped on teardown. */
export function cascadeTo(
  t: ExecutionContext,
  server: SoftEtherServer,
  hub: string,
  input: Record<string, unknown>,
  extra: Partial<CascadeOptions> = {},
): { cascade: Cascade; port: MemoryPort; host: TestHost; log: string[] } {
  const options = { ...parseCascadeOptions({ host: server.host, port: server.port, hub, ...input }), ...extra };
  const cascade = new Cascade(options);
  const port = new MemoryPort('host');
  patch(cascade, port);
  const host = new TestHost(port);
  const log: string[] = [];
  cascade.on('log', (l: string) => log.push(`${new Date().toISOString()} ${l}`));
  cascade.start();
  t.teardown(async () => {
    host.close();
    await cascade.stop();
  });
  return { cascade, port, host, log };
}

export { waitForStatus } from './wait-status.ts';

export const online = (want?: number) => (s: CascadeStatus) =>
  s.state === 'online' && (want === undefined || s.connections.total >= want);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
