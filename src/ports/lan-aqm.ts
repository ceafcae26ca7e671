/**
 * Active queue management on what a packet-socket port reads from the LAN: CoDel (RFC 8289) in the addon
 * (native/codel.h). A LAN host's TCP that backs off only on loss (CUBIC, the Linux and Windows default) otherwise
 * fills the port's 4 MiB receive buffer whenever the cascade is the bottleneck, and every frame through the bridge,
 * pings and DNS included, waits behind it: 14.6 ms average ping under load against 1.9 ms through the C bridge
 * (bench/README.md, "CoDel at the LAN input").
 *
 * `SEBRIDGE_LAN_AQM=off` turns it off (for measuring the difference); anything but `codel` or `off` is refused.
 */
import { ConfigError } from '../session/config-error.ts';

export interface AqmOptions {
  /** Waiting time in the receive buffer that is acceptable (RFC 8289: 5 ms). */
  targetMs: number;
  /** How long it may stay above the target before frames are dropped (RFC 8289: 100 ms, a worst-case RTT). */
  intervalMs: number;
}

export const CODEL_DEFAULTS: Readonly<AqmOptions> = { targetMs: 5, intervalMs: 100 };

export const LAN_AQM_MODES = ['codel', 'off'] as const;

/** What SEBRIDGE_LAN_AQM asks for: CoDel with the RFC's parameters (default) or nothing (null). */
export function lanAqm(value: string | undefined): AqmOptions | null {
  if (value === undefined || value === '' || value === 'codel') return { ...CODEL_DEFAULTS };
  if (value === 'off') return null;
  throw new ConfigError('SEBRIDGE_LAN_AQM', `must be one of ${LAN_AQM_MODES.join(', ')}, got "${value.slice(0, 40)}"`);
}

/** What the addon's openPacketSocket takes (target 0: off). */
export interface AqmNativeOptions {
  aqmTargetUs: number;
  aqmIntervalUs: number;
}

/** The addon's options in microseconds; a ConfigError naming the field when a value is out of range. */
export function aqmNativeOptions(aqm: AqmOptions | null): AqmNativeOptions {
  if (aqm === null) return { aqmTargetUs: 0, aqmIntervalUs: 0 };
  const { targetMs, intervalMs } = aqm;
  if (!Number.isFinite(targetMs) || targetMs < 0.1 || targetMs > 1000) {
    throw new ConfigError('aqm.targetMs', `must be from 0.1 to 1000 milliseconds, got ${targetMs}`);
  }
  if (!Number.isFinite(intervalMs) || intervalMs < targetMs || intervalMs > 10_000) {
    throw new ConfigError('aqm.intervalMs', `must be from targetMs (${targetMs}) to 10000 milliseconds, got ${intervalMs}`);
  }
  return { aqmTargetUs: Math.round(targetMs * 1000), aqmIntervalUs: Math.round(intervalMs * 1000) };
}
