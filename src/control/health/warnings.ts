/**
 * The warnings sebridge knows, declared once. Targets: a cascade's name, a bridge's device name, or '' for the
 * appliance itself. Times to visible are chosen so normal events do not reach the UI: a cascade reconnects in
 * 10 s ± 20 % after a drop; the session adds its additional connections over a few seconds and replaces them one
 * by one when their lifetime ends; a re-plugged USB NIC comes back within seconds.
 *
 * Texts hold only values that stay put while the condition lasts (thresholds, names, the error): every change of
 * a visible warning's text is announced (UI, webhook), so live numbers (the current CPU %, drops/s) go in the
 * args, which the UI shows without an announcement.
 */
import type { Warnable, WarningArgs } from './warnable.ts';

const s = (args: WarningArgs, k: string): string => String(args[k] ?? '');

export const CODES = {
  cascadeDown: 'cascade-down',
  cascadeNoConnections: 'cascade-online-without-connections',
  cascadeBelowConnections: 'cascade-below-connections',
  cascadeNoTraffic: 'cascade-no-traffic',
  cascadeDrops: 'cascade-drops',
  nicMissing: 'nic-missing',
  nicNoCarrier: 'nic-no-carrier',
  nicDrops: 'nic-drops',
  cpuHigh: 'cpu-high',
  memoryHigh: 'memory-high',
  diskHigh: 'disk-high',
  temperatureHigh: 'temperature-high',
  systemFactsUnavailable: 'system-facts-unavailable',
  clockBeforeBuild: 'clock-before-build',
  clockJump: 'clock-jump',
  configNotWritable: 'config-not-writable',
} as const;

export const WARNABLES: readonly Warnable[] = [
  {
    code: CODES.cascadeDown,
    title: 'Cascade not connected',
    severity: 'high',
    impactsConnectivity: true,
    timeToVisibleMs: 15_000,
    // The state (connecting/waiting) alternates every retry, so it stays out of the text: the text changes only
    // when the error does, and every text change is announced.
    text: (t, a) => `Cascade ${t} is enabled but not connected` + (a.error ? `: ${s(a, 'error')}` : ''),
  },
  {
    code: CODES.cascadeNoConnections,
    title: 'Cascade online without working connections',
    severity: 'high',
    impactsConnectivity: true,
    timeToVisibleMs: 10_000,
    text: (t, a) =>
      Number(a.total) === 0
        ? `Cascade ${t} reports online with 0 TCP connections: no frame can pass`
        : `Cascade ${t} has ${s(a, 'total')} TCP connection(s) but none that can ${Number(a.up) === 0 ? 'send' : 'receive'}`,
  },
  {
    code: CODES.cascadeBelowConnections,
    title: 'Cascade below its connection count',
    severity: 'low',
    dependsOn: [CODES.cascadeDown, CODES.cascadeNoConnections],
    timeToVisibleMs: 60_000,
    text: (t, a) =>
      a.belowGranted
        ? `Cascade ${t} has fewer TCP connections than the ${s(a, 'granted')} the server granted`
        : `Cascade ${t}: the server granted ${s(a, 'granted')} of ${s(a, 'requested')} requested TCP connections`,
  },
  {
    code: CODES.cascadeNoTraffic,
    title: 'No traffic through the cascade',
    severity: 'medium',
    impactsConnectivity: true,
    dependsOn: [CODES.cascadeDown, CODES.cascadeNoConnections],
    text: (t, a) => `Cascade ${t} is online but no Ethernet frame moved in either direction for ${s(a, 'seconds')} s or more`,
  },
  {
    code: CODES.cascadeDrops,
    title: 'Cascade dropping frames',
    severity: 'medium',
    dependsOn: [CODES.cascadeDown],
    timeToVisibleMs: 30_000,
    text: (t, a) => `Cascade ${t} drops more than ${s(a, 'threshold')} frames/s`,
  },
  {
    code: CODES.nicMissing,
    title: 'Network interface missing',
    severity: 'high',
    impactsConnectivity: true,
    timeToVisibleMs: 10_000,
    text: (t) => `Interface ${t} does not exist (unplugged USB adapter or renamed device?)`,
  },
  {
    code: CODES.nicNoCarrier,
    title: 'Network interface without link',
    severity: 'high',
    impactsConnectivity: true,
    dependsOn: [CODES.nicMissing],
    timeToVisibleMs: 5_000,
    text: (t, a) => (a.up === false ? `Interface ${t} is administratively down` : `Interface ${t} has no carrier (cable unplugged?)`),
  },
  {
    code: CODES.nicDrops,
    title: 'Bridge dropping frames',
    severity: 'medium',
    dependsOn: [CODES.nicMissing, CODES.nicNoCarrier],
    timeToVisibleMs: 30_000,
    text: (t, a) => `Interface ${t} drops more than ${s(a, 'threshold')} frames/s`,
  },
  {
    code: CODES.cpuHigh,
    title: 'CPU load high',
    severity: 'medium',
    timeToVisibleMs: 120_000,
    text: (_t, a) => `CPU load above ${s(a, 'threshold')} %`,
  },
  {
    code: CODES.memoryHigh,
    title: 'Memory use high',
    severity: 'medium',
    timeToVisibleMs: 120_000,
    text: (_t, a) => `Memory use above ${s(a, 'threshold')} %`,
  },
  {
    code: CODES.diskHigh,
    title: 'Storage almost full',
    severity: 'medium',
    timeToVisibleMs: 60_000,
    text: (_t, a) => `Data storage more than ${s(a, 'threshold')} % full`,
  },
  {
    code: CODES.temperatureHigh,
    title: 'Temperature high',
    severity: 'high',
    timeToVisibleMs: 120_000,
    text: (_t, a) => `Temperature above ${s(a, 'threshold')} °C`,
  },
  {
    code: CODES.systemFactsUnavailable,
    title: 'System facts unavailable',
    severity: 'low',
    timeToVisibleMs: 60_000,
    text: (_t, a) => `Could not read CPU/memory/disk facts: ${s(a, 'error')}`,
  },
  {
    code: CODES.clockBeforeBuild,
    title: 'System clock wrong',
    severity: 'medium',
    text: (_t, a) => `System time is earlier than this software's build (${s(a, 'notBefore')}): set the clock or enable NTP`,
  },
  {
    code: CODES.clockJump,
    title: 'System clock jumped',
    severity: 'low',
    text: (_t, a) => `System time jumped by ${s(a, 'seconds')} s at ${s(a, 'at')}`,
  },
  {
    code: CODES.configNotWritable,
    title: 'Configuration cannot be saved',
    severity: 'high',
    text: (_t, a) => `The configuration directory is not writable` + (a.error ? `: ${s(a, 'error')}` : ''),
  },
];
