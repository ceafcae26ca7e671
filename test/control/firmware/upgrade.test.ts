/**
 * The upgrade on temp files standing in for the slot devices: a good file lands byte-exact in the inactive slot and
 * `try` is written only on apply; every refusal names its reason and leaves `try` unwritten.
 */
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FirmwareError, type FirmwareErrorReason } from '../../../src/control/firmware/index.ts';
import { chunks, firmware, fwPrefix, headerFor, KERNEL, makeKey, makeSystem, OLD_B, pseudoRandom, sha256, SLOT_BYTES, type Sys } from './fw-helpers.ts';

const ROOTFS = pseudoRandom(300 * 1024 + 17, 3);

async function refused(t: import('ava').ExecutionContext, sys: Sys, file: Buffer, reason: FirmwareErrorReason, text: RegExp, opts: { force?: boolean; length?: number } = {}) {
  const err = await t.throwsAsync(sys.manager.upload(chunks(file, 4096), opts), { instanceOf: FirmwareError });
  t.is(err?.reason, reason, err?.message);
  t.regex(err?.message ?? '', text);
  t.is(await sys.tryFile(), null, 'try is not written');
  const p = sys.manager.progress();
  t.is(p.phase, 'failed');
  t.is(p.reason, reason);
  await t.throwsAsync(sys.manager.apply(), { message: /not-ready/ }, 'nothing to apply after a refusal');
  t.is(sys.reboots.length, 0);
  return err!;
}

test('a good file: rootfs byte-exact in slot b, hash checked, record stored; apply writes try = b and reboots', async (t) => {
  const sys = await makeSystem(t);
  const file = firmware(ROOTFS, sys.key);
  const r = await sys.manager.upload(chunks(file, 1000), { length: file.length });
  t.like(r, { version: '1.3.0', slot: 'b', kernel: KERNEL, rootfsSize: ROOTFS.length, rootfsSha256: sha256(ROOTFS), signedBy: sys.key.fingerprint, downgrade: false });
  const slot = await readFile(sys.slotB);
  t.true(slot.subarray(0, ROOTFS.length).equals(ROOTFS), 'the rootfs is in slot b byte for byte');
  t.true(slot.subarray(ROOTFS.length).equals(OLD_B.subarray(ROOTFS.length)), 'nothing beyond it was touched');
  t.is(slot.length, SLOT_BYTES, 'the "device" did not grow or shrink');
  t.is(await sys.tryFile(), null, 'try only on apply');
  const p = sys.manager.progress();
  t.like(p, { phase: 'ready', received: file.length, total: file.length, written: ROOTFS.length, targetSlot: 'b', signedBy: sys.key.fingerprint });
  const info = await sys.manager.info();
  t.like(info, { hasSlots: true, slot: 'a', activeSlot: 'a', otherSlot: 'b', pendingSlot: null, trial: false });
  t.like(info.other, { version: '1.3.0', rootfsSha256: sha256(ROOTFS), signedBy: sys.key.fingerprint });
  t.deepEqual(info.keys, [{ name: 'release.pub', fingerprint: sys.key.fingerprint }]);

  await t.throwsAsync(sys.manager.apply({ version: '9.9.9' }), { message: /not-ready: the verified upload is 1\.3\.0/ });
  t.is(await sys.tryFile(), null);
  await sys.manager.apply({ version: '1.3.0' });
  t.is(await sys.tryFile(), 'b\n');
  t.is(sys.manager.progress().phase, 'applying');
  await new Promise((r) => setTimeout(r, 20));
  t.is(sys.reboots.length, 1, 'rebooted through the injected hook');
  t.is((await sys.manager.info()).pendingSlot, 'b');
  await t.throwsAsync(sys.manager.upload(chunks(file)), { message: /busy: an upgrade is being applied/ });
});

test('refused: bad magic', async (t) => {
  const sys = await makeSystem(t);
  const file = firmware(ROOTFS, sys.key);
  file.write('X', 0);
  await refused(t, sys, file, 'magic', /not a sebridge firmware file/);
  t.true((await readFile(sys.slotB)).equals(OLD_B), 'slot untouched');
});

