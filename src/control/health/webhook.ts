/**
 * Posts every visible health change as JSON to a configured URL. One request at a time, in order, each with a
 * timeout; a bounded queue that drops the oldest change when full (counted). A failed delivery stays at the
 * head of the queue and is tried again after an exponential back-off (5 s doubling up to 5 min by default), so a
 * dead receiver costs one request per back-off period, never a storm. The URL can change at runtime; the queue is
 * kept and goes to the new URL.
 */
import type { HealthChange } from './tracker.ts';

export interface WebhookOptions {
  url: string | null;
  /** Per-request timeout (default 5000 ms). */
  timeoutMs?: number;
  /** Changes kept while the receiver is slow or down (default 100). */
  maxQueue?: number;
  /** First back-off after a failure, doubled per consecutive failure (default 5000 ms). */
  backoffMs?: number;
  /** Largest back-off (default 300000 ms). */
  maxBackoffMs?: number;
  /** Called on each failed delivery (the message has no secret: the URL's credentials/query are not in it). */
  onError?: (message: string) => void;
}

export interface WebhookStats {
  url: string | null;
  queued: number;
  sent: number;
  failed: number;
  dropped: number;
  lastError: string | null;
  nextAttemptAt: string | null;
}

/** Throws an Error naming the field when the URL is not an http(s) URL. */
export function parseWebhookUrl(url: string | null): URL | null {
  if (url === null || url === '') return null;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('webhook.url: not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('webhook.url: must start with http:// or https://');
  return u;
}

/** The URL as it may appear in logs and read APIs: no user info, no query (tokens often live there). */
export function describeUrl(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname}`;
}

export class HealthWebhook {
  #url: URL | null;
  readonly #timeoutMs: number;
  readonly #maxQueue: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #onError: (message: string) => void;
  #queue: HealthChange[] = [];
  #sending: Promise<void> | null = null;
  #abort: AbortController | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #nextAttemptAt: number | null = null;
  #failures = 0;
  #sent = 0;
  #failed = 0;
  #dropped = 0;
  #lastError: string | null = null;
  #closed = false;

  constructor(o: WebhookOptions) {
    this.#url = parseWebhookUrl(o.url);
    this.#timeoutMs = positive(o.timeoutMs ?? 5000, 'webhook.timeoutMs');
    this.#maxQueue = positive(o.maxQueue ?? 100, 'webhook.maxQueue');
    this.#backoffMs = positive(o.backoffMs ?? 5000, 'webhook.backoffMs');
    this.#maxBackoffMs = positive(o.maxBackoffMs ?? 300_000, 'webhook.maxBackoffMs');
    this.#onError = o.onError ?? (() => {});
  }

  /** Change the target (null: off, the queue is cleared). Validates before changing anything. */
  setUrl(url: string | null): void {
    const u = parseWebhookUrl(url);
    this.#url = u;
    if (!u) {
      this.#queue = [];
      this.#clearRetry();
      return;
    }
    // A new receiver deserves a fresh start rather than the old one's back-off.
    this.#failures = 0;
    this.#clearRetry();
    this.#pump();
  }

  enqueue(change: HealthChange): void {
    if (this.#closed || !this.#url) return;
    if (this.#queue.length >= this.#maxQueue) {
      // Drop the oldest: the newest states matter most. Never the head while it is being sent.
      const victim = this.#sending ? 1 : 0;
      if (victim < this.#queue.length) this.#queue.splice(victim, 1);
      else return void this.#dropped++;
      this.#dropped++;
    }
    this.#queue.push(change);
    this.#pump();
  }

  stats(): WebhookStats {
    return {
      url: this.#url ? describeUrl(this.#url) : null,
      queued: this.#queue.length,
      sent: this.#sent,
      failed: this.#failed,
      dropped: this.#dropped,
      lastError: this.#lastError,
      nextAttemptAt: this.#nextAttemptAt === null ? null : new Date(this.#nextAttemptAt).toISOString(),
    };
  }

  /** Abort the request in flight, forget the queue and the timer. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#clearRetry();
    this.#abort?.abort(new Error('closed'));
    await this.#sending;
    this.#queue = [];
  }

  #clearRetry(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#nextAttemptAt = null;
  }

  #pump(): void {
    if (this.#closed || this.#sending || this.#retryTimer || !this.#url || this.#queue.length === 0) return;
    this.#sending = this.#sendHead().finally(() => {
      this.#sending = null;
      this.#pump();
    });
  }

  async #sendHead(): Promise<void> {
    const url = this.#url!;
    const change = this.#queue[0];
    const abort = new AbortController();
    this.#abort = abort;
    const timer = setTimeout(() => abort.abort(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(change),
        signal: abort.signal,
        redirect: 'error',
      });
      // The body is not needed; consume it so the connection can be reused and nothing is buffered.
      await res.body?.cancel();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      if (this.#queue[0] === change) this.#queue.shift();
      this.#sent++;
      this.#failures = 0;
    } catch (e) {
      if (this.#closed) return;
      this.#failed++;
      this.#failures++;
      const reason = abort.signal.aborted ? (abort.signal.reason as Error).message : errorText(e);
      this.#lastError = reason;
      this.#onError(`health webhook ${describeUrl(url)}: ${reason}`);
      const delay = Math.min(this.#maxBackoffMs, this.#backoffMs * 2 ** Math.min(this.#failures - 1, 30));
      this.#nextAttemptAt = Date.now() + delay;
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = null;
        this.#nextAttemptAt = null;
        this.#pump();
      }, delay);
      this.#retryTimer.unref();
    } finally {
      clearTimeout(timer);
      this.#abort = null;
    }
  }
}

function positive(n: number, field: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${field}: must be a positive number`);
  return n;
}

function errorText(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}
