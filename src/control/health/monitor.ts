/**
 * Runs the health checks on a node-cron schedule (seconds field: link checks every 5 s, system checks every
 * 30 s by default), feeds the tracker, and hands every visible change to the optional webhook.
 *
 * Checks never overlap: each group has a busy flag (node-cron's noOverlap as well); a tick that finds its group
 * still running is skipped and counted. Nothing blocks the loop: cascade/bridge snapshots are in-memory reads;
 * system facts and the config directory check are async. Measured on this 2-core VM (src/control/system/):
 * systeminformation currentLoad() first call ~0.5 s of waiting (it needs a delta), later < 1 ms; mem() ~3 ms;
 * statfs < 1 ms; a whole uncached SystemInfo.facts() 3-25 ms of waiting, loop stalls below ~5 ms. Not used
 * because they block the loop with execSync: systeminformation networkInterfaces() (~100 ms stall per call
 * here) and cpuTemperature() (12-27 ms stalls); sysfs readers replace them.
 */
import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import { performance } from 'node:perf_hooks';
import {
  applyFindings, BRIDGE_CODES, CASCADE_CODES, checkBridges, checkCascades, checkClock, checkConfigWritable, checkSystem,
  CLOCK_CODES, ClockMemory, CODE_WRITTEN_AT, CONFIG_CODES, DEFAULT_LINK_CHECK_OPTIONS, LinkCheckMemory, SYSTEM_CODES,
} from './checks.ts';
import type { HealthInputs, LinkCheckOptions } from './checks.ts';
import { HealthTracker } from './tracker.ts';
import type { HealthChange, HealthHistoryEntry, VisibleWarning } from './tracker.ts';
import { ResourceHistory } from './resource-history.ts';
import { HealthWebhook } from './webhook.ts';
import type { WebhookStats } from './webhook.ts';
import { CODES, WARNABLES } from './warnings.ts';

export interface HealthMonitorOptions {
  inputs: HealthInputs;
  /** Default: a tracker with WARNABLES and the same clock. */
  tracker?: HealthTracker;
  /** node-cron expressions with a seconds field. */
  linkSchedule?: string;
  systemSchedule?: string;
  /** Wall clock (ms since the epoch) and monotonic clock (ms), injectable for tests. */
  now?: () => number;
  monotonicNow?: () => number;
  /** The clock is wrong when earlier than this (default: CODE_WRITTEN_AT). */
  notBefore?: number;
  link?: Partial<LinkCheckOptions>;
  webhook?: { url: string | null; timeoutMs?: number; maxQueue?: number; backoffMs?: number; maxBackoffMs?: number };
  /** Points kept of the system readings (one per system round; default 2880: 24 h at 30 s). */
  resourceHistoryPoints?: number;
  /** Where the monitor reports its own trouble (a throwing input, a failed webhook). */
  onError?: (message: string) => void;
}

export interface CheckGroupStats {
  runs: number;
  skippedOverlap: number;
  failures: number;
  lastDurationMs: number | null;
  maxDurationMs: number;
}

export interface HealthMonitorStats {
  running: boolean;
  link: CheckGroupStats;
  system: CheckGroupStats;
  webhook: WebhookStats | null;
}

/** The default system round: how often CPU, memory, disk, temperature and the config directory are checked. */
export const SYSTEM_CHECK_INTERVAL_SEC = 30;

const newGroupStats = (): CheckGroupStats => ({ runs: 0, skippedOverlap: 0, failures: 0, lastDurationMs: null, maxDurationMs: 0 });

export class HealthMonitor {
  readonly tracker: HealthTracker;
  /** Every system round's readings, for the health page's chart. */
  readonly resources: ResourceHistory;
  readonly #inputs: HealthInputs;
  readonly #linkSchedule: string;
  readonly #systemSchedule: string;
  readonly #now: () => number;
  readonly #mono: () => number;
  readonly #notBefore: number;
  readonly #linkOptions: LinkCheckOptions;
  readonly #onError: (message: string) => void;
  readonly #webhookOptions: HealthMonitorOptions['webhook'];
  #webhook: HealthWebhook | null = null;
  readonly #linkMemory = new LinkCheckMemory();
  readonly #clockMemory = new ClockMemory();
  #tasks: ScheduledTask[] = [];
  #stopped = false;
  readonly #ownsTracker: boolean;
  #linkBusy: Promise<void> | null = null;
  #systemBusy: Promise<void> | null = null;
  readonly #stats = { link: newGroupStats(), system: newGroupStats() };

