import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LongChild } from './child.ts';
import { DEFAULT_CLI, NODE, shebangNodeFlags } from './sebridge-process.ts';

/** What `sebridge run` printed at start: where its admin API listens and the certificate to pin. */
export interface DaemonEndpoint {
  process: LongChild;
  port: number;
  certSha256: string;
}

const START_LINE = /admin API on https:\/\/127\.0\.0\.1:(\d+)\/ \(certificate SHA-256 ([0-9A-F:]+)\)/;

/**
 * `sebridge run` as a child process in the bridge namespace, started the way the appliance's init starts it
 * (bin/sebridge.js with the node options of its shebang), with fresh data and runtime directories under `dir`
 * and its web UI on the namespace's loopback at a port the kernel picks. Resolves once it printed its address.
 */
export async function startDaemon(o: { netns: string; dir: string; nodeFlags?: string[]; cli?: string }): Promise<DaemonEndpoint> {
  const cli = o.cli ?? DEFAULT_CLI;
  const dataDir = join(o.dir, 'data');
  const runtimeDir = join(o.dir, 'run');
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const child = new LongChild([
    'setpriv', '--pdeathsig', 'KILL',
    'ip', 'netns', 'exec', o.netns,
    NODE, ...shebangNodeFlags(cli), ...(o.nodeFlags ?? []),
    cli, 'run', '--data-dir', dataDir, '--runtime-dir', runtimeDir, '--web', '127.0.0.1:0',
  ]);
  try {
    await child.waitOutput(START_LINE, 30_000, 'sebridge run start-up line');
  } catch (e) {
    child.killNow();
    throw e;
  }
  const m = START_LINE.exec(child.log.text())!;
  return { process: child, port: Number(m[1]), certSha256: m[2]! };
}
