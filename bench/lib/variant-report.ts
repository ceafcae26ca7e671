import { median } from './report.ts';
import type { DirectionResult, ScenarioOk, ScenarioResult } from './scenario.ts';
import { LOOP_TIMER_MS } from './status-sampler.ts';

/**
 * Tables for daemon-vs-link.ts: one column per variant of running sebridge ('link' = `sebridge link`, the
 * baseline; 'daemon' = `sebridge run` configured through its API; 'dashboard' = the same with the dashboard open
 * in a browser), medians over runs, and each variant's ratio to the baseline.
 */
export const VARIANTS = ['link', 'daemon', 'dashboard'] as const;
export type Variant = (typeof VARIANTS)[number];
export const BASELINE: Variant = 'link';

export function variantOf(r: ScenarioResult): Variant {
  const v = r.variant ?? 'link';
  return (VARIANTS as readonly string[]).includes(v) ? (v as Variant) : 'link';
}

type Get = (r: ScenarioOk) => number | undefined;
const MIB = 1024 * 1024;
const obs = (dir: 'forward' | 'reverse', key: string, scale = 1): Get => (r) => {
  const v = r.observed?.[dir][key];
  return v === undefined ? undefined : v * scale;
};
const perCore = (d: DirectionResult) => (d.bridgeCpuPct && d.bridgeCpuPct > 0 ? d.mbps / (d.bridgeCpuPct / 100) : undefined);

export interface VariantMetric {
  key: string;
  label: string;
  unit: string;
  /** median per variant */
  values: Partial<Record<Variant, number>>;
  /** lowest and highest single run per variant (the noise the medians hide) */
  spread: Partial<Record<Variant, [number, number]>>;
  /** median of the variant / median of the baseline, for the ratio metrics */
  ratio: Partial<Record<Variant, number>>;
}

