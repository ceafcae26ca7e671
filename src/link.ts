import { Cascade } from './session/cascade.ts';
import type { CascadeOptions } from './session/options.ts';
import type { CascadeStatus } from './session/status.ts';

/**
 * The headless `sebridge link` job: one cascade (+ later: one local bridge through the hub) in the foreground,
 * state changes printed one line each, clean exit on SIGTERM/SIGINT.
 */
export interface LinkJob {
  options: CascadeOptions;
  bridge?: string;
  tap?: string;
  statusIntervalMs: number;
}

export function describeStatus(s: CascadeStatus): string {
  const parts = [`state=${s.state}`];
  if (s.state === 'online' || s.connections.total > 0) {
    parts.push(`connections=${s.connections.total}/${s.connections.granted}`);
    if (s.negotiated?.halfConnection) parts.push(`up=${s.connections.up} down=${s.connections.down}`);
  }
  if (s.negotiated && s.state === 'online') parts.push(`session=${s.negotiated.sessionName}`);
  if (s.state !== 'online' && s.lastError) parts.push(`error="${s.lastError.message}"`);
  if (s.nextAttemptAt) parts.push(`retry_at=${s.nextAttemptAt}`);
  const t = s.traffic;
  parts.push(`in=${t.framesIn}f/${t.bytesIn}B out=${t.framesOut}f/${t.bytesOut}B`);
  return parts.join(' ');
}

export async function runLink(job: LinkJob): Promise<number> {
  if (job.bridge || job.tap) {
    throw new Error('--bridge/--tap: the local bridge is not built yet (issue 3); run without them to hold the cascade only');
  }
  const cascade = new Cascade(job.options);
  const line = (text: string) => process.stdout.write(`${new Date().toISOString()} ${text}\n`);
  cascade.on('log', (l: string) => line(l));
  cascade.on('state', (s: CascadeStatus) => line(describeStatus(s)));
  cascade.on('connections', () => line(describeStatus(cascade.status())));
  cascade.start();
  const timer = job.statusIntervalMs > 0 ? setInterval(() => line(describeStatus(cascade.status())), job.statusIntervalMs) : null;
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      line(`${sig}: stopping`);
      resolve();
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  });
  if (timer) clearInterval(timer);
  await cascade.stop();
  line('stopped');
  return 0;
}
