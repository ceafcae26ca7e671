import { isIP } from 'node:net';

/**
 * The "shape" of a JSON-RPC result: every key path mapped to a type token, so two implementations can be compared
 * on what a client can rely on (which keys exist and what kind of value they hold) without comparing values that
 * legitimately differ (times, counters, host names).
 *
 * Paths: top-level keys as they are (`AccountName_utf`, `policy:MaxMac_u32`, `Recv.BroadcastBytes_u64` — dots and
 * colons are part of SoftEther's key names); an array under key K is `K` → `array` and its items' keys are
 * `K[].name`. Items are merged: the item shape is the union of all items' keys, and a key whose items disagree on
 * the type gets the tokens joined with `|` (sorted). An empty array contributes only `K` → `array`.
 *
 * Type tokens check the value against its key's SoftEther type suffix, so a wrong encoding shows up as a type
 * mismatch (e.g. a `_dt` sent as a number):
 *   `_u32`  → `u32` when an integer 0..2^32-1, `_u64` → `u64` when a non-negative safe integer,
 *   `_dt`   → `datetime` when ISO 8601 with milliseconds and Z (`2026-12-03T07:49:16.765Z`),
 *   `_bin`  → `base64` when canonical base64, `_ip` → `ip` when an IPv4/IPv6 literal,
 *   `_str`/`_utf` → `string`, `_bool` → `boolean`;
 * anything that does not fit its suffix, or a key without a known suffix, gets the plain JSON type
 * (`string`, `number`, `boolean`, `null`, `object`, `array`).
 */
export type Shape = Record<string, string>;

const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Nesting deeper than this is cut off (as `object`): SoftEther results are at most one array deep. */
const MAX_DEPTH = 4;

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** The type token of one value under its key (see the module comment). */
export function typeToken(key: string, value: unknown): string {
  const suffix = /_([a-z0-9]+)$/.exec(key)?.[1];
  switch (suffix) {
    case 'u32':
      if (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffffffff) return 'u32';
      break;
    case 'u64':
      if (Number.isSafeInteger(value) && (value as number) >= 0) return 'u64';
      break;
    case 'bool':
      if (typeof value === 'boolean') return 'boolean';
      break;
    case 'str':
    case 'utf':
      if (typeof value === 'string') return 'string';
      break;
    case 'dt':
      if (typeof value === 'string' && DATETIME_RE.test(value) && !Number.isNaN(Date.parse(value))) return 'datetime';
      break;
    case 'bin':
      if (typeof value === 'string' && BASE64_RE.test(value)) return 'base64';
      break;
    case 'ip':
      if (typeof value === 'string' && isIP(value) !== 0) return 'ip';
      break;
  }
  return jsonType(value);
}

function addToken(shape: Shape, path: string, token: string): void {
  const had = shape[path];
  if (had === undefined) {
    shape[path] = token;
    return;
  }
  if (had.split('|').includes(token)) return;
  shape[path] = [...had.split('|'), token].sort().join('|');
}

function walk(shape: Shape, prefix: string, obj: Record<string, unknown>, depth: number): void {
  for (const [key, value] of Object.entries(obj)) {
    const path = prefix + key;
    const token = typeToken(key, value);
    addToken(shape, path, token);
    if (depth >= MAX_DEPTH) continue;
    if (Array.isArray(value)) {
      for (const item of value) {
        if (item !== null && typeof item === 'object' && !Array.isArray(item)) walk(shape, `${path}[].`, item as Record<string, unknown>, depth + 1);
        else addToken(shape, `${path}[]`, typeToken(key, item));
      }
    } else if (token === 'object') {
      walk(shape, `${path}.`, value as Record<string, unknown>, depth + 1);
    }
  }
}

/** The shape of a result object. Keys come out sorted, so a shape serialises the same way every time. */
export function shapeOf(result: Record<string, unknown>): Shape {
  const shape: Shape = {};
  walk(shape, '', result, 0);
  return Object.fromEntries(Object.entries(shape).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export interface ShapeDiff {
  /** in expected, not in actual */
  missing: Array<{ path: string; type: string }>;
  /** in actual, not in expected */
  extra: Array<{ path: string; type: string }>;
  mismatched: Array<{ path: string; expected: string; actual: string }>;
}

export interface CompareOptions {
  /** Require a recorded union (`a|b`, from items that differed) to be matched exactly, not by one member. */
  strictUnions?: boolean;
}

/** Compares two shapes. An actual type that is one member of an expected union (`a|b`) counts as a match. */
export function compareShapes(expected: Shape, actual: Shape, opts: CompareOptions = {}): ShapeDiff {
  const diff: ShapeDiff = { missing: [], extra: [], mismatched: [] };
  for (const [path, type] of Object.entries(expected)) {
    const got = actual[path];
    if (got === undefined) {
      diff.missing.push({ path, type });
      continue;
    }
    if (got === type) continue;
    const allowed = type.split('|');
    const fits = !opts.strictUnions && got.split('|').every((t) => allowed.includes(t));
    if (!fits) diff.mismatched.push({ path, expected: type, actual: got });
  }
  for (const [path, type] of Object.entries(actual)) {
    if (expected[path] === undefined) diff.extra.push({ path, type });
  }
  return diff;
}

export function isSameShape(diff: ShapeDiff): boolean {
  return diff.missing.length === 0 && diff.extra.length === 0 && diff.mismatched.length === 0;
}

/** A readable, bounded report of a diff ("" when the shapes match). */
export function formatShapeDiff(diff: ShapeDiff, maxLines = 40): string {
  const lines: string[] = [];
  for (const m of diff.missing) lines.push(`  missing   ${m.path}: ${m.type}`);
  for (const e of diff.extra) lines.push(`  extra     ${e.path}: ${e.type}`);
  for (const m of diff.mismatched) lines.push(`  type      ${m.path}: expected ${m.expected}, got ${m.actual}`);
  if (lines.length === 0) return '';
  const head = `${diff.missing.length} missing, ${diff.extra.length} extra, ${diff.mismatched.length} type mismatch(es)`;
  const shown = lines.slice(0, maxLines);
  if (lines.length > maxLines) shown.push(`  … ${lines.length - maxLines} more`);
  return [head, ...shown].join('\n');
}
