import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * Summary of a V8 .cpuprofile (written by `node --cpu-prof`): self and total time per function, and self time
 * per source file. Time inside native code called from JS (TLS write, socket write, the addon) counts as the
 * calling JS function's; work the event loop does before entering JS (TLS decryption of received records,
 * libuv) shows up as "(program)".
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FunctionTime {
  name: string;
  selfMs: number;
  totalMs: number;
  /** self time as % of the busy (non-idle) time */
  selfPct: number;
  totalPct: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  idleMs: number;
  busyMs: number;
  top: FunctionTime[];
  byFile: Array<{ file: string; selfMs: number; selfPct: number }>;
}

function label(n: ProfileNode): string {
  const f = n.callFrame;
  const name = f.functionName || '(anonymous)';
  if (!f.url) return name;
  const file = f.url.startsWith('node:') ? f.url : basename(f.url);
  return `${name} ${file}:${f.lineNumber + 1}`;
}

function fileOf(n: ProfileNode): string {
  const u = n.callFrame.url;
  if (!u) return n.callFrame.functionName.startsWith('(') ? n.callFrame.functionName : '(native)';
  if (u.startsWith('node:')) return 'node: internals';
  // Sources run as TypeScript (src/) or compiled (dist/): name them relative to that folder.
  const m = /\/(src|dist)\/(.*)$/.exec(u);
  return m ? `${m[1]}/${m[2]}` : basename(u);
}

export function summarizeProfile(path: string, topN = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const files = new Map<string, number>();
  let idleUs = 0;
  let allUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i] is the time since the previous sample; it belongs to the stack seen at sample i-1, which
    // for a summary over thousands of samples is the same as charging it to sample i.
    const dt = p.timeDeltas[i] ?? 0;
    const node = byId.get(p.samples[i]!);
    if (!node || dt <= 0) continue;
    allUs += dt;
    const me = label(node);
    if (me === '(idle)') {
      idleUs += dt;
      continue;
    }
    self.set(me, (self.get(me) ?? 0) + dt);
    const f = fileOf(node);
    files.set(f, (files.get(f) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      const l = label(n);
      if (l === '(root)' || seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + dt);
    }
  }
  const busyUs = allUs - idleUs;
  const pct = (us: number) => (busyUs > 0 ? (us / busyUs) * 100 : 0);
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([name, us]) => ({ name, selfMs: us / 1000, totalMs: (total.get(name) ?? us) / 1000, selfPct: pct(us), totalPct: pct(total.get(name) ?? us) }));
  const byFile = [...files.entries()].sort((a, b) => b[1] - a[1]).map(([file, us]) => ({ file, selfMs: us / 1000, selfPct: pct(us) }));
  return { file: path, wallMs: allUs / 1000, idleMs: idleUs / 1000, busyMs: busyUs / 1000, top, byFile };
}

/** The .cpuprofile files node wrote into dir (one per process). */
export function profilesIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  } catch {
    return [];
  }
}

export function formatProfile(s: ProfileSummary): string {
  const lines = [
    `CPU profile ${s.file}`,
    `  ${(s.wallMs / 1000).toFixed(1)} s profiled, main thread busy ${(s.busyMs / 1000).toFixed(1)} s (${((s.busyMs / Math.max(1, s.wallMs)) * 100).toFixed(0)} %), idle ${(s.idleMs / 1000).toFixed(1)} s`,
    '  top self time (% of busy time)       self %   total %',
  ];
  for (const f of s.top) lines.push(`  ${f.name.padEnd(60).slice(0, 60)} ${f.selfPct.toFixed(1).padStart(6)} ${f.totalPct.toFixed(1).padStart(8)}`);
  lines.push('  self time by file:');
  for (const f of s.byFile.slice(0, 12)) lines.push(`  ${f.file.padEnd(60).slice(0, 60)} ${f.selfPct.toFixed(1).padStart(6)}`);
  return lines.join('\n');
}
