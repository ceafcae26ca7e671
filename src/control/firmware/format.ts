import * as v from 'valibot';
import { FirmwareError } from './errors.ts';

/**
 * The firmware file (docs/firmware.md):
 *   "SEBRIDGE-FW1\n" (13 bytes) · uint32 BE N · N bytes of header JSON · 64-byte Ed25519 signature over all of
 *   the above · rootfsSize bytes of squashfs.
 */
export const MAGIC = Buffer.from('SEBRIDGE-FW1\n', 'latin1');
export const LENGTH_BYTES = 4;
export const SIGNATURE_BYTES = 64;
/** The header is a few hundred bytes; anything near this is not a sebridge header (and is never buffered). */
export const MAX_HEADER_BYTES = 16 * 1024;
/** No slot is this big; a larger claim is refused before anything is written. */
export const MAX_ROOTFS_BYTES = 4 * 1024 ** 3;

export type FirmwareArch = 'x86_64' | 'aarch64';

/** `MAJOR.MINOR.PATCH` with an optional `-prerelease` (dot-separated identifiers), like package.json's version. */
const VERSION = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

const HeaderSchema = v.object({
  version: v.pipe(v.string('must be a string'), v.maxLength(64, 'must be at most 64 characters'), v.regex(VERSION, 'must be MAJOR.MINOR.PATCH[-prerelease]')),
  arch: v.picklist(['x86_64', 'aarch64'], 'must be "x86_64" or "aarch64"'),
  kernel: v.pipe(v.string('must be a string'), v.regex(/^[0-9A-Za-z._+~-]{1,128}$/, 'must be a kernel release like "6.1.0-28-amd64"')),
  rootfsSize: v.pipe(
    v.number('must be a number'),
    v.integer('must be a whole number'),
    v.minValue(1, 'must be at least 1'),
    v.maxValue(MAX_ROOTFS_BYTES, `must be at most ${MAX_ROOTFS_BYTES}`),
  ),
  rootfsSha256: v.pipe(v.string('must be a string'), v.regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits')),
  created: v.pipe(v.string('must be a string'), v.maxLength(64, 'must be at most 64 characters'), v.check((s) => !Number.isNaN(Date.parse(s)), 'must be a date (ISO 8601)')),
});

/** The validated header. Unknown fields are ignored (a newer assembler may add some; they are signed all the same). */
export type FirmwareHeader = v.InferOutput<typeof HeaderSchema>;

/** Header bytes → the validated header, or FirmwareError('header') naming the field. */
export function parseHeader(bytes: Uint8Array): FirmwareHeader {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new FirmwareError('header', `the header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new FirmwareError('header', 'the header must be a JSON object');
  const r = v.safeParse(HeaderSchema, json, { abortEarly: true });
  if (!r.success) {
    const issue = r.issues[0];
    const field = issue.path?.map((p) => String(p.key)).join('.') ?? '';
    const got = issue.input === undefined ? 'it is missing' : `got ${JSON.stringify(issue.input)?.slice(0, 80)}`;
    throw new FirmwareError('header', `header field ${field || '?'} ${issue.message} (${got})`);
  }
  return r.output;
}

/** Node's process.arch → the architecture names of firmware files (uname -m). */
export function firmwareArch(nodeArch: string = process.arch): FirmwareArch | null {
  return nodeArch === 'x64' ? 'x86_64' : nodeArch === 'arm64' ? 'aarch64' : null;
}

export function isVersion(s: string): boolean {
  return VERSION.test(s);
}

/**
 * Semantic-version order: numeric MAJOR.MINOR.PATCH, then a release above any of its prereleases, prereleases
 * compared identifier by identifier (numeric ones as numbers and below alphanumeric ones). < 0, 0 or > 0.
 */
export function compareVersions(a: string, b: string): number {
  const ma = VERSION.exec(a);
  const mb = VERSION.exec(b);
  if (!ma || !mb) throw new Error(`not a version: ${ma ? b : a}`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(ma[i]) - Number(mb[i]);
    if (d !== 0) return Math.sign(d);
  }
  const pa = ma[4];
  const pb = mb[4];
  if (pa === undefined || pb === undefined) return pa === pb ? 0 : pa === undefined ? 1 : -1;
  const xa = pa.split('.');
  const xb = pb.split('.');
  for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
    if (xa[i] === undefined) return -1;
    if (xb[i] === undefined) return 1;
    const na = /^\d+$/.test(xa[i]!);
    const nb = /^\d+$/.test(xb[i]!);
    if (na && nb) {
      const d = Number(xa[i]) - Number(xb[i]);
      if (d !== 0) return Math.sign(d);
    } else if (na !== nb) {
      return na ? -1 : 1;
    } else if (xa[i] !== xb[i]) {
      return xa[i]! < xb[i]! ? -1 : 1;
    }
  }
  return 0;
}
