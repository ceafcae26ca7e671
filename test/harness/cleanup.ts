import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { namesFor, ownerFile, PREFIX, TOKEN_RE } from './names.ts';
import { TEMPLATE_DIR } from './template.ts';
import { netnsEtcDir, removeInstance } from './topology.ts';
import { processAlive } from '../../src/control/process-alive.ts';

/**
 * Removes what crashed or SIGKILLed test runs left behind: sebt-* network namespaces (and the
 * servers still running in them), sebt*a veths, /etc/netns/sebt-* and the private directories.
 * An instance whose owner process (the PID in its directory) is still alive is in use by a running
 * test and is left alone unless force is set; an instance without an owner file is only touched
 * once it is older than minAgeMs, because it may be being built right now.
 *
 * Run it directly (e.g. at the start of CI): node test/harness/cleanup.ts [--force]
 */
export interface CleanupReport {
  removed: string[];
  skipped: string[];
  problems: string[];
}

export interface CleanupOptions {
  force?: boolean;
  /** limit to these namespace names (sebt-xxxxxx) */
  only?: string[];
  minAgeMs?: number;
}

function lines(argv: string[]): string[] {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? `${r.stdout}`.split('\n') : [];
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function mtimeMs(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

export { processAlive as pidAlive };

/** Tokens of every sebt-* thing on the machine, whichever piece survived. */
export function leftoverTokens(): Set<string> {
  const tokens = new Set<string>();
  const add = (t: string | undefined): void => {
    if (t !== undefined && TOKEN_RE.test(t)) tokens.add(t);
  };
  for (const l of lines(['ip', 'netns', 'list'])) add(/^sebt-([0-9a-f]{6})\b/.exec(l)?.[1]);
  for (const l of lines(['ip', '-o', 'link', 'show'])) add(/^\d+:\s+sebt([0-9a-f]{6})a[@:]/.exec(l)?.[1]);
  for (const e of safeReaddir('/etc/netns')) add(/^sebt-([0-9a-f]{6})$/.exec(e)?.[1]);
  for (const e of safeReaddir(tmpdir())) add(/^sebt-([0-9a-f]{6})$/.exec(e)?.[1]);
  return tokens;
}

export function cleanupLeftovers(opts: CleanupOptions = {}): CleanupReport {
  const minAgeMs = opts.minAgeMs ?? 60_000;
  const report: CleanupReport = { removed: [], skipped: [], problems: [] };
  for (const token of leftoverTokens()) {
    const names = namesFor(token);
    if (opts.only && !opts.only.includes(names.netns)) continue;
    let owner: number | undefined;
    try {
      owner = Number.parseInt(readFileSync(ownerFile(names.dir), 'utf8'), 10);
    } catch {
      owner = undefined;
    }
    if (!opts.force) {
      if (owner !== undefined && Number.isInteger(owner) && owner > 0 && processAlive(owner)) {
        report.skipped.push(`${names.netns} (owner ${owner} alive)`);
        continue;
      }
      if (owner === undefined) {
        const times = [join('/run/netns', names.netns), netnsEtcDir(names.netns), names.dir].map(mtimeMs).filter((t) => t !== undefined);
        const newest = times.length > 0 ? Math.max(...times) : 0;
        if (Date.now() - newest < minAgeMs) {
          report.skipped.push(`${names.netns} (no owner yet, younger than ${minAgeMs} ms)`);
          continue;
        }
      }
    }
    const problems = removeInstance(names);
    if (problems.length > 0) report.problems.push(...problems);
    else report.removed.push(names.netns);
  }
  if (!opts.only) cleanupStrayTempDirs(report, minAgeMs);
  return report;
}

/** Certificate scratch dirs and template staging dirs of processes that died mid-way. */
function cleanupStrayTempDirs(report: CleanupReport, minAgeMs: number): void {
  const templateBase = TEMPLATE_DIR.slice(tmpdir().length + 1);
  for (const e of safeReaddir(tmpdir())) {
    const path = join(tmpdir(), e);
    const staging = e.startsWith(`${templateBase}.staging-`) ? Number.parseInt(e.slice(templateBase.length + 9), 10) : undefined;
    const stray = e.startsWith(`${PREFIX}-cert-`) || (staging !== undefined && !processAlive(staging));
    if (!stray || Date.now() - (mtimeMs(path) ?? 0) < minAgeMs) continue;
    try {
      rmSync(path, { recursive: true, force: true });
      report.removed.push(path);
    } catch (err) {
      report.problems.push(`rm ${path}: ${(err as Error).message}`);
    }
  }
}

if (import.meta.main) {
  const report = cleanupLeftovers({ force: process.argv.includes('--force') });
  for (const r of report.removed) console.log(`removed ${r}`);
  for (const s of report.skipped) console.log(`skipped ${s}`);
  for (const p of report.problems) console.error(`PROBLEM ${p}`);
  process.exitCode = report.problems.length > 0 ? 1 : 0;
}
