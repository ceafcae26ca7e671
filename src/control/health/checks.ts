/**
 * The health checks: plain functions from a snapshot (plus the little memory a check needs between runs) to
 * findings, so every check can be tested with fake inputs and an injected clock. A finding says "this (code,
 * target) is unhealthy now"; applyFindings() marks everything else those checks own as healthy.
 *
 * What "traffic moves" means for a cascade: its framesIn or framesOut counter advanced. Those count Ethernet
 * frames only (src/session/cascade.ts counts frames handed to/from the hub); the tunnel's keep-alives, which the
 * server and we send every few seconds on every connection, are consumed inside TunnelConnection and never
 * counted. So a cascade whose TCP connections are alive but whose data path is stuck shows no movement, which is
 * the point of the check. A bridged LAN always has some broadcast/multicast (ARP, ND, DHCP, mDNS), and the hub
 * floods it to the cascade, so minutes without a single frame in either direction are not normal.
 */
import type { CascadeStatus } from '../../session/status.ts';
import type { HealthTracker } from './tracker.ts';
import type { WarningArgs } from './warnable.ts';
import { CODES } from './warnings.ts';

export interface CascadeSnapshot {
  name: string;
  /** The configuration says online (the user wants it connected). */
  enabled: boolean;
  status: CascadeStatus;
}

export interface BridgeSnapshot {
  device: string;
  present: boolean;
  up: boolean;
  carrier: boolean;
  framesIn: number;
  framesOut: number;
  drops: number;
}

export interface SystemSnapshot {
  cpuPercent: number;
  memPercent: number;
  diskPercent: number;
  temperatureC: number | null;
}

export interface Thresholds {
  cpuWarnPercent: number;
  memoryWarnPercent: number;
  diskWarnPercent: number;
  temperatureWarnC: number;
}

export interface HealthInputs {
  cascades(): CascadeSnapshot[];
  bridges(): BridgeSnapshot[];
  system(): Promise<SystemSnapshot>;
  thresholds(): Thresholds;
  /** e.g. fs.access W_OK + free space; never by writing a file (flash wear). */
  configWritable(): Promise<boolean>;
}

export interface Finding {
  code: string;
  target: string;
  args: WarningArgs;
}

export interface LinkCheckOptions {
  /** Consecutive link checks without a frame in either direction before "no traffic" (default 12). */
  noTrafficChecks: number;
  /** Interval of the link checks, for the seconds in the "no traffic" text (default 5000). */
  linkIntervalMs: number;
  /** Drop rate that counts as "rising fast" (default 50 frames/s). */
  dropsPerSecondWarn: number;
}

export const DEFAULT_LINK_CHECK_OPTIONS: LinkCheckOptions = { noTrafficChecks: 12, linkIntervalMs: 5000, dropsPerSecondWarn: 50 };

interface CascadeMemory {
  sessions: number;
  framesIn: number;
  framesOut: number;
  stillChecks: number;
  drops: number;
  at: number;
}

interface BridgeMemory {
  drops: number;
  at: number;
}

/** What the link checks remember between runs. */
export class LinkCheckMemory {
  readonly cascades = new Map<string, CascadeMemory>();
  readonly bridges = new Map<string, BridgeMemory>();
}

const DROP_KEYS = ['offline', 'queueFull', 'oversize', 'backlog', 'inflate', 'localError'] as const;

