/**
 * Active queue management on what a port reads from the LAN, in the addon, two parts:
 *
 * - CoDel (RFC 8289) on the frames' wait in a packet-socket port's receive buffer (native/codel.h; a TAP has no
 *   arrival stamps). A LAN host's TCP that backs off only on loss (CUBIC, the Linux and Windows default) otherwise
 *   fills the port's 4 MiB receive buffer whenever the bridge is the bottleneck (bench/README.md, "CoDel at the LAN
 *   input").
 * - CoDel on the path's delay (native/path_aqm.h; packet-socket and TAP ports): the same control law on the round
 *   trip of each LAN host's TCP flow beyond the bridge, for a queue that stands further on (the stock server's hub
 *   queue toward its LAN, a slow remote side), which the bridge cannot see in any buffer of its own: 12-15 ms of
 *   ping under load through the server on the test machine with CUBIC hosts (bench/README.md, "CoDel on the path's
 *   delay").
 *
 * `SEBRIDGE_LAN_AQM`: `codel` (both, the default), `buffer` (only the receive buffer's), `off`; anything else is
 * refused.
 */
import { ConfigError } from '../session/config-error.ts';

export interface AqmOptions {
  /** Queueing delay that is acceptable (RFC 8289: 5 ms), in the receive buffer and beyond the bridge alike. */
  targetMs: number;
  /** How long it may stay above the target before frames are dropped (RFC 8289: 100 ms, a worst-case RTT). */
  intervalMs: number;
  /** Also CoDel on the path's delay of the LAN hosts' TCP flows (native/path_aqm.h). Default true. */
  path?: boolean;
}

export const CODEL_DEFAULTS: Readonly<Required<AqmOptions>> = { targetMs: 5, intervalMs: 100, path: true };

export const LAN_AQM_MODES = ['codel', 'buffer', 'off'] as const;

/** What SEBRIDGE_LAN_AQM asks for: CoDel with the RFC's parameters, on the buffer and the path (default), on the
 *  buffer only, or nothing (null). */
export function lanAqm(value: string | undefined): AqmOptions | null {
  if (value === undefined || value === '' || value === 'codel') return { ...CODEL_DEFAULTS };
  if (value === 'buffer') return { ...CODEL_DEFAULTS, path: false };
  if (value === 'off') return null;
  throw new ConfigError('SEBRIDGE_LAN_AQM', `must be one of ${LAN_AQM_MODES.join(', ')}, got "${value.slice(0, 40)}"`);
}

/** What the addon's openPacketSocket takes (targets 0: off). */
export interface AqmNativeOptions {
  aqmTargetUs: number;
  pathAqmTargetUs: number;
  aqmIntervalUs: number;
}

/** The addon's options in microseconds; a ConfigError naming the field when a value is out of range. */
export function aqmNativeOptions(aqm: AqmOptions | null): AqmNativeOptions {
  if (aqm === null) return { aqmTargetUs: 0, pathAqmTargetUs: 0, aqmIntervalUs: 0 };
  const { targetMs, intervalMs } = aqm;
  if (aqm.path !== undefined && typeof aqm.path !== 'boolean') {
    throw new ConfigError('aqm.path', `must be true or false, got ${String(aqm.path).slice(0, 40)}`);
  }
  if (!Number.isFinite(targetMs) || targetMs < 0.1 || targetMs > 1000) {
    throw new ConfigError('aqm.targetMs', `must be from 0.1 to 1000 milliseconds, got ${targetMs}`);
  }
  if (!Number.isFinite(intervalMs) || intervalMs < targetMs || intervalMs > 10_000) {
    throw new ConfigError('aqm.intervalMs', `must be from targetMs (${targetMs}) to 10000 milliseconds, got ${intervalMs}`);
  }
  const targetUs = Math.round(targetMs * 1000);
  return { aqmTargetUs: targetUs, pathAqmTargetUs: aqm.path === false ? 0 : targetUs, aqmIntervalUs: Math.round(intervalMs * 1000) };
}

/**
 * What the operator should know about this combination at start: the path CoDel's two hooks must run on one thread
 * (native/path_aqm.h), so with the reads on the I/O thread (SEBRIDGE_IO_THREAD=rx) it stays off.
 */
export function lanAqmNotes(aqm: AqmOptions | null, ioThread: string | undefined): string[] {
  if (aqm && aqm.path !== false && ioThread?.includes('rx')) {
    return ['SEBRIDGE_LAN_AQM: CoDel on the path delay is off while SEBRIDGE_IO_THREAD reads on the I/O thread ("rx")'];
  }
  return [];
}