  constructor(o: HealthMonitorOptions) {
    this.#now = o.now ?? Date.now;
    this.#mono = o.monotonicNow ?? (() => performance.now());
    this.tracker = o.tracker ?? new HealthTracker({ warnables: WARNABLES, now: this.#now });
    this.#ownsTracker = !o.tracker;
    this.resources = new ResourceHistory(o.resourceHistoryPoints);
    this.#inputs = o.inputs;
    this.#linkSchedule = o.linkSchedule ?? '*/5 * * * * *';
    this.#systemSchedule = o.systemSchedule ?? `*/${SYSTEM_CHECK_INTERVAL_SEC} * * * * *`;
    for (const [field, expr] of [['linkSchedule', this.#linkSchedule], ['systemSchedule', this.#systemSchedule]] as const) {
      if (!cron.validate(expr)) throw new Error(`health.${field}: not a valid cron expression: ${JSON.stringify(expr)}`);
    }
    this.#notBefore = Math.max(CODE_WRITTEN_AT, o.notBefore ?? 0);
    this.#linkOptions = { ...DEFAULT_LINK_CHECK_OPTIONS, ...o.link };
    this.#onError = o.onError ?? (() => {});
    this.#webhookOptions = o.webhook;
    if (o.webhook) this.#webhook = new HealthWebhook({ ...o.webhook, onError: this.#onError });
    this.tracker.on('change', this.#onChange);
  }

  get running(): boolean {
    return this.#tasks.length > 0;
  }

  /** Starts the schedule. Idempotent while running; a stopped monitor stays stopped (build a new one). */
  start(): void {
    if (this.#stopped) throw new Error('health monitor: stopped, create a new one');
    if (this.#tasks.length > 0) return;
    const opts = { noOverlap: true, logger: this.#cronLogger };
    this.#tasks = [
      cron.createTask(this.#linkSchedule, () => this.runLinkChecks(), { ...opts, name: 'health-link' }),
      cron.createTask(this.#systemSchedule, () => this.runSystemChecks(), { ...opts, name: 'health-system' }),
    ];
    for (const t of this.#tasks) void t.start();
    // One system round now: the health page has its first reading and resource warnings are current from the
    // start, not after the first 30 s tick.
    void this.runSystemChecks();
  }

  /** Stops the schedule and waits for checks in flight. The tracker keeps its state; the webhook is closed. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const tasks = this.#tasks;
    this.#tasks = [];
    await Promise.all(tasks.map((t) => t.destroy()));
    await Promise.all([this.#linkBusy, this.#systemBusy]);
    if (this.#ownsTracker) this.tracker.close(); // a tracker the caller passed in stays theirs to close
    this.tracker.off('change', this.#onChange);
    await this.#webhook?.close();
  }

  /** Change (or set, or with null remove) the webhook URL at runtime. Throws naming the field on a bad URL. */
  setWebhookUrl(url: string | null): void {
    if (!this.#webhook) {
      if (url === null) return;
      this.#webhook = new HealthWebhook({ ...this.#webhookOptions, url, onError: this.#onError });
      return;
    }
    this.#webhook.setUrl(url);
  }

  /** Everything the API shows: visible warnings, all unhealthy pairs, history, and the monitor's own counters. */
  report(): { visible: VisibleWarning[]; unhealthy: ReturnType<HealthTracker['states']>; history: HealthHistoryEntry[]; stats: HealthMonitorStats } {
    return { visible: this.tracker.visible(), unhealthy: this.tracker.states(), history: this.tracker.history(), stats: this.stats() };
  }

  stats(): HealthMonitorStats {
    return {
      running: this.running,
      link: { ...this.#stats.link },
      system: { ...this.#stats.system },
      webhook: this.#webhook?.stats() ?? null,
    };
  }

  /** One round of cascade, bridge and clock checks (what the 5 s schedule runs). */
  runLinkChecks(): Promise<void> {
    if (this.#linkBusy) {
      this.#stats.link.skippedOverlap++;
      return this.#linkBusy;
    }
    this.#linkBusy = this.#timed(this.#stats.link, async () => {
      const now = this.#now();
      const o = this.#linkOptions;
      applyFindings(this.tracker, CASCADE_CODES, checkCascades(this.#inputs.cascades(), this.#linkMemory, now, o));
      applyFindings(this.tracker, BRIDGE_CODES, checkBridges(this.#inputs.bridges(), this.#linkMemory, now, o));
      applyFindings(
        this.tracker,
        CLOCK_CODES,
        checkClock(now, this.#mono(), this.#clockMemory, { notBefore: this.#notBefore, jumpToleranceMs: 30_000, jumpHoldMs: 600_000 }),
      );
      // Time passes between rounds: warnings whose time to visible ran out show now.
      this.tracker.reevaluate();
    }).finally(() => (this.#linkBusy = null));
    return this.#linkBusy;
  }

  /** One round of system-resource and config-directory checks (what the 30 s schedule runs). */
  runSystemChecks(): Promise<void> {
    if (this.#systemBusy) {
      this.#stats.system.skippedOverlap++;
      return this.#systemBusy;
    }
    this.#systemBusy = this.#timed(this.#stats.system, async () => {
      const [facts, writable] = await Promise.allSettled([this.#inputs.system(), this.#inputs.configWritable()]);
      if (facts.status === 'fulfilled') {
        this.resources.push(this.#now(), facts.value);
        const th = this.#inputs.thresholds();
        applyFindings(this.tracker, SYSTEM_CODES, checkSystem(facts.value, th, (code) => this.tracker.isUnhealthy(code, '')));
        this.tracker.setHealthy(CODES.systemFactsUnavailable, '');
      } else {
        // Keep the resource warnings as they are: no new facts is no evidence either way.
        this.tracker.setUnhealthy(CODES.systemFactsUnavailable, '', { error: errorText(facts.reason) });
      }
      const w = writable.status === 'fulfilled' ? writable.value : new Error(errorText(writable.reason));
      applyFindings(this.tracker, CONFIG_CODES, checkConfigWritable(w));
    }).finally(() => (this.#systemBusy = null));
    return this.#systemBusy;
  }

  async #timed(s: CheckGroupStats, fn: () => Promise<void>): Promise<void> {
    const t0 = performance.now();
    s.runs++;
    try {
      await fn();
    } catch (e) {
      // One failing input must not stop the schedule; say it and go on.
      s.failures++;
      this.#onError(`health check failed: ${errorText(e)}`);
    } finally {
      const d = performance.now() - t0;
      s.lastDurationMs = Math.round(d * 10) / 10;
      s.maxDurationMs = Math.max(s.maxDurationMs, s.lastDurationMs);
    }
  }

  #onChange = (c: HealthChange): void => {
    this.#webhook?.enqueue(c);
  };

  #cronLogger = {
    info: () => {},
    debug: () => {},
    warn: (m: string) => this.#onError(`health schedule: ${m}`),
    error: (m: string | Error) => this.#onError(`health schedule: ${m instanceof Error ? m.message : m}`),
  };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
