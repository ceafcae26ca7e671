/**
 * Unpacking the single executable's assets (see scripts/pkg.ts): the C addon and the browser UI travel inside the
 * executable and are written at start to a private directory on the runtime RAM disk, each file checked against
 * the SHA-256 the build recorded, before the addon is loaded with process.dlopen. Nothing here ever writes to the
 * data directory (flash), and nothing needs a writable root file system.
 *
 * Kept free of `node:sea` so the tests can run it under plain Node with assets from memory.
 */
import { createHash } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { constants as fsConstants } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readFile, rm, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** One embedded file: the SEA asset key, where it goes below the target directory, and what it must hash to. */
export interface AssetEntry {
  key: string;
  path: string;
  size: number;
  sha256: string;
}

/** The build's record of what it embedded (asset `manifest.json`). */
export interface SeaManifest {
  /** package.json's version at build time. */
  version: string;
  /** Node's `process.arch` of the executable. */
  arch: string;
  /** The Node version the executable runs. */
  node: string;
  addon: AssetEntry;
  web: AssetEntry[];
}

export type GetAsset = (key: string) => ArrayBuffer;

export const MANIFEST_KEY = 'manifest.json';
/** Far above the real UI (≈ 120 KiB in 4 files) and addon (≈ 100 KiB); a manifest beyond it is not ours. */
const MAX_WEB_FILES = 500;
const MAX_FILE_BYTES = 64 * 1024 * 1024;
/** A relative path of plain segments: no "..", no "." segment, no absolute path, no backslash or control. */
const SAFE_PATH = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

export class SeaError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SeaError';
  }
}

function entry(value: unknown, field: string): AssetEntry {
  const e = value as Partial<AssetEntry> | null;
  if (typeof e !== 'object' || e === null) throw new SeaError(`manifest ${field}: expected an object`);
  if (typeof e.key !== 'string' || e.key === '') throw new SeaError(`manifest ${field}.key: expected a non-empty string`);
  if (typeof e.path !== 'string' || !SAFE_PATH.test(e.path)) {
    throw new SeaError(`manifest ${field}.path: expected a relative path of plain segments, got ${JSON.stringify(e.path)}`);
  }
  if (!Number.isSafeInteger(e.size) || (e.size as number) < 0 || (e.size as number) > MAX_FILE_BYTES) {
    throw new SeaError(`manifest ${field}.size: expected 0..${MAX_FILE_BYTES}, got ${JSON.stringify(e.size)}`);
  }
  if (typeof e.sha256 !== 'string' || !SHA256_HEX.test(e.sha256)) {
    throw new SeaError(`manifest ${field}.sha256: expected 64 lowercase hex digits`);
  }
  return { key: e.key, path: e.path, size: e.size as number, sha256: e.sha256 };
}

/** Read and check the manifest text; every refusal names the field. */
export function parseManifest(text: string): SeaManifest {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new SeaError(`manifest: not JSON (${(e as Error).message})`);
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new SeaError('manifest: expected an object');
  for (const f of ['version', 'arch', 'node'] as const) {
    if (typeof m[f] !== 'string' || m[f] === '') throw new SeaError(`manifest ${f}: expected a non-empty string`);
  }
  if (!Array.isArray(m.web)) throw new SeaError('manifest web: expected an array');
  if (m.web.length > MAX_WEB_FILES) throw new SeaError(`manifest web: more than ${MAX_WEB_FILES} files`);
  const web = m.web.map((w, i) => entry(w, `web[${i}]`));
  const seen = new Set<string>();
  for (const [i, w] of web.entries()) {
    if (seen.has(w.path)) throw new SeaError(`manifest web[${i}].path: ${w.path} appears twice`);
    seen.add(w.path);
  }
  return { version: m.version as string, arch: m.arch as string, node: m.node as string, addon: entry(m.addon, 'addon'), web };
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Create (0700) or check the runtime directory: a real directory (no symlink), ours, writable by nobody else —
 * otherwise another user could swap the addon between our check and dlopen. Returns a warning when it is not on
 * a RAM disk (the appliance's /run is; a developer's /tmp may not be), and never refuses for that alone.
 */
export async function prepareRuntimeDir(dir: string): Promise<{ warning: string | null }> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new SeaError(`runtime directory ${dir}: cannot create it (${(e as Error).message})`, { cause: e });
  }
  const st = await lstat(dir);
  if (!st.isDirectory()) throw new SeaError(`runtime directory ${dir}: not a directory (a symlink is refused)`);
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid) throw new SeaError(`runtime directory ${dir}: owned by uid ${st.uid}, not by this process (uid ${uid})`);
  if ((st.mode & 0o022) !== 0) throw new SeaError(`runtime directory ${dir}: writable by group or others (mode ${(st.mode & 0o777).toString(8)})`);
  const fs = await statfs(dir);
  const ram = fs.type === TMPFS_MAGIC || fs.type === RAMFS_MAGIC;
  return { warning: ram ? null : `runtime directory ${dir} is not on a tmpfs/ramfs (file system type 0x${fs.type.toString(16)}): the unpacked files go to disk` };
}

