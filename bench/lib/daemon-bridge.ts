import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BenchError, type LongChild } from './child.ts';
import { DashboardBrowser } from './dashboard-browser.ts';
import { startDaemon } from './daemon-process.ts';
import type { CascadeTarget, Mode } from './modes.ts';
import { NetnsApi } from './netns-api.ts';
import type { CustomBridge, Observed } from './scenario.ts';
import { LOOP_TIMER_MS, LOOP_WINDOW_MS, readStatus, StatusSampler, windowAtEnd, windowsInside } from './status-sampler.ts';

/** The daemon's single virtual hub (like the stock VPN Bridge's). */
const HUB = 'BRIDGE';
const LINK = 'bench';

export type DaemonVariant = 'daemon' | 'dashboard';

export interface DaemonBridgeOptions {
  variant: DaemonVariant;
  netns: string;
  /** the LAN veth the daemon bridges */
  lan: string;
  /** scratch directory for this run: data/runtime directories, Chromium's wrapper */
  dir: string;
  mode: Mode;
  /** GetSystemStatus period during the load; 0: one reading at its end only (nobody calls the daemon meanwhile) */
  samplePeriodMs: number;
  nodeFlags?: string[];
  cli?: string;
  /** run the daemon under node --cpu-prof, writing its profile into this directory when it stops */
  cpuProfileDir?: string;
  log: (line: string) => void;
}

/**
 * `sebridge run` in the bridge namespace, configured through its admin API the way a user's script would
 * (SetServerPassword, CreateLink, SetLinkOnline, AddLocalBridge); variant 'dashboard' also has a real browser
 * signed in and showing the dashboard for the whole measurement. During each iperf3 run the daemon's
 * GetSystemStatus is sampled for its event-loop delay p99 and RSS (in both variants, so the browser is the only
 * difference between them).
 */
