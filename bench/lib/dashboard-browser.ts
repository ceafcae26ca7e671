import { createHash, X509Certificate } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { login, waitForCascadeState } from '../../test/control/ui/steps.ts';
import { BenchError } from './child.ts';
import { processCpuSeconds } from './proc-stats.ts';

export const CHROMIUM = '/usr/bin/chromium';

/** The child processes of every process, from /proc (one pass). */
function childrenMap(): Map<number, number[]> {
  const kids = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = kids.get(ppid) ?? [];
      list.push(Number(e));
      kids.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  return kids;
}

/** CPU seconds of a process and all its descendants, per PID. */
function treeCpu(root: number): Map<number, number> {
  const kids = childrenMap();
  const out = new Map<number, number>();
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    const s = processCpuSeconds(pid);
    if (s !== undefined) out.set(pid, s);
    todo.push(...(kids.get(pid) ?? []));
  }
  return out;
}

/**
 * The SHA-256 of the certificate's public key (SPKI, base64): Chromium's --ignore-certificate-errors-spki-list
 * then accepts exactly this self-signed certificate, the way a user accepts it after comparing the fingerprint.
 * The certificate file must be the one the daemon announced (`certSha256`).
 */
function spkiHash(certFile: string, certSha256: string): string {
  const cert = new X509Certificate(readFileSync(certFile));
  if (cert.fingerprint256 !== certSha256) throw new BenchError(`${certFile} (${cert.fingerprint256}) is not the certificate the daemon announced (${certSha256})`);
  return createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

/**
 * A real headless Chromium, signed in to the daemon's web UI and showing its dashboard, the way an admin leaves
 * it open. It runs inside the bridge namespace (a wrapper script puts it there), because the daemon's web UI
 * listens on that namespace's loopback. Counts the dashboard's API calls by method and the CPU of all Chromium
 * processes, so a report can show the dashboard was live and what the browser itself cost on this machine.
 */
export class DashboardBrowser {
  readonly calls = new Map<string, number>();
  /** answer times (ms) of the API calls finished while observe() runs; bounded */
  #latencies: number[] | undefined;
  readonly #browser: Browser;
  readonly #page: Page;
  readonly #pid: number;

  private constructor(browser: Browser, page: Page, pid: number) {
    this.#browser = browser;
    this.#page = page;
    this.#pid = pid;
    page.on('request', (r) => {
      if (r.method() !== 'POST' || !r.url().endsWith('/api/')) return;
      let method = '?';
      try {
        method = String((r.postDataJSON() as { method?: unknown } | null)?.method ?? '?');
      } catch {
        // not JSON: counted as '?'
      }
      // Bounded: the UI has a few dozen methods at most; anything beyond is lumped together.
      if (!this.calls.has(method) && this.calls.size >= 64) method = '(other)';
      this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    });
    page.on('requestfinished', (r) => {
      if (!this.#latencies || r.method() !== 'POST' || !r.url().endsWith('/api/')) return;
      const t = r.timing();
      if (t.responseEnd > 0 && this.#latencies.length < 10_000) this.#latencies.push(t.responseEnd);
    });
  }

  /** Starts Chromium in `netns`, signs in with `password` and waits until the cascade `link` shows online. */
  static async open(o: { netns: string; dir: string; port: number; certFile: string; certSha256: string; password: string; link: string }): Promise<DashboardBrowser> {
    const pidFile = join(o.dir, 'chromium.pid');
    const wrapper = join(o.dir, 'chromium-in-netns');
    // exec all the way: the PID written is Chromium's own, and parent-death kills it with the benchmark.
    writeFileSync(wrapper, `#!/bin/sh\necho $$ > '${pidFile}'\nexec setpriv --pdeathsig KILL ip netns exec '${o.netns}' ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o700);
    const spki = spkiHash(o.certFile, o.certSha256);
    const browser = await chromium.launch({ executablePath: wrapper, args: ['--no-sandbox', `--ignore-certificate-errors-spki-list=${spki}`] });
    try {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (!Number.isInteger(pid) || pid <= 1) throw new BenchError(`chromium wrapper wrote no PID to ${pidFile}`);
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
      const d = new DashboardBrowser(browser, page, pid);
      await page.goto(`https://127.0.0.1:${o.port}/`);
      const where = await login(page, o.password);
      if (where !== 'dashboard') throw new BenchError(`after sign-in the UI shows the ${where}, not the dashboard`);
      await waitForCascadeState(page, o.link, 'online', 60_000);
      return d;
    } catch (e) {
      await browser.close().catch(() => undefined);
      throw e;
    }
  }

  /**
   * Starts counting: returns a function giving the API calls per method, their answer times as the browser saw
   * them (request sent to response complete, ms, sorted), and Chromium's CPU % since then.
   */
  observe(): () => { calls: Record<string, number>; latenciesMs: number[]; cpuPct: number | undefined; seconds: number } {
    const t0 = performance.now();
    const cpu0 = treeCpu(this.#pid);
    const calls0 = new Map(this.calls);
    const latencies: number[] = [];
    this.#latencies = latencies;
    return () => {
      if (this.#latencies === latencies) this.#latencies = undefined;
      const seconds = (performance.now() - t0) / 1000;
      let used = 0;
      for (const [pid, s] of treeCpu(this.#pid)) used += s - (cpu0.get(pid) ?? 0);
      const calls: Record<string, number> = {};
      for (const [m, n] of this.calls) if (n - (calls0.get(m) ?? 0) > 0) calls[m] = n - (calls0.get(m) ?? 0);
      return { calls, latenciesMs: [...latencies].sort((a, b) => a - b), cpuPct: seconds > 0 ? (used / seconds) * 100 : undefined, seconds };
    };
  }

  /** The page's own reading of the dashboard's system tile ("loop p99 ... ms"), as a user would see it. */
  async shownLoopP99(): Promise<string> {
    const text = (await this.#page.locator('main').textContent({ timeout: 5000 })) ?? '';
    return /loop p99 [\d.]+ ms/.exec(text)?.[0] ?? '';
  }

  async close(): Promise<void> {
    await this.#browser.close();
  }
}