export function checkCascades(list: readonly CascadeSnapshot[], mem: LinkCheckMemory, now: number, o: LinkCheckOptions): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const { name, enabled, status } of list) {
    seen.add(name);
    const prev = mem.cascades.get(name);
    const t = status.traffic;
    const drops = DROP_KEYS.reduce((n, k) => n + t.drops[k], 0);
    const cur: CascadeMemory = { sessions: status.sessions, framesIn: t.framesIn, framesOut: t.framesOut, stillChecks: 0, drops, at: now };
    mem.cascades.set(name, cur);
    if (!enabled) continue;
    if (status.state !== 'online') {
      out.push({ code: CODES.cascadeDown, target: name, args: { state: status.state, error: status.lastError?.message ?? null } });
      continue;
    }
    const c = status.connections;
    // "online" is promised to come with >= 1 connection; check anyway: it is what users of the stock bridge hit most.
    if (c.total === 0 || c.up === 0 || c.down === 0) {
      out.push({ code: CODES.cascadeNoConnections, target: name, args: { total: c.total, up: c.up, down: c.down } });
    } else if (c.total < c.granted || c.granted < c.requested) {
      out.push({
        code: CODES.cascadeBelowConnections,
        target: name,
        args: { total: c.total, granted: c.granted, requested: c.requested, belowGranted: c.total < c.granted },
      });
    }
    // Movement is judged within one session: a new session restarts the count (its counters keep running).
    if (prev && prev.sessions === status.sessions) {
      const moved = t.framesIn !== prev.framesIn || t.framesOut !== prev.framesOut;
      cur.stillChecks = moved ? 0 : prev.stillChecks + 1;
      if (cur.stillChecks >= o.noTrafficChecks) {
        out.push({ code: CODES.cascadeNoTraffic, target: name, args: { seconds: Math.round((o.noTrafficChecks * o.linkIntervalMs) / 1000) } });
      }
      const rate = dropRate(prev.drops, drops, prev.at, now);
      if (rate > o.dropsPerSecondWarn) {
        let reason: string = DROP_KEYS[0];
        let most = -1;
        for (const k of DROP_KEYS) if (t.drops[k] > most) (most = t.drops[k]), (reason = k);
        out.push({ code: CODES.cascadeDrops, target: name, args: { perSecond: Math.round(rate), threshold: o.dropsPerSecondWarn, reason } });
      }
    }
  }
  for (const name of [...mem.cascades.keys()]) if (!seen.has(name)) mem.cascades.delete(name);
  return out;
}

export function checkBridges(list: readonly BridgeSnapshot[], mem: LinkCheckMemory, now: number, o: LinkCheckOptions): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const b of list) {
    seen.add(b.device);
    const prev = mem.bridges.get(b.device);
    mem.bridges.set(b.device, { drops: b.drops, at: now });
    if (!b.present) {
      out.push({ code: CODES.nicMissing, target: b.device, args: {} });
      continue;
    }
    if (!b.up || !b.carrier) out.push({ code: CODES.nicNoCarrier, target: b.device, args: { up: b.up, carrier: b.carrier } });
    if (prev) {
      const rate = dropRate(prev.drops, b.drops, prev.at, now);
      if (rate > o.dropsPerSecondWarn) {
        out.push({ code: CODES.nicDrops, target: b.device, args: { perSecond: Math.round(rate), threshold: o.dropsPerSecondWarn } });
      }
    }
  }
  for (const d of [...mem.bridges.keys()]) if (!seen.has(d)) mem.bridges.delete(d);
  return out;
}

/** Drops per second between two samples; a counter that went backwards (object re-created) counts as 0. */
function dropRate(before: number, after: number, atBefore: number, atNow: number): number {
  const dt = (atNow - atBefore) / 1000;
  if (dt <= 0 || after < before) return 0;
  return (after - before) / dt;
}

/**
 * Resource thresholds. "Sustained, not one sample": a finding here only raises the warning; the warnables'
 * timeToVisible (2 min for CPU) hides it until every sample in that time was above the threshold, because one
 * sample below clears it. To keep a value hovering at the threshold from flapping, a warning that is already
 * raised clears only when the value falls `hysteresis` below the threshold.
 */
export function checkSystem(
  facts: SystemSnapshot,
  th: Thresholds,
  isRaised: (code: string) => boolean,
  hysteresis = 5,
): Finding[] {
  const out: Finding[] = [];
  const over = (code: string, value: number, threshold: number): boolean =>
    value > threshold || (isRaised(code) && value > threshold - hysteresis);
  if (over(CODES.cpuHigh, facts.cpuPercent, th.cpuWarnPercent)) {
    out.push({ code: CODES.cpuHigh, target: '', args: { percent: Math.round(facts.cpuPercent), threshold: th.cpuWarnPercent } });
  }
  if (over(CODES.memoryHigh, facts.memPercent, th.memoryWarnPercent)) {
    out.push({ code: CODES.memoryHigh, target: '', args: { percent: Math.round(facts.memPercent), threshold: th.memoryWarnPercent } });
  }
  if (over(CODES.diskHigh, facts.diskPercent, th.diskWarnPercent)) {
    out.push({ code: CODES.diskHigh, target: '', args: { percent: Math.round(facts.diskPercent), threshold: th.diskWarnPercent } });
  }
  if (facts.temperatureC !== null && over(CODES.temperatureHigh, facts.temperatureC, th.temperatureWarnC)) {
    out.push({ code: CODES.temperatureHigh, target: '', args: { celsius: Math.round(facts.temperatureC), threshold: th.temperatureWarnC } });
  }
  return out;
}