/** The asset's bytes, checked against the manifest before anything is written. */
function checkedAsset(getAsset: GetAsset, e: AssetEntry): Uint8Array {
  let data: Uint8Array;
  try {
    data = new Uint8Array(getAsset(e.key));
  } catch (err) {
    throw new SeaError(`asset ${e.key}: not in the executable (${(err as Error).message})`, { cause: err });
  }
  if (data.length !== e.size) throw new SeaError(`asset ${e.key}: ${data.length} bytes, the build recorded ${e.size}`);
  const got = sha256Hex(data);
  if (got !== e.sha256) throw new SeaError(`asset ${e.key}: SHA-256 ${got}, the build recorded ${e.sha256}`);
  return data;
}

/**
 * Write one asset below `dir` as a new file (never through an existing file or symlink: O_EXCL | O_NOFOLLOW), read
 * it back and compare the hash again: a full RAM disk or anything else that changed the bytes is caught here, not
 * as a crash inside dlopen.
 */
export async function writeVerified(dir: string, e: AssetEntry, getAsset: GetAsset, mode = 0o600): Promise<string> {
  const data = checkedAsset(getAsset, e);
  const target = join(dir, e.path);
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  const fh = await open(target, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, mode).catch((err: NodeJS.ErrnoException) => {
    throw new SeaError(`cannot create ${target}: ${err.message}`, { cause: err });
  });
  try {
    await fh.writeFile(data);
  } catch (err) {
    await fh.close();
    await rm(target, { force: true });
    throw new SeaError(`cannot write ${target}: ${(err as Error).message}`, { cause: err });
  }
  await fh.close();
  const back = await readFile(target);
  const got = sha256Hex(back);
  if (back.length !== e.size || got !== e.sha256) {
    await rm(target, { force: true });
    throw new SeaError(`${target}: read back ${back.length} bytes with SHA-256 ${got}, expected ${e.size} bytes with ${e.sha256}`);
  }
  return target;
}

/**
 * The addon: written to a fresh private directory below `runtimeDir`, verified, loaded with process.dlopen, then
 * removed again (the mapping stays; nothing is left behind for anyone to tamper with or to clean up).
 */
export async function loadAddonFromAsset<T = unknown>(runtimeDir: string, manifest: SeaManifest, getAsset: GetAsset): Promise<T> {
  const dir = await mkdtemp(join(runtimeDir, 'native-'));
  try {
    const file = await writeVerified(dir, manifest.addon, getAsset, 0o500);
    const mod = { exports: {} as T };
    try {
      process.dlopen(mod, file, osConstants.dlopen.RTLD_NOW);
    } catch (err) {
      throw new SeaError(`loading the native addon (${manifest.arch}) failed: ${(err as Error).message}`, { cause: err });
    }
    return mod.exports;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The browser UI: written to `runtimeDir/web` (replacing what an earlier start left), every file verified.
 * Returns the directory the web server reads once at start.
 */
export async function unpackWeb(runtimeDir: string, manifest: SeaManifest, getAsset: GetAsset): Promise<string> {
  const dir = join(runtimeDir, 'web');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o700 });
  for (const e of manifest.web) await writeVerified(dir, e, getAsset);
  return dir;
}
