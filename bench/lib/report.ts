import type { BridgeKind, Mode } from './modes.ts';
import type { ScenarioOk, ScenarioResult } from './scenario.ts';

/** One number of the comparison: the median over the successful runs of each bridge, and their ratio. */
export interface Metric {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower' | 'info';
  softether: number | undefined;
  sebridge: number | undefined;
  /** sebridge / SoftEther */
  ratio: number | undefined;
}

export interface ModeSummary {
  mode: string;
  label: string;
  runs: Record<BridgeKind, { ok: number; failed: string[] }>;
  metrics: Metric[];
}

type Extract = (r: ScenarioOk) => number | undefined;

const perCore = (mbps: number, cpu: number | undefined) => (cpu && cpu > 0 ? mbps / (cpu / 100) : undefined);

const METRICS: Array<{ key: string; label: string; unit: string; better: Metric['better']; get: Extract }> = [
  { key: 'mbpsAB', label: 'throughput A->B', unit: 'Mbit/s', better: 'higher', get: (r) => r.forward.mbps },
  { key: 'mbpsBA', label: 'throughput B->A (-R)', unit: 'Mbit/s', better: 'higher', get: (r) => r.reverse.mbps },
  { key: 'pingAvg', label: 'ping avg (idle)', unit: 'ms', better: 'lower', get: (r) => r.ping.avgMs },
  { key: 'pingP99', label: 'ping p99 (idle)', unit: 'ms', better: 'lower', get: (r) => r.ping.p99Ms },
  { key: 'inReqP50', label: '  in the bridge: request p50', unit: 'ms', better: 'lower', get: (r) => r.pingSplit?.requestP50Ms },
  { key: 'inRepP50', label: '  in the bridge: reply p50', unit: 'ms', better: 'lower', get: (r) => r.pingSplit?.replyP50Ms },
  { key: 'inP99', label: '  in the bridge: request+reply p99', unit: 'ms', better: 'lower', get: (r) => r.pingSplit?.bridgeP99Ms },
  { key: 'srvP50', label: '  server and host B: p50', unit: 'ms', better: 'info', get: (r) => r.pingSplit?.serverP50Ms },
  { key: 'srvP99', label: '  server and host B: p99', unit: 'ms', better: 'info', get: (r) => r.pingSplit?.serverP99Ms },
  { key: 'pingAfterAvg', label: 'ping avg (idle, after the load)', unit: 'ms', better: 'lower', get: (r) => r.pingAfter?.avgMs },
  { key: 'pingAfterP99', label: 'ping p99 (idle, after the load)', unit: 'ms', better: 'lower', get: (r) => r.pingAfter?.p99Ms },
  { key: 'inReqAfterP50', label: '  in the bridge after the load: request p50', unit: 'ms', better: 'lower', get: (r) => r.pingSplitAfter?.requestP50Ms },
  { key: 'inRepAfterP50', label: '  in the bridge after the load: reply p50', unit: 'ms', better: 'lower', get: (r) => r.pingSplitAfter?.replyP50Ms },
  { key: 'inAfterP99', label: '  in the bridge after the load: request+reply p99', unit: 'ms', better: 'lower', get: (r) => r.pingSplitAfter?.bridgeP99Ms },
  { key: 'srvAfterP50', label: '  server and host B after the load: p50', unit: 'ms', better: 'info', get: (r) => r.pingSplitAfter?.serverP50Ms },
  { key: 'lpingAB', label: 'ping avg under A->B load', unit: 'ms', better: 'lower', get: (r) => r.forward.loadPing?.avgMs },
  { key: 'lp99AB', label: 'ping p99 under A->B load', unit: 'ms', better: 'lower', get: (r) => r.forward.loadPing?.p99Ms },
  { key: 'llossAB', label: 'ping loss under A->B load', unit: '%', better: 'lower', get: (r) => r.forward.loadPing?.lossPct },
  { key: 'lpingBA', label: 'ping avg under B->A load', unit: 'ms', better: 'lower', get: (r) => r.reverse.loadPing?.avgMs },
  { key: 'lp99BA', label: 'ping p99 under B->A load', unit: 'ms', better: 'lower', get: (r) => r.reverse.loadPing?.p99Ms },
  { key: 'llossBA', label: 'ping loss under B->A load', unit: '%', better: 'lower', get: (r) => r.reverse.loadPing?.lossPct },
  { key: 'cpuAB', label: 'bridge CPU during A->B', unit: '% core', better: 'info', get: (r) => r.forward.bridgeCpuPct },
  { key: 'cpuBA', label: 'bridge CPU during B->A', unit: '% core', better: 'info', get: (r) => r.reverse.bridgeCpuPct },
  { key: 'sysAB', label: '  of which kernel, A->B', unit: '% core', better: 'info', get: (r) => r.forward.bridgeSysPct },
  { key: 'sysBA', label: '  of which kernel, B->A', unit: '% core', better: 'info', get: (r) => r.reverse.bridgeSysPct },
  { key: 'waitAB', label: 'bridge waiting for CPU, A->B', unit: '% core', better: 'info', get: (r) => r.forward.bridgeRunqueueWaitPct },
  { key: 'waitBA', label: 'bridge waiting for CPU, B->A', unit: '% core', better: 'info', get: (r) => r.reverse.bridgeRunqueueWaitPct },
  { key: 'effAB', label: 'A->B per bridge core', unit: 'Mbit/s', better: 'higher', get: (r) => perCore(r.forward.mbps, r.forward.bridgeCpuPct) },
  { key: 'effBA', label: 'B->A per bridge core', unit: 'Mbit/s', better: 'higher', get: (r) => perCore(r.reverse.mbps, r.reverse.bridgeCpuPct) },
  { key: 'idleRss', label: 'bridge RSS, connected idle', unit: 'MiB', better: 'lower', get: (r) => r.idleRssMiB },
  { key: 'rss', label: 'bridge peak RSS (VmHWM)', unit: 'MiB', better: 'lower', get: (r) => r.peakRssMiB },
  { key: 'rssAnon', label: 'bridge RSS anon at end', unit: 'MiB', better: 'info', get: (r) => r.endRssAnonMiB },
  { key: 'rssFile', label: 'bridge RSS file at end', unit: 'MiB', better: 'info', get: (r) => r.endRssFileMiB },
  { key: 'srvAB', label: 'vpnserver CPU during A->B', unit: '% core', better: 'info', get: (r) => r.forward.serverCpuPct },
  { key: 'srvBA', label: 'vpnserver CPU during B->A', unit: '% core', better: 'info', get: (r) => r.reverse.serverCpuPct },
  { key: 'busyAB', label: 'machine busy during A->B', unit: '% all', better: 'info', get: (r) => r.forward.machineBusyPct },
  { key: 'busyBA', label: 'machine busy during B->A', unit: '% all', better: 'info', get: (r) => r.reverse.machineBusyPct },
  { key: 'lossAB', label: 'frames lost in tunnel, A->B', unit: '%', better: 'lower', get: (r) => r.forward.lossPct },
  { key: 'lossBA', label: 'frames lost in tunnel, B->A', unit: '%', better: 'lower', get: (r) => r.reverse.lossPct },
  { key: 'retrAB', label: 'TCP retransmits A->B', unit: 'count', better: 'lower', get: (r) => r.forward.retransmits },
  { key: 'retrBA', label: 'TCP retransmits B->A', unit: 'count', better: 'lower', get: (r) => r.reverse.retransmits },
  { key: 'connectS', label: 'start to all connections up', unit: 's', better: 'info', get: (r) => r.connectSeconds },
];

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1]! + s[m]!) / 2;
}

