import os from 'node:os';
import { join } from 'node:path';
import { ChunkReader } from './chunk-reader.ts';
import { FirmwareError, NO_SLOTS_TEXT, type FirmwareErrorReason } from './errors.ts';
import {
  compareVersions, firmwareArch, isVersion, LENGTH_BYTES, MAGIC, MAX_HEADER_BYTES, MAX_ROOTFS_BYTES, parseHeader, SIGNATURE_BYTES,
  type FirmwareHeader,
} from './format.ts';
import { findSigner, loadTrustedKeys } from './keys.ts';
import {
  otherSlot, readBootEnv, readSlotFile, readSlotRecord, removeDurably, slotRecordPath, writeSlotFile, writeSlotRecord,
  type BootEnv, type Slot, type SlotRecord,
} from './boot-state.ts';
import { deviceCapacity, writeRootfs } from './slot-writer.ts';

/** The paths of docs/firmware.md on the appliance. */
export const FIRMWARE_DEFAULTS = {
  bootEnvPath: '/run/sebridge-boot.env',
  bootDir: '/data/boot',
  keysDir: '/etc/sebridge/firmware-keys',
  rebootDelayMs: 1500,
} as const;

export interface FirmwareOptions {
  /** The running sebridge version (what an upload must be newer than or equal to, unless forced). */
  version: string;
  bootEnvPath?: string;
  /** Holds `active`, `try` and the slot records. */
  bootDir?: string;
  keysDir?: string;
  /** This machine's architecture as firmware files name it (default: from process.arch). */
  arch?: string | null;
  /** The running kernel release (default: os.release(), i.e. `uname -r`). */
  kernel?: string;
  /** Restarts the machine (the appliance: busybox `reboot`, whose SIGTERM stops the daemon cleanly). */
  reboot: () => Promise<void>;
  /** Time between ApplyFirmware's answer and the reboot, so the answer reaches the browser. */
  rebootDelayMs?: number;
  deviceCapacity?: (device: string) => Promise<number>;
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  now?: () => number;
  batchBytes?: number;
  syncEveryBytes?: number;
}

export type UploadPhase = 'idle' | 'checking' | 'writing' | 'ready' | 'failed' | 'applying';

export interface UploadProgress {
  phase: UploadPhase;
  /** Bytes received from the client so far (the whole file, header included). */
  received: number;
  /** The size of the whole upload when the client said it (Content-Length), else null. */
  total: number | null;
  /** Rootfs bytes on their way to the slot. */
  written: number;
  targetSlot: Slot | null;
  header: FirmwareHeader | null;
  /** Fingerprint of the key whose signature verified. */
  signedBy: string | null;
  downgrade: boolean;
  startedAt: number | null;
  finishedAt: number | null;
  reason: FirmwareErrorReason | null;
  error: string | null;
}

export interface UploadResult {
  version: string;
  arch: string;
  kernel: string;
  created: string;
  rootfsSize: number;
  rootfsSha256: string;
  slot: Slot;
  signedBy: string;
  downgrade: boolean;
}

export interface FirmwareInfo {
  version: string;
  arch: string | null;
  kernel: string;
  /** False on a machine that was not booted from slots; `noSlotsReason` says why. */
  hasSlots: boolean;
  noSlotsReason: string | null;
  slot: Slot | null;
  slotDev: string | null;
  /** The confirmed-good slot now (`/data/boot/active`, missing = a). */
  activeSlot: Slot | null;
  /** This boot was a trial of a new firmware. */
  trial: boolean;
  /** ...and the daemon has confirmed it (written `active`). */
  trialConfirmed: boolean;
  /** `/data/boot/try`: the slot the next boot tries (an applied upgrade waiting for its reboot). */
  pendingSlot: Slot | null;
  otherSlot: Slot | null;
  otherDev: string | null;
  /** What the daemon last wrote and verified into each slot (null: unknown, e.g. the slot written by the image build). */
  current: SlotRecord | null;
  other: SlotRecord | null;
  keys: Array<{ name: string; fingerprint: string }>;
  keyProblems: string[];
  upload: UploadProgress;
}

const idle = (): UploadProgress => ({
  phase: 'idle', received: 0, total: null, written: 0, targetSlot: null, header: null, signedBy: null, downgrade: false,
  startedAt: null, finishedAt: null, reason: null, error: null,
});

