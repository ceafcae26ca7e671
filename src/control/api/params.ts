import { invalid } from './errors.ts';

/**
 * Reads one JSON-RPC `params` object by SoftEther's suffix convention with hard limits; every refusal names the
 * field. Absent fields give the default (SoftEther treats a missing element as zero / empty).
 */
export class Params {
  readonly #p: Record<string, unknown>;

  constructor(params: unknown) {
    if (params === undefined || params === null) this.#p = {};
    else if (typeof params === 'object' && !Array.isArray(params)) this.#p = params as Record<string, unknown>;
    else throw invalid('params', 'must be a JSON object');
  }

  has(field: string): boolean {
    return this.#p[field] !== undefined && this.#p[field] !== null;
  }

  /** `_str` / `_utf` */
  str(field: string, opts: { max?: number; required?: boolean; def?: string } = {}): string {
    const v = this.#p[field];
    if (v === undefined || v === null) {
      if (opts.required) throw invalid(field, 'is required');
      return opts.def ?? '';
    }
    if (typeof v !== 'string') throw invalid(field, `must be a string (got ${typeof v})`);
    const max = opts.max ?? 255;
    if (v.length > max) throw invalid(field, `is longer than ${max} characters`);
    if (/[\u0000-\u001f\u007f]/.test(v) && !field.startsWith('Config') && !field.startsWith('CustomHttpHeader')) {
      throw invalid(field, 'must not contain control characters');
    }
    if (opts.required && v.trim() === '') throw invalid(field, 'must not be empty');
    return v;
  }

  /** `_u32` / `_u64` */
  num(field: string, opts: { min?: number; max?: number; def?: number; required?: boolean } = {}): number {
    const v = this.#p[field];
    if (v === undefined || v === null) {
      if (opts.required) throw invalid(field, 'is required');
      return opts.def ?? 0;
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(field, `must be a whole number (got ${JSON.stringify(v)})`);
    const min = opts.min ?? 0;
    const max = opts.max ?? 0xffffffff;
    if (v < min || v > max) throw invalid(field, `must be from ${min} to ${max} (got ${v})`);
    return v;
  }

  /** `_bool` (SoftEther also accepts 0/1) */
  bool(field: string, def = false): boolean {
    const v = this.#p[field];
    if (v === undefined || v === null) return def;
    if (typeof v === 'boolean') return v;
    if (v === 0 || v === 1) return v === 1;
    throw invalid(field, 'must be true or false');
  }

  /** `_bin`: base64 */
  bin(field: string, opts: { max?: number } = {}): Buffer {
    const v = this.#p[field];
    if (v === undefined || v === null || v === '') return Buffer.alloc(0);
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) throw invalid(field, 'must be base64');
    const b = Buffer.from(v, 'base64');
    const max = opts.max ?? 65536;
    if (b.length > max) throw invalid(field, `is larger than ${max} bytes`);
    return b;
  }
}