test('refused: bad signature (a header byte changed after signing)', async (t) => {
  const sys = await makeSystem(t);
  const file = firmware(ROOTFS, sys.key);
  const at = file.indexOf('1.3.0');
  file.write('9', at); // version 9.3.0: the header no longer matches its signature
  await refused(t, sys, file, 'signature', /does not verify with any trusted key \(release\.pub [0-9a-f]{16}/);
  t.true((await readFile(sys.slotB)).equals(OLD_B));
});

test('refused: signed by a key that is not trusted', async (t) => {
  const sys = await makeSystem(t);
  await refused(t, sys, firmware(ROOTFS, makeKey()), 'signature', /signed by another key/);
  t.true((await readFile(sys.slotB)).equals(OLD_B));
});

test('refused: no trusted key at all', async (t) => {
  const sys = await makeSystem(t);
  await writeFile(join(sys.keysDir, 'release.pub'), 'not a key');
  await refused(t, sys, firmware(ROOTFS, sys.key), 'signature', /no trusted signing key in .*release\.pub/);
});

test('refused: wrong architecture', async (t) => {
  const sys = await makeSystem(t);
  await refused(t, sys, firmware(ROOTFS, sys.key, { arch: 'aarch64' }), 'arch', /for aarch64, this machine is x86_64/);
  t.true((await readFile(sys.slotB)).equals(OLD_B));
});

test('refused: built for another kernel', async (t) => {
  const sys = await makeSystem(t);
  await refused(t, sys, firmware(ROOTFS, sys.key, { kernel: '6.12.0-1-arm64' }), 'kernel', /built for kernel 6\.12\.0-1-arm64, this system runs 6\.1\.0-test-amd64/);
  t.true((await readFile(sys.slotB)).equals(OLD_B));
});

test('refused: truncated rootfs', async (t) => {
  const sys = await makeSystem(t);
  const file = firmware(ROOTFS, sys.key);
  await refused(t, sys, file.subarray(0, file.length - 1000), 'truncated', new RegExp(`ended after ${ROOTFS.length - 1000} of the ${ROOTFS.length} rootfs bytes`));
  t.is((await sys.manager.info()).other, null, 'no record vouches for the half-written slot');
});

test('refused: truncated inside the header and signature', async (t) => {
  const sys = await makeSystem(t);
  const file = firmware(ROOTFS, sys.key);
  await refused(t, sys, file.subarray(0, 15), 'truncated', /inside its header length/);
  await refused(t, sys, file.subarray(0, 40), 'truncated', /inside its \d+-byte header/);
  const n = file.readUInt32BE(13);
  await refused(t, sys, file.subarray(0, 17 + n + 10), 'truncated', /inside its signature/);
});

test('refused: rootfs hash mismatch (a rootfs byte changed; the signed header is intact)', async (t) => {
  const sys = await makeSystem(t);
  const file = firmware(ROOTFS, sys.key);
  file[file.length - 5] ^= 0xff;
  const err = await refused(t, sys, file, 'hash', /SHA-256 is [0-9a-f]{64}, the signed header says/);
  t.regex(err.message, new RegExp(sha256(ROOTFS)));
  t.is((await sys.manager.info()).other, null);
});

test('refused: header too big, before it is read', async (t) => {
  const sys = await makeSystem(t);
  const head = Buffer.concat([Buffer.from('SEBRIDGE-FW1\n', 'latin1'), Buffer.from([0, 0, 0x40, 0x01])]);
  await refused(t, sys, Buffer.concat([head, Buffer.alloc(100)]), 'header-size', /header is 16385 bytes; at most 16384/);
  const padded = headerFor({ size: ROOTFS.length, sha256: sha256(ROOTFS) }, { pad: 'x'.repeat(17000) });
  await refused(t, sys, Buffer.concat([fwPrefix(padded, sys.key), ROOTFS]), 'header-size', /at most 16384/);
});

test('refused: a downgrade without force; with force it is written and said', async (t) => {
  const sys = await makeSystem(t);
  const file = firmware(ROOTFS, sys.key, { version: '1.1.9' });
  await refused(t, sys, file, 'version', /holds 1\.1\.9, older than the running 1\.2\.0; a downgrade must be asked for explicitly/);
  t.true((await readFile(sys.slotB)).equals(OLD_B));
  const r = await sys.manager.upload(chunks(file), { force: true });
  t.true(r.downgrade);
  t.true((await readFile(sys.slotB)).subarray(0, ROOTFS.length).equals(ROOTFS));
  // Same version and prerelease ordering
  const same = await sys.manager.upload(chunks(firmware(ROOTFS, sys.key, { version: '1.2.0' })));
  t.false(same.downgrade, 'the running version itself is allowed (reinstall)');
  await refused(t, sys, firmware(ROOTFS, sys.key, { version: '1.2.0-rc.1' }), 'version', /1\.2\.0-rc\.1, older/);
});

test('refused: header fields are validated and named', async (t) => {
  const sys = await makeSystem(t);
  await refused(t, sys, firmware(ROOTFS, sys.key, { rootfsSha256: 'ABC' }), 'header', /header field rootfsSha256 must be 64 lower-case hex digits \(got "ABC"\)/);
  await refused(t, sys, firmware(ROOTFS, sys.key, { version: 'latest' }), 'header', /header field version must be MAJOR\.MINOR\.PATCH/);
  const noSize = headerFor({ size: 1, sha256: sha256(ROOTFS) });
  delete (noSize as Partial<typeof noSize>).rootfsSize;
  await refused(t, sys, fwPrefix(noSize, sys.key), 'header', /header field rootfsSize .*it is missing/);
  await refused(t, sys, fwPrefix(Buffer.from('[1,2]'), sys.key), 'header', /must be a JSON object/);
});

test('refused: sizes — announced length differs, rootfs larger than the slot, data after the rootfs', async (t) => {
  const sys = await makeSystem(t);
  const file = firmware(ROOTFS, sys.key);
  await refused(t, sys, file, 'size', new RegExp(`upload is ${file.length + 1} bytes but the header describes a ${file.length}-byte file`), { length: file.length + 1 });
  await refused(t, sys, firmware(pseudoRandom(SLOT_BYTES + 1), sys.key), 'size', /rootfs is 1048577 bytes, slot b .* holds 1048576/);
  t.true((await readFile(sys.slotB)).equals(OLD_B), 'nothing written for either');
  await refused(t, sys, Buffer.concat([file, Buffer.from('more')]), 'size', /goes on after the/);
});

test('no boot env (a developer PC, the test suite): "this system has no firmware slots"', async (t) => {
  const sys = await makeSystem(t, { env: null });
  await refused(t, sys, firmware(ROOTFS, sys.key), 'no-slots', /this system has no firmware slots/);
  const info = await sys.manager.info();
  t.false(info.hasSlots);
  t.regex(info.noSlotsReason ?? '', /^this system has no firmware slots/);
  t.is(await sys.manager.confirmTrialBoot(), 'no-slots');
});

test('a malformed boot env is named', async (t) => {
  const sys = await makeSystem(t, { env: { SLOT: 'c' } });
  await refused(t, sys, firmware(ROOTFS, sys.key), 'no-slots', /SLOT must be a or b \(got "c"\)/);
});

test('the source failing midway is an abort; the next upload is accepted', async (t) => {
  const sys = await makeSystem(t);
  const file = firmware(ROOTFS, sys.key);
  async function* dying() {
    yield file.subarray(0, 100_000);
    throw new Error('aborted');
  }
  await refused(t, sys, Buffer.alloc(0), 'magic', /not a sebridge/); // (an empty upload)
  const err = await t.throwsAsync(sys.manager.upload(dying()), { instanceOf: FirmwareError });
  t.is(err?.reason, 'aborted');
  t.regex(err?.message ?? '', /interrupted after 100000 bytes/);
  t.is(await sys.tryFile(), null);
  await sys.manager.upload(chunks(file));
  t.is(sys.manager.progress().phase, 'ready');
});

test('one upload at a time', async (t) => {
  const sys = await makeSystem(t);
  const file = firmware(ROOTFS, sys.key);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  async function* slow() {
    yield file.subarray(0, 1000);
    await gate;
    yield file.subarray(1000);
  }
  const first = sys.manager.upload(slow());
  await new Promise((r) => setTimeout(r, 20));
  const err = await t.throwsAsync(sys.manager.upload(chunks(file)), { instanceOf: FirmwareError });
  t.is(err?.reason, 'busy');
  await t.throwsAsync(sys.manager.apply(), { message: /busy/ });
  release();
  await first;
  t.is(sys.manager.progress().phase, 'ready', 'the refused second upload did not disturb the first');
});

test('an existing try is removed before the slot it names is overwritten', async (t) => {
  const sys = await makeSystem(t);
  await sys.manager.upload(chunks(firmware(ROOTFS, sys.key)));
  await writeFile(join(sys.bootDir, 'try'), 'b\n'); // as if applied, reboot not yet happened
  const file = firmware(ROOTFS, sys.key);
  file[file.length - 1] ^= 1;
  await refused(t, sys, file, 'hash', /SHA-256/);
});

test('trial boot: confirmTrialBoot writes active = the booted slot; until then uploads are refused', async (t) => {
  const sys = await makeSystem(t, { env: { SLOT: 'b', ACTIVE: 'a', TRIAL: '1' }, active: 'a' });
  await sys.writeEnv({ SLOT: 'b', ACTIVE: 'a', TRIAL: '1', SLOT_DEV: sys.slotB, OTHER_DEV: sys.slotA });
  await refused(t, sys, firmware(ROOTFS, sys.key), 'not-confirmed', /runs slot b on trial but the confirmed slot is a; writing slot a would destroy the fallback/);
  t.like(await sys.manager.info(), { trial: true, trialConfirmed: false, activeSlot: 'a' });
  t.is(await sys.manager.confirmTrialBoot(), 'confirmed');
  t.is(await sys.activeFile(), 'b\n');
  t.like(await sys.manager.info(), { trial: true, trialConfirmed: true, activeSlot: 'b', slot: 'b', otherSlot: 'a' });
  t.is(await sys.manager.confirmTrialBoot(), 'already-confirmed');
  t.true(sys.logs.some((l) => /trial boot of slot b confirmed/.test(l)));
  // Now slot a is the one to write.
  await writeFile(sys.slotA, Buffer.alloc(SLOT_BYTES));
  const r = await sys.manager.upload(chunks(firmware(ROOTFS, sys.key)));
  t.is(r.slot, 'a');
  t.true((await readFile(sys.slotA)).subarray(0, ROOTFS.length).equals(ROOTFS));
});

test('a normal boot confirms nothing and writes nothing', async (t) => {
  const sys = await makeSystem(t);
  t.is(await sys.manager.confirmTrialBoot(), 'not-trial');
  t.is(await sys.activeFile(), null);
});

test('a failing reboot hook is reported; try stays for the next restart', async (t) => {
  const sys = await makeSystem(t, { manager: { reboot: async () => { throw new Error('no reboot here'); } } });
  await sys.manager.upload(chunks(firmware(ROOTFS, sys.key)));
  await sys.manager.apply();
  await new Promise((r) => setTimeout(r, 20));
  t.is(await sys.tryFile(), 'b\n');
  t.regex(sys.manager.progress().error ?? '', /reboot failed \(no reboot here\)/);
});

test('the running slot\'s version is recorded once, so the other slot is known after an upgrade', async (t) => {
  const sys = await makeSystem(t);
  t.true(await sys.manager.recordRunningSlot());
  t.false(await sys.manager.recordRunningSlot(), 'nothing written when the record already says so (flash wear)');
  const rec = JSON.parse(await readFile(join(sys.bootDir, 'slot-a.json'), 'utf8'));
  t.like(rec, { version: '1.2.0', kernel: KERNEL, rootfsSha256: '' });
  t.like((await sys.manager.info()).current, { version: '1.2.0' });
  const none = await makeSystem(t, { env: null });
  t.false(await none.manager.recordRunningSlot());
});
