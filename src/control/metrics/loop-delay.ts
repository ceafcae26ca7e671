/**
 * Event-loop delay of this process (perf_hooks.monitorEventLoopDelay): everything — frames and control — runs on
 * one loop, so its delay is the best single number for "is the appliance keeping up". The histogram is read and
 * reset once per window (default 10 s, like the traffic samples); read() gives the last complete window, or the
 * running one before the first window has ended.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { ELDHistogram } from 'node:perf_hooks';

export interface LoopDelay {
  /** Microseconds. */
  p50Us: number;
  p99Us: number;
  maxUs: number;
  meanUs: number;
  /** Number of delay samples in the window. */
  samples: number;
  windowMs: number;
}

export class LoopDelayMonitor {
  readonly #resolutionMs: number;
  readonly #windowMs: number;
  #h: ELDHistogram | null = null;
  #timer: NodeJS.Timeout | null = null;
  #last: LoopDelay | null = null;
  #windowStart = 0;

  constructor(o: { resolutionMs?: number; windowMs?: number } = {}) {
    this.#resolutionMs = o.resolutionMs ?? 20;
    this.#windowMs = o.windowMs ?? 10_000;
    if (!Number.isInteger(this.#resolutionMs) || this.#resolutionMs < 1) throw new Error('loopDelay.resolutionMs: integer >= 1');
    if (!Number.isInteger(this.#windowMs) || this.#windowMs < 100) throw new Error('loopDelay.windowMs: integer >= 100');
  }

  start(): void {
    if (this.#h) return;
    this.#h = monitorEventLoopDelay({ resolution: this.#resolutionMs });
    this.#h.enable();
    this.#windowStart = performance.now();
    this.#timer = setInterval(() => {
      this.#last = this.#current();
      this.#h!.reset();
      this.#windowStart = performance.now();
    }, this.#windowMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#h?.disable();
    this.#h = null;
  }

  read(): LoopDelay | null {
    return this.#last ?? (this.#h ? this.#current() : null);
  }

  #current(): LoopDelay {
    const h = this.#h!;
    const us = (ns: number): number => (Number.isFinite(ns) ? Math.round(ns / 1000) : 0);
    return {
      p50Us: us(h.percentile(50)),
      p99Us: us(h.percentile(99)),
      maxUs: us(h.count > 0 ? h.max : 0),
      meanUs: us(h.count > 0 ? h.mean : 0),
      samples: h.count,
      windowMs: Math.round(performance.now() - this.#windowStart),
    };
  }
}
