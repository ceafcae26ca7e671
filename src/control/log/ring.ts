/**
 * The in-memory log the UI reads: the last N entries (default 2000), each bounded in size, queryable by level,
 * text, object and sequence number (for "give me what is new since seq X" polling).
 */
export const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type LevelName = keyof typeof LEVELS;

export interface LogEntry {
  /** Increasing per process; a client polls with `since`. */
  seq: number;
  /** ms since the epoch. */
  time: number;
  level: number;
  levelName: string;
  msg: string;
  /** The `object` binding of the logger that wrote it (e.g. 'cascade/hq'), if any. */
  object: string | null;
  /** The other fields (already redacted); absent when the line was too big and was cut. */
  fields: Record<string, unknown>;
  truncated?: true;
}

export interface LogQuery {
  /** Level name or number; entries below are left out. */
  minLevel?: LevelName | number;
  /** Case-insensitive substring of the message or of the fields' JSON. */
  text?: string;
  /** Exact object name. */
  object?: string;
  /** Only entries with seq > since. */
  since?: number;
  /** At most this many, the newest ones (default 200). */
  max?: number;
}

export function levelName(n: number): string {
  for (const [name, v] of Object.entries(LEVELS)) if (v === n) return name;
  return String(n);
}

export function parseLevel(l: LevelName | number | string, field = 'level'): number {
  if (typeof l === 'number' && Number.isInteger(l) && l >= 0 && l <= 100) return l;
  if (typeof l === 'string' && l in LEVELS) return LEVELS[l as LevelName];
  throw new Error(`${field}: one of ${Object.keys(LEVELS).join(', ')}`);
}

/** Lower-cased searchable text per entry, built on the first text query that needs it (entries never change). */
const searchText = new WeakMap<LogEntry, string>();
function searchable(e: LogEntry): string {
  let s = searchText.get(e);
  if (s === undefined) {
    s = `${e.msg}\u0000${JSON.stringify(e.fields)}`.toLowerCase();
    searchText.set(e, s);
  }
  return s;
}

export class LogRing {
  readonly capacity: number;
  #buf: LogEntry[] = [];
  #start = 0;
  #seq = 0;

  constructor(capacity = 2000) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1_000_000) throw new Error('log.ringSize: an integer 1..1000000');
    this.capacity = capacity;
  }

  get size(): number {
    return this.#buf.length;
  }

  get lastSeq(): number {
    return this.#seq;
  }

  push(e: Omit<LogEntry, 'seq'>): LogEntry {
    const entry = { ...e, seq: ++this.#seq } as LogEntry;
    if (this.#buf.length < this.capacity) this.#buf.push(entry);
    else {
      this.#buf[this.#start] = entry;
      this.#start = (this.#start + 1) % this.capacity;
    }
    return entry;
  }

  /** Matching entries, oldest first; when more match than `max`, the newest `max`. Throws on a bad filter. */
  query(q: LogQuery = {}): LogEntry[] {
    const min = q.minLevel === undefined ? 0 : parseLevel(q.minLevel, 'minLevel');
    const max = q.max ?? 200;
    if (!Number.isInteger(max) || max < 1) throw new Error('max: an integer >= 1');
    if (q.since !== undefined && !(Number.isInteger(q.since) && q.since >= 0)) throw new Error('since: an integer >= 0');
    if (q.text !== undefined && (typeof q.text !== 'string' || q.text.length > 200)) throw new Error('text: a string of at most 200 characters');
    const text = q.text?.toLowerCase();
    const out: LogEntry[] = [];
    // Newest first so `max` stops the walk early; reversed at the end.
    for (let k = this.#buf.length - 1; k >= 0 && out.length < max; k--) {
      const e = this.#buf[(this.#start + k) % this.#buf.length];
      if (q.since !== undefined && e.seq <= q.since) break;
      if (e.level < min) continue;
      if (q.object !== undefined && e.object !== q.object) continue;
      if (text && !searchable(e).includes(text)) continue;
      out.push(e);
    }
    return out.reverse();
  }
}