const METRICS: Array<{ key: string; label: string; unit: string; ratio: boolean; get: Get }> = [
  { key: 'mbpsAB', label: 'throughput A->B', unit: 'Mbit/s', ratio: true, get: (r) => r.forward.mbps },
  { key: 'mbpsBA', label: 'throughput B->A (-R)', unit: 'Mbit/s', ratio: true, get: (r) => r.reverse.mbps },
  { key: 'loopIdle', label: 'daemon loop p99, idle', unit: 'ms', ratio: false, get: (r) => { const v = r.observed?.idle?.['idleLoopP99Us']; return v === undefined ? undefined : v / 1000; } },
  { key: 'loopAB', label: 'daemon loop p99, A->B', unit: 'ms', ratio: false, get: obs('forward', 'loopP99Us', 1 / 1000) },
  { key: 'loopBA', label: 'daemon loop p99, B->A', unit: 'ms', ratio: false, get: obs('reverse', 'loopP99Us', 1 / 1000) },
  { key: 'loopExAB', label: `  minus the ${LOOP_TIMER_MS} ms timer, A->B`, unit: 'ms', ratio: false, get: (r) => { const v = r.observed?.forward['loopP99Us']; return v === undefined ? undefined : v / 1000 - LOOP_TIMER_MS; } },
  { key: 'loopExBA', label: `  minus the ${LOOP_TIMER_MS} ms timer, B->A`, unit: 'ms', ratio: false, get: (r) => { const v = r.observed?.reverse['loopP99Us']; return v === undefined ? undefined : v / 1000 - LOOP_TIMER_MS; } },
  { key: 'winAB', label: '  whole 10 s windows, A->B', unit: 'count', ratio: false, get: obs('forward', 'loopWindows') },
  { key: 'winBA', label: '  whole 10 s windows, B->A', unit: 'count', ratio: false, get: obs('reverse', 'loopWindows') },
  { key: 'uiMedAB', label: 'dashboard API answer med, A->B', unit: 'ms', ratio: false, get: obs('forward', 'dashboardLatencyMedianMs') },
  { key: 'uiMaxAB', label: 'dashboard API answer max, A->B', unit: 'ms', ratio: false, get: obs('forward', 'dashboardLatencyMaxMs') },
  { key: 'uiMedBA', label: 'dashboard API answer med, B->A', unit: 'ms', ratio: false, get: obs('reverse', 'dashboardLatencyMedianMs') },
  { key: 'uiMaxBA', label: 'dashboard API answer max, B->A', unit: 'ms', ratio: false, get: obs('reverse', 'dashboardLatencyMaxMs') },
  { key: 'apiMedAB', label: 'GetSystemStatus median, A->B', unit: 'ms', ratio: false, get: obs('forward', 'apiLatencyMedianMs') },
  { key: 'apiMaxAB', label: 'GetSystemStatus max, A->B', unit: 'ms', ratio: false, get: obs('forward', 'apiLatencyMaxMs') },
  { key: 'apiMedBA', label: 'GetSystemStatus median, B->A', unit: 'ms', ratio: false, get: obs('reverse', 'apiLatencyMedianMs') },
  { key: 'apiMaxBA', label: 'GetSystemStatus max, B->A', unit: 'ms', ratio: false, get: obs('reverse', 'apiLatencyMaxMs') },
  { key: 'cpuAB', label: 'sebridge CPU during A->B', unit: '% core', ratio: true, get: (r) => r.forward.bridgeCpuPct },
  { key: 'cpuBA', label: 'sebridge CPU during B->A', unit: '% core', ratio: true, get: (r) => r.reverse.bridgeCpuPct },
  { key: 'effAB', label: 'A->B per sebridge core', unit: 'Mbit/s', ratio: true, get: (r) => perCore(r.forward) },
  { key: 'effBA', label: 'B->A per sebridge core', unit: 'Mbit/s', ratio: true, get: (r) => perCore(r.reverse) },
  { key: 'waitAB', label: 'sebridge waiting for CPU, A->B', unit: '% core', ratio: false, get: (r) => r.forward.bridgeRunqueueWaitPct },
  { key: 'waitBA', label: 'sebridge waiting for CPU, B->A', unit: '% core', ratio: false, get: (r) => r.reverse.bridgeRunqueueWaitPct },
  { key: 'browserAB', label: 'Chromium CPU during A->B', unit: '% core', ratio: false, get: obs('forward', 'browserCpuPct') },
  { key: 'browserBA', label: 'Chromium CPU during B->A', unit: '% core', ratio: false, get: obs('reverse', 'browserCpuPct') },
  { key: 'callsAB', label: 'dashboard API calls, A->B', unit: '/s', ratio: false, get: obs('forward', 'dashboardCallsPerSec') },
  { key: 'srvAB', label: 'vpnserver CPU during A->B', unit: '% core', ratio: false, get: (r) => r.forward.serverCpuPct },
  { key: 'srvBA', label: 'vpnserver CPU during B->A', unit: '% core', ratio: false, get: (r) => r.reverse.serverCpuPct },
  { key: 'busyAB', label: 'machine busy during A->B', unit: '% all', ratio: false, get: (r) => r.forward.machineBusyPct },
  { key: 'busyBA', label: 'machine busy during B->A', unit: '% all', ratio: false, get: (r) => r.reverse.machineBusyPct },
  { key: 'idleRss', label: 'sebridge RSS, connected idle', unit: 'MiB', ratio: true, get: (r) => r.idleRssMiB },
  { key: 'rss', label: 'sebridge peak RSS (VmHWM)', unit: 'MiB', ratio: true, get: (r) => r.peakRssMiB },
  { key: 'apiRss', label: 'daemon RSS per its API, max', unit: 'MiB', ratio: false, get: (r) => { const a = r.observed?.forward['daemonRssMaxBytes']; const b = r.observed?.reverse['daemonRssMaxBytes']; return a === undefined && b === undefined ? undefined : Math.max(a ?? 0, b ?? 0) / MIB; } },
  { key: 'pingAvg', label: 'ping avg (idle)', unit: 'ms', ratio: false, get: (r) => r.ping.avgMs },
  { key: 'pingP99', label: 'ping p99 (idle)', unit: 'ms', ratio: false, get: (r) => r.ping.p99Ms },
  { key: 'lossAB', label: 'frames lost in tunnel, A->B', unit: '%', ratio: false, get: (r) => r.forward.lossPct },
  { key: 'lossBA', label: 'frames lost in tunnel, B->A', unit: '%', ratio: false, get: (r) => r.reverse.lossPct },
  { key: 'retrAB', label: 'TCP retransmits A->B', unit: 'count', ratio: false, get: (r) => r.forward.retransmits },
  { key: 'retrBA', label: 'TCP retransmits B->A', unit: 'count', ratio: false, get: (r) => r.reverse.retransmits },
  { key: 'connectS', label: 'start to all connections up', unit: 's', ratio: false, get: (r) => r.connectSeconds },
];

export interface VariantSummary {
  mode: string;
  runs: Partial<Record<Variant, { ok: number; failed: string[] }>>;
  metrics: VariantMetric[];
}

