/**
 * The health tracker (after Tailscale's health.Tracker): records which (code, target) pairs are unhealthy and
 * since when, derives the warnings that are visible right now, and emits 'change' only when the visible set
 * really changes (appears, disappears, or its text changes). Checks feed it with setUnhealthy/setHealthy.
 *
 * Visible = unhealthy for at least the warnable's timeToVisibleMs, and no code it depends on is unhealthy for the
 * same target or globally (target ''). Visibility is time-dependent: the tracker re-evaluates on every set and,
 * when `autoTimer` is on (the default), also with one unref'd timer at the next pending deadline; with an
 * injected clock call reevaluate() after advancing it.
 */
import { EventEmitter } from 'node:events';
import { validateWarnables } from './warnable.ts';
import type { Severity, Warnable, WarningArgs } from './warnable.ts';

export interface VisibleWarning {
  code: string;
  target: string;
  title: string;
  severity: Severity;
  impactsConnectivity: boolean;
  text: string;
  /** ISO time the pair became unhealthy. */
  brokenSince: string;
  args: WarningArgs;
}

/** What 'change' carries (and what the webhook posts). healthy=true: the warning is no longer visible. */
export interface HealthChange {
  code: string;
  target: string;
  title: string;
  severity: Severity;
  impactsConnectivity: boolean;
  healthy: boolean;
  text: string;
  /** ISO time of the change. */
  time: string;
}

/** One raw state change (not only visible ones): for the UI's history list. */
export interface HealthHistoryEntry {
  time: string;
  code: string;
  target: string;
  healthy: boolean;
  text: string;
}

export interface HealthTrackerOptions {
  warnables: readonly Warnable[];
  /** Clock in ms since the epoch (default Date.now). */
  now?: () => number;
  /** History entries kept (default 500). */
  historyLimit?: number;
  /** Re-evaluate by itself when a pending warning's time to visible has passed (default true). */
  autoTimer?: boolean;
}

interface Broken {
  since: number;
  args: WarningArgs;
}

const key = (code: string, target: string): string => `${code}\u0000${target}`;

export class HealthTracker extends EventEmitter {
  readonly #warnables: Map<string, Warnable>;
  readonly #now: () => number;
  readonly #historyLimit: number;
  readonly #autoTimer: boolean;
  /** code -> target -> state */
  readonly #broken = new Map<string, Map<string, Broken>>();
  /** key -> text of what was last announced as visible */
  #visible = new Map<string, VisibleWarning>();
  #history: HealthHistoryEntry[] = [];
  #historyStart = 0; // ring: oldest entry's index once full
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #batchDepth = 0;

  constructor(o: HealthTrackerOptions) {
    super();
    this.#warnables = validateWarnables(o.warnables);
    this.#now = o.now ?? Date.now;
    const limit = o.historyLimit ?? 500;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new Error('historyLimit must be an integer 1..100000');
    this.#historyLimit = limit;
    this.#autoTimer = o.autoTimer ?? true;
  }

  warnable(code: string): Warnable {
    const w = this.#warnables.get(code);
    if (!w) throw new Error(`unknown health code ${JSON.stringify(code)}`);
    return w;
  }

