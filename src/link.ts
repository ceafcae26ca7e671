import { Cascade } from './session/cascade.ts';
import type { CascadeOptions } from './session/options.ts';
import type { CascadeStatus } from './session/status.ts';
import { Hub } from './hub/index.ts';
import { RawSocketPort } from './ports/raw-socket-port.ts';
import { TapPort } from './ports/tap-port.ts';
import { startHeapTrimmer } from './ports/heap-trim.ts';
import { helperPolicy, lowerHelperThreads } from './ports/helper-threads.ts';
import { lanAqm, lanAqmNotes } from './ports/lan-aqm.ts';
import { describeTlsCipherChoice, processTlsCipherChoice } from './session/tls-cipher.ts';
import { describePortDrops } from './ports/port-drops.ts';
import { writeTrustFile } from './session/trust-file.ts';
import type { CertificateTrustedEvent } from './session/trust.ts';
import { ConfigError } from './session/config-error.ts';

/**
 * The headless `sebridge link` job: one cascade and the local side (a bridged NIC and/or a TAP device) joined by
 * the hub, in the foreground,
 * state changes printed one line each, clean exit on SIGTERM/SIGINT.
 */
export interface LinkJob {
  options: CascadeOptions;
  bridge?: string;
  tap?: string;
  /** Linux bridge the TAP device joins. */
  tapBridge?: string;
  statusIntervalMs: number;
  /** Remember the trusted server certificate fingerprint here (see trust-file.ts). */
  trustFile?: string;
  /** --pin was given: it is the explicit acceptance, stored in trustFile right away. */
  pinGiven?: boolean;
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
  const drops = Object.entries(t.drops).filter(([, n]) => n > 0);
  if (drops.length > 0) parts.push(`drops=${drops.map(([k, n]) => `${k}:${n}`).join(',')}`);
  return parts.join(' ');
}

/** setInterval's largest delay; beyond it Node fires every 1 ms instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export async function runLink(job: LinkJob): Promise<number> {
  const ms = job.statusIntervalMs;
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_TIMER_MS || (ms > 0 && ms < 100)) {
    throw new ConfigError('statusIntervalMs', `must be 0 (off) or a whole number of milliseconds from 100 to ${MAX_TIMER_MS}, got ${ms}`);
  }
  const helperPolicyWanted = helperPolicy(process.env.SEBRIDGE_HELPER_POLICY); // refused before anything starts
  const aqm = lanAqm(process.env.SEBRIDGE_LAN_AQM);
  const line = (text: string) => process.stdout.write(`${new Date().toISOString()} ${text}\n`);
  for (const note of lanAqmNotes(aqm, process.env.SEBRIDGE_IO_THREAD)) line(note);
  const tlsChoice = processTlsCipherChoice(); // an unknown SEBRIDGE_TLS_CIPHER is refused before anything starts
  if (job.options.encrypt) line(describeTlsCipherChoice(tlsChoice));
  const hub = new Hub();
  const local: Array<{ name: string; stats(): object; close(): void }> = [];
  try {
    if (job.bridge) {
      const raw = RawSocketPort.open(job.bridge);
      local.push(raw);
      raw.on('link', (st) => line(`${job.bridge}: ${!st.present ? 'interface gone (waiting for it to come back)' : st.up ? 'link up' : 'link down'}`));
      hub.attach(raw);
      line(`${job.bridge}: bridged (raw socket, promiscuous, offloads off)`);
    }
    if (job.tap) {
      const tap = TapPort.create({ name: job.tap, ...(job.tapBridge ? { bridge: job.tapBridge } : {}) });
      local.push(tap);
      hub.attach(tap);
      line(`${tap.name}: TAP device up${job.tapBridge ? ` in Linux bridge ${job.tapBridge}` : ''}`);
    }
  } catch (e) {
    for (const p of local) p.close();
    throw e;
  }
  if (local.length === 0) line('no --bridge or --tap: holding the cascade only (frames from the server are counted and dropped)');
  const cascade = new Cascade(job.options);
  hub.attach(cascade);
  cascade.on('log', (l: string) => line(l));
  const remember = (e: CertificateTrustedEvent) => {
    if (!job.trustFile) {
      if (e.reason === 'first-use') line(`not remembered after exit: use --trust-file PATH, or --pin ${e.sha256} next time`);
      return;
    }
    const path = job.trustFile;
    writeTrustFile(path, e.sha256, `${e.reason}${e.subject ? `, ${e.subject}` : ''}, ${new Date().toISOString()}`).then(
      () => line(`server certificate SHA-256 ${e.sha256} stored in ${path}`),
      (err: Error) => line(`error: could not store the trusted fingerprint in ${path}: ${err.message}`),
    );
  };
  cascade.on('certificate-trusted', remember);
  if (job.pinGiven && job.trustFile && job.options.serverCertSha256) {
    remember({ sha256: job.options.serverCertSha256, reason: 'accepted', subject: '', validTo: '' });
  }
  cascade.on('state', (s: CascadeStatus) => line(describeStatus(s)));
  cascade.on('connections', () => line(describeStatus(cascade.status())));
  cascade.start();
  const trimmer = startHeapTrimmer();
  const helpers = lowerHelperThreads({ policy: helperPolicyWanted });
  for (const f of helpers.failed) line(`WARNING: could not move V8 worker thread ${f} to SCHED_BATCH`);
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
  trimmer.stop();
  await cascade.stop();
  hub.close();
  for (const p of local) {
    line(`${p.name}: drops ${describePortDrops(p.stats())}`); // the bench reads this (CoDel's, the kernel's, ...)
    p.close(); // restores promiscuous mode and offloads; deletes the TAP device
  }
  line('stopped');
  return 0;
}