/**
 * Firmware upgrades (docs/firmware.md): verify a firmware file while it streams in, write its rootfs into the slot
 * that is not running, and on ApplyFirmware point the next boot at it (`try`) and reboot; after a trial boot,
 * confirm it (`active`). One upload at a time; nothing the initrd reads is touched until the new slot holds exactly
 * the signed bytes, so a refusal, an abort or a power cut at any moment before `try` leaves the system as it was.
 */
export class FirmwareManager {
  readonly #o: FirmwareOptions;
  readonly #bootEnvPath: string;
  readonly #bootDir: string;
  readonly #keysDir: string;
  readonly #arch: string | null;
  readonly #kernel: string;
  readonly #now: () => number;
  #progress: UploadProgress = idle();
  #busy = false;
  #ready: UploadResult | null = null;
  #trialConfirmed = false;
  #rebootTimer: NodeJS.Timeout | null = null;

  constructor(o: FirmwareOptions) {
    this.#o = o;
    this.#bootEnvPath = o.bootEnvPath ?? FIRMWARE_DEFAULTS.bootEnvPath;
    this.#bootDir = o.bootDir ?? FIRMWARE_DEFAULTS.bootDir;
    this.#keysDir = o.keysDir ?? FIRMWARE_DEFAULTS.keysDir;
    this.#arch = o.arch === undefined ? firmwareArch() : o.arch;
    this.#kernel = o.kernel ?? os.release();
    this.#now = o.now ?? Date.now;
  }

  get #activePath() {
    return join(this.#bootDir, 'active');
  }

  get #tryPath() {
    return join(this.#bootDir, 'try');
  }

