import type { ExecutionContext } from 'ava';
import { Cascade } from '../../src/session/cascade.ts';
import { parseCascadeOptions } from '../../src/session/options.ts';
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
): { cascade: Cascade; port: MemoryPort; host: TestHost; log: string[] } {
  const options = parseCascadeOptions({ host: server.host, port: server.port, hub, ...input });
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

export function waitForStatus(
  cascade: Cascade,
  pred: (s: CascadeStatus) => boolean,
  timeoutMs: number,
  what = 'status',
): Promise<CascadeStatus> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const s = cascade.status();
      if (pred(s)) {
        clearInterval(iv);
        clearTimeout(to);
        resolve(s);
      }
    };
    const iv = setInterval(check, 50);
    const to = setTimeout(() => {
      clearInterval(iv);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; status: ${JSON.stringify(cascade.status())}`));
    }, timeoutMs);
    check();
  });
}

export const online = (want?: number) => (s: CascadeStatus) =>
  s.state === 'online' && (want === undefined || s.connections.total >= want);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
