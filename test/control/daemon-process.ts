import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../bridge/lab.ts';
import { SebridgeProcess } from '../bridge/sebridge-process.ts';
import { AdminClient } from './admin-client.ts';

export interface DaemonRun {
  proc: SebridgeProcess;
  port: number;
  certSha256: string;
  dataDir: string;
  runtimeDir: string;
  /** A client with no credentials (setup mode / refusal tests). */
  client: AdminClient;
  stop(): Promise<void>;
}

/**
 * `sebridge run` as a child process in the root namespace, the way the image's init runs it: its own data and
 * runtime directories, the web UI on 127.0.0.1 and a port the kernel picks (read from its start-up line, together
 * with the certificate fingerprint the client then pins).
 */
export async function startDaemon(lab: Lab, opts: { dataDir?: string; runtimeDir?: string; extra?: string[] } = {}): Promise<DaemonRun> {
  const scratch = mkdtempSync(join(tmpdir(), 'sebd-'));
  const dataDir = opts.dataDir ?? join(scratch, 'data');
  const runtimeDir = opts.runtimeDir ?? join(scratch, 'run');
  const proc = new SebridgeProcess(lab, { argv: ['run', '--data-dir', dataDir, '--runtime-dir', runtimeDir, '--web', '127.0.0.1:0', ...(opts.extra ?? [])] });
  const { line } = await proc.waitForLine(/admin API on https:\/\/127\.0\.0\.1:(\d+)\/ \(certificate SHA-256 ([0-9A-F:]+)\)/, 30_000);
  const m = /127\.0\.0\.1:(\d+)\/ \(certificate SHA-256 ([0-9A-F:]+)\)/.exec(line)!;
  const port = Number(m[1]);
  const certSha256 = m[2];
  return {
    proc,
    port,
    certSha256,
    dataDir,
    runtimeDir,
    client: new AdminClient('127.0.0.1', port, certSha256),
    async stop() {
      if (proc.running) await proc.stop('SIGTERM', 15_000);
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
