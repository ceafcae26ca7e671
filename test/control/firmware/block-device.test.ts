/**
 * The slot as a real block device (a loop device over a temp file): its size comes from sysfs (stat says 0), the
 * rootfs lands on it byte for byte, a rootfs larger than the device is refused before writing, and a mounted slot
 * is never written (O_EXCL). Needs root and losetup (CI has both); anything else skips loudly.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FirmwareError } from '../../../src/control/firmware/index.ts';
import { chunks, firmware, makeSystem, pseudoRandom } from './fw-helpers.ts';

const run = promisify(execFile);
const DEVICE_BYTES = 4 * 1024 * 1024;

async function missing(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    await run('losetup', ['--version']);
  } catch {
    return 'losetup is not installed';
  }
  return null;
}
const why = await missing();
if (why) console.error(`\n!!! SKIPPING test/control/firmware/block-device.test.ts: ${why} !!!\n`);
const maybe = why ? test.skip : test.serial;

async function loopDevice(t: import('ava').ExecutionContext): Promise<{ dev: string; backing: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sebridge-loop-'));
  const backing = join(dir, 'slot.img');
  await writeFile(backing, '');
  await truncate(backing, DEVICE_BYTES);
  const dev = (await run('losetup', ['--find', '--show', backing])).stdout.trim();
  t.teardown(async () => {
    await run('umount', [join(dir, 'mnt')]).catch(() => {});
    await run('losetup', ['--detach', dev]).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });
  return { dev, backing };
}

maybe('a loop device as the other slot: sized from sysfs, written byte-exact, oversize refused, mounted refused', async (t) => {
  const { dev, backing } = await loopDevice(t);
  const sys = await makeSystem(t);
  await sys.writeEnv({ OTHER_DEV: dev });
  t.is(await sys.manager.maxUploadBytes(), DEVICE_BYTES + 13 + 4 + 16384 + 64, 'the size of a block device comes from sysfs');

  const rootfs = pseudoRandom(3 * 1024 * 1024 + 5, 31);
  const r = await sys.manager.upload(chunks(firmware(rootfs, sys.key)));
  t.is(r.slot, 'b');
  const fh = await open(dev, 'r');
  const back = Buffer.alloc(rootfs.length);
  await fh.read(back, 0, back.length, 0);
  await fh.close();
  t.true(back.equals(rootfs), 'read back from the device');
  t.true((await readFile(backing)).subarray(0, rootfs.length).equals(rootfs), 'and it is on the file behind it');

  const big = await t.throwsAsync(sys.manager.upload(chunks(firmware(pseudoRandom(DEVICE_BYTES + 1, 2), sys.key))), { instanceOf: FirmwareError });
  t.is(big?.reason, 'size');
  t.regex(big?.message ?? '', new RegExp(`holds ${DEVICE_BYTES}`));

  // A mounted slot is never written.
  await run('mkfs.ext4', ['-q', '-F', dev]);
  const mnt = join(backing, '..', 'mnt');
  await run('mkdir', ['-p', mnt]);
  await run('mount', [dev, mnt]);
  const busy = await t.throwsAsync(sys.manager.upload(chunks(firmware(rootfs, sys.key))), { instanceOf: FirmwareError });
  t.is(busy?.reason, 'io');
  t.regex(busy?.message ?? '', /cannot open the slot device .*EBUSY/);
  t.is(await sys.tryFile(), null);
});
