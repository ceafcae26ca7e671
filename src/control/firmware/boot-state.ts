import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import { fsyncDir, writeFileAtomic } from '../atomic-write.ts';
import { readIfExists } from '../read-if-exists.ts';

/**
 * The boot-slot state of docs/firmware.md: what the initrd tells the booted system (`/run/sebridge-boot.env`) and
 * the state files on the data partition (`/data/boot/active`, `/data/boot/try`, and the daemon's own record of
 * what it wrote into each slot, `/data/boot/slot-a.json` / `slot-b.json`).
 */

export type Slot = 'a' | 'b';

// A /dev/... path on the appliance; any absolute path without "..", so tests can use temp files as "devices".
const DEV = v.pipe(v.string(), v.regex(/^\/[0-9A-Za-z._+:/-]{1,250}$/, 'must be an absolute path like /dev/vda3'), v.check((s) => !s.split('/').includes('..'), 'must not contain ".."'));
const BootEnvSchema = v.object({
  SLOT: v.picklist(['a', 'b'], 'must be a or b'),
  ACTIVE: v.picklist(['a', 'b'], 'must be a or b'),
  TRIAL: v.picklist(['0', '1'], 'must be 0 or 1'),
  SLOT_DEV: DEV,
  OTHER_DEV: DEV,
  DATA_DEV: DEV,
});

export interface BootEnv {
  /** The slot this system booted from. */
  slot: Slot;
  /** The confirmed-good slot at boot time (before this boot's confirmation). */
  active: Slot;
  /** Booted from `try`: not confirmed yet. */
  trial: boolean;
  slotDev: string;
  otherDev: string;
  dataDev: string;
}

export const otherSlot = (s: Slot): Slot => (s === 'a' ? 'b' : 'a');


/**
 * Reads the initrd's KEY=VALUE file (shell syntax: optional quotes, comments, blank lines). null when the file does
 * not exist (not a slot-booted system); a file that is there but malformed is an error naming the key.
 */
export async function readBootEnv(path: string): Promise<BootEnv | null> {
  const text = await readIfExists(path);
  if (text === null) return null;
  if (text.length > 4096) throw new Error(`${path}: larger than 4096 bytes`);
  const kv: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Z_][A-Z0-9_]*)=(?:"([^"]*)"|'([^']*)'|(\S*))$/.exec(line);
    if (!m) throw new Error(`${path}: not KEY=VALUE: ${JSON.stringify(line.slice(0, 80))}`);
    kv[m[1]!] = m[2] ?? m[3] ?? m[4] ?? '';
  }
  const r = v.safeParse(BootEnvSchema, kv, { abortEarly: true });
  if (!r.success) {
    const issue = r.issues[0];
    const key = issue.path?.map((p) => String(p.key)).join('.') ?? '?';
    throw new Error(`${path}: ${key} ${issue.input === undefined ? 'is missing' : `${issue.message} (got ${JSON.stringify(issue.input)})`}`);
  }
  const e = r.output;
  return { slot: e.SLOT, active: e.ACTIVE, trial: e.TRIAL === '1', slotDev: e.SLOT_DEV, otherDev: e.OTHER_DEV, dataDev: e.DATA_DEV };
}

/** `active` / `try`: one line, `a` or `b`. A missing file is null; anything else in it is an error. */
export async function readSlotFile(path: string): Promise<Slot | null> {
  const text = await readIfExists(path);
  if (text === null) return null;
  const s = text.trim();
  if (s !== 'a' && s !== 'b') throw new Error(`${path}: must hold "a" or "b", holds ${JSON.stringify(s.slice(0, 20))}`);
  return s;
}

/** Atomic (temp, fsync, rename, fsync dir): a power cut leaves the old or the new content. */
export async function writeSlotFile(path: string, slot: Slot): Promise<void> {
  await writeFileAtomic(path, `${slot}\n`, 0o644);
}

/** Removes the file durably (unlink, fsync dir); a file that is not there is fine. */
export async function removeDurably(path: string, dir: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  await fsyncDir(dir);
}

/** What the daemon wrote into a slot and verified (informational: the initrd never reads it). */
export interface SlotRecord {
  version: string;
  arch: string;
  kernel: string;
  rootfsSize: number;
  rootfsSha256: string;
  created: string;
  signedBy: string;
  writtenAt: string;
}

const SlotRecordSchema = v.object({
  version: v.string(),
  arch: v.string(),
  kernel: v.string(),
  rootfsSize: v.number(),
  rootfsSha256: v.string(),
  created: v.string(),
  signedBy: v.string(),
  writtenAt: v.string(),
});

export const slotRecordPath = (dir: string, slot: Slot) => join(dir, `slot-${slot}.json`);

/** The record, or null when there is none or it is unreadable (the slot's contents are then unknown). */
export async function readSlotRecord(dir: string, slot: Slot): Promise<SlotRecord | null> {
  try {
    const fh = await open(slotRecordPath(dir, slot), 'r');
    try {
      const { size } = await fh.stat();
      if (size > 4096) return null;
      const r = v.safeParse(SlotRecordSchema, JSON.parse(await fh.readFile('utf8')));
      return r.success ? r.output : null;
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
}

export async function writeSlotRecord(dir: string, slot: Slot, rec: SlotRecord): Promise<void> {
  await writeFileAtomic(slotRecordPath(dir, slot), `${JSON.stringify(rec, null, 2)}\n`, 0o644);
}