/**
 * A lower bound for the wall clock: no run of this code can happen before it was written. Callers may pass a
 * later one (e.g. the image's build time).
 */
export const CODE_WRITTEN_AT = Date.parse('2026-12-01T00:00:00Z');

export interface ClockCheckOptions {
  notBefore: number;
  /** A difference between wall-clock and monotonic progress above this is a jump (default 30 s). */
  jumpToleranceMs: number;
  /** How long a jump stays reported (default 10 min). */
  jumpHoldMs: number;
}

export class ClockMemory {
  wall: number | null = null;
  mono: number | null = null;
  jump: { seconds: number; at: string; untilMono: number } | null = null;
}

/** `wall` = Date.now(), `mono` = a monotonic clock (performance.now()), both in ms. */
export function checkClock(wall: number, mono: number, mem: ClockMemory, o: ClockCheckOptions): Finding[] {
  const out: Finding[] = [];
  if (wall < o.notBefore) {
    out.push({ code: CODES.clockBeforeBuild, target: '', args: { now: new Date(wall).toISOString(), notBefore: new Date(o.notBefore).toISOString() } });
  }
  if (mem.wall !== null && mem.mono !== null) {
    const skew = wall - mem.wall - (mono - mem.mono);
    if (Math.abs(skew) > o.jumpToleranceMs) {
      mem.jump = { seconds: Math.round(skew / 1000), at: new Date(wall).toISOString(), untilMono: mono + o.jumpHoldMs };
    }
  }
  mem.wall = wall;
  mem.mono = mono;
  if (mem.jump && mono < mem.jump.untilMono) {
    out.push({ code: CODES.clockJump, target: '', args: { seconds: mem.jump.seconds, at: mem.jump.at } });
  } else {
    mem.jump = null;
  }
  return out;
}

export function checkConfigWritable(result: boolean | Error): Finding[] {
  if (result === true) return [];
  return [{ code: CODES.configNotWritable, target: '', args: { error: result instanceof Error ? result.message : null } }];
}

/**
 * Apply one check group's findings: each finding is set unhealthy (args refreshed), and every unhealthy pair of
 * the group's codes that the findings no longer mention is set healthy (including targets that went away).
 */
export function applyFindings(tracker: HealthTracker, codes: readonly string[], findings: readonly Finding[]): void {
  for (const f of findings) {
    if (!codes.includes(f.code)) throw new Error(`finding ${f.code} is not one of this check's codes`);
  }
  const found = new Set(findings.map((f) => `${f.code}\u0000${f.target}`));
  tracker.batch(() => {
    for (const code of codes) {
      for (const target of tracker.unhealthyTargets(code)) {
        if (!found.has(`${code}\u0000${target}`)) tracker.setHealthy(code, target);
      }
    }
    for (const f of findings) tracker.setUnhealthy(f.code, f.target, f.args);
  });
}

export const CASCADE_CODES = [
  CODES.cascadeDown, CODES.cascadeNoConnections, CODES.cascadeBelowConnections, CODES.cascadeNoTraffic, CODES.cascadeDrops,
] as const;
export const BRIDGE_CODES = [CODES.nicMissing, CODES.nicNoCarrier, CODES.nicDrops] as const;
export const SYSTEM_CODES = [CODES.cpuHigh, CODES.memoryHigh, CODES.diskHigh, CODES.temperatureHigh] as const;
export const CLOCK_CODES = [CODES.clockBeforeBuild, CODES.clockJump] as const;
export const CONFIG_CODES = [CODES.configNotWritable] as const;
