/**
 * One poller for live values, in the manner of LuCI's: a single 1 s ticker; each task declares how often
 * (in seconds) it wants to run; a task never overlaps itself (the next run is scheduled only after the
 * previous one finished); nothing is fetched while the tab is hidden. Local per-second updates (countdowns,
 * uptimes) hang off the same ticker via onTick, without any request.
 * DOM-free by design (timers and visibility are injected) so it is unit-tested under Node.
 */
export interface PollerEnv {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  isHidden(): boolean;
}

interface Task {
  every: number;
  run: () => Promise<void>;
  nextTick: number;
  inflight: boolean;
}

export class Poller {
  private readonly env: PollerEnv;
  private tasks = new Set<Task>();
  private tickers = new Set<() => void>();
  private handle: unknown = null;
  private tick = 0;
  /** Errors from tasks go here (a task should handle its own; this is the safety net). */
  onError: (err: unknown) => void = () => {};

  constructor(env: PollerEnv) {
    this.env = env;
  }

  /** Run `fn` now and then every `everySeconds` (measured from the end of the previous run). */
  add(everySeconds: number, fn: () => Promise<void>): () => void {
    const task: Task = { every: Math.max(1, Math.round(everySeconds)), run: fn, nextTick: this.tick, inflight: false };
    this.tasks.add(task);
    this.runIfDue(task);
    return () => this.tasks.delete(task);
  }

  /** Call `fn` on every tick while the tab is visible (for local re-rendering only). */
  onTick(fn: () => void): () => void {
    this.tickers.add(fn);
    return () => this.tickers.delete(fn);
  }

  start(): void {
    if (this.handle !== null) return;
    this.handle = this.env.setInterval(() => this.step(), 1000);
  }

  /** Remove every task and ticker (on page change); the ticker itself keeps running. */
  clear(): void {
    this.tasks.clear();
    this.tickers.clear();
  }

  stop(): void {
    this.clear();
    if (this.handle !== null) this.env.clearInterval(this.handle);
    this.handle = null;
  }

  /** Make every idle task due now (after the tab becomes visible again, or after a user action). */
  refresh(): void {
    for (const t of this.tasks) t.nextTick = Math.min(t.nextTick, this.tick);
    if (!this.env.isHidden()) for (const t of this.tasks) this.runIfDue(t);
  }

  get runningTasks(): number {
    let n = 0;
    for (const t of this.tasks) if (t.inflight) n++;
    return n;
  }

  private step(): void {
    this.tick += 1;
    if (this.env.isHidden()) return;
    for (const fn of this.tickers) {
      try {
        fn();
      } catch (err) {
        this.onError(err);
      }
    }
    for (const t of this.tasks) this.runIfDue(t);
  }

  private runIfDue(task: Task): void {
    if (task.inflight || this.tick < task.nextTick || this.env.isHidden()) return;
    task.inflight = true;
    let p: Promise<void>;
    try {
      p = task.run();
    } catch (err) {
      p = Promise.reject(err);
    }
    p.catch((err: unknown) => this.onError(err)).finally(() => {
      task.inflight = false;
      task.nextTick = this.tick + task.every;
    });
  }
}
