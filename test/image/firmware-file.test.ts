/**
 * The firmware file writer/reader of scripts/image/firmware-file.ts (docs/firmware.md) and the initrd's cpio writer,
 * without QEMU: a signed file reads back; any changed header byte, another key, a truncated file or a foreign magic
 * is refused; the signing key must be Ed25519; the cpio archive lists what was put in (busybox cpio reads it back).
 */
import test from 'ava';
import { generateKeyPairSync, createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FW_MAGIC, loadSigningKey, readFirmwareHeader, writeFirmwareFile, type FirmwareHeader } from '../../scripts/image/firmware-file.ts';
import { cpioNewc } from '../../scripts/image/cpio.ts';

const dir = mkdtempSync(join(tmpdir(), 'sebridge-fw-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

async function sample(name: string): Promise<{ file: string; header: FirmwareHeader; rootfs: Buffer; pub: string }> {
  const rootfs = Buffer.concat([Buffer.from('hsqs'), Buffer.alloc(100_000, 7)]);
  const rootfsFile = join(dir, `${name}.sqfs`);
  writeFileSync(rootfsFile, rootfs);
  const key = loadSigningKey(null);
  const header: FirmwareHeader = {
    version: '9.9.9', arch: 'x86_64', kernel: '6.1.0-57-amd64', rootfsSize: rootfs.length,
    rootfsSha256: createHash('sha256').update(rootfs).digest('hex'), created: '2026-12-03T00:00:00.000Z',
  };
  const file = join(dir, `${name}.fw`);
  await writeFirmwareFile(file, header, rootfsFile, key.privateKey);
  return { file, header, rootfs, pub: key.publicPem };
}

test('a signed firmware file reads back: header, signature, the rootfs after it', async (t) => {
  const s = await sample('ok');
  const { header, rootfsOffset } = await readFirmwareHeader(s.file, s.pub);
  t.deepEqual(header, s.header);
  const bytes = readFileSync(s.file);
  t.true(bytes.subarray(0, FW_MAGIC.length).equals(FW_MAGIC));
  t.is(bytes.readUInt32BE(FW_MAGIC.length), Buffer.byteLength(JSON.stringify(s.header)));
  t.true(bytes.subarray(rootfsOffset).equals(s.rootfs));
});

test('every changed byte of magic, length, header or signature is refused', async (t) => {
  const s = await sample('tamper');
  const bytes = readFileSync(s.file);
  const { rootfsOffset } = await readFirmwareHeader(s.file, s.pub);
  for (let i = 0; i < rootfsOffset; i += 7) {
    const copy = Buffer.from(bytes);
    copy[i] = copy[i]! ^ 0x01;
    const f = join(dir, 'tampered.fw');
    writeFileSync(f, copy);
    await t.throwsAsync(readFirmwareHeader(f, s.pub), undefined, `byte ${i} changed`);
  }
});

test('another key, a truncated file and a foreign file are refused with a reason', async (t) => {
  const s = await sample('other');
  const other = loadSigningKey(null);
  await t.throwsAsync(readFirmwareHeader(s.file, other.publicPem), { message: /bad signature/ });
  const f = join(dir, 'short.fw');
  writeFileSync(f, readFileSync(s.file).subarray(0, 40));
  await t.throwsAsync(readFirmwareHeader(f, s.pub), { message: /truncated|out of range/ });
  writeFileSync(f, Buffer.from('PK\x03\x04 not a firmware file at all'));
  await t.throwsAsync(readFirmwareHeader(f, s.pub), { message: /magic/ });
});

test('--signing-key: PEM Ed25519 only, the field named otherwise', (t) => {
  const ed = generateKeyPairSync('ed25519');
  const k = loadSigningKey(ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  t.false(k.generated);
  t.is(k.publicPem, ed.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  t.throws(() => loadSigningKey(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()), { message: /--signing-key: an rsa key/ });
  t.throws(() => loadSigningKey('not a key'), { message: /--signing-key: not a PEM private key/ });
});

test('the initrd archive (newc) lists its files, links and device node; busybox cpio reads it', (t) => {
  const gz = cpioNewc([
    { path: 'init', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\n') },
    { path: 'bin', type: 'dir', mode: 0o755 },
    { path: 'bin/sh', type: 'symlink', target: 'busybox' },
    { path: 'dev', type: 'dir', mode: 0o755 },
    { path: 'dev/console', type: 'chardev', mode: 0o600, major: 5, minor: 1 },
    { path: 'etc/odd-size', type: 'file', mode: 0o644, data: Buffer.from('abcde') },
  ], 0);
  const raw = gunzipSync(gz);
  t.is(raw.subarray(0, 6).toString('ascii'), '070701');
  t.true(raw.includes(Buffer.from('TRAILER!!!')));
  // the console's header: 110 bytes before its name; rdevmajor and rdevminor are the 10th and 11th hex fields
  const at = raw.indexOf(Buffer.from('dev/console\0')) - 110;
  t.is(raw.subarray(at, at + 6).toString('ascii'), '070701');
  t.is(Number.parseInt(raw.subarray(at + 78, at + 86).toString('ascii'), 16), 5);
  t.is(Number.parseInt(raw.subarray(at + 86, at + 94).toString('ascii'), 16), 1);
  const bb = spawnSync('busybox', ['cpio', '-t', '-v'], { input: raw, encoding: 'utf8' });
  if (bb.error) {
    t.log('busybox not installed: the archive was checked by its header only');
    return;
  }
  t.is(bb.status, 0, bb.stderr);
  for (const re of [/^-rwxr-xr-x .* init$/m, /^lrwxrwxrwx .* bin\/sh -> busybox$/m, /^crw------- .* dev\/console$/m, /^-rw-r--r-- .* 5 .* etc\/odd-size$/m]) {
    t.regex(bb.stdout, re);
  }
});