  setUnhealthy(code: string, target: string, args: WarningArgs = {}): void {
    const w = this.warnable(code);
    let targets = this.#broken.get(code);
    if (!targets) this.#broken.set(code, (targets = new Map()));
    const prev = targets.get(target);
    if (prev) {
      if (sameArgs(prev.args, args)) return;
      prev.args = { ...args };
    } else {
      targets.set(target, { since: this.#now(), args: { ...args } });
      this.#record(code, target, false, w.text(target, args));
    }
    this.reevaluate();
  }

  setHealthy(code: string, target: string): void {
    const w = this.warnable(code);
    const targets = this.#broken.get(code);
    const prev = targets?.get(target);
    if (!targets || !prev) return;
    targets.delete(target);
    if (targets.size === 0) this.#broken.delete(code);
    this.#record(code, target, true, w.text(target, prev.args));
    this.reevaluate();
  }

  isUnhealthy(code: string, target: string): boolean {
    return this.#broken.get(code)?.has(target) ?? false;
  }

  /** ms since the epoch the pair became unhealthy, or null when it is healthy. */
  brokenSince(code: string, target: string): number | null {
    return this.#broken.get(code)?.get(target)?.since ?? null;
  }

  /** Targets currently unhealthy for a code (visible or not). */
  unhealthyTargets(code: string): string[] {
    return [...(this.#broken.get(code)?.keys() ?? [])];
  }

  /** Every unhealthy pair, visible or not (still within its time to visible, or hidden by a broken parent). */
  states(): Array<{ code: string; target: string; brokenSince: string; visible: boolean; args: WarningArgs }> {
    const out = [];
    for (const [code, targets] of this.#broken) {
      for (const [target, b] of targets) {
        out.push({ code, target, brokenSince: new Date(b.since).toISOString(), visible: this.#visible.has(key(code, target)), args: b.args });
      }
    }
    return out;
  }

  override on(event: 'change', listener: (change: HealthChange) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  /** The warnings the UI shows now, most severe first, then oldest first. */
  visible(): VisibleWarning[] {
    const rank: Record<Severity, number> = { high: 0, medium: 1, low: 2 };
    return [...this.#visible.values()].sort(
      (a, b) => rank[a.severity] - rank[b.severity] || a.brokenSince.localeCompare(b.brokenSince) || a.code.localeCompare(b.code),
    );
  }

  /** Raw state changes, oldest first (bounded). */
  history(): HealthHistoryEntry[] {
    return [...this.#history.slice(this.#historyStart), ...this.#history.slice(0, this.#historyStart)];
  }

  /** Run several sets and evaluate visibility once at the end (no transient states from the order of sets). */
  batch(fn: () => void): void {
    this.#batchDepth++;
    try {
      fn();
    } finally {
      this.#batchDepth--;
    }
    if (this.#batchDepth === 0) this.reevaluate();
  }

  /** Recompute the visible set against the clock; emits 'change' for each difference. */
  reevaluate(): void {
    if (this.#batchDepth > 0) return;
    const now = this.#now();
    const next = new Map<string, VisibleWarning>();
    let nextDeadline = Infinity;
    for (const [code, targets] of this.#broken) {
      const w = this.#warnables.get(code)!;
      const ttv = w.timeToVisibleMs ?? 0;
      for (const [target, b] of targets) {
        if (this.#hidden(w, target)) continue;
        if (now - b.since < ttv) {
          nextDeadline = Math.min(nextDeadline, b.since + ttv);
          continue;
        }
        next.set(key(code, target), {
          code,
          target,
          title: w.title,
          severity: w.severity,
          impactsConnectivity: w.impactsConnectivity ?? false,
          text: w.text(target, b.args),
          brokenSince: new Date(b.since).toISOString(),
          args: b.args,
        });
      }
    }
    const prev = this.#visible;
    this.#visible = next;
    const time = new Date(now).toISOString();
    for (const [k, v] of prev) {
      if (!next.has(k)) this.#emitChange(v, true, time);
    }
    for (const [k, v] of next) {
      const old = prev.get(k);
      if (!old || old.text !== v.text) this.#emitChange(v, false, time);
    }
    this.#arm(nextDeadline, now);
  }

  /** Stop the visibility timer; the tracker keeps answering queries. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #hidden(w: Warnable, target: string): boolean {
    for (const parent of w.dependsOn ?? []) {
      const t = this.#broken.get(parent);
      if (t && (t.has(target) || t.has(''))) return true;
    }
    return false;
  }

  #emitChange(v: VisibleWarning, healthy: boolean, time: string): void {
    const change: HealthChange = {
      code: v.code,
      target: v.target,
      title: v.title,
      severity: v.severity,
      impactsConnectivity: v.impactsConnectivity,
      healthy,
      text: v.text,
      time,
    };
    this.emit('change', change);
  }

  #record(code: string, target: string, healthy: boolean, text: string): void {
    const e: HealthHistoryEntry = { time: new Date(this.#now()).toISOString(), code, target, healthy, text };
    if (this.#history.length < this.#historyLimit) {
      this.#history.push(e);
    } else {
      this.#history[this.#historyStart] = e;
      this.#historyStart = (this.#historyStart + 1) % this.#historyLimit;
    }
  }

  #arm(deadline: number, now: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (!this.#autoTimer || this.#closed || deadline === Infinity) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.reevaluate();
    }, Math.max(0, deadline - now) + 1);
    this.#timer.unref();
  }
}

function sameArgs(a: WarningArgs, b: WarningArgs): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}