export function summarize(modes: readonly Mode[], results: readonly ScenarioResult[]): ModeSummary[] {
  return modes.map((mode) => {
    const of = (kind: BridgeKind) => results.filter((r) => r.mode === mode.id && r.bridge === kind);
    const ok = (kind: BridgeKind) => of(kind).filter((r): r is ScenarioOk => r.ok);
    const runs = {
      softether: { ok: ok('softether').length, failed: of('softether').flatMap((r) => (r.ok ? [] : [r.error.split('\n', 1)[0]!])) },
      sebridge: { ok: ok('sebridge').length, failed: of('sebridge').flatMap((r) => (r.ok ? [] : [r.error.split('\n', 1)[0]!])) },
    };
    const metrics = METRICS.map((m) => {
      const pick = (kind: BridgeKind) => median(ok(kind).map(m.get).filter((v): v is number => v !== undefined && Number.isFinite(v)));
      const softether = pick('softether');
      const sebridge = pick('sebridge');
      const ratio = softether !== undefined && sebridge !== undefined && softether !== 0 ? sebridge / softether : undefined;
      return { key: m.key, label: m.label, unit: m.unit, better: m.better, softether, sebridge, ratio };
    });
    return { mode: mode.id, label: mode.label, runs, metrics };
  });
}

function num(v: number | undefined, unit: string): string {
  if (v === undefined) return '-';
  if (unit === 'ms' || unit === '%') return v.toFixed(3);
  if (unit === 'count') return v.toFixed(0);
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

export function formatTable(summaries: readonly ModeSummary[]): string {
  const out: string[] = [];
  for (const s of summaries) {
    const runs = (k: BridgeKind) => `${s.runs[k].ok} ok${s.runs[k].failed.length ? `, ${s.runs[k].failed.length} failed` : ''}`;
    out.push('', `== ${s.label} (SoftEther: ${runs('softether')}; sebridge: ${runs('sebridge')})`);
    const width = Math.max(30, ...s.metrics.map((m) => m.label.length)); // the label column fits the longest label
    out.push(`${'metric'.padEnd(width)} ${'unit'.padEnd(7)} ${'SoftEther'.padStart(10)} ${'sebridge'.padStart(10)} ${'ratio'.padStart(7)}  better`);
    for (const m of s.metrics) {
      const ratio = m.ratio === undefined ? '-' : m.ratio.toFixed(2);
      out.push(`${m.label.padEnd(width)} ${m.unit.padEnd(7)} ${num(m.softether, m.unit).padStart(10)} ${num(m.sebridge, m.unit).padStart(10)} ${ratio.padStart(7)}  ${m.better === 'info' ? '' : m.better}`);
    }
    for (const k of ['softether', 'sebridge'] as const) for (const f of s.runs[k].failed) out.push(`  ${k} failed: ${f}`);
  }
  return out.join('\n');
}

/**
 * Per sebridge run: frames it got from the server against frames its LAN veth sent, and frames the LAN veth got
 * against frames it queued for the server; a difference is what sebridge itself dropped (counted over its run).
 */
export function formatFrameAccounts(results: readonly ScenarioResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    if (!r.ok || !r.sebridgeFrames) continue;
    const f = r.sebridgeFrames;
    const pct = (a: number, b: number) => (b > 0 ? `${(((b - a) / b) * 100).toFixed(3)} %` : '-');
    lines.push(
      `${r.mode}#${r.run}: server->LAN ${f.fromServer} frames in, ${f.toLan} out on the LAN veth (not delivered: ${f.fromServer - f.toLan}, ${pct(f.toLan, f.fromServer)}); ` +
        `LAN->server ${f.fromLan} in, ${f.toServer} queued for the session (${f.fromLan - f.toServer}, ${pct(f.toServer, f.fromLan)})` +
        (f.lanDrops ? `; LAN port drops: ${Object.entries(f.lanDrops).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}` : ''),
    );
  }
  return lines;
}

/** The product goal of issue 3: >= 1.2x SoftEther's throughput at <= 64 MiB RSS. */
export function goalCheck(summaries: readonly ModeSummary[]): string[] {
  const lines: string[] = [];
  for (const s of summaries) {
    const get = (k: string) => s.metrics.find((m) => m.key === k);
    const ab = get('mbpsAB')?.ratio;
    const ba = get('mbpsBA')?.ratio;
    const rss = get('rss')?.sebridge;
    if (ab === undefined || ba === undefined || rss === undefined) {
      lines.push(`${s.label}: goal not evaluated (missing results)`);
      continue;
    }
    const met = ab >= 1.2 && ba >= 1.2 && rss <= 64;
    lines.push(`${s.label}: ${met ? 'MET' : 'NOT MET'} (throughput ratio A->B ${ab.toFixed(2)}, B->A ${ba.toFixed(2)}; sebridge peak RSS ${rss.toFixed(1)} MiB)`);
  }
  return lines;
}
