/**
 * Test firmware files and a slot-booted "system" on temp files: boot env, /data/boot, the keys directory and two
 * regular files standing in for the slot block devices. The signing key is generated per test.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { FirmwareManager, keyFingerprint, type FirmwareOptions } from '../../../src/control/firmware/index.ts';

export const MAGIC = Buffer.from('SEBRIDGE-FW1\n', 'latin1');
export const KERNEL = '6.1.0-test-amd64';
export const ARCH = 'x86_64';
export const RUNNING = '1.2.0';

export type SigningKey = { privateKey: KeyObject; publicPem: string; fingerprint: string };

export function makeKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string, fingerprint: keyFingerprint(publicKey) };
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export type Header = { version: string; arch: string; kernel: string; rootfsSize: number; rootfsSha256: string; created: string; [k: string]: unknown };

export function headerFor(rootfs: { size: number; sha256: string }, over: Partial<Header> = {}): Header {
  return { version: '1.3.0', arch: ARCH, kernel: KERNEL, rootfsSize: rootfs.size, rootfsSha256: rootfs.sha256, created: '2026-12-03T10:00:00Z', ...over };
}

/** magic · N · header · signature (over the three before it); the rootfs is appended by the caller. */
export function fwPrefix(header: Header | Buffer, key: SigningKey, opts: { signature?: Buffer } = {}): Buffer {
  const hb = Buffer.isBuffer(header) ? header : Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(hb.length);
  const signed = Buffer.concat([MAGIC, len, hb]);
  return Buffer.concat([signed, opts.signature ?? sign(null, signed, key.privateKey)]);
}

export function firmware(rootfs: Buffer, key: SigningKey, over: Partial<Header> = {}): Buffer {
  return Buffer.concat([fwPrefix(headerFor({ size: rootfs.length, sha256: sha256(rootfs) }, over), key), rootfs]);
}

/** Fresh chunks of `buf` (like a socket delivers them). */
export async function* chunks(buf: Buffer, size = 64 * 1024): AsyncGenerator<Buffer> {
  for (let off = 0; off < buf.length; off += size) {
    yield Buffer.from(buf.subarray(off, off + size));
    await new Promise((r) => setImmediate(r));
  }
}

export function pseudoRandom(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export type Sys = {
  dir: string;
  bootEnvPath: string;
  bootDir: string;
  keysDir: string;
  slotA: string;
  slotB: string;
  reboots: number[];
  logs: string[];
  manager: FirmwareManager;
  key: SigningKey;
  tryFile(): Promise<string | null>;
  activeFile(): Promise<string | null>;
  writeEnv(env: Record<string, string>): Promise<void>;
};

export const SLOT_BYTES = 1024 * 1024;
export const OLD_B = pseudoRandom(SLOT_BYTES, 99);

async function readOrNull(path: string): Promise<string | null> {
  return readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
}

/**
 * A slot-booted system running slot a (confirmed), slot b = OLD_B (1 MiB), one trusted key. `env: null` leaves
 * the boot env out (a PC); `manager` options override the defaults.
 */
export async function makeSystem(
  t: ExecutionContext,
  o: { env?: Record<string, string> | null; active?: string | null; manager?: Partial<FirmwareOptions>; slotBytes?: number } = {},
): Promise<Sys> {
  const dir = await mkdtemp(join(tmpdir(), 'sebridge-fw-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bootDir = join(dir, 'data', 'boot');
  const keysDir = join(dir, 'etc', 'firmware-keys');
  await mkdir(bootDir, { recursive: true });
  await mkdir(keysDir, { recursive: true });
  const slotA = join(dir, 'slot-a.img');
  const slotB = join(dir, 'slot-b.img');
  await writeFile(slotA, pseudoRandom(64 * 1024, 7));
  if (o.slotBytes === undefined) await writeFile(slotB, OLD_B);
  else {
    await writeFile(slotB, Buffer.alloc(0));
    await truncate(slotB, o.slotBytes); // sparse: a big "device" costs no disk
  }
  const key = makeKey();
  await writeFile(join(keysDir, 'release.pub'), key.publicPem);
  const bootEnvPath = join(dir, 'run', 'sebridge-boot.env');
  await mkdir(join(dir, 'run'));
  const writeEnv = async (env: Record<string, string>) => {
    const full = { SLOT: 'a', ACTIVE: 'a', TRIAL: '0', SLOT_DEV: slotA, OTHER_DEV: slotB, DATA_DEV: '/dev/vda4', ...env };
    await writeFile(bootEnvPath, Object.entries(full).map(([k, v]) => `${k}=${v}\n`).join(''));
  };
  if (o.env !== null) await writeEnv(o.env ?? {});
  if (o.active !== undefined && o.active !== null) await writeFile(join(bootDir, 'active'), `${o.active}\n`);
  const reboots: number[] = [];
  const logs: string[] = [];
  const manager = new FirmwareManager({
    version: RUNNING,
    bootEnvPath,
    bootDir,
    keysDir,
    arch: ARCH,
    kernel: KERNEL,
    reboot: async () => void reboots.push(Date.now()),
    rebootDelayMs: 0,
    log: (level, msg) => logs.push(`${level} ${msg}`),
    ...o.manager,
  });
  t.teardown(() => manager.close());
  return {
    dir, bootEnvPath, bootDir, keysDir, slotA, slotB, reboots, logs, manager, key, writeEnv,
    tryFile: () => readOrNull(join(bootDir, 'try')),
    activeFile: () => readOrNull(join(bootDir, 'active')),
  };
}
