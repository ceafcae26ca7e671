import type { NetnsApi } from './netns-api.ts';

/**
 * The daemon's own event-loop delay, read from its admin API while a load runs (a process cannot sample another
 * process's event loop from outside). GetSystemStatus.EventLoopDelayP99Us_u32 is the p99 of one completed window
 * of perf_hooks.monitorEventLoopDelay (src/control/metrics/loop-delay.ts): a 20 ms timer, histogram reset every
 * 10 s. Two consequences for reading it:
 *  - the histogram records the whole interval between timer runs, so an idle loop reads ~20 000 us: the delay
 *    proper is the excess over LOOP_TIMER_MS;
 *  - a value describes the last complete 10 s window, so only windows that began and ended inside the load count:
 *    either one reading at the end of a load of over 20 s (windowAtEnd: nothing calls the daemon during the load),
 *    or readings every second during it (windowsInside: also gives the API's answer times under load).
 */
export const LOOP_WINDOW_MS = 10_000;
export const LOOP_TIMER_MS = 20;

export interface StatusSample {
  /** performance.now() when the request was sent and when the answer came */
  sent: number;
  answered: number;
  p99Us: number;
  rssBytes: number;
}

/** GetSystemStatus every `periodMs`, one request at a time (a slow answer delays the next, never piles up). */
export class StatusSampler {
  readonly samples: StatusSample[] = [];
  readonly errors: string[] = [];
  readonly #api: NetnsApi;
  readonly #periodMs: number;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #stopped = false;

  constructor(api: NetnsApi, periodMs: number) {
    this.#api = api;
    this.#periodMs = periodMs;
  }

  start(): void {
    this.#tick();
  }

  #tick(): void {
    if (this.#stopped) return;
    const sent = performance.now();
    this.#inFlight = readStatus(this.#api).then(
      (sample) => {
        this.samples.push(sample);
      },
      (e: Error) => {
        if (this.errors.length < 10) this.errors.push(e.message.split('\n', 1)[0]!);
      },
    );
    void this.#inFlight.then(() => {
      if (!this.#stopped) this.#timer = setTimeout(() => this.#tick(), Math.max(0, this.#periodMs - (performance.now() - sent)));
    });
  }

  async stop(): Promise<StatusSample[]> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#inFlight;
    return this.samples;
  }
}

/**
 * One reading taken at the end of a load (no control-plane call during it): the last complete window ended less
 * than one window before the request was sent, so it began less than two windows before; it lies wholly inside
 * the load when the load began at least 2 * LOOP_WINDOW_MS before the request. Undefined otherwise.
 */
export function windowAtEnd(sample: StatusSample, from: number): number | undefined {
  return sample.sent - 2 * LOOP_WINDOW_MS >= from ? sample.p99Us : undefined;
}

/** One GetSystemStatus reading (throws with the daemon's error). */
export async function readStatus(api: NetnsApi): Promise<StatusSample> {
  const sent = performance.now();
  const r = await api.ok('GetSystemStatus');
  const p99Us = Number(r['EventLoopDelayP99Us_u32']);
  const rssBytes = Number(r['ProcessRss_u64']);
  if (!Number.isFinite(p99Us) || !Number.isFinite(rssBytes)) throw new Error(`GetSystemStatus without EventLoopDelayP99Us_u32/ProcessRss_u64: ${JSON.stringify(r).slice(0, 200)}`);
  return { sent, answered: performance.now(), p99Us, rssBytes };
}

/**
 * The p99 values of the daemon's windows that lie wholly inside [from, to] (performance.now() times). A window
 * shows up as a change of value between two samples: it ended after the earlier request was sent and before the
 * later answer came, so it began no earlier than LOOP_WINDOW_MS before that request.
 */
export function windowsInside(samples: readonly StatusSample[], from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const prev = samples[i - 1]!;
    const cur = samples[i]!;
    if (cur.p99Us === prev.p99Us) continue;
    if (prev.sent - LOOP_WINDOW_MS >= from && cur.answered <= to) out.push(cur.p99Us);
  }
  return out;
}