export function summarizeVariants(modes: readonly string[], variants: readonly Variant[], results: readonly ScenarioResult[]): VariantSummary[] {
  return modes.map((mode) => {
    const of = (v: Variant) => results.filter((r) => r.mode === mode && variantOf(r) === v);
    const ok = (v: Variant) => of(v).filter((r): r is ScenarioOk => r.ok);
    const runs: VariantSummary['runs'] = {};
    for (const v of variants) runs[v] = { ok: ok(v).length, failed: of(v).flatMap((r) => (r.ok ? [] : [r.error.split('\n', 1)[0]!])) };
    const metrics = METRICS.map((m) => {
      const values: VariantMetric['values'] = {};
      const spread: VariantMetric['spread'] = {};
      for (const v of variants) {
        const xs = ok(v).map(m.get).filter((x): x is number => x !== undefined && Number.isFinite(x));
        const med = median(xs);
        if (med !== undefined) {
          values[v] = med;
          spread[v] = [Math.min(...xs), Math.max(...xs)];
        }
      }
      const ratio: VariantMetric['ratio'] = {};
      const base = values[BASELINE];
      if (m.ratio && base) for (const v of variants) if (v !== BASELINE && values[v] !== undefined) ratio[v] = values[v]! / base;
      return { key: m.key, label: m.label, unit: m.unit, values, spread, ratio };
    });
    return { mode, runs, metrics };
  });
}

function num(v: number | undefined, unit: string): string {
  if (v === undefined) return '-';
  if (unit === '%') return v.toFixed(3);
  if (unit === 'ms') return v.toFixed(v >= 100 ? 0 : 2);
  if (unit === 'count') return v.toFixed(0);
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

export function formatVariantTables(summaries: readonly VariantSummary[], variants: readonly Variant[]): string {
  const out: string[] = [];
  const others = variants.filter((v) => v !== BASELINE);
  for (const s of summaries) {
    const runs = variants.map((v) => `${v}: ${s.runs[v]?.ok ?? 0} ok${s.runs[v]?.failed.length ? `, ${s.runs[v]!.failed.length} failed` : ''}`).join('; ');
    out.push('', `== ${s.mode} (${runs}); medians, ratio = variant / ${BASELINE}`);
    out.push(`${'metric'.padEnd(32)} ${'unit'.padEnd(7)} ${variants.map((v) => v.padStart(10)).join(' ')} ${others.map((v) => `${v}/${BASELINE}`.padStart(15)).join(' ')}`);
    for (const m of s.metrics) {
      if (variants.every((v) => m.values[v] === undefined)) continue;
      const ratios = others.map((v) => (m.ratio[v] === undefined ? '' : m.ratio[v]!.toFixed(3)).padStart(15)).join(' ');
      out.push(`${m.label.padEnd(32)} ${m.unit.padEnd(7)} ${variants.map((v) => num(m.values[v], m.unit).padStart(10)).join(' ')} ${ratios}`);
    }
    out.push('throughput of each run (Mbit/s, A->B / B->A):');
    for (const v of variants) {
      const ab = s.metrics.find((m) => m.key === 'mbpsAB')?.spread[v];
      const ba = s.metrics.find((m) => m.key === 'mbpsBA')?.spread[v];
      if (ab && ba) out.push(`  ${v.padEnd(10)} A->B ${ab[0].toFixed(0)}..${ab[1].toFixed(0)}, B->A ${ba[0].toFixed(0)}..${ba[1].toFixed(0)}`);
    }
    for (const v of variants) for (const f of s.runs[v]?.failed ?? []) out.push(`  ${v} failed: ${f}`);
  }
  return out.join('\n');
}

/** Issue 6: with the dashboard open, throughput within 5 % of `sebridge link` alone (both directions). */
export function dashboardGoal(summaries: readonly VariantSummary[]): string[] {
  return summaries.map((s) => {
    const ab = s.metrics.find((m) => m.key === 'mbpsAB')?.ratio.dashboard;
    const ba = s.metrics.find((m) => m.key === 'mbpsBA')?.ratio.dashboard;
    if (ab === undefined || ba === undefined) return `${s.mode}: not evaluated (no dashboard or link results)`;
    const met = ab >= 0.95 && ba >= 0.95;
    return `${s.mode}: ${met ? 'MET' : 'NOT MET'} (dashboard / link throughput A->B ${ab.toFixed(3)}, B->A ${ba.toFixed(3)}; goal >= 0.95 both)`;
  });
}