export function daemonBridge(o: DaemonBridgeOptions): CustomBridge {
  const adminPassword = randomBytes(12).toString('hex');
  let daemon: LongChild | undefined;
  let api: NetnsApi | undefined;
  let browser: DashboardBrowser | undefined;
  let sampler: StatusSampler | undefined;
  let certSha256 = '';
  let port = 0;
  const dataDir = join(o.dir, 'data');

  /**
   * Ends an observation that began at `from`: with a sampler, the windows its readings show inside the span;
   * without (the default: nothing calls the daemon during the load), one reading now.
   */
  async function finish(from: number, s: StatusSampler | undefined): Promise<{ windows: number[]; latencies: number[]; rssMax: number | undefined }> {
    if (!api) throw new BenchError('no API');
    if (s) {
      const to = performance.now();
      const samples = await s.stop();
      sampler = undefined;
      for (const e of s.errors) o.log(`${o.variant}: GetSystemStatus: ${e}`);
      const rss = samples.map((x) => x.rssBytes);
      return { windows: windowsInside(samples, from, to), latencies: samples.map((x) => x.answered - x.sent).sort((a, b) => a - b), rssMax: rss.length ? Math.max(...rss) : undefined };
    }
    const one = await readStatus(api);
    const w = windowAtEnd(one, from);
    return { windows: w === undefined ? [] : [w], latencies: [one.answered - one.sent], rssMax: one.rssBytes };
  }

  /** Waits until a whole window has passed, then finishes like a load observation. */
  async function measureIdle(): Promise<{ windows: number[] }> {
    if (!api) throw new BenchError('no API');
    const from = performance.now();
    const s = o.samplePeriodMs > 0 ? new StatusSampler(api, o.samplePeriodMs) : undefined;
    sampler = s;
    s?.start();
    const until = from + 2 * LOOP_WINDOW_MS + 500;
    while (performance.now() < until) await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(1, until - performance.now()))));
    return finish(from, s);
  }

  const nodeFlags = [...(o.nodeFlags ?? []), ...(o.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfileDir] : [])];
  return {
    variant: o.variant,
    ...(o.cpuProfileDir ? { cpuProfileDir: o.cpuProfileDir } : {}),

    async start(target: CascadeTarget): Promise<LongChild> {
      const d = await startDaemon({ netns: o.netns, dir: o.dir, nodeFlags, ...(o.cli ? { cli: o.cli } : {}) });
      daemon = d.process;
      certSha256 = d.certSha256;
      port = d.port;
      api = new NetnsApi(o.netns, d.port, d.certSha256);
      await api.ok('SetServerPassword', { PlainTextPassword_str: adminPassword });
      api.password = adminPassword;
      await api.ok('CreateLink', {
        HubName_Ex_str: HUB,
        AccountName_utf: LINK,
        Hostname_str: target.host,
        Port_u32: target.port,
        HubName_str: target.hub,
        AuthType_u32: 1, // password; PlainPassword_str is hashed by the daemon
        Username_str: target.user,
        PlainPassword_str: target.password,
        MaxConnection_u32: o.mode.connections,
        UseEncrypt_bool: o.mode.encrypt,
        // the same rule as `sebridge link` in this benchmark: QoS off only with a single connection
        DisableQoS_bool: o.mode.connections === 1,
      });
      await api.ok('SetLinkOnline', { HubName_str: HUB, AccountName_utf: LINK });
      await api.ok('AddLocalBridge', { DeviceName_str: o.lan, HubNameLB_str: HUB, TapMode_bool: false });
      // The daemon's very first system reading waits ~0.5 s for a CPU-load delta: take it now, not in a measurement.
      await api.ok('GetSystemStatus');
      return daemon;
    },

    async afterConnect(): Promise<Observed | undefined> {
      if (!api) throw new BenchError('afterConnect before start');
      if (o.variant === 'dashboard') {
        browser = await DashboardBrowser.open({
          netns: o.netns, dir: o.dir, port, certFile: join(dataDir, 'web-cert.pem'), certSha256, password: adminPassword, link: LINK,
        });
        o.log(`${o.variant}: dashboard open in Chromium, cascade "${LINK}" shown online`);
      }
      // The idle reference: one whole window of the connected daemon without traffic (with the dashboard open in
      // that variant), read the same way as under load.
      const idle = await measureIdle();
      o.log(`${o.variant}: idle loop p99 ${idle.windows.length ? `${(idle.windows[0]! / 1000).toFixed(1)} ms` : 'not seen (no whole window)'}`);
      return { idleLoopP99Us: idle.windows[0] };
    },

    observeLoad(): () => Promise<Observed> {
      if (!api) throw new BenchError('observeLoad before start');
      const from = performance.now();
      const s = o.samplePeriodMs > 0 ? new StatusSampler(api, o.samplePeriodMs) : undefined;
      sampler = s;
      s?.start();
      const ui = browser?.observe();
      return async () => {
        const m = await finish(from, s);
        const u = ui?.();
        const shown = browser ? await browser.shownLoopP99().catch(() => '') : '';
        const uiLat = u?.latenciesMs ?? [];
        o.log(
          `${o.variant}: loop p99 in ${m.windows.length} whole window(s) under load: ${m.windows.map((w) => (w / 1000).toFixed(1)).join(', ') || '-'} ms (idle reads ~${LOOP_TIMER_MS} ms)` +
            (m.latencies.length > 1 ? `; GetSystemStatus answered in ${m.latencies[m.latencies.length >> 1]!.toFixed(0)}..${m.latencies[m.latencies.length - 1]!.toFixed(0)} ms` : '') +
            (u ? `; dashboard: ${Object.entries(u.calls).map(([k, n]) => `${k} ${n}`).join(', ')} in ${u.seconds.toFixed(0)} s, answered in ${uiLat.length ? `${uiLat[uiLat.length >> 1]!.toFixed(0)}..${uiLat[uiLat.length - 1]!.toFixed(0)}` : '-'} ms, Chromium CPU ${u.cpuPct?.toFixed(0)} %${shown ? `, shows "${shown}"` : ''}` : ''),
        );
        return {
          loopP99Us: m.windows.length ? Math.max(...m.windows) : undefined,
          loopWindows: m.windows.length,
          ...(m.latencies.length > 1 ? { apiLatencyMaxMs: m.latencies[m.latencies.length - 1], apiLatencyMedianMs: m.latencies[m.latencies.length >> 1] } : {}),
          daemonRssMaxBytes: m.rssMax,
          ...(u
            ? {
                browserCpuPct: u.cpuPct,
                dashboardCallsPerSec: u.seconds > 0 ? Object.values(u.calls).reduce((x, y) => x + y, 0) / u.seconds : undefined,
                dashboardLatencyMedianMs: uiLat.length ? uiLat[uiLat.length >> 1] : undefined,
                dashboardLatencyMaxMs: uiLat.length ? uiLat[uiLat.length - 1] : undefined,
              }
            : {}),
        };
      };
    },

    async stop(): Promise<void> {
      const problems: string[] = [];
      await sampler?.stop();
      if (browser) await browser.close().catch((e) => problems.push(`closing Chromium: ${(e as Error).message}`));
      await api?.close().catch((e) => problems.push(`API relay: ${(e as Error).message}`));
      await daemon?.stop(15_000).catch((e) => problems.push(`sebridge run: ${(e as Error).message}`));
      if (problems.length) throw new BenchError(problems.join('; '));
    },
  };
}