  #log(level: 'info' | 'warn' | 'error', msg: string): void {
    this.#o.log?.(level, msg);
  }

  /** The upload's state (polled by the UI while the file streams in). A copy. */
  progress(): UploadProgress {
    return { ...this.#progress, header: this.#progress.header ? { ...this.#progress.header } : null };
  }

  /** The boot facts, or a FirmwareError 'no-slots' (a malformed file is reported as such, with what is wrong). */
  async #bootEnv(): Promise<BootEnv> {
    let env: BootEnv | null;
    try {
      env = await readBootEnv(this.#bootEnvPath);
    } catch (e) {
      throw new FirmwareError('no-slots', `the boot slot information is unusable: ${(e as Error).message}`);
    }
    if (!env) throw new FirmwareError('no-slots', NO_SLOTS_TEXT);
    if (env.slotDev === env.otherDev) throw new FirmwareError('no-slots', `${this.#bootEnvPath} names ${env.slotDev} as both the running and the other slot`);
    return env;
  }

  /** The slot that is running must be the confirmed one, or writing the other slot would destroy the fallback. */
  async #requireConfirmed(env: BootEnv): Promise<void> {
    const active = await this.#readSlotFileOr(this.#activePath, 'a');
    if (active !== env.slot) {
      throw new FirmwareError('not-confirmed', `this system runs slot ${env.slot}${env.trial ? ' on trial' : ''} but the confirmed slot is ${active}; writing slot ${otherSlot(env.slot)} would destroy the fallback (restart the daemon so it confirms this boot, or reboot into ${active})`);
    }
  }

  async #readSlotFileOr(path: string, def: Slot | null): Promise<Slot | null> {
    try {
      return (await readSlotFile(path)) ?? def;
    } catch (e) {
      throw new FirmwareError('io', (e as Error).message);
    }
  }

  async info(): Promise<FirmwareInfo> {
    const ring = await loadTrustedKeys(this.#keysDir);
    const base = {
      version: this.#o.version,
      arch: this.#arch,
      kernel: this.#kernel,
      keys: ring.keys.map((k) => ({ name: k.name, fingerprint: k.fingerprint })),
      keyProblems: ring.problems,
      upload: this.progress(),
      trialConfirmed: this.#trialConfirmed,
    };
    let env: BootEnv;
    try {
      env = await this.#bootEnv();
    } catch (e) {
      return {
        ...base, hasSlots: false, noSlotsReason: (e as Error).message.replace(/^no-slots: /, ''), slot: null, slotDev: null,
        activeSlot: null, trial: false, pendingSlot: null, otherSlot: null, otherDev: null, current: null, other: null,
      };
    }
    const other = otherSlot(env.slot);
    const [activeSlot, pendingSlot, current, otherRec] = await Promise.all([
      readSlotFile(this.#activePath).then((s) => s ?? 'a', () => null),
      readSlotFile(this.#tryPath).catch(() => null),
      readSlotRecord(this.#bootDir, env.slot),
      readSlotRecord(this.#bootDir, other),
    ]);
    return {
      ...base, hasSlots: true, noSlotsReason: null, slot: env.slot, slotDev: env.slotDev, activeSlot, trial: env.trial,
      pendingSlot, otherSlot: other, otherDev: env.otherDev, current, other: otherRec,
    };
  }

  /**
   * The largest firmware file that could fit the other slot (its size plus the largest header), for refusing an
   * oversized upload before its body is read. Without slots (or an unreadable size): the format's own limit.
   */
  async maxUploadBytes(): Promise<number> {
    const overhead = MAGIC.length + LENGTH_BYTES + MAX_HEADER_BYTES + SIGNATURE_BYTES;
    try {
      const env = await this.#bootEnv();
      const capacity = await (this.#o.deviceCapacity ?? deviceCapacity)(env.otherDev);
      return Math.min(capacity, MAX_ROOTFS_BYTES) + overhead;
    } catch {
      return MAX_ROOTFS_BYTES + overhead;
    }
  }

  /**
   * Receive one firmware file from `source` and write it into the inactive slot. Everything about the file is
   * checked before its first rootfs byte is written; the rootfs is hashed on its way to the device and compared
   * at the end. `length`: the whole upload's size if the client announced it (checked against the header).
   * Resolves when the slot holds the verified rootfs (phase 'ready'); ApplyFirmware then makes it boot.
   * The caller owns `source` (this never closes it).
   */
  async upload(source: AsyncIterable<Uint8Array>, opts: { force?: boolean; length?: number | null } = {}): Promise<UploadResult> {
    if (this.#busy) throw new FirmwareError('busy', 'another firmware upload is in progress; one at a time');
    if (this.#progress.phase === 'applying') throw new FirmwareError('busy', 'an upgrade is being applied and the system is about to reboot');
    this.#busy = true;
    this.#ready = null;
    this.#progress = { ...idle(), phase: 'checking', total: opts.length ?? null, startedAt: this.#now() };
    const reader = new ChunkReader(source);
    try {
      const result = await this.#receive(reader, opts.force === true, opts.length ?? null);
      this.#ready = result;
      this.#progress = { ...this.#progress, phase: 'ready', received: reader.received, finishedAt: this.#now() };
      this.#log('info', `firmware ${result.version} written to slot ${result.slot} and verified (SHA-256 ${result.rootfsSha256}, signed by ${result.signedBy.slice(0, 16)}…); apply to boot it`);
      return result;
    } catch (e) {
      const err = e instanceof FirmwareError ? e : new FirmwareError('io', (e as Error).message, { cause: e });
      this.#progress = { ...this.#progress, phase: 'failed', received: reader.received, finishedAt: this.#now(), reason: err.reason, error: err.message };
      this.#log('warn', `firmware upload refused: ${err.message}`);
      throw err;
    } finally {
      this.#busy = false;
    }
  }

  async #receive(reader: ChunkReader, force: boolean, length: number | null): Promise<UploadResult> {
    const env = await this.#bootEnv();
    await this.#requireConfirmed(env);
    const target = otherSlot(env.slot);
    this.#progress.targetSlot = target;
    const track = () => void (this.#progress.received = reader.received);

    const magic = await exact(reader, MAGIC.length);
    track();
    if (!magic.equals(MAGIC)) throw new FirmwareError('magic', 'the file does not start with "SEBRIDGE-FW1": not a sebridge firmware file');
    const lenBytes = await exact(reader, LENGTH_BYTES);
    if (lenBytes.length < LENGTH_BYTES) throw new FirmwareError('truncated', 'the file ends inside its header length');
    const n = lenBytes.readUInt32BE(0);
    if (n > MAX_HEADER_BYTES) throw new FirmwareError('header-size', `the header is ${n} bytes; at most ${MAX_HEADER_BYTES} are allowed`);
    if (n === 0) throw new FirmwareError('header', 'the header is empty');
    const headerBytes = await exact(reader, n);
    if (headerBytes.length < n) throw new FirmwareError('truncated', `the file ends inside its ${n}-byte header`);
    const signature = await exact(reader, SIGNATURE_BYTES);
    if (signature.length < SIGNATURE_BYTES) throw new FirmwareError('truncated', 'the file ends inside its signature');
    track();

    // The signature first: nothing an unsigned file claims is believed, not even its field values.
    const ring = await loadTrustedKeys(this.#keysDir);
    if (ring.keys.length === 0) {
      throw new FirmwareError('signature', `no trusted signing key in ${this.#keysDir}${ring.problems.length ? ` (${ring.problems.join('; ')})` : ''}: nothing can be verified`);
    }
    const signed = Buffer.concat([magic, lenBytes, headerBytes]);
    const signer = await findSigner(ring.keys, signed, signature);
    if (!signer) {
      throw new FirmwareError('signature', `the signature does not verify with any trusted key (${ring.keys.map((k) => `${k.name} ${k.fingerprint.slice(0, 16)}…`).join(', ')}): signed by another key, or the file was changed`);
    }
    const header = parseHeader(headerBytes);
    this.#progress.header = header;
    this.#progress.signedBy = signer.fingerprint;

    if (header.arch !== this.#arch) throw new FirmwareError('arch', `the file is for ${header.arch}, this machine is ${this.#arch ?? process.arch}`);
    if (header.kernel !== this.#kernel) {
      throw new FirmwareError('kernel', `the file was built for kernel ${header.kernel}, this system runs ${this.#kernel} (the slot's kernel modules must match the kernel, which an upgrade does not replace)`);
    }
    if (!isVersion(this.#o.version) && !force) {
      throw new FirmwareError('version', `the running version ${JSON.stringify(this.#o.version)} is not MAJOR.MINOR.PATCH, so ${header.version} cannot be compared with it; install it with force`);
    }
    const order = isVersion(this.#o.version) ? compareVersions(header.version, this.#o.version) : 0;
    if (order < 0 && !force) {
      throw new FirmwareError('version', `the file holds ${header.version}, older than the running ${this.#o.version}; a downgrade must be asked for explicitly (force)`);
    }
    this.#progress.downgrade = order < 0;
    const fileSize = MAGIC.length + LENGTH_BYTES + n + SIGNATURE_BYTES + header.rootfsSize;
    if (length !== null && length !== fileSize) {
      throw new FirmwareError('size', `the upload is ${length} bytes but the header describes a ${fileSize}-byte file (rootfs ${header.rootfsSize} bytes)`);
    }
    let capacity: number;
    try {
      capacity = await (this.#o.deviceCapacity ?? deviceCapacity)(env.otherDev);
    } catch (e) {
      throw new FirmwareError('io', `cannot find the size of slot ${target} (${env.otherDev}): ${(e as Error).message}`, { cause: e });
    }
    if (header.rootfsSize > capacity) {
      throw new FirmwareError('size', `the rootfs is ${header.rootfsSize} bytes, slot ${target} (${env.otherDev}) holds ${capacity}`);
    }

    // Point of no return for the slot's old contents: first make sure nothing will boot it or vouch for it.
    try {
      await removeDurably(this.#tryPath, this.#bootDir);
      await removeDurably(slotRecordPath(this.#bootDir, target), this.#bootDir);
    } catch (e) {
      throw new FirmwareError('io', `cannot clear the boot state in ${this.#bootDir}: ${(e as Error).message}`, { cause: e });
    }
    this.#progress.phase = 'writing';
    this.#log('info', `firmware ${header.version} (${header.created}, signed by ${signer.name}) verified; writing ${header.rootfsSize} bytes into slot ${target} (${env.otherDev})`);
    await writeRootfs(reader, {
      device: env.otherDev,
      size: header.rootfsSize,
      expectedSha256: header.rootfsSha256,
      onProgress: (w) => {
        this.#progress.written = w;
        track();
      },
      batchBytes: this.#o.batchBytes,
      syncEveryBytes: this.#o.syncEveryBytes,
    });
    track();
    const result: UploadResult = {
      version: header.version, arch: header.arch, kernel: header.kernel, created: header.created, rootfsSize: header.rootfsSize,
      rootfsSha256: header.rootfsSha256, slot: target, signedBy: signer.fingerprint, downgrade: order < 0,
    };
    try {
      await writeSlotRecord(this.#bootDir, target, {
        version: header.version, arch: header.arch, kernel: header.kernel, rootfsSize: header.rootfsSize, rootfsSha256: header.rootfsSha256,
        created: header.created, signedBy: signer.fingerprint, writtenAt: new Date(this.#now()).toISOString(),
      });
    } catch (e) {
      throw new FirmwareError('io', `the slot is written but its record could not be stored: ${(e as Error).message}`, { cause: e });
    }
    return result;
  }

  /**
   * Make the verified upload boot: `try` = its slot (atomically), then reboot after a short delay. `version`, if
   * given, must be the verified upload's (so a confirmation never applies a file other than the one shown).
   */
  async apply(opts: { version?: string } = {}): Promise<UploadResult> {
    if (this.#busy) throw new FirmwareError('busy', 'a firmware upload is in progress');
    const ready = this.#ready;
    if (!ready || this.#progress.phase !== 'ready') {
      throw new FirmwareError('not-ready', this.#progress.phase === 'applying' ? 'the upgrade is already applied; the system is rebooting' : 'no verified firmware upload to apply: upload a firmware file first');
    }
    if (opts.version !== undefined && opts.version !== ready.version) {
      throw new FirmwareError('not-ready', `the verified upload is ${ready.version}, not ${opts.version}`);
    }
    const env = await this.#bootEnv();
    await this.#requireConfirmed(env);
    if (otherSlot(env.slot) !== ready.slot) throw new FirmwareError('not-ready', `the upload was written to slot ${ready.slot}, which is now the running one`);
    const rec = await readSlotRecord(this.#bootDir, ready.slot);
    if (!rec || rec.rootfsSha256 !== ready.rootfsSha256) throw new FirmwareError('not-ready', `the record of slot ${ready.slot} no longer matches the verified upload; upload it again`);
    try {
      await writeSlotFile(this.#tryPath, ready.slot);
    } catch (e) {
      throw new FirmwareError('io', `cannot write ${this.#tryPath}: ${(e as Error).message}`, { cause: e });
    }
    this.#progress = { ...this.#progress, phase: 'applying' };
    const delay = this.#o.rebootDelayMs ?? FIRMWARE_DEFAULTS.rebootDelayMs;
    this.#log('warn', `firmware ${ready.version} applied: the next boot tries slot ${ready.slot}; rebooting in ${delay} ms`);
    this.#rebootTimer = setTimeout(() => {
      this.#rebootTimer = null;
      this.#o.reboot().catch((e: Error) => {
        this.#log('error', `reboot failed: ${e.message}; firmware ${ready.version} boots at the next restart`);
        this.#progress = { ...this.#progress, phase: 'failed', reason: 'io', error: `io: the reboot failed (${e.message}); the new firmware boots at the next restart` };
      });
    }, delay);
    return ready;
  }

  /** This boot is a trial that nobody has confirmed yet (the daemon then checks its own API and confirms). */
  async trialPending(): Promise<boolean> {
    const env = await readBootEnv(this.#bootEnvPath).catch(() => null);
    if (!env?.trial) return false;
    return (await readSlotFile(this.#activePath).catch(() => null)) !== env.slot;
  }

  /**
   * After a trial boot (TRIAL=1) the daemon is up and its web API answers: make this slot the confirmed one.
   * Returns what happened (for the log); a system without slots or a normal boot changes nothing.
   */
  async confirmTrialBoot(): Promise<'no-slots' | 'not-trial' | 'confirmed' | 'already-confirmed'> {
    const env = await readBootEnv(this.#bootEnvPath).catch(() => null);
    if (!env) return 'no-slots';
    if (!env.trial) return 'not-trial';
    const active = await readSlotFile(this.#activePath).catch(() => null);
    if (active === env.slot) {
      this.#trialConfirmed = true;
      return 'already-confirmed';
    }
    await writeSlotFile(this.#activePath, env.slot);
    this.#trialConfirmed = true;
    this.#log('info', `trial boot of slot ${env.slot} confirmed: it is the active slot now (was ${active ?? 'a'})`);
    return 'confirmed';
  }

  /**
   * Remember which version runs in the booted slot (once: when no record says so yet, e.g. the first boot of a
   * freshly written image), so that after an upgrade the page can say what the other slot holds.
   */
  async recordRunningSlot(): Promise<boolean> {
    const env = await readBootEnv(this.#bootEnvPath).catch(() => null);
    if (!env) return false;
    const rec = await readSlotRecord(this.#bootDir, env.slot);
    if (rec && rec.version === this.#o.version) return false;
    await writeSlotRecord(this.#bootDir, env.slot, {
      version: this.#o.version, arch: this.#arch ?? '', kernel: this.#kernel, rootfsSize: 0, rootfsSha256: '', created: '', signedBy: '',
      writtenAt: '',
    });
    return true;
  }

  /** Stops a pending reboot timer (daemon shutdown). An upload in flight ends when its connection closes. */
  close(): void {
    if (this.#rebootTimer) clearTimeout(this.#rebootTimer);
    this.#rebootTimer = null;
  }
}

async function exact(reader: ChunkReader, n: number): Promise<Buffer> {
  try {
    return await reader.exact(n);
  } catch (e) {
    throw new FirmwareError('aborted', `the upload was interrupted after ${reader.received} bytes (${(e as Error).message})`, { cause: e });
  }
}


